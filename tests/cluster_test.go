package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/firebreak-ops/firebreak/activities/slack/slackfake"
	"github.com/firebreak-ops/firebreak/internal/app"
	"github.com/firebreak-ops/firebreak/internal/ingress/alertmanager"
	"github.com/firebreak-ops/firebreak/internal/runs"
	"github.com/firebreak-ops/firebreak/internal/testenv"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// clusterRunbooks are the runbooks of the production-shape tests: one an
// alert storm starts per target, one that waits for a person, one with
// three side effects in a row.
const clusterRunbooks = `
apiVersion: firebreak/v1
kind: Runbook
metadata: {name: storm}
spec:
  params:
    - {name: target, type: string, required: true}
  concurrency: params.target
  triggers:
    - alertmanager:
        match: alert.labels.alertname == "ClusterStorm"
        params: {target: alert.labels.target}
  steps:
    - {name: act, action: log, with: {message: "acting on ${{ params.target }}"}}
    - name: until_resolved
      wait: {until: 'alerts.all(a, a.status == "resolved")', every: 1s, timeout: 5m}
---
apiVersion: firebreak/v1
kind: Runbook
metadata: {name: gated}
spec:
  params:
    - {name: name, type: string, required: true}
  concurrency: params.name
  steps:
    - {name: before, action: log, with: {message: "before ${{ params.name }}"}}
    - name: confirm
      approval: {message: "Go on with ${{ params.name }}?", timeout: 30m, onTimeout: abort}
    - {name: after, action: log, with: {message: "after ${{ params.name }}"}}
---
apiVersion: firebreak/v1
kind: Runbook
metadata: {name: gated-slack}
spec:
  params:
    - {name: name, type: string, required: true}
  concurrency: params.name
  notify: {slack: {channel: C0OPS}}
  access: {approve: ["@oncall"]}
  steps:
    - {name: before, action: log, with: {message: "before ${{ params.name }}"}}
    - name: confirm
      approval: {message: "Go on with ${{ params.name }}?", timeout: 30m, onTimeout: abort}
    - {name: after, action: log, with: {message: "after ${{ params.name }}"}}
---
apiVersion: firebreak/v1
kind: Runbook
metadata: {name: effects}
spec:
  params:
    - {name: url, type: string, required: true}
    - {name: n, type: string, required: true}
  concurrency: params.n
  steps:
    - {name: one, action: http.request, with: {method: POST, url: "${{ params.url }}"}, timeout: 10s, retry: {attempts: 20, backoff: 1s}}
    - {name: two, action: http.request, with: {method: POST, url: "${{ params.url }}"}, timeout: 10s, retry: {attempts: 20, backoff: 1s}}
    - {name: three, action: http.request, with: {method: POST, url: "${{ params.url }}"}, timeout: 10s, retry: {attempts: 20, backoff: 1s}}
`

// keyedEffects is an outside system that honours Idempotency-Key and
// counts what each key asked for.
type keyedEffects struct {
	mu   sync.Mutex
	keys map[string]int
}

func (k *keyedEffects) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	k.mu.Lock()
	k.keys[r.Header.Get("Idempotency-Key")]++
	k.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// prodShape is Firebreak in production shape on the cluster: API and
// worker processes of `firebreak serve`, with TLS to the frontend.
type prodShape struct {
	t       *testing.T
	tc      *testenv.Cluster
	bin     string
	config  string
	rbDir   string
	slack   *slackfake.Server
	apis    []*api
	workers []*clusterWorker
	// finished are runs that ended, with how, for the last check.
	finished       []runs.Ref
	finishedStatus []string
	// resolved is an incident resolved during the test.
	resolved string
}

type clusterWorker struct {
	cmd   *exec.Cmd
	probe *api
}

// clients are the API instances for test t.
func (p *prodShape) clients(t *testing.T) []*api {
	out := make([]*api, len(p.apis))
	for i, a := range p.apis {
		out[i] = &api{t: t, base: a.base, token: a.token}
	}
	return out
}

