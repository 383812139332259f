package slack

import (
	"github.com/firebreak-ops/firebreak/internal/access"

	"context"
)

// helpCommand lists the subcommands.
type helpCommand struct{}

// Verb: anyone may ask for the list.
func (helpCommand) Verb([]string) access.Verb { return access.Public }

func (helpCommand) Name() string  { return "help" }
func (helpCommand) Usage() string { return "help" }
func (helpCommand) Help() string  { return "this list" }

func (helpCommand) Run(_ context.Context, c *call) reply {
	return reply{Text: "Firebreak runs runbooks as durable workflows.\n" + c.h.usageList(c.slash())}
}
