package tests

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/firebreak-ops/firebreak/internal/config"
	"github.com/firebreak-ops/firebreak/internal/testenv"
	"github.com/firebreak-ops/firebreak/runbooks"
	chaoswire "github.com/firebreak-ops/firebreak/workflows/wire/chaos"
	incidentwire "github.com/firebreak-ops/firebreak/workflows/wire/incident"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

const consoleRunbook = `
apiVersion: firebreak/v1
kind: Runbook
metadata: {name: console-demo, description: Greets a target after someone approves.}
spec:
  params:
    - {name: target, type: string, required: true}
  concurrency: params.target
  access:
    run: [alice]
    approve: [alice]
  steps:
    - {name: greet, action: log, with: {message: "looking at ${{ params.target }}"}}
    - name: ok
      approval: {message: "Go ahead with ${{ params.target }}?", timeout: 10m}
    - {name: act, action: log, with: {message: "acting on ${{ params.target }}"}}
`

// consoleConfig: alice responds (runs, incidents, halting chaos), bob only
// reads; the runbook lets alice run and approve.
func consoleConfig() *config.Config {
	return &config.Config{
		APIToken: "operator",
		Principals: []config.Principal{
			{Token: "tok-alice", Name: "alice"},
			{Token: "tok-bob", Name: "bob"},
		},
		Roles: []config.Role{
			{Name: "responders", Verbs: []string{"runs.*", "incidents.*", "chaos.read", "chaos.halt", "automation.read", "automation.pause"}, Principals: []string{"alice"}},
			{Name: "readers", Verbs: []string{"runs.read", "incidents.read", "chaos.read", "automation.read"}, Principals: []string{"bob"}},
		},
	}
}

// chromiumPath is Debian's Chromium (make apt-deps installs it), or
// $FIREBREAK_CHROMIUM.
func chromiumPath(t *testing.T) string {
	p := os.Getenv("FIREBREAK_CHROMIUM")
	if p == "" {
		p = "/usr/bin/chromium"
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("no Chromium at %s (make apt-deps installs Debian's chromium): %v", p, err)
	}
	return p
}

// artifactsDir is where browser tests leave their screenshots:
// $FIREBREAK_TEST_ARTIFACTS/<test>, or tests/artifacts/<test>.
func artifactsDir(t *testing.T) string {
	base := os.Getenv("FIREBREAK_TEST_ARTIFACTS")
	if base == "" {
		base = "artifacts"
	}
	dir := filepath.Join(base, strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()))
	_ = os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// browser is one headless Chromium for a test; each person gets a tab in
// a browser context of their own (their own cookies).
type browser struct {
	t    *testing.T
	root context.Context
	dir  string
	mu   sync.Mutex
	n    int
}

func newBrowser(t *testing.T) *browser {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	root, cancelRoot := chromedp.NewContext(alloc)
	if err := chromedp.Do(root); err != nil {
		cancelRoot()
		cancelAlloc()
		t.Fatalf("starting Chromium: %v", err)
	}
	t.Cleanup(func() { cancelRoot(); cancelAlloc() })
	return &browser{t: t, root: root, dir: artifactsDir(t)}
}

// person is someone at the browser, with their own cookies.
type person struct {
	b    *browser
	name string
	ctx  context.Context
	base string
}

func (b *browser) person(name, base string) *person {
	ctx, cancel := chromedp.NewContext(b.root, chromedp.WithNewBrowserContext())
	b.t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		b.t.Fatal(err)
	}
	return &person{b: b, name: name, ctx: ctx, base: base}
}

// do runs browser steps, each bounded, failing the test with a
// screenshot of where it stood.
func (p *person) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.b.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.shot("failed-" + what)
		p.b.t.Fatalf("%s: %s: %v", p.name, what, err)
	}
}

func run[T any](p *person, what string, a chromedp.Action[T]) T {
	p.b.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		p.shot("failed-" + what)
		p.b.t.Fatalf("%s: %s: %v", p.name, what, err)
	}
	return v
}

