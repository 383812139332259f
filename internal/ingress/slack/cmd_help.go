package slack

import "context"

// helpCommand lists the subcommands.
type helpCommand struct{}

func (helpCommand) Name() string  { return "help" }
func (helpCommand) Usage() string { return "help" }
func (helpCommand) Help() string  { return "this list" }

func (helpCommand) Run(_ context.Context, c *call) reply {
	return reply{Text: "Firebreak runs runbooks as durable workflows.\n" + c.h.usageList(c.slash())}
}
