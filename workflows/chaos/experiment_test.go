package chaos_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/firebreak-ops/firebreak/activities"
	"github.com/firebreak-ops/firebreak/activities/actions"
	"github.com/firebreak-ops/firebreak/experiments"
	"github.com/firebreak-ops/firebreak/experiments/plan"
	"github.com/firebreak-ops/firebreak/internal/names"
	"github.com/firebreak-ops/firebreak/internal/source"
	chaoswf "github.com/firebreak-ops/firebreak/workflows/chaos"
	chaoswire "github.com/firebreak-ops/firebreak/workflows/wire/chaos"
)

// fakeChaos stands in for Chaos Mesh in workflow tests: resources are
// injected as soon as they exist and gone as soon as they are deleted,
// unless stuck.
type fakeChaos struct {
	mu       sync.Mutex
	objs     map[string]actions.ChaosCreateRequest
	records  []actions.ChaosRecord
	stuck    bool
	stuckIf  func(name string) bool
	created  []actions.ChaosCreateRequest
	deleted  int
	errRate  []float64 // successive values of the error_rate probe
	probes   int
	incident int
	calls    []string
}

func newFakeChaos() *fakeChaos {
	return &fakeChaos{objs: map[string]actions.ChaosCreateRequest{},
		records: []actions.ChaosRecord{{ID: "prod/checkout-1", Namespace: "prod", Name: "checkout-1", Phase: "Injected", InjectedCount: 1}}}
}

func (f *fakeChaos) key(o actions.ChaosObject) string {
	return o.Kind + "/" + o.Namespace + "/" + o.Name
}

func (f *fakeChaos) Create(_ context.Context, req actions.ChaosCreateRequest) (actions.ChaosCreateResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.created = append(f.created, req)
	if !req.DryRun {
		f.objs[f.key(req.Object)] = req
	}
	return actions.ChaosCreateResult{Manifest: "kind: " + req.Object.Kind + "\n"}, nil
}

func (f *fakeChaos) Delete(_ context.Context, o actions.ChaosObject) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deleted++
	if !f.stuck && (f.stuckIf == nil || !f.stuckIf(o.Name)) {
		delete(f.objs, f.key(o))
	}
	return nil
}

func (f *fakeChaos) Await(_ context.Context, req actions.ChaosAwaitRequest) (actions.ChaosAwaitResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, exists := f.objs[f.key(req.Object)]
	st := actions.ChaosState{Exists: exists}
	switch req.Until {
	case actions.UntilInjected:
		st.AllInjected, st.Records = exists, f.records
		return actions.ChaosAwaitResult{Reached: exists, State: st}, nil
	default:
		if exists {
			st.Finalizers = []string{"chaos-mesh/records"}
		}
		return actions.ChaosAwaitResult{Reached: !exists, State: st}, nil
	}
}

func (f *fakeChaos) Context(context.Context, struct{}) (actions.ExperimentContextResult, error) {
	return actions.ExperimentContextResult{OpenIncidents: f.incident}, nil
}

func (f *fakeChaos) action(_ context.Context, req actions.Request) (any, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, req.Step)
	if strings.HasPrefix(req.Step, "probe-error_rate") {
		v := 0.001
		if f.probes < len(f.errRate) {
			v = f.errRate[f.probes]
		}
		f.probes++
		return map[string]any{"value": v}, nil
	}
	if strings.HasPrefix(req.Step, "probe-replicas") {
		return map[string]any{"status": map[string]any{"readyReplicas": 3.0}}, nil
	}
	return map[string]any{}, nil
}

func (f *fakeChaos) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

const testExperiment = `
apiVersion: firebreak/v1
kind: Experiment
metadata: {name: kill-checkout}
spec:
  target: {namespaces: [prod], selector: {app: checkout}, mode: one}
  blastRadius: {namespaces: [prod], maxMode: fixed, maxPods: 2}
  fault: {kind: PodChaos, spec: {action: pod-kill}}
  probes:
    - name: error_rate
      prometheus: {query: 'sum(rate(errors[1m]))'}
    - name: replicas
      kubernetes: {apiVersion: apps/v1, kind: Deployment, namespace: prod, name: checkout}
  steadyState: probes.error_rate < 0.01 && probes.replicas.status.readyReplicas >= 1
  abortWhen: probes.error_rate > 0.05
  preconditions: ["context.openIncidents == 0"]
  duration: 2m
  interval: 20s
  recoveryTimeout: 1s
  notify: {slack: {channel: C-chaos}}
`

