// Command bench measures Firebreak against the bare Temporal engine it runs
// on, in one process and one run: it starts the embedded server on free
// ports, measures a bare start loop and the same load through Firebreak's
// webhook, and prints one table (and writes bench/results.json).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/firebreak-ops/firebreak/activities"
	"github.com/firebreak-ops/firebreak/activities/actions"
	"github.com/firebreak-ops/firebreak/internal/app"
	"github.com/firebreak-ops/firebreak/internal/codec"
	"github.com/firebreak-ops/firebreak/internal/config"
	"github.com/firebreak-ops/firebreak/internal/engine"
	"github.com/firebreak-ops/firebreak/internal/ingress/alertmanager"
	"github.com/firebreak-ops/firebreak/internal/names"
	"github.com/firebreak-ops/firebreak/internal/router"
	"github.com/firebreak-ops/firebreak/runbooks"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

const benchRunbook = `
apiVersion: firebreak/v1
kind: Runbook
metadata: {name: bench-remediate}
spec:
  params:
    - {name: target, type: string, required: true}
  concurrency: params.target
  triggers:
    - alertmanager:
        match: alert.labels.alertname == "BenchAlert"
        params: {target: alert.labels.target}
  steps:
    - name: act
      when: alert.status == "firing"
      action: log
      with: {message: "remediating ${{ params.target }}"}
    - name: until_resolved
      wait: {until: 'alert.status == "resolved"', every: 10m, timeout: 30m}
`

// Figure is one line of the results.
type Figure struct {
	Name      string  `json:"name"`
	Value     float64 `json:"value"`
	Unit      string  `json:"unit"`
	Target    string  `json:"target,omitempty"`
	Met       *bool   `json:"met,omitempty"`
	BareRatio float64 `json:"bare_ratio,omitempty"`
}

// Results is bench/results.json.
type Results struct {
	Machine string   `json:"machine"`
	Runs    int      `json:"runs"`
	Figures []Figure `json:"figures"`
}

// starts records when each workflow's first activity began, and every
// distinct run that acted.
type starts struct {
	mu   sync.Mutex
	at   map[string]time.Time
	runs map[string]bool
}

func (s *starts) mark(id, runID string) {
	now := time.Now()
	s.mu.Lock()
	if _, ok := s.at[id]; !ok {
		s.at[id] = now
	}
	s.runs[runID] = true
	s.mu.Unlock()
}

func newStarts() *starts { return &starts{at: map[string]time.Time{}, runs: map[string]bool{}} }

func (s *starts) get(id string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.at[id]
	return t, ok
}

func (s *starts) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.runs)
}

type bench struct {
	c   client.Client
	api string
	// apis are every API instance; notifications go to each in turn.
	apis    []string
	next    atomic.Uint64
	bare    *starts
	fb      *starts
	runs    int
	quick   bool
	figures []Figure
	seq     int

	// Webhook answers by phase: latencies (ms) and non-200 counts, and the
	// errors that ended a phase early. A failed or slow request is a
	// figure, not the end of the bench.
	mu      sync.Mutex
	phase   string
	hookLat map[string][]float64
	non200  map[string]int
	errs    []string
	// bareLat holds the bare engine's start latencies (ms) in the burst,
	// to tell a stall of the engine from one of Firebreak's.
	bareLat []float64
}

// begin starts a phase's webhook accounting.
func (b *bench) begin(phase string) {
	b.mu.Lock()
	b.phase = phase
	b.mu.Unlock()
}

// answered records one webhook answer in the current phase.
func (b *bench) answered(d time.Duration, code int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.hookLat == nil {
		b.hookLat, b.non200 = map[string][]float64{}, map[string]int{}
	}
	b.hookLat[b.phase] = append(b.hookLat[b.phase], float64(d.Microseconds())/1000)
	if code != http.StatusOK {
		b.non200[b.phase]++
	}
}

// fail records an error that cut a phase short; the bench goes on.
func (b *bench) fail(phase string, err error) {
	if err == nil {
		return
	}
	b.mu.Lock()
	b.errs = append(b.errs, phase+": "+err.Error())
	b.mu.Unlock()
	fmt.Fprintf(os.Stderr, "bench: %s: %v (measuring on)\n", phase, err)
}

// withChaos turns on the chaos halt measurement.
var withChaos bool

