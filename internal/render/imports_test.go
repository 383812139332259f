package render_test

import (
	"testing"

	"github.com/firebreak-ops/firebreak/internal/golist"
)

// TestRenderersArePure checks what the render packages import: no
// activity, no workflow code besides the wire types, no Temporal SDK, and
// nothing that does I/O, so services, transports and activities alike can
// render without linking one another.
func TestRenderersArePure(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	pkgs, err := golist.List(".", false, "./...")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pkgs {
		for _, imp := range p.Imports {
			switch {
			case under(imp, module+"/activities"),
				under(imp, module+"/workflows") && !under(imp, module+"/workflows/wire"),
				under(imp, "go.temporal.io"),
				under(imp, "os"), imp == "net", under(imp, "net/http"), under(imp, "io/fs"):
				t.Errorf("%s imports %s", p.ImportPath, imp)
			}
		}
	}
}

// under and module are golist's, shorter.
var under = golist.Under

const module = golist.Module
