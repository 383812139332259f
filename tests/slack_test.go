package tests

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/firebreak-ops/firebreak/activities/slack/slackfake"
	"github.com/firebreak-ops/firebreak/internal/config"
	"github.com/firebreak-ops/firebreak/internal/testenv"
	"github.com/firebreak-ops/firebreak/runbooks"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

const slackSecret = "e2e-signing-secret"

// Slack users of the test: the requester may run hello-world, the approver
// is in @oncall, the other user is in no group.
const (
	slackRequester = "U0REQUEST"
	slackApprover  = "U0APPROVE"
	slackOther     = "U0OTHER"
)

// slackPost sends a request signed as Slack signs it.
func slackPost(t *testing.T, base, path string, form url.Values) (int, string) {
	t.Helper()
	body := form.Encode()
	req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	stamp := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(slackSecret))
	fmt.Fprintf(mac, "v0:%s:%s", stamp, body)
	req.Header.Set("X-Slack-Request-Timestamp", stamp)
	req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("POST %s took %s, more than Slack's 3 s", path, took)
	}
	return resp.StatusCode, string(data)
}

// slackCatalog is the shipped hello-world with access rules: the requester
// may run it, @oncall may approve.
func slackCatalog(t *testing.T) *runbooks.Catalog {
	t.Helper()
	data, err := os.ReadFile("../runbooks/catalog/hello-world.yaml")
	if err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(string(data), "\nspec:\n", "\nspec:\n  access:\n    run: ["+slackRequester+"]\n    approve: [\"@oncall\"]\n", 1)
	if src == string(data) {
		t.Fatal("hello-world.yaml has no spec: line to add access to")
	}
	cat := runbooks.NewCatalog()
	p := filepath.Join(t.TempDir(), "hello-world.yaml")
	if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := cat.LoadPath(p); err != nil {
		t.Fatal(err)
	}
	return cat
}