// shot saves a full-page screenshot, numbered in the order taken.
func (p *person) shot(name string) {
	p.b.mu.Lock()
	p.b.n++
	n := p.b.n
	p.b.mu.Unlock()
	ctx, cancel := context.WithTimeout(p.ctx, 15*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	file := filepath.Join(p.b.dir, fmt.Sprintf("%02d-%s-%s.png", n, p.name, name))
	if err := os.WriteFile(file, png, 0o644); err != nil {
		p.b.t.Logf("screenshot %s: %v", name, err)
	}
}

// navigate runs an action that leaves the page (a form, a link) and
// waits until the next page has loaded, so later steps never act on the
// page being left.
func (p *person) navigate(what string, action chromedp.Action[chromedp.Void]) {
	p.b.t.Helper()
	run(p, what, chromedp.WaitEvent(page.LoadEventFired, nil, action))
	p.do(what+": page ready", chromedp.WaitReady(chromedp.CSS("main")))
}

// visit opens a console page and takes its picture.
func (p *person) visit(path, shot string) {
	p.do("open "+path, chromedp.Navigate(p.base+path), chromedp.WaitReady(chromedp.CSS("main")))
	p.shot(shot)
}

func (p *person) location() string { return run(p, "location", chromedp.Location()) }

// signIn goes where sign-in is asked for and gives the token.
func (p *person) signIn(path, token string) {
	p.do("open "+path, chromedp.Navigate(p.base+path), chromedp.WaitVisible(chromedp.CSS("#token")))
	if loc := p.location(); !strings.Contains(loc, "/signin?next=") {
		p.b.t.Fatalf("%s: %s did not ask to sign in: %s", p.name, path, loc)
	}
	p.shot("signin")
	p.do("type the token", chromedp.SendKeys(chromedp.CSS("#token"), token))
	p.navigate("sign in", chromedp.Submit(chromedp.CSS("#token")))
	p.do("signed in", chromedp.WaitVisible(chromedp.CSS("#viewer")))
	if got := run(p, "who", chromedp.Text(chromedp.CSS("#viewer"))); got != p.name {
		p.b.t.Fatalf("signed in as %q, want %q", got, p.name)
	}
}

// count counts the elements a CSS selector finds.
func (p *person) count(sel string) int {
	return run(p, "count "+sel, chromedp.Evaluate[int](fmt.Sprintf("document.querySelectorAll(%q).length", sel)))
}

// waitFor waits until a JavaScript condition holds on the page, without
// reloading it: what changes must come over the live stream.
func (p *person) waitFor(what, cond string) {
	p.b.t.Helper()
	run(p, what, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(25*time.Second), chromedp.WithPollingInterval(100*time.Millisecond)))
}

// attrSel selects an element by its exact id (run IDs hold colons).
func attrSel(tag, id string) string { return fmt.Sprintf(`%s[id=%q]`, tag, id) }

var startedRe = regexp.MustCompile(`started (\S+)`)