func main() {
	out := flag.String("out", "bench/results.json", "where to write the results")
	runs := flag.Int("runs", 3, "repetitions of each measurement (the median is reported)")
	quick := flag.Bool("quick", false, "smaller loads, for a smoke test")
	devBin := flag.String("firebreak", "bin/firebreak", "binary whose `dev` start-up and idle RSS are measured (empty: skip)")
	flag.BoolVar(&withChaos, "chaos", true, "measure the chaos halt on a real kube-apiserver (needs make kube-bins)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the throughput phase")
	flag.BoolVar(&traceRecovery, "trace-recovery", false, "print each recovery probe's attempts and history events, as offsets from the kill")
	only := flag.String("only", "", "comma-separated phases to measure (throughput,latency,storm,slack,cel,console,engine,dev,chaos,codec,cluster); empty: all")
	flag.Parse()
	for _, p := range strings.Split(*only, ",") {
		if p != "" {
			onlyPhases[p] = true
		}
	}
	profilePath = *cpuProfile
	if err := run(*out, *runs, *quick, *devBin); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(out string, runs int, quick bool, devBin string) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "firebreak-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	b := &bench{bare: newStarts(), fb: newStarts(), runs: runs, quick: quick}
	// First, on an otherwise idle machine: the engine's own rates, each in
	// a fresh engine of its own.
	if measure("engine") {
		b.fail("engine", b.engineRates())
	}
	cfg := &config.Config{Slack: config.Slack{SigningSecret: benchSigningSecret}}
	stopFW, cleanup, err := b.start(ctx, dir, cfg, nil)
	if err != nil {
		return err
	}
	defer cleanup()

	for _, p := range []struct {
		name string
		run  func() error
	}{
		{"throughput", b.throughput},
		{"latency", b.latency},
		{"storm", b.storm},
		{"slack", b.slackAck},
		{"cel", func() error { b.cel(); return nil }},
		{"console", b.consolePages},
	} {
		if measure(p.name) {
			b.fail(p.name, p.run())
		}
	}
	if devBin != "" && measure("dev") {
		b.fail("dev", b.dev(devBin))
	}
	if withChaos && measure("chaos") {
		// It replaces the worker with one that knows the cluster.
		b.fail("chaos", b.chaosHalt(cfg, stopFW))
	}
	if measure("codec") {
		b.fail("codec", b.codecCost(dir))
	}
	if measure("cluster") {
		b.fail("cluster", b.clusterFigures(dir))
	}
	b.webhookFigures()
	res := Results{Machine: machine(), Runs: runs, Figures: b.figures}
	printTable(res)
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	data, _ := json.MarshalIndent(res, "", "  ")
	if err := os.WriteFile(out, append(data, '\n'), 0o644); err != nil {
		return err
	}
	if len(b.errs) > 0 {
		return fmt.Errorf("%d phase(s) had errors, measured on:\n  %s", len(b.errs), strings.Join(b.errs, "\n  "))
	}
	return nil
}

// start runs an embedded engine in a fresh directory under dir, the bare
// workflow's worker, and Firebreak's worker and API on it, with payloads
// encrypted when keys is set. It returns a function that stops
// Firebreak's worker (for the chaos phase) and one that stops everything.
func (b *bench) start(ctx context.Context, dir string, cfg *config.Config, keys *codec.Keyring) (stopFW, cleanup func(), err error) {
	quiet := slog.New(slog.DiscardHandler)
	dir, err = os.MkdirTemp(dir, "engine-")
	if err != nil {
		return nil, nil, err
	}
	eng, err := engine.Start(ctx, engine.Config{DataDir: dir, SearchAttributes: app.SearchAttributes(), Logger: quiet})
	if err != nil {
		return nil, nil, err
	}
	opts := client.Options{HostPort: eng.FrontendAddress(), Namespace: eng.Namespace(), Logger: sdklog.NewStructuredLogger(quiet)}
	if err := codec.Apply(&opts, keys); err != nil {
		_ = eng.Stop()
		return nil, nil, err
	}
	c, err := client.Dial(opts)
	if err != nil {
		_ = eng.Stop()
		return nil, nil, err
	}
	stopFW, stopOn, err := b.startOn(ctx, c, eng.Namespace(), dir, cfg, keys, 1)
	if err != nil {
		c.Close()
		_ = eng.Stop()
		return nil, nil, err
	}
	return stopFW, func() { stopOn(); c.Close(); _ = eng.Stop() }, nil
}

