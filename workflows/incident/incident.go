// Package incident holds the incident workflows: IncidentWorkflow (the
// record, its Slack channel and summary, chaos halts, paging),
// IncidentCounterWorkflow (incident numbers) and PostmortemWorkflow. Their
// wire types are in workflows/wire/incident.
package incident

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/firebreak-ops/firebreak/activities/actions"
	"github.com/firebreak-ops/firebreak/internal/names"
	"github.com/firebreak-ops/firebreak/workflows/internal/wfutil"
	chaoswire "github.com/firebreak-ops/firebreak/workflows/wire/chaos"
	incidentwire "github.com/firebreak-ops/firebreak/workflows/wire/incident"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// Bounds of an incident workflow.
const (
	// DefaultIncidentEvents is how many commands and events one workflow
	// run takes before it continues as new.
	DefaultIncidentEvents = 1000
	// maxTimeline bounds the timeline (oldest entries go first) and
	// maxEntryText each entry's text, so the record stays well inside
	// Temporal's payload limit (2 MB) whatever happens; maxAutomation and
	// maxIncidentAlerts bound the other lists the same way.
	maxTimeline       = 1500
	maxEntryText      = 1000
	maxAutomation     = 500
	maxIncidentAlerts = 200
	// summaryEntries is how many recent entries the Slack summary shows.
	summaryEntries = 5
)

// incident is one run of an incident workflow.
type incident struct {
	inc *incidentwire.Incident
	set incidentwire.IncidentSettings
	// events counts commands and events in this run, for continue-as-new.
	events int
	// halts are chaos halts still to send: the reason of each.
	halts []chaosHaltRequest
	// version counts changes; sent is the version the Slack summary shows.
	version, sent int
	closing       bool
	// bounded is set for incidents that took the versioned change
	// boundedRecordChange: every field is clipped to its byte cap, the
	// record's lists keep within byte budgets, and commands answer with a
	// CommandResult instead of the whole record.
	bounded bool
	// last is the entry the command being applied recorded.
	last *incidentwire.TimelineEntry
}

// boundedRecordChange versions the bounded record (see incident.bounded);
// incidents that started before it keep their old behaviour on replay.
const boundedRecordChange = "incident-bounded-record"

type chaosHaltRequest struct{ reason, by string }

// IncidentWorkflow is one incident: it keeps the record (fields, roles,
// links, timeline) that every command, run, approval and webhook of the
// incident reports into, keeps a Slack channel's pinned summary in step
// with it, halts chaos on SEV1/SEV2, and on resolve writes the postmortem
// from the record through PostmortemWorkflow. Long incidents continue as
// new, carrying the whole record.
func IncidentWorkflow(ctx workflow.Context, in incidentwire.IncidentInput) (*incidentwire.Incident, error) {
	r := &incident{inc: &in.Incident, set: in.Settings}
	r.bounded = workflow.GetVersion(ctx, boundedRecordChange, workflow.DefaultVersion, 1) >= 1
	if r.set.MaxEvents <= 0 {
		r.set.MaxEvents = DefaultIncidentEvents
	}
	if r.inc.Timeline == nil {
		r.inc.Timeline = []incidentwire.TimelineEntry{}
	}
	// The record is complete before any command can see it: updates that
	// arrive with the start run as soon as their handler is set.
	if in.Request != nil {
		r.declare(ctx, *in.Request)
	}
	if err := workflow.SetQueryHandler(ctx, names.IncidentQuery, func() (*incidentwire.Incident, error) { return r.inc, nil }); err != nil {
		return nil, err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, names.IncidentCommandUpdate, r.command,
		workflow.UpdateHandlerOptions{Validator: r.validate}); err != nil {
		return nil, err
	}
	events := workflow.GetSignalChannel(ctx, names.IncidentEventSignal)
	workflow.Go(ctx, func(gctx workflow.Context) {
		for {
			var ev incidentwire.IncidentEvent
			if !events.Receive(gctx, &ev) {
				return
			}
			r.apply(ev)
		}
	})

	if in.Request != nil {
		r.announce(ctx, *in.Request)
	}
	r.sync(ctx)

	notifierDone := func() bool { return true }
	if r.set.Slack {
		notifierDone = wfutil.GoDisconnected(ctx, r.notifier)
	}
	if in.Request != nil && r.set.Slack && r.inc.Slack == nil {
		r.createChannel(ctx)
	}

	for {
		if err := workflow.Await(ctx, func() bool {
			return len(r.halts) > 0 || r.inc.Done() || r.events >= r.set.MaxEvents ||
				workflow.GetInfo(ctx).GetContinueAsNewSuggested()
		}); err != nil {
			return r.inc, err
		}
		if len(r.halts) > 0 {
			h := r.halts[0]
			r.halts = r.halts[1:]
			r.haltChaos(ctx, h)
			continue
		}
		break
	}
	// Take what arrived meanwhile before leaving this run.
	for {
		var ev incidentwire.IncidentEvent
		if !events.ReceiveAsync(&ev) {
			break
		}
		r.apply(ev)
	}
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return r.inc, err
	}
	if r.inc.Done() {
		r.postmortem(ctx)
		r.sync(ctx)
	}
	// Let the summary show the last state, without holding the incident.
	r.closing = true
	_, _ = workflow.AwaitWithTimeout(ctx, time.Minute, notifierDone)
	if r.inc.Done() {
		return r.inc, nil
	}
	next := *r.inc
	next.Generation++
	return r.inc, workflow.NewContinueAsNewError(ctx, names.IncidentWorkflow, incidentwire.IncidentInput{Incident: next, Settings: in.Settings})
}

