// Package audit exports who did what, when, to which run or incident, and
// whether it was allowed, from the records the workflows keep: page by
// page with a cursor, each page reading a bounded number of records, and
// naming every record it could not read.
package audit

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/firebreak-ops/firebreak/internal/access"
	"github.com/firebreak-ops/firebreak/internal/names"
	"github.com/firebreak-ops/firebreak/internal/redact"
	incidentwire "github.com/firebreak-ops/firebreak/workflows/wire/incident"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// Bounds of one page of the export: how many workflows it reads (each
// read is a query a worker answers, replaying a closed workflow's
// history), and how many reads are in flight at once.
const (
	DefaultPageLimit   = 100
	MaxPageLimit       = 500
	maxConcurrentReads = 4
	readTimeout        = 10 * time.Second
)

// Runs is what the audit needs of runs: a run's record.
type Runs interface {
	GetRun(ctx context.Context, id, runID string) (*runwire.RunState, error)
}

// Incidents is what the audit needs of incidents: an incident's record.
type Incidents interface {
	GetIncident(ctx context.Context, id string) (*incidentwire.Incident, error)
}

// Service exports the audit trail.
type Service struct {
	Client    client.Client
	Namespace string
	Runs      Runs
	Incidents Incidents
}

// Record is one line of the audit export: who did what, when, to
// which run or incident, and whether it was allowed.
type Record struct {
	At      time.Time `json:"at"`
	Kind    string    `json:"kind"`
	By      string    `json:"by,omitempty"`
	Source  string    `json:"source,omitempty"`
	Subject string    `json:"subject"`
	Text    string    `json:"text"`
	Allowed *bool     `json:"allowed,omitempty"`
}

// Kinds of records besides incident.<timeline kind>.
const (
	RunStarted  = "run.started"
	RunFinished = "run.finished"
	Decision    = "run.decision"
	Action      = "run.action"
	Approval    = "run.approval"
	Access      = "run.access"
	Retry       = "run.retry"
)

// PageRequest asks for one page of the export.
type PageRequest struct {
	// Since is where the export starts; a cursor carries its own.
	Since time.Time
	// Cursor is the previous page's Next; "" starts the export.
	Cursor string
	// Limit is how many workflows the page reads (default
	// DefaultPageLimit, at most MaxPageLimit).
	Limit int
}

// Page is one page of the export: the records of up to Limit runs or
// incidents, oldest first. Missing names every workflow of the page whose
// record could not be read: its records are not in Records, and nothing
// else is left out. Next is the cursor of the next page, "" after the
// last: runs come first, newest first, then incidents.
type Page struct {
	Records []Record
	Missing []Missing
	Next    string
}

// Missing is a run or incident whose record could not be read.
type Missing struct {
	// Kind is "run" or "incident".
	Kind string `json:"kind"`
	// Subject is the run's workflow ID or the incident's ID; RunID the
	// Temporal run.
	Subject   string    `json:"subject"`
	RunID     string    `json:"runId,omitempty"`
	StartedAt time.Time `json:"startedAt"`
	Error     string    `json:"error"`
}

// MissingKind is the kind of the line that stands for a run or incident
// whose record could not be read.
const MissingKind = "audit.missing"

// Record is the export line that names what is missing.
func (m Missing) Record() Record {
	what := m.Kind + " " + m.Subject
	if m.RunID != "" {
		what += " (Temporal run " + m.RunID + ")"
	}
	return Record{At: m.StartedAt, Kind: MissingKind, Subject: m.Subject,
		Text: "the record of " + what + " could not be read, so its entries are not in this export: " + m.Error}
}

// Phases of the export.
const (
	phaseRuns = iota
	phaseIncidents
)

// cursor is where the export goes on: its start, the phase, and
// Temporal's page token there.
type cursor struct {
	Since time.Time `json:"s"`
	Phase int       `json:"p"`
	Token []byte    `json:"t,omitempty"`
}

func encodeCursor(c cursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (cursor, error) {
	var c cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || (c.Phase != phaseRuns && c.Phase != phaseIncidents) {
		return c, access.Errorf(access.Invalid, "cursor", "bad cursor: pass the Next cursor of the page before")
	}
	return c, nil
}

// AuditPage returns one page of every run, guard decision, action,
// approval, refused attempt and incident command since a time, from the
// records the workflows keep. Each run (every execution of a workflow ID)
// and each incident appears in exactly one page; what cannot be read is
// named in Missing.
func (s *Service) AuditPage(ctx context.Context, req PageRequest) (*Page, error) {
	cur := cursor{Since: req.Since.UTC(), Phase: phaseRuns}
	if req.Cursor != "" {
		var err error
		if cur, err = decodeCursor(req.Cursor); err != nil {
			return nil, err
		}
	}
	limit := req.Limit
	if limit <= 0 {
		limit = DefaultPageLimit
	}
	limit = min(limit, MaxPageLimit)
	page := &Page{Records: []Record{}, Missing: []Missing{}}
	for limit > 0 {
		resp, err := s.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: s.Namespace, Query: pageQuery(cur), PageSize: int32(limit), NextPageToken: cur.Token,
		})
		if err != nil {
			return nil, access.TemporalError(err)
		}
		execs := resp.GetExecutions()
		s.read(ctx, cur.Phase, cur.Since, execs[:min(len(execs), limit)], page)
		limit -= len(execs)
		if next := resp.GetNextPageToken(); len(next) > 0 {
			page.Next = encodeCursor(cursor{Since: cur.Since, Phase: cur.Phase, Token: next})
			break
		}
		if cur.Phase == phaseIncidents {
			break
		}
		// The runs are done: the incidents follow, in this page if it
		// has room.
		cur = cursor{Since: cur.Since, Phase: phaseIncidents}
		if limit <= 0 {
			page.Next = encodeCursor(cur)
		}
	}
	sort.SliceStable(page.Records, func(i, j int) bool { return page.Records[i].At.Before(page.Records[j].At) })
	sort.SliceStable(page.Missing, func(i, j int) bool { return page.Missing[i].StartedAt.Before(page.Missing[j].StartedAt) })
	return page, nil
}

