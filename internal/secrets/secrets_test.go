package secrets

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseRef(t *testing.T) {
	for _, tc := range []struct {
		expr, name string
		ref        bool
		err        string
	}{
		{expr: `secret("checkout-api")`, name: "checkout-api", ref: true},
		{expr: ` secret( 'db/password' ) `, name: "db/password", ref: true},
		{expr: `params.target`},
		{expr: `secret("Checkout API")`, err: "is not valid"},
		{expr: `secret("")`, err: "is not valid"},
		{expr: `"Bearer " + secret("checkout-api")`, err: "must be a whole ${{ }}"},
		{expr: `secret(params.name)`, err: "must be a whole ${{ }}"},
	} {
		name, ref, err := ParseRef(tc.expr)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseRef(%s) error %v, want %q", tc.expr, err, tc.err)
			}
			continue
		}
		if err != nil || name != tc.name || ref != tc.ref {
			t.Errorf("ParseRef(%s) = %q, %v, %v; want %q, %v", tc.expr, name, ref, err, tc.name, tc.ref)
		}
	}
}

func TestEnvName(t *testing.T) {
	for in, want := range map[string]string{
		"checkout-api": "FIREBREAK_SECRET_CHECKOUT_API",
		"db/password":  "FIREBREAK_SECRET_DB_PASSWORD",
		"a.b_c":        "FIREBREAK_SECRET_A_B_C",
	} {
		if got := EnvName(in); got != want {
			t.Errorf("EnvName(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestProviders(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "checkout-api"), []byte("file-value\n"), 0o600)
	os.MkdirAll(filepath.Join(dir, "one-key"), 0o700)
	os.WriteFile(filepath.Join(dir, "one-key", "token"), []byte("only-key"), 0o600)
	os.MkdirAll(filepath.Join(dir, "two-keys"), 0o700)
	os.WriteFile(filepath.Join(dir, "two-keys", "user"), []byte("u"), 0o600)
	os.WriteFile(filepath.Join(dir, "two-keys", "password"), []byte("p-value"), 0o600)
	env := Env{Getenv: func(k string) (string, bool) {
		if k == "FIREBREAK_SECRET_FROM_ENV" {
			return "env-value", true
		}
		return "", false
	}}
	store := NewStore(env, Dir{Path: dir})
	ctx := context.Background()
	for _, tc := range []struct{ name, want, err string }{
		{name: "from-env", want: "env-value"},
		{name: "checkout-api", want: "file-value"},
		{name: "one-key", want: "only-key"},
		{name: "two-keys/password", want: "p-value"},
		{name: "two-keys", err: "is a directory with 2 files; name one key: two-keys/<key>"},
		{name: "missing", err: "secret missing not found in providers env, files"},
		{name: "../etc/passwd", err: "is not valid"},
	} {
		got, err := store.Resolve(ctx, tc.name)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Resolve(%s) error %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Resolve(%s) = %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
	_, err := NewStore(Dir{Path: dir}).Resolve(ctx, "checkout")
	if err == nil || err.Error() != "secret checkout not found in provider files" {
		t.Errorf("one provider: %v", err)
	}
}

type mapResolver map[string]string

func (m mapResolver) Resolve(_ context.Context, name string) (string, error) {
	if v, ok := m[name]; ok {
		return v, nil
	}
	return "", &NotFoundError{Name: name, Providers: []string{"test"}}
}

func TestFillOnlyAtPaths(t *testing.T) {
	r := mapResolver{"api": "tok3n-value", "other": "other-value"}
	with := map[string]any{
		"headers": map[string]any{"Authorization": "Bearer " + Marker("api")},
		// Not a path the template put a reference at: an alert's text.
		"body": []any{"from an alert: " + Marker("other")},
	}
	got, values, err := Fill(context.Background(), r, with, []Path{{"headers", "Authorization"}})
	if err != nil {
		t.Fatal(err)
	}
	if h := got["headers"].(map[string]any)["Authorization"]; h != "Bearer tok3n-value" {
		t.Errorf("Authorization = %v", h)
	}
	if b := got["body"].([]any)[0]; b != "from an alert: "+Marker("other") {
		t.Errorf("a marker outside the paths was resolved: %v", b)
	}
	if with["headers"].(map[string]any)["Authorization"] != "Bearer "+Marker("api") {
		t.Error("Fill changed the caller's map")
	}
	out, err := Scrub(map[string]any{"echo": "got Bearer tok3n-value", "tok3n-value": 1}, values)
	if err != nil {
		t.Fatal(err)
	}
	if s := out.(map[string]any)["echo"]; s != "got Bearer [secret api]" {
		t.Errorf("scrubbed echo = %v", s)
	}
	if _, ok := out.(map[string]any)["[secret api]"]; !ok {
		t.Errorf("a key holding the value was not scrubbed: %v", out)
	}
	if _, _, err := Fill(context.Background(), r, map[string]any{"h": Marker("nope")}, []Path{{"h"}}); err == nil || !strings.Contains(err.Error(), "secret nope not found in provider test") {
		t.Errorf("missing secret: %v", err)
	}
}

func TestCanonical(t *testing.T) {
	got, ok, err := Canonical(`Bearer ${{secret('checkout-api')}}`)
	if err != nil || !ok || got != "Bearer "+Marker("checkout-api") {
		t.Errorf("Canonical = %q, %v, %v", got, ok, err)
	}
	if _, _, err := Canonical(`${{ params.x }}`); err == nil {
		t.Error("Canonical accepted a CEL expression")
	}
}
