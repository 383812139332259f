package console

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/firebreak-ops/firebreak/internal/access"
)

// Cookie names and lifetimes.
const (
	// SessionCookie holds a signed-in person's session.
	SessionCookie = "firebreak_session"
	// signinCookie guards the sign-in form (double submit: the form's
	// hidden field must repeat it).
	signinCookie = "firebreak_signin"
	// SessionTTL is how long a session lasts before signing in again.
	SessionTTL = 12 * time.Hour
	// CSRFField is the hidden field every form carries.
	CSRFField = "csrf"
)

// session is what a session cookie says: who signed in (Name, "" for the
// operator token), whether the console is open (no sign-in at all), until
// when, and a random nonce so two sessions never share a cookie.
type session struct {
	Name    string
	Open    bool
	Expires time.Time
	Nonce   string
	// value is the cookie's whole text, which the CSRF token is bound to.
	value string
}

// sessionKey is the key a session of this name is signed with: a hash of
// the token that signed it in, so a cookie is worth nothing once its token
// is rotated out of the configuration. Open consoles sign with a key of
// their own process.
func (c *Console) sessionKey(name string, open bool) []byte {
	if open {
		return c.openKey
	}
	tok := c.door.TokenOf(name)
	if tok == "" {
		return nil
	}
	k := sha256.Sum256([]byte("firebreak-console-session\x00" + tok))
	return k[:]
}

func mac(key []byte, parts ...string) string {
	h := hmac.New(sha256.New, key)
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

func randomText(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// issue signs a new session and returns its cookie value.
func (c *Console) issue(name string, open bool, now time.Time) (*session, error) {
	key := c.sessionKey(name, open)
	if key == nil {
		return nil, errors.New("no token for " + name)
	}
	s := &session{Name: name, Open: open, Expires: now.Add(SessionTTL).Truncate(time.Second), Nonce: randomText(12)}
	flag := "p"
	if open {
		flag = "o"
	}
	payload := strings.Join([]string{"v1", base64.RawURLEncoding.EncodeToString([]byte(name)), flag,
		strconv.FormatInt(s.Expires.Unix(), 10), s.Nonce}, ".")
	s.value = payload + "." + mac(key, "session", payload)
	return s, nil
}

// parse checks a cookie value's signature and expiry.
func (c *Console) parse(value string, now time.Time) (*session, bool) {
	parts := strings.Split(value, ".")
	if len(parts) != 6 || parts[0] != "v1" || (parts[2] != "p" && parts[2] != "o") {
		return nil, false
	}
	name, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, false
	}
	exp, err := strconv.ParseInt(parts[3], 10, 64)
	if err != nil {
		return nil, false
	}
	open := parts[2] == "o"
	if open != c.door.Open() {
		// An open console's cookie means nothing once sign-in is on, and
		// the other way round.
		return nil, false
	}
	key := c.sessionKey(string(name), open)
	if key == nil {
		return nil, false
	}
	payload := strings.Join(parts[:5], ".")
	if subtle.ConstantTimeCompare([]byte(mac(key, "session", payload)), []byte(parts[5])) != 1 {
		return nil, false
	}
	s := &session{Name: string(name), Open: open, Expires: time.Unix(exp, 0), Nonce: parts[4], value: value}
	if !now.Before(s.Expires) {
		return nil, false
	}
	return s, true
}

// csrf is the token forms of this session carry: bound to the session, so
// a token from another session (or none) is refused.
func (c *Console) csrf(s *session) string {
	return mac(c.sessionKey(s.Name, s.Open), "csrf", s.value)
}

// validCSRF compares a form's token with the session's in constant time.
func (c *Console) validCSRF(s *session, got string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(c.csrf(s)), []byte(got)) == 1
}

// setCookie writes a cookie the way every console cookie is written:
// HttpOnly, SameSite, Secure when the request came over TLS.
func setCookie(w http.ResponseWriter, r *http.Request, name, value string, expires time.Time, strict bool) {
	same := http.SameSiteLaxMode
	if strict {
		same = http.SameSiteStrictMode
	}
	ck := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, SameSite: same,
		Secure: r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"}
	if expires.IsZero() {
		ck.MaxAge = -1
	} else {
		ck.Expires = expires
	}
	http.SetCookie(w, ck)
}

// viewer is who looks at a page: a principal (nil for the operator token
// or an open console), and the session their forms are bound to.
type viewer struct {
	P       *access.Principal
	session *session
	CSRF    string
	door    Door
}

// Name is how the page names the viewer.
func (v *viewer) Name() string {
	switch {
	case v.P != nil:
		return v.P.DisplayName()
	case v.session != nil && v.session.Open:
		return "anyone (no sign-in here)"
	}
	return "operator"
}

// Open reports whether the console needs no sign-in.
func (v *viewer) Open() bool { return v.session != nil && v.session.Open }

// Can reports whether the policy lets the viewer use a verb.
func (v *viewer) Can(verb string) bool { return v.door.Allowed(v.P, access.Verb(verb)) }

// viewerOf reads the request's session. In an open console a request
// without one gets one (so its forms carry a CSRF token); elsewhere it is
// nil: not signed in.
func (c *Console) viewerOf(w http.ResponseWriter, r *http.Request) *viewer {
	now := c.now()
	var s *session
	if ck, err := r.Cookie(SessionCookie); err == nil {
		s, _ = c.parse(ck.Value, now)
	}
	if s == nil && c.door.Open() && r.Method == http.MethodGet {
		var err error
		if s, err = c.issue("", true, now); err == nil {
			setCookie(w, r, SessionCookie, s.value, s.Expires, false)
		}
	}
	if s == nil {
		return nil
	}
	v := &viewer{session: s, CSRF: c.csrf(s), door: c.door}
	if !s.Open && s.Name != "" {
		v.P = c.door.PrincipalNamed(s.Name)
		if v.P == nil {
			return nil
		}
	}
	return v
}
