package slack

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	slackgo "github.com/slack-go/slack"

	"github.com/firebreak-ops/firebreak/activities/slack/slackfake"
	"github.com/firebreak-ops/firebreak/internal/access"
	"github.com/firebreak-ops/firebreak/internal/runs"
	"github.com/firebreak-ops/firebreak/runbooks"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

const secret = "8f742231b10e8888abcd99yyyzzz85a5"

// fakeService records calls and answers from its fields.
type fakeService struct {
	mu        sync.Mutex
	calls     []string
	prepared  []runs.StartRequest
	started   []runs.StartRequest
	approvals []runwire.ApprovalRequest
	approveID []string
	cancelled []string

	prepareErr error
	startErr   error
	approveErr error
	cancelErr  error
	getErr     error
	runs       []runs.Summary
	state      *runwire.RunState
}

func (f *fakeService) record(c string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, c)
}

func (f *fakeService) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeService) Prepare(req runs.StartRequest) (*runs.Prepared, error) {
	f.record("Prepare")
	f.mu.Lock()
	f.prepared = append(f.prepared, req)
	f.mu.Unlock()
	return &runs.Prepared{}, f.prepareErr
}

func (f *fakeService) StartRun(_ context.Context, req runs.StartRequest) (*runs.Ref, error) {
	f.record("StartRun")
	f.mu.Lock()
	f.started = append(f.started, req)
	f.mu.Unlock()
	if f.startErr != nil {
		return nil, f.startErr
	}
	id := "runbook:" + req.Runbook + ":" + fmt.Sprint(req.Params["name"])
	return &runs.Ref{ID: id, Runbook: req.Runbook, DryRun: req.DryRun, Status: runwire.StatusRunning,
		URL: "http://ui/namespaces/default/workflows/" + url.PathEscape(id) + "/r1/history"}, nil
}

func (f *fakeService) GetRun(_ context.Context, id, _ string) (*runwire.RunState, error) {
	f.record("GetRun " + id)
	return f.state, f.getErr
}

func (f *fakeService) ListRuns(_ context.Context, lf runs.Filter) ([]runs.Summary, error) {
	f.record(fmt.Sprintf("ListRuns %d", lf.Limit))
	return f.runs, nil
}

func (f *fakeService) Approve(_ context.Context, id string, req runwire.ApprovalRequest) (*runwire.ApprovalState, error) {
	f.record("Approve " + id)
	f.mu.Lock()
	f.approvals = append(f.approvals, req)
	f.approveID = append(f.approveID, id)
	f.mu.Unlock()
	if f.approveErr != nil {
		return nil, f.approveErr
	}
	return &runwire.ApprovalState{Decision: runwire.DecisionApproved, By: req.By}, nil
}

func (f *fakeService) Cancel(_ context.Context, id string, _ *access.Principal) error {
	f.record("Cancel " + id)
	f.mu.Lock()
	f.cancelled = append(f.cancelled, id)
	f.mu.Unlock()
	return f.cancelErr
}

func (f *fakeService) Retry(_ context.Context, id string, req runs.RetryRequest) (*runs.RetryResult, error) {
	f.record("Retry " + id + " " + req.From)
	return &runs.RetryResult{ID: id, From: req.From}, nil
}

func (f *fakeService) Runbooks() []runbooks.Summary {
	f.record("Runbooks")
	return []runbooks.Summary{
		{Name: "hello-world", Description: "Greets someone.", Params: []runbooks.Param{
			{Name: "name", Type: runbooks.TypeString, Required: true}, {Name: "times", Type: runbooks.TypeInt, Default: 1}}},
		{Name: "no-params", Params: []runbooks.Param{}},
	}
}

// env is a handler on a fake service and a fake Slack.
type env struct {
	t     *testing.T
	h     *Handler
	svc   *fakeService
	slack *slackfake.Server
	now   time.Time
	n     int
}

func newEnv(t *testing.T) *env {
	fake := slackfake.New(t)
	fake.SetGroups(map[string][]string{"oncall": {"U0ALICE", "U0BOB"}, "sre": {"U0ALICE"}})
	e := &env{t: t, svc: &fakeService{}, slack: fake, now: time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)}
	client := slackgo.New("xoxb-test", slackgo.OptionAPIURL(fake.URL()))
	e.h = New(Services{Runs: e.svc, Chaos: e.svc}, Config{SigningSecret: secret, Client: client, UIURL: "http://ui", Now: func() time.Time { return e.now }}, nil)
	return e
}

