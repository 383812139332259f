package temporalx

import (
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"

	"github.com/firebreak-ops/firebreak/internal/names"
)

func TestAttributesRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   Attributes
	}{
		{"run", Attributes{Runbook: "restart", Status: "running", Trigger: "alertmanager", Key: "prod/api", DryRun: true, Name: "run-abcd2345"}},
		{"no key", Attributes{Runbook: "hello-world", Status: "waiting_approval", Trigger: "api"}},
		{"empty", Attributes{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			indexed, err := tc.in.Indexed()
			if err != nil {
				t.Fatal(err)
			}
			if n := len(indexed.GetIndexedFields()); n != 6 {
				t.Fatalf("%d indexed fields, want 6", n)
			}
			for name, p := range indexed.GetIndexedFields() {
				want := "Keyword"
				if name == names.SADryRun {
					want = "Bool"
				}
				if got := string(p.GetMetadata()["type"]); got != want {
					t.Errorf("%s has type %q, want %q", name, got, want)
				}
			}
			if got := Decode(indexed); got != tc.in {
				t.Errorf("Decode(Indexed()) = %+v, want %+v", got, tc.in)
			}
			if n := tc.in.Typed().Size(); n != 6 {
				t.Errorf("Typed has %d attributes, want 6", n)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	payload := func(v any) *commonpb.Payload {
		p, err := converter.GetDefaultDataConverter().ToPayload(v)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name string
		in   *commonpb.SearchAttributes
		want Attributes
	}{
		{"none", nil, Attributes{}},
		{"incident status only", &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{
			names.SAStatus: payload("investigating")}}, Attributes{Status: "investigating"}},
		{"unknown attributes ignored", &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{
			"CustomKeywordField": payload("x"), names.SAKey: payload("k")}}, Attributes{Key: "k"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Decode(tc.in); got != tc.want {
				t.Errorf("Decode = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestHistoryURL(t *testing.T) {
	for _, tc := range []struct {
		ui, id, runID, want string
	}{
		{"", "runbook:x:y", "r1", ""},
		{"http://ui/", "runbook:x:a/b", "", "http://ui/namespaces/default/workflows/runbook:x:a%2Fb"},
		{"http://ui", "runbook:x:y", "r1", "http://ui/namespaces/default/workflows/runbook:x:y/r1/history"},
	} {
		if got := HistoryURL(tc.ui, "default", tc.id, tc.runID); got != tc.want {
			t.Errorf("HistoryURL(%q, %q, %q) = %q, want %q", tc.ui, tc.id, tc.runID, got, tc.want)
		}
	}
}
