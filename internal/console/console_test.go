package console_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/firebreak-ops/firebreak/experiments/plan"
	"github.com/firebreak-ops/firebreak/internal/access"
	"github.com/firebreak-ops/firebreak/internal/chaos"
	"github.com/firebreak-ops/firebreak/internal/console"
	"github.com/firebreak-ops/firebreak/internal/incidents"
	"github.com/firebreak-ops/firebreak/internal/ingress"
	"github.com/firebreak-ops/firebreak/internal/runs"
	"github.com/firebreak-ops/firebreak/runbooks"
	automationwire "github.com/firebreak-ops/firebreak/workflows/wire/automation"
	chaoswire "github.com/firebreak-ops/firebreak/workflows/wire/chaos"
	incidentwire "github.com/firebreak-ops/firebreak/workflows/wire/incident"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

const hostile = `<script>alert(1)</script>`

var t0 = time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC)

type fakeRuns struct{ approved []runwire.ApprovalRequest }

func (f *fakeRuns) Runbooks() []runbooks.Summary { return []runbooks.Summary{{Name: "restart"}} }
func (f *fakeRuns) ListRuns(_ context.Context, fl runs.Filter) ([]runs.Summary, error) {
	st := runwire.StatusWaitingApproval
	if fl.Status != "" {
		st = fl.Status
	}
	return []runs.Summary{{Ref: runs.Ref{ID: "runbook:restart:prod", Name: "run-abc", Runbook: "restart", Status: st, Key: hostile}, Trigger: "cli", StartedAt: t0}}, nil
}
func (f *fakeRuns) ListRunsPage(ctx context.Context, fl runs.Filter, token []byte) ([]runs.Summary, []byte, error) {
	list, _ := f.ListRuns(ctx, fl)
	if string(token) == "token" {
		return list, []byte("next"), nil
	}
	return list, nil, nil
}
func (f *fakeRuns) OpenRunState(ctx context.Context, id string) (*runwire.RunState, error) {
	return f.GetRun(ctx, id, "")
}

func (f *fakeRuns) GetRun(_ context.Context, id, _ string) (*runwire.RunState, error) {
	if id != "runbook:restart:prod" {
		return nil, access.Errorf(access.NotFound, "id", "no run %q", id)
	}
	started := t0.Add(time.Second)
	return &runwire.RunState{ID: id, Name: "run-abc", Runbook: "restart", Status: runwire.StatusWaitingApproval, Trigger: "cli",
		RequestedBy: "bob", Params: map[string]any{"target": hostile}, StartedAt: t0,
		Steps: []runwire.StepState{
			{Name: "check", Kind: "action", Action: "log", Status: runwire.StepSucceeded, StartedAt: &started, FinishedAt: &started,
				Decision: &runwire.Decision{Expression: "params.target != ''", Result: true, Inputs: map[string]any{"params.target": hostile}}},
			{Name: "ok", Kind: "approval", Status: runwire.StepWaitingApproval, StartedAt: &started,
				Approval: &runwire.ApprovalState{Approvers: []string{"alice"}, Timeout: "10m", OnTimeout: "abort", Deadline: t0.Add(10 * time.Minute)}},
		},
		Alerts: []runwire.AlertRecord{{Source: "alertmanager", Fingerprint: "f1", Status: "firing", Labels: map[string]string{"alertname": "Down"}, Count: 3, FirstAt: t0, LastAt: t0}},
	}, nil
}
func (f *fakeRuns) Approve(_ context.Context, _ string, req runwire.ApprovalRequest) (*runwire.ApprovalState, error) {
	f.approved = append(f.approved, req)
	return &runwire.ApprovalState{Decision: runwire.DecisionApproved, By: req.By}, nil
}
func (f *fakeRuns) Cancel(context.Context, string, *access.Principal) error { return nil }

type fakeIncidents struct{}

