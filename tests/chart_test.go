package tests

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/firebreak-ops/firebreak/internal/runs"
	"github.com/firebreak-ops/firebreak/internal/testenv"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// chartExtraRunbook is a runbook the chart's runbooks value adds: a run
// of it shows the worker loaded the ConfigMap's file.
const chartExtraRunbook = `apiVersion: firebreak/v1
kind: Runbook
metadata: {name: chart-extra}
spec:
  access: {run: ["@sre"]}
  steps:
    - name: hello
      action: log
      with: {message: "hello from the chart's ConfigMap"}
`

// randomToken returns a fresh API token.
func randomToken(t *testing.T, prefix string) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return prefix + "-" + hex.EncodeToString(b)
}

// chartPods renders the chart against the engine with extra values and
// returns the kubelet holding its ConfigMap and the given Secret (as the
// chart's existingSecret, "firebreak"), and the pod spec of each
// component.
func chartPods(t *testing.T, bin, frontend, namespace string, values map[string]any, secret map[string][]byte) (*kubelet, map[string]corev1.PodSpec) {
	t.Helper()
	all := map[string]any{
		"temporal": map[string]any{"address": frontend, "namespace": namespace},
		"runbooks": map[string]string{"extra.yaml": chartExtraRunbook},
	}
	for k, v := range values {
		all[k] = v
	}
	_, objs := renderChart(t, "fb", "firebreak", all)
	k := &kubelet{t: t, bin: bin, configMaps: map[string]map[string]string{}, secrets: map[string]map[string][]byte{"firebreak": secret}}
	for _, cm := range renderedAs[corev1.ConfigMap](t, objs, "ConfigMap") {
		k.configMaps[cm.Name] = cm.Data
	}
	pods := map[string]corev1.PodSpec{}
	for component, d := range deploymentsOf(t, objs) {
		pods[component] = d.Spec.Template.Spec
	}
	if len(pods) != 2 {
		t.Fatalf("the chart rendered Deployments for %v, want api and worker", pods)
	}
	return k, pods
}