// declare fills in the record from the declaration.
func (r *incident) declare(ctx workflow.Context, req incidentwire.DeclareRequest) {
	now := workflow.Now(ctx).UTC()
	inc := r.inc
	if r.bounded {
		req = clipDeclare(req)
	}
	inc.Title, inc.Severity, inc.Status = req.Title, req.Severity, incidentwire.IncidentInvestigating
	inc.Commander, inc.Services, inc.Responders = req.Commander, req.Services, req.Responders
	if r.bounded {
		for _, l := range req.Links {
			r.addLink(l)
		}
	} else {
		inc.Links = append(inc.Links, req.Links...)
	}
	inc.DeclaredBy, inc.DeclaredAt, inc.DetectedAt, inc.StartedAt = req.DeclaredBy, now, now, now
	if req.StartedAt != nil && req.StartedAt.Before(now) {
		inc.StartedAt = req.StartedAt.UTC()
	}
	if inc.Commander != "" {
		inc.Roles = map[string]string{incidentwire.RoleCommander: inc.Commander}
	}
	for _, run := range req.Runs {
		if !slices.Contains(inc.Runs, run) {
			inc.Runs = append(inc.Runs, run)
		}
	}
	text := fmt.Sprintf("%s declared: %s", strings.ToUpper(inc.Severity), inc.Title)
	if inc.Commander != "" {
		text += "; commander " + inc.Commander
	}
	if len(inc.Services) > 0 {
		text += "; services " + strings.Join(inc.Services, ", ")
	}
	r.record(incidentwire.TimelineEntry{At: now, Kind: incidentwire.TimelineDeclared, By: req.DeclaredBy, Source: req.Source, Text: text})
	if req.PagerDutyIncident != "" {
		r.addLink(incidentwire.Link{Kind: incidentwire.LinkPagerDuty, ID: req.PagerDutyIncident, Title: "PagerDuty incident " + req.PagerDutyIncident})
		r.record(incidentwire.TimelineEntry{At: now, Kind: incidentwire.TimelineLink, By: req.DeclaredBy, Text: "linked PagerDuty incident " + req.PagerDutyIncident, Ref: req.PagerDutyIncident})
	}
}

// announce does what a declaration does beyond the record: halt chaos for
// SEV1/SEV2 and page when asked.
func (r *incident) announce(ctx workflow.Context, req incidentwire.DeclareRequest) {
	inc := r.inc
	if incidentwire.HaltsChaos(inc.Severity) && !r.set.NoChaosHalt {
		r.haltChaos(ctx, chaosHaltRequest{reason: fmt.Sprintf("%s %s declared", inc.ID, inc.Severity), by: req.DeclaredBy})
	}
	if req.Page {
		r.page(ctx, req.DeclaredBy)
	}
}