// TestConsoleRunAndApproval: alice signs in, a run she starts from the
// CLI appears in the list while she looks at it, she approves it in the
// browser and watches it finish; bob, who may only read, sees no Approve
// button, and his forged POST gets 403.
func TestConsoleRunAndApproval(t *testing.T) {
	cat, err := runbooks.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "console.yaml")
	if err := os.WriteFile(p, []byte(consoleRunbook), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := cat.LoadPath(p); err != nil {
		t.Fatal(err)
	}
	eng := testenv.Engine(t, t.TempDir())
	fb := testenv.StartFirebreak(t, eng, testenv.Options{Catalog: cat, Config: consoleConfig()})
	b := newBrowser(t)
	alice := b.person("alice", fb.URL)
	alice.signIn("/runs", "tok-alice")
	if loc := alice.location(); !strings.HasSuffix(loc, "/runs") {
		t.Fatalf("after sign-in: %s, want the runs page", loc)
	}
	alice.shot("runs-empty")
	alice.waitFor("live stream connected", `document.getElementById("live-status").textContent.startsWith("Live")`)

	code, out, errOut := runCLI("--server", fb.URL, "--token", "tok-alice", "run", "console-demo", "--param", "target=db")
	if code != 0 {
		t.Fatalf("firebreak run: %d %s %s", code, out, errOut)
	}
	m := startedRe.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no run ID in %q", out)
	}
	id := m[1]
	if !strings.Contains(out, fb.URL+"/runs/") {
		t.Errorf("the CLI's output does not link the run's console page:\n%s", out)
	}
	row := attrSel("tr", "run-"+id)
	alice.waitFor("the run appears in the list", fmt.Sprintf(`document.querySelector(%q) !== null`, row))
	alice.waitFor("the row says it waits", fmt.Sprintf(`document.querySelector(%q).dataset.status === "waiting_approval"`, row))
	alice.shot("runs-live")

	alice.navigate("open the run", chromedp.Click(chromedp.CSS(row+" a")))
	alice.do("the run waits", chromedp.WaitVisible(chromedp.CSS(`button[value="approve"]`)))
	alice.shot("run-waiting")
	if n := alice.count(`#step-ok .decide`); n != 1 {
		t.Fatalf("alice sees %d decision forms on step ok, want 1", n)
	}

	// bob reads the same run: no button, and a forged POST is refused.
	bob := b.person("bob", fb.URL)
	bob.signIn("/runs/"+url.PathEscape(id), "tok-bob")
	bob.waitFor("bob sees the step waiting", `document.querySelector("#step-ok").dataset.status === "waiting_approval"`)
	bob.shot("run-no-button")
	if n := bob.count(`button[value="approve"], button[value="deny"], form[action$="/cancel"]`); n != 0 {
		t.Errorf("bob sees %d decision or cancel controls, want none", n)
	}
	forge := func(withToken bool) int {
		js := fmt.Sprintf(`(async () => {
			const f = new URLSearchParams({step: "ok", decision: "approve"});
			if (%v) f.set("csrf", document.querySelector("input[name=csrf]").value);
			const r = await fetch(%q, {method: "POST", body: f});
			return r.status; })()`, withToken, "/runs/"+url.PathEscape(id)+"/approvals")
		return run(bob, "forged POST", chromedp.Evaluate[int](js, chromedp.EvalAwaitPromise))
	}
	if got := forge(true); got != http.StatusForbidden {
		t.Errorf("bob's forged approval with his own CSRF token: %d, want 403", got)
	}
	if got := forge(false); got != http.StatusForbidden {
		t.Errorf("forged approval without a CSRF token: %d, want 403", got)
	}
	// A form from elsewhere: alice's session without her page's token.
	if got := postWithSession(t, fb.URL, "tok-alice", "/runs/"+url.PathEscape(id)+"/approvals", url.Values{"step": {"ok"}, "decision": {"approve"}}); got != http.StatusForbidden {
		t.Errorf("alice's session, no CSRF token: %d, want 403", got)
	}

	alice.do("comment", chromedp.SendKeys(chromedp.CSS(`#step-ok input[name="comment"]`), "ship it"))
	alice.navigate("approve", chromedp.Click(chromedp.CSS(`#step-ok button[value="approve"]`)))
	alice.waitFor("the run finishes", `document.querySelector("#run-status").dataset.status === "succeeded"`)
	alice.shot("run-succeeded")
	op := &api{t: t, base: fb.URL, token: "operator"}
	st := op.waitFor(id, "done", func(s *runwire.RunState) bool { return s.Done() })
	if a := step(st, "ok").Approval; st.Status != runwire.StatusSucceeded || a == nil || a.By != "alice" || a.Decision != runwire.DecisionApproved || a.Comment != "ship it" {
		t.Fatalf("run %s, approval %+v", st.Status, a)
	}
	// bob's refused attempts never reached the run: the door refused them.
	for _, d := range st.Access {
		if d.By == "bob" {
			t.Errorf("bob's forged POST reached the run: %+v", d)
		}
	}
	for _, path := range []string{"/", "/approvals", "/automation", "/chaos", "/incidents"} {
		alice.visit(path, "page-"+shotName(path))
	}
	alice.onPhone("/", "/runs", "/runs/"+url.PathEscape(id), "/approvals", "/automation", "/chaos", "/incidents")
}

// shotName turns a console path into a screenshot's name.
func shotName(path string) string {
	return cmp.Or(strings.Trim(strings.ReplaceAll(path, "/", "-"), "-"), "now")
}

