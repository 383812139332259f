package chaos

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/firebreak-ops/firebreak/activities/actions"
	"github.com/firebreak-ops/firebreak/experiments/plan"
	"github.com/firebreak-ops/firebreak/internal/guard"
	"github.com/firebreak-ops/firebreak/internal/names"
	"github.com/firebreak-ops/firebreak/internal/secrets"
	chaoswire "github.com/firebreak-ops/firebreak/workflows/wire/chaos"
)

// errHalted ends observation when a halt or abort arrives.
var errHalted = errors.New("halted")

// experimentRun carries one run's state through its phases.
type experimentRun struct {
	ctx   workflow.Context
	in    chaoswire.ExperimentInput
	plan  *plan.Plan
	state *chaoswire.ExperimentState
	// stop is set by a halt or abort signal, or by cancellation.
	stop string
}

// ExperimentWorkflow runs one chaos experiment: preconditions, steady state
// before, inject, observe, roll back (always, once anything was injected),
// verify recovery, steady state after, verdict.
func ExperimentWorkflow(ctx workflow.Context, in chaoswire.ExperimentInput) (*chaoswire.ExperimentState, error) {
	info := workflow.GetInfo(ctx)
	e := in.Experiment
	if e == nil {
		return nil, temporal.NewNonRetryableApplicationError("no experiment in input", "InvalidInput", nil)
	}
	st := &chaoswire.ExperimentState{
		ID: info.WorkflowExecution.ID, Experiment: e.Name(), Status: chaoswire.ExperimentRunning, DryRun: in.DryRun,
		GameDay: in.GameDay, RequestedBy: in.RequestedBy, Fault: e.Spec.Fault.Kind,
		Probes: map[string][]chaoswire.ProbeSample{}, Targets: []actions.ChaosRecord{}, Phases: []chaoswire.Phase{},
		StartedAt: workflow.Now(ctx), Weight: e.Spec.Weight,
	}
	if err := workflow.SetQueryHandler(ctx, names.StatusQuery, func() (*chaoswire.ExperimentState, error) { return st, nil }); err != nil {
		return nil, err
	}
	r := &experimentRun{ctx: ctx, in: in, state: st}
	plan, err := plan.CompileCached(e) //workflowcheck:ignore compiling CEL is deterministic; the cache only saves work
	if err != nil {
		r.finish(chaoswire.VerdictNotRun, "experiment does not compile: "+err.Error())
		return st, nil
	}
	r.plan = plan

	haltCh := workflow.GetSignalChannel(ctx, names.ChaosHaltSignal)
	abortCh := workflow.GetSignalChannel(ctx, names.AbortSignal)
	workflow.Go(ctx, func(gctx workflow.Context) {
		for {
			var h chaoswire.ChaosHalt
			sel := workflow.NewSelector(gctx)
			sel.AddReceive(haltCh, func(c workflow.ReceiveChannel, _ bool) {
				c.Receive(gctx, &h)
				// A dry run injects nothing, so a halt has nothing to stop.
				if !in.DryRun {
					r.halt("halted", h)
				}
			})
			sel.AddReceive(abortCh, func(c workflow.ReceiveChannel, _ bool) {
				c.Receive(gctx, &h)
				r.halt("aborted", h)
			})
			sel.Select(gctx)
		}
	})

	// Tell the chaos workflow this experiment runs, so a halt reaches it;
	// when chaos is halted already, the answer is a halt signal.
	_ = workflow.SignalExternalWorkflow(ctx, names.ChaosWorkflowID, "", names.ExperimentStartedSignal, chaoswire.ExperimentRef{ID: st.ID}).Get(ctx, nil)
	defer func() {
		dctx, _ := workflow.NewDisconnectedContext(ctx)
		_ = workflow.SignalExternalWorkflow(dctx, names.ChaosWorkflowID, "", names.ExperimentFinishedSignal, chaoswire.ExperimentRef{ID: st.ID}).Get(dctx, nil)
	}()

	r.run()
	return st, nil
}

