package console

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/firebreak-ops/firebreak/internal/access"
	"github.com/firebreak-ops/firebreak/internal/chaos"
	"github.com/firebreak-ops/firebreak/internal/incidents"
	"github.com/firebreak-ops/firebreak/internal/runs"
	"github.com/firebreak-ops/firebreak/internal/temporalx"
	"github.com/firebreak-ops/firebreak/runbooks"
	automationwire "github.com/firebreak-ops/firebreak/workflows/wire/automation"
	chaoswire "github.com/firebreak-ops/firebreak/workflows/wire/chaos"
	incidentwire "github.com/firebreak-ops/firebreak/workflows/wire/incident"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// Source is how records name the console as the door a person used.
const Source = "console"

// view is a page: its template, the blocks the live stream refreshes
// (each is also the id of the element it fills), and how its data loads.
type view struct {
	template string
	nav      string
	title    func(r *http.Request) string
	live     []string
	load     func(r *http.Request, v *viewer) (any, error)
}

func (c *Console) routes() {
	c.public("GET /signin", c.signinPage)
	c.public("POST /signin", c.signin)
	c.public("POST /signout", c.signout)
	c.public("GET /static/{file}", c.static.ServeHTTP)

	c.page("GET /{$}", c.show(view{template: "overview", nav: "overview", title: fixed("Now"),
		live: []string{"live-overview"}, load: c.loadOverview}), access.RunsRead)
	c.page("GET /runs", c.show(view{template: "runs", nav: "runs", title: fixed("Runs"),
		live: []string{"live-runs"}, load: c.loadRuns}), access.RunsRead)
	c.page("GET /runs/{id}", c.show(view{template: "run", nav: "runs", title: func(r *http.Request) string { return "Run " + r.PathValue("id") },
		live: []string{"live-run"}, load: c.loadRun}), access.RunsRead)
	c.page("POST /runs/{id}/approvals", c.approve, access.RunsApprove)
	c.page("POST /runs/{id}/cancel", c.cancel, access.RunsCancel)
	c.page("GET /approvals", c.show(view{template: "approvals", nav: "approvals", title: fixed("Waiting for me"),
		live: []string{"live-approvals"}, load: c.loadApprovals}), access.RunsRead)

	c.page("GET /automation", c.show(view{template: "automation", nav: "automation", title: fixed("Automation"),
		live: []string{"live-automation"}, load: c.loadAutomation}), access.AutomationRead)
	c.page("POST /automation/pause", c.switchAutomation(true), access.AutomationPause)
	c.page("POST /automation/resume", c.switchAutomation(false), access.AutomationResume)

	c.page("GET /incidents", c.show(view{template: "incidents", nav: "incidents", title: fixed("Incidents"),
		live: []string{"live-incidents"}, load: c.loadIncidents}), access.IncidentsRead)
	c.page("POST /incidents", c.declare, access.IncidentsDeclare)
	c.page("GET /incidents/{id}", c.show(view{template: "incident", nav: "incidents", title: func(r *http.Request) string { return r.PathValue("id") },
		live: []string{"live-incident"}, load: c.loadIncident}), access.IncidentsRead)
	c.page("POST /incidents/{id}/commands", c.incidentCommand, access.IncidentsCommand)
	c.page("GET /incidents/{id}/postmortem.md", c.postmortem, access.IncidentsRead)

	c.page("GET /chaos", c.show(view{template: "chaos", nav: "chaos", title: fixed("Experiments and game days"),
		live: []string{"live-chaos"}, load: c.loadChaos}), access.ChaosRead)
	c.page("POST /chaos/halt", c.chaosSwitch(true), access.ChaosHalt)
	c.page("POST /chaos/resume", c.chaosSwitch(false), access.ChaosResume)
	c.page("GET /experiments/runs/{id}", c.show(view{template: "experiment", nav: "chaos", title: func(r *http.Request) string { return "Experiment run " + r.PathValue("id") },
		live: []string{"live-experiment"}, load: c.loadExperiment}), access.ChaosRead)
	c.page("GET /experiments/runs/{id}/chart.svg", c.experimentChart, access.ChaosRead)
	c.page("GET /experiments/runs/{id}/report.md", c.experimentReport, access.ChaosRead)
	c.page("POST /experiments/runs/{id}/abort", c.abortExperiment, access.ChaosHalt)
	c.page("POST /gamedays/{name}/pause", c.gameDayOp("pause"), access.GamedaysManage)
	c.page("POST /gamedays/{name}/unpause", c.gameDayOp("unpause"), access.GamedaysManage)
	c.page("POST /gamedays/{name}/trigger", c.gameDayOp("trigger"), access.GamedaysTrigger)
	c.page("GET /gamedays/runs/{id}", c.show(view{template: "gameday", nav: "chaos", title: func(r *http.Request) string { return "Game day run " + r.PathValue("id") },
		live: []string{"live-gameday"}, load: c.loadGameDay}), access.ChaosRead)
	c.page("GET /gamedays/runs/{id}/report.md", c.gameDayReport, access.ChaosRead)
}

