package egress_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/firebreak-ops/firebreak/internal/egress"
	"github.com/firebreak-ops/firebreak/internal/egress/egresstest"
)

// allowed is the rule of an address no rule refuses.
const allowed = ""

// names is the only "DNS" these tests see.
var names = egresstest.Resolver{
	"localhost":     {"127.0.0.1", "::1"},
	"rebind.test":   {"169.254.169.254"},
	"mixed.test":    {"10.0.0.1", "169.254.169.254"},
	"internal.test": {"10.0.0.9"},
	"corp.test":     {"192.0.2.1"},
	"api.svc.test":  {"10.0.0.1"},
	"svc.test":      {"10.0.0.2"},
	"evil.svc.test": {"169.254.1.1"},
	"doc.test":      {"192.0.2.9"},
	"public.test":   {"198.51.100.1"},
	"nat64.test":    {"64:ff9b::a9fe:a9fe"},
}

func policy(t *testing.T, allow, deny []string) *egress.Policy {
	t.Helper()
	p, err := egress.New(allow, deny)
	if err != nil {
		t.Fatal(err)
	}
	p.Resolver = names
	p.Dial = (&egresstest.Dialer{T: t}).DialContext
	return p
}

// TestCheck: each policy mode against literals and names, with the rule
// that refuses them ("" = allowed). Names are refused by every address
// they resolve to, so a name rebound to a metadata address is caught.
func TestCheck(t *testing.T) {
	for _, mode := range []struct {
		name        string
		allow, deny []string
		cases       map[string]string
	}{
		{name: "default", cases: map[string]string{
			"127.0.0.1":                 allowed,
			"localhost":                 allowed,
			"10.1.2.3":                  allowed,
			"doc.test":                  allowed,
			"169.254.169.254":           egress.RuleMetadata,
			"169.254.1.1":               egress.RuleLinkLocal,
			"fe80::1%eth0":              egress.RuleLinkLocal,
			"[fe80::1]":                 egress.RuleLinkLocal,
			"::ffff:169.254.169.254":    egress.RuleMetadata,
			"64:ff9b::a9fe:a9fe":        egress.RuleMetadata,
			"fd00:ec2::254":             egress.RuleMetadata,
			"100.100.100.200":           egress.RuleMetadata,
			"168.63.129.16":             egress.RuleMetadata,
			"0.0.0.0":                   egress.RuleUnspecified,
			"0.1.2.3":                   egress.RuleUnspecified,
			"::":                        egress.RuleUnspecified,
			"metadata.google.internal":  egress.RuleMetadata, // by name, never looked up
			"METADATA.google.internal.": egress.RuleMetadata,
			"rebind.test":               egress.RuleMetadata,
			"mixed.test":                egress.RuleMetadata,
			"nat64.test":                egress.RuleMetadata,
		}},
		{name: "deny entries", deny: []string{"10.0.0.0/8", "*.corp.test", "::1"}, cases: map[string]string{
			"10.1.2.3":      "egress.deny: 10.0.0.0/8",
			"internal.test": "egress.deny: 10.0.0.0/8",
			"db.corp.test":  "egress.deny: *.corp.test",
			"corp.test":     allowed, // a wildcard names subdomains only
			"localhost":     "egress.deny: ::1",
			"127.0.0.1":     allowed,
			"rebind.test":   egress.RuleMetadata,
		}},
		{name: "allow list", allow: []string{"*.svc.test", "192.0.2.0/24", "169.254.169.254/32"}, cases: map[string]string{
			"api.svc.test":    allowed,
			"192.0.2.5":       allowed,
			"doc.test":        allowed, // by its address
			"svc.test":        egress.RuleNotAllowed,
			"public.test":     egress.RuleNotAllowed,
			"127.0.0.1":       egress.RuleNotAllowed,
			"169.254.169.254": allowed, // lifted by an entry as specific
			"169.254.1.1":     egress.RuleLinkLocal,
			"evil.svc.test":   egress.RuleLinkLocal, // an allowed name, a denied answer
		}},
		{name: "allow names only", allow: []string{"*.svc.test", "doc.test"}, cases: map[string]string{
			"api.svc.test": allowed,
			"doc.test":     allowed,
			"nowhere.test": egress.RuleNotAllowed, // refused by name, never looked up
			"192.0.2.9":    egress.RuleNotAllowed,
		}},
		{name: "allow everything", allow: []string{"0.0.0.0/0", "::/0"}, cases: map[string]string{
			"198.51.100.1":    allowed,
			"169.254.169.254": egress.RuleMetadata, // too broad to lift a default
			"fe80::1":         egress.RuleLinkLocal,
		}},
		{name: "deny beats allow", allow: []string{"10.0.0.0/8", "*.svc.test"}, deny: []string{"10.0.0.1", "evil.svc.test"}, cases: map[string]string{
			"10.0.0.2":      allowed,
			"10.0.0.1":      "egress.deny: 10.0.0.1",
			"api.svc.test":  "egress.deny: 10.0.0.1",
			"evil.svc.test": "egress.deny: evil.svc.test",
		}},
	} {
		p := policy(t, mode.allow, mode.deny)
		for host, want := range mode.cases {
			t.Run(mode.name+"/"+host, func(t *testing.T) {
				err := p.Check(context.Background(), host)
				var d *egress.DeniedError
				switch {
				case want == allowed && err != nil:
					t.Fatalf("refused: %v", err)
				case want == allowed:
				case !errors.As(err, &d):
					t.Fatalf("err %v, want a refusal by %q", err, want)
				case d.Rule != want:
					t.Fatalf("refused by %q (%v), want %q", d.Rule, err, want)
				}
			})
		}
	}
}

