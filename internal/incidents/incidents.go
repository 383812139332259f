// Package incidents declares incidents and runs them: it allocates their
// IDs, applies people's commands, records events from elsewhere in their
// timelines, lists them, finds them by Slack channel, service or PagerDuty
// incident, and serves their postmortems.
package incidents

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/firebreak-ops/firebreak/internal/access"
	"github.com/firebreak-ops/firebreak/internal/names"
	"github.com/firebreak-ops/firebreak/internal/redact"
	"github.com/firebreak-ops/firebreak/internal/temporalx"
	incidentwire "github.com/firebreak-ops/firebreak/workflows/wire/incident"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// Bounds of declarations and commands, in characters; every field also
// has a byte cap (incidentwire.Max*Bytes).
const (
	maxTitle    = 200
	maxServices = incidentwire.MaxServices
	// maxText bounds notes, the timeline's longest entries; a resolve
	// summary may be maxSummary long (the timeline shows its start).
	maxText    = incidentwire.MaxTextChars
	maxSummary = incidentwire.MaxSummaryChars
)

// capBytes refuses a value longer than max bytes, naming its field.
func capBytes(field, value string, max int) error {
	if len(value) > max {
		return access.Errorf(access.Invalid, field, "%s is %d bytes, more than %d", field, len(value), max)
	}
	return nil
}

// capList refuses a list longer than n or an element longer than size
// bytes, naming the field (field[i] for an element).
func capList(field string, list []string, n, size int) error {
	if len(list) > n {
		return access.Errorf(access.Invalid, field, "at most %d %s, not %d", n, field, len(list))
	}
	for i, v := range list {
		if err := capBytes(fmt.Sprintf("%s[%d]", field, i), v, size); err != nil {
			return err
		}
	}
	return nil
}

