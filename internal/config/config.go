// Package config reads firebreak.yaml and the FIREBREAK_* environment
// variables into one Config. Every integration's settings live here under
// one naming scheme; environment variables override the file.
package config

import (
	"fmt"
	"net/url"
	"os"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/firebreak-ops/firebreak/internal/access"
	"github.com/firebreak-ops/firebreak/internal/egress"
	"github.com/firebreak-ops/firebreak/internal/source"
)

// Config is Firebreak's whole configuration.
type Config struct {
	// APIToken, when set, is required as a bearer token on the HTTP API.
	APIToken   string     `yaml:"apiToken"`
	Prometheus Prometheus `yaml:"prometheus"`
	Temporal   Temporal   `yaml:"temporal"`
	Slack      Slack      `yaml:"slack"`
	PagerDuty  PagerDuty  `yaml:"pagerduty"`
	// Alertmanager holds the webhook's credentials.
	Alertmanager Alertmanager `yaml:"alertmanager"`
	Automation   Automation   `yaml:"automation"`
	// Webhooks bound requests per sender.
	Webhooks   Webhooks   `yaml:"webhooks"`
	Kubernetes Kubernetes `yaml:"kubernetes"`
	// Principals map API tokens to people, for spec.access; with none, the
	// single apiToken may do everything. FIREBREAK_PRINCIPALS (the list as
	// YAML or JSON) or FIREBREAK_PRINCIPALS_FILE (a file holding it, such
	// as a mounted Secret) replace the file's, so tokens need not be in it.
	Principals []Principal `yaml:"principals"`
	// Roles grant verbs (runs.start, chaos.resume, …) to principals, their
	// groups, Slack users and Slack user groups. With none, every signed-in
	// person holds access.ResponderVerbs.
	Roles []Role `yaml:"roles"`
	// principalsFrom says where Principals came from, for errors.
	principalsFrom string
	// Runbooks lists extra runbook directories or files.
	Runbooks []string `yaml:"runbooks"`
	// Experiments lists extra chaos experiment and game day directories or
	// files.
	Experiments []string `yaml:"experiments"`
	// Chaos says where chaos reports and escalations go.
	Chaos Chaos `yaml:"chaos"`
	// Incidents configures declared incidents and their postmortems.
	Incidents Incidents `yaml:"incidents"`
	// Egress limits where http.request and HTTP probes may connect.
	Egress Egress `yaml:"egress"`
}

// Egress limits where requests whose URL comes from runbooks, experiments
// or alerts may go (http.request, HTTP probes). Entries are host names
// ("api.example.com"), wildcards for every subdomain ("*.svc.cluster.local"),
// IP addresses or CIDRs. With no allow entries every address is allowed
// except link-local, cloud metadata and unspecified addresses and those
// denied; with allow entries only those are. Deny wins over allow. Slack,
// PagerDuty and Prometheus are reached at their configured URLs, outside
// this policy.
type Egress struct {
	Allow []string `yaml:"allow"`
	Deny  []string `yaml:"deny"`
}

// DefaultPostmortemDir is where postmortems go unless configured:
// <data-dir>/postmortems under `firebreak dev`'s default data directory.
const DefaultPostmortemDir = ".firebreak/postmortems"

// Incidents configures incidents.
type Incidents struct {
	// PostmortemDir is where postmortems are written as INC-….md.
	PostmortemDir string `yaml:"postmortemDir"`
	// PostmortemTemplate is a Go text/template file replacing the
	// built-in postmortem template.
	PostmortemTemplate string `yaml:"postmortemTemplate"`
	// NoSlackChannel turns off the per-incident Slack channel (on when a
	// bot token is set).
	NoSlackChannel bool `yaml:"noSlackChannel"`
	// Invite are Slack user IDs invited to every incident channel.
	Invite []string `yaml:"invite"`
}

// Prometheus is where prometheus.query actions send queries.
type Prometheus struct {
	URL string `yaml:"url"`
}

