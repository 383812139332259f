package tests

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/firebreak-ops/firebreak/activities/slack/slackfake"
	"github.com/firebreak-ops/firebreak/internal/audit"
	"github.com/firebreak-ops/firebreak/internal/cli"
	"github.com/firebreak-ops/firebreak/internal/config"
	"github.com/firebreak-ops/firebreak/internal/names"
	"github.com/firebreak-ops/firebreak/internal/render/markdown"
	"github.com/firebreak-ops/firebreak/internal/router"
	"github.com/firebreak-ops/firebreak/internal/runs"
	"github.com/firebreak-ops/firebreak/internal/testenv"
	"github.com/firebreak-ops/firebreak/runbooks"
	chaoswire "github.com/firebreak-ops/firebreak/workflows/wire/chaos"
	incidentwire "github.com/firebreak-ops/firebreak/workflows/wire/incident"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// incidentRunbooks: an alert on checkout declares an incident (its
// severity from the alert), waits for alice's approval, then acts; a
// second runbook is started by hand inside incidents.
const incidentRunbooks = `
apiVersion: firebreak/v1
kind: Runbook
metadata: {name: checkout-errors}
spec:
  params:
    - {name: service, type: string, required: true}
  concurrency: params.service
  access: {run: [U0ALICE], approve: [alice, U0ALICE]}
  triggers:
    - alertmanager:
        match: alert.labels.alertname == "CheckoutErrors"
        params: {service: alert.labels.service}
  steps:
    - name: declare
      action: incident.declare
      with:
        title: "${{ params.service }} 5xx"
        severity: '${{ alert.labels.severity == "critical" ? "sev1" : "sev2" }}'
        services: ["${{ params.service }}"]
        commander: alice
    - name: confirm
      when: alert.status == "firing"
      approval: {approvers: [alice], timeout: 10m}
    - name: restart
      action: log
      with: {message: "restarting ${{ params.service }}"}
    - name: page
      when: steps.restart.status != "succeeded"
      action: log
      with: {message: "paging"}
---
apiVersion: firebreak/v1
kind: Runbook
metadata: {name: diagnose}
spec:
  params:
    - {name: what, type: string, default: checkout}
  access: {run: [U0ALICE]}
  steps:
    - {name: look, action: log, with: {message: "looking at ${{ params.what }}"}}
`