// halt records a halt or abort; the phases notice it.
func (r *experimentRun) halt(kind string, h chaoswire.ChaosHalt) {
	if r.stop != "" {
		return
	}
	reason := kind
	if h.By != "" {
		reason += " by " + h.By
		r.state.HaltedBy = h.By
	}
	if h.Reason != "" {
		reason += ": " + h.Reason
	}
	r.stop = reason
}

func (r *experimentRun) stopped() bool {
	if r.stop == "" && r.ctx.Err() != nil {
		r.stop = "cancelled"
	}
	return r.stop != ""
}

func (r *experimentRun) run() {
	ctx, st, spec := r.ctx, r.state, &r.plan.Experiment.Spec

	// 1. Preconditions.
	if len(r.plan.Preconditions) > 0 {
		ph := r.begin(chaoswire.PhasePreconditions)
		ok, why := r.preconditions()
		if !ok {
			r.end(ph, "failed", why)
			r.finish(chaoswire.VerdictNotRun, why)
			return
		}
		r.end(ph, "ok", "")
	}
	if r.stopped() {
		r.finish(chaoswire.VerdictNotRun, r.stop+" before injection")
		return
	}

	// 2. Steady state before.
	ph := r.begin(chaoswire.PhaseSteadyBefore)
	if ok, why := r.steady(chaoswire.SampleBefore); !ok {
		r.end(ph, "failed", why)
		r.finish(chaoswire.VerdictNotRun, "steady state does not hold before injection: "+why)
		return
	}
	r.end(ph, "ok", "")
	if r.stopped() {
		r.finish(chaoswire.VerdictNotRun, r.stop+" before injection")
		return
	}

	// 3. Record the rollback intent: from here on the workflow owns a
	// resource whose name it chose itself, and removes it whatever happens.
	ns := r.in.Namespace
	if ns == "" {
		ns = spec.Target.Namespaces[0]
	}
	obj := actions.ChaosObject{Kind: spec.Fault.Kind, Namespace: ns, Name: chaoswire.ChaosResourceName(st.ID)}
	st.Object = &obj
	ph = r.begin(chaoswire.PhaseRollbackArmed)
	r.end(ph, "ok", fmt.Sprintf("%s %s/%s will be deleted on success, abort, halt, cancel or failure", obj.Kind, obj.Namespace, obj.Name))

	// 4. Create the resource (a server-side dry run when dry).
	ph = r.begin(chaoswire.PhaseInject)
	created := false
	verdict, reason := "", ""
	defer func() {
		if !created {
			return
		}
		// 8. Roll back on a context no cancellation reaches.
		dctx, _ := workflow.NewDisconnectedContext(ctx)
		r.ctx = dctx
		if !r.rollback(obj) {
			verdict, reason = chaoswire.VerdictNeedsAttention, "the fault was not verified as removed within "+spec.RecoveryTimeout.String()+"; escalated"
			r.escalate(obj)
			r.finish(verdict, reason)
			return
		}
		// 9. Steady state after.
		ph := r.begin(chaoswire.PhaseSteadyAfter)
		ok, why := r.steady(chaoswire.SampleAfter)
		if ok {
			r.end(ph, "ok", "")
		} else {
			r.end(ph, "failed", why)
			if verdict == chaoswire.VerdictPassed {
				verdict, reason = chaoswire.VerdictFailed, "steady state does not hold after recovery: "+why
			}
		}
		r.finish(verdict, reason)
	}()

	var res actions.ChaosCreateResult
	err := r.chaos(actions.ChaosCreate, actions.ChaosCreateRequest{
		Object: obj, Spec: r.plan.Spec, DryRun: r.in.DryRun,
		Labels: map[string]string{
			names.LabelManagedBy: names.LabelManagedByValue, names.LabelRun: chaoswire.RunLabel(st.ID), names.LabelExperiment: st.Experiment,
		},
		Annotations: map[string]string{names.AnnotationRunID: st.ID},
	}, time.Minute, &res)
	if err != nil {
		// The create may have landed before the error: roll back anyway.
		created = !r.in.DryRun
		r.end(ph, "failed", errText(err))
		verdict, reason = chaoswire.VerdictAborted, "creating the Chaos Mesh resource failed: "+errText(err)
		if !created {
			r.finish(verdict, reason)
		}
		return
	}
	st.Manifest = res.Manifest
	if r.in.DryRun {
		r.end(ph, "skipped", "dry run: the API server validated the resource; nothing was injected")
		ph := r.begin(chaoswire.PhaseObserve)
		ok, why := r.steady(chaoswire.SampleDuring)
		r.end(ph, map[bool]string{true: "ok", false: "failed"}[ok], why)
		if ok {
			r.finish(chaoswire.VerdictPassed, "dry run: rendered and validated the resource, probes answered and steady state holds")
		} else {
			r.finish(chaoswire.VerdictFailed, "dry run: steady state does not hold: "+why)
		}
		return
	}
	created = true
	verdict = chaoswire.VerdictPassed
	var aw actions.ChaosAwaitResult
	err = r.chaos(actions.ChaosAwait, actions.ChaosAwaitRequest{Object: obj, Until: actions.UntilInjected, Timeout: spec.InjectTimeout.D()},
		spec.InjectTimeout.D()+30*time.Second, &aw)
	switch {
	case err != nil:
		r.end(ph, "failed", errText(err))
		verdict, reason = chaoswire.VerdictAborted, "waiting for injection failed: "+errText(err)
		return
	case !aw.Reached:
		r.end(ph, "failed", "Chaos Mesh did not report AllInjected within "+spec.InjectTimeout.String())
		verdict, reason = chaoswire.VerdictAborted, "Chaos Mesh did not report AllInjected within "+spec.InjectTimeout.String()
		return
	}
	now := workflow.Now(ctx)
	st.InjectedAt = &now
	st.Targets = aw.State.Records
	r.end(ph, "ok", fmt.Sprintf("%d target(s) injected", len(aw.State.Records)))

	// 5. The real targets against the blast radius.
	ph = r.begin(chaoswire.PhaseBlastRadius)
	if why := checkBlastRadius(spec, aw.State.Records); why != "" {
		r.end(ph, "failed", why)
		verdict, reason = chaoswire.VerdictAborted, "blast radius violated: "+why
		return
	}
	r.end(ph, "ok", "")

	// 6. Observe until the duration is up, a probe trips abortWhen, or a
	// halt, abort or cancel arrives.
	ph = r.begin(chaoswire.PhaseObserve)
	why, err := r.observe(now)
	switch {
	case errors.Is(err, errHalted):
		r.end(ph, "failed", r.stop)
		verdict, reason = chaoswire.VerdictAborted, r.stop
	case why != "":
		r.end(ph, "failed", why)
		verdict, reason = chaoswire.VerdictAborted, "abortWhen held: "+why
	default:
		r.end(ph, "ok", "")
	}
}