// Temporal says how `serve` reaches an external Temporal cluster.
type Temporal struct {
	Address   string `yaml:"address"`
	Namespace string `yaml:"namespace"`
	APIKey    string `yaml:"apiKey"`
	TLS       TLS    `yaml:"tls"`
}

// TLS configures a TLS connection to Temporal.
type TLS struct {
	Enabled    bool   `yaml:"enabled"`
	CAFile     string `yaml:"caFile"`
	CertFile   string `yaml:"certFile"`
	KeyFile    string `yaml:"keyFile"`
	ServerName string `yaml:"serverName"`
}

// Slack holds the Slack app's secrets.
type Slack struct {
	SigningSecret string `yaml:"signingSecret"`
	BotToken      string `yaml:"botToken"`
	APIURL        string `yaml:"apiURL"`
}

// PagerDuty holds PagerDuty credentials and endpoints.
type PagerDuty struct {
	WebhookSecrets []string `yaml:"webhookSecrets"`
	Token          string   `yaml:"token"`
	APIURL         string   `yaml:"apiURL"`
	EventsURL      string   `yaml:"eventsURL"`
	// RoutingKey is the default Events API v2 integration key.
	RoutingKey string `yaml:"routingKey"`
	// From is the PagerDuty user email REST calls (notes) are made as.
	From string `yaml:"from"`
}

// Alertmanager holds the credentials Alertmanager's webhook must present.
type Alertmanager struct {
	Token    string `yaml:"token"`
	Username string `yaml:"username"`
	Password string `yaml:"password"`
}

// Webhooks sets the per-source rate limit of the webhook endpoints
// (Alertmanager, PagerDuty, Slack). Zero values take the defaults; a
// negative rate turns the limit off.
type Webhooks struct {
	RatePerSecond float64 `yaml:"ratePerSecond"`
	Burst         int     `yaml:"burst"`
	// Budget is how long one webhook request may wait for Temporal before
	// Firebreak answers 429 with Retry-After (default 8s, inside the
	// senders' own timeouts).
	Budget source.Duration `yaml:"budget"`
}

// Principal is an API token's owner.
type Principal struct {
	Token  string   `yaml:"token"`
	Name   string   `yaml:"name"`
	Groups []string `yaml:"groups"`
}

// Role grants verbs to the people it names; see access.Role.
type Role struct {
	Name string `yaml:"name"`
	// Verbs are verbs ("chaos.resume"), domains ("runs.*") or "*".
	Verbs []string `yaml:"verbs"`
	// Principals are API principal names ("*": every principal).
	Principals []string `yaml:"principals"`
	// Groups are API principal groups.
	Groups []string `yaml:"groups"`
	// SlackUsers are Slack user IDs ("*": everyone in the workspace).
	SlackUsers []string `yaml:"slackUsers"`
	// SlackGroups are Slack user-group handles.
	SlackGroups []string `yaml:"slackGroups"`
}

// Policy builds the authorization policy from the roles.
func (c *Config) Policy() (*access.Policy, error) {
	roles := make([]access.Role, len(c.Roles))
	for i, r := range c.Roles {
		roles[i] = access.Role(r)
	}
	return access.NewPolicy(roles)
}

// Kubernetes says which cluster kubernetes.* actions talk to.
type Kubernetes struct {
	// Kubeconfig is a kubeconfig path; empty means $KUBECONFIG, then
	// ~/.kube/config, then the in-cluster service account.
	Kubeconfig string `yaml:"kubeconfig"`
}

// Chaos configures chaos experiments.
type Chaos struct {
	// SlackChannel receives experiment reports and escalations when an
	// experiment names no channel of its own.
	SlackChannel string `yaml:"slackChannel"`
	// PageOnStuck triggers a PagerDuty alert (pagerduty.routingKey) when a
	// fault cannot be verified as removed.
	PageOnStuck bool `yaml:"pageOnStuck"`
}