// onPhone looks at each page on a phone's screen (390 × 844 CSS pixels,
// touch): nothing may make the page wider than the screen (wide tables
// scroll in their own boxes), every control lies within it when focused,
// and each page is photographed.
func (p *person) onPhone(paths ...string) {
	p.b.t.Helper()
	p.do("a phone's screen", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulatePortrait, chromedp.EmulateMobile, chromedp.EmulateTouch))
	defer p.do("back to the desktop", chromedp.EmulateReset())
	for _, path := range paths {
		p.visit(path, "phone-"+shotName(path))
		wider := run(p, "page width", chromedp.Evaluate[int](`document.documentElement.scrollWidth - window.innerWidth`))
		if wider > 0 {
			p.b.t.Errorf("%s on a phone: the page is %d px wider than the screen", path, wider)
		}
		// Controls outside a scroll box must be reachable without panning,
		// each measured as it stands when the keyboard reaches it (the
		// skip link shows only then).
		out := run(p, "controls off the screen", chromedp.Evaluate[[]string](`[...document.querySelectorAll("a, button, input, select, textarea")]
			.filter(e => !e.closest(".scroll") && e.offsetParent !== null && e.type !== "hidden")
			.filter(e => {
				e.focus({preventScroll: true});
				const r = e.getBoundingClientRect();
				e.blur();
				return r.left < 0 || r.right > window.innerWidth + 1; })
			.map(e => e.outerHTML.slice(0, 80))`))
		if len(out) > 0 {
			p.b.t.Errorf("%s on a phone: %d controls lie off the screen: %q", path, len(out), out)
		}
	}
}

