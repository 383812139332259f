package engine

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

var (
	runbookKey  = temporal.NewSearchAttributeKeyKeyword("FirebreakRunbook")
	severityKey = temporal.NewSearchAttributeKeyInt64("FirebreakSeverity")
)

func greet(_ workflow.Context, name string) (string, error) {
	return "hello " + name, nil
}

// awaitSignal completes with the value of the first "go" signal.
func awaitSignal(ctx workflow.Context) (string, error) {
	var v string
	workflow.GetSignalChannel(ctx, "go").Receive(ctx, &v)
	return "got " + v, nil
}

// syncBuffer collects log output from server goroutines; it is printed only
// when the test fails (t.Log must not be called after a test ends).
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func testLogger(t *testing.T) *slog.Logger {
	t.Helper()
	var buf syncBuffer
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("engine log:\n%s", buf.String())
		}
	})
	var w io.Writer = &buf
	if f := os.Getenv("ENGINE_TEST_LOG"); f != "" {
		lf, err := os.Create(f)
		if err != nil {
			t.Fatal(err)
		}
		w = io.MultiWriter(&buf, lf)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// testLogLevel lets ENGINE_TEST_LOGLEVEL=debug|info widen the server log.
func testLogLevel() slog.Level {
	switch os.Getenv("ENGINE_TEST_LOGLEVEL") {
	case "debug":
		return slog.LevelDebug
	case "info":
		return slog.LevelInfo - 1
	}
	return 0
}

func startEngine(t *testing.T, ctx context.Context, cfg Config) *Engine {
	t.Helper()
	begin := time.Now()
	e, err := Start(ctx, cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Logf("Start took %v (frontend %s, UI %q)", time.Since(begin).Round(time.Millisecond), e.FrontendAddress(), e.UIAddress())
	t.Cleanup(func() { _ = e.Stop() })
	return e
}

func stopEngine(t *testing.T, e *Engine) {
	t.Helper()
	begin := time.Now()
	if err := e.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	t.Logf("Stop took %v", time.Since(begin).Round(time.Millisecond))
	if err := e.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}

func dial(t *testing.T, e *Engine) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{
		HostPort:  e.FrontendAddress(),
		Namespace: e.Namespace(),
		Logger:    sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)),
	})
	if err != nil {
		t.Fatalf("dial %s: %v", e.FrontendAddress(), err)
	}
	return c
}

func runGreet(t *testing.T, ctx context.Context, c client.Client, id string, sas temporal.SearchAttributes) {
	t.Helper()
	w := worker.New(c, "t", worker.Options{})
	w.RegisterWorkflow(greet)
	if err := w.Start(); err != nil {
		t.Fatalf("worker start: %v", err)
	}
	defer w.Stop()

	begin := time.Now()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                    id,
		TaskQueue:             "t",
		TypedSearchAttributes: sas,
	}, greet, "firebreak")
	if err != nil {
		t.Fatalf("ExecuteWorkflow: %v", err)
	}
	var got string
	if err := run.Get(ctx, &got); err != nil {
		t.Fatalf("workflow result: %v", err)
	}
	if got != "hello firebreak" {
		t.Fatalf("workflow result = %q", got)
	}
	t.Logf("workflow %s completed in %v", id, time.Since(begin).Round(time.Millisecond))
}