// startOn runs the bare workflow's worker, Firebreak's worker and apis
// API instances on client c; alerts go to the instances in turn.
func (b *bench) startOn(ctx context.Context, c client.Client, namespace, dir string, cfg *config.Config, keys *codec.Keyring, apis int) (stopFW, cleanup func(), err error) {
	quiet := slog.New(slog.DiscardHandler)
	var undo []func()
	cleanup = func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	defer func() {
		if err != nil {
			cleanup()
		}
	}()
	b.c = c

	// The bare engine: a one-activity workflow on its own task queue.
	bw := worker.New(c, "bench-bare", worker.Options{})
	bw.RegisterWorkflowWithOptions(bareWorkflow, workflow.RegisterOptions{Name: "BareWorkflow"})
	bw.RegisterActivityWithOptions(func(ctx context.Context) error {
		info := activity.GetInfo(ctx)
		b.bare.mark(info.WorkflowExecution.ID, info.WorkflowExecution.RunID)
		return nil
	}, activity.RegisterOptions{Name: "bare.touch"})
	if err := bw.Start(); err != nil {
		return nil, nil, err
	}
	undo = append(undo, bw.Stop)

	// Firebreak: its worker (with the log action timed) and its API.
	handlers := activities.Handlers(app.Deps(cfg, quiet))
	logAction := handlers[actions.Log]
	handlers[actions.Log] = func(ctx context.Context, req actions.Request) (any, error) {
		b.fb.mark(req.RunID, activity.GetInfo(ctx).WorkflowExecution.RunID)
		return logAction(ctx, req)
	}
	fw := worker.New(c, names.TaskQueue, worker.Options{WorkflowPanicPolicy: worker.FailWorkflow})
	app.Register(fw, handlers)
	if err := fw.Start(); err != nil {
		return nil, nil, err
	}
	var stopOnce sync.Once
	stopFW = func() { stopOnce.Do(fw.Stop) }
	undo = append(undo, stopFW)
	cat, err := runbooks.Builtin()
	if err != nil {
		return nil, nil, err
	}
	p := filepath.Join(dir, "bench.yaml")
	if err := os.WriteFile(p, []byte(benchRunbook), 0o600); err != nil {
		return nil, nil, err
	}
	if err := cat.LoadPath(p); err != nil {
		return nil, nil, err
	}
	for range apis {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, nil, err
		}
		actx, stop := context.WithCancel(ctx)
		ready, done := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(done)
			_ = app.Run(actx, app.Options{Role: app.RoleAPI, Client: c, Namespace: namespace, Catalog: cat, Config: cfg, Open: true,
				Listener: ln, Logger: quiet, Codec: keys, Ready: func(string) { close(ready) }})
		}()
		undo = append(undo, func() { stop(); <-done })
		select {
		case <-ready:
		case <-done:
			return nil, nil, fmt.Errorf("the API did not start")
		}
		b.apis = append(b.apis, "http://"+ln.Addr().String())
	}
	b.api = b.apis[0]
	time.Sleep(time.Second) // workers polling
	return stopFW, cleanup, nil
}

// codecCost measures the alert path twice more, each on a fresh engine
// with its own bare baseline: payloads in clear, then encrypted with
// AES-256-GCM (the default of dev and serve). The bench's other phases
// run in clear.
func (b *bench) codecCost(dir string) error {
	key, err := codec.NewKey("bench")
	if err != nil {
		return err
	}
	keys, err := codec.NewKeyring("bench", key)
	if err != nil {
		return err
	}
	vals := map[string][2]float64{}
	for _, v := range []struct {
		name string
		keys *codec.Keyring
	}{{"in clear", nil}, {"encrypted", keys}} {
		sub := &bench{bare: newStarts(), fb: newStarts(), runs: b.runs, quick: b.quick, hookLat: map[string][]float64{}, non200: map[string]int{}}
		cfg := &config.Config{Slack: config.Slack{SigningSecret: benchSigningSecret}}
		_, cleanup, err := sub.start(context.Background(), dir, cfg, v.keys)
		if err != nil {
			return err
		}
		err = sub.throughput()
		if err == nil {
			err = sub.latencyAt(10, 50)
		}
		cleanup()
		if err != nil {
			return fmt.Errorf("%s: %w", v.name, err)
		}
		for _, e := range sub.errs {
			b.fail("codec "+v.name, errors.New(e))
		}
		var alerts, p99 Figure
		for _, f := range sub.figures {
			switch f.Name {
			case "Firebreak: alerts/s into runs (webhook)":
				alerts = f
			case "Firebreak: alert → first action p99 (10/s)":
				p99 = f
			}
		}
		vals[v.name] = [2]float64{alerts.Value, p99.Value}
		b.add(Figure{Name: "payloads " + v.name + ": alerts/s into runs", Value: alerts.Value, Unit: "alerts/s", BareRatio: alerts.BareRatio})
		b.add(Figure{Name: "payloads " + v.name + ": alert → first action p99 (10/s)", Value: p99.Value, Unit: "ms", BareRatio: p99.BareRatio})
	}
	clear, enc := vals["in clear"], vals["encrypted"]
	if clear[0] > 0 && clear[1] > 0 {
		b.add(Figure{Name: "encryption's cost: alerts/s, encrypted ÷ in clear", Value: enc[0] / clear[0], Unit: "×"})
		b.add(Figure{Name: "encryption's cost: p99 (10/s), encrypted ÷ in clear", Value: enc[1] / clear[1], Unit: "×"})
	}
	return nil
}

