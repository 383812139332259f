package render_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// module is the project's own module path.
const module = "github.com/firebreak-ops/firebreak"

// TestRenderersArePure checks what the render packages import: no
// activity, no workflow code besides the wire types, no Temporal SDK, and
// nothing that does I/O, so services, transports and activities alike can
// render without linking one another.
func TestRenderersArePure(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	var stderr bytes.Buffer
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports", "./...")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	n := 0
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		n++
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
	if n == 0 {
		t.Fatal("go list reported no packages")
	}
}

// under reports whether path is pkg or a package below it.
func under(path, pkg string) bool {
	return path == pkg || strings.HasPrefix(path, pkg+"/")
}