// page triggers a PagerDuty incident for this incident, deduplicated on
// its ID, and links it.
func (r *incident) page(ctx workflow.Context, by string) {
	now := workflow.Now(ctx).UTC()
	if !r.set.CanPage {
		r.record(incidentwire.TimelineEntry{At: now, Kind: incidentwire.TimelinePagerDuty, By: by, Text: "not paged: no PagerDuty routing key is configured (pagerduty.routingKey)"})
		return
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 2 * time.Second, BackoffCoefficient: 2, MaximumAttempts: 5},
		Summary:             "page",
	})
	severity := "error"
	if r.inc.Severity == incidentwire.SeverityCritical {
		severity = "critical"
	}
	err := workflow.ExecuteActivity(actx, actions.PagerDutyTrigger, actions.Request{
		RunID: names.IncidentWorkflowID(r.inc.ID), Step: "page",
		With: map[string]any{
			"summary":  r.inc.ID + ": " + r.inc.Title,
			"severity": severity, "dedupKey": r.inc.ID, "source": "firebreak",
		},
	}).Get(ctx, nil)
	now = workflow.Now(ctx).UTC()
	if err != nil {
		r.record(incidentwire.TimelineEntry{At: now, Kind: incidentwire.TimelinePagerDuty, By: by, Text: "paging failed: " + wfutil.ActionMessage(err, 30*time.Second)})
		return
	}
	r.addLink(incidentwire.Link{Kind: incidentwire.LinkPagerDuty, ID: r.inc.ID, Title: "PagerDuty alert " + r.inc.ID})
	r.record(incidentwire.TimelineEntry{At: now, Kind: incidentwire.TimelinePagerDuty, By: by, Text: "paged through PagerDuty (dedup key " + r.inc.ID + ")", Ref: r.inc.ID})
}

// addLink adds a link the incident does not have yet; a bounded incident
// keeps its links within MaxRecordLinks and MaxLinksBytes and says whether
// the link was kept.
func (r *incident) addLink(l incidentwire.Link) bool {
	if r.bounded {
		l = incidentwire.ClipLink(l)
	}
	for _, have := range r.inc.Links {
		if have.Kind == l.Kind && have.ID == l.ID && have.URL == l.URL {
			return true
		}
	}
	if r.bounded && !incidentwire.FitsLinks(r.inc.Links, l) {
		return false
	}
	r.inc.Links = append(r.inc.Links, l)
	return true
}

// clipDeclare clips a declaration's fields to their caps (the API refuses
// longer ones; this holds whatever reaches the workflow).
func clipDeclare(req incidentwire.DeclareRequest) incidentwire.DeclareRequest {
	req.Title = incidentwire.ClipText(req.Title, incidentwire.MaxTitleBytes)
	req.Commander = incidentwire.ClipText(req.Commander, incidentwire.MaxNameBytes)
	req.DeclaredBy = incidentwire.ClipText(req.DeclaredBy, incidentwire.MaxNameBytes)
	req.Source = incidentwire.ClipText(req.Source, incidentwire.MaxSourceBytes)
	req.PagerDutyIncident = incidentwire.ClipText(req.PagerDutyIncident, incidentwire.MaxPagerDutyBytes)
	req.Services = clipList(req.Services, incidentwire.MaxServices, incidentwire.MaxServiceBytes)
	req.Responders = clipList(req.Responders, incidentwire.MaxResponders, incidentwire.MaxNameBytes)
	req.Runs = clipList(req.Runs, incidentwire.MaxRuns, incidentwire.MaxRunBytes)
	if len(req.Links) > incidentwire.MaxLinks {
		req.Links = req.Links[:incidentwire.MaxLinks]
	}
	return req
}

func clipList(list []string, n, size int) []string {
	if len(list) > n {
		list = list[:n]
	}
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = incidentwire.ClipText(s, size)
	}
	return out
}

