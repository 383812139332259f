package tests

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/firebreak-ops/firebreak/activities/slack/slackfake"
	"github.com/firebreak-ops/firebreak/internal/config"
	"github.com/firebreak-ops/firebreak/internal/names"
	"github.com/firebreak-ops/firebreak/internal/runs"
	"github.com/firebreak-ops/firebreak/internal/testenv"
	"github.com/firebreak-ops/firebreak/runbooks"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// retryRunbook calls an outside system in three steps; the third fails
// while the system is broken. A run for target "held" waits for an
// approval first, so it is still running.
const retryRunbook = `
apiVersion: firebreak/v1
kind: Runbook
metadata: {name: three-calls}
spec:
  params:
    - {name: url, type: string, required: true}
    - {name: target, type: string, required: true}
  concurrency: params.target
  access:
    run: [alice, ` + slackRequester + `]
  notify: {slack: {channel: C0OPS}}
  steps:
    - name: hold
      when: params.target == "held"
      approval: {approvers: [alice]}
    - {name: drain, action: http.request, with: {method: POST, url: "${{ params.url }}/drain"}}
    - {name: restart, action: http.request, with: {method: POST, url: "${{ params.url }}/restart"}}
    - name: verify
      action: http.request
      with: {url: "${{ params.url }}/verify"}
      retry: {attempts: 1}
    - {name: report, action: log, with: {message: "verified: ${{ steps.verify.output.status }}"}}
`

// outside is the system the runbook calls: it counts calls by path, and
// /verify answers 503 until fixed.
type outside struct {
	mu    sync.Mutex
	calls map[string]int
	fixed atomic.Bool
}

func (o *outside) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	o.calls[r.URL.Path]++
	o.mu.Unlock()
	if r.URL.Path == "/verify" && !o.fixed.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (o *outside) count(path string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.calls[path]
}

// retryEnv is Firebreak with the three-calls runbook, principals alice
// (listed in spec.access.run) and bob (not), and a fake Slack.
type retryEnv struct {
	t     *testing.T
	fb    *testenv.Firebreak
	fake  *slackfake.Server
	alice *api
	bob   *api
	op    *api
}

func startRetryEnv(t *testing.T) *retryEnv {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "three-calls.yaml")
	if err := os.WriteFile(p, []byte(retryRunbook), 0o600); err != nil {
		t.Fatal(err)
	}
	cat := runbooks.NewCatalog()
	if err := cat.LoadPath(p); err != nil {
		t.Fatal(err)
	}
	fake := slackfake.New(t)
	eng := testenv.Engine(t, t.TempDir())
	fb := testenv.StartFirebreak(t, eng, testenv.Options{Catalog: cat, Config: &config.Config{
		APIToken: "operator",
		Principals: []config.Principal{
			{Token: "tok-alice", Name: "alice"},
			{Token: "tok-bob", Name: "bob"},
		},
		Slack: config.Slack{SigningSecret: slackSecret, BotToken: "xoxb-test", APIURL: fake.URL()},
	}})
	return &retryEnv{t: t, fb: fb, fake: fake,
		alice: &api{t: t, base: fb.URL, token: "tok-alice"},
		bob:   &api{t: t, base: fb.URL, token: "tok-bob"},
		op:    &api{t: t, base: fb.URL, token: "operator"}}
}

// failedRun starts a run for target against srv and waits until it failed
// at verify.
func (e *retryEnv) failedRun(srv, target string) runs.Ref {
	e.t.Helper()
	ref := e.alice.start(runs.StartRequest{Runbook: "three-calls", Params: fmtParams("url", srv, "target", target)})
	st := e.alice.waitFor(ref.ID, "failed", func(s *runwire.RunState) bool { return s.Done() })
	if st.Status != runwire.StatusFailed || step(st, "verify").Status != runwire.StepFailed {
		e.t.Fatalf("first run: %s, verify %+v", st.Status, step(st, "verify"))
	}
	return ref
}

