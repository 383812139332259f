package chaos_test

import (
	"strings"

	"log/slog"
	"testing"
	"time"

	"github.com/firebreak-ops/firebreak/experiments"
	"github.com/firebreak-ops/firebreak/experiments/plan"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/firebreak-ops/firebreak/internal/names"
	chaoswf "github.com/firebreak-ops/firebreak/workflows/chaos"
	chaoswire "github.com/firebreak-ops/firebreak/workflows/wire/chaos"
)

func TestChaosWorkflowRelaysHalts(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(chaoswf.ChaosWorkflow, workflowOptsNamed(names.ChaosWorkflow))
	halted := map[string]int{}
	env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, "", names.ChaosHaltSignal, mock.Anything).Return(
		func(_, id, _, _ string, arg any) error {
			halted[id]++
			if h := arg.(chaoswire.ChaosHalt); h.By != "alice" {
				t.Errorf("halt relayed as %+v", h)
			}
			return nil
		})
	signal := func(at time.Duration, name string, arg any) {
		env.RegisterDelayedCallback(func() { env.SignalWorkflow(name, arg) }, at)
	}
	var mid, end *chaoswire.ChaosState
	query := func(at time.Duration, into **chaoswire.ChaosState) {
		env.RegisterDelayedCallback(func() {
			v, err := env.QueryWorkflow(names.ChaosQuery)
			if err != nil {
				t.Fatal(err)
			}
			var st chaoswire.ChaosState
			if err := v.Get(&st); err != nil {
				t.Fatal(err)
			}
			*into = &st
		}, at)
	}
	signal(time.Second, names.ExperimentStartedSignal, chaoswire.ExperimentRef{ID: "experiment:a:1"})
	signal(2*time.Second, names.ExperimentStartedSignal, chaoswire.ExperimentRef{ID: "experiment:b:2"})
	signal(3*time.Second, names.ExperimentFinishedSignal, chaoswire.ExperimentRef{ID: "experiment:a:1"})
	signal(4*time.Second, names.ChaosHaltSignal, chaoswire.ChaosHalt{By: "alice", Reason: "SEV1"})
	query(5*time.Second, &mid)
	// Started while halted: halted at once.
	signal(6*time.Second, names.ExperimentStartedSignal, chaoswire.ExperimentRef{ID: "experiment:c:3"})
	signal(7*time.Second, names.ChaosResumeSignal, chaoswire.ChaosHalt{By: "bob"})
	signal(8*time.Second, names.ExperimentStartedSignal, chaoswire.ExperimentRef{ID: "experiment:d:4"})
	query(9*time.Second, &end)
	env.RegisterDelayedCallback(env.CancelWorkflow, 10*time.Second)
	env.ExecuteWorkflow(names.ChaosWorkflow, chaoswire.ChaosInput{})

	if halted["experiment:a:1"] != 0 || halted["experiment:b:2"] != 1 || halted["experiment:c:3"] != 1 || halted["experiment:d:4"] != 0 {
		t.Errorf("halts relayed %v", halted)
	}
	if mid == nil || !mid.Halted || mid.By != "alice" || mid.Reason != "SEV1" || mid.Halts != 1 {
		t.Errorf("state after halt %+v", mid)
	}
	if end == nil || end.Halted || len(end.Running) != 3 {
		t.Errorf("state after resume %+v", end)
	}
}

func TestResilienceScore(t *testing.T) {
	for _, tc := range []struct {
		results []chaoswire.GameDayResult
		want    float64
	}{
		{nil, 0},
		{[]chaoswire.GameDayResult{{Verdict: chaoswire.VerdictPassed, Weight: 10}}, 100},
		{[]chaoswire.GameDayResult{{Verdict: chaoswire.VerdictPassed, Weight: 10}, {Verdict: chaoswire.VerdictFailed, Weight: 10}}, 50},
		{[]chaoswire.GameDayResult{{Verdict: chaoswire.VerdictPassed, Weight: 30}, {Verdict: chaoswire.VerdictAborted, Weight: 10}}, 75},
		{[]chaoswire.GameDayResult{{Verdict: chaoswire.VerdictPassed, Weight: 5}, {Verdict: chaoswire.VerdictSkipped, Weight: 5}, {Verdict: chaoswire.VerdictNotRun, Weight: 10}}, 25},
	} {
		if got := chaoswire.ResilienceScore(tc.results); got != tc.want {
			t.Errorf("score %v = %v, want %v", tc.results, got, tc.want)
		}
	}
}

func TestGameDayStopsAtNeedsAttention(t *testing.T) {
	f := newFakeChaos()
	f.stuckIf = func(name string) bool { return strings.Contains(name, "stuck-one") }
	env := newChaosEnv(t, f)
	stuckExp := experiment(t, strings.Replace(testExperiment, "name: kill-checkout", "name: stuck-one", 1))
	okExp := experiment(t, testExperiment)
	day := gameDay(t, `
apiVersion: firebreak/v1
kind: GameDay
metadata: {name: tuesday}
spec:
  schedule: "0 14 * * TUE"
  groups:
    - experiments: [kill-checkout, kill-checkout]
      parallel: true
    - experiments: [stuck-one]
    - experiments: [kill-checkout]
`)
	env.ExecuteWorkflow(names.GameDayWorkflow, chaoswire.GameDayInput{GameDay: day,
		Experiments: map[string]*plan.Experiment{"kill-checkout": okExp, "stuck-one": stuckExp}})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var st chaoswire.GameDayState
	if err := env.GetWorkflowResult(&st); err != nil {
		t.Fatal(err)
	}
	var verdicts []string
	for _, r := range st.Results {
		verdicts = append(verdicts, r.Experiment+":"+r.Verdict)
	}
	want := "kill-checkout:passed kill-checkout:passed stuck-one:needs_attention kill-checkout:skipped"
	if strings.Join(verdicts, " ") != want {
		t.Fatalf("results %s, want %s", strings.Join(verdicts, " "), want)
	}
	if st.Score != 50 || !strings.Contains(st.Stopped, "stuck-one needed attention") || len(st.Runs) != 3 {
		t.Errorf("score %v stopped %q runs %d", st.Score, st.Stopped, len(st.Runs))
	}
}

func gameDay(t *testing.T, src string) *plan.GameDay {
	t.Helper()
	f, err := experiments.Parse("day.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return f.GameDays[0]
}
