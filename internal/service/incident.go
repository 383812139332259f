package service

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/firebreak-ops/firebreak/internal/names"
	incidentwire "github.com/firebreak-ops/firebreak/workflows/wire/incident"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// Bounds of declarations.
const (
	maxTitle    = 200
	maxServices = 20
	// maxText bounds notes, the timeline's longest entries; a resolve
	// summary may be maxSummary long (the timeline shows its start).
	maxText    = 1000
	maxSummary = 8000
)

var serviceName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$`)

// validateDeclare checks a declaration and normalises it.
func (s *Service) validateDeclare(req *incidentwire.DeclareRequest) error {
	req.Title = strings.TrimSpace(req.Title)
	req.Severity = strings.ToLower(strings.TrimSpace(req.Severity))
	switch {
	case req.Title == "":
		return errorf(Invalid, "title", "title is required")
	case len(req.Title) > maxTitle:
		return errorf(Invalid, "title", "title is longer than %d characters", maxTitle)
	case req.Severity == "":
		return errorf(Invalid, "severity", "severity is required: one of %s", strings.Join(incidentwire.Severities, ", "))
	case !slices.Contains(incidentwire.Severities, req.Severity):
		return errorf(Invalid, "severity", "severity must be one of %s, not %q", strings.Join(incidentwire.Severities, ", "), req.Severity)
	case len(req.Services) > maxServices:
		return errorf(Invalid, "services", "at most %d services", maxServices)
	}
	for i, svc := range req.Services {
		if !serviceName.MatchString(svc) {
			return errorf(Invalid, fmt.Sprintf("services[%d]", i), "bad service name %q: letters, digits, . _ / -", svc)
		}
	}
	for i, l := range req.Links {
		if err := checkLink(l); err != nil {
			return errorf(Invalid, fmt.Sprintf("links[%d]", i), "%v", err)
		}
	}
	if req.StartedAt != nil && req.StartedAt.After(s.now().Add(time.Minute)) {
		return errorf(Invalid, "startedAt", "startedAt is in the future")
	}
	if req.Page && !s.Incidents.CanPage {
		return errorf(Invalid, "page", "paging needs a PagerDuty routing key (pagerduty.routingKey)")
	}
	return nil
}

func checkLink(l incidentwire.Link) error {
	switch l.Kind {
	case "", incidentwire.LinkPagerDuty, incidentwire.LinkDashboard, incidentwire.LinkOther:
	default:
		return fmt.Errorf("link kind must be pagerduty, dashboard or link, not %q", l.Kind)
	}
	if l.URL == "" && l.ID == "" {
		return errors.New("a link needs a url or an id")
	}
	if l.URL != "" {
		u, err := url.Parse(l.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("url must be an http(s) URL, not %q", l.URL)
		}
	}
	return nil
}

// permanentError is a service error a retry cannot fix, for the
// incident.declare action.
type permanentError struct{ err *Error }

func (p permanentError) Error() string   { return p.err.Msg }
func (p permanentError) Permanent() bool { return true }
func (p permanentError) Unwrap() error   { return p.err }

// DeclareIncident declares an incident: it allocates the next number of
// the year from the counter workflow and starts the incident's workflow.
// A key makes it idempotent (the same key declares one incident).
func (s *Service) DeclareIncident(ctx context.Context, req incidentwire.DeclareRequest, key string) (*incidentwire.Incident, error) {
	if err := s.validateDeclare(&req); err != nil {
		var se *Error
		if errors.As(err, &se) {
			return nil, permanentError{se}
		}
		return nil, err
	}
	if req.DeclaredBy == "" {
		req.DeclaredBy = "api"
	}
	now := s.now().UTC()
	id, err := s.allocateIncident(ctx, now.Year(), key)
	if err != nil {
		return nil, err
	}
	settings := s.Incidents
	in := incidentwire.IncidentInput{Incident: incidentwire.Incident{ID: id}, Settings: settings, Request: &req}
	_, err = s.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       names.IncidentWorkflowID(id),
		TaskQueue:                names.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		StaticSummary:            fmt.Sprintf("%s %s: %s", id, strings.ToUpper(req.Severity), req.Title),
		Memo: map[string]any{
			names.MemoIncidentTitle: req.Title, names.MemoIncidentSeverity: req.Severity,
			names.MemoIncidentCommander: req.Commander, names.MemoIncidentServices: req.Services,
		},
		TypedSearchAttributes: temporal.NewSearchAttributes(
			temporal.NewSearchAttributeKeyKeyword(names.SAStatus).ValueSet(incidentwire.IncidentInvestigating),
		),
	}, names.IncidentWorkflow, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if err != nil && !errors.As(err, &started) {
		return nil, s.temporalError(err)
	}
	return &incidentwire.Incident{
		ID: id, Title: req.Title, Severity: req.Severity, Status: incidentwire.IncidentInvestigating,
		Commander: req.Commander, Services: req.Services, Links: req.Links, Responders: req.Responders,
		DeclaredBy: req.DeclaredBy, DeclaredAt: now, DetectedAt: now, StartedAt: now, Runs: req.Runs,
		Timeline: []incidentwire.TimelineEntry{},
	}, nil
}

// allocateIncident asks the counter workflow for the next ID, starting it
// if it is not running (update-with-start).
func (s *Service) allocateIncident(ctx context.Context, year int, key string) (string, error) {
	op := s.Client.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
		ID:                       names.IncidentCounterWorkflowID,
		TaskQueue:                names.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		StaticSummary:            "Firebreak incident numbers",
	}, names.IncidentCounterWorkflow, incidentwire.IncidentCounterInput{})
	h, err := s.Client.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: op,
		UpdateOptions: client.UpdateWorkflowOptions{
			UpdateName:   names.AllocateIncidentUpdate,
			Args:         []any{incidentwire.AllocateRequest{Year: year, Key: key}},
			WaitForStage: client.WorkflowUpdateStageCompleted,
		},
	})
	if err != nil {
		return "", s.temporalError(fmt.Errorf("allocating an incident number: %w", err))
	}
	var id string
	if err := h.Get(ctx, &id); err != nil {
		return "", s.temporalError(fmt.Errorf("allocating an incident number: %w", err))
	}
	return id, nil
}

// incidentWorkflow checks an incident ID and returns its workflow ID.
func incidentWorkflow(id string) (string, error) {
	if !names.IsIncidentID(id) {
		return "", errorf(NotFound, "id", "no incident %q (incident IDs look like INC-2026-0042)", id)
	}
	return names.IncidentWorkflowID(id), nil
}

// GetIncident returns an incident's whole record.
func (s *Service) GetIncident(ctx context.Context, id string) (*incidentwire.Incident, error) {
	wid, err := incidentWorkflow(id)
	if err != nil {
		return nil, err
	}
	resp, err := s.Client.QueryWorkflow(ctx, wid, "", names.IncidentQuery)
	if err != nil {
		return nil, s.incidentError(id, err)
	}
	var inc incidentwire.Incident
	if err := resp.Get(&inc); err != nil {
		return nil, err
	}
	return &inc, nil
}

// IncidentCommand applies a person's command to an incident.
func (s *Service) IncidentCommand(ctx context.Context, id string, cmd incidentwire.IncidentCommand) (*incidentwire.Incident, error) {
	wid, err := incidentWorkflow(id)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(cmd.By) == "" {
		return nil, errorf(Invalid, "by", "by is required: who gives the command")
	}
	limit := maxText
	if cmd.Kind == incidentwire.CommandResolve {
		limit = maxSummary
	}
	if n := len([]rune(cmd.Text)); n > limit {
		field := map[string]string{incidentwire.CommandResolve: "summary", incidentwire.CommandStatus: "note", incidentwire.CommandSeverity: "note"}[cmd.Kind]
		if field == "" {
			field = "text"
		}
		return nil, errorf(Invalid, field, "%s is %d characters, more than %d", field, n, limit)
	}
	if cmd.Link != nil {
		if err := checkLink(*cmd.Link); err != nil {
			return nil, errorf(Invalid, "link", "%v", err)
		}
	}
	h, err := s.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: wid, UpdateName: names.IncidentCommandUpdate, Args: []any{cmd},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return nil, s.incidentError(id, err)
	}
	var inc incidentwire.Incident
	if err := h.Get(ctx, &inc); err != nil {
		return nil, s.incidentError(id, err)
	}
	return &inc, nil
}

// ReportIncidentEvent records something that happened elsewhere in an
// incident's timeline.
func (s *Service) ReportIncidentEvent(ctx context.Context, id string, ev incidentwire.IncidentEvent) error {
	wid, err := incidentWorkflow(id)
	if err != nil {
		return err
	}
	if ev.At.IsZero() {
		ev.At = s.now().UTC()
	}
	if err := s.Client.SignalWorkflow(ctx, wid, "", names.IncidentEventSignal, ev); err != nil {
		return s.incidentError(id, err)
	}
	return nil
}

// IncidentPostmortem returns an incident's postmortem, once written.
func (s *Service) IncidentPostmortem(ctx context.Context, id string) (*incidentwire.PostmortemResult, error) {
	if _, err := incidentWorkflow(id); err != nil {
		return nil, err
	}
	desc, err := s.Client.DescribeWorkflowExecution(ctx, names.PostmortemWorkflowID(id), "")
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &nf):
		if _, err := s.GetIncident(ctx, id); err != nil {
			return nil, err
		}
		return nil, errorf(NotFound, "id", "incident %s has no postmortem yet: it is written when the incident is resolved", id)
	case err != nil:
		return nil, s.temporalError(err)
	}
	switch desc.GetWorkflowExecutionInfo().GetStatus() {
	case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		return nil, errorf(Conflict, "id", "the postmortem of %s is being written; try again in a moment", id)
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
	default:
		return nil, errorf(Conflict, "id", "the postmortem of %s could not be written (%s); see the incident's timeline",
			id, strings.ToLower(strings.TrimPrefix(desc.GetWorkflowExecutionInfo().GetStatus().String(), "WORKFLOW_EXECUTION_STATUS_")))
	}
	var res incidentwire.PostmortemResult
	if err := s.Client.GetWorkflow(ctx, names.PostmortemWorkflowID(id), "").Get(ctx, &res); err != nil {
		return nil, s.temporalError(err)
	}
	return &res, nil
}

// IncidentFilter narrows an incident listing.
type IncidentFilter struct {
	Status string
	Limit  int
}

// ListIncidents lists incidents, newest first.
func (s *Service) ListIncidents(ctx context.Context, f IncidentFilter) ([]incidentwire.IncidentSummary, error) {
	q := fmt.Sprintf("WorkflowType = '%s'", names.IncidentWorkflow)
	switch f.Status {
	case "":
	case "open":
		q += " AND ExecutionStatus = 'Running'"
	default:
		if !slices.Contains(incidentwire.IncidentStatuses, f.Status) {
			return nil, errorf(Invalid, "status", "status must be open or one of %s, not %q", strings.Join(incidentwire.IncidentStatuses, ", "), f.Status)
		}
		q += fmt.Sprintf(" AND %s = '%s'", names.SAStatus, f.Status)
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	out := []incidentwire.IncidentSummary{}
	seen := map[string]bool{}
	var token []byte
	for len(out) < f.Limit {
		resp, err := s.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: s.Namespace, Query: q, PageSize: int32(f.Limit), NextPageToken: token,
		})
		if err != nil {
			return nil, s.temporalError(err)
		}
		for _, e := range resp.GetExecutions() {
			sum := incidentSummary(e)
			// Continue-as-new leaves one closed execution per run.
			if sum.ID == "" || seen[sum.ID] {
				continue
			}
			seen[sum.ID] = true
			out = append(out, sum)
			if len(out) == f.Limit {
				break
			}
		}
		token = resp.GetNextPageToken()
		if len(token) == 0 {
			break
		}
	}
	return out, nil
}

// incidentSummary reads a listed incident from its memo and status.
func incidentSummary(e *workflowpb.WorkflowExecutionInfo) incidentwire.IncidentSummary {
	sum := incidentwire.IncidentSummary{ID: names.IncidentOf(e.GetExecution().GetWorkflowId())}
	dc := converter.GetDefaultDataConverter()
	fields := e.GetMemo().GetFields()
	str := func(key string) string {
		var v string
		if p := fields[key]; p != nil {
			_ = dc.FromPayload(p, &v)
		}
		return v
	}
	sum.Title, sum.Severity = str(names.MemoIncidentTitle), str(names.MemoIncidentSeverity)
	sum.Commander, sum.Channel = str(names.MemoIncidentCommander), str(names.MemoIncidentChannel)
	if p := fields[names.MemoIncidentServices]; p != nil {
		_ = dc.FromPayload(p, &sum.Services)
	}
	sa := temporal.NewSearchAttributes()
	if e.GetSearchAttributes() != nil {
		sa = decodeSearchAttributes(e.GetSearchAttributes().GetIndexedFields())
	}
	sum.Status, _ = sa.GetKeyword(temporal.NewSearchAttributeKeyKeyword(names.SAStatus))
	sum.DeclaredAt = e.GetStartTime().AsTime()
	if e.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING && e.GetCloseTime() != nil {
		t := e.GetCloseTime().AsTime()
		sum.ClosedAt = &t
	}
	return sum
}

// openIncident is an open incident as its memo shows it.
type openIncident struct {
	incidentwire.IncidentSummary
	PagerDuty string
}

// openIncidents lists open incidents with what their memos say.
func (s *Service) openIncidents(ctx context.Context) ([]openIncident, error) {
	resp, err := s.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Namespace: s.Namespace, PageSize: 200,
		Query: fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Running'", names.IncidentWorkflow),
	})
	if err != nil {
		return nil, s.temporalError(err)
	}
	var out []openIncident
	dc := converter.GetDefaultDataConverter()
	for _, e := range resp.GetExecutions() {
		o := openIncident{IncidentSummary: incidentSummary(e)}
		if p := e.GetMemo().GetFields()[names.MemoIncidentPagerDuty]; p != nil {
			_ = dc.FromPayload(p, &o.PagerDuty)
		}
		if o.ID != "" && o.Status != incidentwire.IncidentResolved {
			out = append(out, o)
		}
	}
	return out, nil
}

// IncidentByChannel returns the open incident whose channel this is, or "".
func (s *Service) IncidentByChannel(ctx context.Context, channel string) (string, error) {
	if channel == "" {
		return "", nil
	}
	open, err := s.openIncidents(ctx)
	if err != nil {
		return "", err
	}
	for _, o := range open {
		if o.Channel == channel {
			return o.ID, nil
		}
	}
	// Listings lag behind the workflows: a channel created a moment ago
	// may not be in the memo yet, so ask the incidents that show none.
	for _, o := range open {
		if o.Channel != "" {
			continue
		}
		inc, err := s.GetIncident(ctx, o.ID)
		if err == nil && inc.Slack != nil && inc.Slack.Channel == channel {
			return o.ID, nil
		}
	}
	return "", nil
}

// incidentForService returns the newest open incident covering a
// service, or "".
func incidentForService(open []openIncident, service string) string {
	if service == "" {
		return ""
	}
	for _, o := range open {
		if slices.Contains(o.Services, service) {
			return o.ID
		}
	}
	return ""
}

// ReportPagerDuty puts a PagerDuty webhook event into the timeline of
// every open incident linked to its PagerDuty incident (by incident ID or
// by the dedup key Firebreak paged with); it returns their IDs.
func (s *Service) ReportPagerDuty(ctx context.Context, ev map[string]any) ([]string, error) {
	data, _ := ev["data"].(map[string]any)
	pdID, _ := data["id"].(string)
	key, _ := data["incident_key"].(string)
	typ, _ := ev["event_type"].(string)
	if pdID == "" && key == "" {
		return nil, nil
	}
	open, err := s.openIncidents(ctx)
	if err != nil {
		return nil, err
	}
	var linked []string
	for _, o := range open {
		pd := o.PagerDuty
		if pd == "" {
			// The listing may lag a link made a moment ago: ask.
			if inc, err := s.GetIncident(ctx, o.ID); err == nil {
				pd = inc.PagerDutyIncident()
			}
		}
		if pd == "" || (pd != pdID && pd != key) {
			continue
		}
		text := "PagerDuty " + strings.TrimPrefix(typ, "incident.")
		if title, _ := data["title"].(string); title != "" {
			text += ": " + title
		}
		by := "pagerduty"
		if agent, ok := ev["agent"].(map[string]any); ok {
			if name, _ := agent["summary"].(string); name != "" {
				by = name
			}
		}
		at := s.now().UTC()
		if occurred, _ := ev["occurred_at"].(string); occurred != "" {
			if t, err := time.Parse(time.RFC3339Nano, occurred); err == nil {
				at = t.UTC()
			}
		}
		ref, _ := ev["id"].(string)
		if err := s.ReportIncidentEvent(ctx, o.ID, incidentwire.IncidentEvent{
			At: at, Kind: incidentwire.TimelinePagerDuty, By: by, Text: text, Ref: ref, Source: runwire.TriggerPagerDuty, PagerDutyType: typ,
		}); err != nil {
			return linked, err
		}
		linked = append(linked, o.ID)
	}
	return linked, nil
}

// incidentError maps Temporal's answers about an incident to service
// errors.
func (s *Service) incidentError(id string, err error) error {
	var nf *serviceerror.NotFound
	var appErr *temporal.ApplicationError
	switch {
	case errors.As(err, &appErr):
		switch appErr.Type() {
		case incidentwire.RejectIncidentResolved, runwire.RejectNotWaiting:
			return errorf(Conflict, "", "%s", appErr.Message())
		}
		return errorf(Invalid, "", "%s", appErr.Message())
	case errors.As(err, &nf):
		if strings.Contains(nf.Error(), "already completed") {
			return errorf(Conflict, "", "incident %s is resolved", id)
		}
		return errorf(NotFound, "id", "no incident %q", id)
	}
	return s.temporalError(err)
}

// linkIncident checks the incident a run names, or finds the incident
// whose Slack channel the run was started from.
func (s *Service) linkIncident(ctx context.Context, req *StartRequest, p *Prepared) error {
	if req.Incident == "" {
		if req.Notify == nil || req.Notify.SlackChannel == "" {
			return nil
		}
		id, err := s.IncidentByChannel(ctx, req.Notify.SlackChannel)
		if err != nil {
			return err
		}
		p.Input.Incident = id
		return nil
	}
	inc, err := s.GetIncident(ctx, req.Incident)
	if err != nil {
		var se *Error
		if errors.As(err, &se) && se.Kind == NotFound {
			return errorf(Invalid, "incident", "no incident %q", req.Incident)
		}
		return err
	}
	if inc.Done() {
		return errorf(Conflict, "incident", "incident %s is resolved", req.Incident)
	}
	return nil
}

// linkDeliveries links automatic runs to the open incident of their
// service: an alert's "service" label, or a PagerDuty event's service. An
// incident listing that fails links nothing and holds nothing back.
func (s *Service) linkDeliveries(ctx context.Context, matched []*delivery) {
	var open []openIncident
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
			if open, err = s.openIncidents(ctx); err != nil {
				return
			}
		}
		d.prep.Input.Incident = incidentForService(open, svc)
	}
}
