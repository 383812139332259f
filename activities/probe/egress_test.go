package probe_test

import (
	"context"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/firebreak-ops/firebreak/activities/actions"
	"github.com/firebreak-ops/firebreak/activities/probe"
	"github.com/firebreak-ops/firebreak/internal/egress"
	"github.com/firebreak-ops/firebreak/internal/egress/egresstest"
)

// TestHTTPRequestRefusesMetadata: whatever client the activity is given, a
// request to a link-local, metadata or unspecified address, as a runbook
// or an alert's label might spell it, is refused before any connection,
// with an error naming the rule, and is not retried.
func TestHTTPRequestRefusesMetadata(t *testing.T) {
	d := &egresstest.Dialer{T: t}
	a := &probe.Activities{HTTP: &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}}
	for _, tc := range []struct{ name, url, rule string }{
		{"aws metadata", "http://169.254.169.254/latest/meta-data/iam/security-credentials/", egress.RuleMetadata},
		{"ecs task metadata", "http://169.254.170.2/v2/credentials", egress.RuleMetadata},
		{"link-local", "http://169.254.10.1:8080/", egress.RuleLinkLocal},
		{"ipv6 link-local", "http://[fe80::1]/", egress.RuleLinkLocal},
		{"ipv4-mapped metadata", "http://[::ffff:169.254.169.254]/", egress.RuleMetadata},
		{"nat64 metadata", "http://[64:ff9b::a9fe:a9fe]/", egress.RuleMetadata},
		{"aws ipv6 metadata", "http://[fd00:ec2::254]/latest/", egress.RuleMetadata},
		{"alibaba metadata", "http://100.100.100.200/latest/meta-data/", egress.RuleMetadata},
		{"gcp metadata by name", "http://Metadata.Google.Internal./computeMetadata/v1/", egress.RuleMetadata},
		{"unspecified", "http://0.0.0.0:8080/v1/runs", egress.RuleUnspecified},
		{"https", "https://169.254.169.254/", egress.RuleMetadata},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := a.HTTPRequest(context.Background(), actions.Request{RunID: "run-1", Step: "fetch", With: map[string]any{"url": tc.url}})
			if err == nil || !strings.Contains(err.Error(), `denied by rule "`+tc.rule+`"`) {
				t.Fatalf("err %v, want a refusal by %q", err, tc.rule)
			}
			if !actions.IsPermanent(err) {
				t.Errorf("refusal %v would be retried", err)
			}
		})
	}
	if got := d.Dialed(); len(got) != 0 {
		t.Fatalf("dialer asked to connect to %v", got)
	}
}

