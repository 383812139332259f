package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Provider looks secrets up in one place. Lookup returns found=false, not
// an error, when the provider simply has no such secret; errors are for a
// provider that cannot answer (unreadable file, API refused).
type Provider interface {
	Name() string
	Lookup(ctx context.Context, name string) (value string, found bool, err error)
}

// Resolver turns a secret's name into its value.
type Resolver interface {
	Resolve(ctx context.Context, name string) (string, error)
}

// NotFoundError says which providers were asked for a secret none holds.
type NotFoundError struct {
	Name      string
	Providers []string
}

func (e *NotFoundError) Error() string {
	if len(e.Providers) == 0 {
		return fmt.Sprintf("secret %s not found: no secret provider is configured (secrets.providers)", e.Name)
	}
	word := "provider"
	if len(e.Providers) > 1 {
		word = "providers"
	}
	return fmt.Sprintf("secret %s not found in %s %s", e.Name, word, strings.Join(e.Providers, ", "))
}

// Store asks its providers in order; the first that holds a secret wins.
type Store struct {
	providers []Provider
}

// NewStore builds a store over providers, asked in the order given.
func NewStore(providers ...Provider) *Store { return &Store{providers: providers} }

// Providers names the store's providers in order.
func (s *Store) Providers() []string {
	if s == nil {
		return nil
	}
	out := make([]string, len(s.providers))
	for i, p := range s.providers {
		out[i] = p.Name()
	}
	return out
}

// Resolve returns the value of the named secret. Errors name the secret
// and the provider, never a value.
func (s *Store) Resolve(ctx context.Context, name string) (string, error) {
	if err := CheckName(name); err != nil {
		return "", err
	}
	if s == nil {
		return "", &NotFoundError{Name: name}
	}
	for _, p := range s.providers {
		v, ok, err := p.Lookup(ctx, name)
		if err != nil {
			return "", fmt.Errorf("secret %s: provider %s: %w", name, p.Name(), err)
		}
		if ok {
			return v, nil
		}
	}
	return "", &NotFoundError{Name: name, Providers: s.Providers()}
}

// EnvPrefix starts the environment variable of every secret.
const EnvPrefix = "FIREBREAK_SECRET_"

