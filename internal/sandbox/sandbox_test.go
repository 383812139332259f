package sandbox_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/firebreak-ops/firebreak/internal/config"
	"github.com/firebreak-ops/firebreak/internal/sandbox"
)

// alertSink stands in for Firebreak's Alertmanager webhook.
type alertSink struct {
	mu     sync.Mutex
	alerts []map[string]string // labels, plus "status" and "auth"
}

func (s *alertSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var msg struct {
		Alerts []struct {
			Status string            `json:"status"`
			Labels map[string]string `json:"labels"`
		} `json:"alerts"`
	}
	_ = json.NewDecoder(r.Body).Decode(&msg)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range msg.Alerts {
		a.Labels["status"], a.Labels["auth"], a.Labels["path"] = a.Status, r.Header.Get("Authorization"), r.URL.Path
		s.alerts = append(s.alerts, a.Labels)
	}
}

func (s *alertSink) find(name, status string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.alerts {
		if a["alertname"] == name && a["status"] == status {
			return a
		}
	}
	return nil
}

// TestSandbox runs the command `make sandbox` runs, as a newcomer would:
// it comes up and prints its addresses; the cluster runs the catalog's
// workloads; Prometheus has the rules; a crash loop of prod/checkout
// reaches Firebreak's webhook as KubePodCrashLooping with the token
// firebreak.yaml names; Ctrl-C stops everything and removes its files.
func TestSandbox(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "firebreak-sandbox")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/firebreak-sandbox").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	sink := &alertSink{}
	fb := httptest.NewServer(sink)
	t.Cleanup(fb.Close)
	cfgDir := filepath.Join(dir, "state", "sandbox") // state/ too is the sandbox's to remove
	cmd := exec.Command(bin, "--firebreak", fb.URL, "--config-dir", cfgDir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	began := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("sandbox stderr:\n%s", stderr.String())
		}
	})
	vars := map[string]string{}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			vars[k] = v
		}
		if vars["SANDBOX_URL"] != "" {
			break
		}
	}
	go func() {
		_, _ = io.Copy(io.Discard, stdout)
		exited <- cmd.Wait()
	}()
	for _, k := range []string{"KUBECONFIG", "PROMETHEUS_URL", "ALERTMANAGER_URL", "SANDBOX_URL"} {
		if vars[k] == "" {
			t.Fatalf("the sandbox printed no %s= line; it printed %v", k, vars)
		}
	}
	if !filepath.IsAbs(vars["KUBECONFIG"]) {
		t.Errorf("KUBECONFIG=%s: scripts need an absolute path", vars["KUBECONFIG"])
	}
	t.Logf("sandbox up in %s", time.Since(began).Round(100*time.Millisecond))
	ctx := context.Background()

	// The config it wrote points Firebreak at the sandbox.
	cfg, err := config.Load(filepath.Join(cfgDir, "firebreak.yaml"), func(string) string { return "" })
	if err != nil || cfg.Kubernetes.Kubeconfig != vars["KUBECONFIG"] || cfg.Prometheus.URL != vars["PROMETHEUS_URL"] || cfg.Alertmanager.Token == "" {
		t.Fatalf("firebreak.yaml: %v %+v", err, cfg)
	}

	rc, err := clientcmd.BuildConfigFromFlags("", vars["KUBECONFIG"])
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range sandbox.Workloads {
		d, err := cs.AppsV1().Deployments(w.Namespace).Get(ctx, w.Name, metav1.GetOptions{})
		if err != nil || d.Status.AvailableReplicas != w.Replicas {
			t.Fatalf("deployment %s/%s: %v %+v", w.Namespace, w.Name, err, d.Status)
		}
	}
	if _, err := cs.Discovery().ServerResourcesForGroupVersion("chaos-mesh.org/v1alpha1"); err != nil {
		t.Fatalf("Chaos Mesh's kinds are not served: %v", err)
	}

	get := func(u string) string {
		t.Helper()
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	rules := get(vars["PROMETHEUS_URL"] + "/api/v1/rules")
	for _, a := range []string{"KubePodCrashLooping", "HighErrorRate", "CPUSaturation", "slo:error_budget_remaining:ratio"} {
		if !strings.Contains(rules, a) {
			t.Errorf("Prometheus has no rule %s: %s", a, rules)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(get(vars["PROMETHEUS_URL"]+"/api/v1/query?query="+url.QueryEscape(`http_requests_total{namespace="prod",deployment="checkout"}`)), `"value":[`) {
		if time.Now().After(deadline) {
			t.Fatal("Prometheus never scraped checkout's requests")
		}
		time.Sleep(200 * time.Millisecond)
	}

	resp, err := http.Post(vars["SANDBOX_URL"]+"/crashloop/prod/checkout", "", nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("crashloop: %v %v", err, resp)
	}
	resp.Body.Close()
	deadline = time.Now().Add(60 * time.Second)
	var a map[string]string
	for a = sink.find("KubePodCrashLooping", "firing"); a == nil; a = sink.find("KubePodCrashLooping", "firing") {
		if time.Now().After(deadline) {
			t.Fatalf("KubePodCrashLooping never reached Firebreak's webhook; received %v", sink.alerts)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if a["namespace"] != "prod" || a["deployment"] != "checkout" || a["auth"] != "Bearer "+cfg.Alertmanager.Token || a["path"] != "/v1/alerts/alertmanager" {
		t.Errorf("alert %v", a)
	}

	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("the sandbox exited with %v after Ctrl-C", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the sandbox did not stop within 30s of Ctrl-C")
	}
	if _, err := os.Stat(filepath.Dir(cfgDir)); !os.IsNotExist(err) {
		t.Errorf("%s left behind: %v", filepath.Dir(cfgDir), err)
	}
	if _, err := os.Stat(vars["KUBECONFIG"]); !os.IsNotExist(err) {
		t.Errorf("%s left behind", vars["KUBECONFIG"])
	}
	for _, u := range []string{vars["PROMETHEUS_URL"], vars["ALERTMANAGER_URL"], vars["SANDBOX_URL"], rc.Host} {
		pu, _ := url.Parse(u)
		if c, err := net.DialTimeout("tcp", pu.Host, 2*time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after Ctrl-C", u)
		}
	}
}
