package tests

import (
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/firebreak-ops/firebreak/internal/access"
	"github.com/firebreak-ops/firebreak/internal/app"
	"github.com/firebreak-ops/firebreak/internal/config"
	"github.com/firebreak-ops/firebreak/internal/ingress/alertmanager"
	"github.com/firebreak-ops/firebreak/internal/runs"
	"github.com/firebreak-ops/firebreak/internal/testenv"
	"github.com/firebreak-ops/firebreak/runbooks"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// doorsConfig has an operator token, a principal every verb is granted
// to, and one no role names.
func doorsConfig() *config.Config {
	return &config.Config{
		APIToken: "operator",
		Principals: []config.Principal{
			{Token: "tok-all", Name: "root-ish"},
			{Token: "tok-none", Name: "stranger"},
			{Token: "tok-responder", Name: "resp", Groups: []string{"oncall"}},
		},
		Roles: []config.Role{
			{Name: "everything", Verbs: []string{"*"}, Principals: []string{"root-ish"}},
			{Name: "responders", Verbs: []string{"runs.*", "incidents.*", "chaos.read", "chaos.halt", "automation.read", "automation.pause"}, Groups: []string{"oncall"}},
		},
	}
}

// TestEveryRouteAsksThePolicy walks every registered route: with no
// credentials it answers 401 (webhooks refuse unsigned requests too), a
// principal no role names gets 403, one granted every verb is never
// refused for authorization. A route without a declared verb fails.
func TestEveryRouteAsksThePolicy(t *testing.T) {
	cfg := doorsConfig()
	cat, err := runbooks.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	// The route table as the API registers it.
	routes, _ := app.NewAPI(app.Options{Catalog: cat, Config: cfg, Logger: slog.New(slog.DiscardHandler)})
	eng := testenv.Engine(t, t.TempDir())
	fb := testenv.StartFirebreak(t, eng, testenv.Options{Config: cfg})
	if len(routes.Routes()) < 40 {
		t.Fatalf("only %d routes registered", len(routes.Routes()))
	}
	// Console pages sign in with a session; one per token.
	sessions := map[string]*consoleSession{}
	for _, tok := range []string{"tok-none", "tok-all", "operator"} {
		sessions[tok] = newConsoleSession(t, fb.URL, tok)
	}
	pages := 0
	for _, r := range routes.Routes() {
		method, path, _ := strings.Cut(r.Pattern, " ")
		path = strings.NewReplacer("{id}", "no-such-id", "{name}", "no-such-gameday", "{$}", "").Replace(path)
		t.Run(r.Pattern, func(t *testing.T) {
			if len(r.Verbs) == 0 {
				t.Fatalf("%s declares no verb", r.Pattern)
			}
			if r.Page {
				pages++
				checkPage(t, fb.URL, method, path, r.Verbs[0] == access.Public, sessions)
				return
			}
			public := r.Verbs[0] == access.Public
			signed := r.Verbs[0] == access.Signed
			code := (&api{t: t, base: fb.URL}).do(method, path, "{}", nil)
			switch {
			case public:
				if code != http.StatusOK && code != http.StatusServiceUnavailable {
					t.Errorf("no credentials: %d", code)
				}
				return
			case signed:
				if code != http.StatusUnauthorized {
					t.Errorf("unsigned webhook request: %d, want 401", code)
				}
				return
			case code != http.StatusUnauthorized:
				t.Errorf("no credentials: %d, want 401", code)
			}
			if code := (&api{t: t, base: fb.URL, token: "tok-none"}).do(method, path, "{}", nil); code != http.StatusForbidden {
				t.Errorf("principal without a role: %d, want 403", code)
			}
			for _, tok := range []string{"tok-all", "operator"} {
				if code := (&api{t: t, base: fb.URL, token: tok}).do(method, path, "{}", nil); code == http.StatusUnauthorized || code == http.StatusForbidden {
					t.Errorf("%s: refused with %d", tok, code)
				}
			}
		})
	}
	if pages < 25 {
		t.Errorf("only %d console routes registered", pages)
	}
}

// checkPage: a console page sends a visitor without a session to sign
// in (a form without one gets 401), refuses a signed-in principal no role
// names with 403, and lets in one granted every verb and the operator.
// Public ones (sign-in, static files) never ask for a session.
func checkPage(t *testing.T, base, method, path string, public bool, sessions map[string]*consoleSession) {
	anon := newConsoleClient()
	code, loc := anon.send(t, base, method, path, "")
	if public {
		if code == http.StatusUnauthorized {
			t.Errorf("public console route without a session: %d", code)
		}
		return
	}
	switch {
	case method == http.MethodGet && (code != http.StatusSeeOther || !strings.HasPrefix(loc, "/signin?next=")):
		t.Errorf("no session: %d %q, want 303 to the sign-in page", code, loc)
	case method != http.MethodGet && code != http.StatusUnauthorized:
		t.Errorf("form without a session: %d, want 401", code)
	}
	s := sessions["tok-none"]
	if code, _ := s.send(t, base, method, path, s.csrf); code != http.StatusForbidden {
		t.Errorf("principal without a role: %d, want 403", code)
	}
	for _, tok := range []string{"tok-all", "operator"} {
		s := sessions[tok]
		if code, _ := s.send(t, base, method, path, s.csrf); code == http.StatusUnauthorized || code == http.StatusForbidden {
			t.Errorf("%s: refused with %d", tok, code)
		}
		if method != http.MethodGet {
			// The same form without the page's CSRF token is refused.
			if code, _ := s.send(t, base, method, path, ""); code != http.StatusForbidden {
				t.Errorf("%s without the CSRF token: %d, want 403", tok, code)
			}
		}
	}
}

// TestHoldingAHaltIsNotLiftingIt: responders may halt chaos and pause
// automation, never lift either; game days need their verbs and the
// experiments' own spec.access.run; an approval step that lists nobody is
// for the operator alone; paging needs incidents.page.
func TestHoldingAHaltIsNotLiftingIt(t *testing.T) {
	eng := testenv.Engine(t, t.TempDir())
	cfg := doorsConfig()
	cfg.Roles = append(cfg.Roles, config.Role{Name: "gameday-runner", Verbs: []string{"gamedays.*"}, Principals: []string{"stranger"}})
	fb := testenv.StartFirebreak(t, eng, testenv.Options{Config: cfg})
	resp := &api{t: t, base: fb.URL, token: "tok-responder"}
	if code := resp.do("POST", "/v1/chaos/halt", map[string]string{"reason": "sev1"}, nil); code != http.StatusOK {
		t.Fatalf("responder halts chaos: %d", code)
	}
	expectError(t, resp, "POST", "/v1/chaos/resume", map[string]string{}, http.StatusForbidden, "may not chaos.resume")
	if code := resp.do("POST", "/v1/automation/pause", map[string]string{"reason": "sev1"}, nil); code != http.StatusOK {
		t.Fatalf("responder pauses automation: %d", code)
	}
	expectError(t, resp, "POST", "/v1/automation/resume", map[string]string{}, http.StatusForbidden, "may not automation.resume")
	expectError(t, resp, "POST", "/v1/gamedays/weekly-resilience/trigger", map[string]string{}, http.StatusForbidden, "may not gamedays.trigger")
	expectError(t, resp, "POST", "/v1/experiments/runs", map[string]any{"experiment": "pod-kill-checkout"}, http.StatusForbidden, "may not chaos.run")
	// stranger may manage game days, but the experiments in them are not
	// theirs to run.
	stranger := &api{t: t, base: fb.URL, token: "tok-none"}
	expectError(t, stranger, "POST", "/v1/gamedays/weekly-resilience/trigger", map[string]string{}, http.StatusForbidden, "spec.access.run")
	expectError(t, stranger, "POST", "/v1/gamedays/weekly-resilience/unpause", map[string]string{}, http.StatusForbidden, "spec.access.run")
	// Declaring may not page without incidents.page.
	expectError(t, stranger, "POST", "/v1/incidents", map[string]any{"title": "x", "severity": "sev2", "page": true}, http.StatusForbidden, "may not incidents.declare")
	op := &api{t: t, base: fb.URL, token: "operator"}
	for _, p := range []string{"/v1/chaos/resume", "/v1/automation/resume"} {
		if code := op.do("POST", p, map[string]string{"reason": "over", "by": "ops"}, nil); code != http.StatusOK {
			t.Errorf("operator %s: %d", p, code)
		}
	}
}

// TestWebhookNeverOpenByAccident: with principals but no API token and no
// Alertmanager credentials, the Alertmanager webhook refuses every alert
// (it used to take the empty token and accept anything).
func TestWebhookNeverOpenByAccident(t *testing.T) {
	eng := testenv.Engine(t, t.TempDir())
	fb := testenv.StartFirebreak(t, eng, testenv.Options{Config: &config.Config{
		Principals: []config.Principal{{Token: "tok-a", Name: "a"}},
	}})
	body := `{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"KubePodCrashLooping","namespace":"prod","pod":"checkout-1"}}]}`
	for _, tok := range []string{"", "tok-a"} {
		var out map[string]any
		code := (&api{t: t, base: fb.URL, token: tok}).do("POST", alertmanager.Path, body, &out)
		if code != http.StatusUnauthorized || !strings.Contains(fmt.Sprint(out["error"]), "no credentials configured") {
			t.Errorf("token %q: %d %v, want 401 naming the missing credentials", tok, code, out)
		}
	}
}

const openApprovalRunbook = `
apiVersion: firebreak/v1
kind: Runbook
metadata: {name: open-approval}
spec:
  params:
    - {name: target, type: string, required: true}
  concurrency: params.target
  access:
    run: ["@oncall"]
  steps:
    - name: ok
      approval: {timeout: 10m}
    - {name: act, action: log, with: {message: "acting on ${{ params.target }}"}}
`

// TestApprovalWithoutApproversIsTheOperators: a step that lists no
// approvers cannot be decided by any principal (Slack refused already;
// the API did not), only by the operator token.
func TestApprovalWithoutApproversIsTheOperators(t *testing.T) {
	cat := runbooks.NewCatalog()
	p := filepath.Join(t.TempDir(), "open.yaml")
	if err := os.WriteFile(p, []byte(openApprovalRunbook), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := cat.LoadPath(p); err != nil {
		t.Fatal(err)
	}
	eng := testenv.Engine(t, t.TempDir())
	fb := testenv.StartFirebreak(t, eng, testenv.Options{Catalog: cat, Config: doorsConfig()})
	resp := &api{t: t, base: fb.URL, token: "tok-responder"}
	ref := resp.start(runs.StartRequest{Runbook: "open-approval", Params: fmtParams("target", "db")})
	op := &api{t: t, base: fb.URL, token: "operator"}
	op.waitFor(ref.ID, "waiting", func(s *runwire.RunState) bool { return s.Status == runwire.StatusWaitingApproval })
	expectError(t, resp, "POST", runURL(ref.ID)+"/approvals", map[string]any{"step": "ok", "approve": true}, http.StatusForbidden, "only the operator token may decide")
	expectError(t, resp, "POST", runURL(ref.ID)+"/approvals", map[string]any{"step": "ok", "approve": true, "operator": true}, http.StatusForbidden, "only the operator token may decide")
	if code := op.do("POST", runURL(ref.ID)+"/approvals", map[string]any{"step": "ok", "approve": true, "by": "ops-lead"}, nil); code != http.StatusOK {
		t.Fatalf("operator approval: %d", code)
	}
	if st := op.waitFor(ref.ID, "done", func(s *runwire.RunState) bool { return s.Done() }); st.Status != runwire.StatusSucceeded {
		t.Fatalf("run %+v", st)
	}
}
