package sandbox

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// Rules are the Prometheus rules for the alerts the shipped runbooks
// trigger on, over the metrics Metrics exports, and the error-budget
// series network-latency-cart's precondition reads.
const Rules = `groups:
  - name: firebreak-sandbox
    rules:
      - alert: KubePodCrashLooping
        expr: sum by (namespace, deployment) (increase(kube_pod_container_status_restarts_total[1m])) > 0
        labels: {severity: warning}
        annotations:
          summary: '{{ $labels.namespace }}/{{ $labels.deployment }} is crash-looping'
      - alert: HighErrorRate
        expr: >-
          100 * sum by (namespace, deployment) (rate(http_requests_total{code=~"5.."}[1m]))
          / sum by (namespace, deployment) (rate(http_requests_total[1m])) > 5
        labels: {severity: critical}
        annotations:
          summary: '{{ $labels.namespace }}/{{ $labels.deployment }} answers {{ $value | printf "%.0f" }}% 5xx'
      - alert: CPUSaturation
        expr: max by (namespace, deployment) (sandbox_cpu_utilization_ratio) > 0.9
        labels: {severity: warning}
        annotations:
          summary: '{{ $labels.namespace }}/{{ $labels.deployment }} uses {{ $value | humanizePercentage }} CPU'
      - record: slo:error_budget_remaining:ratio
        expr: >-
          label_replace(clamp_min(1 - (sum by (app) (rate(http_requests_total{namespace="prod",code=~"5.."}[5m]))
          / sum by (app) (rate(http_requests_total{namespace="prod"}[5m]))) / 0.01, 0), "service", "$1", "app", "(.*)")
`

// Metrics exports, for each workload, what the catalog's runbooks and
// experiments query (http_requests_total by namespace, deployment, app
// and code; kube_pod_container_status_restarts_total by pod;
// sandbox_cpu_utilization_ratio), and serves switches that break a
// workload: a crash loop of its current pods (a rollout restart heals
// it: new pods do not crash), a 5xx ratio, CPU saturation.
type Metrics struct {
	cs        kubernetes.Interface
	workloads []Workload
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	restarts  *prometheus.CounterVec
	cpu       *prometheus.GaugeVec

	mu       sync.Mutex
	errRatio map[string]float64
	cpuRatio map[string]float64
	crashing map[types.UID]crashingPod
	stop     chan struct{}
	stopOnce sync.Once
	done     sync.WaitGroup
}

type crashingPod struct{ namespace, name, deployment string }

// NewMetrics returns an exporter for workloads; Start starts its clock.
func NewMetrics(cs kubernetes.Interface, workloads []Workload) *Metrics {
	m := &Metrics{
		cs: cs, workloads: workloads, reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "http_requests_total", Help: "Requests served, by workload and status code."},
			[]string{"namespace", "deployment", "app", "code"}),
		restarts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kube_pod_container_status_restarts_total", Help: "Container restarts, by pod."},
			[]string{"namespace", "pod", "container", "deployment"}),
		cpu: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "sandbox_cpu_utilization_ratio", Help: "CPU used over CPU requested, by workload."},
			[]string{"namespace", "deployment"}),
		errRatio: map[string]float64{}, cpuRatio: map[string]float64{}, crashing: map[types.UID]crashingPod{},
		stop: make(chan struct{}),
	}
	m.reg.MustRegister(m.requests, m.restarts, m.cpu)
	return m
}

func key(namespace, deployment string) string { return namespace + "/" + deployment }

// Start ticks every second: traffic for every workload, restarts for
// crash-looping pods.
func (m *Metrics) Start() {
	m.done.Add(1)
	go func() {
		defer m.done.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			m.tick()
			select {
			case <-m.stop:
				return
			case <-t.C:
			}
		}
	}()
}

// Stop stops the clock.
func (m *Metrics) Stop() {
	m.stopOnce.Do(func() { close(m.stop) })
	m.done.Wait()
}

func (m *Metrics) tick() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, w := range m.workloads {
		k := key(w.Namespace, w.Name)
		const perSecond = 100
		bad := int(m.errRatio[k]*perSecond + 0.5)
		m.requests.WithLabelValues(w.Namespace, w.Name, w.Name, "200").Add(float64(perSecond - bad))
		m.requests.WithLabelValues(w.Namespace, w.Name, w.Name, "500").Add(float64(bad))
		ratio := m.cpuRatio[k]
		if ratio == 0 {
			ratio = 0.35
		}
		m.cpu.WithLabelValues(w.Namespace, w.Name).Set(ratio)
	}
	if len(m.crashing) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for uid, p := range m.crashing {
		pod, err := m.cs.CoreV1().Pods(p.namespace).Get(ctx, p.name, metav1.GetOptions{})
		if err != nil || pod.UID != uid || pod.DeletionTimestamp != nil {
			// Replaced (a rollout restart) or gone: its series goes stale.
			m.restarts.DeleteLabelValues(p.namespace, p.name, "app", p.deployment)
			delete(m.crashing, uid)
			continue
		}
		m.restarts.WithLabelValues(p.namespace, p.name, "app", p.deployment).Inc()
	}
}

