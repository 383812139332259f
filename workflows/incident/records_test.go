package incident_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"

	"github.com/firebreak-ops/firebreak/internal/names"
	incidentwire "github.com/firebreak-ops/firebreak/workflows/wire/incident"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// TestCommandAnswersSmall: an incident command answers with a small
// acknowledgement, not the record, however large the record is; links
// beyond the record's bound are refused in the timeline, not kept.
func TestCommandAnswersSmall(t *testing.T) {
	h := newIncidentHarness(t, nil)
	var answers []*incidentwire.CommandResult
	var sizes []int
	send := func(d time.Duration, c incidentwire.IncidentCommand) {
		h.at(d, func() {
			h.UpdateWorkflow(names.IncidentCommandUpdate, "", &testsuite.TestUpdateCallback{
				OnAccept: func() {},
				OnReject: func(err error) { t.Errorf("%s rejected: %v", c.Kind, err) },
				OnComplete: func(v any, err error) {
					if err != nil {
						t.Errorf("%s: %v", c.Kind, err)
						return
					}
					b, _ := json.Marshal(v)
					sizes = append(sizes, len(b))
					var res incidentwire.CommandResult
					_ = json.Unmarshal(b, &res)
					answers = append(answers, &res)
				},
			}, c)
		})
	}
	url := "https://grafana.example/d/" + strings.Repeat("x", incidentwire.MaxURLBytes-40)
	for i := range 60 {
		send(time.Duration(i+1)*time.Second, incidentwire.IncidentCommand{Kind: incidentwire.CommandLink, By: "bob",
			Link: &incidentwire.Link{Kind: incidentwire.LinkDashboard, Title: "board", URL: fmt.Sprintf("%s%04d", url, i)}})
	}
	send(2*time.Minute, incidentwire.IncidentCommand{Kind: incidentwire.CommandStatus, Status: incidentwire.IncidentMitigated, By: "alice", Text: "rolled back"})
	send(3*time.Minute, incidentwire.IncidentCommand{Kind: incidentwire.CommandResolve, By: "alice", Text: "done"})
	h.declare(incidentwire.DeclareRequest{Title: "links", Severity: incidentwire.SeverityLow, DeclaredBy: "alice"}, incidentwire.IncidentSettings{})
	inc := h.result()
	if len(answers) != 62 {
		t.Fatalf("%d answers", len(answers))
	}
	for i, n := range sizes {
		if n > 6<<10 {
			t.Errorf("answer %d is %d bytes", i, n)
		}
	}
	if a := answers[60]; a.ID != testIncident || a.Status != incidentwire.IncidentMitigated || a.Command != incidentwire.CommandStatus ||
		a.Entry == nil || a.Entry.Text != "status investigating → mitigated: rolled back" {
		t.Errorf("mitigate answered %+v", a)
	}
	if a := answers[59]; a.Entry == nil || !strings.HasPrefix(a.Entry.Text, "link not kept") {
		t.Errorf("the 60th link answered %+v", a.Entry)
	}
	if len(inc.Links) > incidentwire.MaxRecordLinks || len(inc.Links) == 0 {
		t.Errorf("%d links kept", len(inc.Links))
	}
}

// TestRecordStaysBounded: whatever is reported into an incident — long
// texts of characters JSON escapes, many step reports and alerts with big
// labels, a huge ref — its record stays far inside Temporal's payload
// limit, so it can continue as new and write its postmortem.
func TestRecordStaysBounded(t *testing.T) {
	h := newIncidentHarness(t, nil)
	for i := range 600 {
		// One callback each: the test environment's queue is short.
		h.at(time.Minute+time.Duration(i)*time.Second, func() {
			at := incidentStart.Add(time.Duration(i) * time.Second)
			h.SignalWorkflow(names.IncidentEventSignal, incidentwire.IncidentEvent{At: at, Kind: incidentwire.TimelineStep, By: "firebreak",
				Text: strings.Repeat("<&>", 2000), Ref: strings.Repeat("r", 5000), Run: fmt.Sprintf("runbook:x:%d", i),
				Step: &incidentwire.StepReport{Run: "runbook:x", Step: "s", Status: runwire.StepFailed, Error: strings.Repeat("<", 5000)}})
			h.SignalWorkflow(names.IncidentEventSignal, incidentwire.IncidentEvent{At: at, Kind: incidentwire.TimelineAlert, By: "alertmanager", Text: "alert",
				Alert: &incidentwire.IncidentAlert{Source: "alertmanager", Fingerprint: fmt.Sprint(i), Labels: map[string]string{"big": strings.Repeat("&", 5000)}}})
		})
	}
	h.command(2*time.Hour, incidentwire.IncidentCommand{Kind: incidentwire.CommandResolve, By: "alice", Text: strings.Repeat("<", incidentwire.MaxSummaryBytes)}, nil)
	h.declare(incidentwire.DeclareRequest{Title: "flood", Severity: incidentwire.SeverityLow, DeclaredBy: "alice"}, incidentwire.IncidentSettings{MaxEvents: 100_000})
	inc := h.result()
	payload, err := converter.GetDefaultDataConverter().ToPayload(inc)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(payload.GetData()); n > 1536<<10 {
		t.Errorf("the record is %d bytes", n)
	}
	if inc.Postmortem == nil || inc.Postmortem.Error != "" {
		t.Errorf("postmortem %+v", inc.Postmortem)
	}
	if len(inc.Runs) > incidentwire.MaxRecordRuns || len(inc.Timeline) == 0 || inc.Timeline[len(inc.Timeline)-1].Kind != incidentwire.TimelinePostmortem {
		t.Errorf("%d runs, %d entries", len(inc.Runs), len(inc.Timeline))
	}
}