// webhookFigures reports the webhook's answers: every non-200 of the run,
// and the latency of the 400-alert burst from 16 senders.
func (b *bench) webhookFigures() {
	b.mu.Lock()
	defer b.mu.Unlock()
	total, bad := 0, 0
	var where []string
	for phase, lat := range b.hookLat {
		total += len(lat)
		bad += b.non200[phase]
		if n := b.non200[phase]; n > 0 {
			where = append(where, fmt.Sprintf("%s %d", phase, n))
		}
	}
	if bad > 0 {
		// Retried and delivered, but still a failure of the run.
		sort.Strings(where)
		b.errs = append(b.errs, "webhook: non-200 answers: "+strings.Join(where, ", "))
	}
	burst := b.hookLat["throughput"]
	if len(burst) == 0 {
		return // the throughput phase was not measured
	}
	b.figures = append(b.figures,
		Figure{Name: "burst (400 starts, 16 senders): bare Temporal start p99", Value: pct(b.bareLat, 99), Unit: "ms"},
		Figure{Name: "burst (400 starts, 16 senders): bare Temporal start max", Value: pct(b.bareLat, 100), Unit: "ms"},
		Figure{Name: "burst (400 alerts, 16 senders): webhook p99", Value: pct(burst, 99), Unit: "ms"},
		Figure{Name: "burst (400 alerts, 16 senders): webhook max", Value: pct(burst, 100), Unit: "ms", Target: "≤ 2000 ms", Met: ptr(len(burst) > 0 && pct(burst, 100) <= 2000)},
		Figure{Name: fmt.Sprintf("webhook: non-200 answers (of %d, every phase)", total), Value: float64(bad), Unit: "answers", Target: "= 0", Met: ptr(bad == 0)},
	)
}

func bareWorkflow(ctx workflow.Context) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	return workflow.ExecuteActivity(ctx, "bare.touch").Get(ctx, nil)
}

func (b *bench) id(prefix string) string {
	b.seq++
	return fmt.Sprintf("%s-%d", prefix, b.seq)
}

// bareStart starts one bare workflow.
func (b *bench) bareStart(id string) error {
	_, err := b.c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: id, TaskQueue: "bench-bare"}, "BareWorkflow")
	return err
}

// alert posts one notification with one firing alert per target.
func (b *bench) alert(targets ...string) (alertmanager.Response, error) {
	return b.notify("firing", targets...)
}

// resolve ends the runs of the given targets, 100 per notification.
func (b *bench) resolve(targets []string) error {
	for len(targets) > 0 {
		n := min(100, len(targets))
		if _, err := b.notify("resolved", targets[:n]...); err != nil {
			return err
		}
		targets = targets[n:]
	}
	return nil
}