// haltChaos halts every chaos experiment through the chaos workflow. A
// namespace without one has nothing to halt; that is recorded too.
func (r *incident) haltChaos(ctx workflow.Context, h chaosHaltRequest) {
	err := workflow.SignalExternalWorkflow(ctx, names.ChaosWorkflowID, "", names.ChaosHaltSignal,
		chaoswire.ChaosHalt{Reason: h.reason, By: h.by, At: workflow.Now(ctx).UTC()}).Get(ctx, nil)
	now := workflow.Now(ctx).UTC()
	var unknown *temporal.UnknownExternalWorkflowExecutionError
	switch {
	case err == nil:
		r.inc.ChaosHalted = true
		r.record(incidentwire.TimelineEntry{At: now, Kind: incidentwire.TimelineChaos, By: h.by, Text: "chaos halted: " + h.reason, Ref: names.ChaosWorkflowID})
	case errors.As(err, &unknown):
		r.record(incidentwire.TimelineEntry{At: now, Kind: incidentwire.TimelineChaos, By: h.by, Text: "chaos not halted: no chaos workflow is running", Ref: names.ChaosWorkflowID})
	default:
		r.record(incidentwire.TimelineEntry{At: now, Kind: incidentwire.TimelineChaos, By: h.by, Text: "chaos halt failed: " + err.Error(), Ref: names.ChaosWorkflowID})
	}
}

// record appends a timeline entry, keeping the timeline in time order
// (events from elsewhere may arrive after later entries).
func (r *incident) record(e incidentwire.TimelineEntry) {
	e.At = e.At.UTC()
	if t := []rune(e.Text); len(t) > maxEntryText {
		e.Text = string(t[:maxEntryText-1]) + "…"
	}
	if r.bounded {
		e = incidentwire.ClipEntry(e)
		r.last = &e
	}
	tl := r.inc.Timeline
	i := len(tl)
	for i > 0 && tl[i-1].At.After(e.At) {
		i--
	}
	r.inc.Timeline = slices.Insert(tl, i, e)
	if over := len(r.inc.Timeline) - maxTimeline; over > 0 {
		r.inc.Timeline = append([]incidentwire.TimelineEntry(nil), r.inc.Timeline[over:]...)
	}
	if r.bounded {
		r.inc.Timeline = incidentwire.TrimTimeline(r.inc.Timeline)
	}
	r.version++
}

// validate rejects commands that cannot apply, before they enter history.
func (r *incident) validate(_ workflow.Context, c incidentwire.IncidentCommand) error {
	reject := func(format string, args ...any) error {
		return temporal.NewApplicationError(fmt.Sprintf(format, args...), runwire.RejectInvalid)
	}
	if strings.TrimSpace(c.By) == "" {
		return reject("a command must say who gives it (by)")
	}
	if r.inc.Done() {
		return temporal.NewApplicationError(fmt.Sprintf("incident %s is resolved", r.inc.ID), incidentwire.RejectIncidentResolved)
	}
	switch c.Kind {
	case incidentwire.CommandStatus:
		if !slices.Contains(incidentwire.IncidentStatuses, c.Status) {
			return reject("status must be one of %s, not %q", strings.Join(incidentwire.IncidentStatuses, ", "), c.Status)
		}
		if c.Status == r.inc.Status {
			return temporal.NewApplicationError(fmt.Sprintf("incident %s is already %s", r.inc.ID, c.Status), runwire.RejectNotWaiting)
		}
	case incidentwire.CommandSeverity:
		if !slices.Contains(incidentwire.Severities, c.Severity) {
			return reject("severity must be one of %s, not %q", strings.Join(incidentwire.Severities, ", "), c.Severity)
		}
		if c.Severity == r.inc.Severity {
			return temporal.NewApplicationError(fmt.Sprintf("incident %s is already %s", r.inc.ID, c.Severity), runwire.RejectNotWaiting)
		}
	case incidentwire.CommandRole:
		if !slices.Contains(incidentwire.IncidentRoles, c.Role) {
			return reject("role must be one of %s, not %q", strings.Join(incidentwire.IncidentRoles, ", "), c.Role)
		}
		if strings.TrimSpace(c.User) == "" {
			return reject("say who takes the %s role (user)", c.Role)
		}
	case incidentwire.CommandNote, incidentwire.CommandActionItem:
		if strings.TrimSpace(c.Text) == "" {
			return reject("a %s needs text", c.Kind)
		}
	case incidentwire.CommandLink:
		if c.Link == nil || (c.Link.URL == "" && c.Link.ID == "") {
			return reject("a link needs a url or an id")
		}
	case incidentwire.CommandResolve:
	default:
		return reject("unknown command %q", c.Kind)
	}
	return nil
}

