package slack

import (
	"github.com/firebreak-ops/firebreak/internal/access"

	"context"
	"fmt"
	"strings"
	"time"

	"github.com/firebreak-ops/firebreak/internal/render/slackmsg"
	"github.com/firebreak-ops/firebreak/internal/runs"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// statusCommand shows the latest runs, or one run's steps.
type statusCommand struct{}

// recentRuns is how many runs status lists.
const recentRuns = 10

func (statusCommand) Verb([]string) access.Verb { return access.RunsRead }

func (statusCommand) Name() string  { return "status" }
func (statusCommand) Usage() string { return "status [run-id]" }
func (statusCommand) Help() string {
	return fmt.Sprintf("the %d most recent runs, or one run's steps", recentRuns)
}

func (statusCommand) Run(_ context.Context, c *call) reply {
	switch len(c.args) {
	case 0:
		c.later(func(ctx context.Context) reply {
			list, err := c.h.runs.ListRuns(ctx, runs.Filter{Limit: recentRuns})
			if err != nil {
				return c.h.errorReply("list runs", err)
			}
			return c.h.runList(list)
		})
		return reply{Text: "looking up the latest runs…"}
	case 1:
		id := c.args[0]
		c.later(func(ctx context.Context) reply {
			st, err := c.h.runs.GetRun(ctx, id, "")
			if err != nil {
				return c.h.errorReply("read run "+id, err)
			}
			return reply{Text: slackmsg.RunText(st), Blocks: slackmsg.RunBlocks(st, c.h.cfg.UIURL)}
		})
		return reply{Text: fmt.Sprintf("looking up %s…", code(id))}
	}
	return c.usage("Give one run ID, or none for the latest runs.")
}

var runIcons = map[string]string{
	runwire.StatusRunning:         "▶",
	runwire.StatusWaitingApproval: "⏸",
	runwire.StatusSucceeded:       "✓",
	runwire.StatusFailed:          "✗",
	runwire.StatusCancelled:       "⊘",
}

func (h *Handler) runList(list []runs.Summary) reply {
	if len(list) == 0 {
		return reply{Text: "No runs yet. Start one with `/firebreak run <runbook>`."}
	}
	now := h.cfg.Now()
	var b strings.Builder
	fmt.Fprintf(&b, "*Latest %d runs*", len(list))
	for _, r := range list {
		icon := runIcons[r.Status]
		if icon == "" {
			icon = "·"
		}
		fmt.Fprintf(&b, "\n%s %s *%s* — %s", icon, code(r.ID), escape(r.Runbook), strings.ReplaceAll(r.Status, "_", " "))
		if r.DryRun {
			b.WriteString(" (dry run)")
		}
		if r.Trigger != "" {
			b.WriteString(" · " + escape(r.Trigger))
		}
		if !r.StartedAt.IsZero() {
			b.WriteString(" · started " + ago(now.Sub(r.StartedAt)))
		}
		b.WriteString(h.runLink(r.ID, r.URL))
	}
	return reply{Text: b.String()}
}

// ago says how long ago, roughly.
func ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}
