package run_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/firebreak-ops/firebreak/internal/redact"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

func TestCap(t *testing.T) {
	small := map[string]any{"status": 200.0}
	if got := runwire.Cap(small, 100); got == nil || runwire.IsTruncated(got) {
		t.Errorf("a small value was truncated: %v", got)
	}
	big := map[string]any{"body": strings.Repeat("é", 10000)}
	got := runwire.Cap(big, 1000)
	if !runwire.IsTruncated(got) {
		t.Fatalf("a big value was kept: %d bytes", len(mustJSON(t, got)))
	}
	m := got.(map[string]any)
	if m["bytes"].(int64) <= 1000 || len(m["preview"].(string)) > 500 || !strings.HasSuffix(m["preview"].(string), "…") {
		t.Errorf("marker %v", m)
	}
	if n := len(mustJSON(t, got)); n > 1000 {
		t.Errorf("the marker is %d bytes", n)
	}
}

func TestClip(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"abcdefghij", 6, "abc…"},
		{"ééééé", 7, "éé…"},
	} {
		if got := runwire.Clip(tc.in, tc.max); got != tc.want || len(got) > tc.max {
			t.Errorf("Clip(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
	}
}

// TestSlackView: the notifier's view of a run holds no outputs, no
// inputs, no alerts and no secret params, and stays small whatever the
// run holds.
func TestSlackView(t *testing.T) {
	st := &runwire.RunState{
		ID: "runbook:x:1", Runbook: "x", Status: runwire.StatusFailed,
		Params: map[string]any{"token": "p4ram-s3cret", "target": strings.Repeat("t", 5000)},
		Error:  "step call: GET https://h/?api_key=err-s3cret: 500 " + strings.Repeat("e", 5000),
	}
	for range 30 {
		st.Steps = append(st.Steps, runwire.StepState{Name: "call", Status: runwire.StepSucceeded,
			With:     map[string]any{"body": strings.Repeat("w", 8000)},
			Output:   map[string]any{"body": strings.Repeat("o", 8000)},
			Decision: &runwire.Decision{Expression: "true", Result: true, Inputs: map[string]any{"steps.call.output": strings.Repeat("i", 1000)}}})
	}
	for range 100 {
		st.Alerts = append(st.Alerts, runwire.AlertRecord{Labels: map[string]string{"x": strings.Repeat("l", 200)}})
	}
	v := st.SlackView()
	b := mustJSON(t, v)
	if len(b) > 16<<10 {
		t.Errorf("the Slack view is %d bytes", len(b))
	}
	for _, s := range []string{"p4ram-s3cret", "err-s3cret", "ooooo", "wwwww", "iiiii", "lllll"} {
		if strings.Contains(string(b), s) {
			t.Errorf("%s in the Slack view", s)
		}
	}
	if v.Params["token"] != redact.Mask || len(v.Steps) != 30 || v.Steps[0].Decision.Expression != "true" {
		t.Errorf("view %+v", v)
	}
	if st.Steps[0].Output == nil || st.Params["token"] != "p4ram-s3cret" {
		t.Error("SlackView changed the state")
	}
}

// TestRedacted: a record shown through Redacted keeps no secret, however
// it was recorded.
func TestRedacted(t *testing.T) {
	st := &runwire.RunState{
		Params: map[string]any{"apiKey": "p-s3cret"},
		Steps: []runwire.StepState{{
			With:     map[string]any{"headers": map[string]any{"Authorization": "Bearer w-s3cret"}},
			Output:   map[string]any{"headers": map[string]any{"Set-Cookie": "o-s3cret"}, "items": []any{map[string]any{"token": "l-s3cret"}}},
			Error:    "GET https://u:e-s3cret@h/",
			Decision: &runwire.Decision{Inputs: map[string]any{"params.apiKey": "i-s3cret"}},
			Approval: &runwire.ApprovalState{Comment: "use password=c-s3cret"},
		}},
		Access: []runwire.AccessDecision{{Reason: "token=a-s3cret"}},
	}
	b := mustJSON(t, st.Redacted())
	for _, s := range []string{"p-s3cret", "w-s3cret", "o-s3cret", "l-s3cret", "e-s3cret", "i-s3cret", "c-s3cret", "a-s3cret"} {
		if strings.Contains(string(b), s) {
			t.Errorf("%s survived: %s", s, b)
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
