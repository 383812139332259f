// Package slack is Firebreak's Slack app: the /firebreak slash command and
// the approval buttons of run messages. Every request must carry Slack's
// signature. Slack wants an answer within 3 seconds, so handlers answer at
// once and do the Temporal work in the background, reporting the outcome
// through the request's response_url.
package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	slackgo "github.com/slack-go/slack"

	"github.com/firebreak-ops/firebreak/internal/access"
	"github.com/firebreak-ops/firebreak/internal/ingress"
	"github.com/firebreak-ops/firebreak/internal/render/slackmsg"
	"github.com/firebreak-ops/firebreak/internal/runs"
	"github.com/firebreak-ops/firebreak/runbooks"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// Paths of the Slack app's request URLs.
const (
	CommandsPath     = "/v1/slack/commands"
	InteractionsPath = "/v1/slack/interactions"
)

// MaxBody caps a Slack request.
const MaxBody = 1 << 20

// Timeouts of the background work and of response_url posts.
const (
	workTimeout    = 30 * time.Second
	respondTimeout = 10 * time.Second
	groupsTTL      = 5 * time.Minute
)

// Config configures the Slack app.
type Config struct {
	// SigningSecret verifies that requests come from Slack; without it
	// every request is refused.
	SigningSecret string
	// Client is the Web API client for user-group lookups; nil means
	// principals have no groups.
	Client *slackgo.Client
	// UIURL is the Temporal Web UI's base URL for history links.
	UIURL string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Policy decides which verbs a Slack user may use; nil: everyone
	// holds access.ResponderVerbs.
	Policy *access.Policy
}

// Runs is what the Slack app needs of runs.
type Runs interface {
	Prepare(req runs.StartRequest) (*runs.Prepared, error)
	StartRun(ctx context.Context, req runs.StartRequest) (*runs.Ref, error)
	GetRun(ctx context.Context, id, runID string) (*runwire.RunState, error)
	ListRuns(ctx context.Context, f runs.Filter) ([]runs.Summary, error)
	Approve(ctx context.Context, id string, req runwire.ApprovalRequest) (*runwire.ApprovalState, error)
	Cancel(ctx context.Context, id string, p *access.Principal) error
	Retry(ctx context.Context, id string, req runs.RetryRequest) (*runs.RetryResult, error)
	Runbooks() []runbooks.Summary
}

// Services are the domain services the Slack app calls. Without
// Incidents the incident subcommand says it is not available.
type Services struct {
	Runs      Runs
	Chaos     Chaos
	Incidents Incidents
}

// Handler serves the Slack app's endpoints.
type Handler struct {
	runs      Runs
	chaos     Chaos
	incidents Incidents
	cfg       Config
	log       *slog.Logger
	commands  map[string]command
	groups    *groupCache
	bg        sync.WaitGroup
}

// New builds the handler on the services.
func New(svc Services, cfg Config, log *slog.Logger) *Handler {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Handler{runs: svc.Runs, chaos: svc.Chaos, incidents: svc.Incidents, cfg: cfg, log: log, commands: map[string]command{},
		groups: &groupCache{client: cfg.Client, now: cfg.Now, ttl: groupsTTL, log: log}}
	for _, c := range allCommands() {
		h.commands[c.Name()] = c
	}
	return h
}

// Register mounts the slash command and interaction endpoints on the API.
func Register(api *ingress.API, svc Services, cfg Config) {
	h := New(svc, cfg, api.Log().With("component", "slack"))
	api.HandleRaw("POST "+CommandsPath, ingress.LimitBody(MaxBody, http.HandlerFunc(h.ServeCommand)))
	api.HandleRaw("POST "+InteractionsPath, ingress.LimitBody(MaxBody, http.HandlerFunc(h.ServeInteraction)))
}

// Wait waits for the background work of the requests answered so far.
func (h *Handler) Wait() { h.bg.Wait() }

// verified reads the body and checks Slack's signature over it; when it
// fails the answer is written and nothing else happens.
func (h *Handler) verified(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	if h.cfg.SigningSecret == "" {
		ingress.WriteJSON(w, http.StatusUnauthorized, ingress.ErrorBody{
			Error: "the Slack app is not configured: set slack.signingSecret (FIREBREAK_SLACK_SIGNING_SECRET) to the app's signing secret"})
		return nil, false
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			ingress.WriteJSON(w, http.StatusRequestEntityTooLarge, ingress.ErrorBody{Error: fmt.Sprintf("request body is larger than %d bytes", tooBig.Limit)})
			return nil, false
		}
		ingress.WriteJSON(w, http.StatusBadRequest, ingress.ErrorBody{Error: "reading the body: " + err.Error()})
		return nil, false
	}
	sv, err := slackgo.NewSecretsVerifier(r.Header, h.cfg.SigningSecret)
	if err == nil {
		_, _ = sv.Write(body)
		err = sv.Ensure()
	}
	if err != nil {
		msg := "bad Slack signature"
		switch {
		case errors.Is(err, slackgo.ErrMissingHeaders):
			msg = "missing Slack signature (X-Slack-Signature, X-Slack-Request-Timestamp)"
		case errors.Is(err, slackgo.ErrExpiredTimestamp):
			msg = "stale Slack request: the timestamp is more than 5 minutes off"
		}
		h.log.Warn("slack request refused", "path", r.URL.Path, "reason", msg)
		ingress.WriteJSON(w, http.StatusUnauthorized, ingress.ErrorBody{Error: msg})
		return nil, false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return body, true
}

