package chaos

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/firebreak-ops/firebreak/experiments/plan"
	"github.com/firebreak-ops/firebreak/internal/access"
	"github.com/firebreak-ops/firebreak/internal/names"
	"github.com/firebreak-ops/firebreak/internal/render/markdown"
	chaoswire "github.com/firebreak-ops/firebreak/workflows/wire/chaos"
)

// GameDaySummary describes a game day and its Temporal Schedule.
type GameDaySummary struct {
	Name        string                `json:"name"`
	Description string                `json:"description,omitempty"`
	Schedule    string                `json:"schedule"`
	TimeZone    string                `json:"timeZone,omitempty"`
	Experiments []string              `json:"experiments"`
	ScheduleID  string                `json:"scheduleId"`
	Exists      bool                  `json:"exists"`
	Paused      bool                  `json:"paused"`
	Note        string                `json:"note,omitempty"`
	NextRuns    []time.Time           `json:"nextRuns,omitempty"`
	Recent      []GameDayRecentAction `json:"recent,omitempty"`
}

// GameDayRecentAction is one start the schedule made.
type GameDayRecentAction struct {
	At         time.Time `json:"at"`
	WorkflowID string    `json:"workflowId"`
}

// gameDayAction is the workflow a game day's schedule starts.
func (s *Service) gameDayAction(g *plan.GameDay, requestedBy string) (*client.ScheduleWorkflowAction, error) {
	exps, err := s.gameDayExperiments(g)
	if err != nil {
		return nil, err
	}
	return &client.ScheduleWorkflowAction{
		ID:        names.GameDayWorkflowID(g.Name(), "scheduled"),
		Workflow:  names.GameDayWorkflow,
		TaskQueue: names.TaskQueue,
		Args: []any{chaoswire.GameDayInput{GameDay: g, Experiments: exps, Escalation: s.Escalation,
			RequestedBy: requestedBy}},
	}, nil
}

func gameDaySpec(g *plan.GameDay) client.ScheduleSpec {
	return client.ScheduleSpec{CronExpressions: []string{g.Spec.Schedule}, TimeZoneName: g.Spec.TimeZone}
}

// SyncGameDays creates a Temporal Schedule for every game day in the
// catalog that has none, and brings existing ones up to date with the
// catalog (their paused state is left as operators set it).
func (s *Service) SyncGameDays(ctx context.Context) error {
	if s.Experiments == nil {
		return nil
	}
	var errs []error
	for _, g := range s.Experiments.GameDays() {
		if err := s.syncGameDay(ctx, g); err != nil {
			errs = append(errs, fmt.Errorf("game day %s: %w", g.Name(), err))
		}
	}
	return errors.Join(errs...)
}

func (s *Service) syncGameDay(ctx context.Context, g *plan.GameDay) error {
	action, err := s.gameDayAction(g, "schedule")
	if err != nil {
		return err
	}
	sc := s.Client.ScheduleClient()
	id := names.GameDayScheduleID(g.Name())
	_, err = sc.Create(ctx, client.ScheduleOptions{
		ID:            id,
		Spec:          gameDaySpec(g),
		Action:        action,
		Overlap:       enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
		CatchupWindow: g.Spec.CatchupWindow.D(),
		Paused:        g.Spec.Paused,
		Note:          "created by Firebreak from the game day " + g.Name(),
	})
	if err == nil {
		return nil
	}
	if !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return access.TemporalError(err)
	}
	h := sc.GetHandle(ctx, id)
	return h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
		sched := in.Description.Schedule
		spec := gameDaySpec(g)
		sched.Spec = &spec
		sched.Action = action
		if sched.Policy == nil {
			sched.Policy = &client.SchedulePolicies{}
		}
		sched.Policy.Overlap = enumspb.SCHEDULE_OVERLAP_POLICY_SKIP
		sched.Policy.CatchupWindow = g.Spec.CatchupWindow.D()
		return &client.ScheduleUpdate{Schedule: &sched}, nil
	}})
}

func (s *Service) gameDay(name string) (*plan.GameDay, error) {
	if s.Experiments != nil {
		if g, ok := s.Experiments.GameDay(name); ok {
			return g, nil
		}
	}
	return nil, access.Errorf(access.NotFound, "name", "no game day is named %q (GET /v1/gamedays lists them)", name)
}

