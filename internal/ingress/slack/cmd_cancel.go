package slack

import (
	"github.com/firebreak-ops/firebreak/internal/access"

	"context"
	"fmt"
)

// cancelCommand stops a run: /firebreak cancel <run-id>.
type cancelCommand struct{}

func (cancelCommand) Name() string  { return "cancel" }
func (cancelCommand) Usage() string { return "cancel <run-id>" }
func (cancelCommand) Help() string  { return "stop a run; it rolls back what it completed" }

func (cancelCommand) Verb([]string) access.Verb { return access.RunsCancel }

func (cancelCommand) Run(_ context.Context, c *call) reply {
	if len(c.args) != 1 {
		return c.usage("Which run?")
	}
	id := c.args[0]
	c.later(func(ctx context.Context) reply {
		if err := c.h.runs.Cancel(ctx, id, c.principal(ctx)); err != nil {
			return c.h.errorReply("cancel "+id, err)
		}
		c.h.log.Info("run cancelled from slack", "id", id, "user", c.cmd.UserID)
		return reply{Text: fmt.Sprintf("Cancelling %s: it rolls back what it completed.", code(id))}
	})
	return reply{Text: fmt.Sprintf("cancelling %s…", code(id))}
}