func fixed(s string) func(*http.Request) string { return func(*http.Request) string { return s } }

// show serves a view: the whole page, or, to an EventSource, a stream of
// its live blocks.
func (c *Console) show(vw view) handler {
	return func(w http.ResponseWriter, r *http.Request, v *viewer) {
		if strings.Contains(r.Header.Get("Accept"), "text/event-stream") && len(vw.live) > 0 {
			c.stream(w, r, v, vw)
			return
		}
		start := time.Now()
		data, err := vw.load(r, v)
		var to *redirect
		switch {
		case errors.As(err, &to):
			http.Redirect(w, r, to.to, http.StatusSeeOther)
			return
		case err != nil:
			c.fail(w, r, v, err)
			return
		}
		c.render(w, r, start, http.StatusOK, vw.template, &pageData{V: v, Title: vw.title(r), Nav: vw.nav, Live: len(vw.live) > 0, Data: data})
	}
}

// --- sign-in ---

func (c *Console) signinPage(w http.ResponseWriter, r *http.Request) {
	if c.door.Open() {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	c.showSignin(w, r, http.StatusOK, "")
}

func (c *Console) showSignin(w http.ResponseWriter, r *http.Request, code int, msg string) {
	nonce := randomText(18)
	setCookie(w, r, signinCookie, nonce, c.now().Add(30*time.Minute), true)
	c.render(w, r, time.Now(), code, "signin", &pageData{V: &viewer{door: c.door}, Title: "Sign in", Data: map[string]string{
		"Nonce": nonce, "Next": localPath(r.FormValue("next")), "Message": msg}})
}

// signin exchanges a token for a session cookie. The form must repeat the
// sign-in cookie (so another site cannot sign a browser in as someone
// else), and the token must be one the API takes.
func (c *Console) signin(w http.ResponseWriter, r *http.Request) {
	ck, err := r.Cookie(signinCookie)
	if err != nil || ck.Value == "" || r.PostFormValue(CSRFField) != ck.Value {
		c.showSignin(w, r, http.StatusForbidden, "The sign-in form expired. Try again.")
		return
	}
	who, ok := c.door.Identify(strings.TrimSpace(r.PostFormValue("token")))
	if !ok {
		c.log.Info("console sign-in refused", "remote", r.RemoteAddr)
		c.showSignin(w, r, http.StatusUnauthorized, "That token is not one this Firebreak knows.")
		return
	}
	name := ""
	if who != nil {
		name = who.ID
	}
	s, err := c.issue(name, false, c.now())
	if err != nil {
		c.showSignin(w, r, http.StatusUnauthorized, "That token cannot open a session.")
		return
	}
	setCookie(w, r, signinCookie, "", time.Time{}, true)
	setCookie(w, r, SessionCookie, s.value, s.Expires, false)
	c.log.Info("console sign-in", "principal", cmp.Or(name, "operator"))
	http.Redirect(w, r, localPath(r.PostFormValue("next")), http.StatusSeeOther)
}

func (c *Console) signout(w http.ResponseWriter, r *http.Request) {
	v := c.viewerOf(w, r)
	if v == nil || !c.validCSRF(v.session, r.PostFormValue(CSRFField)) {
		c.problem(w, r, v, http.StatusForbidden, "This form is out of date. Reload the page and try again.")
		return
	}
	setCookie(w, r, SessionCookie, "", time.Time{}, false)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

// --- runs ---

// runsPage is the runs list with the filter it shows.
type runsPage struct {
	Runbooks []runbooks.Summary
	Filter   url.Values
	Runs     []runs.Summary
	Limit    int
	// Older links the next page, when this one is full.
	Older    string
	Statuses []string
	Triggers []string
}

// PageSize is how many runs a page of the list shows unless limit= says
// otherwise; "More runs" goes on to the next page.
const PageSize = 50

// timeLayout is what the time-range inputs send (datetime-local, UTC).
const timeLayout = "2006-01-02T15:04"

func parseFilter(q url.Values) (runs.Filter, error) {
	f := runs.Filter{Runbook: q.Get("runbook"), Status: q.Get("status"), Trigger: q.Get("trigger")}
	f.Limit, _ = strconv.Atoi(q.Get("limit"))
	if f.Limit <= 0 {
		f.Limit = PageSize
	}
	for field, dst := range map[string]*time.Time{"since": &f.Since, "until": &f.Until} {
		if s := q.Get(field); s != "" {
			t, err := time.Parse(timeLayout, s)
			if err != nil {
				if t, err = time.Parse(time.RFC3339, s); err != nil {
					return f, access.Errorf(access.Invalid, field, "%s must be a time like 2026-11-30T14:05 (UTC)", field)
				}
			}
			*dst = t.UTC()
		}
	}
	return f, nil
}

func (c *Console) loadRuns(r *http.Request, v *viewer) (any, error) {
	q := r.URL.Query()
	if id := strings.TrimSpace(q.Get("id")); id != "" {
		return nil, redirectTo("/runs/" + url.PathEscape(id))
	}
	f, err := parseFilter(q)
	if err != nil {
		return nil, err
	}
	var token []byte
	if p := q.Get("page"); p != "" {
		if token, err = base64.RawURLEncoding.DecodeString(p); err != nil {
			return nil, access.Errorf(access.Invalid, "page", "bad page token")
		}
	}
	ctx, cancel := timeout(r)
	defer cancel()
	// Temporal's order: open runs first, then the latest to finish; the
	// same on every refresh, and pages follow on by Temporal's token.
	list, next, err := c.svc.Runs.ListRunsPage(ctx, f, token)
	if err != nil {
		return nil, err
	}
	older := ""
	if len(next) > 0 {
		nq := url.Values{}
		for k, v := range q {
			nq[k] = v
		}
		nq.Set("page", base64.RawURLEncoding.EncodeToString(next))
		older = "/runs?" + nq.Encode()
	}
	return &runsPage{Runbooks: c.svc.Runs.Runbooks(), Filter: q, Runs: list, Limit: f.Limit, Older: older,
		Statuses: []string{runwire.StatusRunning, runwire.StatusWaitingApproval, runwire.StatusSucceeded, runwire.StatusFailed, runwire.StatusCancelled},
		Triggers: []string{runwire.TriggerAPI, runwire.TriggerCLI, runwire.TriggerSlack, runwire.TriggerAlertmanager, runwire.TriggerPagerDuty}}, nil
}

// redirect is a load result that sends the browser elsewhere.
type redirect struct{ to string }

func (r *redirect) Error() string { return "redirect to " + r.to }

func redirectTo(p string) error { return &redirect{to: p} }

// runPage is one run and what the viewer may do with it.
type runPage struct {
	Run        *runwire.RunState
	Decide     map[string]bool
	CanCancel  bool
	HistoryURL string
	Incident   string
}

func (c *Console) loadRun(r *http.Request, v *viewer) (any, error) {
	ctx, cancel := timeout(r)
	defer cancel()
	st, err := c.svc.Runs.GetRun(ctx, r.PathValue("id"), r.URL.Query().Get("runId"))
	if err != nil {
		return nil, err
	}
	p := &runPage{Run: st, Decide: map[string]bool{}, HistoryURL: temporalx.HistoryURL(c.opts.UIURL, c.opts.Namespace, st.ID, ""),
		CanCancel: !st.Done() && v.Can(string(access.RunsCancel))}
	for i := range st.Steps {
		if mayDecide(v, st, &st.Steps[i]) {
			p.Decide[st.Steps[i].Name] = true
		}
	}
	return p, nil
}

// mayDecide says whether the viewer may decide a step waiting for
// approval: the policy's runs.approve, then what the run itself checks
// (the step's approvers, a separate approver); the operator decides any.
func mayDecide(v *viewer, st *runwire.RunState, step *runwire.StepState) bool {
	a := step.Approval
	if step.Status != runwire.StepWaitingApproval || a == nil || a.Decision != "" || !v.Can(string(access.RunsApprove)) {
		return false
	}
	if v.P == nil {
		return true
	}
	if a.SeparateApprover && v.P.ID == st.RequestedBy {
		return false
	}
	return len(a.Approvers) > 0 && runwire.Listed(a.Approvers, v.P.ID, v.P.Groups)
}

func (c *Console) approve(w http.ResponseWriter, r *http.Request, v *viewer) {
	id := r.PathValue("id")
	req := runwire.ApprovalRequest{Step: r.PostFormValue("step"), Approve: r.PostFormValue("decision") == "approve",
		Comment: strings.TrimSpace(r.PostFormValue("comment")), Source: Source, Operator: v.P == nil, By: actor(v, r.PostFormValue("by"))}
	if d := r.PostFormValue("decision"); d != "approve" && d != "deny" {
		c.problem(w, r, v, http.StatusBadRequest, "decision must be approve or deny")
		return
	}
	if v.P != nil {
		req.Groups = v.P.Groups
	}
	ctx, cancel := timeout(r)
	defer cancel()
	if _, err := c.svc.Runs.Approve(ctx, id, req); err != nil {
		c.fail(w, r, v, err)
		return
	}
	c.log.Info("approval decided", "id", id, "step", req.Step, "approve", req.Approve, "by", req.By, "source", Source)
	http.Redirect(w, r, "/runs/"+url.PathEscape(id), http.StatusSeeOther)
}

func (c *Console) cancel(w http.ResponseWriter, r *http.Request, v *viewer) {
	id := r.PathValue("id")
	ctx, cancel := timeout(r)
	defer cancel()
	if err := c.svc.Runs.Cancel(ctx, id, v.P); err != nil {
		c.fail(w, r, v, err)
		return
	}
	c.log.Info("run cancelled", "id", id, "by", actor(v, ""), "source", Source)
	http.Redirect(w, r, "/runs/"+url.PathEscape(id), http.StatusSeeOther)
}

// waiting is one approval waiting for someone.
type waiting struct {
	Run  *runwire.RunState
	Step *runwire.StepState
	// Mine says the viewer may decide it.
	Mine bool
}

// maxWaiting bounds how many waiting runs the approvals view reads.
const maxWaiting = 50

// approvalsFor lists the approvals waiting now, each marked whether the
// viewer may decide it; the runs are read eight at a time.
func (c *Console) approvalsFor(ctx context.Context, v *viewer) ([]waiting, error) {
	list, err := c.svc.Runs.ListRuns(ctx, runs.Filter{Status: runwire.StatusWaitingApproval, Limit: maxWaiting})
	if err != nil {
		return nil, err
	}
	states := make([]*runwire.RunState, len(list))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, s := range list {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if st, err := c.svc.Runs.OpenRunState(ctx, s.ID); err == nil {
				states[i] = st
			}
		}()
	}
	wg.Wait()
	out := []waiting{}
	for _, st := range states {
		if st == nil {
			continue
		}
		for i := range st.Steps {
			step := &st.Steps[i]
			if step.Status == runwire.StepWaitingApproval && step.Approval != nil {
				out = append(out, waiting{Run: st, Step: step, Mine: mayDecide(v, st, step)})
			}
		}
	}
	slices.SortStableFunc(out, func(a, b waiting) int {
		return cmp.Or(a.Step.Approval.Deadline.Compare(b.Step.Approval.Deadline), strings.Compare(a.Run.ID, b.Run.ID))
	})
	return out, nil
}

func (c *Console) loadApprovals(r *http.Request, v *viewer) (any, error) {
	ctx, cancel := timeout(r)
	defer cancel()
	all, err := c.approvalsFor(ctx, v)
	if err != nil {
		return nil, err
	}
	mine, others := []waiting{}, []waiting{}
	for _, a := range all {
		if a.Mine {
			mine = append(mine, a)
		} else {
			others = append(others, a)
		}
	}
	return map[string]any{"Mine": mine, "Others": others}, nil
}

// overview is the first page: what waits for the viewer, what runs, what
// is open, and whether anything holds automation or chaos back.
type overview struct {
	Waiting    []runs.Summary
	Active     []runs.Summary
	Incidents  []incidentwire.IncidentSummary
	Automation *automationwire.AutomationState
	Chaos      *chaoswire.ChaosState
	Problems   []string
}

func (c *Console) loadOverview(r *http.Request, v *viewer) (any, error) {
	ctx, cancel := timeout(r)
	defer cancel()
	o := &overview{}
	note := func(what string, err error) {
		if err != nil {
			_, msg := c.door.Status(r, err)
			o.Problems = append(o.Problems, what+": "+msg)
		}
	}
	// One call at a time: on the embedded engine, list calls made at once
	// wait on each other's database locks (the bench measured this page
	// at a 363 ms median with its five calls made together). Which
	// approvals are the viewer's takes reading each run: the overview
	// lists the waiting runs from visibility alone and links to that page.
	var err error
	timed(ctx, "waiting", func() {
		o.Waiting, err = c.svc.Runs.ListRuns(ctx, runs.Filter{Status: runwire.StatusWaitingApproval, Limit: 20})
	})
	note("approvals", err)
	timed(ctx, "running", func() {
		o.Active, err = c.svc.Runs.ListRuns(ctx, runs.Filter{Status: runwire.StatusRunning, Limit: 20})
	})
	note("runs", err)
	if v.Can(string(access.IncidentsRead)) {
		timed(ctx, "incidents", func() {
			o.Incidents, err = c.svc.Incidents.ListIncidents(ctx, incidents.Filter{Status: "open", Limit: 20})
		})
		note("incidents", err)
	}
	if v.Can(string(access.AutomationRead)) {
		timed(ctx, "automation", func() { o.Automation, err = c.svc.Automation.AutomationState(ctx) })
		note("automation", err)
	}
	if v.Can(string(access.ChaosRead)) {
		timed(ctx, "chaos", func() { o.Chaos, err = c.svc.Chaos.ChaosState(ctx) })
		note("chaos", err)
	}
	return o, nil
}

// --- automation ---

func (c *Console) loadAutomation(r *http.Request, _ *viewer) (any, error) {
	ctx, cancel := timeout(r)
	defer cancel()
	st, err := c.svc.Automation.AutomationState(ctx)
	if err != nil {
		return nil, err
	}
	// Newest suppressions first.
	sup := slices.Clone(st.Suppressed)
	slices.Reverse(sup)
	return map[string]any{"State": st, "Suppressed": sup, "Holding": st.Holding()}, nil
}

func (c *Console) switchAutomation(pause bool) handler {
	return func(w http.ResponseWriter, r *http.Request, v *viewer) {
		req := automationwire.SwitchRequest{By: actor(v, r.PostFormValue("by")), Reason: strings.TrimSpace(r.PostFormValue("reason"))}
		do := c.svc.Automation.Resume
		if pause {
			do = c.svc.Automation.Pause
		}
		ctx, cancel := timeout(r)
		defer cancel()
		if _, err := do(ctx, req); err != nil {
			c.fail(w, r, v, err)
			return
		}
		c.log.Warn("automation switched", "pause", pause, "by", req.By, "reason", req.Reason, "source", Source)
		http.Redirect(w, r, "/automation", http.StatusSeeOther)
	}
}

// --- incidents ---

func (c *Console) loadIncidents(r *http.Request, _ *viewer) (any, error) {
	status := r.URL.Query().Get("status")
	if status == "" {
		status = "open"
	}
	if status == "all" {
		status = ""
	}
	ctx, cancel := timeout(r)
	defer cancel()
	list, err := c.svc.Incidents.ListIncidents(ctx, incidents.Filter{Status: status, Limit: 100})
	if err != nil {
		return nil, err
	}
	return map[string]any{"Incidents": list, "Status": cmp.Or(status, "all"), "Severities": incidentwire.Severities,
		"Statuses": incidentwire.IncidentStatuses, "Key": randomText(12)}, nil
}

func (c *Console) declare(w http.ResponseWriter, r *http.Request, v *viewer) {
	req := incidentwire.DeclareRequest{Title: strings.TrimSpace(r.PostFormValue("title")), Severity: r.PostFormValue("severity"),
		Commander: strings.TrimSpace(r.PostFormValue("commander")), Services: splitList(r.PostFormValue("services")),
		DeclaredBy: actor(v, r.PostFormValue("by")), Source: Source}
	// The form's own key makes a double submit one incident.
	key := ""
	if k := r.PostFormValue("key"); k != "" && len(k) <= 64 {
		key = "console:" + actor(v, "") + ":" + k
	}
	ctx, cancel := timeout(r)
	defer cancel()
	inc, err := c.svc.Incidents.DeclareIncident(ctx, req, key)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	c.log.Info("incident declared", "id", inc.ID, "by", req.DeclaredBy, "source", Source)
	http.Redirect(w, r, "/incidents/"+url.PathEscape(inc.ID), http.StatusSeeOther)
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' }) {
		out = append(out, strings.TrimSpace(f))
	}
	return out
}