// executions counts the Temporal runs of a workflow ID: one, and one more
// for each reset.
func (e *retryEnv) executions(id string) int {
	e.t.Helper()
	resp, err := e.fb.Client.CountWorkflow(context.Background(), &workflowservice.CountWorkflowExecutionsRequest{
		Query: "WorkflowId = '" + id + "'",
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return int(resp.GetCount())
}

// TestRetry: a run whose third call fails; the system is fixed; a retry by
// name goes on from the failed step, so the first two calls happened once
// each, and the record and the audit export say who retried and why. A
// running run cannot be retried (409), nor can someone not in
// spec.access.run (403); a retry from an approval step asks it again; run
// names are accepted by every route.
func TestRetry(t *testing.T) {
	e := startRetryEnv(t)
	sys := &outside{calls: map[string]int{}}
	srv := httptest.NewServer(sys)
	defer srv.Close()

	ref := e.failedRun(srv.URL, "prod")
	if !names.IsRunName(ref.Name) {
		t.Fatalf("run name %q", ref.Name)
	}
	// The name is accepted where the ID is.
	var byName runwire.RunState
	if code := e.alice.do("GET", runURL(ref.Name), nil, &byName); code != 200 || byName.ID != ref.ID || byName.Name != ref.Name {
		t.Fatalf("GET by name: HTTP %d %+v", code, byName)
	}
	expectError(t, e.alice, "GET", runURL("run-nosuchrun"), nil, 404, "no run named")

	// Still broken, and not by bob: refused, nothing resets.
	expectError(t, e.bob, "POST", runURL(ref.Name)+"/retry", map[string]any{"reason": "try"}, 403, "may not retry a run of three-calls")

	// A running run: 409. Then approved, it fails at verify too.
	sys2 := &outside{calls: map[string]int{}}
	srv2 := httptest.NewServer(sys2)
	defer srv2.Close()
	held := e.alice.start(runs.StartRequest{Runbook: "three-calls", Params: fmtParams("url", srv2.URL, "target", "held")})
	e.alice.waitFor(held.ID, "waiting", func(s *runwire.RunState) bool { return s.Status == runwire.StatusWaitingApproval })
	expectError(t, e.alice, "POST", runURL(held.Name)+"/retry", map[string]any{}, 409, "still running")
	approve := func() {
		t.Helper()
		if code := e.alice.do("POST", runURL(held.Name)+"/approvals", map[string]any{"step": "hold", "approve": true}, nil); code != 200 {
			t.Fatalf("approve: HTTP %d", code)
		}
	}
	approve()
	if st := e.alice.waitFor(held.ID, "failed", func(s *runwire.RunState) bool { return s.Done() }); st.Status != runwire.StatusFailed {
		t.Fatalf("held run: %s", st.Status)
	}

	// Fixed: the retry goes on from verify.
	sys.fixed.Store(true)
	started := time.Now()
	var res runs.RetryResult
	if code := e.alice.do("POST", runURL(ref.Name)+"/retry", map[string]any{"reason": "verify endpoint is back"}, &res); code != 200 {
		t.Fatalf("retry: HTTP %d %+v", code, res)
	}
	if res.From != "verify" || strings.Join(res.Kept, ",") != "hold,drain,restart" || res.RunbookVersion == "" || res.RunbookChanged ||
		res.Duplicate || res.RunID == "" || res.RunID == res.BaseRunID || !strings.Contains(res.Note, "runbook it started with") {
		t.Fatalf("retry result %+v", res)
	}
	st := e.alice.waitFor(ref.ID, "succeeded", func(s *runwire.RunState) bool { return s.Done() })
	t.Logf("retried run finished in %s", time.Since(started).Round(time.Millisecond))
	if st.Status != runwire.StatusSucceeded || step(st, "report").Status != runwire.StepSucceeded {
		t.Fatalf("retried run: %s %s", st.Status, st.Error)
	}
	if d, r, v := sys.count("/drain"), sys.count("/restart"), sys.count("/verify"); d != 1 || r != 1 || v != 2 {
		t.Fatalf("the system saw drain %d, restart %d, verify %d times; want 1, 1, 2", d, r, v)
	}
	if len(st.Retries) != 1 || st.Retries[0].By != "alice" || st.Retries[0].From != "verify" ||
		st.Retries[0].Reason != "verify endpoint is back" || st.Retries[0].BaseRunID != res.BaseRunID {
		t.Fatalf("retry record %+v", st.Retries)
	}
	if st.Name != ref.Name {
		t.Errorf("the retried run is named %q, want %q", st.Name, ref.Name)
	}
	// A finished, retried run: the audit export says who and why.
	code, lines, _ := e.op.raw("GET", "/v1/audit?since=1h")
	if code != 200 || !strings.Contains(lines, `"kind":"run.retry","by":"alice","source":"api","subject":"`+ref.ID+`","text":"retried from verify: verify endpoint is back"`) {
		t.Errorf("audit: HTTP %d\n%s", code, lines)
	}
	// Retried from its approval step, the held run asks again; the
	// approval decided after that point is not applied again.
	sys2.fixed.Store(true)
	if code := e.alice.do("POST", runURL(held.Name)+"/retry", map[string]any{"from": "hold"}, &res); code != 200 || res.From != "hold" {
		t.Fatalf("retry from hold: HTTP %d %+v", code, res)
	}
	st = e.alice.waitFor(held.ID, "asking again", func(s *runwire.RunState) bool {
		return s.Status == runwire.StatusWaitingApproval && len(s.Retries) == 1
	})
	if h := step(st, "hold"); h.Approval == nil || h.Approval.Decision != "" || sys2.count("/drain") != 1 {
		t.Fatalf("after the retry from hold: %+v, drain %d", h.Approval, sys2.count("/drain"))
	}
	approve()
	if st := e.alice.waitFor(held.ID, "succeeded", func(s *runwire.RunState) bool { return s.Done() }); st.Status != runwire.StatusSucceeded || sys2.count("/drain") != 2 {
		t.Fatalf("held run after the second approval: %s, drain %d", st.Status, sys2.count("/drain"))
	}

	// The list shows the name.
	var list []runs.Summary
	e.alice.do("GET", "/v1/runs?runbook=three-calls", nil, &list)
	found := false
	for _, s := range list {
		found = found || (s.ID == ref.ID && s.Name == ref.Name && s.Status == runwire.StatusSucceeded)
	}
	if !found {
		t.Errorf("list %+v lacks %s named %s", list, ref.ID, ref.Name)
	}
}

// TestRetryFromNamedStepOnce: a run retried too early fails again and is
// retried again; a retry from an earlier step, named, runs that step again
// and those after it; two retries at once are one reset; run again starts
// a new run with a new name and the same params.
func TestRetryFromNamedStepOnce(t *testing.T) {
	e := startRetryEnv(t)
	sys := &outside{calls: map[string]int{}}
	srv := httptest.NewServer(sys)
	defer srv.Close()
	ref := e.failedRun(srv.URL, "prod")

	// Retried while still broken: it fails again, and can be retried
	// again.
	var res struct {
		runs.RetryResult
		errBody
	}
	if code := e.alice.do("POST", runURL(ref.Name)+"/retry", map[string]any{"reason": "too early"}, &res); code != 200 {
		t.Fatalf("first retry: HTTP %d %+v", code, res)
	}
	st := e.alice.waitFor(ref.ID, "failed again", func(s *runwire.RunState) bool { return s.Done() && len(s.Retries) == 1 })
	if st.Status != runwire.StatusFailed || sys.count("/verify") != 2 {
		t.Fatalf("retried while broken: %s, verify %d", st.Status, sys.count("/verify"))
	}
	sys.fixed.Store(true)

	expectError(t, e.alice, "POST", runURL(ref.ID)+"/retry", map[string]any{"from": "nope"}, 404, `no step "nope"`)
	expectError(t, e.alice, "POST", runURL(ref.ID)+"/retry", map[string]any{"from": "hold"}, 400, "did not start")

	var wg sync.WaitGroup
	results := make([]runs.RetryResult, 2)
	codes := make([]int, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = e.alice.do("POST", runURL(ref.ID)+"/retry", map[string]any{"from": "restart", "reason": "double click"}, &results[i])
		}()
	}
	wg.Wait()
	taken := 0
	for i := range 2 {
		switch {
		case codes[i] == 200 && !results[i].Duplicate:
			taken++
		case codes[i] == 200 && results[i].Duplicate, codes[i] == 409:
		default:
			t.Fatalf("retry %d: HTTP %d %+v", i, codes[i], results[i])
		}
	}
	if taken != 1 {
		t.Fatalf("%d retries taken, want 1: %v %+v", taken, codes, results)
	}
	st = e.alice.waitFor(ref.ID, "succeeded", func(s *runwire.RunState) bool { return s.Done() })
	if st.Status != runwire.StatusSucceeded || len(st.Retries) != 2 || st.Retries[0].Reason != "too early" || st.Retries[1].From != "restart" {
		t.Fatalf("retried run: %s, retries %+v", st.Status, st.Retries)
	}
	if d, r := sys.count("/drain"), sys.count("/restart"); d != 1 || r != 2 {
		t.Fatalf("drain %d, restart %d: want 1, 2", d, r)
	}
	deadline := time.Now().Add(10 * time.Second)
	for e.executions(ref.ID) != 3 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	if n := e.executions(ref.ID); n != 3 {
		t.Fatalf("%d executions of %s, want 3 (the run and two resets)", n, ref.ID)
	}

	// Run again: a new run, a new name, the same params.
	var again runs.Ref
	if code := e.alice.do("POST", runURL(ref.Name)+"/rerun", map[string]any{}, &again); code != http.StatusCreated {
		t.Fatalf("rerun: HTTP %d", code)
	}
	if again.ID != ref.ID || again.Name == ref.Name || !names.IsRunName(again.Name) {
		t.Fatalf("rerun %+v of %+v", again, ref)
	}
	st = e.alice.waitFor(again.Name, "succeeded", func(s *runwire.RunState) bool { return s.Done() })
	if st.Status != runwire.StatusSucceeded || st.Params["url"] != srv.URL || len(st.Retries) != 0 {
		t.Fatalf("rerun: %s %v %+v", st.Status, st.Params, st.Retries)
	}
	// The CLI retries a succeeded run from its last step, by name, and
	// follows it; nothing before that step runs again.
	code, out, errOut := runCLI("--server", e.fb.URL, "--token", "tok-alice", "runs", "retry", again.Name, "--from", "report", "--reason", "from the CLI", "--wait")
	for _, w := range []string{"retrying runbook:three-calls:prod from step report", "name: " + again.Name,
		"kept from the history, not run again: hold, drain, restart, verify", "uses the runbook it started with (version ",
		"run runbook:three-calls:prod succeeded"} {
		if code != 0 || !strings.Contains(out, w) {
			t.Errorf("runs retry: exit %d, missing %q in:\n%s%s", code, w, out, errOut)
		}
	}
	code, out, _ = runCLI("--server", e.fb.URL, "--token", "tok-alice", "runs", "show", again.Name)
	if code != 0 || !strings.Contains(out, "name: "+again.Name) || !strings.Contains(out, "retried from report by alice") {
		t.Errorf("runs show: exit %d\n%s", code, out)
	}
	if d, r, v := sys.count("/drain"), sys.count("/restart"), sys.count("/verify"); d != 2 || r != 3 || v != 4 {
		t.Errorf("after the CLI retry: drain %d, restart %d, verify %d; want 2, 3, 4", d, r, v)
	}

	// The first run's name still shows the first run.
	var first runwire.RunState
	if code := e.alice.do("GET", runURL(ref.Name), nil, &first); code != 200 || first.Name != ref.Name || len(first.Retries) != 2 {
		t.Fatalf("first run by name: HTTP %d %s %+v", code, first.Name, first.Retries)
	}
}

// TestRetrySlackButton: a failed run's Slack message has a "Retry from
// verify" button; two clicks are one retry; the run succeeds.
func TestRetrySlackButton(t *testing.T) {
	e := startRetryEnv(t)
	sys := &outside{calls: map[string]int{}}
	srv := httptest.NewServer(sys)
	defer srv.Close()
	ref := e.failedRun(srv.URL, "prod")

	var value string
	e.fake.WaitFor(20*time.Second, "the retry button", func() bool {
		msgs := e.fake.Messages()
		if len(msgs) == 0 {
			return false
		}
		blocks := slackfake.BlocksJSON(msgs[len(msgs)-1].Blocks)
		if !strings.Contains(blocks, "Retry from verify") {
			return false
		}
		value = `{"run":"` + ref.Name + `","step":"verify"}`
		return strings.Contains(blocks, strings.ReplaceAll(value, `"`, `\"`))
	})
	sys.fixed.Store(true)
	msg := e.fake.Messages()[0]
	click := func(name string) {
		t.Helper()
		p, _ := json.Marshal(map[string]any{
			"type": "block_actions", "user": map[string]any{"id": slackRequester, "name": "rita"}, "channel": map[string]any{"id": "C0OPS"},
			"response_url": e.fake.ResponseURL(name),
			"container":    map[string]any{"type": "message", "message_ts": msg.TS, "channel_id": "C0OPS"},
			"actions":      []map[string]any{{"type": "button", "action_id": "firebreak_retry", "block_id": "retry", "value": value}},
		})
		if code, body := slackPost(t, e.fb.URL, "/v1/slack/interactions", url.Values{"payload": {string(p)}}); code != 200 || body != "" {
			t.Fatalf("click %s: HTTP %d %q", name, code, body)
		}
	}
	click("first")
	click("second")
	e.fake.WaitFor(20*time.Second, "both answers", func() bool {
		return len(e.fake.Responses("first")) > 0 && len(e.fake.Responses("second")) > 0
	})
	answers := e.fake.Responses("first")[0].Text() + "\n" + e.fake.Responses("second")[0].Text()
	if !strings.Contains(answers, "Retrying `"+ref.ID+"` from `verify`") {
		t.Fatalf("answers:\n%s", answers)
	}
	st := e.alice.waitFor(ref.ID, "succeeded", func(s *runwire.RunState) bool { return s.Done() })
	if st.Status != runwire.StatusSucceeded || len(st.Retries) != 1 || st.Retries[0].By != slackRequester || st.Retries[0].Source != runwire.SourceSlack {
		t.Fatalf("after the button: %s %+v\n%s", st.Status, st.Retries, answers)
	}
	if d, r, v := sys.count("/drain"), sys.count("/restart"), sys.count("/verify"); d != 1 || r != 1 || v != 2 {
		t.Fatalf("drain %d, restart %d, verify %d: want 1, 1, 2", d, r, v)
	}
	// The message shows the run succeeded, without the button.
	e.fake.WaitFor(20*time.Second, "the final message", func() bool {
		msgs := e.fake.Messages()
		blocks := slackfake.BlocksJSON(msgs[len(msgs)-1].Blocks)
		return strings.Contains(blocks, "three-calls — succeeded") && !strings.Contains(blocks, "Retry from")
	})
}