// sign signs a body as Slack does, at time ts.
func sign(h http.Header, body, secret string, ts time.Time) {
	stamp := strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%s:%s", stamp, body)
	h.Set("X-Slack-Request-Timestamp", stamp)
	h.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
}

func post(h http.HandlerFunc, path, body string, header func(http.Header)) *httptest.ResponseRecorder {
	r := httptest.NewRequest("POST", path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	header(r.Header)
	w := httptest.NewRecorder()
	h(w, r)
	return w
}

// answer is an immediate reply.
type answer struct {
	Code         int
	ResponseType string `json:"response_type"`
	Text         string `json:"text"`
	Blocks       json.RawMessage
}

// command sends a signed /firebreak command and waits for its background
// work; it returns the immediate answer and what went to the response_url.
func (e *env) command(text string) (answer, []string) {
	e.t.Helper()
	return e.commandAs("U0ALICE", "alice", text)
}

// commandAs is command sent by another Slack user.
func (e *env) commandAs(userID, userName, text string) (answer, []string) {
	e.t.Helper()
	e.n++
	respName := fmt.Sprintf("cmd-%d", e.n)
	form := url.Values{
		"command": {"/firebreak"}, "text": {text}, "user_id": {userID}, "user_name": {userName},
		"channel_id": {"C0OPS"}, "team_id": {"T1"}, "response_url": {e.slack.ResponseURL(respName)},
	}
	body := form.Encode()
	w := post(e.h.ServeCommand, CommandsPath, body, func(h http.Header) { sign(h, body, secret, time.Now()) })
	e.h.Wait()
	var a answer
	if w.Body.Len() > 0 {
		if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil {
			e.t.Fatalf("answer %q: %v", w.Body.String(), err)
		}
	}
	a.Code = w.Code
	var later []string
	for _, r := range e.slack.Responses(respName) {
		if r.Body["response_type"] != "ephemeral" || r.Body["replace_original"] != false {
			e.t.Errorf("response_url post %v: want ephemeral, not replacing the original", r.Body)
		}
		later = append(later, r.Text())
	}
	return a, later
}

func TestSignature(t *testing.T) {
	e := newEnv(t)
	form := url.Values{"command": {"/firebreak"}, "text": {"cancel runbook:x:y"}, "user_id": {"U0ALICE"}, "response_url": {e.slack.ResponseURL("sig")}}.Encode()
	payload := url.Values{"payload": {`{"type":"block_actions","user":{"id":"U0ALICE"},"response_url":"` + e.slack.ResponseURL("sig") +
		`","actions":[{"action_id":"firebreak_approve","value":"{\"run\":\"runbook:x:y\",\"step\":\"s\"}"}]}`}}.Encode()
	unconfigured := New(Services{Runs: e.svc, Chaos: e.svc}, Config{}, nil)
	now := time.Now()
	for _, tc := range []struct {
		name     string
		h        *Handler
		header   func(h http.Header, body string)
		contains string
	}{
		{name: "no secret configured", h: unconfigured, header: func(http.Header, string) {}, contains: "FIREBREAK_SLACK_SIGNING_SECRET"},
		{name: "no secret configured, signed", h: unconfigured, header: func(h http.Header, b string) { sign(h, b, secret, now) }, contains: "FIREBREAK_SLACK_SIGNING_SECRET"},
		{name: "missing", h: e.h, header: func(http.Header, string) {}, contains: "missing Slack signature"},
		{name: "missing timestamp", h: e.h, header: func(h http.Header, b string) {
			sign(h, b, secret, now)
			h.Del("X-Slack-Request-Timestamp")
		}, contains: "missing Slack signature"},
		{name: "wrong secret", h: e.h, header: func(h http.Header, b string) { sign(h, b, "other-secret", now) }, contains: "bad Slack signature"},
		{name: "garbage", h: e.h, header: func(h http.Header, b string) {
			sign(h, b, secret, now)
			h.Set("X-Slack-Signature", "v0=zz")
		}, contains: "bad Slack signature"},
		{name: "other body", h: e.h, header: func(h http.Header, b string) { sign(h, b+"&x=1", secret, now) }, contains: "bad Slack signature"},
		{name: "stale", h: e.h, header: func(h http.Header, b string) { sign(h, b, secret, now.Add(-6*time.Minute)) }, contains: "stale"},
		{name: "future", h: e.h, header: func(h http.Header, b string) { sign(h, b, secret, now.Add(6*time.Minute)) }, contains: "stale"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, ep := range []struct {
				h    http.HandlerFunc
				body string
			}{{tc.h.ServeCommand, form}, {tc.h.ServeInteraction, payload}} {
				w := post(ep.h, "/", ep.body, func(h http.Header) { tc.header(h, ep.body) })
				tc.h.Wait()
				if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), tc.contains) {
					t.Errorf("HTTP %d %s, want 401 containing %q", w.Code, w.Body, tc.contains)
				}
			}
			if c := e.svc.Calls(); len(c) != 0 {
				t.Errorf("service called: %v", c)
			}
			if r := e.slack.Responses(""); len(r) != 0 {
				t.Errorf("responses: %v", r)
			}
		})
	}
	t.Run("valid", func(t *testing.T) {
		w := post(e.h.ServeCommand, CommandsPath, form, func(h http.Header) { sign(h, form, secret, time.Now().Add(-4*time.Minute)) })
		e.h.Wait()
		if w.Code != 200 || !reflect.DeepEqual(e.svc.Calls(), []string{"Cancel runbook:x:y"}) {
			t.Fatalf("HTTP %d %s; calls %v", w.Code, w.Body, e.svc.Calls())
		}
	})
	t.Run("too big", func(t *testing.T) {
		big := strings.Repeat("x", MaxBody+1)
		r := httptest.NewRequest("POST", CommandsPath, strings.NewReader(big))
		sign(r.Header, big, secret, time.Now())
		w := httptest.NewRecorder()
		r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
		e.h.ServeCommand(w, r)
		if w.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("HTTP %d", w.Code)
		}
	})
}