// reply is an answer to a person: ephemeral unless InChannel.
type reply struct {
	Text      string
	Blocks    []slackgo.Block
	InChannel bool
}

func (r reply) empty() bool { return r.Text == "" && len(r.Blocks) == 0 }

func (r reply) responseType() string {
	if r.InChannel {
		return slackgo.ResponseTypeInChannel
	}
	return slackgo.ResponseTypeEphemeral
}

// message is the JSON of a reply in the HTTP answer.
type message struct {
	ResponseType string          `json:"response_type"`
	Text         string          `json:"text,omitempty"`
	Blocks       *slackgo.Blocks `json:"blocks,omitempty"`
}

func (h *Handler) write(w http.ResponseWriter, r reply) {
	if r.empty() {
		w.WriteHeader(http.StatusOK)
		return
	}
	m := message{ResponseType: r.responseType(), Text: r.Text}
	if len(r.Blocks) > 0 {
		m.Blocks = &slackgo.Blocks{BlockSet: r.Blocks}
	}
	ingress.WriteJSON(w, http.StatusOK, m)
}

// async runs work in the background with its own deadline (the request's
// ends with the answer) and posts its reply, if any, to responseURL. The
// original message is never replaced.
func (h *Handler) async(what, responseURL string, work func(ctx context.Context) reply) {
	h.bg.Add(1)
	go func() {
		defer h.bg.Done()
		defer func() {
			if p := recover(); p != nil {
				h.log.Error("slack: background work panicked", "what", what, "panic", p, "stack", string(debug.Stack()))
			}
		}()
		ctx, cancel := context.WithTimeout(context.Background(), workTimeout)
		r := work(ctx)
		cancel()
		if r.empty() {
			return
		}
		if responseURL == "" {
			h.log.Warn("slack: no response_url for the outcome", "what", what, "text", r.Text)
			return
		}
		msg := &slackgo.WebhookMessage{Text: r.Text, ResponseType: r.responseType(), ReplaceOriginal: false}
		if len(r.Blocks) > 0 {
			msg.Blocks = &slackgo.Blocks{BlockSet: r.Blocks}
		}
		pctx, pcancel := context.WithTimeout(context.Background(), respondTimeout)
		defer pcancel()
		if err := slackgo.PostWebhookContext(pctx, responseURL, msg); err != nil {
			h.log.Warn("slack: posting to response_url failed", "what", what, "err", err)
		}
	}()
}

// errorReply explains a failed call to the person who asked.
func (h *Handler) errorReply(what string, err error) reply {
	var se *access.Error
	if errors.As(err, &se) {
		switch se.Kind {
		case access.Forbidden:
			return reply{Text: "not allowed: " + se.Msg}
		case access.Conflict:
			return reply{Text: "Nothing changed: " + se.Msg}
		case access.Unavailable:
			return reply{Text: "Firebreak cannot reach Temporal right now, try again in a moment: " + se.Msg}
		case access.Busy:
			return reply{Text: "Temporal is busy and did not answer in time; it may still happen, check with `/firebreak status`: " + se.Msg}
		}
		return reply{Text: se.Msg}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return reply{Text: fmt.Sprintf("Timed out waiting for Temporal to %s; it may still happen, check with `/firebreak status`.", what)}
	}
	h.log.Error("slack: request failed", "what", what, "err", err)
	return reply{Text: "internal error: " + err.Error()}
}

// groupCache resolves a Slack user's user-group handles from one
// usergroups.list call, kept for a while.
type groupCache struct {
	client *slackgo.Client
	now    func() time.Time
	ttl    time.Duration
	log    *slog.Logger

	mu     sync.Mutex
	at     time.Time
	byUser map[string][]string
}

// lookup returns the handles of the user's groups; none when there is no
// client or Slack does not answer.
func (g *groupCache) lookup(ctx context.Context, user string) []string {
	if g.client == nil || user == "" {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.byUser == nil || g.now().Sub(g.at) >= g.ttl {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		list, err := g.client.GetUserGroupsContext(ctx, slackgo.GetUserGroupsOptionIncludeUsers(true))
		if err != nil {
			g.log.Warn("slack: listing user groups failed; deciding without groups", "err", err)
			g.byUser = nil
			return nil
		}
		g.byUser = map[string][]string{}
		for _, ug := range list {
			if ug.Handle == "" || ug.DateDelete != 0 {
				continue
			}
			for _, u := range ug.Users {
				g.byUser[u] = append(g.byUser[u], ug.Handle)
			}
		}
		g.at = g.now()
	}
	return append([]string(nil), g.byUser[user]...)
}

// code quotes text as inline code in mrkdwn.
func code(s string) string {
	return "`" + strings.ReplaceAll(escape(s), "`", "'") + "`"
}

// escape makes text safe inside mrkdwn.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func (h *Handler) runLink(id, url string) string {
	if url == "" && h.cfg.UIURL != "" {
		url = slackmsg.HistoryURL(h.cfg.UIURL, id)
	}
	if url == "" {
		return ""
	}
	return " · <" + url + "|history>"
}

// decodeValue reads an approval button's value.
func decodeValue(s string) (slackmsg.ButtonValue, error) {
	var v slackmsg.ButtonValue
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return v, err
	}
	if v.Run == "" || v.Step == "" {
		return v, errors.New("run and step are required")
	}
	return v, nil
}
