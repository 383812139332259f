package incident_test

import (
	"encoding/json"
	"errors"
	"flag"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/firebreak-ops/firebreak/activities"
	"github.com/firebreak-ops/firebreak/activities/pagerduty"
	"github.com/firebreak-ops/firebreak/activities/report"
	"github.com/firebreak-ops/firebreak/activities/slack"
	"github.com/firebreak-ops/firebreak/activities/slack/slackfake"
	"github.com/firebreak-ops/firebreak/internal/names"
	incidentwf "github.com/firebreak-ops/firebreak/workflows/incident"
	chaoswire "github.com/firebreak-ops/firebreak/workflows/wire/chaos"
	incidentwire "github.com/firebreak-ops/firebreak/workflows/wire/incident"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

var update = flag.Bool("update", false, "rewrite golden files")

// incidentStart is the test clock's start: the declaration.
var incidentStart = time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)

const testIncident = "INC-2026-0042"

type incidentHarness struct {
	*testsuite.TestWorkflowEnvironment
	t     *testing.T
	slack *slackfake.Server
	dir   string
	// halts are the chaos halts the incident sent.
	halts []chaoswire.ChaosHalt
}

// newIncidentHarness runs incidents against the real Slack and report
// activities: Slack is slacktest, postmortems go to a temp directory.
func newIncidentHarness(t *testing.T, chaos error) *incidentHarness {
	return newIncidentHarnessPD(t, chaos, pagerduty.Config{})
}

// newIncidentHarnessPD also points PagerDuty at a server.
func newIncidentHarnessPD(t *testing.T, chaos error, pd pagerduty.Config) *incidentHarness {
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(incidentStart)
	h := &incidentHarness{TestWorkflowEnvironment: env, t: t, slack: slackfake.New(t), dir: t.TempDir()}
	handlers := activities.Handlers(activities.Deps{
		Slack:     slack.Config{BotToken: "xoxb-test", APIURL: h.slack.URL()},
		Report:    report.Config{Dir: h.dir},
		PagerDuty: pd,
	})
	activities.Register(env, handlers)
	env.RegisterWorkflowWithOptions(incidentwf.IncidentWorkflow, workflow.RegisterOptions{Name: names.IncidentWorkflow})
	env.RegisterWorkflowWithOptions(incidentwf.PostmortemWorkflow, workflow.RegisterOptions{Name: names.PostmortemWorkflow})
	env.OnSignalExternalWorkflow(mock.Anything, names.ChaosWorkflowID, "", names.ChaosHaltSignal, mock.Anything).Return(
		func(_, _, _, _ string, arg any) error {
			h.halts = append(h.halts, arg.(chaoswire.ChaosHalt))
			return chaos
		})
	return h
}

func (h *incidentHarness) at(d time.Duration, f func()) { h.RegisterDelayedCallback(f, d) }

func (h *incidentHarness) command(d time.Duration, c incidentwire.IncidentCommand, rejected *error) {
	h.at(d, func() {
		h.UpdateWorkflow(names.IncidentCommandUpdate, c.Kind+c.Status+c.Text, &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) {
				if rejected != nil {
					*rejected = err
					return
				}
				h.t.Errorf("%s rejected: %v", c.Kind, err)
			},
			OnComplete: func(any, error) {},
		}, c)
	})
}

func (h *incidentHarness) event(d time.Duration, ev incidentwire.IncidentEvent) {
	h.at(d, func() { h.SignalWorkflow(names.IncidentEventSignal, ev) })
}

func (h *incidentHarness) declare(req incidentwire.DeclareRequest, settings incidentwire.IncidentSettings) {
	h.ExecuteWorkflow(names.IncidentWorkflow, incidentwire.IncidentInput{
		Incident: incidentwire.Incident{ID: testIncident}, Settings: settings, Request: &req,
	})
}

func (h *incidentHarness) result() *incidentwire.Incident {
	h.t.Helper()
	if !h.IsWorkflowCompleted() {
		h.t.Fatal("incident workflow did not complete")
	}
	var inc incidentwire.Incident
	if err := h.GetWorkflowResult(&inc); err != nil {
		h.t.Fatal(err)
	}
	return &inc
}