// TestHTTPRequestEgress: the activity with a configured policy and the
// policy's own client, real runs and dry runs. A dry run checks the policy,
// names the rule that would refuse the request, and never connects.
func TestHTTPRequestEgress(t *testing.T) {
	srv := egresstest.NewServer(t)
	port := srv.Port()
	names := egresstest.Resolver{"api.svc.test": {"127.0.0.1"}, "other.test": {"127.0.0.1"}, "rebind.test": {"169.254.169.254"}}
	for _, tc := range []struct {
		name        string
		allow, deny []string
		url         string
		dryRun      bool
		wantErr     string
		wantHits    int32
		wantEgress  string
	}{
		{name: "loopback allowed by default", url: srv.URL + "/", wantHits: 1},
		{name: "listed name", allow: []string{"*.svc.test"}, url: "http://api.svc.test:" + port + "/", wantHits: 1},
		{name: "unlisted name", allow: []string{"*.svc.test"}, url: "http://other.test:" + port + "/",
			wantErr: `GET http://other.test:` + port + `/: egress: other.test denied by rule "not in egress.allow"`},
		{name: "unlisted name, address listed", allow: []string{"*.svc.test", "192.0.2.0/24"}, url: "http://other.test:" + port + "/",
			wantErr: `egress: other.test (127.0.0.1) denied by rule "not in egress.allow"`},
		{name: "denied", deny: []string{"127.0.0.0/8"}, url: srv.URL + "/", wantErr: `denied by rule "egress.deny: 127.0.0.0/8"`},
		{name: "name resolving to metadata", url: "http://rebind.test/", wantErr: `egress: rebind.test (169.254.169.254) denied by rule "cloud metadata (default)"`},
		{name: "redirect to metadata", url: srv.RedirectTo("http://169.254.169.254/latest/meta-data/"),
			wantErr: `egress: 169.254.169.254 denied by rule "cloud metadata (default)"`, wantHits: 1},
		{name: "redirect to a name resolving to metadata", url: srv.RedirectTo("http://rebind.test/"),
			wantErr: `egress: rebind.test (169.254.169.254) denied by rule "cloud metadata (default)"`, wantHits: 1},
		{name: "dry run refused", url: "http://169.254.169.254/latest/meta-data/", dryRun: true,
			wantErr: `dry run: the egress policy would refuse GET http://169.254.169.254/latest/meta-data/: egress: 169.254.169.254 denied by rule "cloud metadata (default)"`},
		{name: "dry run refused by allow list", allow: []string{"*.svc.test"}, url: "http://other.test/", dryRun: true,
			wantErr: `would refuse GET http://other.test/: egress: other.test denied by rule "not in egress.allow"`},
		{name: "dry run allowed, not sent", url: srv.URL + "/", dryRun: true, wantEgress: "allowed"},
		{name: "dry run, name not resolved", url: "http://nowhere.test/", dryRun: true, wantEgress: "not checked: lookup nowhere.test"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv.ResetHits()
			d := &egresstest.Dialer{T: t}
			p, err := egress.New(tc.allow, tc.deny)
			if err != nil {
				t.Fatal(err)
			}
			p.Resolver, p.Dial = names, d.DialContext
			a := &probe.Activities{HTTP: p.Client(time.Minute), Egress: p}
			out, err := a.HTTPRequest(context.Background(), actions.Request{RunID: "run-1", Step: "fetch", With: map[string]any{"url": tc.url}, DryRun: tc.dryRun})
			switch {
			case tc.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				if !actions.IsPermanent(err) {
					t.Errorf("refusal %v would be retried", err)
				}
			case err != nil:
				t.Fatal(err)
			case tc.dryRun:
				m := out.(map[string]any)
				if m["dryRun"] != true || !strings.HasPrefix(m["egress"].(string), tc.wantEgress) {
					t.Fatalf("dry-run output %v", m)
				}
			}
			if got := srv.Hits(); got != tc.wantHits {
				t.Errorf("server hit %d times, want %d", got, tc.wantHits)
			}
		})
	}
}

// rebinding answers loopback the first time it is asked and the metadata
// address after, as a hostile DNS server with a zero TTL would.
type rebinding struct{ asked atomic.Int32 }

func (r *rebinding) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	if r.asked.Add(1) == 1 {
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
	}
	return []netip.Addr{netip.MustParseAddr("169.254.169.254")}, nil
}

// TestHTTPRequestRebinding: a name that passes the check and then
// resolves to the metadata address when dialled is refused at dial time;
// the address connected to is always one that was checked.
func TestHTTPRequestRebinding(t *testing.T) {
	d := &egresstest.Dialer{T: t}
	p := egress.Default()
	res := &rebinding{}
	p.Resolver, p.Dial = res, d.DialContext
	a := &probe.Activities{HTTP: p.Client(time.Minute), Egress: p}
	_, err := a.HTTPRequest(context.Background(), actions.Request{RunID: "run-1", Step: "fetch", With: map[string]any{"url": "http://rebind.test:8080/"}})
	want := `egress: rebind.test (169.254.169.254) denied by rule "cloud metadata (default)"`
	if err == nil || !strings.Contains(err.Error(), want) || !actions.IsPermanent(err) {
		t.Fatalf("err %v, want a permanent %q", err, want)
	}
	if res.asked.Load() != 2 {
		t.Errorf("resolved %d times, want 2 (check, then dial)", res.asked.Load())
	}
	if got := d.Dialed(); len(got) != 0 {
		t.Fatalf("asked to connect to %v", got)
	}
}
