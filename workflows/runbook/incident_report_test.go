package runbook_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/firebreak-ops/firebreak/activities"
	"github.com/firebreak-ops/firebreak/activities/actions"
	"github.com/firebreak-ops/firebreak/activities/incident"
	"github.com/firebreak-ops/firebreak/internal/names"
	runbookwf "github.com/firebreak-ops/firebreak/workflows/runbook"
	incidentwire "github.com/firebreak-ops/firebreak/workflows/wire/incident"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// declarer hands out one incident ID, as the service would.
type declarer struct {
	mu   sync.Mutex
	reqs []incidentwire.DeclareRequest
	keys []string
}

func (d *declarer) DeclareIncident(_ context.Context, req incidentwire.DeclareRequest, key string) (*incidentwire.Incident, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.reqs, d.keys = append(d.reqs, req), append(d.keys, key)
	return &incidentwire.Incident{ID: "INC-2026-0009", Severity: req.Severity, Status: incidentwire.IncidentInvestigating}, nil
}

// reportHarness runs runbooks whose signals to incidents are captured.
type reportHarness struct {
	*testsuite.TestWorkflowEnvironment
	mu     sync.Mutex
	events map[string][]incidentwire.IncidentEvent
	decl   *declarer
}

func newReportHarness(t *testing.T) *reportHarness {
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := s.NewTestWorkflowEnvironment()
	h := &reportHarness{TestWorkflowEnvironment: env, events: map[string][]incidentwire.IncidentEvent{}, decl: &declarer{}}
	activities.Register(env, activities.Handlers(activities.Deps{Incidents: h.decl}))
	env.RegisterWorkflowWithOptions(runbookwf.RunbookWorkflow, workflowOpts())
	env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, "", names.IncidentEventSignal, mock.Anything).Return(
		func(_, id, _, _ string, arg any) error {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.events[id] = append(h.events[id], arg.(incidentwire.IncidentEvent))
			return nil
		})
	return h
}

const reportingRunbook = `
apiVersion: firebreak/v1
kind: Runbook
metadata: {name: reporting}
spec:
  params:
    - {name: declare, type: bool, default: false}
  steps:
    - name: open
      when: params.declare
      action: incident.declare
      with: {title: "Checkout 5xx", severity: sev3, services: [checkout]}
    - {name: look, action: log, with: {message: looking}}
    - name: never
      when: "false"
      action: log
      with: {message: never}
    - name: confirm
      approval: {approvers: [alice], timeout: 10m}
    - {name: act, action: log, with: {message: acting}}
`

func summarise(evs []incidentwire.IncidentEvent) string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Kind+" "+e.By+": "+e.Text)
	}
	return strings.Join(out, "\n")
}

