package redact_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/firebreak-ops/firebreak/internal/redact"
)

func TestIsSecretKey(t *testing.T) {
	for _, tc := range []struct {
		key    string
		secret bool
	}{
		{"Authorization", true},
		{"Proxy-Authorization", true},
		{"Set-Cookie", true},
		{"cookie", true},
		{"X-Api-Key", true},
		{"api_key", true},
		{"apiKey", true},
		{"routingKey", true},
		{"routing_key", true},
		{"integration-key", true},
		{"client_secret", true},
		{"password", true},
		{"params.token", true},
		{"key", true},
		{"sig", true},
		{"dedupKey", false},
		{"Idempotency-Key", false},
		{"key_id_hint", false},
		{"monkey", false},
		{"url", false},
		{"status", false},
		{"author", false},
	} {
		if got := redact.IsSecretKey(tc.key); got != tc.secret {
			t.Errorf("IsSecretKey(%q) = %v, want %v", tc.key, got, tc.secret)
		}
	}
}

// TestValue walks maps and lists at any depth and redacts strings, so no
// shape of a with:, an output or params keeps a secret.
func TestValue(t *testing.T) {
	in := map[string]any{
		"url": "https://api.example/v1?api_key=AK-123&page=2",
		"headers": map[string]any{
			"Authorization": "Bearer downstream-token",
			"Accept":        "application/json",
		},
		"calls": []any{
			map[string]any{"routingKey": "R0UT1NG", "summary": "disk full"},
			"https://admin:hunter2@db.example/",
			[]any{map[string]any{"Set-Cookie": "session=abc123"}},
		},
		"labels":   map[string]string{"token": "t0k3n", "team": "sre"},
		"list":     []string{"token=abc123", "plain"},
		"maps":     []map[string]any{{"password": "pw"}},
		"count":    3.0,
		"apiKey":   "",
		"password": nil,
	}
	got := redact.Value(in).(map[string]any)
	b, _ := json.Marshal(got)
	for _, secret := range []string{"AK-123", "downstream-token", "R0UT1NG", "hunter2", "abc123", "t0k3n", `"pw"`} {
		if strings.Contains(string(b), secret) {
			t.Errorf("%q survived: %s", secret, b)
		}
	}
	for _, kept := range []string{"page=2", "application/json", "disk full", "admin:redacted@db.example", `"team":"sre"`, "plain", `"count":3`, `"apiKey":""`} {
		if !strings.Contains(string(b), kept) {
			t.Errorf("%q lost: %s", kept, b)
		}
	}
	if in["headers"].(map[string]any)["Authorization"] != "Bearer downstream-token" {
		t.Error("Value changed its input")
	}
	if redact.Map(nil) != nil {
		t.Error("Map(nil) is not nil")
	}
}

func TestText(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"url password", "GET http://admin:url-password@127.0.0.1:1/: refused", "GET http://admin:redacted@127.0.0.1:1/: refused"},
		{"api_key query", "GET https://x.example/q?api_key=S3CR3T&n=1: 500", "GET https://x.example/q?api_key=redacted&n=1: 500"},
		{"token query", "https://x.example/?a=1&access_token=abc.def", "https://x.example/?a=1&access_token=redacted"},
		{"sig and key", "https://blob.example/f?sv=1&sig=Zm9v%2B&key=AIzaXYZ", "https://blob.example/f?sv=1&sig=redacted&key=redacted"},
		{"fragment token", "https://app.example/cb#access_token=T0K&state=1", "https://app.example/cb#access_token=redacted&state=1"},
		{"bearer", "sent Bearer eyJhbGciOi.x.y to upstream", "sent Bearer [redacted] to upstream"},
		{"authorization header", "Authorization: Basic dXNlcjpwYXNz\nAccept: */*", "Authorization: [redacted]\nAccept: */*"},
		{"set-cookie header", "Set-Cookie: session=abc; HttpOnly", "Set-Cookie: [redacted]"},
		{"pair", "login failed: password=hunter2 user=bob", "login failed: password=[redacted] user=bob"},
		{"json pair", `{"routing_key":"R0UT1NG","event_action":"trigger"}`, `{"routing_key":"[redacted]","event_action":"trigger"}`},
		{"slack token", "invalid_auth for xoxb-1234-5678-abcdef", "invalid_auth for [redacted]"},
		{"error about a param", "params.token: is required", "params.token: is required"},
		{"plain", "step restart: timed out after 5m", "step restart: timed out after 5m"},
		{"url without secret", "https://grafana.example/d/x?orgId=1&from=now-1h", "https://grafana.example/d/x?orgId=1&from=now-1h"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := redact.Text(tc.in); got != tc.want {
				t.Errorf("Text(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
			if again := redact.Text(redact.Text(tc.in)); again != tc.want {
				t.Errorf("Text is not idempotent: %q", again)
			}
		})
	}
}

// TestLogger: messages, attributes under secret keys, strings and errors
// in attributes, and attributes given with With, all redacted.
func TestLogger(t *testing.T) {
	var buf bytes.Buffer
	l := redact.Logger(slog.New(slog.NewJSONHandler(&buf, nil)))
	if redact.Logger(l) != l {
		t.Error("a redacting logger was wrapped again")
	}
	l.With("token", "with-s3cret").Info("calling https://x/?api_key=msg-s3cret",
		"apiKey", "attr-s3cret", "err", errors.New("dial http://u:err-s3cret@h/"),
		slog.Group("req", "Authorization", "Bearer group-s3cret"), "url", "https://h/?password=str-s3cret", "ok", "kept")
	out := buf.String()
	for _, s := range []string{"with-s3cret", "msg-s3cret", "attr-s3cret", "err-s3cret", "group-s3cret", "str-s3cret"} {
		if strings.Contains(out, s) {
			t.Errorf("%s in the log: %s", s, out)
		}
	}
	if !strings.Contains(out, `"ok":"kept"`) {
		t.Errorf("plain attribute lost: %s", out)
	}
}
