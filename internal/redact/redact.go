// Package redact decides, in one place, what is secret in a value that
// Firebreak keeps or shows: values under keys named like credentials
// (authorization, cookie, token, secret, password, API, routing and other
// keys), passwords in URLs, credential query parameters, bearer and basic
// credentials, credential headers and key=value pairs in text. Run records,
// Slack messages, incident timelines and postmortems, the audit export,
// error answers and logs all pass what they show through it. It is pure (no
// I/O, deterministic), so workflows and renderers import it.
package redact

import (
	"net/url"
	"regexp"
	"strings"
)

// Mask replaces a secret value.
const Mask = "[redacted]"

// urlMask replaces a secret inside a URL, where brackets would be escaped.
const urlMask = "redacted"

// secretWords are the parts of a key, lower-cased and without separators,
// that mark its value secret.
var secretWords = []string{
	"authorization", "cookie", "token", "secret", "password", "passwd", "passphrase",
	"apikey", "routingkey", "integrationkey", "privatekey", "accesskey", "signingkey",
	"credential", "signature", "sessionid", "clientsecret",
}

// secretNames are whole keys, lower-cased and without separators, that
// are secret on their own (query parameters such as ?key=, ?sig=).
var secretNames = map[string]bool{"key": true, "pwd": true, "pass": true, "sig": true, "auth": true, "jwt": true, "bearer": true}

// IsSecretKey reports whether values under this key (a map key, a header,
// a query parameter, a param's name) are secret.
func IsSecretKey(k string) bool {
	n := normalize(k)
	if secretNames[n] {
		return true
	}
	for _, w := range secretWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

func normalize(k string) string {
	var b strings.Builder
	b.Grow(len(k))
	for _, r := range strings.ToLower(k) {
		switch r {
		case '-', '_', '.', ' ':
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Value returns a copy of v with every secret replaced: values under
// secret keys at any depth of maps and lists, and secrets inside strings
// (see Text). Other values are returned as they are.
func Value(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return Map(x)
	case map[string]string:
		out := make(map[string]string, len(x))
		//workflowcheck:ignore builds a map; order does not matter
		for k, s := range x {
			if IsSecretKey(k) && s != "" {
				out[k] = Mask
			} else {
				out[k] = Text(s)
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = Value(e)
		}
		return out
	case []string:
		out := make([]string, len(x))
		for i, s := range x {
			out[i] = Text(s)
		}
		return out
	case []map[string]any:
		out := make([]map[string]any, len(x))
		for i, m := range x {
			out[i] = Map(m)
		}
		return out
	case string:
		return Text(x)
	}
	return v
}

// Map is Value for a map: a copy in which values under secret keys are
// Mask, at any depth. nil stays nil.
func Map(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	//workflowcheck:ignore builds a map; order does not matter
	for k, v := range m {
		if IsSecretKey(k) && !empty(v) {
			out[k] = Mask
			continue
		}
		out[k] = Value(v)
	}
	return out
}

// empty values are shown: an empty token says that none was given.
func empty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case bool:
		return !x
	}
	return false
}

var (
	// urlPattern finds URLs in text.
	urlPattern = regexp.MustCompile(`(?i)\b[a-z][a-z0-9+.\-]*://[^\s<>"'\x60|]+`)
	// userinfoPattern is the password part of a URL's user info.
	userinfoPattern = regexp.MustCompile(`^([a-zA-Z][a-zA-Z0-9+.\-]*://[^/?#@:\s]*):[^/?#@\s]*@`)
	// queryPattern is one name=value of a URL's query or fragment.
	queryPattern = regexp.MustCompile(`([?&#;])([^=&#;?\s]+)=([^&#;\s]*)`)
	// schemePattern is a bearer credential, as in a header.
	schemePattern = regexp.MustCompile(`(?i)\b(bearer)(\s+)[A-Za-z0-9\-._~+/]{6,}=*`)
	// headerPattern is a credential header written out as text.
	headerPattern = regexp.MustCompile(`(?im)\b((?:proxy-)?authorization|set-cookie|cookie|x-api-key|x-auth-token)(\s*:\s*)[^\r\n]+`)
	// pairPattern is key=value, key: "value" or "key": "value" in text;
	// the key is checked with IsSecretKey.
	pairPattern = regexp.MustCompile(`([A-Za-z0-9_\-.]+)("?\s*=\s*|"\s*:\s*"|\s*:\s*")([^\s"'&,;]+)`)
	// slackTokenPattern is a Slack token (xoxb-, xoxp-, xapp- …).
	slackTokenPattern = regexp.MustCompile(`\b(xox[abposr]|xapp)-[A-Za-z0-9\-]{6,}`)
)

// Text returns s with the secrets in it replaced: URL passwords and
// credential query parameters, bearer and basic credentials, credential
// headers (Authorization, Cookie, Set-Cookie …), secret key=value pairs
// and Slack tokens. "key: value" without quotes is left alone: error texts
// such as "params.token: is required" hold no secret.
func Text(s string) string {
	if s == "" || !mayHoldSecret(s) {
		return s
	}
	s = urlPattern.ReplaceAllStringFunc(s, URL)
	s = headerPattern.ReplaceAllString(s, "${1}${2}"+Mask)
	s = schemePattern.ReplaceAllString(s, "${1}${2}"+Mask)
	s = slackTokenPattern.ReplaceAllString(s, Mask)
	s = pairPattern.ReplaceAllStringFunc(s, func(m string) string {
		sub := pairPattern.FindStringSubmatch(m)
		if !IsSecretKey(sub[1]) || sub[3] == Mask || sub[3] == urlMask || strings.HasPrefix(sub[3], Mask) {
			return m
		}
		return sub[1] + sub[2] + Mask
	})
	return s
}

// mayHoldSecret is a cheap first look: text without any of these cannot
// match a pattern above.
func mayHoldSecret(s string) bool {
	return strings.ContainsAny(s, "=:@") || strings.Contains(s, "xox") || strings.Contains(s, "xapp") ||
		strings.Contains(strings.ToLower(s), "bearer")
}

// URL returns a URL with its password and the values of its credential
// query and fragment parameters replaced; anything else is left as it is.
func URL(s string) string {
	s = userinfoPattern.ReplaceAllString(s, "${1}:"+urlMask+"@")
	return queryPattern.ReplaceAllStringFunc(s, func(m string) string {
		sub := queryPattern.FindStringSubmatch(m)
		name, err := url.QueryUnescape(sub[2])
		if err != nil {
			name = sub[2]
		}
		if !IsSecretKey(name) || sub[3] == "" {
			return m
		}
		return sub[1] + sub[2] + "=" + urlMask
	})
}
