package pagerduty_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/firebreak-ops/firebreak/activities/actions"
	"github.com/firebreak-ops/firebreak/activities/internal/actiontest"
	"github.com/firebreak-ops/firebreak/activities/pagerduty"
)

// fakePD records Events API v2 events and REST notes as PagerDuty would
// receive them.
type fakePD struct {
	mu     sync.Mutex
	events []map[string]any
	notes  []map[string]any
	froms  []string
	status int
	// lost makes the next note posts take effect, then answer 503, as
	// when PagerDuty's answer is lost.
	lost int
	// stored are the notes as GET /incidents/{id}/notes lists them.
	stored []map[string]any
}

func (f *fakePD) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.status != 0 {
		w.WriteHeader(f.status)
		_, _ = w.Write([]byte(`{"error": {"message": "nope"}}`))
		return
	}
	var body map[string]any
	_ = json.NewDecoder(r.Body).Decode(&body)
	switch {
	case r.URL.Path == "/v2/enqueue":
		f.events = append(f.events, body)
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte(`{"status": "success", "message": "Event processed", "dedup_key": "` + body["dedup_key"].(string) + `"}`))
	case strings.HasPrefix(r.URL.Path, "/incidents/") && strings.HasSuffix(r.URL.Path, "/notes") && r.Method == http.MethodGet:
		_ = json.NewEncoder(w).Encode(map[string]any{"notes": f.stored})
	case strings.HasPrefix(r.URL.Path, "/incidents/") && strings.HasSuffix(r.URL.Path, "/notes"):
		f.notes = append(f.notes, body)
		f.froms = append(f.froms, r.Header.Get("From"))
		note := body["note"].(map[string]any)
		stored := map[string]any{"id": fmt.Sprintf("N%d", len(f.notes)), "content": note["content"], "created_at": time.Now().UTC().Format(time.RFC3339)}
		f.stored = append(f.stored, stored)
		if f.lost > 0 {
			f.lost--
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"note": stored})
	default:
		http.NotFound(w, r)
	}
}

func TestActions(t *testing.T) {
	pd := &fakePD{}
	srv := httptest.NewServer(pd)
	defer srv.Close()
	a := pagerduty.New(pagerduty.Config{Token: "tok", APIURL: srv.URL, EventsURL: srv.URL, RoutingKey: "rk", From: "oncall@example.com"})
	h := a.Handlers()
	req := func(with map[string]any) actions.Request {
		return actions.Request{RunID: "runbook:x:1", Step: "page", With: with}
	}
	for _, tc := range []struct {
		name    string
		action  string
		with    map[string]any
		dryRun  bool
		wantErr string
		check   func(t *testing.T, out map[string]any)
	}{
		{name: "trigger", action: actions.PagerDutyTrigger, with: map[string]any{"summary": "checkout down", "severity": "critical"}, check: func(t *testing.T, out map[string]any) {
			ev := pd.events[len(pd.events)-1]
			payload := ev["payload"].(map[string]any)
			if ev["routing_key"] != "rk" || ev["event_action"] != "trigger" || ev["dedup_key"] != "runbook:x:1/page" || payload["severity"] != "critical" || payload["source"] != "firebreak" {
				t.Fatalf("event %v", ev)
			}
			if out["status"] != "success" {
				t.Fatalf("out %v", out)
			}
		}},
		{name: "acknowledge", action: actions.PagerDutyAcknowledge, with: map[string]any{"dedupKey": "k1", "routingKey": "other"}, check: func(t *testing.T, out map[string]any) {
			ev := pd.events[len(pd.events)-1]
			if ev["event_action"] != "acknowledge" || ev["routing_key"] != "other" || ev["dedup_key"] != "k1" {
				t.Fatalf("event %v", ev)
			}
		}},
		{name: "resolve", action: actions.PagerDutyResolve, with: map[string]any{"dedupKey": "k1"}, check: func(t *testing.T, out map[string]any) {
			if ev := pd.events[len(pd.events)-1]; ev["event_action"] != "resolve" {
				t.Fatalf("event %v", ev)
			}
		}},
		{name: "note", action: actions.PagerDutyNote, with: map[string]any{"incidentId": "P123", "content": "restarted checkout"}, check: func(t *testing.T, out map[string]any) {
			note := pd.notes[len(pd.notes)-1]["note"].(map[string]any)
			if note["content"] != "restarted checkout" || pd.froms[len(pd.froms)-1] != "oncall@example.com" || out["noteId"] != "N1" {
				t.Fatalf("note %v from %v out %v", note, pd.froms, out)
			}
		}},
		{name: "dry run sends nothing", action: actions.PagerDutyTrigger, with: map[string]any{"summary": "x"}, dryRun: true, check: func(t *testing.T, out map[string]any) {
			if out["dryRun"] != true || len(pd.events) != 3 {
				t.Fatalf("out %v, %d events", out, len(pd.events))
			}
		}},
		{name: "bad severity", action: actions.PagerDutyTrigger, with: map[string]any{"summary": "x", "severity": "meh"}, wantErr: "severity must be"},
		{name: "note without incident", action: actions.PagerDutyNote, with: map[string]any{"content": "x"}, wantErr: "incidentId and content are required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := req(tc.with)
			r.DryRun = tc.dryRun
			out, err := h[tc.action](context.Background(), r)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !actions.IsPermanent(err) {
					t.Fatalf("err %v, want permanent %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, out.(map[string]any))
		})
	}
}

func TestErrorsClassified(t *testing.T) {
	for _, tc := range []struct {
		status    int
		permanent bool
	}{{400, true}, {429, false}, {500, false}} {
		pd := &fakePD{status: tc.status}
		srv := httptest.NewServer(pd)
		a := pagerduty.New(pagerduty.Config{EventsURL: srv.URL, RoutingKey: "rk"})
		_, err := a.Trigger(context.Background(), actions.Request{RunID: "r", Step: "s", With: map[string]any{"summary": "x"}})
		srv.Close()
		if err == nil || actions.IsPermanent(err) != tc.permanent {
			t.Errorf("HTTP %d: err %v permanent=%v, want %v", tc.status, err, actions.IsPermanent(err), tc.permanent)
		}
	}
}

// TestNoteRetried: a note PagerDuty added but whose answer was lost is
// found by the retry, which adds no second one. A later note with the same
// text, from another step, is added.
func TestNoteRetried(t *testing.T) {
	pd := &fakePD{}
	srv := httptest.NewServer(pd)
	defer srv.Close()
	a := pagerduty.New(pagerduty.Config{Token: "tok", APIURL: srv.URL, From: "oncall@example.com"})
	req := actions.Request{RunID: "runbook:x:1", Step: "note", With: map[string]any{"incidentId": "P123", "content": "restarted checkout"}}
	pd.lost = 1
	out, err := actiontest.Retried(t, a.Note, actions.PagerDutyNote, req, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(pd.stored) != 1 || out["noteId"] != pd.stored[0]["id"] {
		t.Fatalf("notes %v, answered %v", pd.stored, out)
	}
	if _, err := actiontest.Retried(t, a.Note, actions.PagerDutyNote, req, 3); err != nil || len(pd.stored) != 2 {
		t.Fatalf("a second step's note: %v, notes %v", err, pd.stored)
	}
}