func TestDeniedErrorText(t *testing.T) {
	p := policy(t, nil, nil)
	for host, want := range map[string]string{
		"169.254.169.254":          `egress: 169.254.169.254 denied by rule "cloud metadata (default)"`,
		"rebind.test":              `egress: rebind.test (169.254.169.254) denied by rule "cloud metadata (default)"`,
		"metadata.google.internal": `egress: metadata.google.internal denied by rule "cloud metadata (default)"`,
	} {
		if err := p.Check(context.Background(), host); err == nil || err.Error() != want {
			t.Errorf("%s: %v, want %s", host, err, want)
		}
	}
	if err := p.Check(context.Background(), "nowhere.test"); err == nil || egress.IsDenied(err) {
		t.Errorf("unresolvable name: %v, want a lookup error", err)
	}
}

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		allow, deny []string
		wantErr     string
	}{
		{allow: []string{"api.example.com", "*.svc.cluster.local", "10.0.0.0/8", "192.0.2.1", "[::1]", "2001:db8::/32", " Host_1.example. "}},
		{allow: []string{"10.0.0.0/33"}, wantErr: `egress.allow[0]: "10.0.0.0/33" is not a CIDR`},
		{deny: []string{"ok.example", "https://x.example/"}, wantErr: `egress.deny[1]: "https://x.example/" is a URL`},
		{deny: []string{"x.example:443"}, wantErr: `is not a host name`},
		{allow: []string{"*"}, wantErr: `is not a host name`},
		{allow: []string{""}, wantErr: `is not a host name`},
		{allow: []string{"a..b"}, wantErr: `is not a host name`},
	} {
		_, err := egress.New(tc.allow, tc.deny)
		if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("New(%q, %q): %v, want %q", tc.allow, tc.deny, err, tc.wantErr)
		}
	}
}

// TestClient: the client refuses before connecting, and refuses each
// redirect hop the same way; the dialer fails the test if it is asked to
// connect anywhere but loopback.
func TestClient(t *testing.T) {
	srv := egresstest.NewServer(t)
	port := srv.Port()
	loopName := egresstest.Resolver{"svc.test": {"127.0.0.1"}, "rebind.test": {"169.254.169.254"}}
	redirect := func(to string) string { return srv.RedirectTo(to) }
	for _, tc := range []struct {
		name  string
		deny  []string
		url   string
		rule  string
		other string
	}{
		{name: "loopback", url: srv.URL + "/"},
		{name: "name resolving to loopback", url: "http://svc.test:" + port + "/"},
		{name: "redirect to loopback", url: redirect("http://svc.test:" + port + "/")},
		{name: "metadata", url: "http://169.254.169.254/latest/meta-data/", rule: egress.RuleMetadata},
		{name: "name resolving to metadata", url: "http://rebind.test/", rule: egress.RuleMetadata},
		{name: "redirect to metadata", url: redirect("http://169.254.169.254/latest/meta-data/"), rule: egress.RuleMetadata},
		{name: "redirect to metadata by name", url: redirect("http://metadata.google.internal/"), rule: egress.RuleMetadata},
		{name: "redirect to a name resolving to metadata", url: redirect("http://rebind.test/"), rule: egress.RuleMetadata},
		{name: "redirect to another scheme", url: redirect("file:///etc/passwd"), other: "redirect to file URL refused"},
		{name: "denied loopback", deny: []string{"127.0.0.0/8"}, url: srv.URL + "/", rule: "egress.deny: 127.0.0.0/8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := policy(t, nil, tc.deny)
			p.Resolver = loopName
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, tc.url, nil)
			resp, err := p.Client(time.Minute).Do(req)
			if err == nil {
				_ = resp.Body.Close()
			}
			var d *egress.DeniedError
			switch {
			case tc.rule == "" && tc.other == "":
				if err != nil || resp.StatusCode != http.StatusOK {
					t.Fatalf("err %v", err)
				}
			case tc.other != "":
				if err == nil || !strings.Contains(err.Error(), tc.other) {
					t.Fatalf("err %v, want %q", err, tc.other)
				}
			case !errors.As(err, &d) || d.Rule != tc.rule:
				t.Fatalf("err %v, want a refusal by %q", err, tc.rule)
			}
		})
	}
	if srv.Hits() == 0 {
		t.Fatal("the loopback server was never reached")
	}
}

// TestDefaultDialer: without a Dial of its own the policy dials through a
// net.Dialer (loopback only here), and its Control, the last check before
// a socket connects, refuses what the policy refuses.
func TestDefaultDialer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }))
	defer srv.Close()
	p, _ := egress.New(nil, nil)
	p.Resolver = names
	resp, err := p.Client(time.Minute).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	for addr, want := range map[string]string{
		"127.0.0.1:80":         allowed,
		"169.254.169.254:80":   egress.RuleMetadata,
		"[fe80::1%eth0]:80":    egress.RuleLinkLocal,
		"[::ffff:0.0.0.0]:443": egress.RuleUnspecified,
	} {
		err := egress.Control(p, "")("tcp", addr, nil)
		if got := ruleOf(err); got != want {
			t.Errorf("control(%s): %v, want rule %q", addr, err, want)
		}
	}
	// The name dialled matters in allow-list mode.
	p, _ = egress.New([]string{"*.svc.test"}, nil)
	for host, want := range map[string]string{"api.svc.test": allowed, "other.test": egress.RuleNotAllowed} {
		if got := ruleOf(egress.Control(p, host)("tcp", "10.0.0.1:80", nil)); got != want {
			t.Errorf("control for %s: rule %q, want %q", host, got, want)
		}
	}
}

func ruleOf(err error) string {
	var d *egress.DeniedError
	if errors.As(err, &d) {
		return d.Rule
	}
	if err != nil {
		return fmt.Sprintf("error %v", err)
	}
	return allowed
}
