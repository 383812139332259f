package slack

import (
	"slices"

	"github.com/firebreak-ops/firebreak/internal/access"

	"context"
	"fmt"
	"strings"

	"github.com/firebreak-ops/firebreak/internal/runs"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// runCommand starts a run: /firebreak run <runbook> [key=value …] [--dry-run].
type runCommand struct{}

func (runCommand) Name() string  { return "run" }
func (runCommand) Usage() string { return "run <runbook> [key=value …] [--dry-run]" }
func (runCommand) Help() string {
	return "start a run; its message in this channel follows it, with approval buttons"
}

// Verb is runs.dryRun for a dry run, runs.start otherwise.
func (runCommand) Verb(args []string) access.Verb {
	if slices.Contains(args, "--dry-run") {
		return access.RunsDryRun
	}
	return access.RunsStart
}

func (runCommand) Run(_ context.Context, c *call) reply {
	req := runs.StartRequest{Params: map[string]any{}, RequestedBy: c.cmd.UserID}
	for _, a := range c.args {
		switch {
		case a == "--dry-run":
			req.DryRun = true
		case strings.HasPrefix(a, "-"):
			return c.usage("Unknown option %s.", code(a))
		case strings.Contains(a, "="):
			k, v, _ := strings.Cut(a, "=")
			if k == "" {
				return c.usage("%s has no parameter name before =.", code(a))
			}
			if _, dup := req.Params[k]; dup {
				return c.usage("Parameter %s is given twice.", code(k))
			}
			req.Params[k] = v
		case req.Runbook == "":
			req.Runbook = a
		default:
			return c.usage("Unexpected %s: parameters are key=value.", code(a))
		}
	}
	if req.Runbook == "" {
		return c.usage("Which runbook? `%s runbooks` lists them.", c.slash())
	}
	if c.cmd.ChannelID != "" {
		req.Notify = &runwire.Notify{SlackChannel: c.cmd.ChannelID}
	}
	// Parameters are checked now, without Temporal (and without the
	// principal: who may run is decided when the run starts, with the
	// user's groups).
	check := req
	check.Trigger = runwire.TriggerSlack
	if _, err := c.h.runs.Prepare(check); err != nil {
		return c.h.errorReply("start "+req.Runbook, err)
	}
	c.later(func(ctx context.Context) reply {
		req.Principal = c.principal(ctx)
		ref, err := c.h.runs.StartRun(ctx, req)
		if err != nil {
			return c.h.errorReply("start "+req.Runbook, err)
		}
		c.h.log.Info("run started from slack", "id", ref.ID, "runbook", ref.Runbook, "user", c.cmd.UserID, "dryRun", req.DryRun)
		kind := "run"
		if ref.DryRun {
			kind = "dry run"
		}
		return reply{Text: fmt.Sprintf("Started a %s of *%s*: %s%s", kind, escape(ref.Runbook), code(ref.ID), c.h.runLink(ref.ID, ref.URL))}
	})
	if req.DryRun {
		return reply{Text: fmt.Sprintf("starting a dry run of %s…", escape(req.Runbook))}
	}
	return reply{Text: fmt.Sprintf("starting %s…", escape(req.Runbook))}
}
