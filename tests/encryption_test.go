package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"

	"github.com/firebreak-ops/firebreak/internal/app"
	"github.com/firebreak-ops/firebreak/internal/codec"
	"github.com/firebreak-ops/firebreak/internal/config"
	"github.com/firebreak-ops/firebreak/internal/ingress/alertmanager"
	"github.com/firebreak-ops/firebreak/internal/runs"
	"github.com/firebreak-ops/firebreak/internal/testenv"
	"github.com/firebreak-ops/firebreak/runbooks"
	incidentwire "github.com/firebreak-ops/firebreak/workflows/wire/incident"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
	"go.temporal.io/api/enums/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// Distinctive values the encryption test looks for in Temporal's files.
const (
	fileSecret      = "dir-held-s3cret-7f3a91"
	paramSecret     = "param-s3cret-c2e8d4"
	labelValue      = "label-value-zq81xk"
	annotationValue = "annotation-text-jw62pd"
	noteText        = "incident-note-x8d1kq"
)

// encryptedRunbooks send a secret header by reference, take a
// secret-looking param, and react to an alert with distinctive labels.
const encryptedRunbooks = `
apiVersion: firebreak/v1
kind: Runbook
metadata: {name: calls-with-secret}
spec:
  params:
    - {name: target, type: string, required: true}
    - {name: apiToken, type: string, required: true}
  steps:
    - name: call
      action: http.request
      with:
        url: "${{ params.target }}/v1"
        headers: {Authorization: 'Bearer ${{ secret("checkout-api") }}', X-Param: "${{ params.apiToken }}"}
    - name: missing
      action: http.request
      with:
        url: "${{ params.target }}/v2"
        headers: {X-Key: '${{ secret("not-there") }}'}
---
apiVersion: firebreak/v1
kind: Runbook
metadata: {name: on-probe-alert}
spec:
  params:
    - {name: service, type: string, required: true}
  concurrency: params.service
  triggers:
    - alertmanager:
        match: alert.labels.alertname == "SecretProbe"
        params: {service: alert.labels.service}
  steps:
    - name: look
      action: log
      with: {message: "customer ${{ alert.labels.customer }}: ${{ alert.annotations.description }}"}
`

// encryptionSetup runs the scenario on a fresh engine: a run that sends a
// secret header and a secret-looking param, a run whose secret is
// missing, an alert with distinctive labels and annotations, and an
// incident with a note. It returns the engine's data dir and what the
// target received.
func encryptionSetup(t *testing.T, plain bool) (dataDir string, received *headerLog, missing runwire.StepState) {
	t.Helper()
	received = &headerLog{}
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		received.add(r.Header.Get("Authorization"))
		// The target echoes the credential back: Firebreak must scrub it.
		w.Write([]byte(`{"youSent": "` + r.Header.Get("Authorization") + `"}`))
	}))
	t.Cleanup(target.Close)
	secretsDir := t.TempDir()
	os.WriteFile(filepath.Join(secretsDir, "checkout-api"), []byte(fileSecret+"\n"), 0o600)
	cat := catalogOf(t, encryptedRunbooks)
	dataDir = t.TempDir()
	eng := testenv.Engine(t, dataDir)
	fb := testenv.StartFirebreak(t, eng, testenv.Options{
		Catalog: cat, Plain: plain,
		Config: &config.Config{
			APIToken:        "api-token",
			SecretProviders: config.Secrets{Providers: []string{config.ProviderFiles}, Dir: secretsDir},
			// The test target listens on loopback.
			Egress: config.Egress{Allow: []string{"127.0.0.1"}},
		},
	})
	a := &api{t: t, base: fb.URL, token: "api-token"}

	ref := a.start(runs.StartRequest{Runbook: "calls-with-secret", Params: fmtParams("target", target.URL, "apiToken", paramSecret)})
	st := a.waitFor(ref.ID, "finished", func(s *runwire.RunState) bool { return s.Done() })
	call := step(st, "call")
	if call.Status != runwire.StepSucceeded {
		t.Fatalf("call step: %+v", call)
	}
	if b, _ := json.Marshal(call.Output); strings.Contains(string(b), fileSecret) || !strings.Contains(string(b), "[secret checkout-api]") {
		t.Errorf("the echoed credential is not scrubbed from the output: %s", b)
	}
	missing = step(st, "missing")

	code, resp := a.notify(notification("firing", alertmanagerAlert(labelValue, annotationValue)))
	if code != http.StatusOK || len(resp.Outcomes) != 1 || resp.Outcomes[0].ID == "" {
		t.Fatalf("alert: HTTP %d %+v", code, resp)
	}
	a.waitFor(resp.Outcomes[0].ID, "finished", func(s *runwire.RunState) bool { return s.Done() })

	var inc incidentwire.Incident
	if code := a.do("POST", "/v1/incidents", map[string]any{"title": "Checkout errors", "severity": "sev3", "commander": "U0EVE"}, &inc); code != http.StatusCreated {
		t.Fatalf("declare: HTTP %d", code)
	}
	if code := a.do("POST", incidentURL(inc.ID)+"/notes", map[string]any{"text": noteText, "by": "erin"}, nil); code != http.StatusOK {
		t.Fatalf("note: HTTP %d", code)
	}
	a.waitIncident(inc.ID, "noted", func(i *incidentwire.Incident) bool { return hasEntry(i, incidentwire.TimelineNote, noteText) })
	// Stop Firebreak and the engine, so everything is on disk.
	fb.Stop()
	if err := eng.Stop(); err != nil {
		t.Fatal(err)
	}
	return dataDir, received, missing
}