// postWithSession signs in over plain HTTP and posts a form without the
// page's CSRF token, as another site's form would.
func postWithSession(t *testing.T, base, token, path string, form url.Values) int {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(base + "/signin")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	u, _ := url.Parse(base)
	nonce := ""
	for _, ck := range jar.Cookies(u) {
		if ck.Name == "firebreak_signin" {
			nonce = ck.Value
		}
	}
	resp, err = c.PostForm(base+"/signin", url.Values{"csrf": {nonce}, "token": {token}, "next": {"/"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in over HTTP: %d", resp.StatusCode)
	}
	resp, err = c.PostForm(base+path, form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestConsoleIncidentAndChaos: alice declares an incident in the browser
// and sees its timeline grow as notes arrive through the API; she halts
// chaos, which the page asks her to confirm first, and may not lift it.
func TestConsoleIncidentAndChaos(t *testing.T) {
	eng := testenv.Engine(t, t.TempDir())
	fb := testenv.StartFirebreak(t, eng, testenv.Options{Config: consoleConfig()})
	b := newBrowser(t)
	alice := b.person("alice", fb.URL)
	alice.signIn("/incidents", "tok-alice")
	alice.shot("incidents-empty")
	alice.do("declare", chromedp.SendKeys(chromedp.CSS("#inc-title"), "Checkout latency"),
		chromedp.SetValue(chromedp.CSS("#inc-sev"), "sev3"),
		chromedp.SendKeys(chromedp.CSS("#inc-svc"), "checkout"))
	alice.navigate("submit the declaration", chromedp.Submit(chromedp.CSS("#inc-title")))
	alice.do("the incident page", chromedp.WaitVisible(chromedp.CSS("#timeline")))
	loc := alice.location()
	i := strings.LastIndex(loc, "/incidents/")
	if i < 0 {
		t.Fatalf("after declaring: %s", loc)
	}
	id, _ := url.PathUnescape(loc[i+len("/incidents/"):])
	alice.shot("incident-declared")
	before := alice.count("#timeline li")
	if before == 0 {
		t.Fatal("the new incident's timeline is empty")
	}
	alice.waitFor("live stream connected", `document.getElementById("live-status").textContent.startsWith("Live")`)
	op := &api{t: t, base: fb.URL, token: "tok-alice"}
	for _, note := range []string{"paged the checkout team", "rolled back the deploy"} {
		if code := op.do("POST", "/v1/incidents/"+url.PathEscape(id)+"/notes", map[string]string{"text": note}, nil); code != http.StatusOK {
			t.Fatalf("note through the API: %d", code)
		}
	}
	alice.waitFor("the timeline grows", fmt.Sprintf(`document.querySelectorAll("#timeline li").length >= %d && document.querySelector("#timeline").textContent.includes("rolled back the deploy")`, before+2))
	alice.shot("incident-timeline-grew")
	alice.do("note in the browser", chromedp.SendKeys(chromedp.CSS("#note-text"), "customers see recovery"))
	alice.navigate("submit the note", chromedp.Submit(chromedp.CSS("#note-text")))
	alice.waitFor("the browser's note is there", `document.querySelector("#timeline").textContent.includes("customers see recovery")`)
	alice.shot("incident-note")
	var inc incidentwire.Incident
	if code := op.do("GET", "/v1/incidents/"+url.PathEscape(id), nil, &inc); code != http.StatusOK {
		t.Fatalf("incident: %d", code)
	}
	found := false
	for _, e := range inc.Timeline {
		if e.Text == "customers see recovery" && e.By == "alice" && e.Source == "console" {
			found = true
		}
	}
	if !found {
		t.Errorf("the browser's note is not in the record as alice's, from the console: %+v", inc.Timeline)
	}

	// Chaos: the halt asks for confirmation.
	alice.visit("/chaos", "chaos")
	alice.do("halt without confirming", chromedp.SendKeys(chromedp.CSS("#halt-reason"), "game over"), chromedp.Click(chromedp.CSS("#halt")))
	time.Sleep(300 * time.Millisecond)
	var cs chaoswire.ChaosState
	if code := op.do("GET", "/v1/chaos", nil, &cs); code != http.StatusOK || cs.Halted {
		t.Fatalf("chaos after an unconfirmed halt: %d halted=%v", code, cs.Halted)
	}
	alice.shot("chaos-unconfirmed")
	alice.do("confirm", chromedp.Click(chromedp.CSS("#halt-confirm")))
	alice.navigate("halt", chromedp.Click(chromedp.CSS("#halt")))
	alice.do("halted", chromedp.WaitVisible(chromedp.CSS(`#chaos-state[data-halted="true"]`)))
	alice.shot("chaos-halted")
	if code := op.do("GET", "/v1/chaos", nil, &cs); code != http.StatusOK || !cs.Halted || cs.By != "alice" || cs.Reason != "game over" {
		t.Fatalf("chaos: %d %+v", code, cs)
	}
	if n := alice.count(`form[action="/chaos/resume"]`); n != 0 {
		t.Errorf("alice may not lift the halt but sees %d forms for it", n)
	}
	alice.onPhone("/incidents/"+url.PathEscape(id), "/chaos")
}

// TestConsoleOpen: where the API needs no token (dev on loopback), the
// console needs no sign-in either, and its forms still need the page's
// CSRF token.
func TestConsoleOpen(t *testing.T) {
	eng := testenv.Engine(t, t.TempDir())
	fb := testenv.StartFirebreak(t, eng, testenv.Options{})
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, path := range []string{"/", "/runs", "/approvals", "/incidents", "/automation", "/chaos", "/signin"} {
		resp, err := c.Get(fb.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		want := http.StatusOK
		if path == "/signin" {
			want = http.StatusSeeOther
		}
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
	resp, err := c.PostForm(fb.URL+"/automation/pause", url.Values{"reason": {"x"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("open console, POST without the CSRF token: %d, want 403", resp.StatusCode)
	}
}

// consoleSession is a console session over plain HTTP: its cookies, and
// the CSRF token its pages carry.
type consoleSession struct {
	c    *http.Client
	csrf string
}

func newConsoleClient() *consoleSession {
	jar, _ := cookiejar.New(nil)
	return &consoleSession{c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// newConsoleSession signs in with a token and reads the CSRF token off a
// page (a refusal page carries it too).
func newConsoleSession(t *testing.T, base, token string) *consoleSession {
	s := newConsoleClient()
	resp, err := s.c.Get(base + "/signin")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	u, _ := url.Parse(base)
	nonce := ""
	for _, ck := range s.c.Jar.Cookies(u) {
		if ck.Name == "firebreak_signin" {
			nonce = ck.Value
		}
	}
	resp, err = s.c.PostForm(base+"/signin", url.Values{"csrf": {nonce}, "token": {token}, "next": {"/"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("console sign-in with %s: %d", token, resp.StatusCode)
	}
	resp, err = s.c.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfRe.FindSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF token on the page %s gets (%d)", token, resp.StatusCode)
	}
	s.csrf = string(m[1])
	return s
}

// send makes a request as the session; a non-GET carries a form with the
// CSRF token given ("" for none). It returns the status and Location.
func (s *consoleSession) send(t *testing.T, base, method, path, csrf string) (int, string) {
	var body io.Reader
	if method != http.MethodGet {
		form := url.Values{}
		if csrf != "" {
			form.Set("csrf", csrf)
		}
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := s.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location")
}
