// Package tests holds Firebreak's end-to-end tests: the real HTTP API, a
// real worker and the embedded Temporal server, in process.
package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/firebreak-ops/firebreak/internal/runs"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// api is a tiny JSON client for tests.
type api struct {
	t     testing.TB
	base  string
	token string
}

func (a *api) do(method, path string, body any, out any) int {
	a.t.Helper()
	var rd io.Reader
	if s, ok := body.(string); ok {
		rd = strings.NewReader(s)
	} else if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, a.base+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			a.t.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, data, err)
		}
	}
	return resp.StatusCode
}

func runURL(id string) string { return "/v1/runs/" + url.PathEscape(id) }

// waitFor polls a run until cond holds.
func (a *api) waitFor(id string, what string, cond func(*runwire.RunState) bool) *runwire.RunState {
	a.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var st runwire.RunState
	for time.Now().Before(deadline) {
		st = runwire.RunState{}
		if code := a.do("GET", runURL(id), nil, &st); code == 200 && cond(&st) {
			return &st
		}
		time.Sleep(100 * time.Millisecond)
	}
	a.t.Fatalf("run %s never became %s; last state %+v", id, what, st)
	return nil
}

func (a *api) start(req runs.StartRequest) runs.Ref {
	a.t.Helper()
	var ref runs.Ref
	if code := a.do("POST", "/v1/runs", req, &ref); code != http.StatusCreated {
		a.t.Fatalf("start %+v: HTTP %d", req, code)
	}
	return ref
}

func step(st *runwire.RunState, name string) runwire.StepState {
	for _, s := range st.Steps {
		if s.Name == name {
			return s
		}
	}
	return runwire.StepState{}
}

type errBody struct {
	Error string `json:"error"`
	Field string `json:"field"`
}

func expectError(t *testing.T, a *api, method, path string, body any, code int, contains string) {
	t.Helper()
	var e errBody
	got := a.do(method, path, body, &e)
	if got != code || !strings.Contains(e.Error, contains) {
		t.Errorf("%s %s %v: HTTP %d %q, want %d containing %q", method, path, body, got, e.Error, code, contains)
	}
}

func fmtParams(kv ...any) map[string]any {
	m := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[fmt.Sprint(kv[i])] = kv[i+1]
	}
	return m
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
