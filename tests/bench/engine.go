package main

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/firebreak-ops/firebreak/internal/app"
	"github.com/firebreak-ops/firebreak/internal/engine"
)

// engineRates compares the embedded engine's sustained rate of
// one-activity workflows with Firebreak's SQLite settings and with the
// settings Temporal's own dev server uses, each on a fresh data dir.
func (b *bench) engineRates() error {
	window := 10 * time.Second
	if b.quick {
		window = 4 * time.Second
	}
	var tuned, defaults []float64
	for r := 0; r < b.runs; r++ {
		for _, d := range []bool{false, true} {
			rate, err := sustainedRate(d, window)
			if err != nil {
				return err
			}
			if d {
				defaults = append(defaults, rate)
			} else {
				tuned = append(tuned, rate)
			}
		}
	}
	t, d := median(tuned), median(defaults)
	b.add(Figure{Name: "embedded engine, Temporal's default SQLite settings: one-activity workflows/s", Value: d, Unit: "wf/s"})
	b.add(Figure{Name: "embedded engine, Firebreak's settings (WAL, synchronous=normal): workflows/s", Value: t, Unit: "wf/s",
		Target: "≥ 2.5× defaults", Met: ptr(t >= 2.5*d), BareRatio: t / d})
	return nil
}

// sustainedRate runs 16 clients that each start a one-activity workflow and
// wait for it, for the window, and returns completed workflows per second.
func sustainedRate(temporalDefaults bool, window time.Duration) (float64, error) {
	quiet := slog.New(slog.DiscardHandler)
	dir, err := os.MkdirTemp("", "firebreak-engine-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	eng, err := engine.Start(ctx, engine.Config{DataDir: dir, SearchAttributes: app.SearchAttributes(), Logger: quiet, TemporalDefaults: temporalDefaults})
	if err != nil {
		return 0, err
	}
	defer eng.Stop()
	c, err := client.Dial(client.Options{HostPort: eng.FrontendAddress(), Namespace: eng.Namespace(), Logger: sdklog.NewStructuredLogger(quiet)})
	if err != nil {
		return 0, err
	}
	defer c.Close()
	w := worker.New(c, "engine-rate", worker.Options{})
	w.RegisterWorkflowWithOptions(bareWorkflow, workflow.RegisterOptions{Name: "BareWorkflow"})
	w.RegisterActivityWithOptions(func(context.Context) error { return nil }, activityName("bare.touch"))
	if err := w.Start(); err != nil {
		return 0, err
	}
	defer w.Stop()
	var done atomic.Int64
	stop := time.Now().Add(window)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: "engine-rate"}, "BareWorkflow")
				if err == nil {
					err = run.Get(ctx, nil)
				}
				if err != nil {
					errs <- err
					return
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return 0, err
	}
	return float64(done.Load()) / window.Seconds(), nil
}
