package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/firebreak-ops/firebreak/internal/app"
	"github.com/firebreak-ops/firebreak/internal/config"
	"github.com/firebreak-ops/firebreak/internal/names"
	"github.com/firebreak-ops/firebreak/internal/testenv"
)

// clusterFigures measures Firebreak in production shape: the three-node
// Temporal cluster on PostgreSQL (mutual TLS to the frontend), two API
// instances taking alerts in turn, one worker, and the bare workflow on
// the same cluster as the baseline of every figure. It reports alerts/s,
// alert → first action at 10/s, and how long after kill -9 of a history
// node the next run acts.
func (b *bench) clusterFigures(dir string) error {
	ctx := context.Background()
	fmt.Fprintln(os.Stderr, "bench: starting the three-node cluster")
	tc, err := testenv.StartClusterWith(ctx, testenv.ClusterOptions{TLS: true})
	if err != nil {
		return err
	}
	defer tc.Stop()
	opts, err := tc.ClientOptions()
	if err != nil {
		return err
	}
	opts.Logger = sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))
	c, err := client.Dial(opts)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := app.EnsureSearchAttributes(ctx, c, tc.Namespace); err != nil {
		return err
	}
	sub := &bench{bare: newStarts(), fb: newStarts(), runs: b.runs, quick: b.quick, hookLat: map[string][]float64{}, non200: map[string]int{}}
	cfg := &config.Config{Slack: config.Slack{SigningSecret: benchSigningSecret}}
	_, cleanup, err := sub.startOn(ctx, c, tc.Namespace, dir, cfg, nil, 2)
	if err != nil {
		return err
	}
	defer cleanup()
	err = sub.throughput()
	if err == nil {
		err = sub.latencyAt(10, 50)
	}
	if err != nil {
		return err
	}
	for _, e := range sub.errs {
		b.fail("cluster", errors.New(e))
	}
	for _, f := range sub.figures {
		if strings.Contains(f.Name, "p99.9") || strings.Contains(f.Name, " max ") {
			continue
		}
		f.Name = "cluster: " + f.Name
		if strings.Contains(f.Name, "alerts/s") {
			f.Name += ", two API instances"
		}
		f.Target, f.Met = "", nil
		b.add(f)
	}
	return sub.recovery(b, tc)
}

// recovery kills -9 a history node, starts recoveryProbes workflows at
// once (their IDs spread over the shards, those of the dead node
// included) and times the kill → the last one's first activity: how long
// until every new run acts again. Then it restarts the node. Bare
// workflows and Firebreak's alert path take turns, each after a kill of
// its own.
func (b *bench) recovery(into *bench, tc *testenv.Cluster) error {
	var bare, fb []float64
	for r := 0; r < b.runs; r++ {
		for _, path := range []string{"bare", "firebreak"} {
			if _, err := b.settle(); err != nil {
				return err
			}
			if err := tc.Kill("history-a"); err != nil {
				return err
			}
			killed := time.Now()
			var got time.Time
			var err error
			if path == "bare" {
				got, err = b.recoverBare(killed)
			} else {
				got, err = b.recoverFirebreak(killed)
			}
			if rerr := tc.Restart("history-a"); rerr != nil {
				return rerr
			}
			if err != nil {
				return fmt.Errorf("recovery of %s: %w", path, err)
			}
			took := float64(got.Sub(killed).Microseconds()) / 1000
			if path == "bare" {
				bare = append(bare, took)
			} else {
				fb = append(fb, took)
			}
			// The node rejoins before the next kill.
			time.Sleep(15 * time.Second)
		}
	}
	bv, fv := median(bare), median(fb)
	into.add(Figure{Name: fmt.Sprintf("cluster: bare Temporal: history node killed → all of %d new workflows acted", recoveryProbes), Value: bv, Unit: "ms"})
	into.add(Figure{Name: fmt.Sprintf("cluster: Firebreak: history node killed → all of %d new alerts' runs acted", recoveryProbes), Value: fv, Unit: "ms", BareRatio: fv / bv})
	return nil
}