// waitListed polls the visibility store (written asynchronously) until query
// returns exactly the workflow id.
func waitListed(t *testing.T, ctx context.Context, c client.Client, query, id string) {
	t.Helper()
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query})
		if err == nil && len(resp.GetExecutions()) == 1 && resp.GetExecutions()[0].GetExecution().GetWorkflowId() == id {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("ListWorkflow(%q) never returned %s: last response %v, error %v", query, id, resp, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func TestEngineRestartKeepsState(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	dir := filepath.Join(t.TempDir(), "data") // does not exist yet
	logger := testLogger(t)

	// First start: fresh database.
	e := startEngine(t, ctx, Config{
		DataDir:          dir,
		UIPort:           -1,
		SearchAttributes: map[string]enumspb.IndexedValueType{"FirebreakRunbook": enumspb.INDEXED_VALUE_TYPE_KEYWORD},
		Logger:           logger,
		LogLevel:         testLogLevel(),
	})
	if e.Namespace() != "default" {
		t.Errorf("Namespace() = %q, want default", e.Namespace())
	}
	if !strings.HasPrefix(e.FrontendAddress(), "127.0.0.1:") {
		t.Errorf("FrontendAddress() = %q", e.FrontendAddress())
	}
	c := dial(t, e)
	runGreet(t, ctx, c, "wf-1", temporal.NewSearchAttributes(runbookKey.ValueSet("x")))
	waitListed(t, ctx, c, "FirebreakRunbook = 'x'", "wf-1")

	if !strings.HasPrefix(e.UIAddress(), "http://127.0.0.1:") {
		t.Fatalf("UIAddress() = %q", e.UIAddress())
	}
	resp, err := http.Get(e.UIAddress())
	if err != nil {
		t.Fatalf("GET %s: %v", e.UIAddress(), err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %s", e.UIAddress(), resp.Status)
	}
	c.Close()
	stopEngine(t, e)

	info, err := os.Stat(dir)
	if err != nil || info.Mode().Perm() != 0o750 {
		t.Errorf("data dir: %v, mode %v", err, info.Mode().Perm())
	}
	checkJournalMode(t, filepath.Join(dir, "temporal.db"))
	checkJournalMode(t, filepath.Join(dir, "visibility.db"))
	// Visibility records live in their own file in a new data directory.
	if n := visibilityRows(t, filepath.Join(dir, "visibility.db")); n == 0 {
		t.Errorf("visibility.db holds no visibility record")
	}
	if n := visibilityRows(t, filepath.Join(dir, "temporal.db")); n != 0 {
		t.Errorf("temporal.db holds %d visibility records, want them in visibility.db", n)
	}

	// Second start: same database, one more search attribute, UI disabled.
	e = startEngine(t, ctx, Config{
		DataDir: dir,
		SearchAttributes: map[string]enumspb.IndexedValueType{
			"FirebreakRunbook":  enumspb.INDEXED_VALUE_TYPE_KEYWORD,
			"FirebreakSeverity": enumspb.INDEXED_VALUE_TYPE_INT,
		},
		Logger:   logger,
		LogLevel: testLogLevel(),
	})
	if e.UIAddress() != "" {
		t.Errorf("UIAddress() = %q with UI disabled", e.UIAddress())
	}
	c = dial(t, e)
	defer c.Close()

	desc, err := c.DescribeWorkflowExecution(ctx, "wf-1", "")
	if err != nil {
		t.Fatalf("DescribeWorkflowExecution(wf-1) after restart: %v", err)
	}
	if st := desc.GetWorkflowExecutionInfo().GetStatus(); st != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		t.Errorf("wf-1 status after restart = %v", st)
	}

	sas, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: e.Namespace()})
	if err != nil {
		t.Fatalf("ListSearchAttributes: %v", err)
	}
	for name, want := range map[string]enumspb.IndexedValueType{
		"FirebreakRunbook":  enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		"FirebreakSeverity": enumspb.INDEXED_VALUE_TYPE_INT,
	} {
		if got := sas.GetCustomAttributes()[name]; got != want {
			t.Errorf("search attribute %s = %v, want %v", name, got, want)
		}
	}
	// The attribute added on this start is usable right away.
	runGreet(t, ctx, c, "wf-2", temporal.NewSearchAttributes(runbookKey.ValueSet("y"), severityKey.ValueSet(2)))
	waitListed(t, ctx, c, "FirebreakSeverity = 2", "wf-2")
	waitListed(t, ctx, c, "FirebreakRunbook = 'x'", "wf-1")
	stopEngine(t, e)
}

// checkJournalMode opens the database file directly: journal_mode=wal is
// stored in the file, so any new connection reports it.
func checkJournalMode(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer func() { _ = db.Close() }()
	var mode string
	if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatalf("PRAGMA journal_mode: %v", err)
	}
	if mode != "wal" {
		t.Errorf("journal_mode = %q, want wal", mode)
	}
}