// startWorker starts `serve --role worker` from bin, serving its probes.
// It outlives test t, which only waits for it.
func (p *prodShape) startWorker(t *testing.T, bin string) *clusterWorker {
	port := testenv.FreePort(p.t)
	args := append([]string{"--listen", fmt.Sprintf("127.0.0.1:%d", port), "--config", p.config, "--runbooks", p.rbDir}, p.tc.TLS.ServeFlags()...)
	w := &clusterWorker{cmd: serve(p.t, bin, p.tc.Frontend, "worker", args...), probe: &api{t: p.t, base: fmt.Sprintf("http://127.0.0.1:%d", port)}}
	waitReady(t, w.probe, 90*time.Second)
	p.workers = append(p.workers, w)
	return w
}

// stop stops a worker with Ctrl-C, as a rollout does.
func (w *clusterWorker) stop(t *testing.T) {
	t.Helper()
	_ = w.cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- w.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("worker did not stop cleanly: %v", err)
		}
	case <-time.After(30 * time.Second):
		_ = w.cmd.Process.Kill()
		t.Fatal("worker did not stop within 30s of Ctrl-C")
	}
}

func waitReady(t *testing.T, a *api, within time.Duration) map[string]string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var body map[string]string
		if a.tryGet("/readyz", &body) == http.StatusOK {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never became ready: %v", a.base, body)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// TestServeOnCluster runs Firebreak in production shape: two `serve --role
// api` and two `serve --role worker` processes, payloads encrypted, over
// mutual TLS to the PostgreSQL-backed three-node Temporal cluster. It
// covers, in order: API readiness without a worker, a rolling upgrade of
// the workers from the previous release's build while runs wait for
// approval and an incident is open, an alert storm split across both
// APIs, an approval decided through the other API and Slack, kill -9 of a
// history node in the middle of runs, kill -9 of a worker mid-step, and
// finished runs read with no worker left.
func TestServeOnCluster(t *testing.T) {
	// Long and mostly waiting: it overlaps the package's other slow tests.
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	tc, err := testenv.StartClusterWith(ctx, testenv.ClusterOptions{TLS: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Stop)
	dir := t.TempDir()
	p := &prodShape{t: t, tc: tc, bin: firebreakBinary(t), rbDir: filepath.Join(dir, "runbooks"), slack: slackfake.New(t)}
	p.slack.SetGroups(map[string][]string{"oncall": {slackApprover}})
	if err := os.MkdirAll(p.rbDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p.rbDir, "cluster.yaml"), []byte(clusterRunbooks), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p.rbDir, "side-effect.yaml"), []byte(crashRunbook), 0o600); err != nil {
		t.Fatal(err)
	}
	p.config = filepath.Join(dir, "firebreak.yaml")
	cfg := fmt.Sprintf("slack: {signingSecret: %s, botToken: xoxb-test, apiURL: %q}\nincidents: {noSlackChannel: true, postmortemDir: %q}\n",
		slackSecret, p.slack.URL(), filepath.Join(dir, "postmortems"))
	if err := os.WriteFile(p.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	// Without the client certificate the frontend refuses serve.
	out, err := exec.Command(p.bin, "serve", "--role", "worker", "--temporal-address", tc.Frontend, "--no-payload-encryption",
		"--tls-ca", tc.TLS.CAFile, "--tls-server-name", tc.TLS.ServerName).CombinedOutput()
	if err == nil {
		t.Fatalf("serve without a client certificate started:\n%s", out)
	}

	// The APIs first: ready with no worker anywhere, and they say so.
	for range 2 {
		port := testenv.FreePort(t)
		args := append([]string{"--listen", fmt.Sprintf("127.0.0.1:%d", port), "--insecure-no-auth", "--config", p.config, "--runbooks", p.rbDir}, tc.TLS.ServeFlags()...)
		serve(t, p.bin, tc.Frontend, "api", args...)
		a := &api{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", port)}
		if body := waitReady(t, a, 90*time.Second); body["workers"] != "0" || !strings.Contains(body["note"], "no worker is polling") {
			t.Errorf("/readyz of an API with no worker: %v", body)
		}
		p.apis = append(p.apis, a)
	}

	t.Run("rolling upgrade", p.rollingUpgrade)
	t.Run("alert storm through both APIs", p.alertStorm)
	t.Run("approval through the other API and Slack", p.approvalElsewhere)
	t.Run("history node killed mid-runs", p.historyKilled)
	t.Run("worker killed mid-step", p.workerKilled)
	t.Run("finished runs without a worker", p.withoutWorkers)
}

// previousBinary builds Firebreak as the release before the newest
// guarded workflow change (build tag firebreak_previous; see "Changing a
// workflow" in the README).
func previousBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "firebreak-previous")
	if out, err := exec.Command("go", "build", "-tags", "firebreak_previous", "-o", bin, "../cmd/firebreak").CombinedOutput(); err != nil {
		t.Fatalf("building the previous release: %v\n%s", err, out)
	}
	return bin
}

