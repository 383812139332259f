package slack_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/firebreak-ops/firebreak/activities/actions"
	"github.com/firebreak-ops/firebreak/activities/internal/actiontest"
	"github.com/firebreak-ops/firebreak/activities/slack"
	"github.com/firebreak-ops/firebreak/activities/slack/slackfake"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
	"github.com/firebreak-ops/firebreak/workflows/wire/run/runtest"
)

func TestActionsRegistered(t *testing.T) {
	for _, name := range []string{actions.SlackRunMessage, actions.SlackPost} {
		spec, ok := actions.Lookup(name)
		if !ok || !spec.DryRun || !spec.Fields["channel"].Required {
			t.Errorf("%s: %+v %v", name, spec, ok)
		}
	}
	h := slack.New(slack.Config{}).Handlers()
	if h[actions.SlackRunMessage] == nil || h[actions.SlackPost] == nil {
		t.Fatalf("handlers %v", h)
	}
}

func TestRunMessage(t *testing.T) {
	fake := slackfake.New(t)
	a := slack.New(slack.Config{BotToken: "xoxb-test", APIURL: fake.URL(), UIURL: "http://ui.example"})
	h := a.Handlers()
	ctx := context.Background()
	req := func(with map[string]any) actions.Request {
		return actions.Request{RunID: "runbook:hello-world:ops", Step: "slack-message", With: with}
	}
	st := runtest.WaitingApproval()

	// A new message.
	out, err := h[actions.SlackRunMessage](ctx, req(map[string]any{"channel": "C0OPS", "state": st}))
	if err != nil {
		t.Fatal(err)
	}
	m := out.(map[string]any)
	ts, _ := m["ts"].(string)
	if m["channel"] != "C0OPS" || ts == "" {
		t.Fatalf("post: %v", m)
	}
	msgs := fake.Messages()
	if len(msgs) != 1 || !strings.Contains(msgs[0].Text, "hello-world needs approval for confirm") {
		t.Fatalf("messages %+v", msgs)
	}
	if b := slackfake.Buttons(msgs[0].Blocks); strings.Join(b, ",") != "firebreak_approve,firebreak_deny" {
		t.Fatalf("buttons %v", b)
	}
	if c := fake.Calls("chat.postMessage"); c[0].Token != "xoxb-test" {
		t.Fatalf("token %q", c[0].Token)
	}

	// The same message, updated.
	now := st.Steps[2].StartedAt.Add(time.Minute)
	st.Status = runwire.StatusRunning
	st.Steps[2].Status = runwire.StepSucceeded
	st.Steps[2].FinishedAt = &now
	st.Steps[2].Approval.Decision, st.Steps[2].Approval.By, st.Steps[2].Approval.At = runwire.DecisionApproved, "U0APPROVE", &now
	out, err = h[actions.SlackRunMessage](ctx, req(map[string]any{"channel": "C0OPS", "ts": ts, "state": st}))
	if err != nil {
		t.Fatal(err)
	}
	if out.(map[string]any)["ts"] != ts {
		t.Fatalf("update answered %v", out)
	}
	msgs = fake.Messages()
	if len(msgs) != 1 || msgs[0].Updates != 1 || len(slackfake.Buttons(msgs[0].Blocks)) != 0 ||
		!strings.Contains(slackfake.BlocksJSON(msgs[0].Blocks), "approved by <@U0APPROVE> at 03:01 UTC") {
		t.Fatalf("after update: %+v %s", msgs, slackfake.BlocksJSON(msgs[0].Blocks))
	}

	// A deleted message is posted again.
	out, err = h[actions.SlackRunMessage](ctx, req(map[string]any{"channel": "C0OPS", "ts": "1.2", "state": st}))
	if err != nil || out.(map[string]any)["ts"] == ts || len(fake.Messages()) != 2 {
		t.Fatalf("message_not_found: %v %v %d", out, err, len(fake.Messages()))
	}

	for _, tc := range []struct {
		name      string
		fail      slackfake.Failure
		permanent bool
		retryType string
		delay     time.Duration
		contains  string
	}{
		{name: "rate limited", fail: slackfake.Failure{Status: http.StatusTooManyRequests, RetryAfter: 7}, retryType: slack.ErrTypeRateLimited, delay: 7 * time.Second, contains: "rate limited"},
		{name: "rate limited, no delay", fail: slackfake.Failure{Status: http.StatusTooManyRequests, RetryAfter: 0}, retryType: slack.ErrTypeRateLimited, delay: time.Second},
		{name: "channel not found", fail: slackfake.Failure{Error: "channel_not_found"}, permanent: true, contains: "channel_not_found (the channel does not exist"},
		{name: "not in channel", fail: slackfake.Failure{Error: "not_in_channel"}, permanent: true, contains: "/invite"},
		{name: "invalid auth", fail: slackfake.Failure{Error: "invalid_auth"}, permanent: true, contains: "FIREBREAK_SLACK_BOT_TOKEN"},
		{name: "internal error", fail: slackfake.Failure{Error: "internal_error"}, contains: "internal_error"},
		{name: "server error", fail: slackfake.Failure{Status: http.StatusServiceUnavailable}, contains: "503"},
		{name: "bad request", fail: slackfake.Failure{Status: http.StatusBadRequest}, permanent: true, contains: "400"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake.FailNext("chat.update", tc.fail)
			_, err := h[actions.SlackRunMessage](ctx, req(map[string]any{"channel": "C0OPS", "ts": ts, "state": st}))
			if err == nil {
				t.Fatal("no error")
			}
			if actions.IsPermanent(err) != tc.permanent {
				t.Errorf("permanent %v, want %v: %v", actions.IsPermanent(err), tc.permanent, err)
			}
			var appErr *temporal.ApplicationError
			if tc.retryType != "" {
				if !errors.As(err, &appErr) || appErr.Type() != tc.retryType || appErr.NextRetryDelay() != tc.delay || appErr.NonRetryable() {
					t.Errorf("want %s after %s, got %#v", tc.retryType, tc.delay, err)
				}
			} else if errors.As(err, &appErr) {
				t.Errorf("unexpected application error %v", err)
			}
			if !strings.Contains(err.Error(), tc.contains) {
				t.Errorf("error %q does not contain %q", err, tc.contains)
			}
		})
	}

	t.Run("bad input", func(t *testing.T) {
		for _, with := range []map[string]any{
			{"state": st},
			{"channel": "C0OPS"},
			{"channel": "C0OPS", "state": st, "colour": "red"},
			{"channel": "C0OPS", "state": "not a state"},
		} {
			if _, err := h[actions.SlackRunMessage](ctx, req(with)); err == nil || !actions.IsPermanent(err) {
				t.Errorf("%v: %v", with, err)
			}
		}
	})

	t.Run("no token", func(t *testing.T) {
		h := slack.New(slack.Config{APIURL: fake.URL()}).Handlers()
		_, err := h[actions.SlackRunMessage](ctx, req(map[string]any{"channel": "C0OPS", "state": st}))
		if err == nil || !actions.IsPermanent(err) || !strings.Contains(err.Error(), "FIREBREAK_SLACK_BOT_TOKEN") {
			t.Fatalf("%v", err)
		}
	})

	t.Run("network error", func(t *testing.T) {
		h := slack.New(slack.Config{BotToken: "xoxb-test", APIURL: "http://127.0.0.1:1/api"}).Handlers()
		_, err := h[actions.SlackRunMessage](ctx, req(map[string]any{"channel": "C0OPS", "state": st}))
		if err == nil || actions.IsPermanent(err) {
			t.Fatalf("want a retryable error, got %v", err)
		}
	})
}

