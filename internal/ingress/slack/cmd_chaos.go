package slack

import (
	"context"
	"fmt"
	"strings"

	"github.com/firebreak-ops/firebreak/internal/access"
	chaoswire "github.com/firebreak-ops/firebreak/workflows/wire/chaos"
)

// Chaos is what the chaos subcommand needs of chaos.
type Chaos interface {
	HaltChaos(ctx context.Context, h chaoswire.ChaosHalt) (*chaoswire.ChaosState, error)
	ResumeChaos(ctx context.Context, h chaoswire.ChaosHalt) (*chaoswire.ChaosState, error)
	ChaosState(ctx context.Context) (*chaoswire.ChaosState, error)
	AbortExperiment(ctx context.Context, id string, h chaoswire.ChaosHalt) error
}

// chaosCommand halts and resumes chaos and shows what runs:
// /firebreak chaos halt [reason], chaos resume, chaos status, chaos abort <run-id>.
// Anyone who can use the command may halt: stopping chaos must never wait
// for permission.
type chaosCommand struct{}

func (chaosCommand) Name() string { return "chaos" }
func (chaosCommand) Usage() string {
	return "chaos halt [reason] | chaos resume | chaos status | chaos abort <run-id>"
}
func (chaosCommand) Help() string {
	return "halt every chaos experiment now (and refuse new ones), resume, or show what runs"
}

func (chaosCommand) Verb(args []string) access.Verb {
	if len(args) == 0 {
		return access.Public
	}
	switch strings.ToLower(args[0]) {
	case "halt", "abort":
		return access.ChaosHalt
	case "resume":
		return access.ChaosResume
	case "status":
		return access.ChaosRead
	}
	return access.Public // answered with the usage
}

func (chaosCommand) Run(_ context.Context, c *call) reply {
	if len(c.args) == 0 {
		return c.usage("Which chaos subcommand?")
	}
	by := c.cmd.UserID
	if c.cmd.UserName != "" {
		by = c.cmd.UserName + " (" + c.cmd.UserID + ")"
	}
	reason := strings.Join(c.args[1:], " ")
	switch strings.ToLower(c.args[0]) {
	case "halt", "resume":
		verb := strings.ToLower(c.args[0])
		c.later(func(ctx context.Context) reply {
			do := c.h.chaos.HaltChaos
			if verb == "resume" {
				do = c.h.chaos.ResumeChaos
			}
			st, err := do(ctx, chaoswire.ChaosHalt{Reason: reason, By: by})
			if err != nil {
				return c.h.errorReply("chaos "+verb, err)
			}
			c.h.log.Warn("chaos switched from slack", "op", verb, "user", c.cmd.UserID, "reason", reason)
			if verb == "resume" {
				return reply{Text: "Chaos resumed: experiments may run again."}
			}
			return reply{Text: fmt.Sprintf(":octagonal_sign: Chaos halted by <@%s>%s. %d running experiment(s) are rolling back; new ones are refused until `%s chaos resume`.",
				c.cmd.UserID, reasonSuffix(reason), len(st.Running), c.slash())}
		})
		return reply{Text: map[string]string{"halt": "halting chaos…", "resume": "resuming chaos…"}[verb]}
	case "status":
		c.later(func(ctx context.Context) reply {
			st, err := c.h.chaos.ChaosState(ctx)
			if err != nil {
				return c.h.errorReply("chaos status", err)
			}
			var b strings.Builder
			if st.Halted {
				fmt.Fprintf(&b, "Chaos is *halted* by %s%s.", st.By, reasonSuffix(st.Reason))
			} else {
				b.WriteString("Chaos is allowed.")
			}
			fmt.Fprintf(&b, " %d experiment(s) running.", len(st.Running))
			for _, id := range st.Running {
				fmt.Fprintf(&b, "\n• %s", code(id))
			}
			return reply{Text: b.String()}
		})
		return reply{Text: "looking…"}
	case "abort":
		if len(c.args) < 2 {
			return c.usage("Which experiment run?")
		}
		id := c.args[1]
		reason = strings.Join(c.args[2:], " ")
		c.later(func(ctx context.Context) reply {
			if err := c.h.chaos.AbortExperiment(ctx, id, chaoswire.ChaosHalt{Reason: reason, By: by}); err != nil {
				return c.h.errorReply("chaos abort "+id, err)
			}
			return reply{Text: fmt.Sprintf("Aborting %s: its fault is being removed.", code(id))}
		})
		return reply{Text: fmt.Sprintf("aborting %s…", code(id))}
	}
	return c.usage("Unknown chaos subcommand %s.", code(c.args[0]))
}

func reasonSuffix(reason string) string {
	if reason == "" {
		return ""
	}
	return ": " + reason
}