// firstError returns the first non-nil error.
func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// Service declares and runs incidents on a Temporal client.
type Service struct {
	Client    client.Client
	Namespace string
	// Settings are what every declared incident does (Slack channel,
	// paging, chaos halt).
	Settings incidentwire.IncidentSettings
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

var serviceName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$`)

// validateDeclare checks a declaration and normalises it.
func (s *Service) validateDeclare(req *incidentwire.DeclareRequest) error {
	req.Title = strings.TrimSpace(req.Title)
	req.Severity = strings.ToLower(strings.TrimSpace(req.Severity))
	switch {
	case req.Title == "":
		return access.Errorf(access.Invalid, "title", "title is required")
	case utf8.RuneCountInString(req.Title) > maxTitle:
		return access.Errorf(access.Invalid, "title", "title is longer than %d characters", maxTitle)
	case len(req.Title) > incidentwire.MaxTitleBytes:
		return access.Errorf(access.Invalid, "title", "title is %d bytes, more than %d", len(req.Title), incidentwire.MaxTitleBytes)
	case req.Severity == "":
		return access.Errorf(access.Invalid, "severity", "severity is required: one of %s", strings.Join(incidentwire.Severities, ", "))
	case !slices.Contains(incidentwire.Severities, req.Severity):
		return access.Errorf(access.Invalid, "severity", "severity must be one of %s, not %q", strings.Join(incidentwire.Severities, ", "), clipped(req.Severity))
	case len(req.Services) > maxServices:
		return access.Errorf(access.Invalid, "services", "at most %d services", maxServices)
	}
	for i, svc := range req.Services {
		if !serviceName.MatchString(svc) {
			return access.Errorf(access.Invalid, fmt.Sprintf("services[%d]", i), "bad service name %q: letters, digits, . _ / -", clipped(svc))
		}
	}
	if err := firstError(
		capBytes("commander", req.Commander, incidentwire.MaxNameBytes),
		capBytes("by", req.DeclaredBy, incidentwire.MaxNameBytes),
		capBytes("source", req.Source, incidentwire.MaxSourceBytes),
		capBytes("pagerdutyIncident", req.PagerDutyIncident, incidentwire.MaxPagerDutyBytes),
		capList("responders", req.Responders, incidentwire.MaxResponders, incidentwire.MaxNameBytes),
		capList("runs", req.Runs, incidentwire.MaxRuns, incidentwire.MaxRunBytes),
	); err != nil {
		return err
	}
	if req.PagerDutyIncident != "" && !pagerDutyID.MatchString(req.PagerDutyIncident) {
		return access.Errorf(access.Invalid, "pagerdutyIncident", "pagerdutyIncident must be a PagerDuty incident ID (letters and digits), not %q", clipped(req.PagerDutyIncident))
	}
	if len(req.Links) > incidentwire.MaxLinks {
		return access.Errorf(access.Invalid, "links", "at most %d links, not %d", incidentwire.MaxLinks, len(req.Links))
	}
	for i, l := range req.Links {
		if field, err := checkLink(l); err != nil {
			return access.Errorf(access.Invalid, fmt.Sprintf("links[%d].%s", i, field), "links[%d]: %v", i, err)
		}
	}
	if req.StartedAt != nil && req.StartedAt.After(s.now().Add(time.Minute)) {
		return access.Errorf(access.Invalid, "startedAt", "startedAt is in the future")
	}
	if req.Page && !s.Settings.CanPage {
		return access.Errorf(access.Invalid, "page", "paging needs a PagerDuty routing key (pagerduty.routingKey)")
	}
	return nil
}

var pagerDutyID = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// clipped shortens a refused value for the error that quotes it.
func clipped(s string) string { return incidentwire.ClipText(s, 100) }

// checkLink checks a link and names the field at fault. A URL must be
// http(s) and hold none of the characters that end or split a Slack link
// (<, >, |) and no whitespace, so a link cannot carry markup into the
// pinned summary.
func checkLink(l incidentwire.Link) (string, error) {
	switch l.Kind {
	case "", incidentwire.LinkPagerDuty, incidentwire.LinkDashboard, incidentwire.LinkOther:
	default:
		return "kind", fmt.Errorf("link kind must be pagerduty, dashboard or link, not %q", clipped(l.Kind))
	}
	if l.URL == "" && l.ID == "" {
		return "url", errors.New("a link needs a url or an id")
	}
	for _, c := range []struct {
		field, value string
		max          int
	}{{"url", l.URL, incidentwire.MaxURLBytes}, {"title", l.Title, incidentwire.MaxLinkTitleBytes}, {"id", l.ID, incidentwire.MaxLinkIDBytes}} {
		if len(c.value) > c.max {
			return c.field, fmt.Errorf("%s is %d bytes, more than %d", c.field, len(c.value), c.max)
		}
	}
	if l.URL != "" {
		u, err := url.Parse(l.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return "url", fmt.Errorf("url must be an http(s) URL, not %q", clipped(l.URL))
		}
		if strings.IndexFunc(l.URL, unsafeInLink) >= 0 {
			return "url", errors.New("url must not contain <, >, | or whitespace: percent-encode them")
		}
	}
	if strings.IndexFunc(l.ID, unsafeInLink) >= 0 {
		return "id", errors.New("id must not contain <, >, | or whitespace")
	}
	return "", nil
}

// unsafeInLink reports the characters that end or split a Slack link.
func unsafeInLink(r rune) bool {
	return r == '<' || r == '>' || r == '|' || unicode.IsSpace(r) || unicode.IsControl(r)
}

// checkCommand checks a command's fields against their caps, naming the
// field as the HTTP API calls it.
func checkCommand(cmd incidentwire.IncidentCommand) error {
	limit, limitBytes := maxText, incidentwire.MaxTextBytes
	if cmd.Kind == incidentwire.CommandResolve {
		limit, limitBytes = maxSummary, incidentwire.MaxSummaryBytes
	}
	field := map[string]string{incidentwire.CommandResolve: "summary", incidentwire.CommandStatus: "note", incidentwire.CommandSeverity: "note"}[cmd.Kind]
	if field == "" {
		field = "text"
	}
	if n := utf8.RuneCountInString(cmd.Text); n > limit {
		return access.Errorf(access.Invalid, field, "%s is %d characters, more than %d", field, n, limit)
	}
	if err := firstError(
		capBytes(field, cmd.Text, limitBytes),
		capBytes("by", cmd.By, incidentwire.MaxNameBytes),
		capBytes("user", cmd.User, incidentwire.MaxNameBytes),
		capBytes("source", cmd.Source, incidentwire.MaxSourceBytes),
		capBytes("status", cmd.Status, 50),
		capBytes("severity", cmd.Severity, 50),
		capBytes("role", cmd.Role, 50),
		capBytes("kind", cmd.Kind, 50),
	); err != nil {
		return err
	}
	if len(cmd.ActionItems) > incidentwire.MaxActionItems {
		return access.Errorf(access.Invalid, "actionItems", "at most %d action items, not %d", incidentwire.MaxActionItems, len(cmd.ActionItems))
	}
	for i, it := range cmd.ActionItems {
		f := fmt.Sprintf("actionItems[%d]", i)
		if n := utf8.RuneCountInString(it); n > maxText {
			return access.Errorf(access.Invalid, f, "%s is %d characters, more than %d", f, n, maxText)
		}
		if err := capBytes(f, it, incidentwire.MaxTextBytes); err != nil {
			return err
		}
	}
	if cmd.Link != nil {
		if f, err := checkLink(*cmd.Link); err != nil {
			return access.Errorf(access.Invalid, f, "%v", err)
		}
	}
	return nil
}

// permanentError is an access error a retry cannot fix, for the
// incident.declare action.
type permanentError struct{ err *access.Error }

func (p permanentError) Error() string   { return p.err.Msg }
func (p permanentError) Permanent() bool { return true }
func (p permanentError) Unwrap() error   { return p.err }

// DeclareIncident declares an incident: it allocates the next number of
// the year from the counter workflow and starts the incident's workflow.
// A key makes it idempotent (the same key declares one incident).
func (s *Service) DeclareIncident(ctx context.Context, req incidentwire.DeclareRequest, key string) (*incidentwire.Incident, error) {
	if err := s.validateDeclare(&req); err != nil {
		var se *access.Error
		if errors.As(err, &se) {
			return nil, permanentError{se}
		}
		return nil, err
	}
	if req.DeclaredBy == "" {
		req.DeclaredBy = "api"
	}
	req.Title = redact.Text(req.Title)
	for i, l := range req.Links {
		req.Links[i].URL, req.Links[i].Title = redact.URL(l.URL), redact.Text(l.Title)
	}
	now := s.now().UTC()
	id, err := s.allocateIncident(ctx, now.Year(), key)
	if err != nil {
		return nil, err
	}
	settings := s.Settings
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
		TypedSearchAttributes: temporalx.StatusAttributes(incidentwire.IncidentInvestigating),
	}, names.IncidentWorkflow, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if err != nil && !errors.As(err, &started) {
		return nil, access.TemporalError(err)
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
	var id string
	err := temporalx.UpdateSingleton(ctx, s.Client, temporalx.Singleton{
		ID: names.IncidentCounterWorkflowID, Type: names.IncidentCounterWorkflow,
		Input: incidentwire.IncidentCounterInput{}, Summary: "Firebreak incident numbers",
	}, names.AllocateIncidentUpdate, incidentwire.AllocateRequest{Year: year, Key: key}, &id)
	if err != nil {
		return "", access.TemporalError(fmt.Errorf("allocating an incident number: %w", err))
	}
	return id, nil
}

// incidentWorkflow checks an incident ID and returns its workflow ID.
func incidentWorkflow(id string) (string, error) {
	if !names.IsIncidentID(id) {
		return "", access.Errorf(access.NotFound, "id", "no incident %q (incident IDs look like INC-2026-0042)", id)
	}
	return names.IncidentWorkflowID(id), nil
}

// GetIncident returns an incident's whole record. A resolved incident's
// record is the result its workflow ended with, read without a worker; an
// open one's is asked of the worker.
func (s *Service) GetIncident(ctx context.Context, id string) (*incidentwire.Incident, error) {
	wid, err := incidentWorkflow(id)
	if err != nil {
		return nil, err
	}
	var inc incidentwire.Incident
	if err := temporalx.ReadState(ctx, s.Client, wid, names.IncidentQuery, &inc); err != nil {
		return nil, s.incidentError(id, err)
	}
	return &inc, nil
}

// queryIncident reads an incident its caller has just listed as open with
// the worker's query alone: one call fewer than GetIncident.
func (s *Service) queryIncident(ctx context.Context, id string) (*incidentwire.Incident, error) {
	resp, err := s.Client.QueryWorkflow(ctx, names.IncidentWorkflowID(id), "", names.IncidentQuery)
	if err != nil {
		return nil, s.incidentError(id, err)
	}
	var inc incidentwire.Incident
	if err := resp.Get(&inc); err != nil {
		return nil, err
	}
	return &inc, nil
}

// IncidentCommand applies a person's command to an incident and answers
// with a small acknowledgement: the incident's status and severity after
// it and the timeline entry it added.
func (s *Service) IncidentCommand(ctx context.Context, id string, cmd incidentwire.IncidentCommand) (*incidentwire.CommandResult, error) {
	wid, err := incidentWorkflow(id)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(cmd.By) == "" {
		return nil, access.Errorf(access.Invalid, "by", "by is required: who gives the command")
	}
	if err := checkCommand(cmd); err != nil {
		return nil, err
	}
	// What people write is kept, but not a credential pasted with it.
	cmd.Text = redact.Text(cmd.Text)
	for i, it := range cmd.ActionItems {
		cmd.ActionItems[i] = redact.Text(it)
	}
	if cmd.Link != nil {
		l := *cmd.Link
		l.URL, l.Title = redact.URL(l.URL), redact.Text(l.Title)
		cmd.Link = &l
	}
	h, err := s.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: wid, UpdateName: names.IncidentCommandUpdate, Args: []any{cmd},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return nil, s.incidentError(id, err)
	}
	// An incident that started before commands answered this way answers
	// with its whole record; the fields read here are in both.
	var res incidentwire.CommandResult
	if err := h.Get(ctx, &res); err != nil {
		return nil, s.incidentError(id, err)
	}
	if res.Command == "" {
		res.Command = cmd.Kind
	}
	return &res, nil
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
	// What others report is clipped, not refused: the event happened.
	ev.Text = incidentwire.ClipText(redact.Text(ev.Text), incidentwire.MaxEntryBytes)
	ev.By = incidentwire.ClipText(ev.By, incidentwire.MaxNameBytes)
	ev.Ref = incidentwire.ClipText(ev.Ref, incidentwire.MaxRefBytes)
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
		return nil, access.Errorf(access.NotFound, "id", "incident %s has no postmortem yet: it is written when the incident is resolved", id)
	case err != nil:
		return nil, access.TemporalError(err)
	}
	switch desc.GetWorkflowExecutionInfo().GetStatus() {
	case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		return nil, access.Errorf(access.Conflict, "id", "the postmortem of %s is being written; try again in a moment", id)
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
	default:
		return nil, access.Errorf(access.Conflict, "id", "the postmortem of %s could not be written (%s); see the incident's timeline",
			id, strings.ToLower(strings.TrimPrefix(desc.GetWorkflowExecutionInfo().GetStatus().String(), "WORKFLOW_EXECUTION_STATUS_")))
	}
	var res incidentwire.PostmortemResult
	if err := s.Client.GetWorkflow(ctx, names.PostmortemWorkflowID(id), "").Get(ctx, &res); err != nil {
		return nil, access.TemporalError(err)
	}
	return &res, nil
}

// Filter narrows an incident listing.
type Filter struct {
	// Status is "open" (see openQuery), an incident status, or "" for all.
	Status string
	Limit  int
}

// openQuery finds the open incidents: incident workflows still running
// whose status is not yet resolved (a resolved incident's workflow runs on
// for a moment to finish its summary). Listing with status "open" and
// every lookup by channel, service or PagerDuty incident use it.
var openQuery = fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Running' AND %s != '%s'",
	names.IncidentWorkflow, names.SAStatus, incidentwire.IncidentResolved)

// ListIncidents lists incidents, newest first.
func (s *Service) ListIncidents(ctx context.Context, f Filter) ([]incidentwire.IncidentSummary, error) {
	q := fmt.Sprintf("WorkflowType = '%s'", names.IncidentWorkflow)
	switch f.Status {
	case "":
	case "open":
		q = openQuery
	default:
		if !slices.Contains(incidentwire.IncidentStatuses, f.Status) {
			return nil, access.Errorf(access.Invalid, "status", "status must be open or one of %s, not %q", strings.Join(incidentwire.IncidentStatuses, ", "), f.Status)
		}
		q += fmt.Sprintf(" AND %s = '%s'", names.SAStatus, f.Status)
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	out := []incidentwire.IncidentSummary{}
	seen := map[string]bool{}
	err := temporalx.List(ctx, s.Client, s.Namespace, q, f.Limit, func(e *workflowpb.WorkflowExecutionInfo) bool {
		sum := incidentSummary(e)
		// Continue-as-new leaves one closed execution per run.
		if sum.ID != "" && !seen[sum.ID] {
			seen[sum.ID] = true
			out = append(out, sum)
		}
		return len(out) < f.Limit
	})
	if err != nil {
		return nil, access.TemporalError(err)
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
	sum.Status = temporalx.Decode(e.GetSearchAttributes()).Status
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

// openIncidents lists the open incidents (openQuery), newest first, with
// what their memos say.
func (s *Service) openIncidents(ctx context.Context) ([]openIncident, error) {
	var out []openIncident
	dc := converter.GetDefaultDataConverter()
	err := temporalx.List(ctx, s.Client, s.Namespace, openQuery, 200, func(e *workflowpb.WorkflowExecutionInfo) bool {
		o := openIncident{IncidentSummary: incidentSummary(e)}
		if p := e.GetMemo().GetFields()[names.MemoIncidentPagerDuty]; p != nil {
			_ = dc.FromPayload(p, &o.PagerDuty)
		}
		if o.ID != "" {
			out = append(out, o)
		}
		return true
	})
	if err != nil {
		return nil, access.TemporalError(err)
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
		inc, err := s.queryIncident(ctx, o.ID)
		if err == nil && inc.Slack != nil && inc.Slack.Channel == channel {
			return o.ID, nil
		}
	}
	return "", nil
}

// OpenByService maps each service of an open incident to the newest open
// incident covering it.
func (s *Service) OpenByService(ctx context.Context) (map[string]string, error) {
	open, err := s.openIncidents(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, o := range open {
		for _, svc := range o.Services {
			if _, ok := out[svc]; !ok {
				out[svc] = o.ID
			}
		}
	}
	return out, nil
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
			if inc, err := s.queryIncident(ctx, o.ID); err == nil {
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
			return access.Errorf(access.Conflict, "", "%s", appErr.Message())
		}
		return access.Errorf(access.Invalid, "", "%s", appErr.Message())
	case errors.As(err, &nf):
		if strings.Contains(nf.Error(), "already completed") {
			return access.Errorf(access.Conflict, "", "incident %s is resolved", id)
		}
		return access.Errorf(access.NotFound, "id", "no incident %q", id)
	}
	return access.TemporalError(err)
}
