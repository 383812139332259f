package testenv

import (
	"fmt"
	"os"
	"sync"
	"testing"
	"time"
)

// Shared is one control plane for a whole test package, started by the
// first test that asks for it, with Chaos Mesh's real controller once a
// test asks for that. Declare one as a package variable and call Stop
// from TestMain:
//
//	var cluster testenv.Shared
//
//	func TestMain(m *testing.M) { code := m.Run(); cluster.Stop(code != 0); os.Exit(code) }
//
// Tests that share it must not step on each other: each uses namespaces
// of its own.
type Shared struct {
	kubeOnce  sync.Once
	kube      *KubeEnv
	kubeErr   error
	chaosOnce sync.Once
	chaos     *ChaosMesh
	chaosErr  error
}

// Kube returns the package's control plane, starting it on first use.
func (s *Shared) Kube(t testing.TB) *KubeEnv {
	t.Helper()
	s.kubeOnce.Do(func() {
		start := time.Now()
		s.kube, s.kubeErr = StartKube()
		if s.kubeErr == nil {
			t.Logf("shared control plane ready in %s", time.Since(start).Round(100*time.Millisecond))
		}
	})
	if s.kubeErr != nil {
		t.Fatal(s.kubeErr)
	}
	return s.kube
}

// ChaosMesh returns the package's control plane with Chaos Mesh's CRDs and
// real controller (StartChaosMesh), starting them on first use. The
// controller is running when it returns: a test that killed it restarts
// it.
func (s *Shared) ChaosMesh(t testing.TB) (*KubeEnv, *ChaosMesh) {
	t.Helper()
	k := s.Kube(t)
	s.chaosOnce.Do(func() {
		start := time.Now()
		s.chaos, s.chaosErr = StartChaosMesh(k)
		if s.chaosErr == nil {
			t.Logf("Chaos Mesh CRDs and controller ready in %s", time.Since(start).Round(100*time.Millisecond))
		}
	})
	if s.chaosErr != nil {
		t.Fatal(s.chaosErr)
	}
	if err := s.chaos.Restart(); err != nil {
		t.Fatal(err)
	}
	return k, s.chaos
}

// ChaosMeshStarted reports whether a test has asked for Chaos Mesh.
func (s *Shared) ChaosMeshStarted() bool { return s.chaos != nil || s.chaosErr != nil }

// Stop stops everything started, printing the processes' logs first when
// failed is true.
func (s *Shared) Stop(failed bool) {
	if s.kube == nil {
		return
	}
	if failed {
		fmt.Fprintln(os.Stderr, s.kube.Logs())
	}
	s.kube.Stop()
}