// command applies a person's command and answers with a CommandResult
// (a bounded incident) or the incident as it is (one that started before
// boundedRecordChange).
func (r *incident) command(ctx workflow.Context, c incidentwire.IncidentCommand) (any, error) {
	if err := r.validate(ctx, c); err != nil {
		return nil, err
	}
	r.events++
	if r.bounded {
		c = clipCommand(c)
		r.last = nil
	}
	now := workflow.Now(ctx).UTC()
	e := incidentwire.TimelineEntry{At: now, By: c.By, Source: c.Source}
	switch c.Kind {
	case incidentwire.CommandStatus:
		if c.Status == incidentwire.IncidentResolved {
			r.resolve(now, c)
			break
		}
		e.Kind, e.Text = incidentwire.TimelineStatus, fmt.Sprintf("status %s → %s", r.inc.Status, c.Status)
		if c.Text != "" {
			e.Text += ": " + c.Text
		}
		r.inc.Status = c.Status
		r.acknowledge(now)
		if c.Status == incidentwire.IncidentMitigated && r.inc.MitigatedAt == nil {
			r.inc.MitigatedAt = &now
		}
		r.record(e)
	case incidentwire.CommandSeverity:
		old := r.inc.Severity
		r.inc.Severity = c.Severity
		e.Kind, e.Text = incidentwire.TimelineSeverity, fmt.Sprintf("severity %s → %s", old, c.Severity)
		if c.Text != "" {
			e.Text += ": " + c.Text
		}
		r.record(e)
		if incidentwire.HaltsChaos(c.Severity) && !incidentwire.HaltsChaos(old) && !r.set.NoChaosHalt {
			r.halts = append(r.halts, chaosHaltRequest{reason: fmt.Sprintf("%s escalated to %s", r.inc.ID, c.Severity), by: c.By})
		}
	case incidentwire.CommandRole:
		if r.inc.Roles == nil {
			r.inc.Roles = map[string]string{}
		}
		r.inc.Roles[c.Role] = c.User
		if c.Role == incidentwire.RoleCommander {
			r.inc.Commander = c.User
		}
		e.Kind, e.Text = incidentwire.TimelineRole, fmt.Sprintf("%s is now %s", c.User, c.Role)
		r.record(e)
	case incidentwire.CommandNote:
		e.Kind, e.Text = incidentwire.TimelineNote, c.Text
		r.record(e)
	case incidentwire.CommandActionItem:
		r.inc.ActionItems = append(r.inc.ActionItems, c.Text)
		if r.bounded {
			r.inc.ActionItems = incidentwire.FitActionItems(r.inc.ActionItems)
		}
		e.Kind, e.Text = incidentwire.TimelineNote, "action item: "+c.Text
		r.record(e)
	case incidentwire.CommandLink:
		l := *c.Link
		if l.Kind == "" {
			l.Kind = incidentwire.LinkOther
		}
		if !r.addLink(l) {
			e.Kind, e.Text = incidentwire.TimelineLink, fmt.Sprintf("link not kept: the incident keeps at most %d links (%d KB)", incidentwire.MaxRecordLinks, incidentwire.MaxLinksBytes>>10)
			r.record(e)
			break
		}
		e.Kind, e.Text, e.Ref = incidentwire.TimelineLink, "linked "+linkText(l), l.URL
		if e.Ref == "" {
			e.Ref = l.ID
		}
		r.record(e)
	case incidentwire.CommandResolve:
		r.resolve(now, c)
	}
	r.sync(ctx)
	if !r.bounded {
		return r.inc, nil
	}
	return &incidentwire.CommandResult{ID: r.inc.ID, Status: r.inc.Status, Severity: r.inc.Severity, Command: c.Kind, Entry: r.last}, nil
}

