package tests

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/firebreak-ops/firebreak/internal/runs"
	"github.com/firebreak-ops/firebreak/internal/testenv"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// TestServeRoles runs the real binary as `firebreak serve --role api` and
// `--role worker`, two processes against one Temporal server, as a
// production deployment does, and drives a run through them.
func TestServeRoles(t *testing.T) {
	bin := firebreakBinary(t)
	eng := testenv.Engine(t, t.TempDir())
	port := testenv.FreePort(t)
	start := func(role string, extra ...string) *exec.Cmd {
		return serve(t, bin, eng.FrontendAddress(), role, extra...)
	}
	// Without authentication the API refuses to start, naming the
	// settings; --insecure-no-auth starts it open, and says so.
	out, err := exec.Command(bin, "serve", "--role", "api", "--temporal-address", eng.FrontendAddress(),
		"--listen", fmt.Sprintf("127.0.0.1:%d", port)).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "set apiToken (FIREBREAK_API_TOKEN) or principals") {
		t.Fatalf("serve --role api without authentication: %v\n%s", err, out)
	}
	// Without payload keys serve refuses too, unless told to store in clear.
	out, err = exec.Command(bin, "serve", "--role", "worker", "--temporal-address", eng.FrontendAddress()).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "no payload encryption keys: set encryption.keyFile") {
		t.Fatalf("serve without payload keys: %v\n%s", err, out)
	}
	start("worker")
	start("api", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--insecure-no-auth")
	a := &api{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", port)}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var body map[string]string
		if a.tryGet("/readyz", &body) == http.StatusOK {
			if !strings.Contains(body["warning"], "authentication is off") {
				t.Errorf("/readyz of an open API: %v, want a warning", body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("api never became ready (it needs the worker's poller)")
		}
		time.Sleep(200 * time.Millisecond)
	}
	ref := a.start(runs.StartRequest{Runbook: "hello-world", Params: fmtParams("name", "serve", "times", 2)})
	st := a.waitFor(ref.ID, "succeeded", func(s *runwire.RunState) bool { return s.Done() })
	if st.Status != runwire.StatusSucceeded {
		t.Fatalf("run %+v", st)
	}
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// firebreakBinary builds bin/firebreak once for the test package.
func firebreakBinary(t *testing.T) string {
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "firebreak-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "firebreak")
		if out, err := exec.Command("go", "build", "-o", binPath, "../cmd/firebreak").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("%v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatalf("building firebreak: %v", buildErr)
	}
	return binPath
}

// serve runs `firebreak serve --role role` against a Temporal frontend and
// stops it (Ctrl-C) when the test ends, unless the test killed it first.
func serve(t *testing.T, bin, frontend, role string, extra ...string) *exec.Cmd {
	t.Helper()
	args := append([]string{"serve", "--role", role, "--temporal-address", frontend, "--namespace", "default"}, extra...)
	cmd := exec.Command(bin, args...)
	// The same payload key as the test's own clients.
	cmd.Env = append(os.Environ(), "FIREBREAK_PAYLOAD_KEY_FILE="+testenv.KeyFile(t))
	logFile, _ := os.Create(filepath.Join(t.TempDir(), role+".log"))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState != nil {
			return // killed and reaped by the test
		}
		_ = cmd.Process.Signal(syscall.SIGINT)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s did not stop cleanly: %v", role, err)
			}
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("%s did not stop within 20s of Ctrl-C", role)
		}
		if t.Failed() {
			b, _ := os.ReadFile(logFile.Name())
			t.Logf("%s log:\n%s", role, b)
		}
	})
	return cmd
}

// tryGet is do without failing the test on a connection error.
func (a *api) tryGet(path string, out any) int {
	resp, err := http.Get(a.base + path)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	if out != nil {
		_ = json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}