// rollingUpgrade starts the workers on the previous release, leaves runs
// waiting for approval and an incident open, replaces the workers one at
// a time with the current build, and finishes everything on it: one run
// approved, one denied (it fails, and keeps its state for readers
// without a worker), one cancelled, the incident resolved.
func (p *prodShape) rollingUpgrade(t *testing.T) {
	prev := previousBinary(t)
	old := []*clusterWorker{p.startWorker(t, prev), p.startWorker(t, prev)}
	as := p.clients(t)
	a, b := as[0], as[1]
	var refs []runs.Ref
	for _, name := range []string{"upgrade-approve", "upgrade-deny", "upgrade-cancel"} {
		refs = append(refs, a.start(runs.StartRequest{Runbook: "gated", Params: fmtParams("name", name)}))
	}
	for _, ref := range refs {
		a.waitForLong(ref.ID, time.Minute, func(s *runwire.RunState) bool { return s.Status == runwire.StatusWaitingApproval })
	}
	var inc map[string]any
	if code := b.do("POST", "/v1/incidents", map[string]any{"title": "checkout errors during the rollout", "severity": "sev2", "commander": "alice"}, &inc); code != http.StatusCreated {
		t.Fatalf("declare: HTTP %d %v", code, inc)
	}
	incID := fmt.Sprint(inc["id"])
	if code := a.do("POST", incidentURL(incID)+"/notes", map[string]any{"text": "rolling the workers", "by": "alice"}, nil); code != http.StatusOK && code != http.StatusAccepted {
		t.Fatalf("note before the upgrade: HTTP %d", code)
	}

	// One worker at a time: a new one up and polling, then an old one out.
	for _, w := range old {
		p.startWorker(t, p.bin)
		w.stop(t)
	}
	p.workers = p.workers[len(old):]

	decide := func(ref runs.Ref, approve bool) {
		t.Helper()
		if code := b.do("POST", runURL(ref.ID)+"/approvals", map[string]any{"step": "confirm", "approve": approve, "by": "ops-lead"}, nil); code != http.StatusOK {
			t.Fatalf("deciding %s: HTTP %d", ref.ID, code)
		}
	}
	decide(refs[0], true)
	decide(refs[1], false)
	if code := b.do("POST", runURL(refs[2].ID)+"/cancel", map[string]any{}, nil); code != http.StatusAccepted {
		t.Fatalf("cancel: HTTP %d", code)
	}
	want := []string{runwire.StatusSucceeded, runwire.StatusFailed, runwire.StatusCancelled}
	for i, ref := range refs {
		st := a.waitForLong(ref.ID, time.Minute, func(s *runwire.RunState) bool { return s.Done() })
		if st.Status != want[i] {
			t.Errorf("%s after the upgrade: %s %s, want %s", ref.ID, st.Status, st.Error, want[i])
		}
	}
	if code := b.do("POST", incidentURL(incID)+"/notes", map[string]any{"text": "workers rolled", "by": "alice"}, nil); code != http.StatusOK && code != http.StatusAccepted {
		t.Fatalf("note after the upgrade: HTTP %d", code)
	}
	if code := a.do("POST", incidentURL(incID)+"/resolve", map[string]string{"summary": "rollout over"}, nil); code != http.StatusOK {
		t.Fatalf("resolve: HTTP %d", code)
	}
	var got struct {
		Status   string            `json:"status"`
		Timeline []json.RawMessage `json:"timeline"`
	}
	deadline := time.Now().Add(time.Minute)
	for a.do("GET", incidentURL(incID), nil, &got) != http.StatusOK || got.Status != "resolved" {
		if time.Now().After(deadline) {
			t.Fatalf("incident %s after the upgrade: %+v", incID, got)
		}
		time.Sleep(250 * time.Millisecond)
	}
	timeline, _ := json.Marshal(got.Timeline)
	for _, note := range []string{"rolling the workers", "workers rolled"} {
		if !bytes.Contains(timeline, []byte(note)) {
			t.Errorf("the incident's timeline lacks %q: %s", note, timeline)
		}
	}
	p.finished = append(p.finished, refs...)
	p.finishedStatus = append(p.finishedStatus, want...)
	p.resolved = incID
}

