package tests

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/firebreak-ops/firebreak/internal/cli"
	"github.com/firebreak-ops/firebreak/internal/testenv"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

func runCLI(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := cli.Main(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestValidate(t *testing.T) {
	code, out, errOut := runCLI("validate", "../runbooks/catalog/", "../experiments/catalog/")
	if code != 0 || !strings.Contains(out, "ok: 6 runbook(s), 2 experiment(s), 1 game day(s) valid") {
		t.Fatalf("catalog: exit %d\n%s%s", code, out, errOut)
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("apiVersion: firebreak/v1\nkind: Runbook\nmetadata: {name: bad}\nspec:\n  steps:\n    - name: a\n      when: params.nope\n      action: log\n      with: {message: x}\n    - {name: b, action: nope}\n"), 0o600)
	code, _, errOut = runCLI("validate", dir)
	want := []string{
		bad + `:7:19: step "a": when: undefined field 'nope'`,
		bad + `:10:25: step "b": unknown action "nope"`,
		"2 error(s)",
	}
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	for _, w := range want {
		if !strings.Contains(errOut, w) {
			t.Errorf("missing %q in:\n%s", w, errOut)
		}
	}
}

func TestCLIRunWait(t *testing.T) {
	eng := testenv.Engine(t, t.TempDir())
	fb := testenv.StartFirebreak(t, eng, testenv.Options{})
	code, out, errOut := runCLI("--server", fb.URL, "run", "hello-world", "--param", "name=ops", "--param", "times=2", "--wait")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	for _, w := range []string{"started runbook:hello-world:ops", "✓ greet", "✓ shout", "↷ confirm", "skipped — when: params.times > 3 is false", "run runbook:hello-world:ops succeeded"} {
		if !strings.Contains(out, w) {
			t.Errorf("missing %q in:\n%s", w, out)
		}
	}
	code, out, _ = runCLI("--server", fb.URL, "runs", "list")
	if code != 0 || !strings.Contains(out, "runbook:hello-world:ops") || !strings.Contains(out, "succeeded") {
		t.Fatalf("runs list: %d\n%s", code, out)
	}
	code, _, errOut = runCLI("--server", fb.URL, "run", "hello-world", "--param", "times=2")
	if code != 1 || !strings.Contains(errOut, "params.name: is required (HTTP 400)") {
		t.Fatalf("bad params: exit %d %s", code, errOut)
	}
	// A failing run exits non-zero: deny its approval from a second CLI call.
	done := make(chan struct{})
	var runOut string
	var runCode int
	go func() {
		runCode, runOut, _ = runCLI("--server", fb.URL, "run", "hello-world", "--param", "name=deny-me", "--param", "times=4", "--wait")
		close(done)
	}()
	a := &api{t: t, base: fb.URL}
	a.waitFor("runbook:hello-world:deny-me", "waiting", func(s *runwire.RunState) bool { return s.Status == "waiting_approval" })
	time.Sleep(time.Second) // let the following CLI see the wait and print its hint
	if code, out, errOut := runCLI("--server", fb.URL, "runs", "deny", "runbook:hello-world:deny-me", "confirm", "--by", "bob", "--comment", "no"); code != 0 {
		t.Fatalf("deny: %d %s %s", code, out, errOut)
	}
	<-done
	if runCode != 1 || !strings.Contains(runOut, "denied by bob: no") || !strings.Contains(runOut, "firebreak runs approve runbook:hello-world:deny-me confirm") {
		t.Fatalf("denied run: exit %d\n%s", runCode, runOut)
	}
}