// TestRunReportsIntoIncident: a run linked to an incident reports its
// start, each step with its guard, the approval wait and decision, and
// its end; one that declares an incident reports from then on; one with
// no incident sends nothing.
func TestRunReportsIntoIncident(t *testing.T) {
	rb := load(t, reportingRunbook)
	for _, tc := range []struct {
		name     string
		incident string
		declare  bool
		want     string
	}{
		{"linked at start", "INC-2026-0001", false, `run tester: run runbook:test:1 of reporting started (api, by tester)
step firebreak: open: incident.declare skipped (when: params.declare is false)
step firebreak: look: log succeeded
step firebreak: never: log skipped (when: false is false)
approval firebreak: confirm: waiting for approval (approvers: alice)
step alice: confirm: approval approved by alice: ok
step firebreak: act: log succeeded
run firebreak: run runbook:test:1 succeeded`},
		{"declared by the run", "", true, `run tester: run runbook:test:1 of reporting started (api, by tester)
step firebreak: open: incident.declare succeeded (when: params.declare is true)
step firebreak: look: log succeeded
step firebreak: never: log skipped (when: false is false)
approval firebreak: confirm: waiting for approval (approvers: alice)
step alice: confirm: approval approved by alice: ok
step firebreak: act: log succeeded
run firebreak: run runbook:test:1 succeeded`},
		{"no incident", "", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newReportHarness(t)
			h.RegisterDelayedCallback(func() {
				h.UpdateWorkflow(names.ApproveUpdate, "a", &testsuite.TestUpdateCallback{
					OnAccept: func() {}, OnReject: func(err error) { t.Errorf("approval rejected: %v", err) }, OnComplete: func(any, error) {},
				}, runwire.ApprovalRequest{Step: "confirm", Approve: true, By: "alice", Comment: "ok"})
			}, time.Minute)
			params, _ := rb.ResolveParams(map[string]any{"declare": tc.declare})
			h.ExecuteWorkflow(names.RunbookWorkflow, runwire.RunInput{
				ID: "runbook:test:1", Runbook: rb, Params: params, Trigger: runwire.TriggerAPI, RequestedBy: "tester", Incident: tc.incident,
			})
			if err := h.GetWorkflowError(); err != nil {
				t.Fatal(err)
			}
			var st runwire.RunState
			_ = h.GetWorkflowResult(&st)
			target := tc.incident
			if tc.declare {
				target = "INC-2026-0009"
			}
			if st.Incident != target {
				t.Errorf("run's incident %q, want %q", st.Incident, target)
			}
			got := summarise(h.events[names.IncidentWorkflowID(target)])
			if got != tc.want {
				t.Errorf("events:\n%s\nwant:\n%s", got, tc.want)
			}
			if len(h.events) > 1 || (tc.want == "" && len(h.events) > 0) {
				t.Errorf("signals to %d workflows", len(h.events))
			}
			if tc.declare {
				if len(h.decl.reqs) != 1 || !strings.HasPrefix(h.decl.keys[0], "default-test-workflow-id/default-test-run-id/") || h.decl.reqs[0].Runs[0] != "runbook:test:1" {
					t.Errorf("declarations %+v keys %v", h.decl.reqs, h.decl.keys)
				}
				steps := h.events[names.IncidentWorkflowID(target)]
				if rep := steps[5].Step; rep == nil || rep.Approver != "alice" || rep.Decision != runwire.DecisionApproved {
					t.Errorf("approval step report %+v", rep)
				}
			}
		})
	}
}

// TestDeclareActionInput: the action refuses what cannot become an
// incident before asking the service.
func TestDeclareActionInput(t *testing.T) {
	d := &declarer{}
	a := &incident.Activities{Declarer: d}
	for _, tc := range []struct {
		with map[string]any
		want string
	}{
		{map[string]any{"severity": "sev2"}, "title is required"},
		{map[string]any{"title": "x", "severity": "high"}, "severity must be one of"},
		{map[string]any{"title": "x", "severity": "sev2", "startedAt": "yesterday"}, "RFC 3339"},
		{map[string]any{"title": "x", "severity": "sev2", "colour": "red"}, "unknown field"},
	} {
		_, err := a.Declare(context.Background(), actions.Request{RunID: "r", Step: "s", With: tc.with})
		if err == nil || !actions.IsPermanent(err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want a permanent error with %q", tc.with, err, tc.want)
		}
	}
	out, err := a.Declare(context.Background(), actions.Request{RunID: "r", Step: "s", With: map[string]any{"title": "x", "severity": " SEV1 ", "startedAt": "2026-01-02T03:04:05Z"}})
	if err != nil || out.(map[string]any)["id"] != "INC-2026-0009" || d.reqs[0].Severity != "sev1" || d.reqs[0].StartedAt == nil || d.reqs[0].DeclaredBy != "run r" {
		t.Errorf("declare: %v %v %+v", out, err, d.reqs)
	}
	if len(d.reqs) != 1 {
		t.Errorf("bad input reached the service: %d declarations", len(d.reqs))
	}
}
