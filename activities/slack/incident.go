package slack

import (
	"context"
	"encoding/json"
	"strings"

	slackgo "github.com/slack-go/slack"

	"github.com/firebreak-ops/firebreak/activities/actions"
	"github.com/firebreak-ops/firebreak/internal/render/slackmsg"
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
		slackgo.MsgOptionText(slackmsg.IncidentText(&inc), false),
		slackgo.MsgOptionBlocks(slackmsg.IncidentBlocks(&inc)...),
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