// ListGameDays lists the catalog's game days with their schedules' state.
func (s *Service) ListGameDays(ctx context.Context) ([]GameDaySummary, error) {
	out := []GameDaySummary{}
	if s.Experiments == nil {
		return out, nil
	}
	for _, g := range s.Experiments.GameDays() {
		sum, err := s.describeGameDay(ctx, g)
		if err != nil {
			return nil, err
		}
		out = append(out, *sum)
	}
	return out, nil
}

func (s *Service) describeGameDay(ctx context.Context, g *plan.GameDay) (*GameDaySummary, error) {
	sum := &GameDaySummary{Name: g.Name(), Description: g.Metadata.Description, Schedule: g.Spec.Schedule,
		TimeZone: g.Spec.TimeZone, Experiments: g.Experiments(), ScheduleID: names.GameDayScheduleID(g.Name())}
	desc, err := s.Client.ScheduleClient().GetHandle(ctx, sum.ScheduleID).Describe(ctx)
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return sum, nil
		}
		return nil, access.TemporalError(err)
	}
	sum.Exists = true
	sum.Paused = desc.Schedule.State.Paused
	sum.Note = desc.Schedule.State.Note
	sum.NextRuns = desc.Info.NextActionTimes
	for _, a := range desc.Info.RecentActions {
		ra := GameDayRecentAction{At: a.ActualTime}
		if a.StartWorkflowResult != nil {
			ra.WorkflowID = a.StartWorkflowResult.WorkflowID
		}
		sum.Recent = append(sum.Recent, ra)
	}
	return sum, nil
}

// GameDayControl pauses, unpauses, triggers or deletes a game day's
// schedule for p (nil: the operator). Triggering or unpausing injects the
// game day's faults, so p must be allowed to run every experiment it
// names (their spec.access.run), as if starting each by hand.
func (s *Service) GameDayControl(ctx context.Context, name, op string, p *access.Principal, by, note string) (*GameDaySummary, error) {
	g, err := s.gameDay(name)
	if err != nil {
		return nil, err
	}
	if op == "trigger" || op == "unpause" {
		for _, exp := range g.Experiments() {
			pl, ok := s.Experiments.Get(exp)
			if !ok {
				return nil, access.Errorf(access.Invalid, "name", "game day %s names unknown experiment %q", name, exp)
			}
			if err := mayInject(pl, p, g.Spec.DryRun); err != nil {
				return nil, access.Errorf(access.Forbidden, "name", "game day %s: %v", name, err)
			}
		}
	}
	h := s.Client.ScheduleClient().GetHandle(ctx, names.GameDayScheduleID(name))
	if note == "" {
		note = op + " by " + by
	}
	switch op {
	case "pause":
		err = h.Pause(ctx, client.SchedulePauseOptions{Note: note})
	case "unpause":
		err = h.Unpause(ctx, client.ScheduleUnpauseOptions{Note: note})
	case "trigger":
		st, serr := s.ChaosState(ctx)
		if serr != nil {
			return nil, serr
		}
		if st.Halted && !g.Spec.DryRun {
			return nil, access.Errorf(access.Conflict, "", "chaos is halted (%s); resume it before a game day", haltText(st))
		}
		err = h.Trigger(ctx, client.ScheduleTriggerOptions{Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP})
	case "delete":
		err = h.Delete(ctx)
	default:
		return nil, access.Errorf(access.Invalid, "op", "unknown operation %q", op)
	}
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return nil, access.Errorf(access.NotFound, "name", "game day %s has no schedule (it is created when the API starts, or was deleted)", name)
		}
		return nil, access.TemporalError(err)
	}
	return s.describeGameDay(ctx, g)
}

// GetGameDayRun returns a game day run's state.
func (s *Service) GetGameDayRun(ctx context.Context, id string) (*chaoswire.GameDayState, error) {
	var st chaoswire.GameDayState
	if err := s.readWorkflow(ctx, id, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// GameDayReport renders a game day run as Markdown.
func (s *Service) GameDayReport(ctx context.Context, id string) (string, error) {
	st, err := s.GetGameDayRun(ctx, id)
	if err != nil {
		return "", err
	}
	return markdown.GameDayMarkdown(st), nil
}