func ptime(t time.Time) *time.Time { return &t }
func pbool(b bool) *bool           { return &b }

// TestIncidentLifecycle declares a SEV2, lets a run report its steps,
// decisions and approval into it, changes status, assigns a scribe, notes,
// resolves, and checks the postmortem against a golden file.
func TestIncidentLifecycle(t *testing.T) {
	h := newIncidentHarness(t, nil)
	const run = "runbook:restart-checkout:prod/checkout"
	alertStart := incidentStart.Add(-8 * time.Minute)
	h.event(time.Minute, incidentwire.IncidentEvent{
		At: incidentStart.Add(-2 * time.Minute), Kind: incidentwire.TimelineRun, By: "alertmanager", Run: run, Ref: run,
		Text: "run " + run + " of restart-checkout started (alertmanager)",
	})
	h.event(time.Minute, incidentwire.IncidentEvent{
		At: incidentStart.Add(-2 * time.Minute), Kind: incidentwire.TimelineAlert, By: "alertmanager", Run: run, Ref: "fp-1",
		Text: "alertmanager alert CheckoutErrors firing",
		Alert: &incidentwire.IncidentAlert{Source: "alertmanager", Fingerprint: "fp-1", Name: "CheckoutErrors", Status: "firing",
			Labels:   map[string]string{"alertname": "CheckoutErrors", "service": "checkout"},
			StartsAt: alertStart, ReceivedAt: incidentStart.Add(-2 * time.Minute), Run: run},
	})
	step := func(d time.Duration, rep incidentwire.StepReport, by, text string) {
		rep.Run, rep.Runbook = run, "restart-checkout"
		start := incidentStart.Add(d - 30*time.Second)
		end := incidentStart.Add(d)
		rep.StartedAt, rep.FinishedAt = &start, &end
		h.event(d, incidentwire.IncidentEvent{At: end, Kind: incidentwire.TimelineStep, By: by, Text: text, Run: run, Ref: run + "/" + rep.Step, Step: &rep})
	}
	step(2*time.Minute, incidentwire.StepReport{Step: "errors", Kind: "action", Action: "prometheus.query", Status: runwire.StepSucceeded},
		"firebreak", "errors: prometheus.query succeeded")
	step(4*time.Minute, incidentwire.StepReport{Step: "confirm", Kind: "approval", Status: runwire.StepSucceeded,
		Guard: "double(steps.errors.output.value) > 0.05", GuardOK: pbool(true), Reason: "when: double(steps.errors.output.value) > 0.05 is true",
		Decision: runwire.DecisionApproved, Approver: "alice"}, "alice", "confirm: approval approved by alice: go")
	step(6*time.Minute, incidentwire.StepReport{Step: "restart", Kind: "action", Action: "kubernetes.rollout-restart", Status: runwire.StepSucceeded},
		"firebreak", "restart: kubernetes.rollout-restart succeeded")
	step(7*time.Minute, incidentwire.StepReport{Step: "page", Kind: "action", Action: "pagerduty.trigger", Status: runwire.StepSkipped,
		Guard: "steps.restart.status != 'succeeded'", GuardOK: pbool(false), Reason: "when: steps.restart.status != 'succeeded' is false"},
		"firebreak", "page: skipped")
	h.command(3*time.Minute, incidentwire.IncidentCommand{Kind: incidentwire.CommandStatus, Status: incidentwire.IncidentIdentified, By: "alice", Source: "slack", Text: "bad deploy of checkout"}, nil)
	h.command(5*time.Minute, incidentwire.IncidentCommand{Kind: incidentwire.CommandRole, Role: incidentwire.RoleScribe, User: "bob", By: "alice", Source: "slack"}, nil)
	h.command(8*time.Minute, incidentwire.IncidentCommand{Kind: incidentwire.CommandLink, By: "bob", Link: &incidentwire.Link{Kind: incidentwire.LinkDashboard, Title: "Checkout errors", URL: "https://grafana.example/d/checkout"}}, nil)
	h.command(12*time.Minute, incidentwire.IncidentCommand{Kind: incidentwire.CommandStatus, Status: incidentwire.IncidentMitigated, By: "alice", Source: "slack", Text: "rolled back"}, nil)
	h.command(15*time.Minute, incidentwire.IncidentCommand{Kind: incidentwire.CommandNote, Text: "error rate back under 0.1% | p99 normal", By: "bob", Source: "api"}, nil)
	h.command(40*time.Minute, incidentwire.IncidentCommand{Kind: incidentwire.CommandResolve, By: "alice", Source: "cli",
		Text: "A bad deploy of checkout returned 5xx for 18 minutes; Firebreak restarted it after approval.", ActionItems: []string{"Canary checkout deploys", "Alert on 5xx ratio per pod"}}, nil)

	h.declare(incidentwire.DeclareRequest{
		Title: "Checkout 5xx", Severity: incidentwire.SeverityMajor, Commander: "U0ALICE", Services: []string{"checkout"},
		Responders: []string{"U0BOB"}, DeclaredBy: "U0ALICE", Source: "slack", Runs: []string{run},
	}, incidentwire.IncidentSettings{Slack: true, Invite: []string{"U0ONCALL"}})
	inc := h.result()

	// The record.
	if inc.Status != incidentwire.IncidentResolved || inc.Roles[incidentwire.RoleScribe] != "bob" || len(inc.Automation) != 4 || len(inc.Alerts) != 1 {
		t.Errorf("record: %+v", inc)
	}
	if !inc.StartedAt.Equal(alertStart) || !inc.DetectedAt.Equal(incidentStart.Add(-2*time.Minute)) {
		t.Errorf("impact start %s and detection %s: want the alert's start and receipt", inc.StartedAt, inc.DetectedAt)
	}
	if inc.AcknowledgedAt == nil || !inc.AcknowledgedAt.Equal(incidentStart.Add(3*time.Minute)) {
		t.Errorf("acknowledged at %v, want the first status change", inc.AcknowledgedAt)
	}
	if len(h.halts) != 1 || h.halts[0].Reason != testIncident+" sev2 declared" || h.halts[0].By != "U0ALICE" || !inc.ChaosHalted {
		t.Errorf("chaos halts %+v (halted %t), want one for the SEV2 declaration", h.halts, inc.ChaosHalted)
	}
	for i := 1; i < len(inc.Timeline); i++ {
		if inc.Timeline[i].At.Before(inc.Timeline[i-1].At) {
			t.Errorf("timeline out of order at %d: %+v", i, inc.Timeline[i])
		}
	}

	// Slack: one channel, named after the incident, with the people in it
	// and the summary pinned and kept up to date.
	chans := h.slack.Channels()
	if len(chans) != 1 || chans[0].Name != "inc-2026-0042-checkout-5xx" {
		t.Fatalf("channels %+v", chans)
	}
	ch := chans[0]
	if strings.Join(ch.Members, ",") != "U0ALICE,U0BOB,U0ONCALL" || len(ch.Pins) != 1 {
		t.Errorf("members %v pins %v", ch.Members, ch.Pins)
	}
	msg, ok := h.slack.Message(ch.ID, ch.Pins[0])
	if !ok || msg.Updates == 0 || !strings.Contains(slackfake.BlocksJSON(msg.Blocks), "resolved") {
		t.Errorf("pinned summary not brought up to date: %d updates: %s", msg.Updates, slackfake.BlocksJSON(msg.Blocks))
	}
	posts := h.slack.Calls("chat.postMessage")
	if len(posts) != 2 || !strings.Contains(posts[1].Text, "Postmortem draft for "+testIncident) {
		t.Errorf("want the summary and the postmortem posted, got %d posts", len(posts))
	}

	// The postmortem.
	if inc.Postmortem == nil || inc.Postmortem.Path != filepath.Join(h.dir, testIncident+".md") {
		t.Fatalf("postmortem %+v", inc.Postmortem)
	}
	got, err := os.ReadFile(inc.Postmortem.Path)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "testdata/postmortem.golden.md", string(got))
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run with -update after checking):\n%s", path, got)
	}
}

