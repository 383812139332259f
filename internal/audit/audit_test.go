package audit

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/firebreak-ops/firebreak/internal/access"
	"github.com/firebreak-ops/firebreak/internal/names"
	incidentwire "github.com/firebreak-ops/firebreak/workflows/wire/incident"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

var t0 = time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)

// store is a visibility store and the workflows' records: it lists
// executions page by page, as Temporal does, and answers their queries.
type store struct {
	client.Client
	runs      []*workflowpb.WorkflowExecutionInfo
	incidents []*workflowpb.WorkflowExecutionInfo
	broken    map[string]bool // run IDs whose record cannot be read
	pageSizes []int32

	mu                 sync.Mutex
	reads, inFlight    atomic.Int32
	maxInFlight, total int32
}

func execution(id, runID string, started time.Time) *workflowpb.WorkflowExecutionInfo {
	return &workflowpb.WorkflowExecutionInfo{Execution: &commonpb.WorkflowExecution{WorkflowId: id, RunId: runID}, StartTime: timestamppb.New(started)}
}

func (s *store) ListWorkflow(_ context.Context, req *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	list := s.runs
	if strings.Contains(req.GetQuery(), names.IncidentWorkflow) {
		list = s.incidents
	}
	s.mu.Lock()
	s.pageSizes = append(s.pageSizes, req.GetPageSize())
	s.mu.Unlock()
	from := 0
	if len(req.GetNextPageToken()) > 0 {
		from, _ = strconv.Atoi(string(req.GetNextPageToken()))
	}
	to := min(from+int(req.GetPageSize()), len(list))
	resp := &workflowservice.ListWorkflowExecutionsResponse{Executions: list[from:to]}
	if to < len(list) {
		resp.NextPageToken = []byte(strconv.Itoa(to))
	}
	return resp, nil
}

func (s *store) read(runID string) error {
	n := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	s.mu.Lock()
	s.maxInFlight = max(s.maxInFlight, n)
	s.total++
	s.mu.Unlock()
	time.Sleep(50 * time.Microsecond)
	if s.broken[runID] {
		return access.Errorf(access.Busy, "", "temporal did not answer in time")
	}
	return nil
}

func (s *store) GetRun(_ context.Context, id, runID string) (*runwire.RunState, error) {
	if err := s.read(runID); err != nil {
		return nil, err
	}
	for _, e := range s.runs {
		if e.GetExecution().GetWorkflowId() == id && e.GetExecution().GetRunId() == runID {
			return &runwire.RunState{ID: id, Runbook: names.RunbookOf(id), Trigger: "api", StartedAt: e.GetStartTime().AsTime(), RequestedBy: runID}, nil
		}
	}
	return nil, fmt.Errorf("no run %s/%s", id, runID)
}

func (s *store) GetIncident(_ context.Context, id string) (*incidentwire.Incident, error) {
	if err := s.read(id); err != nil {
		return nil, err
	}
	return &incidentwire.Incident{ID: id, Timeline: []incidentwire.TimelineEntry{{At: t0, Kind: "declared", By: "alice", Text: "declared " + id}}}, nil
}

// export reads every page, as the CLI does.
func export(t *testing.T, svc *Service, limit int) (pages []*Page) {
	t.Helper()
	cursor := ""
	for range 100 {
		p, err := svc.AuditPage(context.Background(), PageRequest{Since: t0.Add(-time.Hour), Cursor: cursor, Limit: limit})
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, p)
		if cursor = p.Next; cursor == "" {
			return pages
		}
	}
	t.Fatal("the cursor never ran out")
	return nil
}

