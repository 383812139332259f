// Package console is Firebreak's web console: server-rendered pages for
// runs, approvals, automation, incidents, experiments and game days,
// mounted at / on the HTTP API. It signs people in with the same tokens
// the API takes (a token is exchanged once for a signed, HttpOnly session
// cookie), asks the same policy for every page and form, and acts through
// the same domain services, through the small interfaces it declares
// here. Pages read without JavaScript; a small script keeps the live
// parts up to date over server-sent events.
package console

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/firebreak-ops/firebreak/experiments/plan"
	"github.com/firebreak-ops/firebreak/internal/access"
	"github.com/firebreak-ops/firebreak/internal/chaos"
	"github.com/firebreak-ops/firebreak/internal/incidents"
	"github.com/firebreak-ops/firebreak/internal/runs"
	"github.com/firebreak-ops/firebreak/runbooks"
	automationwire "github.com/firebreak-ops/firebreak/workflows/wire/automation"
	chaoswire "github.com/firebreak-ops/firebreak/workflows/wire/chaos"
	incidentwire "github.com/firebreak-ops/firebreak/workflows/wire/incident"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// Door is what the console needs of the API it is mounted on: its route
// table, its identities and its policy.
type Door interface {
	HandlePage(pattern string, h http.Handler, verbs ...access.Verb)
	Identify(token string) (*access.Principal, bool)
	TokenOf(name string) string
	PrincipalNamed(name string) *access.Principal
	Allowed(p *access.Principal, v access.Verb) bool
	Check(p *access.Principal, v access.Verb) error
	Open() bool
	Status(r *http.Request, err error) (int, string)
}

// Runs is what the console needs of runs.
type Runs interface {
	Runbooks() []runbooks.Summary
	ListRuns(ctx context.Context, f runs.Filter) ([]runs.Summary, error)
	ListRunsPage(ctx context.Context, f runs.Filter, token []byte) ([]runs.Summary, []byte, error)
	GetRun(ctx context.Context, id, runID string) (*runwire.RunState, error)
	// OpenRunState reads a run just listed as open (see runs.Service).
	OpenRunState(ctx context.Context, id string) (*runwire.RunState, error)
	Approve(ctx context.Context, id string, req runwire.ApprovalRequest) (*runwire.ApprovalState, error)
	Cancel(ctx context.Context, id string, p *access.Principal) error
}

// Incidents is what the console needs of incidents.
type Incidents interface {
	DeclareIncident(ctx context.Context, req incidentwire.DeclareRequest, key string) (*incidentwire.Incident, error)
	ListIncidents(ctx context.Context, f incidents.Filter) ([]incidentwire.IncidentSummary, error)
	GetIncident(ctx context.Context, id string) (*incidentwire.Incident, error)
	IncidentCommand(ctx context.Context, id string, cmd incidentwire.IncidentCommand) (*incidentwire.CommandResult, error)
	IncidentPostmortem(ctx context.Context, id string) (*incidentwire.PostmortemResult, error)
}

// Chaos is what the console needs of experiments, the halt switch and
// game days.
type Chaos interface {
	ExperimentList() []plan.Summary
	ListExperimentRuns(ctx context.Context, limit int) ([]chaos.ExperimentRunSummary, error)
	GetExperimentRun(ctx context.Context, id string) (*chaoswire.ExperimentState, error)
	ExperimentReport(ctx context.Context, id string) (string, error)
	ExperimentChart(ctx context.Context, id string) (string, error)
	AbortExperiment(ctx context.Context, id string, h chaoswire.ChaosHalt) error
	ChaosState(ctx context.Context) (*chaoswire.ChaosState, error)
	HaltChaos(ctx context.Context, h chaoswire.ChaosHalt) (*chaoswire.ChaosState, error)
	ResumeChaos(ctx context.Context, h chaoswire.ChaosHalt) (*chaoswire.ChaosState, error)
	ListGameDays(ctx context.Context) ([]chaos.GameDaySummary, error)
	GameDayControl(ctx context.Context, name, op string, p *access.Principal, by, note string) (*chaos.GameDaySummary, error)
	GetGameDayRun(ctx context.Context, id string) (*chaoswire.GameDayState, error)
	GameDayReport(ctx context.Context, id string) (string, error)
}

// Automation is what the console needs of the kill switch and circuit
// breaker.
type Automation interface {
	AutomationState(ctx context.Context) (*automationwire.AutomationState, error)
	Pause(ctx context.Context, req automationwire.SwitchRequest) (*automationwire.AutomationState, error)
	Resume(ctx context.Context, req automationwire.SwitchRequest) (*automationwire.AutomationState, error)
}

// Services are the domain services the console reads and acts through.
type Services struct {
	Runs       Runs
	Incidents  Incidents
	Chaos      Chaos
	Automation Automation
}

