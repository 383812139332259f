// Package ingress is Firebreak's HTTP front door: it decodes and checks
// requests, authenticates them, and hands them to the domain services
// through small interfaces it declares. It serves runs and automation
// itself; incidentapi/ and chaosapi/ add the incident, audit, chaos and
// game day endpoints, and alertmanager/, pagerduty/ and slack/ the webhooks.
package ingress

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/firebreak-ops/firebreak/internal/access"
	"github.com/firebreak-ops/firebreak/internal/ids"
	"github.com/firebreak-ops/firebreak/internal/redact"
	"github.com/firebreak-ops/firebreak/internal/runs"
	automationwire "github.com/firebreak-ops/firebreak/workflows/wire/automation"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// MaxBody caps request bodies of the API.
const MaxBody = 1 << 20

// Options configure the API handler.
type Options struct {
	Runs       Runs
	Automation Automation
	// Token, when set, is required as "Authorization: Bearer <token>" on
	// every endpoint but /healthz, /readyz and /metrics.
	Token string
	// Principals, when set, name the owner of each accepted token; their
	// requests carry who they are, for spec.access. The Token above stays
	// the unrestricted operator token.
	Principals []Principal
	Logger     *slog.Logger
	// Registry receives the API's metrics; nil makes a new one.
	Registry *prometheus.Registry
	// WebhookLimiter limits webhook requests per source; nil: none.
	WebhookLimiter *SourceLimiter
	// WebhookBudget is how long a webhook request may wait for Temporal
	// before it answers 429 (default DefaultWebhookBudget).
	WebhookBudget time.Duration
	// Reachable asks Temporal's health, to tell a slow Temporal (429,
	// retry soon) from one out of reach (503); nil: every timeout is 429.
	Reachable func(context.Context) error
	// Policy decides which verbs a principal may use; nil: every
	// principal holds access.ResponderVerbs.
	Policy *access.Policy
	// Open says authentication is off on purpose (`firebreak dev` on
	// loopback, `serve --insecure-no-auth`); /readyz then says so.
	Open bool
}

// DefaultWebhookBudget is a webhook request's default budget: inside
// Alertmanager's and PagerDuty's own delivery timeouts (10 s and 15 s
// here), so Firebreak answers before the sender gives up.
const DefaultWebhookBudget = 8 * time.Second

// API serves Firebreak's HTTP API.
// Principal is a token's owner.
type Principal struct {
	Token  string
	Name   string
	Groups []string
}

type principalKey struct{}

// PrincipalOf returns who made an authenticated request, or nil for the
// operator token (or no authentication configured).
func PrincipalOf(r *http.Request) *access.Principal {
	p, _ := r.Context().Value(principalKey{}).(*access.Principal)
	return p
}

type API struct {
	policy     *access.Policy
	open       bool
	routes     []Route
	budget     time.Duration
	reachable  func(context.Context) error
	limiter    *SourceLimiter
	runs       Runs
	automation Automation
	principals []Principal
	token      string
	log        *slog.Logger
	mux        *http.ServeMux
	registry   *prometheus.Registry
	requests   *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	started    *prometheus.CounterVec
}

