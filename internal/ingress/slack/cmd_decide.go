package slack

import (
	"context"
	"fmt"
	"strings"

	"github.com/firebreak-ops/firebreak/internal/access"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// decideCommand approves or denies a waiting step:
// /firebreak approve|deny <run-id> <step> [comment…].
type decideCommand struct{ approve bool }

func (d decideCommand) Name() string {
	if d.approve {
		return "approve"
	}
	return "deny"
}

func (d decideCommand) Usage() string { return d.Name() + " <run-id> <step> [comment…]" }

func (d decideCommand) Help() string {
	if d.approve {
		return "approve a step waiting for approval"
	}
	return "deny a step waiting for approval; the run fails and rolls back"
}

func (decideCommand) Verb([]string) access.Verb { return access.RunsApprove }

func (d decideCommand) Run(_ context.Context, c *call) reply {
	if len(c.args) < 2 {
		return c.usage("Which run and step?")
	}
	id, step, comment := c.args[0], c.args[1], strings.Join(c.args[2:], " ")
	verb, done := "approving", "Approved"
	if !d.approve {
		verb, done = "denying", "Denied"
	}
	c.later(func(ctx context.Context) reply {
		req := runwire.ApprovalRequest{Step: step, Approve: d.approve, By: c.cmd.UserID, Comment: comment,
			Groups: c.h.groups.lookup(ctx, c.cmd.UserID), Source: runwire.SourceSlack}
		if _, err := c.h.runs.Approve(ctx, id, req); err != nil {
			return c.h.errorReply(d.Name()+" "+step, err)
		}
		c.h.log.Info("approval decided from slack", "id", id, "step", step, "approve", d.approve, "by", c.cmd.UserID)
		return reply{Text: fmt.Sprintf("%s *%s* of %s.", done, escape(step), code(id))}
	})
	return reply{Text: fmt.Sprintf("%s %s of %s…", verb, escape(step), code(id))}
}
