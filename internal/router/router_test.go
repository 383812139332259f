package router

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/firebreak-ops/firebreak/internal/names"
	"github.com/firebreak-ops/firebreak/internal/runs"
	"github.com/firebreak-ops/firebreak/runbooks"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

type fakeIncidents struct {
	open  map[string]string
	err   error
	calls int
}

func (f *fakeIncidents) OpenByService(context.Context) (map[string]string, error) {
	f.calls++
	return f.open, f.err
}

func TestLinkDeliveries(t *testing.T) {
	alert := func(service string) Incoming {
		return Incoming{Source: runwire.TriggerAlertmanager, Alert: &runwire.Alert{Labels: map[string]string{"service": service}}}
	}
	event := func(service string) Incoming {
		return Incoming{Source: runwire.TriggerPagerDuty, Event: map[string]any{"data": map[string]any{"service": map[string]any{"summary": service}}}}
	}
	open := map[string]string{"checkout": "INC-2026-0002", "search": "INC-2026-0001"}
	for _, tc := range []struct {
		name  string
		in    []Incoming
		named string // an incident the run already names
		err   error
		want  []string
		calls int
	}{
		{"alert service", []Incoming{alert("checkout"), alert("search")}, "", nil, []string{"INC-2026-0002", "INC-2026-0001"}, 1},
		{"pagerduty service", []Incoming{event("search")}, "", nil, []string{"INC-2026-0001"}, 1},
		{"no open incident", []Incoming{alert("cart")}, "", nil, []string{""}, 1},
		{"no service asks nothing", []Incoming{alert("")}, "", nil, []string{""}, 0},
		{"named incident kept", []Incoming{alert("checkout")}, "INC-2026-0009", nil, []string{"INC-2026-0009"}, 0},
		{"listing fails links nothing", []Incoming{alert("checkout")}, "", errors.New("down"), []string{""}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inc := &fakeIncidents{open: open, err: tc.err}
			if tc.err != nil {
				inc.open = nil
			}
			s := &Service{Incidents: inc}
			var matched []*delivery
			for _, in := range tc.in {
				matched = append(matched, &delivery{in: in, prep: &runs.Prepared{Input: runwire.RunInput{Incident: tc.named}}})
			}
			s.linkDeliveries(context.Background(), matched)
			for i, d := range matched {
				if d.prep.Input.Incident != tc.want[i] {
					t.Errorf("delivery %d linked to %q, want %q", i, d.prep.Input.Incident, tc.want[i])
				}
			}
			if inc.calls != tc.calls {
				t.Errorf("%d listings, want %d", inc.calls, tc.calls)
			}
		})
	}
}

// visibility answers the router's limit queries from a list of runs, as
// Temporal's visibility store would, and records the queries.
type visibility struct {
	client.Client
	runs    []visible
	queries []string
}

type visible struct {
	runbook, key string
	dryRun       bool
	started      time.Time
}

// matches evaluates the only clauses the router's limit queries use.
func (v *visibility) matches(q string, r visible) bool {
	if !strings.Contains(q, fmt.Sprintf("%s = '%s'", names.SARunbook, r.runbook)) || !strings.Contains(q, fmt.Sprintf("%s = '%s'", names.SAKey, r.key)) {
		return false
	}
	if r.dryRun && !strings.Contains(q, names.SADryRun+" = true") && strings.Contains(q, names.SADryRun+" = false") {
		return false
	}
	_, after, _ := strings.Cut(q, "StartTime > '")
	since, err := time.Parse(time.RFC3339Nano, strings.TrimSuffix(after, "'"))
	return err == nil && r.started.After(since)
}

func (v *visibility) ListWorkflow(_ context.Context, req *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	v.queries = append(v.queries, req.GetQuery())
	resp := &workflowservice.ListWorkflowExecutionsResponse{}
	for _, r := range v.runs {
		if v.matches(req.GetQuery(), r) {
			resp.Executions = append(resp.Executions, &workflowpb.WorkflowExecutionInfo{StartTime: timestamppb.New(r.started)})
		}
	}
	return resp, nil
}

func (v *visibility) CountWorkflow(_ context.Context, req *workflowservice.CountWorkflowExecutionsRequest) (*workflowservice.CountWorkflowExecutionsResponse, error) {
	v.queries = append(v.queries, req.GetQuery())
	var n int64
	for _, r := range v.runs {
		if v.matches(req.GetQuery(), r) {
			n++
		}
	}
	return &workflowservice.CountWorkflowExecutionsResponse{Count: n}, nil
}

// TestLimitsIgnoreDryRuns: a dry run a moment ago is no reason to hold a
// real run back, by cooldown or by maxRunsPerHour; a real run is.
func TestLimitsIgnoreDryRuns(t *testing.T) {
	cat, err := runbooks.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	rs := &runs.Service{Catalog: cat, Now: func() time.Time { return now }}
	prep, err := rs.Prepare(runs.StartRequest{Runbook: "restart-deployment", Params: map[string]any{"namespace": "prod", "deployment": "db"}, Trigger: runwire.TriggerAlertmanager})
	if err != nil {
		t.Fatal(err)
	}
	dry := func(ago time.Duration) visible {
		return visible{runbook: "restart-deployment", key: "prod/db", dryRun: true, started: now.Add(-ago)}
	}
	for _, tc := range []struct {
		name string
		runs []visible
		want string
	}{
		{"nothing before", nil, ""},
		{"a dry run 3s ago", []visible{dry(3 * time.Second)}, ""},
		{"three dry runs this hour", []visible{dry(50 * time.Minute), dry(30 * time.Minute), dry(20 * time.Minute)}, ""},
		{"a real run 3s ago", []visible{{runbook: "restart-deployment", key: "prod/db", started: now.Add(-3 * time.Second)}}, "cooldown: the last run for prod/db started 3s ago"},
		{"another target's run", []visible{{runbook: "restart-deployment", key: "prod/web", started: now.Add(-3 * time.Second)}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := &visibility{runs: tc.runs}
			s := &Service{Client: v}
			reason, err := s.limited(context.Background(), prep, now)
			if err != nil {
				t.Fatal(err)
			}
			if (tc.want == "") != (reason == "") || !strings.Contains(reason, tc.want) {
				t.Errorf("limited = %q, want %q (queries %q)", reason, tc.want, v.queries)
			}
		})
	}
}