// observe runs probes every interval until the fault's duration is over.
func (r *experimentRun) observe(injected time.Time) (string, error) {
	spec := &r.plan.Experiment.Spec
	ctx := r.ctx
	end := injected.Add(spec.Duration.D())
	for {
		if r.stopped() {
			return "", errHalted
		}
		now := workflow.Now(ctx)
		if !now.Before(end) {
			return "", nil
		}
		wait := spec.Interval.D()
		if left := end.Sub(now); left < wait {
			wait = left
		}
		tctx, cancel := workflow.WithCancel(ctx)
		timer := workflow.NewTimer(tctx, wait)
		// Wake at the tick, or as soon as a halt or abort arrives.
		_ = workflow.Await(ctx, func() bool { return timer.IsReady() || r.stop != "" })
		cancel()
		if r.stopped() {
			return "", errHalted
		}
		if !workflow.Now(ctx).Before(end) {
			return "", nil
		}
		vals := r.probe(chaoswire.SampleDuring)
		if r.plan.AbortWhen == nil {
			continue
		}
		vars := map[string]any{plan.VarProbes: vals, plan.VarElapsed: workflow.Now(ctx).Sub(injected)}
		hit, err := r.plan.AbortWhen.EvalBool(vars)
		r.record(chaoswire.PhaseObserve, r.plan.AbortWhen, vars, hit, err)
		if err == nil && hit {
			return describeInputs(r.plan.AbortWhen, vars), nil
		}
	}
}

