package testenv

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
)

// ChaosMeshNamespace is the namespace Chaos Mesh's controller calls its
// own (NAMESPACE); StartChaosMesh creates it.
const ChaosMeshNamespace = "chaos-mesh"

// ChaosMeshRealKinds are the Chaos Mesh faults the real controller injects
// here, with no chaos-daemon: PodChaos pod-kill and pod-failure act
// through the API server alone. Every other kind and action (NetworkChaos,
// StressChaos, IOChaos, HTTPChaos, TimeChaos, container-kill, …) needs
// chaos-daemon on a real node and is exercised only against the stand-in
// ChaosController.
var ChaosMeshRealKinds = []string{"PodChaos/pod-kill", "PodChaos/pod-failure"}

// ChaosMesh is Chaos Mesh's real chaos-controller-manager, built by `make
// test-deps` from the chaos-mesh module (see ChaosMeshBinary), running
// against a KubeEnv: every controller, cluster-scoped, no leader election,
// no security mode. It serves no webhook the API server calls (none is
// registered; its webhook server listens on loopback with a self-signed
// pair because it always starts one), so nothing defaults or validates a
// spec: Firebreak sets selector.namespaces and mode itself. With no
// chaos-daemon, only ChaosMeshRealKinds can be injected.
type ChaosMesh struct {
	kube *KubeEnv
	bin  string
	dir  string
	log  string
	// scope is the one namespace it watches, or "" for the whole cluster.
	scope string

	mu     sync.Mutex
	proc   *kubeProc
	starts int
}

// ChaosMeshBinary is the chaos-controller-manager the Makefile builds:
// $FIREBREAK_CHAOSMESH_BIN, or the newest chaosmesh-<version> in the tool
// cache (ToolCache).
func ChaosMeshBinary() (string, error) {
	if p := os.Getenv("FIREBREAK_CHAOSMESH_BIN"); p != "" {
		return p, nil
	}
	if p := cachedTool("chaosmesh-*", "chaos-controller-manager"); p != "" {
		return p, nil
	}
	return "", fmt.Errorf("no chaos-controller-manager in %s: run `make test-deps` (or the tests through `make test`)", ToolCache())
}

// StartChaosMesh installs Chaos Mesh's CRDs in k (the same version as the
// controller) and starts the real controller, cluster-scoped, waiting
// until it reconciles. It stops with k (KubeEnv.Stop) or with Stop. Run
// one per cluster.
func StartChaosMesh(k *KubeEnv) (*ChaosMesh, error) { return startChaosMesh(k, "") }

// StartChaosMeshIn is StartChaosMesh for one namespace (Chaos Mesh's
// TARGET_NAMESPACE): it leaves every other namespace alone, so the
// stand-in ChaosController can run beside it on the same cluster
// (RunChaosController with that namespace skipped).
func StartChaosMeshIn(k *KubeEnv, namespace string) (*ChaosMesh, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := k.EnsureNamespace(ctx, namespace); err != nil {
		return nil, err
	}
	return startChaosMesh(k, namespace)
}

func startChaosMesh(k *KubeEnv, scope string) (*ChaosMesh, error) {
	bin, err := ChaosMeshBinary()
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(bin); err != nil || st.IsDir() {
		return nil, fmt.Errorf("%s not found: run `make test-deps` (it builds chaos-controller-manager into its tool cache)", bin)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := ApplyChaosMeshCRDs(ctx, k.Config); err != nil {
		return nil, err
	}
	if _, err := k.Clientset.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ChaosMeshNamespace}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("creating namespace %s: %w", ChaosMeshNamespace, err)
	}
	dir := filepath.Join(k.dir, "chaos-mesh")
	if err := os.MkdirAll(filepath.Join(dir, "certs"), 0o700); err != nil {
		return nil, err
	}
	if err := writeSelfSignedPair(filepath.Join(dir, "certs")); err != nil {
		return nil, err
	}
	c := &ChaosMesh{kube: k, bin: bin, dir: dir, log: filepath.Join(k.dir, "chaos-controller-manager.log"), scope: scope}
	k.attach(c.Stop, c.Logs)
	if err := c.Restart(); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

// StartChaosMeshT is StartChaosMesh in a test: it fails the test on error
// and stops the controller when the test ends, printing its log if the
// test failed.
func StartChaosMeshT(t testing.TB, k *KubeEnv) *ChaosMesh {
	t.Helper()
	c, err := StartChaosMesh(k)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(c.Logs())
		}
		c.Stop()
	})
	return c
}