// Automation configures the circuit breaker over automatic runs.
type Automation struct {
	// BreakerFailures failed automatic runs within BreakerWindow open the
	// circuit (defaults 3 and 30m).
	BreakerFailures int             `yaml:"breakerFailures"`
	BreakerWindow   source.Duration `yaml:"breakerWindow"`
	// PageOnOpen pages through PagerDuty (pagerduty.routingKey) when the
	// circuit opens.
	PageOnOpen bool `yaml:"pageOnOpen"`
}

// env maps each environment variable to the field it overrides.
func (c *Config) env() map[string]*string {
	return map[string]*string{
		"FIREBREAK_API_TOKEN":             &c.APIToken,
		"FIREBREAK_PROMETHEUS_URL":        &c.Prometheus.URL,
		"FIREBREAK_TEMPORAL_ADDRESS":      &c.Temporal.Address,
		"FIREBREAK_TEMPORAL_NAMESPACE":    &c.Temporal.Namespace,
		"FIREBREAK_TEMPORAL_API_KEY":      &c.Temporal.APIKey,
		"FIREBREAK_SLACK_SIGNING_SECRET":  &c.Slack.SigningSecret,
		"FIREBREAK_SLACK_BOT_TOKEN":       &c.Slack.BotToken,
		"FIREBREAK_SLACK_API_URL":         &c.Slack.APIURL,
		"FIREBREAK_PAGERDUTY_TOKEN":       &c.PagerDuty.Token,
		"FIREBREAK_PAGERDUTY_API_URL":     &c.PagerDuty.APIURL,
		"FIREBREAK_PAGERDUTY_EVENTS_URL":  &c.PagerDuty.EventsURL,
		"FIREBREAK_PAGERDUTY_ROUTING_KEY": &c.PagerDuty.RoutingKey,
		"FIREBREAK_PAGERDUTY_FROM":        &c.PagerDuty.From,
		"FIREBREAK_ALERTMANAGER_TOKEN":    &c.Alertmanager.Token,
		"FIREBREAK_ALERTMANAGER_USERNAME": &c.Alertmanager.Username,
		"FIREBREAK_ALERTMANAGER_PASSWORD": &c.Alertmanager.Password,
		"FIREBREAK_POSTMORTEM_DIR":        &c.Incidents.PostmortemDir,
	}
}

// EgressPolicy builds the egress policy from Egress.
func (c *Config) EgressPolicy() (*egress.Policy, error) {
	return egress.New(c.Egress.Allow, c.Egress.Deny)
}

// Load reads the file at path (none when path is empty), then applies the
// environment. Errors name the file position or the variable.
func Load(path string, getenv func(string) string) (*Config, error) {
	c := &Config{}
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return nil, fmt.Errorf("%s: %s", path, strings.TrimPrefix(err.Error(), "yaml: "))
		}
		if len(doc.Content) > 0 {
			if err := source.Decode(path, &doc, c); err != nil {
				return nil, err
			}
		}
	}
	if getenv == nil {
		getenv = os.Getenv
	}
	for name, field := range c.env() {
		if v := getenv(name); v != "" {
			*field = v
		}
	}
	for name, field := range map[string]*[]string{
		"FIREBREAK_PAGERDUTY_WEBHOOK_SECRETS": &c.PagerDuty.WebhookSecrets,
		"FIREBREAK_EGRESS_ALLOW":              &c.Egress.Allow,
		"FIREBREAK_EGRESS_DENY":               &c.Egress.Deny,
	} {
		if v := getenv(name); v != "" {
			*field = splitList(v)
		}
	}
	if v := getenv("FIREBREAK_TEMPORAL_TLS"); v != "" {
		c.Temporal.TLS.Enabled = v == "1" || strings.EqualFold(v, "true")
	}
	c.principalsFrom = "principals"
	if path != "" {
		c.principalsFrom = path + ": principals"
	}
	if err := c.principalsFromEnv(getenv); err != nil {
		return nil, err
	}
	return c, c.validate(path)
}

