package router

import (
	"context"
	"errors"
	"testing"

	"github.com/firebreak-ops/firebreak/internal/runs"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

type fakeIncidents struct {
	open  map[string]string
	err   error
	calls int
}

func (f *fakeIncidents) OpenByService(context.Context) (map[string]string, error) {
	f.calls++
	return f.open, f.err
}

func TestLinkDeliveries(t *testing.T) {
	alert := func(service string) Incoming {
		return Incoming{Source: runwire.TriggerAlertmanager, Alert: &runwire.Alert{Labels: map[string]string{"service": service}}}
	}
	event := func(service string) Incoming {
		return Incoming{Source: runwire.TriggerPagerDuty, Event: map[string]any{"data": map[string]any{"service": map[string]any{"summary": service}}}}
	}
	open := map[string]string{"checkout": "INC-2026-0002", "search": "INC-2026-0001"}
	for _, tc := range []struct {
		name  string
		in    []Incoming
		named string // an incident the run already names
		err   error
		want  []string
		calls int
	}{
		{"alert service", []Incoming{alert("checkout"), alert("search")}, "", nil, []string{"INC-2026-0002", "INC-2026-0001"}, 1},
		{"pagerduty service", []Incoming{event("search")}, "", nil, []string{"INC-2026-0001"}, 1},
		{"no open incident", []Incoming{alert("cart")}, "", nil, []string{""}, 1},
		{"no service asks nothing", []Incoming{alert("")}, "", nil, []string{""}, 0},
		{"named incident kept", []Incoming{alert("checkout")}, "INC-2026-0009", nil, []string{"INC-2026-0009"}, 0},
		{"listing fails links nothing", []Incoming{alert("checkout")}, "", errors.New("down"), []string{""}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inc := &fakeIncidents{open: open, err: tc.err}
			if tc.err != nil {
				inc.open = nil
			}
			s := &Service{Incidents: inc}
			var matched []*delivery
			for _, in := range tc.in {
				matched = append(matched, &delivery{in: in, prep: &runs.Prepared{Input: runwire.RunInput{Incident: tc.named}}})
			}
			s.linkDeliveries(context.Background(), matched)
			for i, d := range matched {
				if d.prep.Input.Incident != tc.want[i] {
					t.Errorf("delivery %d linked to %q, want %q", i, d.prep.Input.Incident, tc.want[i])
				}
			}
			if inc.calls != tc.calls {
				t.Errorf("%d listings, want %d", inc.calls, tc.calls)
			}
		})
	}
}
