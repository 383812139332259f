// Package audit exports who did what, when, to which run or incident, and
// whether it was allowed, from the records the workflows keep.
package audit

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/client"

	"github.com/firebreak-ops/firebreak/internal/access"
	"github.com/firebreak-ops/firebreak/internal/names"
	"github.com/firebreak-ops/firebreak/internal/redact"
	"github.com/firebreak-ops/firebreak/internal/temporalx"
	incidentwire "github.com/firebreak-ops/firebreak/workflows/wire/incident"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// maxAuditWorkflows bounds how many runs and incidents one export reads.
const maxAuditWorkflows = 2000

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
)

// Audit gathers every run, guard decision, action, approval, refused
// attempt and incident command since a time, oldest first, from the
// records the workflows keep.
func (s *Service) Audit(ctx context.Context, since time.Time) ([]Record, error) {
	var out []Record
	add := func(r Record) {
		if !r.At.Before(since) {
			r.At = r.At.UTC()
			// Records written before redaction covered every field are
			// exported through it too.
			r.Text = redact.Text(r.Text)
			out = append(out, r)
		}
	}
	window := fmt.Sprintf("(StartTime >= '%s' OR CloseTime >= '%s' OR ExecutionStatus = 'Running')",
		since.UTC().Format(time.RFC3339Nano), since.UTC().Format(time.RFC3339Nano))
	runs, err := s.listIDs(ctx, fmt.Sprintf("WorkflowType = '%s' AND %s", names.RunbookWorkflow, window))
	if err != nil {
		return nil, err
	}
	for _, id := range runs {
		st, err := s.Runs.GetRun(ctx, id, "")
		if err != nil {
			continue // a run whose record cannot be read is still listed below as an error
		}
		auditRun(st, add)
	}
	incidents, err := s.listIDs(ctx, fmt.Sprintf("WorkflowType = '%s' AND %s", names.IncidentWorkflow, window))
	if err != nil {
		return nil, err
	}
	for _, wid := range incidents {
		inc, err := s.Incidents.GetIncident(ctx, names.IncidentOf(wid))
		if err != nil {
			continue
		}
		for _, e := range inc.Timeline {
			add(Record{At: e.At, Kind: "incident." + e.Kind, By: e.By, Source: e.Source, Subject: inc.ID, Text: e.Text})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out, nil
}

// listIDs lists the distinct workflow IDs a visibility query finds.
func (s *Service) listIDs(ctx context.Context, q string) ([]string, error) {
	var ids []string
	seen := map[string]bool{}
	err := temporalx.List(ctx, s.Client, s.Namespace, q, 500, func(e *workflowpb.WorkflowExecutionInfo) bool {
		if id := e.GetExecution().GetWorkflowId(); !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
		return len(ids) < maxAuditWorkflows
	})
	if err != nil {
		return nil, access.TemporalError(err)
	}
	return ids, nil
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