// Restart starts the controller if it is not running and waits until it
// reconciles: a PodChaos it gets the finalizer on and lets go of.
func (c *ChaosMesh) Restart() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc != nil {
		select {
		case <-c.proc.done:
		default:
			return nil
		}
	}
	ports, err := kubeFreePorts(2)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(c.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	c.starts++
	fmt.Fprintf(f, "----- start %d at %s -----\n", c.starts, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(c.bin, "-kubeconfig="+c.kube.Kubeconfig)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(),
		"KUBECONFIG="+c.kube.Kubeconfig,
		"CERTS_DIR="+filepath.Join(c.dir, "certs"),
		"WEBHOOK_HOST=127.0.0.1", fmt.Sprintf("WEBHOOK_PORT=%d", ports[0]),
		"METRICS_HOST=127.0.0.1", fmt.Sprintf("METRICS_PORT=%d", ports[1]),
		"PPROF_ADDR=0",
		"ENABLE_LEADER_ELECTION=false",
		"NAMESPACE="+ChaosMeshNamespace,
		"SECURITY_MODE=false",
		"CHAOSD_SECURITY_MODE=false",
		fmt.Sprintf("CLUSTER_SCOPED=%t", c.scope == ""),
		"TARGET_NAMESPACE="+c.scope,
		// Every controller: a subset silently stops later kinds.
		"ENABLED_CONTROLLERS=*",
		// The handlers need the API server to call them; none is
		// registered, so serve none.
		"ENABLED_WEBHOOKS=",
		"QPS=200", "BURST=400",
	)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("starting chaos-controller-manager: %w", err)
	}
	p := &kubeProc{name: "chaos-controller-manager", cmd: cmd, log: c.log, done: make(chan struct{})}
	c.proc = p
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	if err := c.waitReconciling(p, 90*time.Second); err != nil {
		return fmt.Errorf("%w\n----- chaos-controller-manager -----\n%s", err, kubeTail(c.log, 40))
	}
	return nil
}

// Kill kills the controller with SIGKILL, as a crash or an evicted pod
// would, and waits until it is gone. Restart brings it back.
func (c *ChaosMesh) Kill() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc == nil {
		return
	}
	_ = syscall.Kill(-c.proc.cmd.Process.Pid, syscall.SIGKILL)
	<-c.proc.done
}

// Stop kills the controller. It is safe to call more than once.
func (c *ChaosMesh) Stop() { c.Kill() }

// Running reports whether the controller process is alive.
func (c *ChaosMesh) Running() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc == nil {
		return false
	}
	select {
	case <-c.proc.done:
		return false
	default:
		return true
	}
}

// Starts counts the controller's starts, restarts included.
func (c *ChaosMesh) Starts() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.starts
}

// Logs returns the last lines of the controller's log.
func (c *ChaosMesh) Logs() string {
	return fmt.Sprintf("----- chaos-controller-manager (%s) -----\n%s", c.log, kubeTail(c.log, 60))
}

// waitReconciling creates a PodChaos selecting nothing in
// ChaosMeshNamespace (or the namespace it is scoped to), waits for the
// controller's finalizer on it, deletes it and waits until the controller
// has let it go.
func (c *ChaosMesh) waitReconciling(p *kubeProc, timeout time.Duration) error {
	dyn, err := dynamic.NewForConfig(c.kube.Config)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	ns := ChaosMeshNamespace
	if c.scope != "" {
		ns = c.scope
	}
	res := dyn.Resource(ChaosMeshGroupVersion.WithResource("podchaos")).Namespace(ns)
	name := fmt.Sprintf("testenv-ready-%d", c.starts)
	probe := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": ChaosMeshGroupVersion.String(), "kind": "PodChaos",
		"metadata": map[string]any{"name": name, "namespace": ns},
		"spec": map[string]any{
			"action": "pod-kill", "mode": "one",
			"selector": map[string]any{
				"namespaces":     []any{ns},
				"labelSelectors": map[string]any{"firebreak.dev/testenv-ready": "none"},
			},
		},
	}}
	if _, err := res.Create(ctx, probe, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("chaos-controller-manager readiness probe: %w", err)
	}
	poll := func(what string, check func() error) error {
		var last error
		for {
			if last = check(); last == nil {
				return nil
			}
			select {
			case <-p.done:
				return fmt.Errorf("waiting for chaos-controller-manager %s: it exited: %v", what, p.err)
			case <-ctx.Done():
				return fmt.Errorf("timed out after %s waiting for chaos-controller-manager %s: %v", timeout, what, last)
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	if err := poll("to add its finalizer to PodChaos "+name, func() error {
		u, err := res.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if !slices.Contains(u.GetFinalizers(), ChaosFinalizer) {
			return errors.New("no finalizer yet")
		}
		return nil
	}); err != nil {
		return err
	}
	if err := res.Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	return poll("to release PodChaos "+name, func() error {
		_, err := res.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		return errors.New("still there")
	})
}

// writeSelfSignedPair writes tls.crt and tls.key for 127.0.0.1 into dir.
func writeSelfSignedPair(dir string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "chaos-mesh-controller-manager"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour * 365),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "tls.key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
}