func (b *bench) notify(status string, targets ...string) (alertmanager.Response, error) {
	msg := alertmanager.Message{Version: "4", Status: status, Receiver: "bench"}
	for _, t := range targets {
		msg.Alerts = append(msg.Alerts, alertmanager.Alert{Status: status, Fingerprint: "fp-" + t,
			Labels: map[string]string{"alertname": "BenchAlert", "target": t}, StartsAt: time.Now()})
	}
	body, _ := json.Marshal(msg)
	// A one-alert answer slower than stallAfter is a stall: the first one
	// saves every goroutine's stack (the embedded server's included) for
	// the record.
	if len(targets) == 1 {
		watch := time.AfterFunc(stallAfter, dumpStall)
		defer watch.Stop()
	}
	// A 429 is counted, then retried after its Retry-After as Alertmanager
	// does, so the alerts still reach their runs; any other answer ends.
	var r alertmanager.Response
	var refusal error
	for attempt := 0; attempt < 5; attempt++ {
		sent := time.Now()
		api := b.apis[int(b.next.Add(1))%len(b.apis)]
		resp, err := http.Post(api+alertmanager.Path, "application/json", bytes.NewReader(body))
		if err != nil {
			b.answered(time.Since(sent), 0)
			return r, err
		}
		b.answered(time.Since(sent), resp.StatusCode)
		if resp.StatusCode == 200 {
			err := json.NewDecoder(resp.Body).Decode(&r)
			resp.Body.Close()
			return r, err
		}
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
		resp.Body.Close()
		refusal = fmt.Errorf("webhook answered %d: %s", resp.StatusCode, msg)
		fmt.Fprintf(os.Stderr, "bench: %s (after %s)\n", refusal, time.Since(sent).Round(time.Millisecond))
		if resp.StatusCode != http.StatusTooManyRequests {
			return r, refusal
		}
		wait, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		time.Sleep(time.Duration(max(wait, 1)) * time.Second)
	}
	return r, refusal
}