// recoveryProbes is how many workflows each recovery measurement starts.
const recoveryProbes = 8

// recoverBare starts the bare probes, each retried until the cluster
// takes it, and returns when the last one ran its activity.
func (b *bench) recoverBare(killed time.Time) (time.Time, error) {
	ids := make([]string, recoveryProbes)
	for i := range ids {
		ids[i] = b.id("rb")
	}
	_, _ = parallel(len(ids), len(ids), func(i int) error {
		for time.Since(killed) < 3*time.Minute {
			sent := time.Now()
			err := b.bareStart(ids[i])
			traceAttempt(ids[i], killed, sent, err)
			if err == nil {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		return nil
	})
	at, err := b.lastActed(b.bare, ids, killed)
	b.traceHistories(ids, killed)
	return at, err
}

// recoverFirebreak sends one alert per probe target (retried on 429 as
// Alertmanager does, and again on any failure) and returns when the last
// one's run acted.
func (b *bench) recoverFirebreak(killed time.Time) (time.Time, error) {
	targets := make([]string, recoveryProbes)
	ids := make([]string, recoveryProbes)
	for i := range targets {
		targets[i] = b.id("rf")
		ids[i] = names.RunWorkflowID("bench-remediate", targets[i])
	}
	_, _ = parallel(len(targets), len(targets), func(i int) error {
		for time.Since(killed) < 3*time.Minute {
			sent := time.Now()
			_, err := b.alert(targets[i])
			traceAttempt(ids[i], killed, sent, err)
			if err == nil {
				return nil
			}
			time.Sleep(200 * time.Millisecond)
		}
		return nil
	})
	at, err := b.lastActed(b.fb, ids, killed)
	b.traceHistories(ids, killed)
	_ = b.resolve(targets)
	return at, err
}

// lastActed waits until every workflow of ids ran its first activity and
// returns the latest of those times.
func (b *bench) lastActed(s *starts, ids []string, killed time.Time) (time.Time, error) {
	var last time.Time
	for _, id := range ids {
		for {
			at, ok := s.get(id)
			if ok {
				if at.After(last) {
					last = at
				}
				break
			}
			if time.Since(killed) > 3*time.Minute {
				return last, fmt.Errorf("%s did not act within 3 minutes of the kill", id)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return last, nil
}

// traceRecovery makes the recovery measurement print, for each probe,
// every attempt to start it and its history's events, as offsets from the
// kill (bench -trace-recovery), to see where the time goes.
var traceRecovery bool

// traceAttempt prints one attempt to start a probe.
func traceAttempt(id string, killed, sent time.Time, err error) {
	if !traceRecovery {
		return
	}
	outcome := "accepted"
	if err != nil {
		outcome = err.Error()
		if i := strings.IndexByte(outcome, '\n'); i >= 0 {
			outcome = outcome[:i]
		}
	}
	fmt.Fprintf(os.Stderr, "trace %s: attempt at +%s took %s: %s\n", id, sent.Sub(killed).Round(time.Millisecond), time.Since(sent).Round(time.Millisecond), outcome)
}

// traceHistories prints each probe's history events up to its first
// activity's start, as offsets from the kill.
func (b *bench) traceHistories(ids []string, killed time.Time) {
	if !traceRecovery {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, id := range ids {
		it := b.c.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		var line []string
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				line = append(line, err.Error())
				break
			}
			name := strings.TrimPrefix(ev.GetEventType().String(), "EVENT_TYPE_")
			line = append(line, fmt.Sprintf("%s +%s", name, ev.GetEventTime().AsTime().Sub(killed).Round(time.Millisecond)))
			if ev.GetEventType() == enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED {
				break
			}
		}
		fmt.Fprintf(os.Stderr, "trace %s: %s\n", id, strings.Join(line, ", "))
	}
}
