package pagerduty

import (
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		body, want string
	}{
		{`{"event":{"id":"E1","event_type":"incident.triggered","data":{"id":"P1","service":{"summary":"checkout"}}}}`, ""},
		{`{"event":{"id":"E1"}}`, "needs event.id and event.event_type"},
		{`{}`, "needs event.id"},
		{`[1,2]`, "bad JSON body"},
		{`{"event":{"id":"E1","event_type":"x","occurred_at":"yesterday"}}`, "bad JSON body"},
	} {
		_, ev, err := decode([]byte(tc.body))
		if tc.want == "" {
			if err != nil || ev["event_type"] != "incident.triggered" {
				t.Errorf("%s: %v %v", tc.body, err, ev)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", tc.body, err, tc.want)
		}
	}
}

// FuzzDecode: no body makes decoding panic, and an accepted event always
// has an id and a type, in both views.
func FuzzDecode(f *testing.F) {
	f.Add(`{"event":{"id":"E1","event_type":"incident.triggered","resource_type":"incident","occurred_at":"2026-11-26T03:00:00Z","data":{"id":"P1"}}}`)
	f.Add(`{"event":{"id":"","event_type":""}}`)
	f.Add(`{"event":null}`)
	f.Fuzz(func(t *testing.T, body string) {
		p, ev, err := decode([]byte(body))
		if err != nil {
			return
		}
		if p.Event.ID == "" || p.Event.EventType == "" || ev["id"] != p.Event.ID || ev["event_type"] != p.Event.EventType {
			t.Fatalf("accepted %+v as %v", p.Event, ev)
		}
	})
}
