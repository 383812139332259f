// Package config reads firebreak.yaml and the FIREBREAK_* environment
// variables into one Config. Every integration's settings live here under
// one naming scheme; environment variables override the file.
package config

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/firebreak-ops/firebreak/internal/access"
	"github.com/firebreak-ops/firebreak/internal/egress"
	"github.com/firebreak-ops/firebreak/internal/secrets"
	"github.com/firebreak-ops/firebreak/internal/source"
)

// Config is Firebreak's whole configuration.
type Config struct {
	// APIToken, when set, is required as a bearer token on the HTTP API.
	APIToken string `yaml:"apiToken"`
	// ConsoleURL is where people reach the console (the API's address as
	// their browsers see it, https://firebreak.example.com); Slack messages
	// link runs there. Empty: no console links in Slack.
	ConsoleURL string     `yaml:"consoleURL"`
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
	// Secrets says where ${{ secret("name") }} references are looked up:
	// those in runbooks and experiments, and those written in place of
	// this file's own credentials.
	SecretProviders Secrets `yaml:"secrets"`
	// Encryption holds the keys Temporal payloads are encrypted with.
	Encryption Encryption `yaml:"encryption"`
}

// Secret providers.
const (
	ProviderEnv        = "env"
	ProviderFiles      = "files"
	ProviderKubernetes = "kubernetes"
)

// Secrets configures the secret providers, asked in order; the first that
// holds a secret wins. Without providers: env, then files when dir is
// set, then kubernetes when kubernetes.namespace is set.
type Secrets struct {
	Providers []string `yaml:"providers"`
	// Dir holds one file per secret, as Kubernetes mounts a Secret.
	Dir        string            `yaml:"dir"`
	Kubernetes SecretsKubernetes `yaml:"kubernetes"`
}

// SecretsKubernetes reads Secrets from one namespace of the cluster
// kubernetes.kubeconfig reaches.
type SecretsKubernetes struct {
	Namespace string `yaml:"namespace"`
}

// ProviderList is Providers, or the default list.
func (s Secrets) ProviderList() []string {
	if len(s.Providers) > 0 {
		return s.Providers
	}
	out := []string{ProviderEnv}
	if s.Dir != "" {
		out = append(out, ProviderFiles)
	}
	if s.Kubernetes.Namespace != "" {
		out = append(out, ProviderKubernetes)
	}
	return out
}

// Encryption configures payload encryption. The keys come from KeyFile or
// from the secret KeySecret names (its value in the key file format);
// `firebreak dev` creates <data-dir>/payload-keys.yaml when neither is
// set; `serve` refuses to start without keys unless Disabled.
type Encryption struct {
	KeyFile   string `yaml:"keyFile"`
	KeySecret string `yaml:"keySecret"`
	// Disabled stores payloads in clear (serve --no-payload-encryption).
	Disabled bool `yaml:"disabled"`
	// UIOrigins are the Temporal Web UI origins (https://temporal.example.com)
	// allowed to call the codec endpoint from a browser.
	UIOrigins []string `yaml:"uiOrigins"`
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
		"FIREBREAK_CONSOLE_URL":           &c.ConsoleURL,
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
		"FIREBREAK_SECRETS_DIR":           &c.SecretProviders.Dir,
		"FIREBREAK_SECRETS_NAMESPACE":     &c.SecretProviders.Kubernetes.Namespace,
		"FIREBREAK_PAYLOAD_KEY_FILE":      &c.Encryption.KeyFile,
		"FIREBREAK_PAYLOAD_KEY_SECRET":    &c.Encryption.KeySecret,
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
		"FIREBREAK_SECRETS_PROVIDERS":         &c.SecretProviders.Providers,
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
		{"consoleURL", "FIREBREAK_CONSOLE_URL", c.ConsoleURL},
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
	return c.validateSecrets(where)
}

