package slack

import (
	"github.com/firebreak-ops/firebreak/internal/access"

	"context"
	"fmt"
	"strings"
)

// runbooksCommand lists the catalog.
type runbooksCommand struct{}

func (runbooksCommand) Verb([]string) access.Verb { return access.RunsRead }

func (runbooksCommand) Name() string  { return "runbooks" }
func (runbooksCommand) Usage() string { return "runbooks" }
func (runbooksCommand) Help() string  { return "the runbooks you can run, with their parameters" }

// maxListChars keeps the listing inside one message.
const maxListChars = 30000

func (runbooksCommand) Run(_ context.Context, c *call) reply {
	if len(c.args) != 0 {
		return c.usage("runbooks takes no arguments.")
	}
	list := c.h.runs.Runbooks()
	if len(list) == 0 {
		return reply{Text: "No runbooks are loaded."}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "*%d runbooks* — run one with `%s run <runbook> key=value …`", len(list), c.slash())
	for _, rb := range list {
		line := fmt.Sprintf("\n• *%s*", escape(rb.Name))
		if rb.Description != "" {
			line += " — " + escape(rb.Description)
		}
		var params []string
		for _, p := range rb.Params {
			s := fmt.Sprintf("`%s` (%s", p.Name, p.Type)
			switch {
			case p.Required:
				s += ", required"
			case p.Default != nil:
				s += fmt.Sprintf(", default %v", p.Default)
			}
			params = append(params, escape(s)+")")
		}
		if len(params) > 0 {
			line += "\n    params: " + strings.Join(params, ", ")
		}
		if b.Len()+len(line) > maxListChars {
			fmt.Fprintf(&b, "\n… and more")
			break
		}
		b.WriteString(line)
	}
	return reply{Text: b.String()}
}