func (c *Console) loadIncident(r *http.Request, _ *viewer) (any, error) {
	ctx, cancel := timeout(r)
	defer cancel()
	inc, err := c.svc.Incidents.GetIncident(ctx, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	// Newest entries first: the one that just arrived is at the top.
	tl := slices.Clone(inc.Timeline)
	slices.Reverse(tl)
	return map[string]any{"Incident": inc, "Timeline": tl, "Severities": incidentwire.Severities, "Statuses": incidentwire.IncidentStatuses}, nil
}

func (c *Console) incidentCommand(w http.ResponseWriter, r *http.Request, v *viewer) {
	id := r.PathValue("id")
	cmd := incidentwire.IncidentCommand{Kind: r.PostFormValue("kind"), By: actor(v, r.PostFormValue("by")), Source: Source}
	text := strings.TrimSpace(r.PostFormValue("text"))
	switch cmd.Kind {
	case incidentwire.CommandNote, incidentwire.CommandActionItem:
		cmd.Text = text
	case incidentwire.CommandStatus:
		cmd.Status, cmd.Text = r.PostFormValue("status"), text
	case incidentwire.CommandSeverity:
		cmd.Severity, cmd.Text = r.PostFormValue("severity"), text
	case incidentwire.CommandResolve:
		cmd.Text = text
	default:
		c.problem(w, r, v, http.StatusBadRequest, "unknown incident command")
		return
	}
	ctx, cancel := timeout(r)
	defer cancel()
	if _, err := c.svc.Incidents.IncidentCommand(ctx, id, cmd); err != nil {
		c.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/incidents/"+url.PathEscape(id), http.StatusSeeOther)
}

func (c *Console) postmortem(w http.ResponseWriter, r *http.Request, v *viewer) {
	ctx, cancel := timeout(r)
	defer cancel()
	pm, err := c.svc.Incidents.IncidentPostmortem(ctx, r.PathValue("id"))
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	markdownFile(w, pm.ID+"-postmortem.md", pm.Markdown)
}

func markdownFile(w http.ResponseWriter, name, body string) {
	w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+strings.NewReplacer(`"`, "", "\\", "", ":", "-").Replace(name)+`"`)
	_, _ = w.Write([]byte(body))
}

// --- chaos ---

func (c *Console) loadChaos(r *http.Request, _ *viewer) (any, error) {
	ctx, cancel := timeout(r)
	defer cancel()
	var (
		st                         *chaoswire.ChaosState
		recent                     []chaos.ExperimentRunSummary
		days                       []chaos.GameDaySummary
		errState, errRuns, errDays error
		wg                         sync.WaitGroup
	)
	wg.Go(func() { st, errState = c.svc.Chaos.ChaosState(ctx) })
	wg.Go(func() { recent, errRuns = c.svc.Chaos.ListExperimentRuns(ctx, 30) })
	wg.Go(func() { days, errDays = c.svc.Chaos.ListGameDays(ctx) })
	wg.Wait()
	if err := errors.Join(errState, errRuns, errDays); err != nil {
		return nil, err
	}
	return map[string]any{"State": st, "Catalog": c.svc.Chaos.ExperimentList(), "Recent": recent, "GameDays": days}, nil
}

func (c *Console) chaosSwitch(halt bool) handler {
	return func(w http.ResponseWriter, r *http.Request, v *viewer) {
		if halt && r.PostFormValue("confirm") != "yes" {
			c.problem(w, r, v, http.StatusBadRequest, "Halting chaos needs the confirmation box ticked: it aborts every running experiment.")
			return
		}
		h := chaoswire.ChaosHalt{By: actor(v, r.PostFormValue("by")), Reason: strings.TrimSpace(r.PostFormValue("reason"))}
		do := c.svc.Chaos.ResumeChaos
		if halt {
			do = c.svc.Chaos.HaltChaos
		}
		ctx, cancel := timeout(r)
		defer cancel()
		st, err := do(ctx, h)
		if err != nil {
			c.fail(w, r, v, err)
			return
		}
		c.log.Warn("chaos switched", "halt", halt, "by", h.By, "reason", h.Reason, "running", len(st.Running), "source", Source)
		http.Redirect(w, r, "/chaos", http.StatusSeeOther)
	}
}

func (c *Console) loadExperiment(r *http.Request, v *viewer) (any, error) {
	ctx, cancel := timeout(r)
	defer cancel()
	st, err := c.svc.Chaos.GetExperimentRun(ctx, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"Run": st, "Running": st.EndedAt == nil, "HistoryURL": temporalx.HistoryURL(c.opts.UIURL, c.opts.Namespace, st.ID, "")}, nil
}

func (c *Console) experimentChart(w http.ResponseWriter, r *http.Request, v *viewer) {
	ctx, cancel := timeout(r)
	defer cancel()
	svg, err := c.svc.Chaos.ExperimentChart(ctx, r.PathValue("id"))
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	_, _ = w.Write([]byte(svg))
}

func (c *Console) experimentReport(w http.ResponseWriter, r *http.Request, v *viewer) {
	ctx, cancel := timeout(r)
	defer cancel()
	md, err := c.svc.Chaos.ExperimentReport(ctx, r.PathValue("id"))
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	markdownFile(w, r.PathValue("id")+"-report.md", md)
}

func (c *Console) abortExperiment(w http.ResponseWriter, r *http.Request, v *viewer) {
	id := r.PathValue("id")
	ctx, cancel := timeout(r)
	defer cancel()
	h := chaoswire.ChaosHalt{By: actor(v, r.PostFormValue("by")), Reason: cmp.Or(strings.TrimSpace(r.PostFormValue("reason")), "aborted in the console")}
	if err := c.svc.Chaos.AbortExperiment(ctx, id, h); err != nil {
		c.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/experiments/runs/"+url.PathEscape(id), http.StatusSeeOther)
}

func (c *Console) gameDayOp(op string) handler {
	return func(w http.ResponseWriter, r *http.Request, v *viewer) {
		ctx, cancel := timeout(r)
		defer cancel()
		by := actor(v, r.PostFormValue("by"))
		if _, err := c.svc.Chaos.GameDayControl(ctx, r.PathValue("name"), op, v.P, by, strings.TrimSpace(r.PostFormValue("reason"))); err != nil {
			c.fail(w, r, v, err)
			return
		}
		c.log.Info("game day "+op, "name", r.PathValue("name"), "by", by, "source", Source)
		http.Redirect(w, r, "/chaos#gamedays", http.StatusSeeOther)
	}
}

func (c *Console) loadGameDay(r *http.Request, _ *viewer) (any, error) {
	ctx, cancel := timeout(r)
	defer cancel()
	st, err := c.svc.Chaos.GetGameDayRun(ctx, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"Run": st, "Score": int(st.Score + 0.5)}, nil
}

func (c *Console) gameDayReport(w http.ResponseWriter, r *http.Request, v *viewer) {
	ctx, cancel := timeout(r)
	defer cancel()
	md, err := c.svc.Chaos.GameDayReport(ctx, r.PathValue("id"))
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	markdownFile(w, r.PathValue("id")+"-report.md", md)
}
