package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	slackgo "github.com/slack-go/slack"

	"github.com/firebreak-ops/firebreak/activities/actions"
	incidentwire "github.com/firebreak-ops/firebreak/workflows/wire/incident"
)

type channelInput struct {
	Name  string   `json:"name"`
	Users []string `json:"users"`
	Topic string   `json:"topic"`
}

// IncidentChannel creates a public channel and invites users into it, and
// returns {"channel", "name", "invited", "notInvited"}. A channel of that
// name that already exists (a retry after a timeout, a re-declaration) is
// used as it is, so the action can run twice.
func (a *Activities) IncidentChannel(ctx context.Context, req actions.Request) (any, error) {
	var in channelInput
	if err := actions.Decode(req.With, &in); err != nil {
		return nil, actions.Permanent(err)
	}
	if in.Name == "" {
		return nil, actions.Permanentf("name is required")
	}
	if err := a.configured(); err != nil {
		return nil, err
	}
	ch, err := a.client.CreateConversationContext(ctx, slackgo.CreateConversationParams{ChannelName: in.Name})
	if isSlackError(err, "name_taken") {
		ch, err = a.findChannel(ctx, in.Name)
	} else if err == nil && in.Topic != "" {
		// A topic is a nicety: an error here leaves the channel usable.
		_, _ = a.client.SetTopicOfConversationContext(ctx, ch.ID, in.Topic)
	}
	if err != nil {
		return nil, classify("conversations.create", "#"+in.Name, err)
	}
	out := map[string]any{"channel": ch.ID, "name": ch.Name, "invited": []string{}, "notInvited": []string{}}
	invited, missed := []string{}, []string{}
	// One call per user: one unknown user must not keep the others out.
	for _, u := range in.Users {
		_, err := a.client.InviteUsersToConversationContext(ctx, ch.ID, u)
		switch {
		case err == nil, isSlackError(err, "already_in_channel"), isSlackError(err, "cant_invite_self"):
			invited = append(invited, u)
		case isSlackError(err, "user_not_found"), isSlackError(err, "cant_invite"), isSlackError(err, "user_is_restricted"):
			missed = append(missed, u)
		default:
			return nil, classify("conversations.invite", ch.ID, err)
		}
	}
	out["invited"], out["notInvited"] = invited, missed
	return out, nil
}

// findChannel finds a public channel by name.
func (a *Activities) findChannel(ctx context.Context, name string) (*slackgo.Channel, error) {
	params := &slackgo.GetConversationsParameters{ExcludeArchived: true, Limit: 200, Types: []string{"public_channel"}}
	for range 50 {
		chans, next, err := a.client.GetConversationsContext(ctx, params)
		if err != nil {
			return nil, err
		}
		for i := range chans {
			if chans[i].Name == name {
				return &chans[i], nil
			}
		}
		if next == "" {
			break
		}
		params.Cursor = next
	}
	return nil, actions.Permanentf("channel #%s exists but the app cannot find it (archived or private?)", name)
}

type summaryInput struct {
	Channel  string          `json:"channel"`
	TS       string          `json:"ts"`
	Incident json.RawMessage `json:"incident"`
}