// validateSecrets checks the providers, the key source and every secret
// reference written in place of a credential.
func (c *Config) validateSecrets(where func(key, env string) string) error {
	for i, p := range c.SecretProviders.ProviderList() {
		switch p {
		case ProviderEnv:
		case ProviderFiles:
			if c.SecretProviders.Dir == "" {
				return fmt.Errorf("config: the files secret provider needs %s", where("secrets.dir", "FIREBREAK_SECRETS_DIR"))
			}
		case ProviderKubernetes:
			if c.SecretProviders.Kubernetes.Namespace == "" {
				return fmt.Errorf("config: the kubernetes secret provider needs %s", where("secrets.kubernetes.namespace", "FIREBREAK_SECRETS_NAMESPACE"))
			}
		default:
			return fmt.Errorf("config: %s: unknown secret provider %q (env, files or kubernetes)", where(fmt.Sprintf("secrets.providers[%d]", i), "FIREBREAK_SECRETS_PROVIDERS"), p)
		}
	}
	e := c.Encryption
	if e.KeyFile != "" && e.KeySecret != "" {
		return fmt.Errorf("config: %s and keySecret are two sources of the payload keys; set one", where("encryption.keyFile", "FIREBREAK_PAYLOAD_KEY_FILE"))
	}
	if e.KeySecret != "" {
		if err := secrets.CheckName(e.KeySecret); err != nil {
			return fmt.Errorf("config: %s: %v", where("encryption.keySecret", "FIREBREAK_PAYLOAD_KEY_SECRET"), err)
		}
	}
	for _, f := range c.secretFields() {
		if _, _, err := secretRef(*f.value); err != nil {
			return fmt.Errorf("config: %s: %v", f.name, err)
		}
	}
	return nil
}

// secretField is a credential the file or environment may give as a
// secret reference.
type secretField struct {
	name  string
	value *string
}

func (c *Config) secretFields() []secretField {
	out := []secretField{
		{"apiToken", &c.APIToken}, {"temporal.apiKey", &c.Temporal.APIKey},
		{"slack.signingSecret", &c.Slack.SigningSecret}, {"slack.botToken", &c.Slack.BotToken},
		{"pagerduty.token", &c.PagerDuty.Token}, {"pagerduty.routingKey", &c.PagerDuty.RoutingKey},
		{"alertmanager.token", &c.Alertmanager.Token}, {"alertmanager.password", &c.Alertmanager.Password},
	}
	for i := range c.PagerDuty.WebhookSecrets {
		out = append(out, secretField{fmt.Sprintf("pagerduty.webhookSecrets[%d]", i), &c.PagerDuty.WebhookSecrets[i]})
	}
	for i := range c.Principals {
		out = append(out, secretField{fmt.Sprintf("%s[%d].token", c.principalsFrom, i), &c.Principals[i].Token})
	}
	return out
}

// secretRef reads a credential written as ${{ secret("name") }}: the whole
// value must be the reference.
func secretRef(v string) (string, bool, error) {
	if !secrets.HasMarker(v) {
		return "", false, nil
	}
	t := strings.TrimSpace(v)
	if !strings.HasPrefix(t, "${{") || !strings.HasSuffix(t, "}}") {
		return "", false, fmt.Errorf(`a secret reference must be the whole value: ${{ secret("name") }}`)
	}
	name, ok, err := secrets.ParseRef(t[3 : len(t)-2])
	if err != nil {
		return "", false, err
	}
	if !ok {
		return "", false, fmt.Errorf(`only ${{ secret("name") }} may be used here`)
	}
	return name, true, nil
}

// ResolveSecrets replaces every credential written as a secret reference
// with its value from r. Errors name the field and the secret, never a
// value.
func (c *Config) ResolveSecrets(ctx context.Context, r secrets.Resolver) error {
	for _, f := range c.secretFields() {
		name, ok, err := secretRef(*f.value)
		if err != nil {
			return fmt.Errorf("config: %s: %v", f.name, err)
		}
		if !ok {
			continue
		}
		v, err := r.Resolve(ctx, name)
		if err != nil {
			return fmt.Errorf("config: %s: %w", f.name, err)
		}
		*f.value = v
	}
	seen := map[string]bool{}
	for i, p := range c.Principals {
		if seen[p.Token] {
			return fmt.Errorf("config: %s[%d] (%s) reuses another principal's token", c.principalsFrom, i, p.Name)
		}
		seen[p.Token] = true
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