// TestAuditIsComplete: the export pages through every run and incident
// with a cursor, however many there are (it used to stop at 2,000), reads
// every execution of a workflow ID (a concurrency key runs many times),
// and reads no more than a page's worth of records, a few at a time.
func TestAuditIsComplete(t *testing.T) {
	s := &store{}
	for i := range 2500 {
		s.runs = append(s.runs, execution(fmt.Sprintf("runbook:restart:k%d", i%1250), fmt.Sprintf("r%d", i), t0.Add(time.Duration(i)*time.Second)))
	}
	for i := range 3 {
		s.incidents = append(s.incidents, execution(names.IncidentWorkflowID(names.IncidentID(2026, i+1)), fmt.Sprintf("i%d", i), t0))
	}
	svc := &Service{Client: s, Runs: s, Incidents: s}
	pages := export(t, svc, 500)
	runs, incidents := map[string]bool{}, 0
	for _, p := range pages {
		if len(p.Missing) != 0 {
			t.Fatalf("missing %+v", p.Missing)
		}
		for i, r := range p.Records {
			if i > 0 && r.At.Before(p.Records[i-1].At) {
				t.Fatalf("page out of order at %d", i)
			}
			switch r.Kind {
			case RunStarted:
				runs[r.By] = true // the fake's RequestedBy is the run ID
			case "incident.declared":
				incidents++
			}
		}
	}
	if len(runs) != 2500 || incidents != 3 {
		t.Fatalf("%d runs and %d incidents exported, want 2500 and 3", len(runs), incidents)
	}
	if s.total != 2503 || s.maxInFlight > maxConcurrentReads {
		t.Errorf("%d reads (want 2503), %d at once (at most %d)", s.total, s.maxInFlight, maxConcurrentReads)
	}
	for _, n := range s.pageSizes {
		if n > 500 {
			t.Errorf("listed %d at once", n)
		}
	}
	if n := len(pages); n != 6 { // 5 of runs, 1 of incidents
		t.Errorf("%d pages", n)
	}
}

// TestAuditSaysWhatIsMissing: a record that cannot be read is not skipped
// in silence: the page names the workflow, its run and why.
func TestAuditSaysWhatIsMissing(t *testing.T) {
	s := &store{broken: map[string]bool{"r1": true, names.IncidentID(2026, 2): true}}
	s.runs = []*workflowpb.WorkflowExecutionInfo{
		execution("runbook:restart:a", "r0", t0), execution("runbook:restart:b", "r1", t0.Add(time.Second)), execution("runbook:restart:c", "r2", t0.Add(2*time.Second)),
	}
	s.incidents = []*workflowpb.WorkflowExecutionInfo{
		execution(names.IncidentWorkflowID(names.IncidentID(2026, 1)), "i0", t0), execution(names.IncidentWorkflowID(names.IncidentID(2026, 2)), "i1", t0),
	}
	svc := &Service{Client: s, Runs: s, Incidents: s}
	var missing []Missing
	records := 0
	for _, p := range export(t, svc, 100) {
		missing = append(missing, p.Missing...)
		records += len(p.Records)
	}
	sort.Slice(missing, func(i, j int) bool { return missing[i].Kind > missing[j].Kind })
	if len(missing) != 2 || missing[0].Kind != "run" || missing[0].Subject != "runbook:restart:b" || missing[0].RunID != "r1" || !strings.Contains(missing[0].Error, "did not answer") ||
		missing[1].Kind != "incident" || missing[1].Subject != names.IncidentID(2026, 2) {
		t.Fatalf("missing %+v", missing)
	}
	if records != 3 { // two runs started, one incident declared
		t.Errorf("%d records", records)
	}
}

func TestAuditCursor(t *testing.T) {
	svc := &Service{Client: &store{}}
	for _, c := range []string{"nonsense", "eyJ4Ijo", encodeCursor(cursor{Phase: 7})} {
		_, err := svc.AuditPage(context.Background(), PageRequest{Cursor: c})
		var ae *access.Error
		if !errors.As(err, &ae) || ae.Kind != access.Invalid || ae.Field != "cursor" {
			t.Errorf("cursor %q: %v", c, err)
		}
	}
}
