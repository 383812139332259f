// Command firebreak-sandbox runs the local playground `make sandbox`
// starts (see internal/sandbox) until Ctrl-C, then stops everything and
// removes what it wrote. Once ready it prints KUBECONFIG=, PROMETHEUS_URL=
// and ALERTMANAGER_URL= lines for scripts, then what to run next.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/firebreak-ops/firebreak/internal/sandbox"
)

func main() {
	firebreak := flag.String("firebreak", "http://127.0.0.1:8080", "Firebreak's API, where Alertmanager delivers alerts")
	configDir := flag.String("config-dir", ".firebreak/sandbox", "where to write firebreak.yaml and the kubeconfig (removed on exit)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "sandbox: "+format+"\n", args...)
	}
	s, err := sandbox.Start(ctx, sandbox.Options{FirebreakURL: *firebreak, ConfigDir: *configDir, Log: logf})
	if err != nil {
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		os.Exit(1)
	}
	if ctx.Err() != nil {
		s.Stop()
		os.Exit(130)
	}
	fmt.Printf("KUBECONFIG=%s\nPROMETHEUS_URL=%s\nALERTMANAGER_URL=%s\nSANDBOX_URL=%s\n", s.Kubeconfig, s.PrometheusURL, s.AlertmanagerURL, s.ControlURL)
	fmt.Fprintf(os.Stderr, `
The sandbox is up: prod/checkout, prod/cart and staging/checkout on kwok, Chaos Mesh's
controller, Prometheus (alert rules for the catalog) and Alertmanager delivering to %s.

Next, in another terminal:
  make run CONFIG=%s      # Firebreak, pointed at the sandbox
Then:
  curl -X POST %s/crashloop/prod/checkout   # checkout crash-loops; KubePodCrashLooping fires
  bin/firebreak runs list                    # restart-deployment runs and heals it
  bin/firebreak chaos run pod-kill-checkout --wait    # a real pod-kill through Chaos Mesh
  bin/firebreak incident declare sev3 "Checkout latency"    # then resolve it and read its postmortem (README "Sandbox")
Ctrl-C here stops everything and removes what the sandbox wrote.
`, *firebreak, s.Config, s.ControlURL)
	<-ctx.Done()
	fmt.Fprintln(os.Stderr, "sandbox: stopping")
	began := time.Now()
	s.Stop()
	fmt.Fprintf(os.Stderr, "sandbox: stopped in %s; nothing left behind\n", time.Since(began).Round(10*time.Millisecond))
}