// Options configure the console.
type Options struct {
	// UIURL and Namespace link runs to their history in the Temporal Web
	// UI ("" UIURL: no link).
	UIURL     string
	Namespace string
	Logger    *slog.Logger
	// Every is how often live parts are refreshed (default 2 s).
	Every time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Console serves the pages.
type Console struct {
	door    Door
	svc     Services
	opts    Options
	log     *slog.Logger
	openKey []byte
	pages   map[string]*template.Template
	static  http.Handler
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Register mounts the console's pages and forms on the API.
func Register(door Door, svc Services, o Options) *Console {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Every <= 0 {
		o.Every = 2 * time.Second
	}
	c := &Console{door: door, svc: svc, opts: o, log: o.Logger, openKey: []byte(randomText(32))}
	c.pages = parseTemplates()
	sub, _ := fs.Sub(staticFS, "static")
	c.static = http.StripPrefix("/static/", http.FileServerFS(sub))
	c.routes()
	return c
}

func (c *Console) now() time.Time {
	if c.opts.Now != nil {
		return c.opts.Now()
	}
	return time.Now()
}

// handler is a page or form handler, given who asks.
type handler func(w http.ResponseWriter, r *http.Request, v *viewer)

// page registers a page or form that any of the verbs lets in. GETs of a
// person not signed in go to the sign-in page; every other method needs a
// valid session and the form's CSRF token.
func (c *Console) page(pattern string, h handler, verbs ...access.Verb) {
	c.door.HandlePage(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secureHeaders(w)
		v := c.viewerOf(w, r)
		if v == nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			c.problem(w, r, nil, http.StatusUnauthorized, "Sign in first: this form needs a session.")
			return
		}
		if r.Method != http.MethodGet && !c.validCSRF(v.session, r.PostFormValue(CSRFField)) {
			c.problem(w, r, v, http.StatusForbidden, "This form is out of date or did not come from this console (its CSRF token is missing or wrong). Reload the page and try again.")
			return
		}
		if len(verbs) == 0 {
			c.problem(w, r, v, http.StatusForbidden, "This page declares no verb, so nobody may use it.")
			return
		}
		refusal := c.door.Check(v.P, verbs[0])
		for _, verb := range verbs[1:] {
			if refusal != nil && c.door.Allowed(v.P, verb) {
				refusal = nil
			}
		}
		if refusal != nil {
			c.log.Info("console request refused", "method", r.Method, "path", r.URL.Path, "principal", v.Name(), "err", refusal)
			c.fail(w, r, v, refusal)
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), timingsKey{}, &timings{})), v)
	}), verbs...)
}

// public registers a route anyone may call: sign-in and the static files.
func (c *Console) public(pattern string, h http.HandlerFunc) {
	c.door.HandlePage(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secureHeaders(w)
		h(w, r)
	}), access.Public)
}

// secureHeaders keeps pages out of frames and caches and scripts to the
// console's own.
func secureHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "+
		"connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}

// pageData is what every template gets.
type pageData struct {
	V     *viewer
	Title string
	Nav   string
	Path  string
	// Live says the page has parts the script keeps up to date.
	Live bool
	Data any
	Now  time.Time
	// Took is how long loading and rendering took, for the footer.
	Took time.Duration
}

// render executes a page template into a buffer, then writes it with the
// server time it took (Server-Timing), so a template error never leaves
// half a page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, start time.Time, code int, name string, d *pageData) {
	t := c.pages[name]
	if t == nil {
		panic("console: no template " + name)
	}
	d.Now = c.now()
	d.Path = r.URL.Path
	d.Took = time.Since(start).Round(10 * time.Microsecond)
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", d); err != nil {
		c.log.Error("console template failed", "page", name, "err", err)
		http.Error(w, "the page could not be rendered (logged)", http.StatusInternalServerError)
		return
	}
	took := time.Since(start)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	timing := fmt.Sprintf("app;dur=%.2f", float64(took.Microseconds())/1000)
	if t, ok := r.Context().Value(timingsKey{}).(*timings); ok {
		t.mu.Lock()
		for _, e := range t.entries {
			timing += fmt.Sprintf(", %s;dur=%.2f", e.name, float64(e.took.Microseconds())/1000)
		}
		t.mu.Unlock()
	}
	w.Header().Set("Server-Timing", timing)
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

// timings collects how long each service call of a request took, for
// its Server-Timing header.
type timings struct {
	mu      sync.Mutex
	entries []struct {
		name string
		took time.Duration
	}
}

type timingsKey struct{}

// timed runs one service call, noting how long it took under name.
func timed(ctx context.Context, name string, call func()) {
	start := time.Now()
	call()
	if t, ok := ctx.Value(timingsKey{}).(*timings); ok {
		t.mu.Lock()
		t.entries = append(t.entries, struct {
			name string
			took time.Duration
		}{name, time.Since(start)})
		t.mu.Unlock()
	}
}

// fragment renders one named template of a page, for the live stream.
func (c *Console) fragment(name, block string, d *pageData) (string, error) {
	var buf bytes.Buffer
	if err := c.pages[name].ExecuteTemplate(&buf, block, d); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// problem renders an error page with a status and a message.
func (c *Console) problem(w http.ResponseWriter, r *http.Request, v *viewer, code int, msg string) {
	if v == nil {
		v = &viewer{door: c.door}
	}
	c.render(w, r, time.Now(), code, "problem", &pageData{V: v, Title: http.StatusText(code), Data: map[string]any{
		"Code": code, "Message": msg, "Back": backLink(r)}})
}

// fail renders err as the API would classify it.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, v *viewer, err error) {
	code, msg := c.door.Status(r, err)
	c.problem(w, r, v, code, msg)
}

// backLink is where "back" goes from a form's answer: the page the form
// was on, when the request says so and it is this console's.
func backLink(r *http.Request) string {
	if r.Method == http.MethodGet {
		return ""
	}
	if ref, err := url.Parse(r.Referer()); err == nil && ref.Host == r.Host && strings.HasPrefix(ref.Path, "/") {
		return ref.RequestURI()
	}
	return "/"
}

// localPath accepts a redirect target only when it stays on this console.
func localPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") || strings.ContainsAny(p, "\r\n") {
		return "/"
	}
	return p
}

// actor is how a form's action names the viewer in records: the
// principal's ID, or for the operator token or an open console the name
// the form gave (default "console").
func actor(v *viewer, given string) string {
	if v.P != nil {
		return v.P.ID
	}
	if s := strings.TrimSpace(given); s != "" {
		return s
	}
	return "console"
}

// timeout bounds one call to the services.
func timeout(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), 10*time.Second)
}