func TestUsage(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		text string
		want []string
	}{
		{"", []string{"Subcommands:", "`/firebreak run <runbook> [key=value …] [--dry-run]`", "`/firebreak approve <run-id> <step> [comment…]`", "`/firebreak status [run-id]`", "`/firebreak runbooks`", "`/firebreak cancel <run-id>`", "`/firebreak deny"}},
		{"help", []string{"Subcommands:"}},
		{"bogus thing", []string{"Unknown subcommand `bogus`", "Subcommands:"}},
		{"run", []string{"Which runbook?", "Usage: `/firebreak run <runbook> [key=value …] [--dry-run]`"}},
		{"run hello-world --force", []string{"Unknown option `--force`", "Usage: `/firebreak run"}},
		{"run hello-world name=a name=b", []string{"Parameter `name` is given twice"}},
		{"run hello-world =x", []string{"`=x` has no parameter name"}},
		{"run hello-world other", []string{"Unexpected `other`: parameters are key=value"}},
		{`run hello-world name="ops`, []string{"could not read", "unterminated quote"}},
		{"approve runbook:x:y", []string{"Which run and step?", "Usage: `/firebreak approve <run-id> <step> [comment…]`"}},
		{"deny", []string{"Usage: `/firebreak deny <run-id> <step> [comment…]`"}},
		{"cancel", []string{"Which run?", "Usage: `/firebreak cancel <run-id>`"}},
		{"cancel a b", []string{"Usage: `/firebreak cancel <run-id>`"}},
		{"status a b", []string{"Usage: `/firebreak status [run-id]`"}},
		{"runbooks please", []string{"Usage: `/firebreak runbooks`"}},
	} {
		t.Run(tc.text, func(t *testing.T) {
			a, later := e.command(tc.text)
			if a.Code != 200 || a.ResponseType != "ephemeral" {
				t.Errorf("HTTP %d %q", a.Code, a.ResponseType)
			}
			for _, w := range tc.want {
				if !strings.Contains(a.Text, w) {
					t.Errorf("missing %q in %q", w, a.Text)
				}
			}
			if len(later) != 0 {
				t.Errorf("later: %q", later)
			}
		})
	}
	if c := e.svc.Calls(); len(c) != 0 {
		t.Errorf("service called: %v", c)
	}
}