// TestIncidentCommandsRejected: commands that cannot apply are refused
// before they enter history, and the record stays as it was.
func TestIncidentCommandsRejected(t *testing.T) {
	for _, tc := range []struct {
		name string
		cmd  incidentwire.IncidentCommand
		want string
	}{
		{"no by", incidentwire.IncidentCommand{Kind: incidentwire.CommandNote, Text: "x"}, "who gives it"},
		{"bad status", incidentwire.IncidentCommand{Kind: incidentwire.CommandStatus, Status: "fixed", By: "a"}, "status must be one of"},
		{"same status", incidentwire.IncidentCommand{Kind: incidentwire.CommandStatus, Status: incidentwire.IncidentInvestigating, By: "a"}, "already investigating"},
		{"bad severity", incidentwire.IncidentCommand{Kind: incidentwire.CommandSeverity, Severity: "sev9", By: "a"}, "severity must be one of"},
		{"bad role", incidentwire.IncidentCommand{Kind: incidentwire.CommandRole, Role: "boss", User: "x", By: "a"}, "role must be one of"},
		{"role without user", incidentwire.IncidentCommand{Kind: incidentwire.CommandRole, Role: incidentwire.RoleScribe, By: "a"}, "who takes"},
		{"empty note", incidentwire.IncidentCommand{Kind: incidentwire.CommandNote, Text: " ", By: "a"}, "needs text"},
		{"empty link", incidentwire.IncidentCommand{Kind: incidentwire.CommandLink, By: "a", Link: &incidentwire.Link{}}, "url or an id"},
		{"unknown", incidentwire.IncidentCommand{Kind: "dance", By: "a"}, "unknown command"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newIncidentHarness(t, nil)
			var rejected error
			h.command(time.Minute, tc.cmd, &rejected)
			h.command(2*time.Minute, incidentwire.IncidentCommand{Kind: incidentwire.CommandResolve, By: "a"}, nil)
			h.declare(incidentwire.DeclareRequest{Title: "t", Severity: incidentwire.SeverityMinor, DeclaredBy: "a"}, incidentwire.IncidentSettings{})
			inc := h.result()
			if rejected == nil || !strings.Contains(rejected.Error(), tc.want) {
				t.Errorf("rejection %v, want %q", rejected, tc.want)
			}
			if n := len(inc.Timeline); n != 3 { // declared, resolved, postmortem
				t.Errorf("timeline has %d entries: %+v", n, inc.Timeline)
			}
		})
	}
}

