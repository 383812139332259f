package app

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/firebreak-ops/firebreak/internal/codec"
	"github.com/firebreak-ops/firebreak/internal/config"
)

// TestPayloadKeys: where the keyring comes from, in order, and serve's
// refusal without one.
func TestPayloadKeys(t *testing.T) {
	dir := t.TempDir()
	k, _ := codec.NewKey("from-secret")
	text, err := codec.FormatKeys("from-secret", k)
	if err != nil {
		t.Fatal(err)
	}
	secretsDir := filepath.Join(dir, "secrets")
	os.MkdirAll(secretsDir, 0o700)
	os.WriteFile(filepath.Join(secretsDir, "payload-keys"), text, 0o600)
	keyFile := filepath.Join(dir, "file-keys.yaml")
	if _, _, err := codec.EnsureKeyFile(keyFile); err != nil {
		t.Fatal(err)
	}
	files := config.Secrets{Providers: []string{config.ProviderFiles}, Dir: secretsDir}
	for _, tc := range []struct {
		name   string
		cfg    config.Config
		devDir string
		active string // "" with no error: encryption off
		err    string
	}{
		{name: "key file", cfg: config.Config{Encryption: config.Encryption{KeyFile: keyFile}}},
		{name: "key secret", cfg: config.Config{SecretProviders: files, Encryption: config.Encryption{KeySecret: "payload-keys"}}, active: "from-secret"},
		{name: "missing key secret", cfg: config.Config{SecretProviders: files, Encryption: config.Encryption{KeySecret: "nope"}}, err: "payload keys: secret nope not found in provider files"},
		{name: "dev creates one", devDir: filepath.Join(dir, "dev")},
		{name: "disabled", cfg: config.Config{Encryption: config.Encryption{Disabled: true}}},
		{name: "serve without keys", err: "no payload encryption keys: set encryption.keyFile"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.devDir != "" {
				os.MkdirAll(tc.devDir, 0o750)
			}
			kr, _, err := PayloadKeys(context.Background(), &tc.cfg, SecretStore(&tc.cfg), tc.devDir)
			switch {
			case tc.err != "":
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				if tc.name == "serve without keys" && !errors.Is(err, ErrNoPayloadKeys) {
					t.Fatalf("error %v is not ErrNoPayloadKeys", err)
				}
			case err != nil:
				t.Fatal(err)
			case tc.cfg.Encryption.Disabled:
				if kr != nil {
					t.Fatal("a keyring although encryption is disabled")
				}
			case kr == nil:
				t.Fatal("no keyring")
			case tc.active != "" && kr.Active() != tc.active:
				t.Fatalf("active key %s, want %s", kr.Active(), tc.active)
			}
		})
	}
}