// parallel runs n jobs on w workers and returns the elapsed time.
func parallel(n, w int, job func(i int) error) (time.Duration, error) {
	var wg sync.WaitGroup
	next := make(chan int)
	errs := make(chan error, n)
	start := time.Now()
	for k := 0; k < w; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := job(i); err != nil {
					errs <- err
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	return time.Since(start), <-errs
}

var profilePath string

// onlyPhases holds the phases -only names; empty means every phase.
var onlyPhases = map[string]bool{}

// measure reports whether the phase is to be measured in this run.
func measure(phase string) bool { return len(onlyPhases) == 0 || onlyPhases[phase] }

// stallAfter is how slow a webhook answer must be to count as a stall.
const stallAfter = 2 * time.Second

var (
	stallOnce sync.Once
	stallFile = "bench/stall-goroutines.txt"
)

// dumpStall writes every goroutine's stack to stallFile, once per run.
func dumpStall() {
	stallOnce.Do(func() {
		_ = os.MkdirAll(filepath.Dir(stallFile), 0o755)
		f, err := os.Create(stallFile)
		if err != nil {
			return
		}
		defer f.Close()
		_ = pprof.Lookup("goroutine").WriteTo(f, 2)
		fmt.Fprintf(os.Stderr, "bench: a webhook answer took over %s; goroutines saved to %s\n", stallAfter, stallFile)
	})
}

func (b *bench) throughput() error {
	if profilePath != "" {
		f, err := os.Create(profilePath)
		if err != nil {
			return err
		}
		_ = pprof.StartCPUProfile(f)
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	b.begin("throughput")
	n, conc := 400, 16
	if b.quick {
		n = 100
	}
	var bare, fb, drain []float64
	for r := 0; r < b.runs; r++ {
		ids := make([]string, n)
		for i := range ids {
			ids[i] = b.id("bare")
		}
		el, err := parallel(n, conc, func(i int) error {
			sent := time.Now()
			err := b.bareStart(ids[i])
			b.mu.Lock()
			b.bareLat = append(b.bareLat, float64(time.Since(sent).Microseconds())/1000)
			b.mu.Unlock()
			return err
		})
		if err != nil {
			return err
		}
		bare = append(bare, float64(n)/el.Seconds())
		// The webhook's burst starts on an idle engine too, not on the
		// bare burst's backlog.
		if _, err := b.settle(); err != nil {
			return err
		}
		targets := make([]string, n)
		for i := range targets {
			targets[i] = b.id("tp")
		}
		el, err = parallel(n, conc, func(i int) error {
			resp, err := b.alert(targets[i])
			if err == nil && resp.Counts[router.Started] != 1 {
				err = fmt.Errorf("alert not started: %+v", resp)
			}
			return err
		})
		// A refused alert is counted (non-200 answers) and the burst goes
		// on: Alertmanager would retry it.
		b.fail("throughput", err)
		fb = append(fb, float64(n)/el.Seconds())
		b.begin("resolve")
		b.fail("throughput: resolve", b.resolve(targets))
		b.begin("throughput")
		drained, err := b.settle()
		if err != nil {
			return err
		}
		drain = append(drain, drained.Seconds())
	}
	mb, mf := median(bare), median(fb)
	b.add(Figure{Name: "bare Temporal: workflow starts/s", Value: mb, Unit: "starts/s"})
	b.add(Figure{Name: "Firebreak: alerts/s into runs (webhook)", Value: mf, Unit: "alerts/s", Target: "≥ 0.9× bare", Met: ptr(mf >= 0.9*mb), BareRatio: mf / mb})
	b.add(Figure{Name: fmt.Sprintf("after %d starts and %d alerts: every workflow done after", n, n), Value: median(drain), Unit: "s"})
	return nil
}

// settle waits until no bare workflow or Firebreak run is running any more
// and returns how long that took. Starts are accepted faster than the
// engine completes workflows, so a burst leaves a backlog; a steady-rate
// latency measured while it drains would measure the backlog instead.
func (b *bench) settle() (time.Duration, error) {
	start := time.Now()
	q := fmt.Sprintf(`ExecutionStatus = "Running" AND WorkflowType IN ("BareWorkflow", %q)`, names.RunbookWorkflow)
	for {
		resp, err := b.c.CountWorkflow(context.Background(), &workflowservice.CountWorkflowExecutionsRequest{Query: q})
		if err == nil && resp.GetCount() == 0 {
			return time.Since(start), nil
		}
		if time.Since(start) > 3*time.Minute {
			return time.Since(start), fmt.Errorf("workflows still running after %s (%d; %v)", time.Since(start).Round(time.Second), resp.GetCount(), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// latency sends a steady 10 per second, then 50 per second, to each path
// and measures the time from sending to the first activity's start.
func (b *bench) latency() error {
	if _, err := b.settle(); err != nil {
		return err
	}
	b.begin("latency")
	for _, rate := range []struct {
		perSecond int
		target    float64
	}{{10, 50}, {50, 150}} {
		if err := b.latencyAt(rate.perSecond, rate.target); err != nil {
			return err
		}
	}
	return nil
}

// latencyAt measures both paths at one steady rate.
func (b *bench) latencyAt(perSecond int, target float64) error {
	seconds := 10
	if b.quick {
		seconds = 3
	}
	n, gap := perSecond*seconds, time.Second/time.Duration(perSecond)
	var bare, fb [4][]float64 // p50, p99, p99.9, max
	for r := 0; r < b.runs; r++ {
		var bareLat, fbLat []float64
		for i := 0; i < n; i++ {
			id := b.id("bl")
			sent := time.Now()
			if err := b.bareStart(id); err != nil {
				return err
			}
			go b.wait(b.bare, id, sent, &bareLat)
			time.Sleep(gap - time.Since(sent)%gap)
		}
		if _, err := b.settle(); err != nil {
			return err
		}
		var fired []string
		for i := 0; i < n; i++ {
			target := b.id("fl")
			sent := time.Now()
			if _, err := b.alert(target); err != nil {
				b.fail(fmt.Sprintf("latency %d/s", perSecond), err)
			} else {
				fired = append(fired, target)
				go b.wait(b.fb, names.RunWorkflowID("bench-remediate", target), sent, &fbLat)
			}
			time.Sleep(gap - time.Since(sent)%gap)
		}
		time.Sleep(3 * time.Second)
		b.fail(fmt.Sprintf("latency %d/s: resolve", perSecond), b.resolve(fired))
		if _, err := b.settle(); err != nil {
			return err
		}
		latMu.Lock()
		for k, p := range []float64{50, 99, 99.9, 100} {
			bare[k] = append(bare[k], pct(bareLat, p))
			fb[k] = append(fb[k], pct(fbLat, p))
		}
		latMu.Unlock()
	}
	for k, p := range []string{"p50", "p99", "p99.9", "max"} {
		bv, fv := median(bare[k]), median(fb[k])
		b.add(Figure{Name: fmt.Sprintf("bare Temporal: start → first activity %s (%d/s)", p, perSecond), Value: bv, Unit: "ms"})
		f := Figure{Name: fmt.Sprintf("Firebreak: alert → first action %s (%d/s)", p, perSecond), Value: fv, Unit: "ms", BareRatio: fv / bv}
		if p == "p99" {
			f.Target, f.Met = fmt.Sprintf("≤ %.0f ms", target), ptr(fv <= target)
		}
		b.add(f)
	}
	return nil
}

var latMu sync.Mutex

func (b *bench) wait(s *starts, id string, sent time.Time, into *[]float64) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if at, ok := s.get(id); ok {
			latMu.Lock()
			*into = append(*into, float64(at.Sub(sent).Microseconds())/1000)
			latMu.Unlock()
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	latMu.Lock()
	*into = append(*into, 30000)
	latMu.Unlock()
}

// storm sends 10,000 alerts over 100 targets in notifications of 100, as
// Alertmanager groups them, and checks that exactly 100 runs acted and
// every alert reached a run.
func (b *bench) storm() error {
	total, targets, per := 10000, 100, 100
	if b.quick {
		total = 2000
	}
	names100 := make([]string, targets)
	for i := range names100 {
		names100[i] = b.id("storm")
	}
	before := b.fb.count()
	compilesBefore := compilesNow()
	accepted := make([]int, total/per)
	b.begin("storm")
	el, err := parallel(total/per, 8, func(i int) error {
		ts := make([]string, per)
		for k := range ts {
			ts[k] = names100[(i*per+k)%targets]
		}
		resp, err := b.alert(ts...)
		accepted[i] = resp.Counts[router.Started] + resp.Counts[router.Joined]
		return err
	})
	// Refused notifications show as lost alerts below.
	b.fail("storm", err)
	sum := 0
	for _, a := range accepted {
		sum += a
	}
	time.Sleep(3 * time.Second)
	acted := b.fb.count() - before
	// Every delivery is recorded in its run: count them.
	delivered := 0
	for _, t := range names100 {
		resp, err := b.c.QueryWorkflow(context.Background(), names.RunWorkflowID("bench-remediate", t), "", names.StatusQuery)
		if err != nil {
			return err
		}
		var st runwire.RunState
		if err := resp.Get(&st); err != nil {
			return err
		}
		for _, a := range st.Alerts {
			delivered += a.Count
		}
	}
	compiles := compilesNow() - compilesBefore
	if err := b.resolve(names100); err != nil {
		return err
	}
	if _, err := b.settle(); err != nil {
		return err
	}
	b.add(Figure{Name: fmt.Sprintf("storm: %d alerts over %d targets → runs", total, targets), Value: float64(acted), Unit: "runs", Target: fmt.Sprintf("= %d", targets), Met: ptr(acted == targets)})
	b.add(Figure{Name: "storm: alerts lost (not recorded in a run)", Value: float64(total - delivered), Unit: "alerts", Target: "= 0", Met: ptr(total == delivered && sum == total)})
	b.add(Figure{Name: "storm: alerts/s", Value: float64(total) / el.Seconds(), Unit: "alerts/s"})
	b.add(Figure{Name: "storm: CEL compilations while serving", Value: float64(compiles), Unit: "compiles", Target: "= 0", Met: ptr(compiles == 0)})
	return nil
}

func printTable(r Results) {
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Firebreak bench — %s — median of %d\n", r.Machine, r.Runs)
	fmt.Fprintln(tw, "FIGURE\tVALUE\tUNIT\tTARGET\tMET\t× BARE")
	for _, f := range r.Figures {
		met := ""
		if f.Met != nil {
			met = map[bool]string{true: "yes", false: "NO"}[*f.Met]
		}
		ratio := ""
		if f.BareRatio != 0 {
			ratio = fmt.Sprintf("%.2f", f.BareRatio)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", f.Name, format(f.Value), f.Unit, f.Target, met, ratio)
	}
	tw.Flush()
}

func format(v float64) string {
	if v >= 100 || v == float64(int64(v)) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

func (b *bench) add(f Figure) {
	b.figures = append(b.figures, f)
	fmt.Fprintf(os.Stderr, "  %s: %s %s\n", f.Name, format(f.Value), f.Unit)
}

func ptr(b bool) *bool { return &b }

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// pct is the p-th percentile (nearest rank) of xs; 100 is the maximum.
func pct(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	i := int(math.Ceil(float64(len(s))*p/100)) - 1
	return s[max(0, min(i, len(s)-1))]
}

func machine() string {
	model := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "model name") {
				_, model, _ = strings.Cut(line, ":")
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d cores, %s", strings.TrimSpace(model), runtime.NumCPU(), runtime.Version())
}

func activityName(name string) activity.RegisterOptions { return activity.RegisterOptions{Name: name} }