// TestIncidentChaosHalt: SEV1/SEV2 halt chaos on declaration and on
// escalation; the timeline says whether chaos was halted.
func TestIncidentChaosHalt(t *testing.T) {
	for _, tc := range []struct {
		name     string
		severity string
		escalate string
		chaos    error
		halts    []string
		timeline string
	}{
		{"sev3 declared", incidentwire.SeverityMinor, "", nil, nil, ""},
		{"sev1 declared", incidentwire.SeverityCritical, "", nil, []string{testIncident + " sev1 declared"}, "chaos halted: " + testIncident + " sev1 declared"},
		{"sev3 escalated to sev2", incidentwire.SeverityMinor, incidentwire.SeverityMajor, nil, []string{testIncident + " escalated to sev2"}, "chaos halted: " + testIncident + " escalated to sev2"},
		{"sev2 to sev1 halts once", incidentwire.SeverityMajor, incidentwire.SeverityCritical, nil, []string{testIncident + " sev2 declared"}, "chaos halted"},
		{"no chaos workflow", incidentwire.SeverityCritical, "", &temporal.UnknownExternalWorkflowExecutionError{}, []string{testIncident + " sev1 declared"}, "chaos not halted: no chaos workflow is running"},
		{"signal fails", incidentwire.SeverityCritical, "", errors.New("boom"), []string{testIncident + " sev1 declared"}, "chaos halt failed: boom"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newIncidentHarness(t, tc.chaos)
			if tc.escalate != "" {
				h.command(time.Minute, incidentwire.IncidentCommand{Kind: incidentwire.CommandSeverity, Severity: tc.escalate, By: "carol"}, nil)
			}
			h.command(5*time.Minute, incidentwire.IncidentCommand{Kind: incidentwire.CommandResolve, By: "carol"}, nil)
			h.declare(incidentwire.DeclareRequest{Title: "t", Severity: tc.severity, DeclaredBy: "dave"}, incidentwire.IncidentSettings{})
			inc := h.result()
			var reasons []string
			for _, halt := range h.halts {
				reasons = append(reasons, halt.Reason)
			}
			if strings.Join(reasons, "|") != strings.Join(tc.halts, "|") {
				t.Errorf("halts %q, want %q", reasons, tc.halts)
			}
			var chaos []string
			for _, e := range inc.Timeline {
				if e.Kind == incidentwire.TimelineChaos {
					chaos = append(chaos, e.Text)
				}
			}
			switch {
			case tc.timeline == "" && len(chaos) > 0:
				t.Errorf("chaos entries %q, want none", chaos)
			case tc.timeline != "" && (len(chaos) != 1 || !strings.HasPrefix(chaos[0], tc.timeline)):
				t.Errorf("chaos entries %q, want one starting %q", chaos, tc.timeline)
			}
			if inc.ChaosHalted != (tc.chaos == nil && tc.timeline != "") {
				t.Errorf("chaosHalted %t", inc.ChaosHalted)
			}
		})
	}
}

