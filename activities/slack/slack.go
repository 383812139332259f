// Package slack holds the Slack actions: the one message that shows a run
// and keeps up with it (slack.run-message), plain posts (slack.post) and
// the incident channel and its pinned summary, through slack-go's Web API
// client. The messages are rendered by internal/render/slackmsg. The API
// URL is configurable so tests point it at a local server. A retried post,
// summary or channel finds what an earlier attempt made instead of making
// it twice.
package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	slackgo "github.com/slack-go/slack"
	"go.temporal.io/sdk/temporal"

	"github.com/firebreak-ops/firebreak/activities/actions"
	"github.com/firebreak-ops/firebreak/activities/internal/effect"
	"github.com/firebreak-ops/firebreak/internal/render/slackmsg"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// ErrTypeRateLimited is the Temporal error type of a call Slack rate
// limited; it is retried after the delay Slack asked for.
const ErrTypeRateLimited = "SlackRateLimited"

// Config says where and as whom to talk to Slack.
type Config struct {
	// BotToken is the app's bot token (xoxb-…).
	BotToken string
	// APIURL overrides Slack's Web API base URL (https://slack.com/api/).
	APIURL string
	// UIURL is the Temporal Web UI's base URL for history links, if any.
	UIURL string
	// ConsoleURL is the console's base URL for links to run pages, if any.
	ConsoleURL string
	HTTP       *http.Client
}

// Activities performs Slack actions.
type Activities struct {
	cfg    Config
	client *slackgo.Client

	// botUser is the app's own user ID (auth.test), once known.
	mu      sync.Mutex
	botUser string
}

// New builds the activities; nothing is contacted until an action runs.
func New(cfg Config) *Activities {
	return &Activities{cfg: cfg, client: NewClient(cfg)}
}

// NewClient builds a Web API client from the configuration: the bot token,
// APIURL when set (a trailing slash is added if missing) and the HTTP
// client when set. The Slack app's handlers use one for user-group
// lookups.
func NewClient(cfg Config) *slackgo.Client {
	var opts []slackgo.Option
	if cfg.APIURL != "" {
		u := cfg.APIURL
		if !strings.HasSuffix(u, "/") {
			u += "/"
		}
		opts = append(opts, slackgo.OptionAPIURL(u))
	}
	if cfg.HTTP != nil {
		opts = append(opts, slackgo.OptionHTTPClient(cfg.HTTP))
	}
	return slackgo.New(cfg.BotToken, opts...)
}

// Handlers returns the handler of each Slack action.
func (a *Activities) Handlers() map[string]actions.Handler {
	return map[string]actions.Handler{
		actions.SlackRunMessage:      a.RunMessage,
		actions.SlackPost:            a.Post,
		actions.SlackIncidentChannel: a.IncidentChannel,
		actions.SlackIncidentSummary: a.IncidentSummary,
	}
}

type runMessageInput struct {
	Channel string          `json:"channel"`
	TS      string          `json:"ts"`
	State   json.RawMessage `json:"state"`
	UIURL   string          `json:"uiURL"`
}