func incidentCatalog(t *testing.T) *runbooks.Catalog {
	t.Helper()
	cat := runbooks.NewCatalog()
	p := filepath.Join(t.TempDir(), "incidents.yaml")
	if err := os.WriteFile(p, []byte(incidentRunbooks), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := cat.LoadPath(p); err != nil {
		t.Fatal(err)
	}
	return cat
}

func incidentURL(id string) string { return "/v1/incidents/" + url.PathEscape(id) }

// waitIncident polls an incident until cond holds.
func (a *api) waitIncident(id, what string, cond func(*incidentwire.Incident) bool) *incidentwire.Incident {
	a.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var inc incidentwire.Incident
	for time.Now().Before(deadline) {
		inc = incidentwire.Incident{}
		if code := a.do("GET", incidentURL(id), nil, &inc); code == 200 && cond(&inc) {
			return &inc
		}
		time.Sleep(50 * time.Millisecond)
	}
	a.t.Fatalf("incident %s never %s; last %+v", id, what, inc)
	return nil
}

func hasEntry(inc *incidentwire.Incident, kind, text string) bool {
	for _, e := range inc.Timeline {
		if e.Kind == kind && strings.Contains(e.Text, text) {
			return true
		}
	}
	return false
}

func (a *api) raw(method, path string) (int, string, http.Header) {
	a.t.Helper()
	req, _ := http.NewRequest(method, a.base+path, nil)
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// TestIncidentEndToEnd goes through the real HTTP API, a real worker and
// the embedded Temporal server: an alert starts a run that declares an
// incident, the run waits for an approval, a PagerDuty webhook and CLI
// notes land in the timeline, the incident is resolved, and the
// postmortem file has the right durations. Slack is slacktest.
func TestIncidentEndToEnd(t *testing.T) {
	fake := slackfake.New(t)
	dir := filepath.Join(t.TempDir(), "postmortems")
	eng := testenv.Engine(t, t.TempDir())
	fb := testenv.StartFirebreak(t, eng, testenv.Options{Catalog: incidentCatalog(t), Config: &config.Config{
		APIToken:  "api-token",
		Slack:     config.Slack{SigningSecret: slackSecret, BotToken: "xoxb-test", APIURL: fake.URL()},
		PagerDuty: config.PagerDuty{WebhookSecrets: []string{"pd-secret"}},
		Incidents: config.Incidents{PostmortemDir: dir, Invite: []string{"U0ONCALL"}},
	}})
	a := &api{t: t, base: fb.URL, token: "api-token"}

	// The alert began ten minutes ago; Firebreak hears of it now.
	alertStart := time.Now().Add(-10 * time.Minute).UTC().Truncate(time.Second)
	alert := amAlert("firing", "alertname", "CheckoutErrors", "service", "checkout", "severity", "warning")
	alert.StartsAt = alertStart
	sent := time.Now()
	if code, resp := a.notify(notification("firing", alert)); code != 200 || resp.Outcomes[0].Result != router.Started {
		t.Fatalf("alert: HTTP %d %+v", code, resp)
	}
	runID := "runbook:checkout-errors:checkout"
	st := a.waitFor(runID, "waiting for approval", func(s *runwire.RunState) bool { return s.Status == runwire.StatusWaitingApproval })
	id := st.Incident
	if id != fmt.Sprintf("INC-%d-0001", time.Now().UTC().Year()) {
		t.Fatalf("the run declared %q", id)
	}
	// The channel exists, with the commander, the standing invitee, and
	// the pinned summary.
	var channelLatency time.Duration
	fake.WaitFor(10*time.Second, "the incident channel", func() bool {
		chans := fake.Channels()
		if len(chans) == 1 && len(chans[0].Pins) == 1 && channelLatency == 0 {
			channelLatency = time.Since(sent)
		}
		return len(chans) == 1 && len(chans[0].Pins) == 1
	})
	ch := fake.Channels()[0]
	if !strings.HasPrefix(ch.Name, fmt.Sprintf("inc-%d-0001-checkout-5xx", time.Now().UTC().Year())) || strings.Join(ch.Members, ",") != "alice,U0ONCALL" {
		t.Errorf("channel %+v", ch)
	}
	t.Logf("alert → incident channel with pinned summary: %s", channelLatency)

	// The incident knows its run, its alert, and that it is a SEV2 (the
	// severity rule); the chaos halt is recorded either way.
	inc := a.waitIncident(id, "saw the approval wait", func(i *incidentwire.Incident) bool {
		return hasEntry(i, incidentwire.TimelineApproval, "confirm: waiting for approval")
	})
	if inc.Severity != incidentwire.SeverityMajor || inc.Commander != "alice" || len(inc.Runs) != 1 || inc.Runs[0] != runID ||
		len(inc.Alerts) != 1 || !inc.StartedAt.Equal(alertStart) || !hasEntry(inc, incidentwire.TimelineChaos, "chaos halted: "+id+" sev2 declared") || !inc.ChaosHalted {
		t.Errorf("incident after declaration: %+v", inc)
	}
	// The SEV2 halted chaos through the chaos workflow itself.
	var chaos chaoswire.ChaosState
	if code := a.do("GET", "/v1/chaos", nil, &chaos); code != 200 || !chaos.Halted || chaos.Reason != id+" sev2 declared" || chaos.By != "run "+runID {
		t.Errorf("chaos state: HTTP %d %+v", code, chaos)
	}

	// A PagerDuty incident is linked; its acknowledgement arrives by
	// webhook, twice, and is recorded once.
	var linked incidentwire.CommandResult
	if code := a.do("POST", incidentURL(id)+"/links", map[string]any{"kind": "pagerduty", "id": "PDCHK1", "title": "PagerDuty PDCHK1", "by": "alice"}, &linked); code != 200 {
		t.Fatalf("link: HTTP %d", code)
	}
	ack, _ := json.Marshal(map[string]any{"event": map[string]any{
		"id": "EVACK1", "event_type": "incident.acknowledged", "resource_type": "incident",
		"occurred_at": time.Now().UTC().Format(time.RFC3339Nano), "agent": map[string]any{"summary": "Alice Example"},
		"data": map[string]any{"id": "PDCHK1", "type": "incident", "title": "Checkout 5xx", "service": map[string]any{"id": "S1", "summary": "payments"}},
	}})
	if code, body := postPD(t, fb.URL, ack, sign(ack, "pd-secret")); code != 200 || !strings.Contains(body, id) {
		t.Fatalf("pagerduty webhook: HTTP %d %s", code, body)
	}
	if code, body := postPD(t, fb.URL, ack, sign(ack, "pd-secret")); code != 200 || !strings.Contains(body, `"duplicate": true`) {
		t.Fatalf("pagerduty webhook again: HTTP %d %s", code, body)
	}

	// Alice approves; the run finishes and reports its steps.
	var approval runwire.ApprovalState
	if code := a.do("POST", runURL(runID)+"/approvals", runwire.ApprovalRequest{Step: "confirm", Approve: true, By: "alice", Comment: "restart it"}, &approval); code != 200 {
		t.Fatalf("approve: HTTP %d", code)
	}
	a.waitFor(runID, "succeeded", func(s *runwire.RunState) bool { return s.Status == runwire.StatusSucceeded })

	// A run started by hand for the incident reports in too.
	ref := a.start(runs.StartRequest{Runbook: "diagnose", Incident: id, RequestedBy: "bob"})
	a.waitFor(ref.ID, "succeeded", func(s *runwire.RunState) bool { return s.Status == runwire.StatusSucceeded && s.Incident == id })

	// The CLI adds a note; the API mitigates.
	var out, errOut bytes.Buffer
	if code := cli.Main([]string{"--server", fb.URL, "--token", "api-token", "incident", "note", id, "restart done, watching", "--by", "bob"}, &out, &errOut); code != 0 {
		t.Fatalf("cli note: %d %s", code, errOut.String())
	}
	var cmdOut incidentwire.CommandResult
	if code := a.do("POST", incidentURL(id)+"/status", map[string]any{"status": "mitigated", "note": "error rate normal", "by": "alice"}, &cmdOut); code != 200 ||
		cmdOut.Status != incidentwire.IncidentMitigated || cmdOut.Entry == nil || cmdOut.Entry.By != "alice" {
		t.Fatalf("mitigate: HTTP %d %+v", code, cmdOut)
	}
	a.waitIncident(id, "saw both runs end", func(i *incidentwire.Incident) bool {
		return hasEntry(i, incidentwire.TimelineRun, runID+" succeeded") && hasEntry(i, incidentwire.TimelineRun, ref.ID+" succeeded")
	})

	resolveAt := time.Now()
	if code := a.do("POST", incidentURL(id)+"/resolve", map[string]any{"summary": "Checkout 5xx after a bad deploy; restarted.", "actionItems": []string{"Canary deploys"}, "by": "alice"}, &cmdOut); code != 200 {
		t.Fatalf("resolve: HTTP %d", code)
	}
	// The postmortem: at the API, in the file, in the channel.
	var md string
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body, hdr := a.raw("GET", incidentURL(id)+"/postmortem")
		if code == 200 {
			md = body
			if !strings.HasPrefix(hdr.Get("Content-Type"), "text/markdown") {
				t.Errorf("postmortem content type %q", hdr.Get("Content-Type"))
			}
			break
		}
		if (code != 409 && code != 404) || time.Now().After(deadline) {
			t.Fatalf("postmortem: HTTP %d %s", code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("resolve → postmortem served: %s", time.Since(resolveAt))
	file, err := os.ReadFile(filepath.Join(dir, id+".md"))
	if err != nil || string(file) != md {
		t.Fatalf("postmortem file: %v (same as the API's: %t)", err, string(file) == md)
	}
	inc = a.waitIncident(id, "recorded its postmortem", func(i *incidentwire.Incident) bool { return i.Postmortem != nil })
	d := markdown.KeyDurations(inc)
	// Detection is when the alert reached Firebreak, ten minutes into the
	// impact; acknowledgement is PagerDuty's; resolution is now.
	if d.TTD < 10*time.Minute-time.Second || d.TTD > 10*time.Minute+30*time.Second ||
		d.TTR < d.TTD || d.TTR > 11*time.Minute+30*time.Second || d.TTM > d.TTR || d.TTA < 0 || d.TTA > 30*time.Second {
		t.Errorf("durations %+v from %+v", d, inc)
	}
	for _, want := range []string{
		"# Postmortem: " + id + " — checkout 5xx",
		"| Detected | " + inc.DetectedAt.Format("2006-01-02 15:04:05") + " | TTD " + markdown.Duration(d.TTD) + " |",
		"| Acknowledged | " + inc.AcknowledgedAt.Format("2006-01-02 15:04:05") + " | TTA " + markdown.Duration(d.TTA) + " |",
		"| Mitigated | " + inc.MitigatedAt.Format("2006-01-02 15:04:05") + " | TTM " + markdown.Duration(d.TTM) + " |",
		"| Resolved | " + inc.ResolvedAt.Format("2006-01-02 15:04:05") + " | TTR " + markdown.Duration(d.TTR) + " |",
		"| " + runID + " | confirm | approval | `alert.status == \"firing\"` → true | alice (approved) | succeeded |",
		"| " + runID + " | restart | log | no guard | alice | succeeded |",
		"| " + runID + " | page | log | `steps.restart.status != \"succeeded\"` → false | — | skipped |",
		"| pagerduty | Alice Example | PagerDuty acknowledged: Checkout 5xx |",
		"| note | bob | restart done, watching |",
		"| alertmanager | CheckoutErrors | firing | " + alertStart.Format("2006-01-02 15:04:05"),
		"```mermaid\ngantt",
		"- [ ] Canary deploys",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("postmortem lacks %q:\n%s", want, md)
		}
	}
	if n := strings.Count(md, "PagerDuty acknowledged"); n != 1 {
		t.Errorf("the acknowledgement is in the timeline %d times", n)
	}
	fake.WaitFor(10*time.Second, "the postmortem in the channel", func() bool {
		for _, c := range fake.Calls("chat.postMessage") {
			if c.Channel == ch.ID && strings.Contains(c.Text, "Postmortem draft for "+id) {
				return true
			}
		}
		return false
	})
	pinned, _ := fake.Message(ch.ID, ch.Pins[0])
	if !strings.Contains(slackfake.BlocksJSON(pinned.Blocks), "resolved") {
		t.Errorf("pinned summary not updated to resolved: %s", slackfake.BlocksJSON(pinned.Blocks))
	}

	// Listing and the CLI's postmortem.
	var list []incidentwire.IncidentSummary
	if code := a.do("GET", "/v1/incidents?status=resolved", nil, &list); code != 200 || len(list) != 1 || list[0].ID != id || list[0].Title != "checkout 5xx" {
		t.Errorf("list resolved: HTTP %d %+v", code, list)
	}
	out.Reset()
	if code := cli.Main([]string{"--server", fb.URL, "--token", "api-token", "incident", "postmortem", id}, &out, &errOut); code != 0 || out.String() != md {
		t.Errorf("cli postmortem: %d %s", code, errOut.String())
	}

	// The audit export has the run, the approval with its approver, and
	// the incident's commands, each with who.
	code, body, hdr := a.raw("GET", "/v1/audit?since=1h")
	if code != 200 || hdr.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("audit: HTTP %d %s", code, body)
	}
	seen := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		var rec audit.Record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		seen[rec.Kind+" "+rec.By] = true
	}
	for _, want := range []string{"run.started alertmanager", "run.approval alice", "run.decision firebreak", "incident.declared run " + runID,
		"incident.note bob", "incident.status alice", "incident.resolved alice", "run.started bob"} {
		if !seen[want] {
			t.Errorf("audit export lacks %q; has %v", want, seen)
		}
	}

	t.Run("bad input", func(t *testing.T) {
		for _, tc := range []struct {
			method, path string
			body         any
			code         int
			field, want  string
		}{
			{"POST", "/v1/incidents", map[string]any{"severity": "sev2"}, 400, "title", "title is required"},
			{"POST", "/v1/incidents", map[string]any{"title": "x", "severity": "sev9"}, 400, "severity", "severity must be one of"},
			{"POST", "/v1/incidents", map[string]any{"title": "x", "severity": "sev2", "services": []string{"bad name"}}, 400, "services[0]", "bad service name"},
			{"POST", "/v1/incidents", map[string]any{"title": "x", "severity": "sev2", "links": []map[string]any{{"url": "ftp://x"}}}, 400, "links[0].url", "http(s)"},
			{"POST", "/v1/incidents", map[string]any{"title": "x", "severity": "sev2", "page": true}, 400, "page", "routing key"},
			{"POST", "/v1/incidents", map[string]any{"title": "x", "severity": "sev2", "color": "red"}, 400, "", "unknown field"},
			{"GET", incidentURL("INC-2026-9999"), nil, 404, "id", "no incident"},
			{"GET", incidentURL("nope"), nil, 404, "id", "INC-2026-0042"},
			{"POST", incidentURL(id) + "/notes", map[string]any{"text": "late"}, 409, "", "is resolved"},
			{"POST", incidentURL(id) + "/status", map[string]any{}, 400, "status", "status is required"},
			{"POST", incidentURL(id) + "/notes", map[string]any{"text": strings.Repeat("x", 1001)}, 400, "text", "more than 1000"},
			{"POST", incidentURL(id) + "/status", map[string]any{"status": "mitigated", "note": strings.Repeat("x", 1001)}, 400, "note", "more than 1000"},
			{"POST", "/v1/runs", map[string]any{"runbook": "diagnose", "incident": "INC-1"}, 400, "incident", "incident must be an incident ID"},
			{"POST", "/v1/runs", map[string]any{"runbook": "diagnose", "incident": "INC-2026-9999"}, 400, "incident", "no incident"},
			{"POST", "/v1/runs", map[string]any{"runbook": "diagnose", "incident": id}, 409, "incident", "is resolved"},
			{"GET", incidentURL("INC-2026-9999") + "/postmortem", nil, 404, "id", "no incident"},
			{"GET", "/v1/audit?since=yesterday", nil, 400, "since", "since must be"},
			{"GET", "/v1/incidents?status=done", nil, 400, "status", "status must be"},
		} {
			var e errBody
			var got int
			if tc.body == nil {
				var b string
				got, b, _ = a.raw(tc.method, tc.path)
				_ = json.Unmarshal([]byte(b), &e)
			} else {
				got = a.do(tc.method, tc.path, tc.body, &e)
			}
			if got != tc.code || e.Field != tc.field || !strings.Contains(e.Error, tc.want) {
				t.Errorf("%s %s %v: HTTP %d %+v, want %d field %q containing %q", tc.method, tc.path, tc.body, got, e, tc.code, tc.field, tc.want)
			}
		}
		// Nothing was lost: the resolved incident is as it was.
		after := a.waitIncident(id, "readable", func(*incidentwire.Incident) bool { return true })
		if after.Status != incidentwire.IncidentResolved || len(after.Timeline) != len(inc.Timeline) {
			t.Errorf("incident changed by bad input: %d entries, was %d", len(after.Timeline), len(inc.Timeline))
		}
	})

	t.Run("declare through the API", func(t *testing.T) {
		start := time.Now()
		var inc incidentwire.Incident
		if code := a.do("POST", "/v1/incidents", map[string]any{"title": "Login errors", "severity": "sev4", "commander": "U0EVE", "services": []string{"login"},
			"links": []map[string]any{{"kind": "dashboard", "url": "https://grafana.example/d/login"}}}, &inc); code != http.StatusCreated {
			t.Fatalf("declare: HTTP %d", code)
		}
		answered := time.Since(start)
		if inc.Status != incidentwire.IncidentInvestigating || inc.Severity != "sev4" || !strings.HasPrefix(inc.ID, "INC-") {
			t.Errorf("declared %+v", inc)
		}
		fake.WaitFor(10*time.Second, "the login channel", func() bool {
			for _, c := range fake.Channels() {
				if strings.HasSuffix(c.Name, "-login-errors") && len(c.Pins) == 1 {
					return true
				}
			}
			return false
		})
		t.Logf("POST /v1/incidents answered in %s; channel created and summary pinned %s after the request", answered, time.Since(start))
		var done incidentwire.CommandResult
		if code := a.do("POST", incidentURL(inc.ID)+"/resolve", map[string]any{}, &done); code != 200 || done.Entry == nil || done.Entry.By != "api" {
			t.Fatalf("resolve: HTTP %d %+v", code, done)
		}
	})

	t.Run("continue as new", func(t *testing.T) {
		// A long incident (here: one run per three events) keeps its whole
		// timeline, its memo and its commands across runs.
		const long = "INC-2026-0500"
		_, err := fb.Client.ExecuteWorkflow(t.Context(), client.StartWorkflowOptions{
			ID: names.IncidentWorkflowID(long), TaskQueue: names.TaskQueue,
		}, names.IncidentWorkflow, incidentwire.IncidentInput{
			Incident: incidentwire.Incident{ID: long}, Settings: incidentwire.IncidentSettings{MaxEvents: 3},
			Request: &incidentwire.DeclareRequest{Title: "Long haul", Severity: "sev4", DeclaredBy: "erin", Services: []string{"batch"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 8 {
			var out incidentwire.CommandResult
			if code := a.do("POST", incidentURL(long)+"/notes", map[string]any{"text": fmt.Sprintf("note %d", i), "by": "erin"}, &out); code != 200 {
				t.Fatalf("note %d: HTTP %d", i, code)
			}
		}
		inc := a.waitIncident(long, "continued as new with every note", func(i *incidentwire.Incident) bool {
			return i.Generation >= 2 && hasEntry(i, incidentwire.TimelineNote, "note 7")
		})
		notes := 0
		for _, e := range inc.Timeline {
			if e.Kind == incidentwire.TimelineNote {
				notes++
			}
		}
		if notes != 8 || inc.Timeline[0].Kind != incidentwire.TimelineDeclared || inc.Title != "Long haul" {
			t.Errorf("after %d generations: %d notes, timeline %+v", inc.Generation, notes, inc.Timeline)
		}
		var list []incidentwire.IncidentSummary
		a.do("GET", "/v1/incidents?status=open", nil, &list)
		found := false
		for _, s := range list {
			found = found || (s.ID == long && s.Title == "Long haul" && s.Status == incidentwire.IncidentInvestigating)
		}
		if !found {
			t.Errorf("open incidents %+v lack %s", list, long)
		}
		var done incidentwire.CommandResult
		if code := a.do("POST", incidentURL(long)+"/resolve", map[string]any{"by": "erin"}, &done); code != 200 {
			t.Fatalf("resolve: HTTP %d", code)
		}
	})

	t.Run("slack", func(t *testing.T) {
		// Declared from Slack, run from its channel.
		fake.SetGroups(map[string][]string{})
		code, body := slackPost(t, fb.URL, "/v1/slack/commands", url.Values{
			"command": {"/firebreak"}, "text": {`incident declare sev3 "Search slow" <@U0CAROL|carol> service=search`},
			"user_id": {"U0ALICE"}, "user_name": {"alice"}, "channel_id": {"C0OPS"}, "response_url": {fake.ResponseURL("declare")},
		})
		if code != 200 || !strings.Contains(body, "declaring SEV3 Search slow") {
			t.Fatalf("declare ack: HTTP %d %s", code, body)
		}
		fake.WaitFor(10*time.Second, "the declaration's outcome", func() bool { return len(fake.Responses("declare")) > 0 })
		text := fake.Responses("declare")[0].Text()
		m := regexp.MustCompile(`declared \*(INC-(\d{4}-\d{4}))\* \(SEV3\)`).FindStringSubmatch(text)
		if m == nil {
			t.Fatalf("declare outcome %q", text)
		}
		sid := m[1]
		var sch slackfake.Channel
		fake.WaitFor(10*time.Second, "the second channel", func() bool {
			for _, c := range fake.Channels() {
				if c.Name == "inc-"+m[2]+"-search-slow" && len(c.Pins) == 1 {
					sch = c
					return true
				}
			}
			return false
		})
		if strings.Join(sch.Members, ",") != "U0CAROL,U0ALICE,U0ONCALL" {
			t.Errorf("members %v", sch.Members)
		}
		send := func(name, text string) string {
			t.Helper()
			code, body := slackPost(t, fb.URL, "/v1/slack/commands", url.Values{
				"command": {"/firebreak"}, "text": {text}, "user_id": {"U0ALICE"}, "user_name": {"alice"},
				"channel_id": {sch.ID}, "response_url": {fake.ResponseURL(name)},
			})
			if code != 200 {
				t.Fatalf("%s: HTTP %d %s", text, code, body)
			}
			fake.WaitFor(10*time.Second, name, func() bool { return len(fake.Responses(name)) > 0 })
			return fake.Responses(name)[0].Text()
		}
		for name, text := range map[string]string{
			"status": `incident status identified "index rebuild"`,
			"role":   "incident role scribe <@U0DAN|dan>",
			"note":   `incident note "rebuilding the index"`,
		} {
			if got := send(name, text); !strings.Contains(got, sid) {
				t.Errorf("%s: %q", text, got)
			}
		}
		if got := send("sev", "incident sev sev1"); !strings.Contains(got, "severity sev3 → sev1") {
			t.Errorf("sev: %q", got)
		}
		if got := send("run", "run diagnose what=search"); !strings.Contains(got, "Started a run of *diagnose*") {
			t.Errorf("run in the channel: %q", got)
		}
		if code, body := slackPost(t, fb.URL, "/v1/slack/commands", url.Values{
			"command": {"/firebreak"}, "text": {"incident status done"}, "user_id": {"U0ALICE"}, "channel_id": {sch.ID},
		}); code != 200 || !strings.Contains(body, "Status must be one of") {
			t.Errorf("bad status: HTTP %d %s", code, body)
		}
		sinc := a.waitIncident(sid, "took the commands and the run", func(i *incidentwire.Incident) bool {
			return i.Roles["scribe"] == "U0DAN" && i.Severity == "sev1" && len(i.Runs) == 1 && hasEntry(i, incidentwire.TimelineRun, "succeeded")
		})
		for _, e := range sinc.Timeline {
			if (e.Kind == incidentwire.TimelineStatus || e.Kind == incidentwire.TimelineNote || e.Kind == incidentwire.TimelineRole) && (e.By != "U0ALICE" || e.Source != "slack") {
				t.Errorf("entry without who: %+v", e)
			}
		}
		if !hasEntry(sinc, incidentwire.TimelineChaos, sid+" escalated to sev1") {
			t.Errorf("escalation to sev1 did not try to halt chaos: %+v", sinc.Timeline)
		}
		fake.WaitFor(10*time.Second, "the pinned summary showing sev1", func() bool {
			m, _ := fake.Message(sch.ID, sch.Pins[0])
			return strings.Contains(slackfake.BlocksJSON(m.Blocks), "SEV1") && strings.Contains(slackfake.BlocksJSON(m.Blocks), "U0DAN")
		})
		if got := send("resolve", `incident resolve "index rebuilt"`); !strings.Contains(got, "resolved: index rebuilt") {
			t.Errorf("resolve: %q", got)
		}
	})
}