// TestIncidentSummaryPinFails: when pinning the summary fails, the retry
// pins the summary it posted: the channel holds one summary, pinned.
func TestIncidentSummaryPinFails(t *testing.T) {
	h := newIncidentHarness(t, nil)
	h.slack.FailNext("pins.add", slackfake.Failure{Status: http.StatusInternalServerError})
	h.command(5*time.Minute, incidentwire.IncidentCommand{Kind: incidentwire.CommandResolve, By: "carol"}, nil)
	h.declare(incidentwire.DeclareRequest{Title: "Cart slow", Severity: incidentwire.SeverityMinor, DeclaredBy: "carol"}, incidentwire.IncidentSettings{Slack: true})
	inc := h.result()
	chans := h.slack.Channels()
	if len(chans) != 1 || inc.Slack == nil || inc.Slack.Channel != chans[0].ID {
		t.Fatalf("channels %+v, incident's %+v", chans, inc.Slack)
	}
	var summaries []string
	for _, c := range h.slack.Calls("chat.postMessage") {
		if strings.Contains(c.Text, testIncident+" [SEV3]") {
			summaries = append(summaries, c.TS)
		}
	}
	if len(summaries) != 1 || strings.Join(chans[0].Pins, ",") != summaries[0] || inc.Slack.SummaryTS != summaries[0] {
		t.Errorf("summaries posted %v, pinned %v, the incident's %s", summaries, chans[0].Pins, inc.Slack.SummaryTS)
	}
}

// TestIncidentContinueAsNew: a long incident continues as new with its
// whole record, timeline included.
func TestIncidentContinueAsNew(t *testing.T) {
	h := newIncidentHarness(t, nil)
	for i := range 4 {
		h.command(time.Duration(i+1)*time.Minute, incidentwire.IncidentCommand{Kind: incidentwire.CommandNote, Text: "note " + string(rune('a'+i)), By: "erin"}, nil)
	}
	h.declare(incidentwire.DeclareRequest{Title: "long one", Severity: incidentwire.SeverityLow, DeclaredBy: "erin"}, incidentwire.IncidentSettings{MaxEvents: 3})
	var can *workflow.ContinueAsNewError
	if err := h.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("want continue-as-new, got %v", err)
	}
	var next incidentwire.IncidentInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	tl := next.Incident.Timeline
	if next.Request != nil || next.Incident.Generation != 1 || next.Incident.Title != "long one" || len(tl) != 4 ||
		tl[0].Kind != incidentwire.TimelineDeclared || tl[3].Text != "note c" {
		t.Errorf("carried over: %+v", next)
	}
}