// rollback deletes the resource and waits until it is gone; false means it
// is still there after the recovery timeout.
func (r *experimentRun) rollback(obj actions.ChaosObject) bool {
	spec := &r.plan.Experiment.Spec
	ph := r.begin(chaoswire.PhaseRollback)
	if err := r.chaos(actions.ChaosDelete, obj, time.Minute, nil); err != nil {
		r.end(ph, "failed", "delete: "+errText(err))
		return false
	}
	// A PodChaos's targets are checked too once it is gone: Chaos Mesh can
	// leave a pod-failure's pause image on a pod another pod-failure
	// overlapped (the activity puts the pod's own image back).
	until, targets := actions.UntilGone, []actions.ChaosRecord(nil)
	if obj.Kind == "PodChaos" && len(r.state.Targets) > 0 &&
		workflow.GetVersion(r.ctx, "chaos-restore-targets", workflow.DefaultVersion, 1) == 1 {
		until, targets = actions.UntilRestored, r.state.Targets
	}
	var aw actions.ChaosAwaitResult
	err := r.chaos(actions.ChaosAwait, actions.ChaosAwaitRequest{Object: obj, Until: until, Timeout: spec.RecoveryTimeout.D(), Targets: targets},
		spec.RecoveryTimeout.D()+30*time.Second, &aw)
	if err != nil || !aw.Reached {
		detail := "still present after " + spec.RecoveryTimeout.String()
		if err != nil {
			detail = errText(err)
		} else if len(aw.State.Finalizers) > 0 {
			detail += " (finalizers: " + strings.Join(aw.State.Finalizers, ", ") + ")"
		}
		r.end(ph, "failed", detail)
		return false
	}
	now := workflow.Now(r.ctx)
	r.state.RecoveredAt = &now
	detail := fmt.Sprintf("%s %s/%s deleted and gone", obj.Kind, obj.Namespace, obj.Name)
	if len(aw.Repaired) > 0 {
		detail += fmt.Sprintf("; Chaos Mesh had left the fault on %s: its image restored from the ReplicaSet's template", strings.Join(aw.Repaired, ", "))
	}
	r.end(ph, "ok", detail)
	return true
}

// escalate reports a fault that would not go away to Slack and PagerDuty.
func (r *experimentRun) escalate(obj actions.ChaosObject) {
	ph := r.begin(chaoswire.PhaseEscalate)
	st := r.state
	text := fmt.Sprintf(":rotating_light: Chaos experiment *%s* (%s) could not verify that its fault was removed: %s %s/%s is still present after %s. Remove it by hand (check its finalizers) and confirm the targets recovered.",
		st.Experiment, st.ID, obj.Kind, obj.Namespace, obj.Name, r.plan.Experiment.Spec.RecoveryTimeout)
	var done []string
	var failed []string
	if ch := r.channel(); ch != "" {
		if err := r.action(actions.SlackPost, "escalate-slack", map[string]any{"channel": ch, "text": text}); err != nil {
			failed = append(failed, "slack: "+errText(err))
		} else {
			done = append(done, "Slack "+ch)
		}
	}
	if r.in.Escalation.Page {
		err := r.action(actions.PagerDutyTrigger, "escalate-page", map[string]any{
			"summary":  fmt.Sprintf("Chaos fault not removed: %s %s/%s (experiment %s)", obj.Kind, obj.Namespace, obj.Name, st.Experiment),
			"severity": "critical", "source": "firebreak", "component": st.Experiment, "dedupKey": st.ID + "/escalate",
		})
		if err != nil {
			failed = append(failed, "pagerduty: "+errText(err))
		} else {
			done = append(done, "PagerDuty")
		}
	}
	detail := "notified " + strings.Join(done, ", ")
	if len(done) == 0 {
		detail = "no escalation channel configured"
	}
	if len(failed) > 0 {
		detail += "; failed: " + strings.Join(failed, "; ")
	}
	r.end(ph, map[bool]string{true: "ok", false: "failed"}[len(done) > 0], detail)
}

