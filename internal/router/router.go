// Package router is how an alert becomes a run: it matches every alert
// from Alertmanager and every PagerDuty event against the runbooks'
// triggers (CEL), starts or joins the run for the target in one call
// (signal-with-start on the run's workflow ID, so a burst of one alert is
// one run), applies spec.limits (cooldown, maxRunsPerHour) and the
// automation kill switch and circuit breaker, links automatic runs to the
// open incident of their service, and records what it held back.
package router

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/google/uuid"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/firebreak-ops/firebreak/internal/access"
	"github.com/firebreak-ops/firebreak/internal/names"
	"github.com/firebreak-ops/firebreak/internal/runs"
	"github.com/firebreak-ops/firebreak/runbooks"
	automationwire "github.com/firebreak-ops/firebreak/workflows/wire/automation"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// Runs is what the router needs of runs: a start request checked and
// turned into the workflow that would run it.
type Runs interface {
	Prepare(req runs.StartRequest) (*runs.Prepared, error)
}

// Automation is what the router needs of automation: why automatic runs
// are held back now, or "".
type Automation interface {
	Holding(ctx context.Context) (string, error)
}

// Incidents is what the router needs of incidents: for each service, its
// newest open incident, which automatic runs for that service report to.
type Incidents interface {
	OpenByService(ctx context.Context) (map[string]string, error)
}