// EnvName is the environment variable that holds a secret:
// "checkout-api" is FIREBREAK_SECRET_CHECKOUT_API, "db/password" is
// FIREBREAK_SECRET_DB_PASSWORD.
func EnvName(name string) string {
	var b strings.Builder
	b.WriteString(EnvPrefix)
	for _, r := range strings.ToUpper(name) {
		if (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// Env reads secrets from FIREBREAK_SECRET_* variables (see EnvName).
type Env struct {
	// Getenv defaults to os.LookupEnv.
	Getenv func(string) (string, bool)
}

// Name is "env".
func (Env) Name() string { return "env" }

// Lookup reads the secret's variable; an empty variable counts as unset.
func (e Env) Lookup(_ context.Context, name string) (string, bool, error) {
	get := e.Getenv
	if get == nil {
		get = os.LookupEnv
	}
	v, ok := get(EnvName(name))
	return v, ok && v != "", nil
}

// Dir reads secrets from files in a directory, laid out as Kubernetes
// mounts a Secret: "checkout-api" is the file <dir>/checkout-api (or the
// only file in the directory <dir>/checkout-api), "checkout-api/token" is
// <dir>/checkout-api/token. One trailing newline is dropped.
type Dir struct {
	Path string
}

// Name is "files".
func (Dir) Name() string { return "files" }

// Lookup reads the secret's file.
func (d Dir) Lookup(_ context.Context, name string) (string, bool, error) {
	p := filepath.Join(d.Path, filepath.FromSlash(name))
	fi, err := os.Stat(p)
	if errors.Is(err, os.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	if fi.IsDir() {
		// A Secret with one key mounted as a directory.
		entries, err := os.ReadDir(p)
		if err != nil {
			return "", false, err
		}
		var files []string
		for _, e := range entries {
			// Kubernetes' atomic writer keeps ..data and timestamped dirs.
			if !strings.HasPrefix(e.Name(), "..") && !e.IsDir() {
				files = append(files, e.Name())
			}
		}
		if len(files) != 1 {
			sort.Strings(files)
			return "", false, fmt.Errorf("%s is a directory with %d files; name one key: %s/<key>", name, len(files), name)
		}
		p = filepath.Join(p, files[0])
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return "", false, err
	}
	return strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r"), true, nil
}

// Fill resolves the references in with: at the given paths, each a string
// holding markers. It returns a copy of with (the caller's map is left as
// the workflow sent it) and the resolved values by name, for Scrub.
// Markers anywhere else are left as text: only the paths the runbook's
// own template put a reference at are resolved, so a value that came from
// an alert cannot ask for a secret.
func Fill(ctx context.Context, r Resolver, with map[string]any, paths []Path) (map[string]any, map[string]string, error) {
	if len(paths) == 0 {
		return with, nil, nil
	}
	out, _ := deepCopy(with).(map[string]any)
	values := map[string]string{}
	for _, p := range paths {
		if len(p) == 0 {
			continue
		}
		parent, ok := p[:len(p)-1].Lookup(out)
		if !ok {
			return nil, nil, fmt.Errorf("with.%s: no value where the secret reference was", p)
		}
		last := p[len(p)-1]
		v, _ := p[len(p)-1:].Lookup(parent)
		s, ok := v.(string)
		if !ok {
			return nil, nil, fmt.Errorf("with.%s: a secret reference must be in a string", p)
		}
		for _, name := range Names(s) {
			if _, done := values[name]; done {
				continue
			}
			val, err := r.Resolve(ctx, name)
			if err != nil {
				return nil, nil, err
			}
			values[name] = val
		}
		s = markerPattern.ReplaceAllStringFunc(s, func(m string) string {
			return values[markerPattern.FindStringSubmatch(m)[1]]
		})
		switch x := parent.(type) {
		case map[string]any:
			x[last] = s
		case []any:
			i, _ := strconv.Atoi(last) // Lookup found it, so it is an index
			x[i] = s
		}
	}
	return out, values, nil
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	}
	return v
}

// minScrub is the shortest value Scrub replaces: shorter ones would turn
// ordinary text into noise.
const minScrub = 4

// ScrubText replaces every resolved value in s with [secret <name>].
func ScrubText(s string, values map[string]string) string {
	for _, name := range sortedByLength(values) {
		if v := values[name]; len(v) >= minScrub {
			s = strings.ReplaceAll(s, v, "[secret "+name+"]")
		}
	}
	return s
}

// Scrub returns v with every resolved value replaced in its strings, at
// any depth; v goes through JSON first, so structs are covered too. A
// target that echoes a header back gets its echo scrubbed.
func Scrub(v any, values map[string]string) (any, error) {
	if len(values) == 0 || v == nil {
		return v, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var generic any
	if err := json.Unmarshal(b, &generic); err != nil {
		return nil, err
	}
	return scrubValue(generic, values), nil
}

func scrubValue(v any, values map[string]string) any {
	switch x := v.(type) {
	case string:
		return ScrubText(x, values)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[ScrubText(k, values)] = scrubValue(e, values)
		}
		return out
	case []any:
		for i, e := range x {
			x[i] = scrubValue(e, values)
		}
		return x
	}
	return v
}

// sortedByLength orders names by their value's length, longest first, so
// a value that contains another is replaced whole.
func sortedByLength(values map[string]string) []string {
	names := make([]string, 0, len(values))
	for n := range values {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		if len(values[names[i]]) != len(values[names[j]]) {
			return len(values[names[i]]) > len(values[names[j]])
		}
		return names[i] < names[j]
	})
	return names
}