// postAlerts sends one Alertmanager notification without failing the test
// from a goroutine; a sender retries what was not accepted, as
// Alertmanager does.
func postAlerts(base string, msg alertmanager.Message) error {
	body, _ := json.Marshal(msg)
	var last string
	for range 20 {
		resp, err := http.Post(base+alertmanager.Path, "application/json", bytes.NewReader(body))
		if err != nil {
			last = err.Error()
			time.Sleep(500 * time.Millisecond)
			continue
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return nil
		}
		last = fmt.Sprintf("HTTP %d %s", resp.StatusCode, data)
		time.Sleep(500 * time.Millisecond)
	}
	return fmt.Errorf("not accepted: %s", last)
}

// alertStorm sends every alert of 20 targets through both APIs at once:
// one run per target, each holding every alert it was sent.
func (p *prodShape) alertStorm(t *testing.T) {
	as := p.clients(t)
	const targets, pods = 20, 4
	send := func(status string) {
		var wg sync.WaitGroup
		errs := make(chan error, targets*pods*2)
		for i := range targets {
			for k := range pods {
				al := amAlert(status, "alertname", "ClusterStorm", "target", fmt.Sprintf("t%02d", i), "pod", fmt.Sprintf("p%d", k))
				for _, a := range p.apis {
					wg.Add(1)
					go func() {
						defer wg.Done()
						if err := postAlerts(a.base, notification(status, al)); err != nil {
							errs <- err
						}
					}()
				}
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
	send("firing")
	for i := range targets {
		id := fmt.Sprintf("runbook:storm:t%02d", i)
		as[i%2].waitForLong(id, 2*time.Minute, func(s *runwire.RunState) bool {
			if len(s.Alerts) < pods {
				return false
			}
			for _, a := range s.Alerts {
				if a.Count < 2 {
					return false
				}
			}
			return true
		})
	}
	send("resolved")
	for i := range targets {
		id := fmt.Sprintf("runbook:storm:t%02d", i)
		st := as[(i+1)%2].waitForLong(id, 2*time.Minute, func(s *runwire.RunState) bool { return s.Done() })
		if st.Status != runwire.StatusSucceeded {
			t.Errorf("%s: %s %s", id, st.Status, st.Error)
		}
		firing, resolved := 0, 0
		for _, a := range st.Alerts {
			switch a.Status {
			case "firing":
				firing += a.Count
			case "resolved":
				resolved += a.Count
			}
		}
		// Each alert went through both APIs; a retried delivery may
		// count twice, a lost one would be missing.
		if len(st.Alerts) != 2*pods || firing < 2*pods || resolved < 2*pods {
			t.Errorf("%s holds %d alert records (%d firing, %d resolved deliveries), want %d records and at least %d of each", id, len(st.Alerts), firing, resolved, 2*pods, 2*pods)
		}
	}
	var listed []runs.Summary
	if code := as[0].do("GET", "/v1/runs?runbook=storm&limit=200", nil, &listed); code != http.StatusOK {
		t.Fatalf("list: HTTP %d", code)
	}
	perTarget := map[string]int{}
	for _, r := range listed {
		perTarget[r.ID]++
	}
	if len(listed) != targets || len(perTarget) != targets {
		t.Errorf("%d runs for %d targets: %v", len(listed), targets, perTarget)
	}
}

// approvalElsewhere starts a run through one API, approves it with the
// Slack button through the other, and checks that both APIs, the button's
// answer and the run's Slack message tell the same story.
func (p *prodShape) approvalElsewhere(t *testing.T) {
	as := p.clients(t)
	a, b := as[0], as[1]
	ref := a.start(runs.StartRequest{Runbook: "gated-slack", Params: fmtParams("name", "elsewhere")})
	var msg slackfake.Message
	p.slack.WaitFor(time.Minute, "the run's approval buttons", func() bool {
		for _, m := range p.slack.Messages() {
			if strings.Contains(slackfake.BlocksJSON(m.Blocks), `\"run\":\"`+ref.ID+`\"`) && len(slackfake.Buttons(m.Blocks)) > 0 {
				msg = m
				return true
			}
		}
		return false
	})
	click, _ := json.Marshal(map[string]any{
		"type": "block_actions", "user": map[string]any{"id": slackApprover}, "channel": map[string]any{"id": "C0OPS"},
		"response_url": p.slack.ResponseURL("cluster-approve"),
		"container":    map[string]any{"type": "message", "message_ts": msg.TS, "channel_id": "C0OPS"},
		"actions": []map[string]any{{"type": "button", "action_id": "firebreak_approve", "block_id": "decide:confirm",
			"value": `{"run":"` + ref.ID + `","step":"confirm"}`}},
	})
	if code, body := slackPost(t, b.base, "/v1/slack/interactions", url.Values{"payload": {string(click)}}); code != 200 {
		t.Fatalf("click through the second API: HTTP %d %q", code, body)
	}
	st := a.waitForLong(ref.ID, time.Minute, func(s *runwire.RunState) bool { return s.Done() })
	ap := step(st, "confirm").Approval
	if st.Status != runwire.StatusSucceeded || ap == nil || ap.Decision != runwire.DecisionApproved || ap.By != slackApprover {
		t.Fatalf("through the first API: %s, approval %+v", st.Status, ap)
	}
	var other runwire.RunState
	if code := b.do("GET", runURL(ref.ID), nil, &other); code != http.StatusOK || step(&other, "confirm").Approval.By != slackApprover {
		t.Fatalf("through the second API: HTTP %d %+v", code, step(&other, "confirm").Approval)
	}
	// A second decision through the first API is refused as already made.
	expectError(t, a, "POST", runURL(ref.ID)+"/approvals", map[string]any{"step": "confirm", "approve": false, "by": "someone-else"}, http.StatusConflict, "")
	p.slack.WaitFor(time.Minute, "the message showing the end", func() bool {
		for _, m := range p.slack.Messages() {
			if m.TS == msg.TS {
				blocks := slackfake.BlocksJSON(m.Blocks)
				return strings.Contains(blocks, "gated-slack — succeeded") && strings.Contains(blocks, "approved by <@"+slackApprover+">") && len(slackfake.Buttons(m.Blocks)) == 0
			}
		}
		return false
	})
}

// startRetrying starts a run as a careful client does while the cluster
// recovers: it retries 429 and 503, and takes 409 (the run's key is
// already open) as its earlier attempt having gone through.
func startRetrying(t *testing.T, a *api, req runs.StartRequest, id string) runs.Ref {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var ref runs.Ref
		switch code := a.do("POST", "/v1/runs", req, &ref); code {
		case http.StatusCreated:
			return ref
		case http.StatusConflict:
			return runs.Ref{ID: id}
		case http.StatusTooManyRequests, http.StatusServiceUnavailable:
			if time.Now().After(deadline) {
				t.Fatalf("start %s: still HTTP %d after 2 minutes", id, code)
			}
			time.Sleep(time.Second)
		default:
			t.Fatalf("start %s: HTTP %d", id, code)
		}
	}
}

// historyKilled starts runs with three side effects each, kills -9 a
// history node while they run, and checks every run completed once with
// every effect applied once.
func (p *prodShape) historyKilled(t *testing.T) {
	as := p.clients(t)
	fx := &keyedEffects{keys: map[string]int{}}
	srv := httptest.NewServer(fx)
	defer srv.Close()
	const n = 12
	var refs []runs.Ref
	for i := range n {
		refs = append(refs, startRetrying(t, as[i%2], runs.StartRequest{Runbook: "effects", Params: fmtParams("url", srv.URL, "n", fmt.Sprintf("h%02d", i))}, "runbook:effects:"+fmt.Sprintf("h%02d", i)))
		if i == n/2 {
			if err := p.tc.Kill("history-a"); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i, ref := range refs {
		st := as[(i+1)%2].waitForLong(ref.ID, 3*time.Minute, func(s *runwire.RunState) bool { return s.Done() })
		if st.Status != runwire.StatusSucceeded {
			t.Errorf("%s after the history node died: %s %s", ref.ID, st.Status, st.Error)
		}
	}
	fx.mu.Lock()
	if len(fx.keys) != 3*n {
		t.Errorf("%d distinct effects, want %d: %v", len(fx.keys), 3*n, fx.keys)
	}
	for _, ref := range refs {
		for _, s := range []string{"one", "two", "three"} {
			if fx.keys[ref.ID+"/"+s] == 0 {
				t.Errorf("effect %s/%s never happened", ref.ID, s)
			}
		}
	}
	fx.mu.Unlock()
	var listed []runs.Summary
	as[0].do("GET", "/v1/runs?runbook=effects&limit=200", nil, &listed)
	if len(listed) != n {
		t.Errorf("%d runs listed, want %d", len(listed), n)
	}
	if err := p.tc.Restart("history-a"); err != nil {
		t.Fatal(err)
	}
}

// workerKilled kills -9 the worker in the middle of an action's call; the
// other worker finishes the run and the effect happens once.
func (p *prodShape) workerKilled(t *testing.T) {
	as := p.clients(t)
	effect := &effectServer{effects: map[string]int{}, arrived: make(chan struct{})}
	srv := httptest.NewServer(effect)
	defer srv.Close()
	ref := as[0].start(runs.StartRequest{Runbook: "side-effect", Params: fmtParams("url", srv.URL+"/restart")})
	select {
	case <-effect.arrived:
	case <-time.After(time.Minute):
		t.Fatal("the action never reached the outside system")
	}
	// Kill the worker that runs the action, found by its identity.
	opts, err := p.tc.ClientOptions()
	if err != nil {
		t.Fatal(err)
	}
	cl, err := client.Dial(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	desc, err := cl.DescribeWorkflowExecution(context.Background(), ref.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	var victim *clusterWorker
	for _, pa := range desc.GetPendingActivities() {
		pid, _ := strconv.Atoi(strings.SplitN(pa.GetLastWorkerIdentity(), "@", 2)[0])
		for _, w := range p.workers {
			if w.cmd.Process.Pid == pid {
				victim = w
			}
		}
	}
	if victim == nil {
		t.Fatalf("no worker of ours runs the action: %v", desc.GetPendingActivities())
	}
	if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = victim.cmd.Wait()
	st := as[1].waitForLong(ref.ID, 2*time.Minute, func(s *runwire.RunState) bool { return s.Done() })
	if st.Status != runwire.StatusSucceeded || step(st, "effect").Attempts < 2 {
		t.Fatalf("run %s, effect %+v", st.Status, step(st, "effect"))
	}
	effect.mu.Lock()
	defer effect.mu.Unlock()
	if len(effect.effects) != 1 || effect.effects[ref.ID+"/effect"] < 2 {
		t.Fatalf("idempotency keys %v: want the one key %s/effect sent at least twice", effect.effects, ref.ID)
	}
	p.finished = append(p.finished, ref)
	p.finishedStatus = append(p.finishedStatus, runwire.StatusSucceeded)
}

// withoutWorkers stops every worker: the APIs stay ready and read every
// finished run, failed and cancelled ones included, in full, and the
// resolved incident with its timeline and postmortem.
func (p *prodShape) withoutWorkers(t *testing.T) {
	for _, w := range p.workers {
		if w.cmd.ProcessState == nil {
			w.stop(t)
		}
	}
	for _, a := range p.clients(t) {
		waitReady(t, a, 10*time.Second)
		for i, ref := range p.finished {
			var st runwire.RunState
			if code := a.do("GET", runURL(ref.ID), nil, &st); code != http.StatusOK {
				t.Errorf("GET %s with no worker: HTTP %d", ref.ID, code)
				continue
			}
			if st.Status != p.finishedStatus[i] || len(st.Steps) == 0 || st.FinishedAt == nil {
				t.Errorf("GET %s with no worker: %s, %d steps", ref.ID, st.Status, len(st.Steps))
			}
		}
		if p.resolved == "" {
			continue
		}
		var inc struct {
			Status   string            `json:"status"`
			Timeline []json.RawMessage `json:"timeline"`
		}
		if code := a.do("GET", incidentURL(p.resolved), nil, &inc); code != http.StatusOK || inc.Status != "resolved" {
			t.Errorf("GET incident %s with no worker: HTTP %d, %+v", p.resolved, code, inc)
		}
		if timeline, _ := json.Marshal(inc.Timeline); !bytes.Contains(timeline, []byte("workers rolled")) {
			t.Errorf("incident %s with no worker: the timeline lacks its last note: %s", p.resolved, timeline)
		}
		if code, body, _ := a.raw("GET", incidentURL(p.resolved)+"/postmortem"); code != http.StatusOK || !strings.Contains(body, "rollout over") {
			t.Errorf("postmortem of %s with no worker: HTTP %d\n%s", p.resolved, code, body)
		}
	}
}

// TestServeNeedsSearchAttributes: on a cluster with Temporal's
// authorizer, a client that may write workflows but not administer the
// namespace cannot add Firebreak's search attributes; serve stops and
// says exactly what an administrator must create. Once they exist, the
// same client starts.
func TestServeNeedsSearchAttributes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	tc, err := testenv.StartClusterWith(ctx, testenv.ClusterOptions{Auth: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Stop)
	bin := firebreakBinary(t)
	writer, err := tc.Token("firebreak", tc.Namespace+":write")
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"serve", "--role", "worker", "--temporal-address", tc.Frontend}, tc.TLS.ServeFlags()...)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "FIREBREAK_PAYLOAD_KEY_FILE="+testenv.KeyFile(t), "FIREBREAK_TEMPORAL_API_KEY="+writer)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("serve started without its search attributes:\n%s", out)
	}
	want := []string{"no operator permission"}
	for name, typ := range app.SearchAttributes() {
		kind := "Keyword"
		if typ.String() == "Bool" {
			kind = "Bool"
		}
		want = append(want, fmt.Sprintf("temporal operator search-attribute create --namespace %s --name %s --type %s", tc.Namespace, name, kind))
	}
	for _, w := range want {
		if !strings.Contains(string(out), w) {
			t.Errorf("serve's message lacks %q:\n%s", w, out)
		}
	}

	// An administrator creates them; the same client then starts.
	opts, err := tc.ClientOptions()
	if err != nil {
		t.Fatal(err)
	}
	admin, err := client.Dial(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: tc.Namespace, SearchAttributes: app.SearchAttributes()}); err != nil {
		t.Fatal(err)
	}
	port := testenv.FreePort(t)
	t.Setenv("FIREBREAK_TEMPORAL_API_KEY", writer)
	serve(t, bin, tc.Frontend, "worker", append([]string{"--listen", fmt.Sprintf("127.0.0.1:%d", port)}, tc.TLS.ServeFlags()...)...)
	waitReady(t, &api{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", port)}, 90*time.Second)
}