func (fakeIncidents) DeclareIncident(_ context.Context, req incidentwire.DeclareRequest, _ string) (*incidentwire.Incident, error) {
	return &incidentwire.Incident{ID: "INC-1", Title: req.Title}, nil
}
func (fakeIncidents) ListIncidents(context.Context, incidents.Filter) ([]incidentwire.IncidentSummary, error) {
	return []incidentwire.IncidentSummary{{ID: "INC-1", Title: hostile, Severity: "sev2", Status: "investigating", DeclaredAt: t0}}, nil
}
func (fakeIncidents) GetIncident(_ context.Context, id string) (*incidentwire.Incident, error) {
	return &incidentwire.Incident{ID: id, Title: hostile, Severity: "sev2", Status: "investigating", DeclaredAt: t0, DeclaredBy: "alice",
		Links:    []incidentwire.Link{{Kind: "link", Title: "js", URL: "javascript:alert(1)"}},
		Timeline: []incidentwire.TimelineEntry{{At: t0, Kind: "declared", By: "alice", Text: "declared"}, {At: t0, Kind: "note", Text: hostile}}}, nil
}
func (fakeIncidents) IncidentCommand(_ context.Context, id string, cmd incidentwire.IncidentCommand) (*incidentwire.CommandResult, error) {
	return &incidentwire.CommandResult{ID: id}, nil
}
func (fakeIncidents) IncidentPostmortem(_ context.Context, id string) (*incidentwire.PostmortemResult, error) {
	return &incidentwire.PostmortemResult{ID: id, Markdown: "# Postmortem"}, nil
}

type fakeChaos struct{}

func (fakeChaos) ExperimentList() []plan.Summary {
	return []plan.Summary{{Name: "pod-kill", Fault: "PodChaos"}}
}
func (fakeChaos) ListExperimentRuns(context.Context, int) ([]chaos.ExperimentRunSummary, error) {
	return []chaos.ExperimentRunSummary{{ID: "experiment:pod-kill:x1", Experiment: "pod-kill", Status: "completed", StartedAt: t0}}, nil
}
func (fakeChaos) GetExperimentRun(_ context.Context, id string) (*chaoswire.ExperimentState, error) {
	return &chaoswire.ExperimentState{ID: id, Experiment: "pod-kill", Status: "completed", Verdict: "passed", StartedAt: t0,
		Phases: []chaoswire.Phase{{Name: "inject", Status: "ok", At: t0}}}, nil
}
func (fakeChaos) ExperimentReport(context.Context, string) (string, error) { return "# Report", nil }
func (fakeChaos) ExperimentChart(context.Context, string) (string, error)  { return "<svg/>", nil }
func (fakeChaos) AbortExperiment(context.Context, string, chaoswire.ChaosHalt) error {
	return nil
}
func (fakeChaos) ChaosState(context.Context) (*chaoswire.ChaosState, error) {
	return &chaoswire.ChaosState{Running: []string{}}, nil
}
func (fakeChaos) HaltChaos(_ context.Context, h chaoswire.ChaosHalt) (*chaoswire.ChaosState, error) {
	return &chaoswire.ChaosState{Halted: true, By: h.By}, nil
}
func (fakeChaos) ResumeChaos(context.Context, chaoswire.ChaosHalt) (*chaoswire.ChaosState, error) {
	return &chaoswire.ChaosState{}, nil
}
func (fakeChaos) ListGameDays(context.Context) ([]chaos.GameDaySummary, error) {
	return []chaos.GameDaySummary{{Name: "weekly", Schedule: "0 10 * * 2", Experiments: []string{"pod-kill"}, Exists: true}}, nil
}
func (fakeChaos) GameDayControl(context.Context, string, string, *access.Principal, string, string) (*chaos.GameDaySummary, error) {
	return &chaos.GameDaySummary{}, nil
}
func (fakeChaos) GetGameDayRun(_ context.Context, id string) (*chaoswire.GameDayState, error) {
	return &chaoswire.GameDayState{ID: id, GameDay: "weekly", Status: "completed", Score: 66.6,
		Results: []chaoswire.GameDayResult{{Experiment: "pod-kill", Verdict: "passed", Weight: 2}}}, nil
}
func (fakeChaos) GameDayReport(context.Context, string) (string, error) { return "# Game day", nil }

type fakeAutomation struct{}

func (fakeAutomation) AutomationState(context.Context) (*automationwire.AutomationState, error) {
	return &automationwire.AutomationState{Suppressed: []automationwire.Suppression{{At: t0, Runbook: "restart", Reason: hostile}}}, nil
}
func (fakeAutomation) Pause(context.Context, automationwire.SwitchRequest) (*automationwire.AutomationState, error) {
	return &automationwire.AutomationState{Paused: true}, nil
}
func (fakeAutomation) Resume(context.Context, automationwire.SwitchRequest) (*automationwire.AutomationState, error) {
	return &automationwire.AutomationState{}, nil
}