// splitList splits a comma-separated environment value, dropping blanks.
func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// principalsFromEnv replaces the principals with FIREBREAK_PRINCIPALS or
// the file FIREBREAK_PRINCIPALS_FILE names: a list of {token, name,
// groups} in YAML (or JSON), decoded as strictly as the config file.
func (c *Config) principalsFromEnv(getenv func(string) string) error {
	inline, file := getenv("FIREBREAK_PRINCIPALS"), getenv("FIREBREAK_PRINCIPALS_FILE")
	var data []byte
	var from string
	switch {
	case inline != "" && file != "":
		return fmt.Errorf("config: set FIREBREAK_PRINCIPALS or FIREBREAK_PRINCIPALS_FILE, not both")
	case inline != "":
		data, from = []byte(inline), "FIREBREAK_PRINCIPALS"
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("config: FIREBREAK_PRINCIPALS_FILE: %w", err)
		}
		data, from = b, file
	default:
		return nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%s: %s", from, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var ps []Principal
	if len(doc.Content) > 0 {
		if err := source.Decode(from, &doc, &ps); err != nil {
			return err
		}
	}
	c.Principals, c.principalsFrom = ps, from+": principals"
	return nil
}

func (c *Config) validate(path string) error {
	where := func(key, env string) string {
		if path == "" {
			return env
		}
		return fmt.Sprintf("%s (or %s)", key, env)
	}
	for _, u := range []struct{ key, env, val string }{
		{"prometheus.url", "FIREBREAK_PROMETHEUS_URL", c.Prometheus.URL},
		{"slack.apiURL", "FIREBREAK_SLACK_API_URL", c.Slack.APIURL},
		{"pagerduty.apiURL", "FIREBREAK_PAGERDUTY_API_URL", c.PagerDuty.APIURL},
		{"pagerduty.eventsURL", "FIREBREAK_PAGERDUTY_EVENTS_URL", c.PagerDuty.EventsURL},
	} {
		if u.val == "" {
			continue
		}
		parsed, err := url.Parse(u.val)
		if err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" {
			return fmt.Errorf("config: %s must be an http(s) URL, not %q", where(u.key, u.env), u.val)
		}
	}
	if c.Webhooks.Budget < 0 {
		return fmt.Errorf("config: webhooks.budget must not be negative, not %s", c.Webhooks.Budget)
	}
	seen := map[string]bool{}
	for i, p := range c.Principals {
		switch {
		case p.Token == "" || p.Name == "":
			return fmt.Errorf("config: %s[%d] needs a token and a name", c.principalsFrom, i)
		case seen[p.Token]:
			return fmt.Errorf("config: %s[%d] (%s) reuses another principal's token", c.principalsFrom, i, p.Name)
		}
		seen[p.Token] = true
	}
	if _, err := c.Policy(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	for _, l := range []struct {
		key, env string
		entries  []string
	}{{"egress.allow", "FIREBREAK_EGRESS_ALLOW", c.Egress.Allow}, {"egress.deny", "FIREBREAK_EGRESS_DENY", c.Egress.Deny}} {
		for i, e := range l.entries {
			if err := egress.ParseEntry(e); err != nil {
				return fmt.Errorf("config: %s: %v", where(fmt.Sprintf("%s[%d]", l.key, i), l.env), err)
			}
		}
	}
	if (c.Alertmanager.Username == "") != (c.Alertmanager.Password == "") {
		return fmt.Errorf("config: %s and password must be set together", where("alertmanager.username", "FIREBREAK_ALERTMANAGER_USERNAME"))
	}
	return nil
}

// Secrets lists every secret value configured, so tests and log filters
// can make sure none leaks.
func (c *Config) Secrets() []string {
	var out []string
	for _, s := range []string{c.APIToken, c.Temporal.APIKey, c.Slack.SigningSecret, c.Slack.BotToken,
		c.PagerDuty.Token, c.PagerDuty.RoutingKey, c.Alertmanager.Token, c.Alertmanager.Password} {
		if s != "" {
			out = append(out, s)
		}
	}
	for _, p := range c.Principals {
		out = append(out, p.Token)
	}
	return append(out, c.PagerDuty.WebhookSecrets...)
}
