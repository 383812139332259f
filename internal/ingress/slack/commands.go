package slack

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"

	slackgo "github.com/slack-go/slack"

	"github.com/firebreak-ops/firebreak/internal/access"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// command is one /firebreak subcommand. Each lives in its own file and is
// listed in allCommands.
type command interface {
	// Name is the word that selects it.
	Name() string
	// Usage is its arguments, for example "run <runbook> [key=value …]".
	Usage() string
	// Help says in a few words what it does.
	Help() string
	// Verb is what the policy must allow before Run, for these
	// arguments (the subcommand's own words, after its name).
	Verb(args []string) access.Verb
	// Run answers at once; work that talks to Temporal goes through
	// call.later.
	Run(ctx context.Context, c *call) reply
}

// allCommands lists the subcommands.
func allCommands() []command {
	return []command{
		helpCommand{}, runCommand{}, statusCommand{}, decideCommand{approve: true}, decideCommand{approve: false},
		cancelCommand{}, retryCommand{}, runbooksCommand{}, chaosCommand{}, incidentCommand{},
	}
}

// call is one invocation of a subcommand.
type call struct {
	h    *Handler
	cmd  slackgo.SlashCommand
	name string
	args []string
}

// slash is the command as the person typed it (/firebreak by default).
func (c *call) slash() string {
	if c.cmd.Command != "" {
		return c.cmd.Command
	}
	return "/firebreak"
}

// usage answers bad arguments with what was wrong and how to call it.
func (c *call) usage(format string, args ...any) reply {
	cmd := c.h.commands[c.name]
	return reply{Text: fmt.Sprintf("%s\nUsage: `%s %s`", fmt.Sprintf(format, args...), c.slash(), cmd.Usage())}
}

// later runs work in the background and sends its reply to the command's
// response_url.
func (c *call) later(work func(ctx context.Context) reply) {
	c.h.async(c.slash()+" "+c.name, c.cmd.ResponseURL, work)
}

// principal is the person calling, with their user groups.
func (c *call) principal(ctx context.Context) *access.Principal {
	return &access.Principal{ID: c.cmd.UserID, Name: c.cmd.UserName,
		Groups: c.h.groups.lookup(ctx, c.cmd.UserID), Source: runwire.SourceSlack}
}

// ServeCommand answers a slash command: signature first, then the
// subcommand's immediate reply, always 200 once the signature holds.
func (h *Handler) ServeCommand(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.verified(w, r); !ok {
		return
	}
	cmd, err := slackgo.SlashCommandParse(r)
	if err != nil {
		h.write(w, reply{Text: "Firebreak could not read this command: " + err.Error()})
		return
	}
	h.write(w, h.dispatch(r.Context(), cmd))
}

func (h *Handler) dispatch(ctx context.Context, cmd slackgo.SlashCommand) reply {
	c := &call{h: h, cmd: cmd, name: "help"}
	args, err := tokenize(unescapeSlack(cmd.Text))
	if err != nil {
		return reply{Text: fmt.Sprintf("Firebreak could not read `%s`: %v. Try `%s help`.", escape(unescapeSlack(cmd.Text)), err, c.slash())}
	}
	if len(args) == 0 {
		return h.commands["help"].Run(ctx, c)
	}
	name := strings.ToLower(args[0])
	sub, ok := h.commands[name]
	if !ok {
		return reply{Text: fmt.Sprintf("Unknown subcommand %s.\n%s", code(args[0]), h.usageList(c.slash()))}
	}
	c.name, c.args = name, args[1:]
	h.log.Info("slack command", "subcommand", name, "user", cmd.UserID, "channel", cmd.ChannelID)
	if err := h.authorize(ctx, cmd.UserID, cmd.UserName, sub.Verb(c.args)); err != nil {
		return h.errorReply(name, err)
	}
	return sub.Run(ctx, c)
}

// authorize asks the policy whether the Slack user may use the verb. The
// user's groups are looked up only when their ID alone is not enough.
func (h *Handler) authorize(ctx context.Context, userID, userName string, v access.Verb) error {
	p := &access.Principal{ID: userID, Name: userName, Source: runwire.SourceSlack}
	if h.cfg.Policy.Allowed(p, v) {
		return nil
	}
	p.Groups = h.groups.lookup(ctx, userID)
	return h.cfg.Policy.Check(p, v)
}

// usageList lists every subcommand's usage.
func (h *Handler) usageList(slash string) string {
	names := make([]string, 0, len(h.commands))
	for n := range h.commands {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("Subcommands:")
	for _, n := range names {
		c := h.commands[n]
		fmt.Fprintf(&b, "\n• `%s %s` — %s", slash, c.Usage(), c.Help())
	}
	return b.String()
}