func alertmanagerAlert(customer, description string) alertmanager.Alert {
	al := amAlert("firing", "alertname", "SecretProbe", "service", "checkout", "customer", customer)
	al.Annotations = map[string]string{"description": description}
	return al
}

// catalogOf is a catalog of the runbooks in text.
func catalogOf(t *testing.T, text string) *runbooks.Catalog {
	t.Helper()
	cat := runbooks.NewCatalog()
	p := filepath.Join(t.TempDir(), "runbooks.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := cat.LoadPath(p); err != nil {
		t.Fatal(err)
	}
	return cat
}

// headerLog is what the target server received.
type headerLog struct {
	mu   sync.Mutex
	seen []string
}

func (h *headerLog) add(v string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seen = append(h.seen, v)
}

func (h *headerLog) has(v string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, s := range h.seen {
		if s == v {
			return true
		}
	}
	return false
}

// filesHolding lists the files under dir whose bytes contain s.
func filesHolding(t *testing.T, dir, s string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(s)) {
			out = append(out, filepath.Base(p))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestNothingSensitiveInTemporal reads the embedded engine's files (the
// SQLite databases and their write-ahead logs) as bytes after runs that
// send a secret header, take a secret-looking param, receive an alert
// with distinctive labels and annotations, and write an incident note:
// none of those strings is there, while the target did receive the
// header. The same scenario with encryption off finds them, so the check
// can fail.
func TestNothingSensitiveInTemporal(t *testing.T) {
	sensitive := []string{fileSecret, paramSecret, labelValue, annotationValue, noteText}
	t.Run("encrypted", func(t *testing.T) {
		dir, received, missing := encryptionSetup(t, false)
		if !received.has("Bearer " + fileSecret) {
			t.Errorf("the target never received the resolved header: %v", received.seen)
		}
		for _, s := range sensitive {
			if files := filesHolding(t, dir, s); len(files) > 0 {
				t.Errorf("%q is in Temporal's files in clear: %v", s, files)
			}
		}
		// The reference itself is all Temporal keeps of the secret, and a
		// missing secret fails its step naming the secret and provider.
		if missing.Status != runwire.StepFailed || !strings.Contains(missing.Error, "secret not-there not found in provider files") {
			t.Errorf("missing secret step: %+v", missing)
		}
	})
	t.Run("plain control", func(t *testing.T) {
		dir, _, _ := encryptionSetup(t, true)
		for _, s := range []string{paramSecret, labelValue, noteText} {
			if len(filesHolding(t, dir, s)) == 0 {
				t.Errorf("with encryption off %q is not in Temporal's files: the check above could not fail", s)
			}
		}
		// Even in clear, the file-held secret never reaches Temporal.
		if files := filesHolding(t, dir, fileSecret); len(files) > 0 {
			t.Errorf("the resolved secret reached Temporal: %v", files)
		}
	})
}

const approvalRunbook = `
apiVersion: firebreak/v1
kind: Runbook
metadata: {name: waits-for-ok}
spec:
  params:
    - {name: note, type: string, required: true}
  steps:
    - name: ok
      approval: {message: "go ahead?"}
    - {name: done, action: log, with: {message: "approved: ${{ params.note }}"}}
`

// TestPayloadKeyRotation rotates the payload key under a run waiting for
// approval: with the new key active and the old one kept, the run is
// approved and read; a keyring without the old key, or with another key
// under its id, stops start-up with an error naming the key; the right
// keyring reads everything again.
func TestPayloadKeyRotation(t *testing.T) {
	cat := catalogOf(t, approvalRunbook)
	k1, _ := codec.NewKey("k1")
	k2, _ := codec.NewKey("k2")
	ring := func(active string, keys ...codec.Key) *codec.Keyring {
		k, err := codec.NewKeyring(active, keys...)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	eng := testenv.Engine(t, t.TempDir())
	cfg := &config.Config{APIToken: "api-token"}
	start := func(keys *codec.Keyring) (*testenv.Firebreak, *api) {
		fb := testenv.StartFirebreak(t, eng, testenv.Options{Catalog: cat, Config: cfg, Keys: keys})
		return fb, &api{t: t, base: fb.URL, token: "api-token"}
	}

	fb, a := start(ring("k1", k1))
	ref := a.start(runs.StartRequest{Runbook: "waits-for-ok", Params: fmtParams("note", "rotated-note")})
	a.waitFor(ref.ID, "waiting", func(s *runwire.RunState) bool { return s.Status == runwire.StatusWaitingApproval })
	fb.Stop()

	rotated := ring("k2", k1, k2)
	fb, a = start(rotated)
	if code := a.do("POST", runURL(ref.ID)+"/approvals", map[string]any{"step": "ok", "approve": true, "by": "alice"}, nil); code != 200 {
		t.Fatalf("approve after rotation: HTTP %d", code)
	}
	st := a.waitFor(ref.ID, "succeeded", func(s *runwire.RunState) bool { return s.Done() })
	if st.Status != runwire.StatusSucceeded {
		t.Fatalf("run after rotation: %s", st.Status)
	}
	fb.Stop()

	for name, tc := range map[string]struct {
		keys *codec.Keyring
		want string
	}{
		"old key dropped":      {ring("k2", k2), "payload was encrypted with key k1, which the keyring does not hold (it holds k2)"},
		"another key under k1": {ring("k1", k2Renamed(k2, "k1")), "payload key k1 does not decrypt this payload"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := app.Run(ctx, app.Options{Role: app.RoleAll, Client: testenv.ClientWith(t, eng, tc.keys), Namespace: eng.Namespace(),
			Catalog: cat, Config: cfg, Listen: "127.0.0.1:0", Codec: tc.keys})
		cancel()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: start-up error %v, want %q", name, err, tc.want)
		}
	}

	// Nothing was lost: the right keyring reads the run again.
	fb, a = start(rotated)
	defer fb.Stop()
	var again runwire.RunState
	if code := a.do("GET", runURL(ref.ID), nil, &again); code != 200 || again.Status != runwire.StatusSucceeded || again.Params["note"] != "rotated-note" {
		t.Errorf("after the failed starts: HTTP %d %s %v", code, again.Status, again.Params)
	}
}

// k2Renamed is k's bytes under another id: a key file mixed up.
func k2Renamed(k codec.Key, id string) codec.Key { return codec.Key{ID: id, Bytes: k.Bytes} }

// TestCodecEndpoint decodes a payload as stored in Temporal through the
// API's codec endpoint: for a token allowed to read histories, not without
// one or for a principal without the verb; the Web UI's origin gets its
// CORS answer, another origin none.
func TestCodecEndpoint(t *testing.T) {
	eng := testenv.Engine(t, t.TempDir())
	cfg := &config.Config{
		Principals: []config.Principal{{Token: "tok-alice", Name: "alice"}, {Token: "tok-bot", Name: "bot", Groups: []string{"bots"}}},
		Roles: []config.Role{
			{Name: "responders", Verbs: []string{"runs.*", "histories.read"}, Principals: []string{"alice"}},
			{Name: "bots", Verbs: []string{"runs.read"}, Groups: []string{"bots"}},
		},
	}
	cat, err := runbooks.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	fb := testenv.StartFirebreak(t, eng, testenv.Options{Config: cfg, Catalog: cat})
	a := &api{t: t, base: fb.URL, token: "tok-alice"}
	// A dry run: hello-world lists nobody in spec.access.run.
	ref := a.start(runs.StartRequest{Runbook: "hello-world", Params: fmtParams("name", "codec-visible-name", "times", 1), DryRun: true})
	a.waitFor(ref.ID, "done", func(s *runwire.RunState) bool { return s.Done() })

	// The workflow's input as Temporal stores it, read without the codec.
	raw := testenv.ClientWith(t, eng, nil)
	it := raw.GetWorkflowHistory(context.Background(), ref.ID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	ev, err := it.Next()
	if err != nil {
		t.Fatal(err)
	}
	input := ev.GetWorkflowExecutionStartedEventAttributes().GetInput()
	body, err := protojson.Marshal(input)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(body), "codec-visible-name") || string(input.GetPayloads()[0].GetMetadata()["encoding"]) != codec.Encoding {
		t.Fatalf("the stored input is not encrypted: %s", body)
	}
	post := func(token, origin string) (int, string, http.Header) {
		req, _ := http.NewRequest("POST", fb.URL+"/v1/codec/decode", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Namespace", "default")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	code, out, _ := post("tok-alice", "")
	if code != 200 {
		t.Fatalf("decode for alice: HTTP %d %s", code, out)
	}
	var decoded commonpb.Payloads
	if err := protojson.Unmarshal([]byte(out), &decoded); err != nil || !strings.Contains(string(decoded.GetPayloads()[0].GetData()), "codec-visible-name") {
		t.Errorf("decoded: %s (%v)", out, err)
	}
	if code, out, _ := post("", ""); code != http.StatusUnauthorized || strings.Contains(out, "codec-visible-name") {
		t.Errorf("decode without a token: HTTP %d %s", code, out)
	}
	if code, out, _ := post("tok-bot", ""); code != http.StatusForbidden || strings.Contains(out, "codec-visible-name") {
		t.Errorf("decode without histories.read: HTTP %d %s", code, out)
	}
	// A preflight from another origin gets no CORS answer.
	req, _ := http.NewRequest("OPTIONS", fb.URL+"/v1/codec/decode", nil)
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("CORS answer for another origin: %v", resp.Header)
	}
}

// TestDevUIDecodesThroughFirebreak starts `firebreak dev` with its Web UI:
// it creates its payload key file (owner-only), the UI's settings point
// its codec at Firebreak's API, and a preflight from the UI's origin gets
// the CORS answer a browser needs.
func TestDevUIDecodesThroughFirebreak(t *testing.T) {
	bin := firebreakBinary(t)
	dataDir := t.TempDir()
	apiPort, temporalPort, uiPort := testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t)
	cmd := exec.Command(bin, "dev", "--data-dir", dataDir, "--listen", fmt.Sprintf("127.0.0.1:%d", apiPort),
		"--temporal-port", fmt.Sprint(temporalPort), "--ui-port", fmt.Sprint(uiPort))
	logFile, _ := os.Create(filepath.Join(t.TempDir(), "dev.log"))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		_ = cmd.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(logFile.Name())
			t.Logf("dev log:\n%s", b)
		}
	})
	a := &api{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", apiPort)}
	deadline := time.Now().Add(60 * time.Second)
	for a.tryGet("/readyz", nil) != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("firebreak dev never became ready")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if fi, err := os.Stat(filepath.Join(dataDir, "payload-keys.yaml")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("payload key file: %v %v", fi, err)
	}
	ui := fmt.Sprintf("http://127.0.0.1:%d", uiPort)
	resp, err := http.Get(ui + "/api/v1/settings")
	if err != nil {
		t.Fatal(err)
	}
	var settings struct {
		Codec struct {
			Endpoint           string
			IncludeCredentials bool
		}
	}
	json.NewDecoder(resp.Body).Decode(&settings)
	resp.Body.Close()
	if settings.Codec.Endpoint != a.base+"/v1/codec" {
		t.Errorf("the UI's codec endpoint is %q, want %s/v1/codec", settings.Codec.Endpoint, a.base)
	}
	req, _ := http.NewRequest("OPTIONS", a.base+"/v1/codec/decode", nil)
	req.Header.Set("Origin", ui)
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "content-type,x-namespace")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Access-Control-Allow-Origin") != ui || !strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "X-Namespace") {
		t.Errorf("preflight from the UI: %d %v", resp.StatusCode, resp.Header)
	}
}
