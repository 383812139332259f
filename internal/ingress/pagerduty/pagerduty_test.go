package pagerduty

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/firebreak-ops/firebreak/internal/access"
	"github.com/firebreak-ops/firebreak/internal/automation"
	"github.com/firebreak-ops/firebreak/internal/ingress"
	"github.com/firebreak-ops/firebreak/internal/router"
	automationwire "github.com/firebreak-ops/firebreak/workflows/wire/automation"
)

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		body, want string
	}{
		{`{"event":{"id":"E1","event_type":"incident.triggered","occurred_at":"2026-11-26T03:00:00Z","data":{"id":"P1","service":{"summary":"checkout"}}}}`, ""},
		{`{"event":{"id":"E1"}}`, "needs event.id and event.event_type"},
		{`{"event":{"id":"E1","event_type":"incident.triggered"}}`, "needs event.occurred_at"},
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

// ledger is an in-memory delivery ledger: one delivery per key.
type ledger struct {
	results  map[string]string // a fixed answer for a key
	taken    map[string]bool
	settled  []string
	claimErr error
}

func (l *ledger) Claim(_ context.Context, key string, _ time.Time) (*automation.Claim, error) {
	if l.claimErr != nil {
		return nil, l.claimErr
	}
	c := &automation.Claim{Key: key, Token: "t-" + key}
	switch {
	case l.results[key] != "":
		c.Result = l.results[key]
	case l.taken[key]:
		c.Result = automationwire.ClaimDuplicate
	default:
		c.Result = automationwire.ClaimNew
	}
	return c, nil
}

func (l *ledger) Settle(_ context.Context, c *automation.Claim, delivered bool) error {
	l.settled = append(l.settled, fmt.Sprintf("%s %t", c.Key, delivered))
	if delivered {
		l.taken[c.Key] = true
	}
	return nil
}

type countingRouter struct {
	delivered []string
	err       error
}

func (r *countingRouter) Deliver(_ context.Context, items []router.Incoming) ([]router.Outcome, error) {
	if r.err != nil {
		return nil, r.err
	}
	id, _ := items[0].Event["id"].(string)
	r.delivered = append(r.delivered, id)
	return []router.Outcome{{Alert: id, Result: router.Started}}, nil
}

type noIncidents struct{}

func (noIncidents) ReportPagerDuty(context.Context, map[string]any) ([]string, error) {
	return nil, nil
}

// TestDeliveredOnce: a signed delivery replayed (a captured request, or
// PagerDuty's own retry of one that went through) is answered without
// delivering the event again; one that is too old to be told from a
// replay is ignored; one another request is delivering is retried later;
// a delivery that fails is given up, so PagerDuty's retry delivers it.
func TestDeliveredOnce(t *testing.T) {
	l := &ledger{results: map[string]string{"pagerduty:OLD": automationwire.ClaimStale, "pagerduty:BUSY": automationwire.ClaimBusy}, taken: map[string]bool{}}
	rt := &countingRouter{}
	h := &Handler{API: ingress.New(ingress.Options{}), Router: rt, Incidents: noIncidents{}, Deliveries: l, Secrets: []string{"s3cret"}}
	post := func(id string) (int, string) {
		body := fmt.Sprintf(`{"event":{"id":%q,"event_type":"incident.triggered","occurred_at":"2026-11-30T03:00:00Z","data":{"id":"P1"}}}`, id)
		r := httptest.NewRequest("POST", Path, strings.NewReader(body))
		m := hmac.New(sha256.New, []byte("s3cret"))
		m.Write([]byte(body))
		r.Header.Set("X-PagerDuty-Signature", "v1="+hex.EncodeToString(m.Sum(nil)))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code, w.Body.String()
	}
	for _, tc := range []struct {
		name, id string
		code     int
		want     string
		routed   int
	}{
		{"first delivery", "E1", 200, `"result": "started"`, 1},
		{"replayed", "E1", 200, `"duplicate": true`, 1},
		{"replayed again", "E1", 200, `"duplicate": true`, 1},
		{"another event", "E2", 200, `"result": "started"`, 2},
		{"too old to tell", "OLD", 200, `"ignored": "stale`, 2},
		{"being delivered", "BUSY", 429, "being delivered by another request", 2},
	} {
		code, body := post(tc.id)
		if code != tc.code || !strings.Contains(body, tc.want) || len(rt.delivered) != tc.routed {
			t.Errorf("%s: %d %s, %d delivered; want %d %q, %d", tc.name, code, body, len(rt.delivered), tc.code, tc.want, tc.routed)
		}
	}
	rt.err = errors.New("temporal is down")
	if code, _ := post("E3"); code != http.StatusServiceUnavailable {
		t.Errorf("failed delivery: %d", code)
	}
	rt.err = nil
	if code, body := post("E3"); code != 200 || !strings.Contains(body, "started") {
		t.Errorf("retry of a failed delivery: %d %s", code, body)
	}
	if got := strings.Join(l.settled, ","); got != "pagerduty:E1 true,pagerduty:E2 true,pagerduty:E3 false,pagerduty:E3 true" {
		t.Errorf("settled %s", got)
	}
	l.claimErr = access.Errorf(access.Busy, "", "temporal did not answer in time")
	if code, _ := post("E4"); code != http.StatusTooManyRequests {
		t.Errorf("ledger busy: %d", code)
	}
}
