package incident

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/firebreak-ops/firebreak/activities/actions"
	"github.com/firebreak-ops/firebreak/internal/names"
	"github.com/firebreak-ops/firebreak/workflows/internal/wfutil"
	incidentwire "github.com/firebreak-ops/firebreak/workflows/wire/incident"
)

// maxSlackPostmortem bounds the Markdown quoted in the channel; the whole
// document is in the file and at the API.
const maxSlackPostmortem = 3500

// PostmortemWorkflow writes an incident's postmortem from its record: the
// report activity renders the Markdown (and its chart) and writes the
// file; the result keeps the document, so the API can serve it from any
// process; the incident channel gets a copy.
func PostmortemWorkflow(ctx workflow.Context, in incidentwire.PostmortemInput) (*incidentwire.PostmortemResult, error) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumAttempts: 5},
		Summary:             "render postmortem",
	})
	var res actions.Result
	if err := workflow.ExecuteActivity(actx, actions.ReportPostmortem, actions.Request{
		RunID: names.PostmortemWorkflowID(in.Incident.ID), Step: "render",
		With: map[string]any{"incident": in.Incident},
	}).Get(ctx, &res); err != nil {
		return nil, err
	}
	var out struct {
		Path     string `json:"path"`
		Markdown string `json:"markdown"`
	}
	err := decodeOutput(res.Output, &out) //workflowcheck:ignore JSON of an activity result is deterministic
	if err != nil {
		return nil, err
	}
	result := &incidentwire.PostmortemResult{ID: in.Incident.ID, Path: out.Path, Markdown: out.Markdown, GeneratedAt: workflow.Now(ctx).UTC()}
	if in.Channel != "" {
		md := out.Markdown
		if len(md) > maxSlackPostmortem {
			md = md[:maxSlackPostmortem] + "\n…"
		}
		text := fmt.Sprintf("*Postmortem draft for %s* (`firebreak incident postmortem %s`)\n```\n%s\n```", in.Incident.ID, in.Incident.ID, md)
		// The document exists whatever Slack says.
		_ = workflow.ExecuteActivity(wfutil.SlackOptions(ctx, "post postmortem"), actions.SlackPost, actions.Request{
			RunID: names.PostmortemWorkflowID(in.Incident.ID), Step: "slack-post",
			With: map[string]any{"channel": in.Channel, "text": text},
		}).Get(ctx, nil)
	}
	return result, nil
}
