package workflows

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/firebreak-ops/firebreak/activities/actions"
	experiments "github.com/firebreak-ops/firebreak/experiments/plan"
	"github.com/firebreak-ops/firebreak/internal/names"
)

// GameDayInput starts a game day run: the game day and the experiments it
// names, as the catalog had them when the schedule was written.
type GameDayInput struct {
	GameDay     *experiments.GameDay               `json:"gameDay"`
	Experiments map[string]*experiments.Experiment `json:"experiments"`
	DryRun      bool                               `json:"dryRun,omitempty"`
	Escalation  Escalation                         `json:"escalation"`
	RequestedBy string                             `json:"requestedBy,omitempty"`
}

// GameDayResult is one experiment's outcome within a game day.
type GameDayResult struct {
	Experiment string `json:"experiment"`
	RunID      string `json:"runId,omitempty"`
	Verdict    string `json:"verdict"`
	Reason     string `json:"reason,omitempty"`
	Weight     int    `json:"weight"`
}

// Skipped marks experiments a game day did not run.
const VerdictSkipped = "skipped"

// GameDayState is a game day run as the status query reports it.
type GameDayState struct {
	ID      string          `json:"id"`
	GameDay string          `json:"gameDay"`
	Status  string          `json:"status"`
	DryRun  bool            `json:"dryRun,omitempty"`
	Results []GameDayResult `json:"results"`
	// Score is the resilience score: the weighted share of experiments
	// that passed, 0–100.
	Score     float64    `json:"score"`
	Stopped   string     `json:"stopped,omitempty"`
	StartedAt time.Time  `json:"startedAt"`
	EndedAt   *time.Time `json:"endedAt,omitempty"`
	// Runs holds each experiment run's final state, for the report.
	Runs map[string]*ExperimentState `json:"runs,omitempty"`
}

// ResilienceScore is the weighted share of passed experiments, 0–100: each
// experiment counts 100 when it passed and 0 otherwise, weighted by its
// weight, as Litmus scores a workflow from its experiments.
func ResilienceScore(results []GameDayResult) float64 {
	var sum, weights float64
	for _, r := range results {
		w := float64(r.Weight)
		weights += w
		if r.Verdict == VerdictPassed {
			sum += 100 * w
		}
	}
	if weights == 0 {
		return 0
	}
	return sum / weights
}

// GameDayWorkflow runs a game day's groups in order, each group's
// experiments in order or together, and stops at the first run that needs
// attention.
func GameDayWorkflow(ctx workflow.Context, in GameDayInput) (*GameDayState, error) {
	info := workflow.GetInfo(ctx)
	g := in.GameDay
	st := &GameDayState{ID: info.WorkflowExecution.ID, GameDay: g.Name(), Status: ExperimentRunning,
		DryRun: in.DryRun || g.Spec.DryRun, Results: []GameDayResult{}, StartedAt: workflow.Now(ctx), Runs: map[string]*ExperimentState{}}
	if err := workflow.SetQueryHandler(ctx, names.StatusQuery, func() (*GameDayState, error) { return st, nil }); err != nil {
		return nil, err
	}
	weight := func(name string) int {
		if e := in.Experiments[name]; e != nil && e.Spec.Weight > 0 {
			return e.Spec.Weight
		}
		return experiments.DefaultWeight
	}
	n := 0
	for gi, group := range g.Spec.Groups {
		if st.Stopped != "" {
			for _, name := range group.Experiments {
				st.Results = append(st.Results, GameDayResult{Experiment: name, Verdict: VerdictSkipped, Reason: st.Stopped, Weight: weight(name)})
			}
			continue
		}
		type child struct {
			name string
			id   string
			f    workflow.ChildWorkflowFuture
		}
		var pending []child
		wait := func(c child) {
			var out ExperimentState
			res := GameDayResult{Experiment: c.name, RunID: c.id, Weight: weight(c.name)}
			if err := c.f.Get(ctx, &out); err != nil {
				res.Verdict, res.Reason = VerdictFailed, errText(err)
			} else {
				res.Verdict, res.Reason = out.Verdict, out.Reason
				st.Runs[c.id] = &out
			}
			st.Results = append(st.Results, res)
			if res.Verdict == VerdictNeedsAttention && st.Stopped == "" {
				st.Stopped = fmt.Sprintf("stopped after %s needed attention", c.name)
			}
		}
		for _, name := range group.Experiments {
			n++
			if st.Stopped != "" {
				st.Results = append(st.Results, GameDayResult{Experiment: name, Verdict: VerdictSkipped, Reason: st.Stopped, Weight: weight(name)})
				continue
			}
			e := in.Experiments[name]
			if e == nil {
				st.Results = append(st.Results, GameDayResult{Experiment: name, Verdict: VerdictNotRun, Reason: "not in the catalog", Weight: weight(name)})
				continue
			}
			id := names.ExperimentRunID(name, fmt.Sprintf("%s-%d-%d", runHash(st.ID), gi, n))
			cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
				WorkflowID: id, TaskQueue: names.TaskQueue,
				// Cancelling the game day cancels its experiments, which
				// roll back.
				ParentClosePolicy: enums.PARENT_CLOSE_POLICY_REQUEST_CANCEL,
			})
			c := child{name: name, id: id, f: workflow.ExecuteChildWorkflow(cctx, names.ExperimentWorkflow, ExperimentInput{
				Experiment: e, DryRun: st.DryRun, GameDay: st.ID, Escalation: in.Escalation, RequestedBy: in.RequestedBy,
			})}
			if group.Parallel {
				pending = append(pending, c)
				continue
			}
			wait(c)
		}
		for _, c := range pending {
			wait(c)
		}
	}
	st.Score = ResilienceScore(st.Results)
	now := workflow.Now(ctx)
	st.Status, st.EndedAt = ExperimentCompleted, &now
	if ch := in.Escalation.SlackChannel; ch != "" {
		actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: time.Minute,
			RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 5},
		})
		// A report that cannot be posted does not change the game day.
		_ = workflow.ExecuteActivity(actx, actions.SlackPost, actions.Request{RunID: st.ID, Runbook: st.GameDay, Step: "report",
			With: map[string]any{"channel": ch, "text": GameDaySummary(st)}}).Get(ctx, nil)
	}
	return st, nil
}

// runHash is a short stable name for a game day run, whose ID (a
// schedule's, with a timestamp) does not fit in a label.
func runHash(id string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return strconv.FormatUint(uint64(h.Sum32()), 36)
}

// GameDaySummary is a short text report of a finished game day.
func GameDaySummary(st *GameDayState) string {
	out := ":game_die: Game day *" + st.GameDay + "*: resilience score *" + strconv.Itoa(int(st.Score+0.5)) + "%*"
	if st.Stopped != "" {
		out += " (" + st.Stopped + ")"
	}
	for _, r := range st.Results {
		out += "\n• " + r.Experiment + ": " + r.Verdict
		if r.Reason != "" {
			out += " — " + r.Reason
		}
	}
	return out
}