// pageQuery is the visibility query of a phase of the export.
func pageQuery(cur cursor) string {
	since := cur.Since.Format(time.RFC3339Nano)
	window := fmt.Sprintf("(StartTime >= '%s' OR CloseTime >= '%s' OR ExecutionStatus = 'Running')", since, since)
	if cur.Phase == phaseIncidents {
		// An incident that continued as new is read once, through its
		// latest run, which carries the whole record.
		return fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus != 'ContinuedAsNew' AND %s", names.IncidentWorkflow, window)
	}
	return fmt.Sprintf("WorkflowType = '%s' AND %s", names.RunbookWorkflow, window)
}

// read reads the records of a page's executions, a few at a time, into
// the page.
func (s *Service) read(ctx context.Context, phase int, since time.Time, execs []*workflowpb.WorkflowExecutionInfo, page *Page) {
	var mu sync.Mutex
	add := func(r Record) {
		if !r.At.Before(since) {
			r.At = r.At.UTC()
			// Records written before redaction covered every field are
			// exported through it too.
			r.Text = redact.Text(r.Text)
			page.Records = append(page.Records, r)
		}
	}
	sem := make(chan struct{}, maxConcurrentReads)
	var wg sync.WaitGroup
	for _, e := range execs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			rctx, cancel := context.WithTimeout(ctx, readTimeout)
			defer cancel()
			id, runID := e.GetExecution().GetWorkflowId(), e.GetExecution().GetRunId()
			miss := Missing{Kind: "run", Subject: id, RunID: runID, StartedAt: e.GetStartTime().AsTime().UTC()}
			if phase == phaseIncidents {
				miss.Kind, miss.Subject = "incident", names.IncidentOf(id)
				inc, err := s.Incidents.GetIncident(rctx, miss.Subject)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					miss.Error = err.Error()
					page.Missing = append(page.Missing, miss)
					return
				}
				for _, te := range inc.Timeline {
					add(Record{At: te.At, Kind: "incident." + te.Kind, By: te.By, Source: te.Source, Subject: inc.ID, Text: te.Text})
				}
				return
			}
			st, err := s.Runs.GetRun(rctx, id, runID)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				miss.Error = err.Error()
				page.Missing = append(page.Missing, miss)
				return
			}
			auditRun(st, add)
		}()
	}
	wg.Wait()
}

func auditRun(st *runwire.RunState, add func(Record)) {
	allowed := true
	text := fmt.Sprintf("started %s (%s)", st.Runbook, st.Trigger)
	if st.DryRun {
		text += " as a dry run"
	}
	if st.Incident != "" {
		text += " for " + st.Incident
	}
	add(Record{At: st.StartedAt, Kind: RunStarted, By: st.RequestedBy, Source: st.Trigger, Subject: st.ID, Text: text})
	for _, steps := range [][]runwire.StepState{st.Steps, st.Rollback} {
		for _, sp := range steps {
			at := st.StartedAt
			if sp.StartedAt != nil {
				at = *sp.StartedAt
			}
			if d := sp.Decision; d != nil {
				add(Record{At: at, Kind: Decision, By: names.TaskQueue, Subject: st.ID + "/" + sp.Name,
					Text: fmt.Sprintf("%s → %t: %s", d.Expression, d.Result, d.Reason)})
			}
			if sp.Kind == "action" && sp.FinishedAt != nil {
				t := fmt.Sprintf("%s %s", sp.Action, sp.Status)
				if sp.Error != "" {
					t += ": " + sp.Error
				}
				add(Record{At: *sp.FinishedAt, Kind: Action, By: names.TaskQueue, Subject: st.ID + "/" + sp.Name, Text: t})
			}
			if a := sp.Approval; a != nil && a.Decision != "" && a.At != nil {
				t := a.Decision
				if a.Comment != "" {
					t += ": " + a.Comment
				}
				by := a.By
				if by == "" {
					by = names.TaskQueue
				}
				add(Record{At: *a.At, Kind: Approval, By: by, Subject: st.ID + "/" + sp.Name, Text: t, Allowed: &allowed})
			}
		}
	}
	for _, r := range st.Retries {
		t := "retried from " + r.From
		if r.Reason != "" {
			t += ": " + r.Reason
		}
		add(Record{At: r.At, Kind: Retry, By: r.By, Source: r.Source, Subject: st.ID, Text: t})
	}
	for _, d := range st.Access {
		ok := d.Allowed
		add(Record{At: d.At, Kind: Access, By: d.By, Source: d.Source, Subject: st.ID, Text: strings.TrimSpace(d.Action + ": " + d.Reason), Allowed: &ok})
	}
	if st.FinishedAt != nil {
		t := st.Status
		if st.Error != "" {
			t += ": " + st.Error
		}
		add(Record{At: *st.FinishedAt, Kind: RunFinished, By: names.TaskQueue, Subject: st.ID, Text: t})
	}
}