// server is an API with the console on fakes: alice may approve (the
// step lists her), bob only reads.
func server(t *testing.T) (*httptest.Server, *fakeRuns) {
	pol, err := access.NewPolicy([]access.Role{
		{Name: "responders", Verbs: []string{"*"}, Principals: []string{"alice"}},
		{Name: "readers", Verbs: []string{"runs.read", "incidents.read", "chaos.read", "automation.read"}, Principals: []string{"bob"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	api := ingress.New(ingress.Options{Token: "op", Policy: pol, Principals: []ingress.Principal{{Token: "tok-alice", Name: "alice"}, {Token: "tok-bob", Name: "bob"}}})
	fr := &fakeRuns{}
	console.Register(api, console.Services{Runs: fr, Incidents: fakeIncidents{}, Chaos: fakeChaos{}, Automation: fakeAutomation{}}, console.Options{})
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return srv, fr
}

type browser struct {
	c    *http.Client
	base string
	csrf string
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func signIn(t *testing.T, base, token string) *browser {
	jar, _ := cookiejar.New(nil)
	b := &browser{base: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	_, body, _ := b.get(t, "/signin")
	m := csrfRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no sign-in token")
	}
	if code := b.post(t, "/signin", url.Values{"csrf": {m[1]}, "token": {token}}); code != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", code)
	}
	_, body, _ = b.get(t, "/runs")
	if m = csrfRe.FindStringSubmatch(body); m == nil {
		t.Fatal("no CSRF token on /runs")
	}
	b.csrf = m[1]
	return b
}

func (b *browser) get(t *testing.T, path string) (int, string, http.Header) {
	resp, err := b.c.Get(b.base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

func (b *browser) post(t *testing.T, path string, form url.Values) int {
	resp, err := b.c.PostForm(b.base+path, form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestEveryPageRenders renders each page on fake services: 200, what the
// page is for, escaped text, the server time it took and the security
// headers.
func TestEveryPageRenders(t *testing.T) {
	srv, _ := server(t)
	alice := signIn(t, srv.URL, "tok-alice")
	for _, tc := range []struct {
		path string
		want []string
	}{
		{"/", []string{"Waiting for approval (1)", "run-abc", "/approvals"}},
		{"/runs", []string{"run-abc", "waiting approval", `name="since"`}},
		{"/runs?status=failed&trigger=cli&since=2026-11-30T01:00", []string{"run-abc"}},
		{"/runs?page=dG9rZW4", []string{"run-abc", "on this page", "More runs", "page=bmV4dA"}},
		{"/runs/runbook:restart:prod", []string{`value="approve"`, "params.target", "Down", "Approvers: alice"}},
		{"/approvals", []string{"Yours to decide (1)", `value="approve"`}},
		{"/automation", []string{"Pause automation", "Suppressed starts"}},
		{"/incidents", []string{"INC-1", "Declare"}},
		{"/incidents/INC-1", []string{"Add note", `id="timeline"`}},
		{"/chaos", []string{"Halt all chaos", "pod-kill", "weekly", "Run now"}},
		{"/experiments/runs/experiment:pod-kill:x1", []string{"passed", "report.md"}},
		{"/gamedays/runs/gameday:weekly:1", []string{"67%"}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			code, body, h := alice.get(t, tc.path)
			if code != http.StatusOK {
				t.Fatalf("%d: %s", code, body)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			if strings.Contains(body, hostile) || strings.Contains(body, `href="javascript:`) {
				t.Error("user text reached the page unescaped")
			}
			if !strings.HasPrefix(h.Get("Server-Timing"), "app;dur=") || !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
				t.Errorf("headers: %v", h)
			}
		})
	}
}

// TestWhoMaySeeWhat: the reader sees no decision, pause or halt controls,
// and each form's refusal comes from the policy; the responder's decision
// goes to the service as hers, from the console.
func TestWhoMaySeeWhat(t *testing.T) {
	srv, fr := server(t)
	bob := signIn(t, srv.URL, "tok-bob")
	for _, p := range []string{"/runs/runbook:restart:prod", "/approvals", "/automation", "/chaos", "/incidents/INC-1"} {
		_, body, _ := bob.get(t, p)
		for _, control := range []string{`value="approve"`, "Pause automation", "Halt all chaos", "Add note", "Cancel run"} {
			if strings.Contains(body, control) {
				t.Errorf("bob sees %q on %s", control, p)
			}
		}
	}
	for _, tc := range []struct {
		path string
		form url.Values
	}{
		{"/runs/runbook:restart:prod/approvals", url.Values{"step": {"ok"}, "decision": {"approve"}}},
		{"/automation/pause", url.Values{"reason": {"x"}}},
		{"/chaos/halt", url.Values{"confirm": {"yes"}}},
		{"/incidents", url.Values{"title": {"x"}, "severity": {"sev3"}}},
	} {
		tc.form.Set("csrf", bob.csrf)
		if code := bob.post(t, tc.path, tc.form); code != http.StatusForbidden {
			t.Errorf("bob POST %s: %d, want 403", tc.path, code)
		}
	}
	alice := signIn(t, srv.URL, "tok-alice")
	if code := alice.post(t, "/runs/runbook:restart:prod/approvals", url.Values{"csrf": {bob.csrf}, "step": {"ok"}, "decision": {"approve"}}); code != http.StatusForbidden {
		t.Errorf("alice with bob's CSRF token: %d, want 403", code)
	}
	if code := alice.post(t, "/runs/runbook:restart:prod/approvals", url.Values{"csrf": {alice.csrf}, "step": {"ok"}, "decision": {"approve"}, "by": {"mallory"}}); code != http.StatusSeeOther {
		t.Fatalf("alice approves: %d", code)
	}
	if len(fr.approved) != 1 || fr.approved[0].By != "alice" || fr.approved[0].Source != console.Source || fr.approved[0].Operator {
		t.Fatalf("approvals sent: %+v", fr.approved)
	}
}

// TestSessions: a session cookie is worth something only as issued, until
// it expires, while its token is configured.
func TestSessions(t *testing.T) {
	srv, _ := server(t)
	alice := signIn(t, srv.URL, "tok-alice")
	u, _ := url.Parse(srv.URL)
	var cookie *http.Cookie
	for _, ck := range alice.c.Jar.Cookies(u) {
		if ck.Name == console.SessionCookie {
			cookie = ck
		}
	}
	if cookie == nil {
		t.Fatal("no session cookie")
	}
	parts := strings.Split(cookie.Value, ".")
	for _, tc := range []struct {
		name  string
		value string
		ok    bool
	}{
		{"as issued", cookie.Value, true},
		{"another name", strings.Join(append([]string{parts[0], "Ym9i"}, parts[2:]...), "."), false},
		{"later expiry", strings.Join(append(append([]string{}, parts[:3]...), "9999999999", parts[4], parts[5]), "."), false},
		{"open console flag", strings.Join(append(append([]string{}, parts[:2]...), append([]string{"o"}, parts[3:]...)...), "."), false},
		{"garbage", "v1.x", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", srv.URL+"/runs", nil)
			req.AddCookie(&http.Cookie{Name: console.SessionCookie, Value: tc.value})
			resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.StatusCode == http.StatusOK; got != tc.ok {
				t.Errorf("%d, want ok=%v", resp.StatusCode, tc.ok)
			}
		})
	}
	// The cookie is HttpOnly and SameSite.
	resp, err := http.Get(srv.URL + "/signin")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, ck := range resp.Cookies() {
		if !ck.HttpOnly || ck.SameSite == http.SameSiteDefaultMode {
			t.Errorf("cookie %s: HttpOnly=%v SameSite=%v", ck.Name, ck.HttpOnly, ck.SameSite)
		}
	}
	// A sign-in that does not repeat the form's cookie is refused.
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = c.PostForm(srv.URL+"/signin", url.Values{"csrf": {"guess"}, "token": {"tok-alice"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("sign-in without the form's cookie: %d, want 403", resp.StatusCode)
	}
}

// TestSignInRedirectStaysHere: after signing in, the browser goes back to
// the page it asked for, never to another site.
func TestSignInRedirectStaysHere(t *testing.T) {
	srv, _ := server(t)
	for _, tc := range []struct{ next, want string }{
		{"/runs?status=failed", "/runs?status=failed"},
		{"//evil.example/x", "/"},
		{"https://evil.example/", "/"},
		{"/\\evil.example", "/"},
		{"", "/"},
	} {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.Get(srv.URL + "/signin")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		nonce := csrfRe.FindStringSubmatch(string(body))[1]
		resp, err = c.PostForm(srv.URL+"/signin", url.Values{"csrf": {nonce}, "token": {"tok-alice"}, "next": {tc.next}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Location"); got != tc.want {
			t.Errorf("next %q: went to %q, want %q", tc.next, got, tc.want)
		}
	}
}