// clipCommand clips a command's fields to their caps.
func clipCommand(c incidentwire.IncidentCommand) incidentwire.IncidentCommand {
	c.By = incidentwire.ClipText(c.By, incidentwire.MaxNameBytes)
	c.User = incidentwire.ClipText(c.User, incidentwire.MaxNameBytes)
	c.Source = incidentwire.ClipText(c.Source, incidentwire.MaxSourceBytes)
	limit := incidentwire.MaxTextBytes
	if c.Kind == incidentwire.CommandResolve {
		limit = incidentwire.MaxSummaryBytes
	}
	c.Text = incidentwire.ClipText(c.Text, limit)
	if len(c.ActionItems) > incidentwire.MaxActionItems {
		c.ActionItems = c.ActionItems[:incidentwire.MaxActionItems]
	}
	return c
}

func linkText(l incidentwire.Link) string {
	switch {
	case l.Title != "" && l.URL != "":
		return fmt.Sprintf("%s %s (%s)", l.Kind, l.Title, l.URL)
	case l.URL != "":
		return l.Kind + " " + l.URL
	case l.Title != "":
		return l.Kind + " " + l.Title
	}
	return l.Kind + " " + l.ID
}

// acknowledge notes the first sign that a person is on it.
func (r *incident) acknowledge(now time.Time) {
	if r.inc.AcknowledgedAt == nil {
		r.inc.AcknowledgedAt = &now
	}
}

func (r *incident) resolve(now time.Time, c incidentwire.IncidentCommand) {
	r.acknowledge(now)
	if r.inc.MitigatedAt == nil {
		r.inc.MitigatedAt = &now
	}
	r.inc.ResolvedAt = &now
	r.inc.Status = incidentwire.IncidentResolved
	r.inc.Summary = c.Text
	r.inc.ActionItems = append(r.inc.ActionItems, c.ActionItems...)
	if r.bounded {
		r.inc.ActionItems = incidentwire.FitActionItems(r.inc.ActionItems)
	}
	text := "resolved"
	if c.Text != "" {
		text += ": " + c.Text
	}
	r.record(incidentwire.TimelineEntry{At: now, Kind: incidentwire.TimelineResolved, By: c.By, Source: c.Source, Text: text})
}

// apply records an event reported from elsewhere.
func (r *incident) apply(ev incidentwire.IncidentEvent) {
	r.events++
	inc := r.inc
	if r.bounded {
		ev = clipEvent(ev)
	}
	if ev.Run != "" && !slices.Contains(inc.Runs, ev.Run) && (!r.bounded || len(inc.Runs) < incidentwire.MaxRecordRuns) {
		inc.Runs = append(inc.Runs, ev.Run)
	}
	e := incidentwire.TimelineEntry{At: ev.At, Kind: ev.Kind, By: ev.By, Text: ev.Text, Ref: ev.Ref, Source: ev.Source}
	if ev.Kind == incidentwire.TimelinePagerDuty && ev.Ref != "" {
		// A webhook delivered twice is recorded once.
		for _, have := range inc.Timeline {
			if have.Kind == ev.Kind && have.Ref == ev.Ref {
				return
			}
		}
	}
	switch {
	case ev.Step != nil:
		if len(inc.Automation) >= maxAutomation {
			inc.Automation = inc.Automation[1:]
		}
		inc.Automation = append(inc.Automation, *ev.Step)
		if r.bounded {
			inc.Automation = incidentwire.TrimAutomation(inc.Automation)
		}
	case ev.Alert != nil:
		a := *ev.Alert
		if a.ReceivedAt.IsZero() {
			a.ReceivedAt = ev.At
		}
		for _, have := range inc.Alerts {
			if have.Source == a.Source && have.Fingerprint == a.Fingerprint && have.Status == a.Status {
				// A repeat of a known alert adds nothing to the record.
				return
			}
		}
		if len(inc.Alerts) < maxIncidentAlerts {
			inc.Alerts = append(inc.Alerts, a)
			if r.bounded {
				inc.Alerts = incidentwire.TrimAlerts(inc.Alerts)
			}
		}
		if !a.StartsAt.IsZero() && a.StartsAt.Before(inc.StartedAt) {
			inc.StartedAt = a.StartsAt.UTC()
		}
		if a.ReceivedAt.Before(inc.DetectedAt) {
			inc.DetectedAt = a.ReceivedAt.UTC()
		}
	case ev.Kind == incidentwire.TimelinePagerDuty && ev.PagerDutyType == "incident.acknowledged":
		r.acknowledge(ev.At.UTC())
	}
	r.record(e)
}

