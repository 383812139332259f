package tests

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/firebreak-ops/firebreak/internal/service"
	"github.com/firebreak-ops/firebreak/internal/testenv"
	"github.com/firebreak-ops/firebreak/workflows"
)

// TestServeRoles runs the real binary as `firebreak serve --role api` and
// `--role worker`, two processes against one Temporal server, as a
// production deployment does, and drives a run through them.
func TestServeRoles(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "firebreak")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/firebreak").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	eng := testenv.Engine(t, t.TempDir())
	port := testenv.FreePort(t)
	start := func(role string, extra ...string) *exec.Cmd {
		args := append([]string{"serve", "--role", role, "--temporal-address", eng.FrontendAddress(), "--namespace", eng.Namespace()}, extra...)
		cmd := exec.Command(bin, args...)
		log, _ := os.Create(filepath.Join(t.TempDir(), role+".log"))
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
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
				b, _ := os.ReadFile(log.Name())
				t.Logf("%s log:\n%s", role, b)
			}
		})
		return cmd
	}
	start("worker")
	start("api", "--listen", fmt.Sprintf("127.0.0.1:%d", port))
	a := &api{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", port)}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var body map[string]string
		if a.tryGet("/readyz", &body) == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("api never became ready (it needs the worker's poller)")
		}
		time.Sleep(200 * time.Millisecond)
	}
	ref := a.start(service.StartRequest{Runbook: "hello-world", Params: fmtParams("name", "serve", "times", 2)})
	st := a.waitFor(ref.ID, "succeeded", func(s *workflows.RunState) bool { return s.Done() })
	if st.Status != workflows.StatusSucceeded {
		t.Fatalf("run %+v", st)
	}
}

// tryGet is do without failing the test on a connection error.
func (a *api) tryGet(path string, out any) int {
	resp, err := http.Get(a.base + path)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}