// CrashLoop makes the workload's current pods restart every second until
// they are replaced.
func (m *Metrics) CrashLoop(ctx context.Context, namespace, deployment string) (int, error) {
	pods, err := m.cs.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: "app=" + deployment})
	if err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil {
			m.crashing[p.UID] = crashingPod{namespace, p.Name, deployment}
			m.restarts.WithLabelValues(namespace, p.Name, "app", deployment).Add(0)
			n++
		}
	}
	if n == 0 {
		return 0, fmt.Errorf("no pods of %s/%s", namespace, deployment)
	}
	return n, nil
}

// SetErrorRatio sets the share of the workload's requests that fail.
func (m *Metrics) SetErrorRatio(namespace, deployment string, ratio float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.errRatio[key(namespace, deployment)] = ratio
}

// SetCPU sets the workload's CPU utilization (0-1).
func (m *Metrics) SetCPU(namespace, deployment string, ratio float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cpuRatio[key(namespace, deployment)] = ratio
}

// Heal ends every fault of the workload.
func (m *Metrics) Heal(namespace, deployment string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.errRatio, key(namespace, deployment))
	delete(m.cpuRatio, key(namespace, deployment))
	for uid, p := range m.crashing {
		if p.namespace == namespace && p.deployment == deployment {
			delete(m.crashing, uid)
		}
	}
}

func (m *Metrics) known(namespace, deployment string) bool {
	for _, w := range m.workloads {
		if w.Namespace == namespace && w.Name == deployment {
			return true
		}
	}
	return false
}

// Handler serves /metrics and the switches:
//
//	POST /crashloop/{namespace}/{deployment}
//	POST /errors/{namespace}/{deployment}?ratio=0.3
//	POST /cpu/{namespace}/{deployment}?ratio=0.95
//	POST /heal/{namespace}/{deployment}
//	GET  /healthz/{namespace}/{deployment}   (503 while its 5xx ratio is above 5%)
func (m *Metrics) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	target := func(h func(w http.ResponseWriter, r *http.Request, ns, name string)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			ns, name := r.PathValue("namespace"), r.PathValue("deployment")
			if !m.known(ns, name) {
				http.Error(w, fmt.Sprintf("the sandbox runs no workload %s/%s", ns, name), http.StatusNotFound)
				return
			}
			h(w, r, ns, name)
		}
	}
	ratio := func(r *http.Request, def float64) (float64, error) {
		s := r.URL.Query().Get("ratio")
		if s == "" {
			return def, nil
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || v < 0 || v > 1 {
			return 0, fmt.Errorf("ratio %q: want a number from 0 to 1", s)
		}
		return v, nil
	}
	mux.HandleFunc("POST /crashloop/{namespace}/{deployment}", target(func(w http.ResponseWriter, r *http.Request, ns, name string) {
		n, err := m.CrashLoop(r.Context(), ns, name)
		if err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		fmt.Fprintf(w, "%s/%s: %d pods crash-loop until they are replaced (a rollout restart heals them)\n", ns, name, n)
	}))
	mux.HandleFunc("POST /errors/{namespace}/{deployment}", target(func(w http.ResponseWriter, r *http.Request, ns, name string) {
		v, err := ratio(r, 0.3)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		m.SetErrorRatio(ns, name, v)
		fmt.Fprintf(w, "%s/%s: %.0f%% of requests fail\n", ns, name, v*100)
	}))
	mux.HandleFunc("POST /cpu/{namespace}/{deployment}", target(func(w http.ResponseWriter, r *http.Request, ns, name string) {
		v, err := ratio(r, 0.95)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		m.SetCPU(ns, name, v)
		fmt.Fprintf(w, "%s/%s: CPU at %.0f%%\n", ns, name, v*100)
	}))
	mux.HandleFunc("POST /heal/{namespace}/{deployment}", target(func(w http.ResponseWriter, _ *http.Request, ns, name string) {
		m.Heal(ns, name)
		fmt.Fprintf(w, "%s/%s: healthy\n", ns, name)
	}))
	mux.HandleFunc("GET /healthz/{namespace}/{deployment}", target(func(w http.ResponseWriter, _ *http.Request, ns, name string) {
		m.mu.Lock()
		bad := m.errRatio[key(ns, name)] > 0.05
		m.mu.Unlock()
		if bad {
			http.Error(w, "unhealthy", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	}))
	return mux
}