// clipEvent clips an event's fields to their caps.
func clipEvent(ev incidentwire.IncidentEvent) incidentwire.IncidentEvent {
	ev.Run = incidentwire.ClipText(ev.Run, incidentwire.MaxRunBytes)
	ev.PagerDutyType = incidentwire.ClipText(ev.PagerDutyType, 100)
	if ev.Step != nil {
		s := incidentwire.ClipStep(*ev.Step)
		ev.Step = &s
	}
	if ev.Alert != nil {
		a := incidentwire.ClipAlert(*ev.Alert)
		ev.Alert = &a
	}
	return ev
}

// sync mirrors what listings show into the memo and the status search
// attribute; a failure there must never fail the incident.
func (r *incident) sync(ctx workflow.Context) {
	inc := r.inc
	channel := ""
	if inc.Slack != nil {
		channel = inc.Slack.Channel
	}
	_ = workflow.UpsertMemo(ctx, map[string]any{
		names.MemoIncidentTitle: inc.Title, names.MemoIncidentSeverity: inc.Severity,
		names.MemoIncidentCommander: inc.Commander, names.MemoIncidentServices: inc.Services,
		names.MemoIncidentChannel: channel, names.MemoIncidentPagerDuty: inc.PagerDutyIncident(),
	})
	_ = workflow.UpsertTypedSearchAttributes(ctx, wfutil.StatusKey.ValueSet(inc.Status))
}

// createChannel creates the incident's channel and invites the
// commander, the responders and the standing invitees.
func (r *incident) createChannel(ctx workflow.Context) {
	var users []string
	for _, u := range append(append([]string{r.inc.Commander}, r.inc.Responders...), r.set.Invite...) {
		if u != "" && !slices.Contains(users, u) {
			users = append(users, u)
		}
	}
	name := names.IncidentChannelName(r.inc.ID, r.inc.Title)
	if workflow.GetVersion(ctx, channelYearChange, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		// Declared before channel names carried the year.
		name = names.IncidentChannelNameWithoutYear(r.inc.ID, r.inc.Title)
	}
	var res actions.Result
	err := workflow.ExecuteActivity(wfutil.SlackOptions(ctx, "incident channel"), actions.SlackIncidentChannel, actions.Request{
		RunID: names.IncidentWorkflowID(r.inc.ID), Step: "slack-channel",
		With: map[string]any{"name": name, "users": users, "topic": fmt.Sprintf("%s %s: %s", r.inc.ID, strings.ToUpper(r.inc.Severity), r.inc.Title)},
	}).Get(ctx, &res)
	now := workflow.Now(ctx).UTC()
	if err != nil {
		r.inc.Slack = &incidentwire.IncidentSlack{Name: name, Error: wfutil.ActionMessage(err, 20*time.Second)}
		r.record(incidentwire.TimelineEntry{At: now, Kind: incidentwire.TimelineSlack, By: "firebreak", Text: "could not create the Slack channel: " + r.inc.Slack.Error})
		return
	}
	var out struct {
		Channel    string   `json:"channel"`
		Name       string   `json:"name"`
		Invited    []string `json:"invited"`
		NotInvited []string `json:"notInvited"`
	}
	_ = decodeOutput(res.Output, &out) //workflowcheck:ignore JSON of an activity result is deterministic
	r.inc.Slack = &incidentwire.IncidentSlack{Channel: out.Channel, Name: out.Name}
	text := "created Slack channel #" + out.Name
	if len(out.Invited) > 0 {
		text += " and invited " + strings.Join(out.Invited, ", ")
	}
	if len(out.NotInvited) > 0 {
		text += "; could not invite " + strings.Join(out.NotInvited, ", ") + " (not Slack user IDs?)"
	}
	r.record(incidentwire.TimelineEntry{At: now, Kind: incidentwire.TimelineSlack, By: "firebreak", Text: text, Ref: out.Channel})
	r.sync(ctx)
}

