package cli

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestDoIdempotent: a declaration answered 503 or 429 is sent again with
// the same Idempotency-Key, so the server can hand back the incident the
// first one declared; an answer that retrying cannot change is final.
func TestDoIdempotent(t *testing.T) {
	for _, tc := range []struct {
		name     string
		answers  []int
		requests int
		ok       bool
	}{
		{"declared at once", []int{201}, 1, true},
		{"busy, then declared", []int{503, 429, 201}, 3, true},
		{"refused", []int{400, 201}, 1, false},
		{"busy every time", []int{503, 503, 503, 503, 503}, idempotentAttempts, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var keys []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				keys = append(keys, r.Header.Get("Idempotency-Key"))
				code := tc.answers[len(keys)-1]
				w.Header().Set("Retry-After", "0")
				w.WriteHeader(code)
				_, _ = w.Write([]byte(`{"id": "INC-2026-0001", "error": "x"}`))
			}))
			defer srv.Close()
			c := &apiClient{base: srv.URL, http: srv.Client()}
			var out struct{ ID string }
			err := c.doIdempotent(context.Background(), "POST", "/v1/incidents", map[string]string{"title": "t"}, &out)
			if (err == nil) != tc.ok || len(keys) != tc.requests {
				t.Fatalf("err %v after %d requests", err, len(keys))
			}
			for _, k := range keys {
				if k == "" || k != keys[0] {
					t.Fatalf("keys %q", keys)
				}
			}
			if tc.ok && out.ID != "INC-2026-0001" {
				t.Errorf("out %+v", out)
			}
		})
	}
}

// TestAuditExport: the export follows the cursor to the last page, prints
// every record oldest first, and fails when a page says something could
// not be read, after printing what it has.
func TestAuditExport(t *testing.T) {
	pages := map[string]struct{ body, next, missing string }{
		"":   {`{"at":"2026-11-30T09:00:00Z","kind":"run.started","subject":"runbook:a:1","text":"started"}` + "\n", "p2", "0"},
		"p2": {`{"at":"2026-11-30T08:00:00Z","kind":"incident.declared","subject":"INC-2026-0001","text":"declared"}` + "\n" + `{"at":"2026-11-30T07:00:00Z","kind":"audit.missing","subject":"runbook:b:2","text":"could not be read"}` + "\n", "", "1"},
	}
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked = append(asked, r.URL.RawQuery)
		p := pages[r.URL.Query().Get("cursor")]
		if p.next != "" {
			w.Header().Set("Firebreak-Audit-Next", p.next)
		}
		w.Header().Set("Firebreak-Audit-Missing", p.missing)
		_, _ = w.Write([]byte(p.body))
	}))
	defer srv.Close()
	var out, errOut bytes.Buffer
	code := Main([]string{"--server", srv.URL, "audit", "export", "--since", "168h"}, &out, &errOut)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if code == 0 || !strings.Contains(errOut.String(), "incomplete: 1 runs or incidents") || len(lines) != 3 ||
		!strings.Contains(lines[0], "audit.missing") || !strings.Contains(lines[2], "run.started") {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	if len(asked) != 2 || asked[0] != "since=168h" || asked[1] != "cursor=p2" {
		t.Errorf("asked %q", asked)
	}
}
