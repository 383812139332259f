package slack

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	slackgo "github.com/slack-go/slack"

	"github.com/firebreak-ops/firebreak/activities/actions"
	"github.com/firebreak-ops/firebreak/activities/internal/effect"
	"github.com/firebreak-ops/firebreak/internal/render/slackmsg"
	incidentwire "github.com/firebreak-ops/firebreak/workflows/wire/incident"
)

type channelInput struct {
	Name  string   `json:"name"`
	Users []string `json:"users"`
	Topic string   `json:"topic"`
}

// createdChannel is what IncidentChannel keeps for its later attempts.
type createdChannel struct {
	Channel string `json:"channel"`
	Name    string `json:"name"`
}

// maxChannelNames is how many names IncidentChannel tries: the name, then
// the name with -2, -3, … when someone else has taken it.
const maxChannelNames = 5

// IncidentChannel creates a public channel and invites users into it, and
// returns {"channel", "name", "invited", "notInvited"}. A channel is used
// only when this action created it: a retried attempt uses the channel an
// earlier attempt created (kept in its heartbeat, or found by creator and
// time when that attempt's answer was lost). A channel of that name that
// was already there belongs to something else, an earlier incident with
// the same number perhaps: the name then gets a suffix (-2, -3, …), and
// nothing is posted into the old channel.
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
	var ch createdChannel
	if !effect.Load(ctx, &ch) || ch.Channel == "" {
		var err error
		if ch, err = a.createChannel(ctx, in); err != nil {
			return nil, err
		}
		effect.Save(ctx, ch)
		if in.Topic != "" {
			// A topic is a nicety: an error here leaves the channel usable.
			_, _ = a.client.SetTopicOfConversationContext(ctx, ch.Channel, in.Topic)
		}
	}
	out := map[string]any{"channel": ch.Channel, "name": ch.Name, "invited": []string{}, "notInvited": []string{}}
	invited, missed := []string{}, []string{}
	// One call per user: one unknown user must not keep the others out.
	for _, u := range in.Users {
		_, err := a.client.InviteUsersToConversationContext(ctx, ch.Channel, u)
		switch {
		case err == nil, isSlackError(err, "already_in_channel"), isSlackError(err, "cant_invite_self"):
			invited = append(invited, u)
		case isSlackError(err, "user_not_found"), isSlackError(err, "cant_invite"), isSlackError(err, "user_is_restricted"):
			missed = append(missed, u)
		default:
			return nil, classify("conversations.invite", ch.Channel, err)
		}
	}
	out["invited"], out["notInvited"] = invited, missed
	return out, nil
}

// createChannel creates the channel under the first free name: in.Name,
// then in.Name-2 and on. A taken name is this action's own channel only
// when a retried attempt finds it created by the app since the action was
// first scheduled.
func (a *Activities) createChannel(ctx context.Context, in channelInput) (createdChannel, error) {
	for i := 1; i <= maxChannelNames; i++ {
		name := suffixed(in.Name, i)
		ch, err := a.client.CreateConversationContext(ctx, slackgo.CreateConversationParams{ChannelName: name})
		if err == nil {
			return createdChannel{Channel: ch.ID, Name: ch.Name}, nil
		}
		if !isSlackError(err, "name_taken") {
			return createdChannel{}, classify("conversations.create", "#"+name, err)
		}
		if !effect.Retry(ctx) {
			continue
		}
		own, err := a.ownChannel(ctx, name, effect.Since(ctx))
		if err != nil {
			return createdChannel{}, classify("conversations.list", "#"+name, err)
		}
		if own != nil {
			return createdChannel{Channel: own.ID, Name: own.Name}, nil
		}
	}
	return createdChannel{}, actions.Permanentf("channels #%s to #%s are all taken by other channels", in.Name, suffixed(in.Name, maxChannelNames))
}

// suffixed returns name for the first try, then name-<i>, within Slack's
// 80 characters.
func suffixed(name string, i int) string {
	if i <= 1 {
		return name
	}
	sfx := "-" + strconv.Itoa(i)
	if len(name)+len(sfx) > 80 {
		name = strings.TrimRight(name[:80-len(sfx)], "-")
	}
	return name + sfx
}

// ownChannel returns the public channel of that name if the app created
// it since a time (a minute's leeway for clocks), else nil.
func (a *Activities) ownChannel(ctx context.Context, name string, since time.Time) (*slackgo.Channel, error) {
	ch, err := a.findChannel(ctx, name)
	if err != nil || ch == nil {
		return nil, err
	}
	me, err := a.self(ctx)
	if err != nil {
		return nil, err
	}
	if ch.Creator != me || ch.Created.Time().Before(since.Add(-time.Minute)) {
		return nil, nil
	}
	return ch, nil
}

// self returns the app's own user ID (auth.test), asked once.
func (a *Activities) self(ctx context.Context) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.botUser != "" {
		return a.botUser, nil
	}
	resp, err := a.client.AuthTestContext(ctx)
	if err != nil {
		return "", err
	}
	a.botUser = resp.UserID
	return a.botUser, nil
}

// findChannel finds a public channel by name; nil when the app cannot see
// one of that name.
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
	return nil, nil
}

type summaryInput struct {
	Channel  string          `json:"channel"`
	TS       string          `json:"ts"`
	Incident json.RawMessage `json:"incident"`
}

// postedMessage is what IncidentSummary keeps for its later attempts.
type postedMessage struct {
	Channel string `json:"channel"`
	TS      string `json:"ts"`
}

// SummaryKey is the metadata key of an incident's summary message: there
// is one per incident.
func SummaryKey(incident string) string { return "incident-summary/" + incident }

// IncidentSummary posts an incident's summary and pins it, or updates the
// summary ts names; it returns {"channel", "ts"}. Without a ts it first
// looks for the summary an earlier attempt or call posted (its heartbeat,
// then the channel's history for the summary's metadata), so a failed pin
// or a lost answer never leaves two summaries: the one found is updated
// and pinned.
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
	key := SummaryKey(inc.ID)
	ts := in.TS
	if ts == "" {
		var saved postedMessage
		if effect.Load(ctx, &saved) && saved.Channel == in.Channel {
			ts = saved.TS
		}
	}
	if ts == "" {
		m, found, err := a.findPosted(ctx, in.Channel, "", key, time.Time{})
		if err != nil {
			return nil, err
		}
		if found {
			ts = m.Timestamp
		}
	}
	msg := slackgo.MsgOptionCompose(
		slackgo.MsgOptionText(slackmsg.IncidentText(&inc), false),
		slackgo.MsgOptionBlocks(slackmsg.IncidentBlocks(&inc)...),
		slackgo.MsgOptionDisableLinkUnfurl(),
		effectMetadata(key),
	)
	channel, ts, posted, err := a.postOrUpdate(ctx, in.Channel, ts, msg)
	if err != nil {
		return nil, err
	}
	if posted {
		effect.Save(ctx, postedMessage{Channel: channel, TS: ts})
	}
	if in.TS != "" && !posted {
		// The summary the incident knows: pinned when it was posted.
		return map[string]any{"channel": channel, "ts": ts}, nil
	}
	if err := a.client.AddPinContext(ctx, channel, slackgo.ItemRef{Channel: channel, Timestamp: ts}); err != nil && !isSlackError(err, "already_pinned") {
		return nil, classify("pins.add", channel, err)
	}
	return map[string]any{"channel": channel, "ts": ts}, nil
}