// New builds the API handler.
func New(o Options) *API {
	a := &API{policy: o.Policy, open: o.Open, budget: o.WebhookBudget, reachable: o.Reachable, limiter: o.WebhookLimiter, runs: o.Runs, automation: o.Automation, token: o.Token, principals: o.Principals, log: o.Logger, registry: o.Registry, mux: http.NewServeMux()}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.budget <= 0 {
		a.budget = DefaultWebhookBudget
	}
	if a.registry == nil {
		a.registry = prometheus.NewRegistry()
		a.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	a.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "firebreak_http_requests_total", Help: "HTTP requests by route and status code.",
	}, []string{"route", "code"})
	a.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "firebreak_http_request_duration_seconds", Help: "HTTP request latency by route.",
		Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"route"})
	a.started = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "firebreak_runs_started_total", Help: "Runs started by runbook and trigger.",
	}, []string{"runbook", "trigger"})
	a.registry.MustRegister(a.requests, a.latency, a.started)

	a.HandlePublic("GET /healthz", http.HandlerFunc(a.healthz))
	a.HandlePublic("GET /readyz", http.HandlerFunc(a.readyz))
	a.HandlePublic("GET /metrics", promhttp.HandlerFor(a.registry, promhttp.HandlerOpts{}))
	a.Handle("GET /v1/runbooks", a.listRunbooks, access.RunsRead)
	// Either verb lets the request in; startRun checks the one it needs.
	a.Handle("POST /v1/runs", a.startRun, access.RunsStart, access.RunsDryRun)
	a.Handle("GET /v1/runs", a.listRuns, access.RunsRead)
	a.Handle("GET /v1/runs/{id}", a.getRun, access.RunsRead)
	a.Handle("POST /v1/runs/{id}/approvals", a.approve, access.RunsApprove)
	a.Handle("POST /v1/runs/{id}/cancel", a.cancel, access.RunsCancel)
	// Retrying runs steps again, and running again starts a run: both
	// need what starting a run needs, and the runbook's spec.access.run.
	a.Handle("POST /v1/runs/{id}/retry", a.retry, access.RunsStart)
	a.Handle("POST /v1/runs/{id}/rerun", a.rerun, access.RunsStart, access.RunsDryRun)
	a.Handle("GET /v1/automation", a.automationState, access.AutomationRead)
	a.Handle("POST /v1/automation/pause", a.pause, access.AutomationPause)
	a.Handle("POST /v1/automation/resume", a.resume, access.AutomationResume)
	return a
}

// Route is a registered endpoint and the verbs that let a request in
// (any one of them); access.Public and access.Signed mark endpoints open
// to all and webhooks that check their sender themselves.
type Route struct {
	Pattern string
	Verbs   []access.Verb
	// Page marks a console page or form: it signs people in with a
	// session cookie instead of a bearer token, and sends those not signed
	// in to the sign-in page.
	Page bool
}

// Routes lists every registered endpoint, for tests that check each one
// against the policy.
func (a *API) Routes() []Route { return slices.Clone(a.routes) }

// Authorize returns a Forbidden error unless the request's principal may
// use the verb; handlers call it where the verb depends on the body (a
// dry run, an incident that pages).
func (a *API) Authorize(r *http.Request, v access.Verb) error {
	return a.policy.Check(PrincipalOf(r), v)
}

// Registry returns the metrics registry, for other packages' collectors.
func (a *API) Registry() *prometheus.Registry { return a.registry }

// HandlerFunc is an API handler: it returns a status and a value to send
// as JSON, or an error.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) (int, any, error)

// Handle registers an authenticated JSON endpoint that any of the verbs
// lets in; bodies are capped at MaxBody. A route without a verb refuses
// every principal (and fails the route table test).
func (a *API) Handle(pattern string, h HandlerFunc, verbs ...access.Verb) {
	a.routes = append(a.routes, Route{Pattern: pattern, Verbs: verbs})
	a.mux.Handle(pattern, LimitBody(MaxBody, a.authenticated(a.jsonHandler(h), verbs)))
}

// HandleAuthenticated registers an authenticated endpoint that writes its
// own answer (Markdown, JSON lines), for the verbs as Handle does.
func (a *API) HandleAuthenticated(pattern string, h http.Handler, verbs ...access.Verb) {
	a.routes = append(a.routes, Route{Pattern: pattern, Verbs: verbs})
	a.mux.Handle(pattern, a.authenticated(h, verbs))
}

// HandlePage registers a console page or form. h authenticates the
// request itself (a session cookie, see Identify) and must let it in only
// when the policy grants the principal one of the verbs; the route table
// records them, so the tests that walk every route reach it too.
func (a *API) HandlePage(pattern string, h http.Handler, verbs ...access.Verb) {
	a.routes = append(a.routes, Route{Pattern: pattern, Verbs: verbs, Page: true})
	a.mux.Handle(pattern, LimitBody(MaxBody, h))
}