func TestRun(t *testing.T) {
	for _, tc := range []struct {
		name       string
		text       string
		prepareErr error
		startErr   error
		ack        string
		later      []string
		params     map[string]any
		dryRun     bool
	}{
		{
			name: "run", text: `run hello-world name="ops team" times=5`,
			ack:    "starting hello-world…",
			later:  []string{"Started a run of *hello-world*: `runbook:hello-world:ops team` · <http://ui/namespaces/default/workflows/runbook:hello-world:ops%20team/r1/history|history>"},
			params: map[string]any{"name": "ops team", "times": "5"},
		},
		{
			name: "dry run, quotes", text: `run hello-world --dry-run 'name=it’s me' times=“2”`,
			ack:    "starting a dry run of hello-world…",
			later:  []string{"Started a dry run of *hello-world*"},
			params: map[string]any{"name": "it’s me", "times": "2"}, dryRun: true,
		},
		{
			name: "slack escapes", text: `run hello-world name=a&amp;b&lt;c&gt;`,
			ack:    "starting hello-world…",
			later:  []string{"`runbook:hello-world:a&amp;b&lt;c&gt;`"},
			params: map[string]any{"name": "a&b<c>"},
		},
		{
			name: "invalid params", text: "run hello-world times=many",
			prepareErr: &access.Error{Kind: access.Invalid, Field: "params.times", Msg: `param times: "many" is not an int`},
			ack:        `param times: "many" is not an int`,
			params:     map[string]any{"times": "many"},
		},
		{
			name: "unknown runbook", text: "run nope",
			prepareErr: &access.Error{Kind: access.Invalid, Field: "runbook", Msg: `unknown runbook "nope"`},
			ack:        `unknown runbook "nope"`, params: map[string]any{},
		},
		{
			name: "forbidden", text: "run hello-world name=x",
			startErr: &access.Error{Kind: access.Forbidden, Msg: "alice (U0ALICE) may not run hello-world for real"},
			ack:      "starting hello-world…", later: []string{"not allowed: alice (U0ALICE) may not run hello-world for real"},
			params: map[string]any{"name": "x"},
		},
		{
			name: "already running", text: "run hello-world name=x",
			startErr: &access.Error{Kind: access.Conflict, Msg: `runbook hello-world already has a run for "x": runbook:hello-world:x`},
			ack:      "starting hello-world…", later: []string{`Nothing changed: runbook hello-world already has a run for "x"`},
			params: map[string]any{"name": "x"},
		},
		{
			name: "temporal down", text: "run hello-world name=x",
			startErr: &access.Error{Kind: access.Unavailable, Msg: "temporal is unavailable: connection refused"},
			ack:      "starting hello-world…", later: []string{"cannot reach Temporal"},
			params: map[string]any{"name": "x"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.svc.prepareErr, e.svc.startErr = tc.prepareErr, tc.startErr
			a, later := e.command(tc.text)
			if a.Code != 200 || a.ResponseType != "ephemeral" || !strings.Contains(a.Text, tc.ack) {
				t.Errorf("answer %+v, want %q", a, tc.ack)
			}
			if len(later) != len(tc.later) {
				t.Fatalf("later %q, want %q", later, tc.later)
			}
			for i := range later {
				if !strings.Contains(later[i], tc.later[i]) {
					t.Errorf("later %q, want %q", later[i], tc.later[i])
				}
			}
			p := e.svc.prepared[0]
			if p.Principal != nil || p.Trigger != runwire.TriggerSlack || !reflect.DeepEqual(p.Params, tc.params) || p.DryRun != tc.dryRun {
				t.Errorf("prepared %+v", p)
			}
			if tc.prepareErr != nil {
				if len(e.svc.started) != 0 {
					t.Errorf("started despite %v", tc.prepareErr)
				}
				return
			}
			s := e.svc.started[0]
			want := &access.Principal{ID: "U0ALICE", Name: "alice", Groups: []string{"oncall", "sre"}, Source: "slack"}
			if s.Principal == nil {
				t.Fatal("no principal")
			}
			got := *s.Principal
			if len(got.Groups) == 2 && got.Groups[0] > got.Groups[1] {
				got.Groups[0], got.Groups[1] = got.Groups[1], got.Groups[0]
			}
			if !reflect.DeepEqual(&got, want) || s.RequestedBy != "U0ALICE" || s.Trigger != "" ||
				s.Notify == nil || s.Notify.SlackChannel != "C0OPS" || !reflect.DeepEqual(s.Params, tc.params) || s.DryRun != tc.dryRun {
				t.Errorf("started %+v principal %+v", s, got)
			}
		})
	}
}