// TestSlack drives a run from Slack against a fake Slack: the slash
// command starts it, the run's one message shows the approval buttons, a
// click by someone not allowed is refused, a double click is decided once,
// a rate-limited message update is retried after Retry-After, and the
// final update shows the finished run without buttons.
func TestSlack(t *testing.T) {
	fake := slackfake.New(t)
	fake.SetGroups(map[string][]string{"oncall": {slackApprover}})
	eng := testenv.Engine(t, t.TempDir())
	fb := testenv.StartFirebreak(t, eng, testenv.Options{Catalog: slackCatalog(t), Config: &config.Config{
		Slack: config.Slack{SigningSecret: slackSecret, BotToken: "xoxb-test", APIURL: fake.URL()},
	}})
	a := &api{t: t, base: fb.URL}
	const id = "runbook:hello-world:ops"

	// Unsigned requests do nothing.
	resp, err := http.Post(fb.URL+"/v1/slack/commands", "application/x-www-form-urlencoded", strings.NewReader("text=run+hello-world+name%3Dops"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		t.Fatal("POST /v1/slack/commands is not mounted: internal/app must call internal/ingress/slack.Register")
	}
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unsigned command: HTTP %d", resp.StatusCode)
	}

	// /firebreak run: an ephemeral acknowledgement at once, the outcome
	// through the response_url.
	code, body := slackPost(t, fb.URL, "/v1/slack/commands", url.Values{
		"command": {"/firebreak"}, "text": {"run hello-world name=ops times=5"},
		"user_id": {slackRequester}, "user_name": {"rita"}, "channel_id": {"C0OPS"}, "team_id": {"T1"},
		"response_url": {fake.ResponseURL("run")},
	})
	var ack struct {
		ResponseType string `json:"response_type"`
		Text         string `json:"text"`
	}
	if err := json.Unmarshal([]byte(body), &ack); err != nil || code != 200 || ack.ResponseType != "ephemeral" || ack.Text != "starting hello-world…" {
		t.Fatalf("ack: HTTP %d %s", code, body)
	}
	fake.WaitFor(10*time.Second, "the start's outcome", func() bool { return len(fake.Responses("run")) > 0 })
	if got := fake.Responses("run")[0].Text(); !strings.Contains(got, "Started a run of *hello-world*: `"+id+"`") {
		t.Fatalf("outcome %q", got)
	}

	// The run's message appears with its approval buttons.
	buttons := func() string {
		msgs := fake.Messages()
		if len(msgs) == 0 {
			return ""
		}
		return strings.Join(slackfake.Buttons(msgs[len(msgs)-1].Blocks), ",")
	}
	fake.WaitFor(20*time.Second, "approval buttons", func() bool { return buttons() == "firebreak_approve,firebreak_deny" })
	msg := fake.Messages()[0]
	blocks := slackfake.BlocksJSON(msg.Blocks)
	for _, w := range []string{"hello-world — waiting for approval", "trigger: slack · requested by <@" + slackRequester + ">",
		"Approval needed: confirm", "Who may approve: @oncall", `{\"run\":\"` + id + `\",\"step\":\"confirm\"}`} {
		if !strings.Contains(blocks, w) {
			t.Errorf("message lacks %q: %s", w, blocks)
		}
	}
	if msg.Channel != "C0OPS" {
		t.Errorf("posted in %q", msg.Channel)
	}
	for _, c := range fake.Calls("") {
		if c.Token != "xoxb-test" {
			t.Errorf("%s with token %q", c.Method, c.Token)
		}
	}

	click := func(name, user, action string) {
		t.Helper()
		p, _ := json.Marshal(map[string]any{
			"type": "block_actions", "user": map[string]any{"id": user}, "channel": map[string]any{"id": "C0OPS"},
			"response_url": fake.ResponseURL(name),
			"container":    map[string]any{"type": "message", "message_ts": msg.TS, "channel_id": "C0OPS"},
			"actions": []map[string]any{{"type": "button", "action_id": action, "block_id": "decide:confirm",
				"value": `{"run":"` + id + `","step":"confirm"}`}},
		})
		if code, body := slackPost(t, fb.URL, "/v1/slack/interactions", url.Values{"payload": {string(p)}}); code != 200 || body != "" {
			t.Fatalf("click %s: HTTP %d %q", name, code, body)
		}
	}

	// Someone not allowed: refused, to them alone; the run still waits.
	click("other", slackOther, "firebreak_approve")
	fake.WaitFor(10*time.Second, "the refusal", func() bool { return len(fake.Responses("other")) > 0 })
	refusal := fake.Responses("other")[0].Body
	if text, _ := refusal["text"].(string); !strings.HasPrefix(text, "not allowed: ") || refusal["response_type"] != "ephemeral" || refusal["replace_original"] != false {
		t.Fatalf("refusal %v", refusal)
	}
	st := a.waitFor(id, "still waiting", func(s *runwire.RunState) bool { return true })
	if st.Status != runwire.StatusWaitingApproval || step(st, "confirm").Approval.Decision != "" {
		t.Fatalf("after the refusal: %s %+v", st.Status, step(st, "confirm").Approval)
	}
	if buttons() == "" {
		t.Fatal("the refusal removed the buttons")
	}

	// Slack rate-limits the next message update; then the approver clicks
	// twice in a row.
	fake.FailNext("chat.update", slackfake.Failure{Status: http.StatusTooManyRequests, RetryAfter: 2})
	click("approve-1", slackApprover, "firebreak_approve")
	click("approve-2", slackApprover, "firebreak_approve")
	st = a.waitFor(id, "succeeded", func(s *runwire.RunState) bool { return s.Done() })
	if st.Status != runwire.StatusSucceeded || st.Trigger != runwire.TriggerSlack || st.RequestedBy != slackRequester {
		t.Fatalf("run %s trigger %s requested by %s: %s", st.Status, st.Trigger, st.RequestedBy, st.Error)
	}
	if ap := step(st, "confirm").Approval; ap.Decision != runwire.DecisionApproved || ap.By != slackApprover {
		t.Fatalf("approval %+v", ap)
	}
	fake.WaitFor(10*time.Second, "the double click's answer", func() bool {
		return len(fake.Responses("approve-1"))+len(fake.Responses("approve-2")) > 0
	})
	time.Sleep(300 * time.Millisecond)
	answers := append(fake.Responses("approve-1"), fake.Responses("approve-2")...)
	if len(answers) != 1 || !strings.Contains(answers[0].Text(), "already decided") {
		t.Fatalf("double click: want one answer saying already decided, got %+v", answers)
	}

	// The final update shows the end, without buttons.
	fake.WaitFor(30*time.Second, "the final message", func() bool {
		return strings.Contains(slackfake.BlocksJSON(fake.Messages()[0].Blocks), "hello-world — succeeded")
	})
	msgs := fake.Messages()
	if len(msgs) != 1 {
		t.Fatalf("want one message per run, got %d", len(msgs))
	}
	final := slackfake.BlocksJSON(msgs[0].Blocks)
	if len(slackfake.Buttons(msgs[0].Blocks)) != 0 || !strings.Contains(final, "approved by <@"+slackApprover+">") || !strings.Contains(final, "✓ *farewell*") {
		t.Fatalf("final message: %s", final)
	}
	updates := fake.Calls("chat.update")
	if last := updates[len(updates)-1]; last.Failed || !strings.Contains(slackfake.BlocksJSON(last.Blocks), "hello-world — succeeded") {
		t.Fatalf("last chat.update %+v", last)
	}

	// The rate-limited update was retried after Retry-After, not sooner
	// (the notifier sends one update at a time, so the next call is the
	// retry).
	failed := -1
	for i, u := range updates {
		if u.Failed {
			failed = i
			break
		}
	}
	switch {
	case failed < 0:
		t.Fatal("no chat.update was rate limited")
	case failed+1 >= len(updates):
		t.Fatal("the rate-limited chat.update was never retried")
	}
	if gap := updates[failed+1].At.Sub(updates[failed].At); gap < 1900*time.Millisecond || gap > 10*time.Second {
		t.Errorf("retried %s after a 429 with Retry-After: 2", gap)
	}
}