func experiment(t *testing.T, src string) *plan.Experiment {
	t.Helper()
	f, err := experiments.Parse("test.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return f.Experiments[0]
}

func newChaosEnv(t *testing.T, f *fakeChaos) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(chaoswf.ExperimentWorkflow, workflowOptsNamed(names.ExperimentWorkflow))
	env.RegisterWorkflowWithOptions(chaoswf.GameDayWorkflow, workflowOptsNamed(names.GameDayWorkflow))
	env.RegisterActivityWithOptions(f.Create, activity.RegisterOptions{Name: actions.ChaosCreate})
	env.RegisterActivityWithOptions(f.Delete, activity.RegisterOptions{Name: actions.ChaosDelete})
	env.RegisterActivityWithOptions(f.Await, activity.RegisterOptions{Name: actions.ChaosAwait})
	env.RegisterActivityWithOptions(f.Context, activity.RegisterOptions{Name: actions.ExperimentContext})
	for _, name := range []string{actions.PrometheusQuery, actions.KubernetesGet, actions.HTTPRequest, actions.SlackPost, actions.PagerDutyTrigger} {
		env.RegisterActivityWithOptions(activities.Wrap(f.action), activity.RegisterOptions{Name: name})
	}
	env.OnSignalExternalWorkflow(mock.Anything, names.ChaosWorkflowID, "", mock.Anything, mock.Anything).Return(nil)
	return env
}

func runExperiment(t *testing.T, env *testsuite.TestWorkflowEnvironment, in chaoswire.ExperimentInput) *chaoswire.ExperimentState {
	t.Helper()
	env.ExecuteWorkflow(names.ExperimentWorkflow, in)
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var st chaoswire.ExperimentState
	if err := env.GetWorkflowResult(&st); err != nil {
		t.Fatal(err)
	}
	return &st
}

func phaseNames(st *chaoswire.ExperimentState) string {
	var out []string
	for _, p := range st.Phases {
		out = append(out, p.Name+":"+p.Status)
	}
	return strings.Join(out, " ")
}

func TestExperimentVerdicts(t *testing.T) {
	cases := []struct {
		name     string
		setup    func(f *fakeChaos)
		dry      bool
		signal   string // signal sent 50s into the run
		cancel   bool
		verdict  string
		reason   string
		phases   string
		created  int
		deleted  bool
		escalate bool
	}{
		{name: "passes", verdict: chaoswire.VerdictPassed, created: 1, deleted: true,
			phases: "preconditions:ok steady-state-before:ok rollback-armed:ok inject:ok blast-radius:ok observe:ok rollback:ok steady-state-after:ok report:ok"},
		{name: "open incident", setup: func(f *fakeChaos) { f.incident = 1 }, verdict: chaoswire.VerdictNotRun,
			reason: "context.openIncidents == 0 is false (context.openIncidents=1)", phases: "preconditions:failed report:ok"},
		{name: "not steady before", setup: func(f *fakeChaos) { f.errRate = []float64{0.2} }, verdict: chaoswire.VerdictNotRun,
			reason: "steady state does not hold before injection", phases: "preconditions:ok steady-state-before:failed report:ok"},
		{name: "abortWhen trips", setup: func(f *fakeChaos) { f.errRate = []float64{0.001, 0.002, 0.09} }, verdict: chaoswire.VerdictAborted,
			reason: "abortWhen held: probes.error_rate=0.09", created: 1, deleted: true},
		{name: "steady state broken after", setup: func(f *fakeChaos) { f.errRate = []float64{0.001, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.03} },
			verdict: chaoswire.VerdictFailed, reason: "steady state does not hold after recovery", created: 1, deleted: true},
		{name: "blast radius", setup: func(f *fakeChaos) {
			f.records = append(f.records, actions.ChaosRecord{ID: "payments/pay-1", Namespace: "payments", Name: "pay-1"})
		}, verdict: chaoswire.VerdictAborted, reason: "blast radius violated: 1 target(s) outside the allowed namespaces: payments/pay-1", created: 1, deleted: true},
		{name: "halt", signal: names.ChaosHaltSignal, verdict: chaoswire.VerdictAborted, reason: "halted by alice: game over", created: 1, deleted: true},
		{name: "abort", signal: names.AbortSignal, verdict: chaoswire.VerdictAborted, reason: "aborted by alice: game over", created: 1, deleted: true},
		{name: "cancel", cancel: true, verdict: chaoswire.VerdictAborted, reason: "cancelled", created: 1, deleted: true},
		{name: "stuck finalizer", setup: func(f *fakeChaos) { f.stuck = true }, verdict: chaoswire.VerdictNeedsAttention,
			reason: "not verified as removed", created: 1, deleted: true, escalate: true},
		{name: "dry run", dry: true, verdict: chaoswire.VerdictPassed, reason: "dry run", created: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeChaos()
			if tc.setup != nil {
				tc.setup(f)
			}
			env := newChaosEnv(t, f)
			if tc.signal != "" {
				env.RegisterDelayedCallback(func() {
					env.SignalWorkflow(tc.signal, chaoswire.ChaosHalt{Reason: "game over", By: "alice"})
				}, 50*time.Second)
			}
			if tc.cancel {
				env.RegisterDelayedCallback(env.CancelWorkflow, 50*time.Second)
			}
			st := runExperiment(t, env, chaoswire.ExperimentInput{Experiment: experiment(t, testExperiment), DryRun: tc.dry,
				Escalation: chaoswire.Escalation{Page: true}})
			if st.Verdict != tc.verdict || !strings.Contains(st.Reason, tc.reason) {
				t.Fatalf("verdict %s (%s), want %s (%s)\nphases: %s", st.Verdict, st.Reason, tc.verdict, tc.reason, phaseNames(st))
			}
			if tc.phases != "" && phaseNames(st) != tc.phases {
				t.Errorf("phases\n got %s\nwant %s", phaseNames(st), tc.phases)
			}
			if len(f.created) != tc.created {
				t.Errorf("created %d resources, want %d", len(f.created), tc.created)
			}
			if tc.deleted != (f.deleted > 0) {
				t.Errorf("deleted %d times, want deleted=%v", f.deleted, tc.deleted)
			}
			if tc.created > 0 && !(tc.dry || tc.escalate) && len(f.objs) != 0 {
				t.Errorf("resources left behind: %v", f.objs)
			}
			calls := strings.Join(f.Calls(), ",")
			if tc.escalate != strings.Contains(calls, "escalate-slack") || tc.escalate != strings.Contains(calls, "escalate-page") {
				t.Errorf("escalation calls %s, want escalate=%v", calls, tc.escalate)
			}
			if st.Status != chaoswire.ExperimentCompleted || st.EndedAt == nil {
				t.Errorf("status %s", st.Status)
			}
		})
	}
}

