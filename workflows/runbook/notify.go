package runbook

import (
	"go.temporal.io/sdk/workflow"

	"github.com/firebreak-ops/firebreak/activities/actions"
	"github.com/firebreak-ops/firebreak/workflows/internal/wfutil"
)

// changed notes that the run's state changed, for the Slack message.
func (r *runner) changed() { r.version++ }

// notifier keeps the run's Slack message in step with its state: it sends
// the newest state whenever it changed, one update at a time, so a burst
// of changes is one update. Slack failures never touch the run.
func (r *runner) notifier(ctx workflow.Context) {
	ctx = wfutil.SlackOptions(ctx, "slack message")
	for {
		if err := workflow.Await(ctx, func() bool { return r.version != r.sent || r.closing }); err != nil {
			return
		}
		if r.version == r.sent {
			return
		}
		v := r.version
		msg := r.state.Slack
		// A bounded run sends the trimmed view the message is rendered
		// from, not its whole state.
		var state any = r.state
		if r.bounded {
			state = r.state.SlackView()
		}
		var res actions.Result
		err := workflow.ExecuteActivity(ctx, actions.SlackRunMessage, actions.Request{
			RunID: r.in.ID, Runbook: r.in.Runbook.Name(), Step: "slack-message",
			With: map[string]any{"channel": msg.Channel, "ts": msg.TS, "state": state},
		}).Get(ctx, &res)
		if out, ok := res.Output.(map[string]any); err == nil && ok {
			// Slack answers with the channel's ID, which updates need even
			// when the runbook named the channel #like-this.
			if ts, _ := out["ts"].(string); ts != "" {
				r.state.Slack.TS = ts
			}
			if ch, _ := out["channel"].(string); ch != "" {
				r.state.Slack.Channel = ch
			}
		}
		r.sent = v
	}
}
