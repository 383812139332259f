package slack

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/firebreak-ops/firebreak/internal/names"
	incidentwire "github.com/firebreak-ops/firebreak/workflows/wire/incident"
)

// fakeIncidents declares incidents as the counter does: one per key.
type fakeIncidents struct {
	mu    sync.Mutex
	keys  []string
	byKey map[string]string
	n     int
}

func (f *fakeIncidents) DeclareIncident(_ context.Context, req incidentwire.DeclareRequest, key string) (*incidentwire.Incident, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys = append(f.keys, key)
	if id, ok := f.byKey[key]; ok && key != "" {
		return &incidentwire.Incident{ID: id, Severity: req.Severity, Title: req.Title, Commander: req.Commander}, nil
	}
	f.n++
	id := names.IncidentID(2026, f.n)
	if f.byKey == nil {
		f.byKey = map[string]string{}
	}
	f.byKey[key] = id
	return &incidentwire.Incident{ID: id, Severity: req.Severity, Title: req.Title, Commander: req.Commander}, nil
}

func (f *fakeIncidents) GetIncident(context.Context, string) (*incidentwire.Incident, error) {
	return nil, fmt.Errorf("not here")
}

func (f *fakeIncidents) IncidentCommand(context.Context, string, incidentwire.IncidentCommand) (*incidentwire.CommandResult, error) {
	return nil, fmt.Errorf("not here")
}

func (f *fakeIncidents) IncidentByChannel(context.Context, string) (string, error) { return "", nil }

// TestDeclareRetried: Slack's trigger_id is the declaration's key, so the
// same command delivered twice declares one incident; another command
// declares another.
func TestDeclareRetried(t *testing.T) {
	e := newEnv(t)
	inc := &fakeIncidents{}
	e.h.incidents = inc
	declare := func(trigger string) string {
		t.Helper()
		form := url.Values{
			"command": {"/firebreak"}, "text": {`incident declare sev2 "Checkout 5xx"`}, "user_id": {"U0ALICE"}, "user_name": {"alice"},
			"channel_id": {"C0OPS"}, "team_id": {"T1"}, "trigger_id": {trigger}, "response_url": {e.slack.ResponseURL(trigger)},
		}
		body := form.Encode()
		if w := post(e.h.ServeCommand, CommandsPath, body, func(h http.Header) { sign(h, body, secret, time.Now()) }); w.Code != 200 {
			t.Fatalf("HTTP %d %s", w.Code, w.Body)
		}
		e.h.Wait()
		rs := e.slack.Responses(trigger)
		if len(rs) == 0 {
			t.Fatal("no answer")
		}
		return rs[len(rs)-1].Text()
	}
	first := declare("13345224609.738474920.8088930838d88f008e0")
	again := declare("13345224609.738474920.8088930838d88f008e0")
	other := declare("13345224610.738474921.8088930838d88f008e1")
	if first != again || inc.n != 2 || first == other {
		t.Errorf("answers %q, %q, %q; %d incidents", first, again, other, inc.n)
	}
	if inc.keys[0] != "slack:13345224609.738474920.8088930838d88f008e0" || inc.keys[0] != inc.keys[1] || inc.keys[2] == inc.keys[0] {
		t.Errorf("keys %q", inc.keys)
	}
}