// TestPost: a post goes to its channel and thread; a dry run posts
// nothing and says what it would have posted.
func TestPost(t *testing.T) {
	fake := slackfake.New(t)
	h := slack.New(slack.Config{BotToken: "xoxb-test", APIURL: strings.TrimSuffix(fake.URL(), "/")}).Handlers()
	with := map[string]any{"channel": "C0OPS", "text": "hi <!here>", "threadTS": "1700000000.000001"}
	dry, err := h[actions.SlackPost](context.Background(), actions.Request{DryRun: true, With: with})
	if err != nil {
		t.Fatal(err)
	}
	if c := fake.Calls(""); len(c) != 0 {
		t.Fatalf("a dry run called Slack: %+v", c)
	}
	if d := dry.(map[string]any); d["dryRun"] != true || d["channel"] != "C0OPS" || d["wouldPost"] != "hi <!here>" || d["threadTS"] != "1700000000.000001" {
		t.Fatalf("dry run answered %v", d)
	}
	out, err := h[actions.SlackPost](context.Background(), actions.Request{With: with})
	if err != nil {
		t.Fatal(err)
	}
	c := fake.Calls("chat.postMessage")
	if len(c) != 1 || c[0].Text != "hi <!here>" || c[0].ThreadTS != "1700000000.000001" || out.(map[string]any)["ts"] == "" {
		t.Fatalf("calls %+v out %v", c, out)
	}
	if _, err := h[actions.SlackPost](context.Background(), actions.Request{With: map[string]any{"channel": "C0OPS"}}); err == nil || !actions.IsPermanent(err) {
		t.Fatalf("no text: %v", err)
	}
	if _, err := slack.New(slack.Config{APIURL: fake.URL()}).Post(context.Background(), actions.Request{DryRun: true, With: with}); err == nil || !actions.IsPermanent(err) {
		t.Fatalf("a dry run without a bot token: %v", err)
	}
}

// TestPostRetried: an attempt whose post reached Slack but whose answer
// was lost is retried; the retry finds the message by its metadata and
// posts nothing more, in a channel and in a thread. Without the
// channels:history scope it cannot look, and posts again.
func TestPostRetried(t *testing.T) {
	for _, tc := range []struct {
		name     string
		thread   bool
		noScope  bool
		messages int
	}{
		{name: "channel", messages: 1},
		{name: "thread", thread: true, messages: 2},
		{name: "history not readable", noScope: true, messages: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := slackfake.New(t)
			a := slack.New(slack.Config{BotToken: "xoxb-test", APIURL: fake.URL()})
			with := map[string]any{"channel": "C0OPS", "text": "restarting checkout"}
			if tc.thread {
				parent, err := a.Post(context.Background(), actions.Request{With: map[string]any{"channel": "C0OPS", "text": "parent"}})
				if err != nil {
					t.Fatal(err)
				}
				with["threadTS"] = parent.(map[string]any)["ts"]
			}
			if tc.noScope {
				fake.FailNext("conversations.history", slackfake.Failure{Error: "missing_scope"})
			}
			fake.FailNext("chat.postMessage", slackfake.Failure{Status: http.StatusServiceUnavailable, Applied: true})
			out, err := actiontest.Retried(t, a.Post, actions.SlackPost, actions.Request{RunID: "runbook:x:y", Step: "tell", With: with}, 3)
			if err != nil {
				t.Fatal(err)
			}
			msgs := fake.Messages()
			if len(msgs) != tc.messages {
				t.Fatalf("%d messages, want %d: %+v", len(msgs), tc.messages, msgs)
			}
			if !tc.noScope && out["ts"] != msgs[len(msgs)-1].TS {
				t.Errorf("answered %v, the message is %s", out, msgs[len(msgs)-1].TS)
			}
		})
	}
}