func TestGroups(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if g := e.h.groups.lookup(ctx, "U0BOB"); !reflect.DeepEqual(g, []string{"oncall"}) {
		t.Fatalf("bob: %v", g)
	}
	if g := e.h.groups.lookup(ctx, "U0NOBODY"); len(g) != 0 {
		t.Fatalf("nobody: %v", g)
	}
	e.slack.SetGroups(map[string][]string{"oncall": {"U0NOBODY"}})
	if g := e.h.groups.lookup(ctx, "U0NOBODY"); len(g) != 0 {
		t.Fatalf("cache not used: %v", g)
	}
	e.now = e.now.Add(5 * time.Minute)
	if g := e.h.groups.lookup(ctx, "U0NOBODY"); !reflect.DeepEqual(g, []string{"oncall"}) {
		t.Fatalf("cache not refreshed after 5 minutes: %v", g)
	}
	e.now = e.now.Add(5 * time.Minute)
	e.slack.FailNext("usergroups.list", slackfake.Failure{Error: "missing_scope"})
	if g := e.h.groups.lookup(ctx, "U0NOBODY"); len(g) != 0 {
		t.Fatalf("failed lookup gave %v", g)
	}
	if g := e.h.groups.lookup(ctx, "U0NOBODY"); !reflect.DeepEqual(g, []string{"oncall"}) {
		t.Fatalf("after a failure the next lookup retries: %v", g)
	}
	none := New(Services{Runs: e.svc, Chaos: e.svc}, Config{SigningSecret: secret}, nil)
	if g := none.groups.lookup(ctx, "U0ALICE"); g != nil {
		t.Fatalf("no client: %v", g)
	}
}

func TestStatus(t *testing.T) {
	e := newEnv(t)
	started := e.now.Add(-5 * time.Minute)
	e.svc.runs = []runs.Summary{
		{Ref: runs.Ref{ID: "runbook:hello-world:ops", Runbook: "hello-world", Status: runwire.StatusWaitingApproval, URL: "http://ui/x"}, Trigger: "slack", StartedAt: started},
		{Ref: runs.Ref{ID: "runbook:check:a", Runbook: "check", Status: runwire.StatusSucceeded, DryRun: true}, Trigger: "api", StartedAt: started.Add(-3 * time.Hour)},
	}
	a, later := e.command("status")
	if a.Text != "looking up the latest runs…" || len(later) != 1 {
		t.Fatalf("%+v %q", a, later)
	}
	for _, w := range []string{"*Latest 2 runs*", "⏸ `runbook:hello-world:ops` *hello-world* — waiting approval · slack · started 5m ago · <http://ui/x|history>",
		"✓ `runbook:check:a` *check* — succeeded (dry run) · api · started 3h ago · <http://ui/namespaces/default/workflows/runbook:check:a/history|history>"} {
		if !strings.Contains(later[0], w) {
			t.Errorf("missing %q in %s", w, later[0])
		}
	}
	if c := e.svc.Calls(); c[0] != "ListRuns 10" {
		t.Errorf("calls %v", c)
	}

	e.svc.state = &runwire.RunState{ID: "runbook:hello-world:ops", Runbook: "hello-world", Status: runwire.StatusRunning,
		Steps: []runwire.StepState{{Name: "greet", Status: runwire.StepRunning}}}
	a, _ = e.command("status runbook:hello-world:ops")
	if a.Text != "looking up `runbook:hello-world:ops`…" {
		t.Fatalf("%+v", a)
	}
	r := e.slack.Responses(fmt.Sprintf("cmd-%d", e.n))
	if len(r) != 1 || !strings.Contains(r[0].Text(), "hello-world is running (greet)") {
		t.Fatalf("responses %+v", r)
	}
	blocks, _ := json.Marshal(r[0].Body["blocks"])
	if !strings.Contains(string(blocks), "▶ *greet*") {
		t.Fatalf("blocks %s", blocks)
	}

	e.svc.getErr = &access.Error{Kind: access.NotFound, Msg: `no run "nope" (run IDs look like runbook:<name>:<key>)`}
	_, later = e.command("status nope")
	if len(later) != 1 || !strings.Contains(later[0], `no run "nope"`) {
		t.Fatalf("%q", later)
	}
}

