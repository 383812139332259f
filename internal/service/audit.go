package service

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/firebreak-ops/firebreak/internal/names"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// maxAuditWorkflows bounds how many runs and incidents one export reads.
const maxAuditWorkflows = 2000

// AuditRecord is one line of the audit export: who did what, when, to
// which run or incident, and whether it was allowed.
type AuditRecord struct {
	At      time.Time `json:"at"`
	Kind    string    `json:"kind"`
	By      string    `json:"by,omitempty"`
	Source  string    `json:"source,omitempty"`
	Subject string    `json:"subject"`
	Text    string    `json:"text"`
	Allowed *bool     `json:"allowed,omitempty"`
}

// Audit kinds besides incident.<timeline kind>.
const (
	AuditRunStarted  = "run.started"
	AuditRunFinished = "run.finished"
	AuditDecision    = "run.decision"
	AuditAction      = "run.action"
	AuditApproval    = "run.approval"
	AuditAccess      = "run.access"
)

// Audit gathers every run, guard decision, action, approval, refused
// attempt and incident command since a time, oldest first, from the
// records the workflows keep.
func (s *Service) Audit(ctx context.Context, since time.Time) ([]AuditRecord, error) {
	var out []AuditRecord
	add := func(r AuditRecord) {
		if !r.At.Before(since) {
			r.At = r.At.UTC()
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
		st, err := s.GetRun(ctx, id, "")
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
		inc, err := s.GetIncident(ctx, names.IncidentOf(wid))
		if err != nil {
			continue
		}
		for _, e := range inc.Timeline {
			add(AuditRecord{At: e.At, Kind: "incident." + e.Kind, By: e.By, Source: e.Source, Subject: inc.ID, Text: e.Text})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out, nil
}

// listIDs lists the distinct workflow IDs a visibility query finds.
func (s *Service) listIDs(ctx context.Context, q string) ([]string, error) {
	var ids []string
	seen := map[string]bool{}
	var token []byte
	for len(ids) < maxAuditWorkflows {
		resp, err := s.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: s.Namespace, Query: q, PageSize: 500, NextPageToken: token,
		})
		if err != nil {
			return nil, s.temporalError(err)
		}
		for _, e := range resp.GetExecutions() {
			id := e.GetExecution().GetWorkflowId()
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
		token = resp.GetNextPageToken()
		if len(token) == 0 {
			break
		}
	}
	return ids, nil
}

func auditRun(st *runwire.RunState, add func(AuditRecord)) {
	allowed := true
	text := fmt.Sprintf("started %s (%s)", st.Runbook, st.Trigger)
	if st.DryRun {
		text += " as a dry run"
	}
	if st.Incident != "" {
		text += " for " + st.Incident
	}
	add(AuditRecord{At: st.StartedAt, Kind: AuditRunStarted, By: st.RequestedBy, Source: st.Trigger, Subject: st.ID, Text: text})
	for _, steps := range [][]runwire.StepState{st.Steps, st.Rollback} {
		for _, sp := range steps {
			at := st.StartedAt
			if sp.StartedAt != nil {
				at = *sp.StartedAt
			}
			if d := sp.Decision; d != nil {
				add(AuditRecord{At: at, Kind: AuditDecision, By: names.TaskQueue, Subject: st.ID + "/" + sp.Name,
					Text: fmt.Sprintf("%s → %t: %s", d.Expression, d.Result, d.Reason)})
			}
			if sp.Kind == "action" && sp.FinishedAt != nil {
				t := fmt.Sprintf("%s %s", sp.Action, sp.Status)
				if sp.Error != "" {
					t += ": " + sp.Error
				}
				add(AuditRecord{At: *sp.FinishedAt, Kind: AuditAction, By: names.TaskQueue, Subject: st.ID + "/" + sp.Name, Text: t})
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
				add(AuditRecord{At: *a.At, Kind: AuditApproval, By: by, Subject: st.ID + "/" + sp.Name, Text: t, Allowed: &allowed})
			}
		}
	}
	for _, d := range st.Access {
		ok := d.Allowed
		add(AuditRecord{At: d.At, Kind: AuditAccess, By: d.By, Source: d.Source, Subject: st.ID, Text: strings.TrimSpace(d.Action + ": " + d.Reason), Allowed: &ok})
	}
	if st.FinishedAt != nil {
		t := st.Status
		if st.Error != "" {
			t += ": " + st.Error
		}
		add(AuditRecord{At: *st.FinishedAt, Kind: AuditRunFinished, By: names.TaskQueue, Subject: st.ID, Text: t})
	}
}
