package testenv

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/firebreak-ops/firebreak/internal/codec"
)

// testKey is this test process's payload key: every client and Firebreak
// the tests start encrypts with it, as production does.
var testKey = sync.OnceValues(func() (codec.Key, error) { return codec.NewKey("test-1") })

// Keyring returns the test process's payload keyring.
func Keyring(t testing.TB) *codec.Keyring {
	t.Helper()
	k, err := testKey()
	if err != nil {
		t.Fatal(err)
	}
	kr, err := codec.NewKeyring(k.ID, k)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// KeyFile writes the test keyring to a key file in the test's temp dir,
// for `firebreak serve` processes that share an engine with the test's
// clients.
func KeyFile(t testing.TB) string {
	t.Helper()
	k, err := testKey()
	if err != nil {
		t.Fatal(err)
	}
	data, err := codec.FormatKeys(k.ID, k)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "payload-keys.yaml")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