func TestDecideAndCancel(t *testing.T) {
	for _, tc := range []struct {
		name    string
		text    string
		err     error
		ack     string
		later   string
		approve bool
		comment string
	}{
		{name: "approve", text: "approve runbook:hello-world:ops confirm looks good to me", approve: true, comment: "looks good to me",
			ack: "approving confirm of `runbook:hello-world:ops`…", later: "Approved *confirm* of `runbook:hello-world:ops`."},
		{name: "deny", text: `deny runbook:hello-world:ops confirm "not now"`, comment: "not now",
			ack: "denying confirm", later: "Denied *confirm*"},
		{name: "forbidden", text: "approve runbook:hello-world:ops confirm", approve: true,
			err: &access.Error{Kind: access.Forbidden, Msg: `U0ALICE may not decide step "confirm" (approvers: @leads)`},
			ack: "approving", later: `not allowed: U0ALICE may not decide step "confirm" (approvers: @leads)`},
		{name: "already decided", text: "deny runbook:hello-world:ops confirm",
			err: &access.Error{Kind: access.Conflict, Msg: `step "confirm" was already decided: approved by U0BOB`},
			ack: "denying", later: `Nothing changed: step "confirm" was already decided: approved by U0BOB`},
		{name: "unknown step", text: "approve runbook:hello-world:ops nope", approve: true,
			err: &access.Error{Kind: access.NotFound, Msg: `no step "nope"`}, ack: "approving", later: `no step "nope"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.svc.approveErr = tc.err
			a, later := e.command(tc.text)
			if !strings.Contains(a.Text, tc.ack) || len(later) != 1 || !strings.Contains(later[0], tc.later) {
				t.Fatalf("answer %q later %q", a.Text, later)
			}
			req := e.svc.approvals[0]
			groups := append([]string(nil), req.Groups...)
			if len(groups) == 2 && groups[0] > groups[1] {
				groups[0], groups[1] = groups[1], groups[0]
			}
			if e.svc.approveID[0] != "runbook:hello-world:ops" || req.Approve != tc.approve || req.By != "U0ALICE" ||
				req.Comment != tc.comment || req.Source != "slack" || !reflect.DeepEqual(groups, []string{"oncall", "sre"}) {
				t.Errorf("approval %+v", req)
			}
		})
	}
	t.Run("cancel", func(t *testing.T) {
		e := newEnv(t)
		a, later := e.command("cancel runbook:hello-world:ops")
		if a.Text != "cancelling `runbook:hello-world:ops`…" || len(later) != 1 || !strings.Contains(later[0], "Cancelling `runbook:hello-world:ops`: it rolls back") {
			t.Fatalf("%q %q", a.Text, later)
		}
		e.svc.cancelErr = &access.Error{Kind: access.Conflict, Msg: "run runbook:hello-world:ops has already finished"}
		_, later = e.command("cancel runbook:hello-world:ops")
		if len(later) != 1 || later[0] != "Nothing changed: run runbook:hello-world:ops has already finished" {
			t.Fatalf("%q", later)
		}
		if !reflect.DeepEqual(e.svc.cancelled, []string{"runbook:hello-world:ops", "runbook:hello-world:ops"}) {
			t.Fatalf("%v", e.svc.cancelled)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		e := newEnv(t)
		e.svc.cancelErr = context.DeadlineExceeded
		_, later := e.command("cancel runbook:hello-world:ops")
		if len(later) != 1 || !strings.Contains(later[0], "Timed out waiting for Temporal") {
			t.Fatalf("%q", later)
		}
	})
}

func TestRunbooks(t *testing.T) {
	e := newEnv(t)
	a, later := e.command("runbooks")
	for _, w := range []string{"*2 runbooks*", "• *hello-world* — Greets someone.\n    params: `name` (string, required), `times` (int, default 1)", "• *no-params*"} {
		if !strings.Contains(a.Text, w) {
			t.Errorf("missing %q in %q", w, a.Text)
		}
	}
	if len(later) != 0 {
		t.Errorf("later %q", later)
	}
}

// click sends a signed block_actions payload.
func (e *env) click(user, actionID, value string) (int, []map[string]any) {
	e.t.Helper()
	e.n++
	respName := fmt.Sprintf("click-%d", e.n)
	ic := map[string]any{
		"type": "block_actions", "user": map[string]any{"id": user, "username": "someone"},
		"response_url": e.slack.ResponseURL(respName), "channel": map[string]any{"id": "C0OPS"},
		"container": map[string]any{"type": "message", "message_ts": "1700000000.000001"},
		"actions":   []map[string]any{{"type": "button", "action_id": actionID, "block_id": "decide:confirm", "value": value}},
	}
	p, _ := json.Marshal(ic)
	body := url.Values{"payload": {string(p)}}.Encode()
	w := post(e.h.ServeInteraction, InteractionsPath, body, func(h http.Header) { sign(h, body, secret, time.Now()) })
	e.h.Wait()
	var out []map[string]any
	for _, r := range e.slack.Responses(respName) {
		out = append(out, r.Body)
	}
	return w.Code, out
}

func TestInteractions(t *testing.T) {
	value := `{"run":"runbook:hello-world:ops","step":"confirm"}`
	for _, tc := range []struct {
		name     string
		user     string
		action   string
		value    string
		err      error
		calls    int
		approve  bool
		response string
	}{
		{name: "approve", user: "U0BOB", action: "firebreak_approve", value: value, calls: 1, approve: true},
		{name: "deny", user: "U0BOB", action: "firebreak_deny", value: value, calls: 1},
		{name: "forbidden", user: "U0EVE", action: "firebreak_approve", value: value, calls: 1, approve: true,
			err:      &access.Error{Kind: access.Forbidden, Msg: `U0EVE may not decide step "confirm" (approvers: @oncall)`},
			response: `not allowed: U0EVE may not decide step "confirm" (approvers: @oncall)`},
		{name: "double click", user: "U0BOB", action: "firebreak_approve", value: value, calls: 1, approve: true,
			err:      &access.Error{Kind: access.Conflict, Msg: `step "confirm" was already decided: approved by U0BOB`},
			response: `Nothing changed: step "confirm" was already decided`},
		{name: "run finished", user: "U0BOB", action: "firebreak_deny", value: value, calls: 1,
			err:      &access.Error{Kind: access.Conflict, Msg: "run runbook:hello-world:ops has already finished"},
			response: "Nothing changed: run runbook:hello-world:ops has already finished"},
		{name: "other action", user: "U0BOB", action: "something_else", value: value},
		{name: "bad value", user: "U0BOB", action: "firebreak_approve", value: "{", response: "does not name a run and step"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.svc.approveErr = tc.err
			code, responses := e.click(tc.user, tc.action, tc.value)
			if code != 200 {
				t.Fatalf("HTTP %d", code)
			}
			if len(e.svc.approvals) != tc.calls {
				t.Fatalf("approvals %+v", e.svc.approvals)
			}
			if tc.calls > 0 {
				req := e.svc.approvals[0]
				wantGroups := []string{"oncall"}
				if tc.user == "U0EVE" {
					wantGroups = nil
				}
				if e.svc.approveID[0] != "runbook:hello-world:ops" || req.Step != "confirm" || req.Approve != tc.approve ||
					req.By != tc.user || req.Source != "slack" || req.Comment != "" || !reflect.DeepEqual(req.Groups, wantGroups) {
					t.Errorf("approval %+v", req)
				}
			}
			if tc.response == "" {
				if len(responses) != 0 {
					t.Fatalf("responses %v", responses)
				}
				return
			}
			if len(responses) != 1 {
				t.Fatalf("responses %v", responses)
			}
			r := responses[0]
			if r["response_type"] != "ephemeral" || r["replace_original"] != false || !strings.Contains(r["text"].(string), tc.response) {
				t.Fatalf("response %v, want %q", r, tc.response)
			}
		})
	}
	t.Run("bad payload", func(t *testing.T) {
		e := newEnv(t)
		body := "payload=%7Bnot+json"
		w := post(e.h.ServeInteraction, InteractionsPath, body, func(h http.Header) { sign(h, body, secret, time.Now()) })
		if w.Code != http.StatusBadRequest || len(e.svc.Calls()) != 0 {
			t.Fatalf("HTTP %d calls %v", w.Code, e.svc.Calls())
		}
	})
	t.Run("other interaction types", func(t *testing.T) {
		e := newEnv(t)
		body := url.Values{"payload": {`{"type":"view_submission","user":{"id":"U0BOB"}}`}}.Encode()
		w := post(e.h.ServeInteraction, InteractionsPath, body, func(h http.Header) { sign(h, body, secret, time.Now()) })
		if w.Code != 200 || len(e.svc.Calls()) != 0 {
			t.Fatalf("HTTP %d calls %v", w.Code, e.svc.Calls())
		}
	})
}
