package slack

import (
	"context"
	"strings"

	"github.com/firebreak-ops/firebreak/internal/access"
	"github.com/firebreak-ops/firebreak/internal/runs"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// retryCommand retries a finished run: /firebreak retry <run> [step]
// [reason…].
type retryCommand struct{}

func (retryCommand) Name() string  { return "retry" }
func (retryCommand) Usage() string { return "retry <run> [step] [reason]" }
func (retryCommand) Help() string {
	return "retry a finished run from the step that failed (or the step named); earlier steps do not run again"
}

func (retryCommand) Verb([]string) access.Verb { return access.RunsStart }

func (retryCommand) Run(_ context.Context, c *call) reply {
	if len(c.args) == 0 {
		return c.usage("Which run?")
	}
	ref := c.args[0]
	req := runs.RetryRequest{By: c.cmd.UserID, Source: runwire.SourceSlack}
	if len(c.args) > 1 {
		req.From = c.args[1]
	}
	if len(c.args) > 2 {
		req.Reason = strings.Join(c.args[2:], " ")
	}
	c.later(func(ctx context.Context) reply {
		req.Principal = c.principal(ctx)
		res, err := c.h.runs.Retry(ctx, ref, req)
		if err != nil {
			return c.h.errorReply("retry "+ref, err)
		}
		c.h.log.Info("run retried from slack", "id", res.ID, "from", res.From, "user", c.cmd.UserID)
		return retryReply(res)
	})
	return reply{Text: "retrying " + code(ref) + "…"}
}