// channelYearChange versions the year in incident channel names
// (inc-2026-0042-…, was inc-0042-…; see "Changing a workflow").
const channelYearChange = "incident-channel-year"

// decodeOutput converts an action's generic output into a struct.
func decodeOutput(out any, v any) error {
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// notifier keeps the pinned summary in step with the record: the newest
// state whenever it changed, one call at a time. Slack failures never
// touch the incident.
func (r *incident) notifier(ctx workflow.Context) {
	ctx = wfutil.SlackOptions(ctx, "incident summary")
	for {
		if err := workflow.Await(ctx, func() bool {
			return (r.version != r.sent && r.inc.Slack != nil && r.inc.Slack.Channel != "") || r.closing
		}); err != nil {
			return
		}
		if r.version == r.sent || r.inc.Slack == nil || r.inc.Slack.Channel == "" {
			return
		}
		v := r.version
		var res actions.Result
		err := workflow.ExecuteActivity(ctx, actions.SlackIncidentSummary, actions.Request{
			RunID: names.IncidentWorkflowID(r.inc.ID), Step: "slack-summary",
			With: map[string]any{"channel": r.inc.Slack.Channel, "ts": r.inc.Slack.SummaryTS, "incident": r.summaryView()},
		}).Get(ctx, &res)
		var out struct {
			TS string `json:"ts"`
		}
		if err == nil {
			_ = decodeOutput(res.Output, &out) //workflowcheck:ignore JSON of an activity result is deterministic
		}
		if out.TS != "" {
			r.inc.Slack.SummaryTS = out.TS
		}
		r.sent = v
	}
}

// summaryView is the record the summary message needs: everything but
// the older timeline.
func (r *incident) summaryView() incidentwire.Incident {
	v := *r.inc
	if n := len(v.Timeline); n > summaryEntries {
		v.Timeline = v.Timeline[n-summaryEntries:]
	}
	v.Automation, v.Alerts = nil, nil
	return v
}

// postmortem writes the postmortem through its own workflow, so it can be
// regenerated alone, and records where it went.
func (r *incident) postmortem(ctx workflow.Context) {
	channel := ""
	if r.inc.Slack != nil {
		channel = r.inc.Slack.Channel
	}
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            names.PostmortemWorkflowID(r.inc.ID),
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
		StaticSummary:         "postmortem of " + r.inc.ID,
	})
	var res incidentwire.PostmortemResult
	err := workflow.ExecuteChildWorkflow(cctx, names.PostmortemWorkflow, incidentwire.PostmortemInput{Incident: *r.inc, Channel: channel}).Get(ctx, &res)
	now := workflow.Now(ctx).UTC()
	if err != nil {
		r.inc.Postmortem = &incidentwire.PostmortemInfo{GeneratedAt: now, Error: err.Error()}
		r.record(incidentwire.TimelineEntry{At: now, Kind: incidentwire.TimelinePostmortem, By: "firebreak", Text: "postmortem failed: " + err.Error()})
		return
	}
	r.inc.Postmortem = &incidentwire.PostmortemInfo{Path: res.Path, GeneratedAt: res.GeneratedAt}
	r.record(incidentwire.TimelineEntry{At: now, Kind: incidentwire.TimelinePostmortem, By: "firebreak", Text: "postmortem written", Ref: res.Path})
}
