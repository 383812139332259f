package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/firebreak-ops/firebreak/internal/guard"
	"github.com/firebreak-ops/firebreak/runbooks"
)

func compilesNow() int64 { return guard.Compiles() }

// cel measures one evaluation of a typical guard of the shipped catalog,
// compiled once, as the workflows evaluate it.
func (b *bench) cel() {
	cat, _ := runbooks.Builtin()
	plan, _ := cat.Get("service-health-check")
	var healthy *runbooks.StepPlan
	for _, s := range plan.Steps {
		if s.Name == "healthy" {
			healthy = s
		}
	}
	vars := map[string]any{
		runbooks.VarParams: map[string]any{"url": "http://x", "job": "checkout", "max_error_percent": int64(5)},
		runbooks.VarSteps: map[string]any{
			"probe":  map[string]any{"status": "succeeded", "output": map[string]any{"status": int64(200)}, "error": "", "attempts": int64(1)},
			"errors": map[string]any{"status": "succeeded", "output": map[string]any{"count": int64(1), "value": 0.012}, "error": "", "attempts": int64(1)},
		},
		runbooks.VarRun:   map[string]any{"id": "r", "runbook": "service-health-check", "startedAt": time.Now(), "trigger": "api", "requestedBy": "", "dryRun": false},
		runbooks.VarNow:   time.Now(),
		runbooks.VarAlert: map[string]any{},
		runbooks.VarEvent: map[string]any{},
	}
	before := guard.Compiles()
	res := testing.Benchmark(func(tb *testing.B) {
		for tb.Loop() {
			if ok, err := healthy.When.EvalBool(vars); err != nil || !ok {
				tb.Fatal(ok, err)
			}
		}
	})
	ns := float64(res.NsPerOp())
	b.add(Figure{Name: "CEL guard evaluation (service-health-check `healthy`)", Value: ns, Unit: "ns/op", Target: "≤ 2000 ns", Met: ptr(ns <= 2000)})
	b.add(Figure{Name: fmt.Sprintf("CEL compilations during %d evaluations", res.N), Value: float64(guard.Compiles() - before), Unit: "compiles", Target: "= 0", Met: ptr(guard.Compiles() == before)})
}

func freePort() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// dev measures `firebreak dev`: time from exec to /readyz, and resident
// memory after it idled.
func (b *bench) dev(bin string) error {
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("%s not built (make build): %w", bin, err)
	}
	var startups, rsss []float64
	for r := 0; r < b.runs; r++ {
		dir, err := os.MkdirTemp("", "firebreak-dev-")
		if err != nil {
			return err
		}
		api := freePort()
		cmd := exec.Command(bin, "dev", "--data-dir", dir, "--listen", fmt.Sprintf("127.0.0.1:%d", api),
			"--temporal-port", strconv.Itoa(freePort()), "--ui-port", strconv.Itoa(freePort()), "--log-level", "warn")
		began := time.Now()
		if err := cmd.Start(); err != nil {
			return err
		}
		ready := false
		for time.Since(began) < 60*time.Second {
			resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/readyz", api))
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					ready = true
					break
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
		startup := time.Since(began)
		idle := 15 * time.Second
		if b.quick {
			idle = 3 * time.Second
		}
		time.Sleep(idle)
		rss := rssMB(cmd.Process.Pid)
		_ = cmd.Process.Signal(syscall.SIGINT)
		_ = cmd.Wait()
		os.RemoveAll(dir)
		if !ready {
			return fmt.Errorf("firebreak dev never became ready")
		}
		startups = append(startups, float64(startup.Milliseconds()))
		rsss = append(rsss, rss)
	}
	rss := median(rsss)
	b.add(Figure{Name: "firebreak dev: start-up to ready (new data dir)", Value: median(startups), Unit: "ms"})
	b.add(Figure{Name: "firebreak dev: idle RSS", Value: rss, Unit: "MB", Target: "≤ 400 MB", Met: ptr(rss <= 400)})
	return nil
}

func rssMB(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}