// Identify says whose token this is, as the bearer check does: a
// principal's (who is set), the operator token's (who is nil), or
// nobody's (ok is false). Doors that take a token once and then keep a
// session (the console) sign people in through it.
func (a *API) Identify(token string) (who *access.Principal, ok bool) {
	if token == "" {
		return nil, false
	}
	for _, p := range a.principals {
		if subtle.ConstantTimeCompare([]byte(token), []byte(p.Token)) == 1 {
			return &access.Principal{ID: p.Name, Name: p.Name, Groups: p.Groups, Source: runwire.SourceAPI}, true
		}
	}
	if a.token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(a.token)) == 1 {
		return nil, true
	}
	return nil, false
}

// TokenOf returns the token Identify accepts for the principal of that
// name ("" names the operator), or "" when there is none; sessions are
// signed with it, so rotating a token ends the sessions it opened.
func (a *API) TokenOf(name string) string {
	if name == "" {
		return a.token
	}
	for _, p := range a.principals {
		if p.Name == name {
			return p.Token
		}
	}
	return ""
}

// PrincipalNamed returns the configured principal of that name, as
// Identify would return it, or nil.
func (a *API) PrincipalNamed(name string) *access.Principal {
	for _, p := range a.principals {
		if p.Name == name {
			return &access.Principal{ID: p.Name, Name: p.Name, Groups: p.Groups, Source: runwire.SourceAPI}
		}
	}
	return nil
}

// Allowed reports whether the policy lets p use the verb (nil p is the
// operator).
func (a *API) Allowed(p *access.Principal, v access.Verb) bool { return a.policy.Allowed(p, v) }

// Check returns the policy's Forbidden error when p may not use the verb.
func (a *API) Check(p *access.Principal, v access.Verb) error { return a.policy.Check(p, v) }

// Status is the HTTP status and the message a caller may see for err, as
// Error would answer it (the cause goes to the log).
func (a *API) Status(r *http.Request, err error) (int, string) {
	code, body := a.errorResponse(r, a.unreachable(err))
	return code, body.Error
}

// HandlePublic registers an endpoint anyone may call: health, readiness
// and metrics, which show nothing secret.
func (a *API) HandlePublic(pattern string, h http.Handler) {
	a.routes = append(a.routes, Route{Pattern: pattern, Verbs: []access.Verb{access.Public}})
	a.mux.Handle(pattern, h)
}

// HandleRaw registers a webhook: a handler that does its own
// authentication and body limit (signatures or its own credentials). It
// gets metrics and the per-source rate limit.
func (a *API) HandleRaw(pattern string, h http.Handler) {
	a.routes = append(a.routes, Route{Pattern: pattern, Verbs: []access.Verb{access.Signed}})
	a.mux.Handle(pattern, a.limiter.Wrap(h))
}

// Open reports whether authentication is off on purpose; webhooks without
// credentials of their own accept requests only then.
func (a *API) Open() bool { return a.open }

// LimitBody caps request bodies at n bytes.
func LimitBody(n int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, n)
		next.ServeHTTP(w, r)
	})
}

// WebhookContext bounds a webhook request by the webhook budget.
func (a *API) WebhookContext(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), a.budget)
}

// unreachable turns a Busy error into Unavailable when Temporal does not
// answer a health check either: a deadline that passed while the SDK
// retried a refused connection means Temporal is down, not slow.
func (a *API) unreachable(err error) error {
	var se *access.Error
	busy := errors.As(err, &se) && se.Kind == access.Busy
	if !busy && !errors.Is(err, context.DeadlineExceeded) || a.reachable == nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if herr := a.reachable(ctx); herr != nil {
		return &access.Error{Kind: access.Unavailable, Msg: "temporal is unavailable; retry later", Cause: herr}
	}
	return err
}

// Log returns the API's logger.
func (a *API) Log() *slog.Logger { return a.log }

// Error writes err as a JSON error answer with the status it deserves.
func (a *API) Error(w http.ResponseWriter, r *http.Request, err error) {
	err = a.unreachable(err)
	code, body := a.errorResponse(r, err)
	switch code {
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "5")
	case http.StatusTooManyRequests:
		w.Header().Set("Retry-After", "2")
	}
	WriteJSON(w, code, body)
}