func TestExperimentRecordsProbesAndResource(t *testing.T) {
	f := newFakeChaos()
	env := newChaosEnv(t, f)
	env.SetStartWorkflowOptions(startOpts("experiment:kill-checkout:abc123"))
	st := runExperiment(t, env, chaoswire.ExperimentInput{Experiment: experiment(t, testExperiment)})
	req := f.created[0]
	if req.Object.Name != "fb-kill-checkout-abc123" || req.Object.Namespace != "prod" || req.Object.Kind != "PodChaos" {
		t.Errorf("object %+v", req.Object)
	}
	if req.Labels[names.LabelRun] != "abc123" || req.Labels[names.LabelManagedBy] != "firebreak" || req.Annotations[names.AnnotationRunID] != "experiment:kill-checkout:abc123" {
		t.Errorf("labels %v annotations %v", req.Labels, req.Annotations)
	}
	if !strings.Contains(string(req.Spec), `"action":"pod-kill"`) || !strings.Contains(string(req.Spec), `"labelSelectors":{"app":"checkout"}`) {
		t.Errorf("spec %s", req.Spec)
	}
	// 2m at 20s: before, 5 during (the 6th tick is the end), after.
	samples := st.Probes["error_rate"]
	phases := map[string]int{}
	for _, s := range samples {
		phases[s.Phase]++
	}
	if phases["before"] != 1 || phases["during"] != 5 || phases["after"] != 1 {
		t.Errorf("probe samples by phase %v", phases)
	}
	if len(st.Targets) != 1 || st.Targets[0].ID != "prod/checkout-1" {
		t.Errorf("targets %+v", st.Targets)
	}
	if st.InjectedAt == nil || st.RecoveredAt == nil {
		t.Error("injected/recovered times missing")
	}
}

func TestDryRunIgnoresHalt(t *testing.T) {
	f := newFakeChaos()
	env := newChaosEnv(t, f)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(names.ChaosHaltSignal, chaoswire.ChaosHalt{Reason: "SEV1"})
	}, 0)
	st := runExperiment(t, env, chaoswire.ExperimentInput{Experiment: experiment(t, testExperiment), DryRun: true})
	if st.Verdict != chaoswire.VerdictPassed || len(f.objs) != 0 {
		t.Fatalf("verdict %s (%s), objects %v", st.Verdict, st.Reason, f.objs)
	}
}

func TestExperimentHaltedBeforeInjection(t *testing.T) {
	f := newFakeChaos()
	env := newChaosEnv(t, f)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(names.ChaosHaltSignal, chaoswire.ChaosHalt{Reason: "SEV1", By: "INC-2026-0001"})
	}, 0)
	st := runExperiment(t, env, chaoswire.ExperimentInput{Experiment: experiment(t, testExperiment)})
	if st.Verdict != chaoswire.VerdictNotRun || len(f.created) != 0 {
		t.Fatalf("verdict %s (%s), created %d", st.Verdict, st.Reason, len(f.created))
	}
}

func workflowOptsNamed(name string) workflow.RegisterOptions {
	return workflow.RegisterOptions{Name: name}
}

func startOpts(id string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{ID: id}
}

// TestExperimentThatDoesNotCompileEndsNotRun: an experiment whose
// expressions no longer compile (changed by hand, or written by an older
// version) ends not_run with the reason; it must not panic.
func TestExperimentThatDoesNotCompileEndsNotRun(t *testing.T) {
	f := newFakeChaos()
	env := newChaosEnv(t, f)
	e := experiment(t, testExperiment)
	e.Spec.SteadyState = source.Expr{Text: "probes.nope >"}
	st := runExperiment(t, env, chaoswire.ExperimentInput{Experiment: e})
	if st.Verdict != chaoswire.VerdictNotRun || !strings.Contains(st.Reason, "does not compile") || len(f.created) != 0 {
		t.Fatalf("verdict %s (%s), created %d", st.Verdict, st.Reason, len(f.created))
	}
}
