package codec

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
)

func keyring(t *testing.T, active string, keys ...Key) *Keyring {
	t.Helper()
	k, err := NewKeyring(active, keys...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newKey(t *testing.T, id string) Key {
	k, err := NewKey(id)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestRoundTripAndRotation(t *testing.T) {
	k1, k2 := newKey(t, "k1"), newKey(t, "k2")
	old := keyring(t, "k1", k1)
	p, err := converter.GetDefaultDataConverter().ToPayload(map[string]string{"note": "distinctive-incident-note"})
	if err != nil {
		t.Fatal(err)
	}
	enc, err := old.Encode([]*commonpb.Payload{p})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(enc[0].Data, []byte("distinctive")) || string(enc[0].Metadata[KeyIDKey]) != "k1" {
		t.Fatalf("encoded payload: %v", enc[0])
	}
	rotated := keyring(t, "k2", k1, k2)
	for name, tc := range map[string]struct {
		ring *Keyring
		err  string
	}{
		"same key":           {ring: old},
		"rotated keeps old":  {ring: rotated},
		"old key dropped":    {ring: keyring(t, "k2", k2), err: "encrypted with key k1, which the keyring does not hold (it holds k2)"},
		"other key same id":  {ring: keyring(t, "k1", newKey(t, "k1")), err: "payload key k1 does not decrypt this payload"},
		"plain passes again": {ring: rotated},
	} {
		in := enc
		if name == "plain passes again" {
			in = []*commonpb.Payload{p}
		}
		dec, err := tc.ring.Decode(in)
		if tc.err != "" {
			var ke *KeyError
			if !errors.As(err, &ke) || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: %v, want %q", name, err, tc.err)
			}
			continue
		}
		if err != nil || !bytes.Equal(dec[0].Data, p.Data) {
			t.Errorf("%s: %v %v", name, dec, err)
		}
	}
	// The rotated ring encrypts with the new key.
	enc2, _ := rotated.Encode([]*commonpb.Payload{p})
	if string(enc2[0].Metadata[KeyIDKey]) != "k2" {
		t.Errorf("rotated ring encrypts with %s", enc2[0].Metadata[KeyIDKey])
	}
}

func TestKeyFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.yaml")
	k, created, err := EnsureKeyFile(path)
	if err != nil || !created {
		t.Fatalf("EnsureKeyFile: %v %v", created, err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v", fi.Mode())
	}
	again, created, err := EnsureKeyFile(path)
	if err != nil || created || again.Active() != k.Active() {
		t.Fatalf("second EnsureKeyFile: %v %v %v", again, created, err)
	}
	id, err := RotateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := LoadKeyFile(path)
	if err != nil || r.Active() != id || len(r.IDs()) != 2 || id == k.Active() {
		t.Fatalf("after rotation: %v %v", r, err)
	}
	for _, tc := range []struct{ text, err string }{
		{"active: a\nkeys: [{id: a, key: \"not base64!\"}]", "not base64"},
		{"active: a\nkeys: [{id: a, key: YWJj}]", "is 3 bytes; AES-256 needs 32"},
		{"active: b\nkeys: [{id: a, key: " + strings.Repeat("A", 43) + "=}]", `active payload key "b" is not among the keys`},
		{"keys: []", "no keys"},
		{"active: a\nkeyz: []", "field keyz not found"},
	} {
		if _, err := ParseKeys([]byte(tc.text), "test.yaml"); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("ParseKeys(%q): %v, want %q", tc.text, err, tc.err)
		}
	}
}
