// Package secrets lets runbooks, experiments and the configuration name a
// secret instead of holding it. A reference is the text
// ${{ secret("checkout-api") }} inside a with: string; it travels through
// the workflow, and so Temporal's history, as that text. The activity that
// uses it resolves it through the configured providers (environment,
// files, Kubernetes Secrets) right before the call, and scrubs the value
// from whatever the call returns.
//
// The reference half of this package (names, markers, paths) is pure and
// is what workflows use; the providers do I/O and run only in activities
// and at start-up.
package secrets

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// namePattern is a secret's name: lower-case letters, digits, '-', '_' and
// '.', starting and ending with a letter or digit, optionally followed by
// "/key" to pick one key of a multi-key secret (a Kubernetes Secret's data
// key, a file in a mounted directory).
var namePattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9._-]{0,251}[a-z0-9])?(/[A-Za-z0-9._-]{1,253})?$`)

// refPattern is a ${{ }} expression that is exactly one secret("name").
var refPattern = regexp.MustCompile(`^secret\(\s*(?:"([^"]*)"|'([^']*)')\s*\)$`)

// callPattern finds any use of secret( in an expression.
var callPattern = regexp.MustCompile(`\bsecret\s*\(`)

// CheckName returns an error unless name is a valid secret name.
func CheckName(name string) error {
	if !namePattern.MatchString(name) {
		return fmt.Errorf("secret name %q is not valid: use lower-case letters, digits, '-', '_' and '.' (e.g. \"checkout-api\"), optionally \"/key\" for one key of the secret", name)
	}
	return nil
}

// ParseRef reads the text inside ${{ }}. It returns the name and true
// when the expression is a secret reference; an error when it mentions
// secret() in any other way (a malformed name, secret() inside a larger
// expression). Other expressions return ("", false, nil).
func ParseRef(expr string) (string, bool, error) {
	expr = strings.TrimSpace(expr)
	if m := refPattern.FindStringSubmatch(expr); m != nil {
		name := m[1] + m[2]
		if err := CheckName(name); err != nil {
			return "", false, err
		}
		return name, true, nil
	}
	if Mentioned(expr) {
		return "", false, errors.New(`secret() must be a whole ${{ }} on its own, with one quoted name: write 'Bearer ${{ secret("checkout-api") }}', not an expression around it (CEL never sees a secret)`)
	}
	return "", false, nil
}

// Mentioned reports whether a CEL expression calls secret(), which only a
// with: string may do.
func Mentioned(expr string) bool { return callPattern.MatchString(expr) }

// OutsideWith is the error for secret() in a guard, a concurrency key, a
// trigger or any other place that is not a with: string.
const OutsideWith = `secret() can only be used inside a step's with: strings (and HTTP probe headers); a guard or any other expression cannot read a secret`

// Marker is the canonical text of a reference to name, as it appears in
// the with: values a workflow passes to an activity and in run records.
func Marker(name string) string { return `${{ secret("` + name + `") }}` }

// markerPattern finds canonical markers in a rendered string.
var markerPattern = regexp.MustCompile(`\$\{\{ secret\("([^"]+)"\) \}\}`)

// Names returns the secret names whose markers s holds, in order.
func Names(s string) []string {
	var out []string
	for _, m := range markerPattern.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

// HasMarker reports whether s holds anything that looks like a
// reference's start, so values interpolated next to a reference cannot
// smuggle one in.
func HasMarker(s string) bool { return strings.Contains(s, "${{") }

// Path locates a string inside a with: map: map keys and list indices.
type Path []string

// String renders the path as with: keys do in errors ("headers.Authorization",
// "body[0].password").
func (p Path) String() string {
	var b strings.Builder
	for i, e := range p {
		if _, err := strconv.Atoi(e); err == nil && i > 0 {
			b.WriteString("[" + e + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(e)
	}
	return b.String()
}

// Lookup returns the value at p in v.
func (p Path) Lookup(v any) (any, bool) {
	for _, e := range p {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[e]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(e)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// Canonical rewrites every ${{ secret("name") }} in s, however it is
// spaced or quoted, to its Marker, and reports whether s holds any. Text
// with any other ${{ }} is an error: where Canonical is used (HTTP probe
// headers) there are no other expressions.
func Canonical(s string) (string, bool, error) {
	var b strings.Builder
	found := false
	for {
		i := strings.Index(s, "${{")
		if i < 0 {
			b.WriteString(s)
			return b.String(), found, nil
		}
		b.WriteString(s[:i])
		rest := s[i+3:]
		j := strings.Index(rest, "}}")
		if j < 0 {
			return "", false, errors.New("${{ without a closing }}")
		}
		name, ok, err := ParseRef(rest[:j])
		if err != nil {
			return "", false, err
		}
		if !ok {
			return "", false, fmt.Errorf("only ${{ secret(\"name\") }} may be used here, not ${{ %s }}", strings.TrimSpace(rest[:j]))
		}
		b.WriteString(Marker(name))
		found = true
		s = rest[j+2:]
	}
}