// ServeHTTP records metrics and routes.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
	a.mux.ServeHTTP(rec, r)
	route := r.Pattern
	if route == "" {
		route = "unmatched"
	}
	a.requests.WithLabelValues(route, strconv.Itoa(rec.code)).Inc()
	a.latency.WithLabelValues(route).Observe(time.Since(start).Seconds())
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.code = code
	s.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection (the console's
// event streams extend their write deadline through it).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// authenticated finds who sent the request (a principal's token, the
// operator token, or nobody when authentication is off), then asks the
// policy whether any of the route's verbs is theirs.
func (a *API) authenticated(next http.Handler, verbs []access.Verb) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var who *access.Principal
		for _, p := range a.principals {
			if BearerMatches(r, p.Token) {
				who = &access.Principal{ID: p.Name, Name: p.Name, Groups: p.Groups, Source: runwire.SourceAPI}
				break
			}
		}
		if who == nil && (a.token != "" || len(a.principals) > 0) && (a.token == "" || !BearerMatches(r, a.token)) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="firebreak"`)
			WriteJSON(w, http.StatusUnauthorized, ErrorBody{Error: "missing or wrong bearer token"})
			return
		}
		if len(verbs) == 0 {
			WriteJSON(w, http.StatusForbidden, ErrorBody{Error: "this endpoint declares no verb, so nobody may call it"})
			return
		}
		// Any of the verbs lets the request in; a refusal names the first.
		refusal := a.policy.Check(who, verbs[0])
		for _, v := range verbs[1:] {
			if refusal != nil && a.policy.Allowed(who, v) {
				refusal = nil
			}
		}
		if refusal != nil {
			// Only a named principal can be refused: the operator may do
			// everything.
			a.log.Info("request refused", "method", r.Method, "path", r.URL.Path, "principal", who.DisplayName(), "err", refusal)
			a.Error(w, r, refusal)
			return
		}
		if who != nil {
			r = r.WithContext(context.WithValue(r.Context(), principalKey{}, who))
		}
		next.ServeHTTP(w, r)
	})
}

// BearerMatches compares a request's bearer token in constant time.
func BearerMatches(r *http.Request, token string) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(token)) == 1
}

// ErrorBody is every error response.
type ErrorBody struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

func (a *API) jsonHandler(h HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code, body, err := h(w, r)
		if err != nil {
			a.Error(w, r, err)
			return
		}
		if code == 0 {
			return
		}
		WriteJSON(w, code, body)
	})
}

func (a *API) errorResponse(r *http.Request, err error) (int, ErrorBody) {
	var se *access.Error
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &se):
		code := map[access.Kind]int{
			access.Invalid: http.StatusBadRequest, access.NotFound: http.StatusNotFound,
			access.Conflict: http.StatusConflict, access.Forbidden: http.StatusForbidden,
			access.Unavailable: http.StatusServiceUnavailable, access.Busy: http.StatusTooManyRequests,
		}[se.Kind]
		if code == 0 {
			code = http.StatusInternalServerError
		}
		if se.Cause != nil {
			a.log.Warn("request not served", "method", r.Method, "path", r.URL.Path, "code", code, "err", se.Cause)
		}
		return code, ErrorBody{Error: redact.Text(se.Msg), Field: se.Field}
	case errors.As(err, &tooBig):
		return http.StatusRequestEntityTooLarge, ErrorBody{Error: fmt.Sprintf("request body is larger than %d bytes", tooBig.Limit)}
	case errors.Is(err, errUnsupportedMedia):
		return http.StatusUnsupportedMediaType, ErrorBody{Error: err.Error()}
	case errors.As(err, new(*badRequest)):
		return http.StatusBadRequest, ErrorBody{Error: err.Error()}
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusTooManyRequests, ErrorBody{Error: "timed out waiting for Temporal; retry"}
	}
	// The error text can name internal addresses and files: it goes to
	// the log, and the caller gets a reference to find it there.
	ref := ids.NewSuffix()
	a.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "ref", ref, "err", err)
	return http.StatusInternalServerError, ErrorBody{Error: "internal error (logged as ref " + ref + ")"}
}

type badRequest struct{ msg string }

func (b *badRequest) Error() string { return b.msg }

var errUnsupportedMedia = errors.New("content type must be application/json")

// DecodeJSON reads a JSON body strictly: right content type, no unknown
// fields, one value.
func DecodeJSON(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return errUnsupportedMedia
		}
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return err
		}
		return &badRequest{msg: "bad JSON body: " + strings.TrimPrefix(err.Error(), "json: ")}
	}
	if dec.More() {
		return &badRequest{msg: "bad JSON body: more than one value"}
	}
	return nil
}

// DecodeJSONLenient is DecodeJSON for payloads a third party defines:
// fields Firebreak does not use are ignored, since senders add fields over
// time.
func DecodeJSONLenient(r *http.Request, v any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return errUnsupportedMedia
	}
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return err
		}
		return &badRequest{msg: "bad JSON body: " + strings.TrimPrefix(err.Error(), "json: ")}
	}
	return nil
}

// WriteJSON writes v as JSON with the given status.
func WriteJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func (a *API) healthz(w http.ResponseWriter, _ *http.Request) {
	WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (a *API) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	body := map[string]string{"status": "ready"}
	if a.open {
		body["warning"] = "authentication is off: anyone who reaches this address may use every endpoint"
	}
	if err := a.runs.Ready(ctx); err != nil {
		// Anyone may ask: say what is wrong in Firebreak's words, and keep
		// Temporal's own error (addresses, hosts) for the log.
		a.log.Warn("not ready", "err", err)
		body["status"], body["error"] = "not ready", redact.Text(readyReason(err))
		WriteJSON(w, http.StatusServiceUnavailable, body)
		return
	}
	// An API-only process is ready without a worker; it says how many
	// poll, so a probe's reader sees why runs would not move.
	if wc, ok := a.runs.(workerCounter); ok {
		if n, err := wc.Workers(ctx); err == nil {
			body["workers"] = strconv.Itoa(n)
			if n == 0 {
				body["note"] = "no worker is polling: runs are accepted and wait until one does; finished runs are readable"
			}
		}
	}
	WriteJSON(w, http.StatusOK, body)
}

// workerCounter is what /readyz asks, when the runs service can say it,
// about the workers polling.
type workerCounter interface {
	Workers(ctx context.Context) (int, error)
}

// readyReason is what /readyz says about err: Firebreak's own messages as
// they are, anything else as a fixed sentence.
func readyReason(err error) string {
	var se *access.Error
	if errors.As(err, &se) {
		return se.Msg
	}
	return "temporal is not reachable or not answering (details in the log)"
}

func (a *API) listRunbooks(_ http.ResponseWriter, _ *http.Request) (int, any, error) {
	return http.StatusOK, a.runs.Runbooks(), nil
}

// ClientHeader is where clients say who they are; the CLI says "cli".
const ClientHeader = "X-Firebreak-Client"

// starter authorizes a request that starts a run (runs.start, or
// runs.dryRun for a dry run) and says what started it (the API, or the
// CLI through it) and who, when the token names someone.
func (a *API) starter(r *http.Request, dryRun bool) (trigger string, p *access.Principal, err error) {
	verb := access.RunsStart
	if dryRun {
		verb = access.RunsDryRun
	}
	if err := a.Authorize(r, verb); err != nil {
		return "", nil, err
	}
	trigger = runwire.TriggerAPI
	if r.Header.Get(ClientHeader) == runwire.TriggerCLI {
		trigger = runwire.TriggerCLI
	}
	return trigger, PrincipalOf(r), nil
}

func (a *API) startRun(_ http.ResponseWriter, r *http.Request) (int, any, error) {
	var req runs.StartRequest
	if err := DecodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	trigger, p, err := a.starter(r, req.DryRun)
	if err != nil {
		return 0, nil, err
	}
	req.Trigger = trigger
	if p != nil {
		// A named token speaks for its owner, whatever the body says.
		req.Principal, req.RequestedBy = p, p.ID
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	ref, err := a.runs.StartRun(ctx, req)
	if err != nil {
		return 0, nil, err
	}
	a.started.WithLabelValues(ref.Runbook, req.Trigger).Inc()
	a.log.Info("run started", "id", ref.ID, "runbook", ref.Runbook, "trigger", req.Trigger, "dryRun", req.DryRun)
	return http.StatusCreated, ref, nil
}

func (a *API) listRuns(_ http.ResponseWriter, r *http.Request) (int, any, error) {
	q := r.URL.Query()
	limit, _ := strconv.Atoi(q.Get("limit"))
	list, err := a.runs.ListRuns(r.Context(), runs.Filter{Runbook: q.Get("runbook"), Status: q.Get("status"), Limit: limit})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, list, nil
}

func (a *API) getRun(_ http.ResponseWriter, r *http.Request) (int, any, error) {
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	st, err := a.runs.GetRun(ctx, r.PathValue("id"), r.URL.Query().Get("runId"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, st, nil
}

func (a *API) approve(_ http.ResponseWriter, r *http.Request) (int, any, error) {
	var req runwire.ApprovalRequest
	if err := DecodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	req.Source = runwire.SourceAPI
	p := PrincipalOf(r)
	req.Operator = p == nil
	if p != nil {
		req.By, req.Groups = p.ID, p.Groups
	} else {
		req.Groups = nil
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	out, err := a.runs.Approve(ctx, r.PathValue("id"), req)
	if err != nil {
		return 0, nil, err
	}
	a.log.Info("approval decided", "id", r.PathValue("id"), "step", req.Step, "approve", req.Approve, "by", req.By)
	return http.StatusOK, out, nil
}

func (a *API) cancel(_ http.ResponseWriter, r *http.Request) (int, any, error) {
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	if err := a.runs.Cancel(ctx, r.PathValue("id"), PrincipalOf(r)); err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, map[string]string{"id": r.PathValue("id"), "status": "cancelling"}, nil
}

func (a *API) retry(_ http.ResponseWriter, r *http.Request) (int, any, error) {
	var req runs.RetryRequest
	if err := DecodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	req.Source = runwire.SourceAPI
	if p := PrincipalOf(r); p != nil {
		// A named token speaks for its owner, whatever the body says.
		req.Principal, req.By = p, p.ID
	}
	ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
	defer cancel()
	res, err := a.runs.Retry(ctx, r.PathValue("id"), req)
	if err != nil {
		return 0, nil, err
	}
	a.log.Info("run retried", "id", res.ID, "from", res.From, "by", req.By, "runId", res.RunID, "duplicate", res.Duplicate)
	return http.StatusOK, res, nil
}

func (a *API) rerun(_ http.ResponseWriter, r *http.Request) (int, any, error) {
	var req runs.RerunRequest
	if err := DecodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	trigger, p, err := a.starter(r, req.DryRun)
	if err != nil {
		return 0, nil, err
	}
	req.Trigger = trigger
	if p != nil {
		req.Principal, req.RequestedBy = p, p.ID
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	ref, err := a.runs.Rerun(ctx, r.PathValue("id"), req)
	if err != nil {
		return 0, nil, err
	}
	a.started.WithLabelValues(ref.Runbook, req.Trigger).Inc()
	a.log.Info("run started again", "from", r.PathValue("id"), "id", ref.ID, "name", ref.Name)
	return http.StatusCreated, ref, nil
}

// NewServer wraps a handler in an http.Server with timeouts suited to a
// public webhook endpoint.
func NewServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
}

func (a *API) automationState(_ http.ResponseWriter, r *http.Request) (int, any, error) {
	st, err := a.automation.AutomationState(r.Context())
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, st, nil
}

func (a *API) pause(_ http.ResponseWriter, r *http.Request) (int, any, error) {
	return a.switchAutomation(r, a.automation.Pause)
}

func (a *API) resume(_ http.ResponseWriter, r *http.Request) (int, any, error) {
	return a.switchAutomation(r, a.automation.Resume)
}

func (a *API) switchAutomation(r *http.Request, do func(context.Context, automationwire.SwitchRequest) (*automationwire.AutomationState, error)) (int, any, error) {
	var req automationwire.SwitchRequest
	if err := DecodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	if p := PrincipalOf(r); p != nil {
		req.By = p.ID
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	st, err := do(ctx, req)
	if err != nil {
		return 0, nil, err
	}
	a.log.Warn("automation switched", "path", r.URL.Path, "by", req.By, "reason", req.Reason, "paused", st.Paused)
	return http.StatusOK, st, nil
}