// Service routes alerts and events to runs.
type Service struct {
	Client    client.Client
	Namespace string
	Catalog   *runbooks.Catalog
	Runs      Runs
	// Automation holds automatic starts back; nil holds nothing.
	Automation Automation
	// Incidents links runs to incidents; nil links none.
	Incidents Incidents
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Incoming is one alert or event from a webhook.
type Incoming struct {
	Source string
	Alert  *runwire.Alert
	Event  map[string]any
}

// ref names the alert or event in outcomes.
func (in Incoming) ref() string {
	if in.Alert != nil {
		return in.Alert.Fingerprint
	}
	id, _ := in.Event["id"].(string)
	return id
}

// resolved reports whether the alert or event says the problem is over:
// such news joins an open run but never starts one.
func (in Incoming) resolved() bool {
	if in.Alert != nil {
		return in.Alert.Status == "resolved"
	}
	t, _ := in.Event["event_type"].(string)
	return t == "incident.resolved"
}

// Outcomes of delivering an alert to a runbook.
const (
	Started    = "started"
	Joined     = "joined"
	Suppressed = "suppressed"
	Unmatched  = "unmatched"
	Rejected   = "rejected"
)

// Outcome says what one alert did for one runbook.
type Outcome struct {
	Alert   string `json:"alert"`
	Runbook string `json:"runbook,omitempty"`
	Result  string `json:"result"`
	ID      string `json:"id,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// delivery is one alert matched to one runbook, ready to go.
type delivery struct {
	idx    int
	out    *Outcome
	in     Incoming
	prep   *runs.Prepared
	signal runwire.AlertSignal
}

// Deliver matches every alert against every runbook trigger of its source
// and starts or joins the matching runs: a run already open for the same
// target receives the alert as a signal, so a burst of one alert is one run.
// Limits, the kill switch and the circuit breaker can hold a start back;
// that is recorded as suppressed. An error means Temporal did not accept
// everything: the caller answers so that the sender retries, and retrying
// is safe because open runs only join.
func (s *Service) Deliver(ctx context.Context, items []Incoming) ([]Outcome, error) {
	now := s.now().UTC()
	var outcomes []Outcome
	var matched []*delivery
	plans := s.Catalog.List()
	for _, in := range items {
		vars := map[string]any{runbooks.VarNow: now, runbooks.VarAlert: runwire.AlertVars(in.Alert), runbooks.VarEvent: eventCEL(in.Event)}
		seen := false
		for _, plan := range plans {
			for _, tp := range plan.Triggers {
				if tp.Source != in.Source {
					continue
				}
				ok, params, err := tp.Eval(vars)
				if err != nil {
					outcomes = append(outcomes, Outcome{Alert: in.ref(), Runbook: plan.Name(), Result: Rejected, Reason: "trigger: " + err.Error()})
					seen = true
					break
				}
				if !ok {
					continue
				}
				seen = true
				prep, err := s.Runs.Prepare(runs.StartRequest{Runbook: plan.Name(), Params: params, Trigger: in.Source, RequestedBy: in.Source})
				if err != nil {
					outcomes = append(outcomes, Outcome{Alert: in.ref(), Runbook: plan.Name(), Result: Rejected, Reason: err.Error()})
					break
				}
				outcomes = append(outcomes, Outcome{Alert: in.ref(), Runbook: plan.Name(), ID: prep.ID})
				matched = append(matched, &delivery{idx: len(outcomes) - 1, in: in, prep: prep, signal: runwire.AlertSignal{
					Source: in.Source, Alert: in.Alert, Event: in.Event, ReceivedAt: now,
				}})
				break // one trigger per runbook is enough
			}
		}
		if !seen {
			outcomes = append(outcomes, Outcome{Alert: in.ref(), Result: Unmatched})
		}
	}
	// Point each delivery at its outcome (outcomes no longer grows).
	for _, d := range matched {
		d.out = &outcomes[d.idx]
	}
	if len(matched) == 0 {
		return outcomes, nil
	}
	hold := ""
	if s.Automation != nil {
		var err error
		if hold, err = s.Automation.Holding(ctx); err != nil {
			return nil, err
		}
	}
	s.linkDeliveries(ctx, matched)
	if err := s.deliverAll(ctx, matched, hold, now); err != nil {
		return nil, err
	}
	var suppressed []automationwire.Suppression
	for _, d := range matched {
		if d.out.Result == Suppressed {
			suppressed = append(suppressed, automationwire.Suppression{
				At: now, Source: d.in.Source, Runbook: d.prep.Plan.Name(), Key: d.prep.Input.Key,
				Fingerprint: d.in.ref(), Reason: d.out.Reason,
			})
		}
	}
	if len(suppressed) > 0 {
		if err := s.Client.SignalWorkflow(ctx, names.AutomationWorkflowID, "", names.SuppressedSignal, suppressed); err != nil {
			return nil, access.TemporalError(fmt.Errorf("recording suppressed alerts: %w", err))
		}
	}
	return outcomes, nil
}

// deliveryConcurrency bounds how many targets of one notification are
// started or signalled at once.
const deliveryConcurrency = 16

// deliverAll delivers a notification's matched alerts: the alerts of one
// target (one workflow ID) in order, one after another, so a run sees them
// as they were sent; different targets at the same time. One at a time, a
// notification of 100 alerts cost 100 round trips to Temporal in a row and
// overran the webhook's budget under load.
func (s *Service) deliverAll(ctx context.Context, matched []*delivery, hold string, now time.Time) error {
	var order []string
	byTarget := map[string][]*delivery{}
	for _, d := range matched {
		if _, ok := byTarget[d.prep.ID]; !ok {
			order = append(order, d.prep.ID)
		}
		byTarget[d.prep.ID] = append(byTarget[d.prep.ID], d)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(deliveryConcurrency)
	for _, id := range order {
		g.Go(func() error {
			for _, d := range byTarget[id] {
				if err := s.deliverOne(gctx, d, hold, now); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return g.Wait()
}

func (s *Service) deliverOne(ctx context.Context, d *delivery, hold string, now time.Time) error {
	id := d.prep.ID
	limits := d.prep.Plan.Runbook.Spec.Limits
	if hold == "" && !d.in.resolved() && (limits == nil || (limits.MaxRunsPerHour == 0 && limits.Cooldown == 0)) {
		// Nothing can hold a start back: one call starts the run or joins
		// the open one.
		return s.startOrJoin(ctx, d)
	}
	// An open run for this target takes the alert, whatever the limits or
	// the kill switch say: it is the run they allowed.
	err := s.Client.SignalWorkflow(ctx, id, "", names.AlertSignal, d.signal)
	if err == nil {
		d.out.Result = Joined
		return nil
	}
	var nf *serviceerror.NotFound
	if !errors.As(err, &nf) {
		return access.TemporalError(err)
	}
	if d.in.resolved() {
		// A resolved alert with no open run has nothing to remediate.
		d.out.Result = Unmatched
		d.out.ID = ""
		d.out.Reason = "resolved, and no run is open for " + d.prep.Input.Key
		return nil
	}
	if hold != "" {
		d.out.Result, d.out.Reason = Suppressed, hold
		return nil
	}
	if reason, err := s.limited(ctx, d.prep, now); err != nil {
		return err
	} else if reason != "" {
		d.out.Result, d.out.Reason = Suppressed, reason
		return nil
	}
	return s.startOrJoin(ctx, d)
}

func (s *Service) startOrJoin(ctx context.Context, d *delivery) error {
	started, err := s.signalWithStart(ctx, d)
	if err != nil {
		return access.TemporalError(err)
	}
	d.out.Result = Joined
	if started {
		d.out.Result = Started
	}
	return nil
}

// signalWithStart delivers the alert to the target's open run or starts
// one with it, in one call; it reports which happened. The SDK's own
// SignalWithStartWorkflow does not say, so the request is built here.
func (s *Service) signalWithStart(ctx context.Context, d *delivery) (bool, error) {
	dc := converter.GetDefaultDataConverter()
	input, err := dc.ToPayloads(d.prep.Input)
	if err != nil {
		return false, err
	}
	sig, err := dc.ToPayloads(d.signal)
	if err != nil {
		return false, err
	}
	attrs, err := d.prep.Attributes().Indexed()
	if err != nil {
		return false, err
	}
	resp, err := s.Client.WorkflowService().SignalWithStartWorkflowExecution(ctx, &workflowservice.SignalWithStartWorkflowExecutionRequest{
		Namespace:                s.Namespace,
		WorkflowId:               d.prep.ID,
		WorkflowType:             &commonpb.WorkflowType{Name: names.RunbookWorkflow},
		TaskQueue:                &taskqueuepb.TaskQueue{Name: names.TaskQueue, Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
		Input:                    input,
		SignalName:               names.AlertSignal,
		SignalInput:              sig,
		Identity:                 "firebreak-ingress",
		RequestId:                uuid.NewString(),
		WorkflowIdReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIdConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		SearchAttributes:         attrs,
	})
	if err != nil {
		return false, err
	}
	return resp.GetStarted(), nil
}

// limited applies spec.limits to a start for this runbook and key:
// real runs of the same key started within the cooldown or the last hour.
func (s *Service) limited(ctx context.Context, p *runs.Prepared, now time.Time) (string, error) {
	l := p.Plan.Runbook.Spec.Limits
	if l == nil || (l.MaxRunsPerHour == 0 && l.Cooldown == 0) {
		return "", nil
	}
	// Dry runs change nothing, so they never count: anyone may start one,
	// and it must not silence remediation of its target. A run that
	// continued as new counts once: its earlier executions are left out.
	base := fmt.Sprintf("WorkflowType = '%s' AND %s = '%s' AND %s = '%s' AND %s = false AND ExecutionStatus != 'ContinuedAsNew'", names.RunbookWorkflow,
		names.SARunbook, quote(p.Plan.Name()), names.SAKey, quote(p.Input.Key), names.SADryRun)
	if l.Cooldown > 0 {
		resp, err := s.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: s.Namespace, PageSize: 1,
			Query: base + fmt.Sprintf(" AND StartTime > '%s'", now.Add(-l.Cooldown.D()).Format(time.RFC3339Nano)),
		})
		if err != nil {
			return "", access.TemporalError(err)
		}
		if ex := resp.GetExecutions(); len(ex) > 0 {
			ago := now.Sub(ex[0].GetStartTime().AsTime()).Round(time.Second)
			return fmt.Sprintf("cooldown: the last run for %s started %s ago (cooldown %s)", p.Input.Key, ago, l.Cooldown), nil
		}
	}
	if l.MaxRunsPerHour > 0 {
		resp, err := s.Client.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{
			Namespace: s.Namespace,
			Query:     base + fmt.Sprintf(" AND StartTime > '%s'", now.Add(-time.Hour).Format(time.RFC3339Nano)),
		})
		if err != nil {
			return "", access.TemporalError(err)
		}
		if n := resp.GetCount(); n >= int64(l.MaxRunsPerHour) {
			return fmt.Sprintf("limit: %d runs for %s in the last hour (maxRunsPerHour %d)", n, p.Input.Key, l.MaxRunsPerHour), nil
		}
	}
	return "", nil
}

// quote escapes a value for a visibility query string.
func quote(s string) string {
	return strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s)
}

func eventCEL(e map[string]any) map[string]any {
	if e == nil {
		return map[string]any{}
	}
	return runbooks.NormalizeJSON(e).(map[string]any)
}

// linkDeliveries links automatic runs to the open incident of their
// service: an alert's "service" label, or a PagerDuty event's service. An
// incident listing that fails links nothing and holds nothing back.
func (s *Service) linkDeliveries(ctx context.Context, matched []*delivery) {
	if s.Incidents == nil {
		return
	}
	var open map[string]string
	listed := false
	for _, d := range matched {
		svc := ""
		if d.in.Alert != nil {
			svc = d.in.Alert.Labels["service"]
		} else if data, ok := d.in.Event["data"].(map[string]any); ok {
			if sv, ok := data["service"].(map[string]any); ok {
				svc, _ = sv["summary"].(string)
			}
		}
		if svc == "" || d.prep.Input.Incident != "" {
			continue
		}
		if !listed {
			listed = true
			var err error
			if open, err = s.Incidents.OpenByService(ctx); err != nil {
				return
			}
		}
		d.prep.Input.Incident = open[svc]
	}
}