// IncidentSummary posts an incident's summary and pins it, or updates the
// summary ts names; it returns {"channel", "ts"}.
func (a *Activities) IncidentSummary(ctx context.Context, req actions.Request) (any, error) {
	var in summaryInput
	if err := actions.Decode(req.With, &in); err != nil {
		return nil, actions.Permanent(err)
	}
	var inc incidentwire.Incident
	if in.Channel == "" || len(in.Incident) == 0 {
		return nil, actions.Permanentf("channel and incident are required")
	}
	if err := json.Unmarshal(in.Incident, &inc); err != nil {
		return nil, actions.Permanentf("bad incident: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if err := a.configured(); err != nil {
		return nil, err
	}
	msg := slackgo.MsgOptionCompose(
		slackgo.MsgOptionText(IncidentText(&inc), false),
		slackgo.MsgOptionBlocks(IncidentBlocks(&inc)...),
		slackgo.MsgOptionDisableLinkUnfurl(),
	)
	channel, ts, posted, err := a.postOrUpdate(ctx, in.Channel, in.TS, msg)
	if err != nil {
		return nil, err
	}
	if !posted {
		return map[string]any{"channel": channel, "ts": ts}, nil
	}
	if err := a.client.AddPinContext(ctx, channel, slackgo.ItemRef{Channel: channel, Timestamp: ts}); err != nil && !isSlackError(err, "already_pinned") {
		return nil, classify("pins.add", channel, err)
	}
	return map[string]any{"channel": channel, "ts": ts}, nil
}

// IncidentText is the summary's plain text, for notifications.
func IncidentText(inc *incidentwire.Incident) string {
	return fmt.Sprintf("%s [%s] %s — %s", inc.ID, strings.ToUpper(inc.Severity), inc.Title, inc.Status)
}

// IncidentBlocks renders the pinned summary: title, fields, links, runs
// and the latest timeline entries.
func IncidentBlocks(inc *incidentwire.Incident) []slackgo.Block {
	title := fmt.Sprintf("%s %s: %s", incidentIcon(inc), inc.ID, inc.Title)
	blocks := []slackgo.Block{
		slackgo.NewHeaderBlock(slackgo.NewTextBlockObject(slackgo.PlainTextType, truncate(title, 150), false, false)),
	}
	field := func(name, value string) *slackgo.TextBlockObject {
		if value == "" {
			value = "—"
		}
		return slackgo.NewTextBlockObject(slackgo.MarkdownType, "*"+name+"*\n"+escape(value), false, false)
	}
	var roles []string
	for _, r := range incidentwire.IncidentRoles {
		if r == incidentwire.RoleCommander {
			continue
		}
		if u := inc.Roles[r]; u != "" {
			roles = append(roles, r+": "+u)
		}
	}
	fields := []*slackgo.TextBlockObject{
		field("Severity", strings.ToUpper(inc.Severity)),
		field("Status", inc.Status),
		field("Commander", inc.Commander),
		field("Roles", strings.Join(roles, ", ")),
		field("Services", strings.Join(inc.Services, ", ")),
		field("Declared", inc.DeclaredAt.UTC().Format(time.RFC3339)+" by "+inc.DeclaredBy),
	}
	blocks = append(blocks, slackgo.NewSectionBlock(nil, fields, nil))
	var links []string
	for _, l := range inc.Links {
		switch {
		case l.URL != "":
			links = append(links, fmt.Sprintf("<%s|%s>", l.URL, escape(orDefault(l.Title, l.Kind))))
		default:
			links = append(links, escape(orDefault(l.Title, l.Kind+" "+l.ID)))
		}
	}
	if len(inc.Runs) > 0 {
		links = append(links, "runs: "+escape(strings.Join(inc.Runs, ", ")))
	}
	if len(links) > 0 {
		blocks = append(blocks, slackgo.NewSectionBlock(slackgo.NewTextBlockObject(slackgo.MarkdownType, truncate(strings.Join(links, " · "), 2900), false, false), nil, nil))
	}
	if len(inc.Timeline) > 0 {
		var b strings.Builder
		for _, e := range inc.Timeline {
			who := ""
			if e.By != "" {
				who = " (" + e.By + ")"
			}
			fmt.Fprintf(&b, "`%s` *%s* %s%s\n", e.At.UTC().Format("15:04:05"), e.Kind, escape(e.Text), escape(who))
		}
		blocks = append(blocks, slackgo.NewContextBlock("timeline", slackgo.NewTextBlockObject(slackgo.MarkdownType, truncate(b.String(), 2900), false, false)))
	}
	return blocks
}

func incidentIcon(inc *incidentwire.Incident) string {
	if inc.Status == incidentwire.IncidentResolved {
		return "✅"
	}
	if incidentwire.HaltsChaos(inc.Severity) {
		return "🔴"
	}
	return "🟠"
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
