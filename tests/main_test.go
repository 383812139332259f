package tests

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/firebreak-ops/firebreak/internal/testenv"
)

// cluster is the package's one control plane with Chaos Mesh's real
// controller, shared by the chaos tests; each uses namespaces of its own.
var cluster testenv.Shared

func TestMain(m *testing.M) {
	code := m.Run()
	cluster.Stop(code != 0)
	if binPath != "" {
		_ = os.RemoveAll(filepath.Dir(binPath)) // firebreakBinary's build
	}
	os.Exit(code)
}