// RunMessage posts the message that shows a run, or updates it when ts
// names it, and returns {"channel", "ts"} of the message. A message that
// was deleted is posted again.
func (a *Activities) RunMessage(ctx context.Context, req actions.Request) (any, error) {
	var in runMessageInput
	if err := actions.Decode(req.With, &in); err != nil {
		return nil, actions.Permanent(err)
	}
	if in.Channel == "" {
		return nil, actions.Permanentf("channel is required")
	}
	var st runwire.RunState
	if len(in.State) == 0 || string(in.State) == "null" {
		return nil, actions.Permanentf("state is required: the run's state")
	}
	if err := json.Unmarshal(in.State, &st); err != nil {
		return nil, actions.Permanentf("bad state: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if err := a.configured(); err != nil {
		return nil, err
	}
	uiURL := in.UIURL
	if uiURL == "" {
		uiURL = a.cfg.UIURL
	}
	msg := slackgo.MsgOptionCompose(
		slackgo.MsgOptionText(slackmsg.RunText(&st), false),
		slackgo.MsgOptionBlocks(slackmsg.RunBlocksWith(&st, slackmsg.Links{UI: uiURL, Console: a.cfg.ConsoleURL})...),
		slackgo.MsgOptionDisableLinkUnfurl(),
	)
	channel, ts, _, err := a.postOrUpdate(ctx, in.Channel, in.TS, msg)
	if err != nil {
		return nil, err
	}
	return map[string]any{"channel": channel, "ts": ts}, nil
}

// postOrUpdate updates the message ts names, or posts msg when ts is
// empty or the message was deleted; posted says a new message was posted.
// Errors are classified for the workflow.
func (a *Activities) postOrUpdate(ctx context.Context, channel, ts string, msg slackgo.MsgOption) (string, string, bool, error) {
	if ts != "" {
		ch, newTS, _, err := a.client.UpdateMessageContext(ctx, channel, ts, msg)
		if err == nil {
			return ch, newTS, false, nil
		}
		if !isSlackError(err, "message_not_found") {
			return "", "", false, classify("chat.update", channel, err)
		}
		// Someone deleted the message: post it again.
	}
	ch, newTS, err := a.client.PostMessageContext(ctx, channel, msg)
	if err != nil {
		return "", "", false, classify("chat.postMessage", channel, err)
	}
	return ch, newTS, true, nil
}

type postInput struct {
	Channel  string `json:"channel"`
	Text     string `json:"text"`
	ThreadTS string `json:"threadTS"`
}

// Post posts a message and returns {"channel", "ts"}. The message carries
// the action's key in its metadata, so a retried attempt (an earlier one
// may have posted before its answer was lost) finds that message in the
// channel or thread and posts nothing more. A dry run posts nothing and
// says what it would have posted.
func (a *Activities) Post(ctx context.Context, req actions.Request) (any, error) {
	var in postInput
	if err := actions.Decode(req.With, &in); err != nil {
		return nil, actions.Permanent(err)
	}
	if in.Channel == "" || in.Text == "" {
		return nil, actions.Permanentf("channel and text are required")
	}
	if err := a.configured(); err != nil {
		return nil, err
	}
	if req.DryRun {
		out := map[string]any{"dryRun": true, "channel": in.Channel, "wouldPost": in.Text}
		if in.ThreadTS != "" {
			out["threadTS"] = in.ThreadTS
		}
		return out, nil
	}
	key := effect.Key(ctx, req)
	if effect.Retry(ctx) {
		m, found, err := a.findPosted(ctx, in.Channel, in.ThreadTS, key, effect.Since(ctx))
		if err != nil {
			return nil, err
		}
		if found {
			return map[string]any{"channel": in.Channel, "ts": m.Timestamp}, nil
		}
	}
	opts := []slackgo.MsgOption{slackgo.MsgOptionText(in.Text, false), effectMetadata(key)}
	if in.ThreadTS != "" {
		opts = append(opts, slackgo.MsgOptionTS(in.ThreadTS))
	}
	channel, ts, err := a.client.PostMessageContext(ctx, in.Channel, opts...)
	if err != nil {
		return nil, classify("chat.postMessage", in.Channel, err)
	}
	return map[string]any{"channel": channel, "ts": ts}, nil
}

// effectEvent is the metadata event type of the messages Firebreak posts;
// its payload's key names the action that posted it (effect.Key), or the
// message's role (an incident's summary).
const effectEvent = "firebreak_effect"

func effectMetadata(key string) slackgo.MsgOption {
	return slackgo.MsgOptionMetadata(slackgo.SlackMetadata{EventType: effectEvent, EventPayload: map[string]any{"key": key}})
}

// historyLimit is how many of a channel's or thread's latest messages a
// search for an earlier post reads (one call).
const historyLimit = 200

// findPosted looks for the message carrying key among the latest messages
// of a channel (or of a thread), posted since a time (zero: any time).
// Reading history needs the channels:history scope (groups:history for
// private channels); when the app cannot read it, or names the channel by
// name rather than ID, it finds nothing and the caller posts. Errors a
// retry can fix (rate limits, Slack or the network down) are returned.
func (a *Activities) findPosted(ctx context.Context, channel, threadTS, key string, since time.Time) (slackgo.Message, bool, error) {
	oldest := ""
	if !since.IsZero() {
		oldest = strconv.FormatInt(since.Add(-time.Minute).Unix(), 10) + ".000000"
	}
	var msgs []slackgo.Message
	var err error
	method := "conversations.history"
	if threadTS != "" {
		method = "conversations.replies"
		msgs, _, _, err = a.client.GetConversationRepliesContext(ctx, &slackgo.GetConversationRepliesParameters{
			ChannelID: channel, Timestamp: threadTS, Limit: historyLimit, Oldest: oldest, IncludeAllMetadata: true})
	} else {
		var resp *slackgo.GetConversationHistoryResponse
		resp, err = a.client.GetConversationHistoryContext(ctx, &slackgo.GetConversationHistoryParameters{
			ChannelID: channel, Limit: historyLimit, Oldest: oldest, IncludeAllMetadata: true})
		if resp != nil {
			msgs = resp.Messages
		}
	}
	if err != nil {
		if cerr := classify(method, channel, err); !actions.IsPermanent(cerr) {
			return slackgo.Message{}, false, cerr
		}
		return slackgo.Message{}, false, nil
	}
	for _, m := range msgs {
		if m.Metadata.EventType != effectEvent {
			continue
		}
		if k, _ := m.Metadata.EventPayload["key"].(string); k == key {
			return m, true, nil
		}
	}
	return slackgo.Message{}, false, nil
}

func (a *Activities) configured() error {
	if a.cfg.BotToken == "" {
		return actions.Permanentf("no Slack bot token: set slack.botToken (FIREBREAK_SLACK_BOT_TOKEN) to the app's xoxb- token")
	}
	return nil
}

// retryableCodes are Slack error codes worth another try; every other
// error code (channel_not_found, not_in_channel, invalid_auth, …) needs a
// person to fix something.
var retryableCodes = map[string]bool{
	"ratelimited":         true,
	"internal_error":      true,
	"fatal_error":         true,
	"service_unavailable": true,
	"request_timeout":     true,
	"team_added_to_org":   true,
}

// hints explain the error codes a misconfigured app meets first.
var hints = map[string]string{
	"channel_not_found": "the channel does not exist or the app cannot see it",
	"not_in_channel":    "invite the app to the channel (/invite @firebreak)",
	"is_archived":       "the channel is archived",
	"invalid_auth":      "the bot token is not valid (FIREBREAK_SLACK_BOT_TOKEN)",
	"not_authed":        "no bot token was sent (FIREBREAK_SLACK_BOT_TOKEN)",
	"token_revoked":     "the bot token was revoked (FIREBREAK_SLACK_BOT_TOKEN)",
	"account_inactive":  "the bot token belongs to a deleted app or user (FIREBREAK_SLACK_BOT_TOKEN)",
	"missing_scope":     "the app lacks the chat:write scope",
}

// classify turns a Slack error into an action error: rate limits retry
// after the delay Slack asks for, configuration and request errors are
// permanent, server and network errors retry.
func classify(method, channel string, err error) error {
	var limited *slackgo.RateLimitedError
	if errors.As(err, &limited) {
		delay := max(limited.RetryAfter, time.Second)
		return temporal.NewApplicationErrorWithOptions(
			fmt.Sprintf("slack %s: rate limited, retrying after %s", method, delay),
			ErrTypeRateLimited, temporal.ApplicationErrorOptions{NextRetryDelay: delay})
	}
	var apiErr slackgo.SlackErrorResponse
	if errors.As(err, &apiErr) {
		msg := fmt.Sprintf("slack %s in %s: %s", method, channel, apiErr.Err)
		if h := hints[apiErr.Err]; h != "" {
			msg += " (" + h + ")"
		}
		if retryableCodes[apiErr.Err] {
			return errors.New(msg)
		}
		return actions.Permanent(errors.New(msg))
	}
	var status slackgo.StatusCodeError
	if errors.As(err, &status) {
		if status.Retryable() {
			return fmt.Errorf("slack %s: %w", method, err)
		}
		return actions.Permanent(fmt.Errorf("slack %s: %w", method, err))
	}
	return fmt.Errorf("slack %s: %w", method, err)
}

func isSlackError(err error, code string) bool {
	var apiErr slackgo.SlackErrorResponse
	return errors.As(err, &apiErr) && apiErr.Err == code
}