// TestChartRunsInPods starts what the chart deploys the way a kubelet
// would (see kubelet): every container of every Deployment runs the real
// binary with the rendered args, environment and mounted ConfigMap and
// Secret files, against a real Temporal, with payloads encrypted by the
// key file the Secret holds; then every liveness and readiness probe is
// run as declared and must pass. The worker's probes on a port nothing
// serves (the chart before the worker had --listen) must fail. Principals'
// tokens come from the Secret: as a mounted file, as an environment
// variable, and as secret references in the ConfigMap.
func TestChartRunsInPods(t *testing.T) {
	// Long and mostly waiting: it overlaps the package's other slow tests.
	t.Parallel()
	bin := firebreakBinary(t)
	eng := testenv.Engine(t, t.TempDir())
	keys, err := os.ReadFile(testenv.KeyFile(t))
	if err != nil {
		t.Fatal(err)
	}
	alice := randomToken(t, "alice")
	k, pods := chartPods(t, bin, eng.FrontendAddress(), eng.Namespace(),
		map[string]any{"principals": map[string]any{"fileKey": "principals.yaml"}},
		map[string][]byte{
			"payload-keys.yaml": keys,
			"principals.yaml":   []byte(fmt.Sprintf("- {name: alice, token: %s, groups: [sre]}\n", alice)),
		})

	started := map[string]*container{}
	for _, component := range []string{"worker", "api"} {
		cs := k.start("fb-"+component+"-0", pods[component])
		if len(cs) != 1 {
			t.Fatalf("%s pod has %d containers, want 1", component, len(cs))
		}
		started[component] = cs[0]
	}

	t.Run("probes pass as declared", func(t *testing.T) {
		type probeCase struct {
			component, kind string
			c               *container
			probe           *corev1.Probe
		}
		var cases []probeCase
		window := time.Duration(0)
		for _, component := range []string{"worker", "api"} {
			c := started[component]
			for kind, p := range map[string]*corev1.Probe{"liveness": c.spec.LivenessProbe, "readiness": c.spec.ReadinessProbe} {
				if p == nil {
					t.Errorf("%s declares no %s probe", component, kind)
					continue
				}
				cases = append(cases, probeCase{component, kind, c, p})
				window = max(window, probeWindow(p))
			}
		}
		results := make([]probeResult, len(cases))
		var wg sync.WaitGroup
		start := time.Now()
		for i, pc := range cases {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = pc.c.prober(context.Background(), pc.probe, window)
			}()
		}
		wg.Wait()
		for i, pc := range cases {
			r := results[i]
			if err := r.passed(pc.kind == "liveness"); err != nil {
				t.Errorf("%s %s probe %s: %v", pc.component, pc.kind, pc.probe.HTTPGet.Path, err)
			}
			t.Logf("%s %s %s: %d/%d attempts passed, first pass after %s", pc.component, pc.kind, pc.probe.HTTPGet.Path,
				r.successes, r.attempts, r.firstPass.Round(time.Millisecond))
		}
		t.Logf("probed for %s", time.Since(start).Round(time.Second))
	})

	t.Run("a probe on a port nothing serves fails", func(t *testing.T) {
		// The worker as the chart ran it before: no --listen, so nothing
		// serves its containerPort. Same prober, with a 1s period so the
		// failure threshold is reached quickly.
		worker := pods["worker"]
		spec := *worker.DeepCopy()
		c := &spec.Containers[0]
		var args []string
		for _, a := range c.Args {
			if !strings.HasPrefix(a, "--listen") {
				args = append(args, a)
			}
		}
		c.Args = args
		old := k.start("fb-worker-old", spec)[0]
		for kind, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
			fast := *p.DeepCopy()
			fast.PeriodSeconds = 1
			r := old.prober(context.Background(), &fast, probeWindow(&fast))
			if err := r.passed(kind == "liveness"); err == nil || !strings.Contains(err.Error(), "connection refused") {
				t.Errorf("%s probe of a worker without --listen: %v, want connection refused", kind, err)
			}
		}
		// It polls the same task queue: stop it, so the tests below see
		// the chart's worker do the work.
		_ = old.cmd.Process.Signal(syscall.SIGTERM)
		for deadline := time.Now().Add(20 * time.Second); syscall.Kill(old.cmd.Process.Pid, 0) == nil; {
			if time.Now().After(deadline) {
				t.Fatal("the old worker did not stop within 20s of SIGTERM")
			}
			time.Sleep(100 * time.Millisecond)
		}
	})

	apiBase := strings.TrimSuffix(mustProbeURL(t, started["api"]), "/healthz")
	t.Run("a principal's token from the mounted Secret", func(t *testing.T) {
		a := &api{t: t, base: apiBase, token: alice}
		ref := a.start(runs.StartRequest{Runbook: "chart-extra"})
		st := a.waitFor(ref.ID, "done", func(s *runwire.RunState) bool { return s.Done() })
		if st.Status != runwire.StatusSucceeded || !strings.Contains(st.RequestedBy, "alice") {
			t.Errorf("run %s requested by %q, want succeeded and requested by alice", st.Status, st.RequestedBy)
		}
		for _, token := range []string{"", "wrong", alice + "x"} {
			if code := (&api{t: t, base: apiBase, token: token}).do("GET", "/v1/runs", nil, nil); code != http.StatusUnauthorized {
				t.Errorf("token %q: HTTP %d, want 401", token, code)
			}
		}
	})

	t.Run("a postmortem is written on the read-only root filesystem", func(t *testing.T) {
		// The worker writes an incident's postmortem file at resolution;
		// its root filesystem is read-only, so the chart gives it a scratch
		// volume. Without one the write fails and the file never appears.
		a := &api{t: t, base: apiBase, token: alice}
		var inc map[string]any
		if code := a.do("POST", "/v1/incidents", map[string]any{"title": "chart postmortem", "severity": "sev3", "commander": "alice"}, &inc); code != http.StatusCreated {
			t.Fatalf("declare: HTTP %d %v", code, inc)
		}
		id := fmt.Sprint(inc["id"])
		if code := a.do("POST", incidentURL(id)+"/resolve", map[string]string{"summary": "done"}, nil); code != http.StatusOK {
			t.Fatalf("resolve: HTTP %d", code)
		}
		// The incident records where the postmortem went, or why it
		// could not be written.
		deadline := time.Now().Add(time.Minute)
		for {
			var got struct {
				Timeline []struct{ Kind, Text, Ref string } `json:"timeline"`
			}
			a.do("GET", incidentURL(id), nil, &got)
			for _, e := range got.Timeline {
				if e.Kind != "postmortem" {
					continue
				}
				if e.Text != "postmortem written" {
					t.Fatalf("the chart's worker could not write the postmortem: %s", e.Text)
				}
				if _, err := os.Stat(e.Ref); err != nil || !strings.HasPrefix(e.Ref, started["worker"].volumes["data"]+"/") {
					t.Fatalf("postmortem file %q, want one in the worker's scratch volume (the root filesystem is read-only): %v", e.Ref, err)
				}
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("no postmortem entry within a minute: %+v", got.Timeline)
			}
			time.Sleep(250 * time.Millisecond)
		}
	})

	// The other two ways the chart takes principals from the Secret: an
	// API pod each, beside the worker above.
	for _, tc := range []struct {
		name   string
		values map[string]any
		secret func(token string) map[string][]byte
	}{
		{
			name: "FIREBREAK_PRINCIPALS in the Secret",
			secret: func(token string) map[string][]byte {
				return map[string][]byte{"FIREBREAK_PRINCIPALS": []byte(fmt.Sprintf("[{name: bob, token: %s}]", token))}
			},
		},
		{
			name: "a secret reference in config.principals",
			values: map[string]any{"config": map[string]any{
				"principals": []map[string]any{{"name": "bob", "token": `${{ secret("bob-token") }}`}},
			}},
			secret: func(token string) map[string][]byte {
				return map[string][]byte{"FIREBREAK_SECRET_BOB_TOKEN": []byte(token)}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bob := randomToken(t, "bob")
			secret := tc.secret(bob)
			secret["payload-keys.yaml"] = keys
			k, pods := chartPods(t, bin, eng.FrontendAddress(), eng.Namespace(), tc.values, secret)
			c := k.start("fb-api-1", pods["api"])[0]
			base := strings.TrimSuffix(mustProbeURL(t, c), "/healthz")
			deadline := time.Now().Add(30 * time.Second)
			for (&api{t: t, base: base}).tryGet("/readyz", nil) != http.StatusOK {
				if time.Now().After(deadline) {
					t.Fatal("the API never became ready")
				}
				time.Sleep(200 * time.Millisecond)
			}
			if code := (&api{t: t, base: base, token: bob}).do("GET", "/v1/runs", nil, nil); code != http.StatusOK {
				t.Errorf("bob's token from the Secret: HTTP %d, want 200", code)
			}
			for _, token := range []string{alice, "wrong"} {
				if code := (&api{t: t, base: base, token: token}).do("GET", "/v1/runs", nil, nil); code != http.StatusUnauthorized {
					t.Errorf("token %q: HTTP %d, want 401", token, code)
				}
			}
		})
	}
}

// mustProbeURL is the URL of the container's liveness probe.
func mustProbeURL(t *testing.T, c *container) string {
	t.Helper()
	u, err := c.probeURL(c.spec.LivenessProbe.HTTPGet)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