func (r *experimentRun) channel() string {
	if r.plan == nil {
		// Not compiled: only the input's experiment is known.
		if n := r.in.Experiment.Spec.Notify; n != nil && n.Slack != nil && n.Slack.Channel != "" {
			return n.Slack.Channel
		}
		return r.in.Escalation.SlackChannel
	}
	if n := r.plan.Experiment.Spec.Notify; n != nil && n.Slack != nil && n.Slack.Channel != "" {
		return n.Slack.Channel
	}
	return r.in.Escalation.SlackChannel
}

// preconditions evaluates every precondition over the gathered context.
func (r *experimentRun) preconditions() (bool, string) {
	spec := &r.plan.Experiment.Spec
	now := workflow.Now(r.ctx)
	c := map[string]any{plan.CtxNow: now, plan.CtxFreezeWindows: []any{}, plan.CtxInFreeze: false}
	var cr actions.ExperimentContextResult
	if err := r.chaos(actions.ExperimentContext, struct{}{}, 30*time.Second, &cr); err != nil {
		return false, "could not read the incident context: " + errText(err)
	}
	c[plan.CtxOpenIncidents] = int64(cr.OpenIncidents)
	if sc := spec.Context; sc != nil {
		var active []any
		for _, w := range sc.FreezeWindows {
			if inWindow(w, now) {
				active = append(active, w.Name)
			}
		}
		if len(active) > 0 {
			c[plan.CtxFreezeWindows] = active
			c[plan.CtxInFreeze] = true
		}
		if eb := sc.ErrorBudget; eb != nil {
			v, err := r.promValue("error-budget", eb.Query)
			if err != nil {
				return false, "error budget query failed: " + errText(err)
			}
			c[plan.CtxErrorBudget] = v
		}
	}
	vars := map[string]any{plan.VarContext: c}
	for _, prg := range r.plan.Preconditions {
		ok, err := prg.EvalBool(vars)
		r.record(chaoswire.PhasePreconditions, prg, vars, ok, err)
		if err != nil {
			return false, fmt.Sprintf("precondition %s: %v", prg.Expr, err)
		}
		if !ok {
			return false, fmt.Sprintf("precondition %s is false (%s)", prg.Expr, describeInputs(prg, vars))
		}
	}
	return true, ""
}

// inWindow reports whether a freeze window started within its duration
// before now.
func inWindow(w plan.FreezeWindow, now time.Time) bool {
	sched, err := cron.ParseStandard(w.Schedule)
	if err != nil {
		return false
	}
	start := sched.Next(now.Add(-w.Duration.D()))
	return !start.After(now)
}

// steady runs the probes and evaluates the steady-state condition; without
// one, steady means every probe answered.
func (r *experimentRun) steady(phase string) (bool, string) {
	vals := r.probe(phase)
	if r.plan.SteadyState == nil {
		var bad []string
		for _, p := range r.plan.Experiment.Spec.Probes {
			samples := r.state.Probes[p.Name]
			if n := len(samples); n > 0 && samples[n-1].Error != "" {
				bad = append(bad, p.Name+": "+samples[n-1].Error)
			}
		}
		return len(bad) == 0, strings.Join(bad, "; ")
	}
	vars := map[string]any{plan.VarProbes: vals, plan.VarElapsed: time.Duration(0)}
	ok, err := r.plan.SteadyState.EvalBool(vars)
	r.record(phase, r.plan.SteadyState, vars, ok, err)
	if err != nil {
		return false, fmt.Sprintf("%s: %v", r.plan.SteadyState.Expr, err)
	}
	if !ok {
		return false, fmt.Sprintf("%s is false (%s)", r.plan.SteadyState.Expr, describeInputs(r.plan.SteadyState, vars))
	}
	return true, ""
}

// probe runs every probe at once and records the readings.
func (r *experimentRun) probe(phase string) map[string]any {
	probes := r.plan.Experiment.Spec.Probes
	futures := make([]workflow.Future, len(probes))
	for i := range probes {
		p := &probes[i]
		name, with, refs := probeAction(p)
		futures[i] = r.execWith(name, "probe-"+p.Name, with, refs, 30*time.Second, 2)
	}
	vals := make(map[string]any, len(probes))
	now := workflow.Now(r.ctx)
	for i := range probes {
		p := &probes[i]
		var res actions.Result
		err := futures[i].Get(r.ctx, &res)
		sample := chaoswire.ProbeSample{At: now, Phase: phase}
		switch {
		case err != nil:
			sample.Error = errText(err)
			if p.Prometheus != nil {
				vals[p.Name] = math.NaN()
			}
		default:
			v, shown, perr := probeValue(p, res.Output)
			if perr != "" {
				sample.Error = perr
			}
			sample.Value = shown
			vals[p.Name] = v
		}
		r.state.Probes[p.Name] = append(r.state.Probes[p.Name], sample)
	}
	return vals
}

