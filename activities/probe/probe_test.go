package probe_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/firebreak-ops/firebreak/activities/actions"
	"github.com/firebreak-ops/firebreak/activities/probe"
	"github.com/firebreak-ops/firebreak/internal/testenv"
)

func TestHTTPRequest(t *testing.T) {
	var gotBody, gotAuth, gotKey string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		gotBody, gotAuth, gotKey = string(b), r.Header.Get("Authorization"), r.Header.Get("Idempotency-Key")
		switch r.URL.Path {
		case "/json":
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"healthy": true, "replicas": 3}`)
		case "/down":
			w.WriteHeader(http.StatusServiceUnavailable)
		case "/missing":
			w.WriteHeader(http.StatusNotFound)
		default:
			_, _ = io.WriteString(w, "ok")
		}
	}))
	defer srv.Close()
	a := &probe.Activities{HTTP: srv.Client()}
	for _, tc := range []struct {
		name      string
		with      map[string]any
		wantErr   string
		permanent bool
		check     func(t *testing.T, out map[string]any)
	}{
		{name: "json", with: map[string]any{"url": srv.URL + "/json"}, check: func(t *testing.T, out map[string]any) {
			if out["status"] != int64(200) || out["json"].(map[string]any)["replicas"] != float64(3) {
				t.Fatalf("out %v", out)
			}
		}},
		{name: "post body and headers", with: map[string]any{"url": srv.URL + "/", "method": "post",
			"body": map[string]any{"a": 1}, "headers": map[string]any{"Authorization": "Bearer x"}}, check: func(t *testing.T, out map[string]any) {
			if gotBody != `{"a":1}` || gotAuth != "Bearer x" || gotKey != "run-1/step" {
				t.Fatalf("server saw body %q auth %q key %q", gotBody, gotAuth, gotKey)
			}
		}},
		{name: "5xx is retryable", with: map[string]any{"url": srv.URL + "/down"}, wantErr: "status 503, expected 2xx"},
		{name: "4xx is permanent", with: map[string]any{"url": srv.URL + "/missing"}, wantErr: "status 404", permanent: true},
		{name: "expected 404", with: map[string]any{"url": srv.URL + "/missing", "expectedStatus": float64(404)}},
		{name: "expected list", with: map[string]any{"url": srv.URL + "/down", "expectedStatus": []any{float64(200), float64(503)}}},
		{name: "relative url", with: map[string]any{"url": "/x"}, wantErr: "must be an absolute http or https URL", permanent: true},
		{name: "unknown field", with: map[string]any{"url": srv.URL, "verb": "GET"}, wantErr: `unknown field "verb"`, permanent: true},
		{name: "connection refused", with: map[string]any{"url": "http://127.0.0.1:1/"}, wantErr: "connection refused"},
		{name: "user info hidden", with: map[string]any{"url": "http://admin:hunter2@127.0.0.1:1/"}, wantErr: "redacted@127.0.0.1:1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := a.HTTPRequest(context.Background(), actions.Request{RunID: "run-1", Step: "step", With: tc.with})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Fatal("password in error")
				}
				if actions.IsPermanent(err) != tc.permanent {
					t.Fatalf("permanent=%v, want %v", actions.IsPermanent(err), tc.permanent)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.check != nil {
				tc.check(t, out.(map[string]any))
			}
		})
	}
}

func TestPrometheusQuery(t *testing.T) {
	url := testenv.Prometheus(t)
	a := &probe.Activities{HTTP: http.DefaultClient, PrometheusURL: url}
	out, err := a.PrometheusQuery(context.Background(), actions.Request{With: map[string]any{"query": `up{job="prometheus"}`}})
	if err != nil {
		t.Fatal(err)
	}
	m := out.(map[string]any)
	if m["resultType"] != "vector" || m["count"] != int64(1) || m["value"] != 1.0 {
		t.Fatalf("out %v", m)
	}
	samples := m["samples"].([]any)
	if samples[0].(map[string]any)["labels"].(map[string]any)["job"] != "prometheus" {
		t.Fatalf("samples %v", samples)
	}
	out, err = a.PrometheusQuery(context.Background(), actions.Request{With: map[string]any{"query": `up{job="nothing"}`}})
	if err != nil {
		t.Fatal(err)
	}
	if m := out.(map[string]any); m["count"] != int64(0) || m["value"] != nil {
		t.Fatalf("empty result %v", m)
	}
	_, err = a.PrometheusQuery(context.Background(), actions.Request{With: map[string]any{"query": `sum(`}})
	if err == nil || !actions.IsPermanent(err) {
		t.Fatalf("bad PromQL: %v (permanent=%v)", err, actions.IsPermanent(err))
	}
	a.PrometheusURL = ""
	if _, err := a.PrometheusQuery(context.Background(), actions.Request{With: map[string]any{"query": "up"}}); err == nil || !strings.Contains(err.Error(), "FIREBREAK_PROMETHEUS_URL") {
		t.Fatalf("unconfigured: %v", err)
	}
}