// TestIncidentCounter: numbers count up per year, and a key gets the
// number it got before.
func TestIncidentCounter(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(incidentwf.IncidentCounterWorkflow, workflow.RegisterOptions{Name: names.IncidentCounterWorkflow})
	var got []string
	for i, req := range []incidentwire.AllocateRequest{
		{Year: 2026}, {Year: 2026, Key: "run/declare"}, {Year: 2026, Key: "run/declare"}, {Year: 2027}, {Year: 2026}, {Year: 1},
	} {
		env.RegisterDelayedCallback(func() {
			env.UpdateWorkflow(names.AllocateIncidentUpdate, string(rune('a'+i)), &testsuite.TestUpdateCallback{
				OnAccept: func() {}, OnReject: func(err error) { got = append(got, "rejected") },
				OnComplete: func(v any, err error) {
					if err == nil {
						got = append(got, v.(string))
					}
				},
			}, req)
		}, time.Duration(i+1)*time.Second)
	}
	env.RegisterDelayedCallback(env.CancelWorkflow, time.Minute)
	env.ExecuteWorkflow(names.IncidentCounterWorkflow, incidentwire.IncidentCounterInput{})
	want := "INC-2026-0001 INC-2026-0002 INC-2026-0002 INC-2027-0001 INC-2026-0003 rejected"
	if strings.Join(got, " ") != want {
		t.Errorf("allocated %q, want %q", strings.Join(got, " "), want)
	}
}

// TestIncidentPage: a declaration that pages triggers a PagerDuty alert
// deduplicated on the incident's ID (go-pagerduty against httptest),
// links it, and says so; a refusal is recorded and the incident goes on.
func TestIncidentPage(t *testing.T) {
	for _, tc := range []struct {
		name     string
		status   int
		canPage  bool
		severity string
		timeline string
		sent     int
	}{
		{"paged", http.StatusAccepted, true, incidentwire.SeverityCritical, "paged through PagerDuty (dedup key " + testIncident + ")", 1},
		{"refused", http.StatusBadRequest, true, incidentwire.SeverityMinor, "paging failed", 1},
		{"no routing key", http.StatusAccepted, false, incidentwire.SeverityMinor, "not paged: no PagerDuty routing key", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var events []map[string]any
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var ev map[string]any
				_ = json.NewDecoder(r.Body).Decode(&ev)
				mu.Lock()
				events = append(events, ev)
				mu.Unlock()
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(`{"status":"success","message":"Event processed","dedup_key":"` + testIncident + `"}`))
			}))
			defer srv.Close()
			h := newIncidentHarnessPD(t, nil, pagerduty.Config{EventsURL: srv.URL, RoutingKey: "rk-secret"})
			h.command(time.Minute, incidentwire.IncidentCommand{Kind: incidentwire.CommandResolve, By: "a"}, nil)
			h.declare(incidentwire.DeclareRequest{Title: "Pay down", Severity: tc.severity, DeclaredBy: "a", Page: true}, incidentwire.IncidentSettings{CanPage: tc.canPage})
			inc := h.result()
			if !hasTimeline(inc, incidentwire.TimelinePagerDuty, tc.timeline) {
				t.Errorf("timeline %+v lacks %q", inc.Timeline, tc.timeline)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(events) < tc.sent || (tc.sent == 0 && len(events) > 0) {
				t.Fatalf("%d events sent, want %d", len(events), tc.sent)
			}
			if tc.sent > 0 {
				ev := events[0]
				payload, _ := ev["payload"].(map[string]any)
				sev := "error"
				if tc.severity == incidentwire.SeverityCritical {
					sev = "critical"
				}
				if ev["dedup_key"] != testIncident || ev["routing_key"] != "rk-secret" || payload["severity"] != sev || payload["summary"] != testIncident+": Pay down" {
					t.Errorf("event %+v", ev)
				}
			}
			if linked := inc.PagerDutyIncident() == testIncident; linked != (tc.status == http.StatusAccepted && tc.canPage) {
				t.Errorf("links %+v", inc.Links)
			}
		})
	}
}

func hasTimeline(inc *incidentwire.Incident, kind, text string) bool {
	for _, e := range inc.Timeline {
		if e.Kind == kind && strings.Contains(e.Text, text) {
			return true
		}
	}
	return false
}