// probeAction is the action and with: of a probe, and where its headers
// hold secret references (written canonically, for the activity to
// resolve).
func probeAction(p *plan.Probe) (string, map[string]any, []secrets.Path) {
	switch {
	case p.Prometheus != nil:
		return actions.PrometheusQuery, map[string]any{"query": p.Prometheus.Query}, nil
	case p.HTTP != nil:
		var refs []secrets.Path
		with := map[string]any{"url": p.HTTP.URL, "expectedStatus": "any"}
		if p.HTTP.Method != "" {
			with["method"] = p.HTTP.Method
		}
		if len(p.HTTP.Headers) > 0 {
			h := map[string]any{}
			//workflowcheck:ignore builds a map
			for k, v := range p.HTTP.Headers {
				h[k] = v
				if c, ok, err := secrets.Canonical(v); err == nil && ok {
					h[k] = c
					refs = append(refs, secrets.Path{"headers", k})
				}
			}
			with["headers"] = h
			// Sorted, so the activity input is the same on every replay.
			slices.SortFunc(refs, func(a, b secrets.Path) int { return strings.Compare(a[1], b[1]) })
		}
		if p.HTTP.Timeout > 0 {
			with["timeout"] = p.HTTP.Timeout.String()
		}
		return actions.HTTPRequest, with, refs
	}
	k := p.Kubernetes
	with := map[string]any{"apiVersion": k.APIVersion, "kind": k.Kind, "name": k.Name}
	if k.Namespace != "" {
		with["namespace"] = k.Namespace
	}
	return actions.KubernetesGet, with, nil
}

// probeValue turns an action's output into the probe's CEL value and the
// value recorded (NaN is not JSON, so it is recorded as an error).
func probeValue(p *plan.Probe, out any) (cel any, shown any, errText string) {
	m, _ := out.(map[string]any)
	switch {
	case p.Prometheus != nil:
		f, ok := m["value"].(float64)
		if !ok {
			return math.NaN(), nil, "no data"
		}
		return f, f, ""
	case p.HTTP != nil:
		status, _ := m["status"].(float64)
		v := map[string]any{"status": int64(status), "ok": status >= 200 && status < 400, "latencyMs": m["latencyMs"]}
		if j, ok := m["json"]; ok {
			v["json"] = j
		}
		return v, v, ""
	}
	return m, m, ""
}

// promValue runs one PromQL query for the context.
func (r *experimentRun) promValue(step, query string) (float64, error) {
	var res actions.Result
	if err := r.exec(actions.PrometheusQuery, step, map[string]any{"query": query}, 30*time.Second, 3).Get(r.ctx, &res); err != nil {
		return 0, err
	}
	m, _ := res.Output.(map[string]any)
	f, ok := m["value"].(float64)
	if !ok {
		return math.NaN(), nil
	}
	return f, nil
}

func (r *experimentRun) exec(action, step string, with map[string]any, timeout time.Duration, attempts int32) workflow.Future {
	return r.execWith(action, step, with, nil, timeout, attempts)
}

// execWith is exec for a with: holding secret references at refs.
func (r *experimentRun) execWith(action, step string, with map[string]any, refs []secrets.Path, timeout time.Duration, attempts int32) workflow.Future {
	actx := workflow.WithActivityOptions(r.ctx, workflow.ActivityOptions{
		StartToCloseTimeout: timeout,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 500 * time.Millisecond, MaximumAttempts: attempts},
	})
	return workflow.ExecuteActivity(actx, action, actions.Request{RunID: r.state.ID, Runbook: r.state.Experiment, Step: step, With: with, Secrets: refs})
}