// visibilityRows counts the visibility records in the SQLite file at path.
func visibilityRows(t *testing.T, path string) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer func() { _ = db.Close() }()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM executions_visibility").Scan(&n); err != nil {
		t.Fatalf("counting visibility records in %s: %v", path, err)
	}
	return n
}

func TestSplitVisibility(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files []string
		want  bool
	}{
		{"new data directory", nil, true},
		{"split before", []string{dbFileName, visibilityFileName}, true},
		{"created before the split", []string{dbFileName}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, f), nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if got := splitVisibility(dir); got != tc.want {
				t.Errorf("splitVisibility(%v) = %v, want %v", tc.files, got, tc.want)
			}
		})
	}
}

func TestStartPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	port := l.Addr().(*net.TCPAddr).Port

	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"frontend", Config{Port: port}, fmt.Sprintf("temporal port %d is already in use", port)},
		{"ui", Config{UIPort: port}, fmt.Sprintf("temporal UI port %d is already in use", port)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.DataDir = t.TempDir()
			e, err := Start(context.Background(), tc.cfg)
			if err == nil {
				_ = e.Stop()
				t.Fatal("Start succeeded on a port that is in use")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), strconv.Itoa(port)) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

// killChildEnv makes the test binary act as the process that
// TestKill9KeepsState kills; its value is the data directory.
const killChildEnv = "FIREBREAK_ENGINE_KILL_CHILD_DIR"

// TestKill9KeepsState runs an engine in a child process, kills it with
// SIGKILL while a workflow is open, and checks that a new engine on the same
// directory has both the completed and the open workflow and can finish the
// latter.
func TestKill9KeepsState(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if dir := os.Getenv(killChildEnv); dir != "" {
		runKillChild(t, ctx, dir)
		return
	}

	dir := t.TempDir()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestKill9KeepsState$")
	cmd.Env = append(os.Environ(), killChildEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var childOut strings.Builder
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := false
	for sc := bufio.NewScanner(out); sc.Scan(); {
		if sc.Text() == "READY" {
			ready = true
			break
		}
		childOut.WriteString(sc.Text() + "\n")
	}
	_ = cmd.Process.Kill() // SIGKILL on Unix
	_ = cmd.Wait()
	if !ready {
		t.Fatalf("child engine never got ready:\n%s", childOut.String())
	}

	e := startEngine(t, ctx, Config{DataDir: dir, Logger: testLogger(t), LogLevel: testLogLevel()})
	c := dial(t, e)
	defer c.Close()
	desc, err := c.DescribeWorkflowExecution(ctx, "wf-done", "")
	if err != nil {
		t.Fatalf("DescribeWorkflowExecution(wf-done) after kill -9: %v", err)
	}
	if st := desc.GetWorkflowExecutionInfo().GetStatus(); st != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		t.Errorf("wf-done status = %v", st)
	}
	w := worker.New(c, "t", worker.Options{})
	w.RegisterWorkflow(awaitSignal)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if err := c.SignalWorkflow(ctx, "wf-open", "", "go", "on"); err != nil {
		t.Fatalf("SignalWorkflow(wf-open) after kill -9: %v", err)
	}
	var got string
	if err := c.GetWorkflow(ctx, "wf-open", "").Get(ctx, &got); err != nil || got != "got on" {
		t.Fatalf("wf-open result = %q, %v", got, err)
	}
}

// runKillChild is the child side of TestKill9KeepsState: it completes one
// workflow, leaves one open, prints READY and waits to be killed.
func runKillChild(t *testing.T, ctx context.Context, dir string) {
	e, err := Start(ctx, Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, e)
	runGreet(t, ctx, c, "wf-done", temporal.SearchAttributes{})
	w := worker.New(c, "t", worker.Options{})
	w.RegisterWorkflow(awaitSignal)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "wf-open", TaskQueue: "t"}, awaitSignal)
	if err != nil {
		t.Fatal(err)
	}
	// Wait until the first workflow task has run, so the kill hits a
	// workflow with history beyond its start.
	for {
		hist := c.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		n := 0
		for hist.HasNext() {
			if _, err := hist.Next(); err != nil {
				t.Fatal(err)
			}
			n++
		}
		if n >= 4 { // started, task scheduled, task started, task completed
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	fmt.Println("READY")
	<-ctx.Done()
}
