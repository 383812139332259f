package tests

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/firebreak-ops/firebreak/activities/slack/slackfake"
	"github.com/firebreak-ops/firebreak/internal/config"
	"github.com/firebreak-ops/firebreak/internal/ingress/alertmanager"
	"github.com/firebreak-ops/firebreak/internal/runs"
	"github.com/firebreak-ops/firebreak/internal/testenv"
	"github.com/firebreak-ops/firebreak/runbooks"
	incidentwire "github.com/firebreak-ops/firebreak/workflows/wire/incident"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// rawPost posts a JSON body and returns the status, the body and its size.
func (a *api) rawPost(path, body string) (int, string) {
	a.t.Helper()
	req, _ := http.NewRequest("POST", a.base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+a.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestIncidentFieldsCapped: an incident link or ref of 1 MB is refused
// with a 400 naming the field, as is a link that would carry markup into
// Slack; commands answer with a small acknowledgement, not the record;
// links at their cap keep the incident alive and its postmortem written.
func TestIncidentFieldsCapped(t *testing.T) {
	fake := slackfake.New(t)
	eng := testenv.Engine(t, t.TempDir())
	fb := testenv.StartFirebreak(t, eng, testenv.Options{Config: &config.Config{
		APIToken: "api-token",
		Slack:    config.Slack{SigningSecret: slackSecret, BotToken: "xoxb-test", APIURL: fake.URL()},
	}})
	a := &api{t: t, base: fb.URL, token: "api-token"}
	mb := strings.Repeat("x", 1<<20-200)

	var e errBody
	if code := a.do("POST", "/v1/incidents", map[string]any{"title": "big", "severity": "sev3", "links": []map[string]any{{"url": "https://x/" + mb}}}, &e); code != 400 || e.Field != "links[0].url" {
		t.Errorf("declare with a 1 MB link: HTTP %d %+v", code, e)
	}
	var inc incidentwire.Incident
	if code := a.do("POST", "/v1/incidents", map[string]any{"title": "db down", "severity": "sev3"}, &inc); code != http.StatusCreated {
		t.Fatalf("declare: HTTP %d", code)
	}
	for _, tc := range []struct {
		path, body, field string
	}{
		{"/links", `{"url": "https://x/` + mb + `"}`, "url"},
		{"/links", `{"id": "` + mb + `"}`, "id"},
		{"/links", `{"url": "https://x/>hi <!channel> <https://evil"}`, "url"},
		{"/links", `{"url": "https://x/", "title": "` + mb + `"}`, "title"},
		{"/notes", `{"text": "note", "by": "` + mb + `"}`, "by"},
		{"/roles", `{"role": "scribe", "user": "` + mb + `"}`, "user"},
		{"/resolve", `{"actionItems": ["` + mb + `"]}`, "actionItems[0]"},
	} {
		code, body := a.rawPost(incidentURL(inc.ID)+tc.path, tc.body)
		if code != 400 || !strings.Contains(body, `"field": "`+tc.field+`"`) || len(body) > 1000 {
			t.Errorf("%s with %.60s…: HTTP %d %.300s, want 400 naming %s", tc.path, tc.body, code, body, tc.field)
		}
	}
	// Links at the cap are kept; every answer is an acknowledgement.
	long := "https://grafana.example/d/" + strings.Repeat("y", incidentwire.MaxURLBytes-40)
	for i := range 2 {
		code, body := a.rawPost(incidentURL(inc.ID)+"/links", fmt.Sprintf(`{"url": "%s%d", "title": "board %d"}`, long, i, i))
		if code != 200 || len(body) > 6<<10 {
			t.Fatalf("link %d: HTTP %d, %d bytes", i, code, len(body))
		}
	}
	code, body := a.rawPost(incidentURL(inc.ID)+"/notes", `{"text": "still looking"}`)
	var ack incidentwire.CommandResult
	if err := jsonUnmarshal(body, &ack); code != 200 || err != nil || len(body) > 1000 || ack.ID != inc.ID || ack.Entry == nil || ack.Entry.Text != "still looking" {
		t.Errorf("note answered HTTP %d with %d bytes: %.300s", code, len(body), body)
	}
	if code := a.do("POST", incidentURL(inc.ID)+"/resolve", map[string]any{"summary": "fixed"}, nil); code != 200 {
		t.Fatalf("resolve: HTTP %d", code)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, md, _ := a.raw("GET", incidentURL(inc.ID)+"/postmortem")
		if code == 200 {
			if !strings.Contains(md, "board 1") {
				t.Errorf("postmortem without the links:\n%s", md)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no postmortem: HTTP %d %s", code, md)
		}
		time.Sleep(200 * time.Millisecond)
	}
	got := a.waitIncident(inc.ID, "resolved", func(i *incidentwire.Incident) bool { return i.Postmortem != nil })
	if len(got.Links) != 2 || got.Postmortem.Error != "" {
		t.Errorf("%d links, postmortem %+v", len(got.Links), got.Postmortem)
	}
}

const floodRunbook = `
apiVersion: firebreak/v1
kind: Runbook
metadata: {name: flood}
spec:
  params:
    - {name: node, type: string, required: true}
  concurrency: params.node
  triggers:
    - alertmanager:
        match: alert.labels.alertname == "NodeDown"
        params: {node: alert.labels.node}
  steps:
    - {name: cordon, action: log, with: {message: "cordon ${{ params.node }}"}}
    - name: confirm
      approval: {approvers: [alice], timeout: 30m}
    - {name: act, action: log, with: {message: acting}}
  rollback:
    - {name: uncordon, for: cordon, action: log, with: {message: uncordon}}
`

// historyLength counts the events of a workflow's current execution.
func historyLength(t *testing.T, c client.Client, id string) int {
	t.Helper()
	it := c.GetWorkflowHistory(t.Context(), id, "", false, 0)
	n := 0
	for it.HasNext() {
		if _, err := it.Next(); err != nil {
			t.Fatal(err)
		}
		n++
	}
	return n
}

// TestHistoryBounded: refused approvals and a flood of alerts into one
// run waiting for approval (after cordon, before its rollback) cannot grow
// its history without bound: refusals beyond the run's bound, and repeats,
// never reach it, and the flood makes the run continue as new, after which
// it is approved and finishes with its record whole.
func TestHistoryBounded(t *testing.T) {
	cat := runbooks.NewCatalog()
	p := filepath.Join(t.TempDir(), "flood.yaml")
	os.WriteFile(p, []byte(floodRunbook), 0o600)
	if err := cat.LoadPath(p); err != nil {
		t.Fatal(err)
	}
	eng := testenv.Engine(t, t.TempDir())
	fb := testenv.StartFirebreak(t, eng, testenv.Options{Catalog: cat, Config: &config.Config{APIToken: "api-token"}})
	a := &api{t: t, base: fb.URL, token: "api-token"}
	alert := func(i int) alertmanager.Alert {
		return amAlert("firing", "alertname", "NodeDown", "node", "n1", "replica", fmt.Sprint(i%5))
	}
	if code, _ := a.notify(notification("firing", alert(0))); code != 200 {
		t.Fatalf("alert: HTTP %d", code)
	}
	const id = "runbook:flood:n1"
	a.waitFor(id, "waiting", func(s *runwire.RunState) bool { return s.Status == runwire.StatusWaitingApproval })

	refuse := func(by string) {
		var e errBody
		if code := a.do("POST", runURL(id)+"/approvals", map[string]any{"step": "confirm", "approve": true, "by": by}, &e); code != http.StatusForbidden {
			t.Fatalf("%s: HTTP %d %+v", by, code, e)
		}
	}
	for i := range 120 {
		refuse(fmt.Sprintf("mallory-%d", i))
	}
	before := historyLength(t, fb.Client, id)
	for i := range 150 {
		refuse(fmt.Sprintf("eve-%d", i))
		refuse("mallory-1")
	}
	if after := historyLength(t, fb.Client, id); after != before {
		t.Errorf("300 more refusals grew the history from %d to %d events", before, after)
	}
	st := a.waitFor(id, "refusals recorded", func(s *runwire.RunState) bool { return len(s.Access) > 0 })
	if len(st.Access) > 50 || st.Access[0].Allowed {
		t.Errorf("%d access records", len(st.Access))
	}

	// The flood: 1000 alerts in notifications of 50, each retried after
	// a 429 as Alertmanager does.
	sent := 1
	for range 20 {
		var batch []alertmanager.Alert
		for range 50 {
			batch = append(batch, alert(sent))
			sent++
		}
		for try := 0; ; try++ {
			start := time.Now()
			code, resp := a.notify(notification("firing", batch...))
			if code == 200 {
				break
			}
			t.Logf("flood: HTTP %d after %s", code, time.Since(start))
			if code != http.StatusTooManyRequests || try > 5 {
				t.Fatalf("flood: HTTP %d %+v", code, resp)
			}
			time.Sleep(time.Second)
		}
	}
	st = a.waitFor(id, "continued as new", func(s *runwire.RunState) bool { return s.Generation >= 1 })
	if n := historyLength(t, fb.Client, id); n > 1500 {
		t.Errorf("the run's current history has %d events", n)
	}
	var decided runwire.ApprovalState
	if code := a.do("POST", runURL(id)+"/approvals", map[string]any{"step": "confirm", "approve": true, "by": "alice"}, &decided); code != 200 {
		t.Fatalf("alice: HTTP %d", code)
	}
	st = a.waitFor(id, "succeeded", func(s *runwire.RunState) bool { return s.Done() })
	total := 0
	for _, al := range st.Alerts {
		total += al.Count
	}
	// A notification retried after a 429 may deliver some alerts twice.
	if st.Status != runwire.StatusSucceeded || total < sent || step(st, "cordon").Status != runwire.StepSucceeded || step(st, "act").Status != runwire.StepSucceeded {
		t.Errorf("run %s after %d generations: %d of %d alerts recorded, cordon %s, act %s", st.Status, st.Generation, total, sent, step(st, "cordon").Status, step(st, "act").Status)
	}
	t.Logf("%d alerts in %d generations", total, st.Generation)
	// Listed once, as it ended (the listing may lag a moment).
	var list []runs.Summary
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		list = nil
		a.do("GET", "/v1/runs?runbook=flood", nil, &list)
		if len(list) == 1 && list[0].Status == runwire.StatusSucceeded {
			break
		}
	}
	if len(list) != 1 || list[0].ID != id || list[0].Status != runwire.StatusSucceeded {
		t.Errorf("listing %+v", list)
	}
}