// action runs a runbook-style action once its retries are spent.
func (r *experimentRun) action(action, step string, with map[string]any) error {
	return r.exec(action, step, with, time.Minute, 5).Get(r.ctx, nil)
}

// chaos calls a typed chaos activity; retries go on until the timeout.
func (r *experimentRun) chaos(name string, req any, timeout time.Duration, out any) error {
	actx := workflow.WithActivityOptions(r.ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    timeout,
		ScheduleToCloseTimeout: timeout + 2*time.Minute,
		HeartbeatTimeout:       20 * time.Second,
		RetryPolicy:            &temporal.RetryPolicy{InitialInterval: 250 * time.Millisecond, BackoffCoefficient: 2, MaximumInterval: 5 * time.Second},
	})
	return workflow.ExecuteActivity(actx, name, req).Get(actx, out)
}

func (r *experimentRun) record(phase string, prg *guard.Program, vars map[string]any, result bool, err error) {
	c := chaoswire.Check{Phase: phase, Expr: prg.Expr, Result: result, Inputs: jsonSafe(prg.Inputs(vars)), At: workflow.Now(r.ctx)}
	if err != nil {
		c.Error = err.Error()
	}
	r.state.Checks = append(r.state.Checks, c)
}

func (r *experimentRun) begin(name string) int {
	r.state.Phases = append(r.state.Phases, chaoswire.Phase{Name: name, Status: "running", At: workflow.Now(r.ctx)})
	return len(r.state.Phases) - 1
}

func (r *experimentRun) end(i int, status, detail string) {
	now := workflow.Now(r.ctx)
	p := &r.state.Phases[i]
	p.Status, p.Detail, p.Ended = status, detail, &now
}

func (r *experimentRun) finish(verdict, reason string) {
	st := r.state
	if st.Status == chaoswire.ExperimentCompleted {
		return
	}
	now := workflow.Now(r.ctx)
	st.Status, st.Verdict, st.Reason, st.EndedAt = chaoswire.ExperimentCompleted, verdict, reason, &now
	if ch := r.channel(); ch != "" && r.in.GameDay == "" {
		ph := r.begin(chaoswire.PhaseReport)
		err := r.action(actions.SlackPost, "report", map[string]any{"channel": ch, "text": chaoswire.ExperimentSummary(st)})
		if err != nil {
			r.end(ph, "failed", errText(err))
		} else {
			r.end(ph, "ok", "posted to "+ch)
		}
	}
}

// checkBlastRadius compares the pods Chaos Mesh injected with the policy.
func checkBlastRadius(spec *plan.Spec, recs []actions.ChaosRecord) string {
	allowed := map[string]bool{}
	for _, ns := range spec.BlastRadius.Namespaces {
		allowed[ns] = true
	}
	var outside []string
	for _, rec := range recs {
		if rec.Namespace != "" && !allowed[rec.Namespace] {
			outside = append(outside, rec.ID)
		}
	}
	if len(outside) > 0 {
		sort.Strings(outside)
		return fmt.Sprintf("%d target(s) outside the allowed namespaces: %s", len(outside), strings.Join(outside, ", "))
	}
	limit := spec.BlastRadius.MaxPods
	if spec.Target.Mode == plan.ModeOne && (limit == 0 || limit > 1) {
		limit = 1
	}
	if limit > 0 && len(recs) > limit {
		return fmt.Sprintf("%d targets injected, the policy allows %d", len(recs), limit)
	}
	return ""
}

// describeInputs lists what a condition read, for reasons.
func describeInputs(prg *guard.Program, vars map[string]any) string {
	in := prg.Inputs(vars)
	keys := make([]string, 0, len(in))
	//workflowcheck:ignore keys are sorted below
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%v", k, in[k]))
	}
	return strings.Join(parts, ", ")
}

// jsonSafe drops values JSON cannot carry (NaN, infinities).
func jsonSafe(m map[string]any) map[string]any {
	//workflowcheck:ignore rewrites values in place; order does not matter
	for k, v := range m {
		if f, ok := v.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
			m[k] = fmt.Sprint(f)
		}
	}
	return m
}

func errText(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Message()
	}
	var te *temporal.TimeoutError
	if errors.As(err, &te) {
		return "timed out"
	}
	return err.Error()
}
