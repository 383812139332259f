package chaos

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/firebreak-ops/firebreak/activities/actions"
	"github.com/firebreak-ops/firebreak/experiments/plan"
	"github.com/firebreak-ops/firebreak/internal/names"
	chaoswire "github.com/firebreak-ops/firebreak/workflows/wire/chaos"
)

// GameDayWorkflow runs a game day's groups in order, each group's
// experiments in order or together, and stops at the first run that needs
// attention.
func GameDayWorkflow(ctx workflow.Context, in chaoswire.GameDayInput) (*chaoswire.GameDayState, error) {
	info := workflow.GetInfo(ctx)
	g := in.GameDay
	st := &chaoswire.GameDayState{ID: info.WorkflowExecution.ID, GameDay: g.Name(), Status: chaoswire.ExperimentRunning,
		DryRun: in.DryRun || g.Spec.DryRun, Results: []chaoswire.GameDayResult{}, StartedAt: workflow.Now(ctx), Runs: map[string]*chaoswire.ExperimentState{}}
	if err := workflow.SetQueryHandler(ctx, names.StatusQuery, func() (*chaoswire.GameDayState, error) { return st, nil }); err != nil {
		return nil, err
	}
	weight := func(name string) int {
		if e := in.Experiments[name]; e != nil && e.Spec.Weight > 0 {
			return e.Spec.Weight
		}
		return plan.DefaultWeight
	}
	n := 0
	for gi, group := range g.Spec.Groups {
		if st.Stopped != "" {
			for _, name := range group.Experiments {
				st.Results = append(st.Results, chaoswire.GameDayResult{Experiment: name, Verdict: chaoswire.VerdictSkipped, Reason: st.Stopped, Weight: weight(name)})
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
			var out chaoswire.ExperimentState
			res := chaoswire.GameDayResult{Experiment: c.name, RunID: c.id, Weight: weight(c.name)}
			if err := c.f.Get(ctx, &out); err != nil {
				res.Verdict, res.Reason = chaoswire.VerdictFailed, errText(err)
			} else {
				res.Verdict, res.Reason = out.Verdict, out.Reason
				st.Runs[c.id] = &out
			}
			st.Results = append(st.Results, res)
			if res.Verdict == chaoswire.VerdictNeedsAttention && st.Stopped == "" {
				st.Stopped = fmt.Sprintf("stopped after %s needed attention", c.name)
			}
		}
		for _, name := range group.Experiments {
			n++
			if st.Stopped != "" {
				st.Results = append(st.Results, chaoswire.GameDayResult{Experiment: name, Verdict: chaoswire.VerdictSkipped, Reason: st.Stopped, Weight: weight(name)})
				continue
			}
			e := in.Experiments[name]
			if e == nil {
				st.Results = append(st.Results, chaoswire.GameDayResult{Experiment: name, Verdict: chaoswire.VerdictNotRun, Reason: "not in the catalog", Weight: weight(name)})
				continue
			}
			id := names.ExperimentRunID(name, fmt.Sprintf("%s-%d-%d", runHash(st.ID), gi, n))
			cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
				WorkflowID: id, TaskQueue: names.TaskQueue,
				// Cancelling the game day cancels its experiments, which
				// roll back.
				ParentClosePolicy: enums.PARENT_CLOSE_POLICY_REQUEST_CANCEL,
			})
			c := child{name: name, id: id, f: workflow.ExecuteChildWorkflow(cctx, names.ExperimentWorkflow, chaoswire.ExperimentInput{
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
	st.Score = chaoswire.ResilienceScore(st.Results)
	now := workflow.Now(ctx)
	st.Status, st.EndedAt = chaoswire.ExperimentCompleted, &now
	if ch := in.Escalation.SlackChannel; ch != "" {
		actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: time.Minute,
			RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 5},
		})
		// A report that cannot be posted does not change the game day.
		_ = workflow.ExecuteActivity(actx, actions.SlackPost, actions.Request{RunID: st.ID, Runbook: st.GameDay, Step: "report",
			With: map[string]any{"channel": ch, "text": chaoswire.GameDaySummary(st)}}).Get(ctx, nil)
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
