package slack

import (
	"github.com/firebreak-ops/firebreak/internal/access"

	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/firebreak-ops/firebreak/internal/names"
	"github.com/firebreak-ops/firebreak/internal/render/slackmsg"
	incidentwire "github.com/firebreak-ops/firebreak/workflows/wire/incident"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// Incidents is what the incident subcommand needs of incidents.
type Incidents interface {
	DeclareIncident(ctx context.Context, req incidentwire.DeclareRequest, key string) (*incidentwire.Incident, error)
	GetIncident(ctx context.Context, id string) (*incidentwire.Incident, error)
	IncidentCommand(ctx context.Context, id string, cmd incidentwire.IncidentCommand) (*incidentwire.CommandResult, error)
	IncidentByChannel(ctx context.Context, channel string) (string, error)
}

// incidentCommand declares incidents and, in an incident's channel (or
// naming the incident), records status changes, roles, notes, severity
// and resolution, each with who and when:
//
//	/firebreak incident declare sev2 "Checkout 5xx" [@commander] [service=checkout,…]
//	/firebreak incident status mitigated "rolled back"
//	/firebreak incident role scribe @x
//	/firebreak incident note "…"
//	/firebreak incident sev sev1
//	/firebreak incident resolve ["summary"]
//	/firebreak incident [show]
//
// Outside the channel, put the incident ID first: incident INC-2026-0042 note "…".
type incidentCommand struct{}

func (incidentCommand) Name() string { return "incident" }
func (incidentCommand) Usage() string {
	return `incident declare <sev1..sev4> "<title>" [@commander] [service=a,b] | incident [INC-…] status <status> ["note"] | role <scribe|comms|commander> @user | note "<text>" | sev <sev> | resolve ["summary"] | show`
}
func (incidentCommand) Help() string {
	return "declare an incident (channel, pinned summary, chaos halt on SEV1/2), then run it from its channel"
}

var slackMention = regexp.MustCompile(`^<@([A-Z0-9]+)(\|[^>]*)?>$`)

// slackUser reads a user argument: a mention (<@U123|name>) or @name.
func slackUser(arg string) string {
	if m := slackMention.FindStringSubmatch(arg); m != nil {
		return m[1]
	}
	return strings.TrimPrefix(arg, "@")
}

// Verb is incidents.declare to declare, incidents.read to show, and
// incidents.command for every change.
func (incidentCommand) Verb(args []string) access.Verb {
	if len(args) > 0 && strings.EqualFold(args[0], "declare") {
		return access.IncidentsDeclare
	}
	if len(args) > 0 && names.IsIncidentID(strings.ToUpper(args[0])) {
		args = args[1:]
	}
	if len(args) == 0 || strings.EqualFold(args[0], "show") || strings.EqualFold(args[0], "status") && len(args) == 1 {
		return access.IncidentsRead
	}
	return access.IncidentsCommand
}

func (incidentCommand) Run(_ context.Context, c *call) reply {
	svc := c.h.incidents
	if svc == nil {
		return reply{Text: "Incidents are not available here."}
	}
	args := c.args
	if len(args) > 0 && strings.EqualFold(args[0], "declare") {
		return declareIncident(c, svc, args[1:])
	}
	id := ""
	if len(args) > 0 && names.IsIncidentID(strings.ToUpper(args[0])) {
		id, args = strings.ToUpper(args[0]), args[1:]
	}
	sub := "show"
	if len(args) > 0 {
		sub, args = strings.ToLower(args[0]), args[1:]
	}
	cmd := incidentwire.IncidentCommand{By: c.cmd.UserID, Source: runwire.SourceSlack}
	rest := strings.Join(args, " ")
	switch sub {
	case "show", "status":
		if sub == "show" || len(args) == 0 {
			return showIncident(c, svc, id)
		}
		cmd.Kind, cmd.Status, cmd.Text = incidentwire.CommandStatus, strings.ToLower(args[0]), strings.Join(args[1:], " ")
		if !slices.Contains(incidentwire.IncidentStatuses, cmd.Status) {
			return c.usage("Status must be one of %s.", strings.Join(incidentwire.IncidentStatuses, ", "))
		}
	case "role":
		if len(args) != 2 {
			return c.usage("Say the role and who: `role scribe @someone`.")
		}
		cmd.Kind, cmd.Role, cmd.User = incidentwire.CommandRole, strings.ToLower(args[0]), slackUser(args[1])
	case "note":
		if rest == "" {
			return c.usage("What is the note?")
		}
		cmd.Kind, cmd.Text = incidentwire.CommandNote, rest
	case "sev", "severity":
		if len(args) == 0 {
			return c.usage("Which severity?")
		}
		cmd.Kind, cmd.Severity, cmd.Text = incidentwire.CommandSeverity, strings.ToLower(args[0]), strings.Join(args[1:], " ")
	case "resolve":
		cmd.Kind, cmd.Text = incidentwire.CommandResolve, rest
	default:
		return c.usage("Unknown incident subcommand %s.", code(sub))
	}
	c.later(func(ctx context.Context) reply {
		target, err := incidentHere(ctx, c, svc, id)
		if err != nil || target == "" {
			return incidentMissing(c, err)
		}
		res, err := svc.IncidentCommand(ctx, target, cmd)
		if err != nil {
			return c.h.errorReply(sub+" "+target, err)
		}
		c.h.log.Info("incident command from slack", "id", target, "kind", cmd.Kind, "user", c.cmd.UserID)
		return reply{InChannel: true, Text: fmt.Sprintf("%s: %s (<@%s>)", res.ID, escape(res.Text()), c.cmd.UserID)}
	})
	return reply{Text: fmt.Sprintf("recording %s…", sub)}
}

// incidentHere names the incident: the one given, else the one whose
// channel this is.
func incidentHere(ctx context.Context, c *call, svc Incidents, id string) (string, error) {
	if id != "" {
		return id, nil
	}
	return svc.IncidentByChannel(ctx, c.cmd.ChannelID)
}

func incidentMissing(c *call, err error) reply {
	if err != nil {
		return c.h.errorReply("find the incident", err)
	}
	return reply{Text: fmt.Sprintf("This channel belongs to no open incident. Name one: `%s incident INC-… note \"…\"`.", c.slash())}
}

func showIncident(c *call, svc Incidents, id string) reply {
	c.later(func(ctx context.Context) reply {
		target, err := incidentHere(ctx, c, svc, id)
		if err != nil || target == "" {
			return incidentMissing(c, err)
		}
		inc, err := svc.GetIncident(ctx, target)
		if err != nil {
			return c.h.errorReply("read "+target, err)
		}
		view := *inc
		if n := len(view.Timeline); n > 10 {
			view.Timeline = view.Timeline[n-10:]
		}
		return reply{Text: slackmsg.IncidentText(&view), Blocks: slackmsg.IncidentBlocks(&view)}
	})
	return reply{Text: "looking up the incident…"}
}

func declareIncident(c *call, svc Incidents, args []string) reply {
	req := incidentwire.DeclareRequest{DeclaredBy: c.cmd.UserID, Source: runwire.SourceSlack, Responders: []string{c.cmd.UserID}}
	for _, a := range args {
		switch {
		case req.Severity == "" && slices.Contains(incidentwire.Severities, strings.ToLower(a)):
			req.Severity = strings.ToLower(a)
		case strings.HasPrefix(a, "service=") || strings.HasPrefix(a, "services="):
			_, v, _ := strings.Cut(a, "=")
			for _, s := range strings.Split(v, ",") {
				if s = strings.TrimSpace(s); s != "" {
					req.Services = append(req.Services, s)
				}
			}
		case strings.HasPrefix(a, "@") || slackMention.MatchString(a):
			if req.Commander != "" {
				return c.usage("Only one commander, please.")
			}
			req.Commander = slackUser(a)
		case req.Title == "":
			req.Title = a
		default:
			return c.usage("Unexpected %s: quote the title.", code(a))
		}
	}
	if req.Severity == "" || req.Title == "" {
		return c.usage("Say the severity (%s) and a quoted title.", strings.Join(incidentwire.Severities, ", "))
	}
	if req.Commander == "" {
		req.Commander = c.cmd.UserID
	}
	// Slack's trigger_id names this command: the same command delivered
	// twice declares one incident.
	key := ""
	if c.cmd.TriggerID != "" {
		key = "slack:" + c.cmd.TriggerID
	}
	c.later(func(ctx context.Context) reply {
		inc, err := svc.DeclareIncident(ctx, req, key)
		if err != nil {
			return c.h.errorReply("declare", err)
		}
		c.h.log.Info("incident declared from slack", "id", inc.ID, "severity", inc.Severity, "user", c.cmd.UserID)
		return reply{InChannel: true, Text: fmt.Sprintf("<@%s> declared *%s* (%s): %s — commander <@%s>. A channel is on its way.",
			c.cmd.UserID, inc.ID, strings.ToUpper(inc.Severity), escape(inc.Title), inc.Commander)}
	})
	return reply{Text: fmt.Sprintf("declaring %s %s…", strings.ToUpper(req.Severity), escape(req.Title))}
}
