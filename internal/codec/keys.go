package codec

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// keyFile is the key file's shape:
//
//	active: k-20261130-1
//	keys:
//	  - id: k-20261130-1
//	    key: <32 random bytes, base64>
type keyFile struct {
	Active string      `yaml:"active"`
	Keys   []keyRecord `yaml:"keys"`
}

type keyRecord struct {
	ID  string `yaml:"id"`
	Key string `yaml:"key"`
}

const keyFileHeader = `# Firebreak payload encryption keys (AES-256-GCM). Keep this file secret and
# backed up: histories written with a key cannot be read without it.
# Rotate with "firebreak keys rotate <file>": the new key becomes active and
# the old ones stay to decrypt what they wrote.
`

// ParseKeys reads keys in the key file format; from names the source in
// errors (a path, "secret firebreak-payload-keys").
func ParseKeys(data []byte, from string) (*Keyring, error) {
	var f keyFile
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s: %s", from, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(f.Keys) == 0 {
		return nil, fmt.Errorf("%s: no keys", from)
	}
	keys := make([]Key, 0, len(f.Keys))
	for i, r := range f.Keys {
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(r.Key))
		if err != nil {
			return nil, fmt.Errorf("%s: keys[%d] (%s): the key is not base64", from, i, r.ID)
		}
		keys = append(keys, Key{ID: r.ID, Bytes: b})
	}
	k, err := NewKeyring(f.Active, keys...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", from, err)
	}
	return k, nil
}

// LoadKeyFile reads a key file.
func LoadKeyFile(path string) (*Keyring, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("payload keys: %w", err)
	}
	return ParseKeys(data, path)
}

// EnsureKeyFile reads the key file at path, creating it with one new key
// (readable by its owner only) when there is none; created says which.
func EnsureKeyFile(path string) (k *Keyring, created bool, err error) {
	k, err = LoadKeyFile(path)
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		return k, false, err
	}
	f := keyFile{}
	id, err := addKey(&f)
	if err != nil {
		return nil, false, err
	}
	f.Active = id
	if err := writeKeyFile(path, f, os.O_CREATE|os.O_EXCL|os.O_WRONLY); err != nil {
		return nil, false, err
	}
	k, err = LoadKeyFile(path)
	return k, err == nil, err
}

// RotateKeyFile adds a new key to the file at path and makes it active;
// the old keys stay for decryption. It returns the new key's id.
func RotateKeyFile(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("payload keys: %w", err)
	}
	if _, err := ParseKeys(data, path); err != nil {
		return "", err
	}
	var f keyFile
	if err := yaml.Unmarshal(data, &f); err != nil {
		return "", err
	}
	id, err := addKey(&f)
	if err != nil {
		return "", err
	}
	f.Active = id
	tmp := path + ".new"
	if err := writeKeyFile(tmp, f, os.O_CREATE|os.O_TRUNC|os.O_WRONLY); err != nil {
		return "", err
	}
	return id, os.Rename(tmp, path)
}

// addKey appends a fresh random key with an id from today's date.
func addKey(f *keyFile) (string, error) {
	b := make([]byte, KeySize)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	base := "k-" + time.Now().UTC().Format("20060102")
	id := base
	for n := 2; ; n++ {
		taken := false
		for _, r := range f.Keys {
			taken = taken || r.ID == id
		}
		if !taken {
			break
		}
		id = fmt.Sprintf("%s-%d", base, n)
	}
	f.Keys = append(f.Keys, keyRecord{ID: id, Key: base64.StdEncoding.EncodeToString(b)})
	return id, nil
}

func writeKeyFile(path string, f keyFile, flag int) error {
	data, err := yaml.Marshal(f)
	if err != nil {
		return err
	}
	out, err := os.OpenFile(path, flag, 0o600)
	if err != nil {
		return fmt.Errorf("payload keys: %w", err)
	}
	if _, err := out.Write(append([]byte(keyFileHeader), data...)); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}

// FormatKeys renders keys in the key file format, active first to
// encrypt.
func FormatKeys(active string, keys ...Key) ([]byte, error) {
	f := keyFile{Active: active}
	for _, k := range keys {
		f.Keys = append(f.Keys, keyRecord{ID: k.ID, Key: base64.StdEncoding.EncodeToString(k.Bytes)})
	}
	data, err := yaml.Marshal(f)
	if err != nil {
		return nil, err
	}
	return append([]byte(keyFileHeader), data...), nil
}

// NewKey returns a random key with the given id.
func NewKey(id string) (Key, error) {
	b := make([]byte, KeySize)
	_, err := rand.Read(b)
	return Key{ID: id, Bytes: b}, err
}
