package config_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/firebreak-ops/firebreak/internal/config"
	"github.com/firebreak-ops/firebreak/internal/secrets"
)

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.yaml", "apiToken: from-file\nprometheus:\n  url: http://prom:9090\npagerduty:\n  webhookSecrets: [a, b]\n")
	withPrincipals := write("principals.yaml", "apiToken: from-file\nprincipals:\n  - {token: tok-file, name: alice}\n")
	secretFile := write("principals-secret.yaml", "- token: tok-secret\n  name: carol\n  groups: [sre]\n")
	for _, tc := range []struct {
		name    string
		path    string
		env     map[string]string
		wantErr string
		check   func(*config.Config) bool
	}{
		{name: "file", path: good, check: func(c *config.Config) bool {
			return c.APIToken == "from-file" && c.Prometheus.URL == "http://prom:9090" && len(c.PagerDuty.WebhookSecrets) == 2
		}},
		{name: "env overrides file", path: good, env: map[string]string{"FIREBREAK_API_TOKEN": "from-env", "FIREBREAK_PAGERDUTY_WEBHOOK_SECRETS": "x, y ,z"},
			check: func(c *config.Config) bool {
				return c.APIToken == "from-env" && strings.Join(c.PagerDuty.WebhookSecrets, "|") == "x|y|z"
			}},
		{name: "no file", env: map[string]string{"FIREBREAK_SLACK_BOT_TOKEN": "xoxb"}, check: func(c *config.Config) bool { return c.Slack.BotToken == "xoxb" }},
		{name: "unknown key", path: write("typo.yaml", "prometheus:\n  ulr: http://x\n"), wantErr: `typo.yaml:2:3: unknown field "ulr" in prometheus`},
		{name: "bad url from env", env: map[string]string{"FIREBREAK_PROMETHEUS_URL": "prom:9090"}, wantErr: `FIREBREAK_PROMETHEUS_URL must be an http(s) URL`},
		{name: "bad url in file", path: write("url.yaml", "slack:\n  apiURL: ftp://x\n"), wantErr: `slack.apiURL (or FIREBREAK_SLACK_API_URL) must be an http(s) URL`},
		{name: "half basic auth", env: map[string]string{"FIREBREAK_ALERTMANAGER_USERNAME": "am"}, wantErr: "password must be set together"},
		{name: "roles", path: write("roles.yaml", "roles:\n  - name: sre\n    verbs: [runs.*, chaos.resume]\n    groups: [sre]\n    slackGroups: [sre-oncall]\n"),
			check: func(c *config.Config) bool {
				pol, err := c.Policy()
				return err == nil && len(c.Roles) == 1 && c.Roles[0].SlackGroups[0] == "sre-oncall" && pol != nil
			}},
		{name: "unknown verb", path: write("verb.yaml", "roles:\n  - name: sre\n    verbs: [chaos.unhalt]\n"), wantErr: `roles[0] (sre).verbs: unknown verb "chaos.unhalt"`},
		{name: "egress lists", path: write("egress.yaml", "egress:\n  allow: [\"*.svc.cluster.local\", 10.0.0.0/8]\n  deny: [10.0.5.0/24]\n"),
			check: func(c *config.Config) bool {
				return strings.Join(c.Egress.Allow, "|") == "*.svc.cluster.local|10.0.0.0/8" && strings.Join(c.Egress.Deny, "|") == "10.0.5.0/24"
			}},
		{name: "egress from env", env: map[string]string{"FIREBREAK_EGRESS_ALLOW": "api.example.com, 192.0.2.7", "FIREBREAK_EGRESS_DENY": "127.0.0.0/8,::1"},
			check: func(c *config.Config) bool {
				return strings.Join(c.Egress.Allow, "|") == "api.example.com|192.0.2.7" && strings.Join(c.Egress.Deny, "|") == "127.0.0.0/8|::1"
			}},
		{name: "bad egress entry", path: write("badegress.yaml", "egress:\n  deny: [\"10.0.0.0/33\"]\n"),
			wantErr: `egress.deny[0] (or FIREBREAK_EGRESS_DENY): "10.0.0.0/33" is not a CIDR`},
		{name: "bad egress entry from env", env: map[string]string{"FIREBREAK_EGRESS_ALLOW": "http://api.example.com"},
			wantErr: `FIREBREAK_EGRESS_ALLOW: "http://api.example.com" is a URL: give its host name`},
		{name: "missing file", path: filepath.Join(dir, "nope.yaml"), wantErr: "no such file"},
		{name: "pagerduty routing key and from", env: map[string]string{"FIREBREAK_PAGERDUTY_ROUTING_KEY": "rk-env", "FIREBREAK_PAGERDUTY_FROM": "oncall@example.com"},
			check: func(c *config.Config) bool {
				return c.PagerDuty.RoutingKey == "rk-env" && c.PagerDuty.From == "oncall@example.com" && slices.Contains(c.Secrets(), "rk-env")
			}},
		{name: "principals from the environment replace the file's", path: withPrincipals,
			env: map[string]string{"FIREBREAK_PRINCIPALS": `[{token: tok-env, name: alice, groups: [sre]}, {"token": "tok-bob", "name": "bob"}]`},
			check: func(c *config.Config) bool {
				return len(c.Principals) == 2 && c.Principals[0].Token == "tok-env" && c.Principals[0].Groups[0] == "sre" && c.Principals[1].Name == "bob" &&
					slices.Contains(c.Secrets(), "tok-env") && c.APIToken == "from-file"
			}},
		{name: "principals from a mounted secret file", path: withPrincipals, env: map[string]string{"FIREBREAK_PRINCIPALS_FILE": secretFile},
			check: func(c *config.Config) bool {
				return len(c.Principals) == 1 && c.Principals[0].Token == "tok-secret" && c.Principals[0].Name == "carol"
			}},
		{name: "principals in the file alone", path: withPrincipals, check: func(c *config.Config) bool {
			return len(c.Principals) == 1 && c.Principals[0].Token == "tok-file"
		}},
		{name: "principals from both", env: map[string]string{"FIREBREAK_PRINCIPALS": "[]", "FIREBREAK_PRINCIPALS_FILE": secretFile}, wantErr: "set FIREBREAK_PRINCIPALS or FIREBREAK_PRINCIPALS_FILE, not both"},
		{name: "principals file missing", env: map[string]string{"FIREBREAK_PRINCIPALS_FILE": filepath.Join(dir, "gone.yaml")}, wantErr: "FIREBREAK_PRINCIPALS_FILE: open"},
		{name: "principals with a typo", env: map[string]string{"FIREBREAK_PRINCIPALS": "- {token: t, nam: x}"}, wantErr: `FIREBREAK_PRINCIPALS:1:14: unknown field "nam"`},
		{name: "principal without a token", env: map[string]string{"FIREBREAK_PRINCIPALS": "- {name: x}"}, wantErr: "FIREBREAK_PRINCIPALS: principals[0] needs a token and a name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := config.Load(tc.path, func(k string) string { return tc.env[k] })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(c) {
				t.Fatalf("config %+v", c)
			}
		})
	}
}

func TestSecretReferencesInConfig(t *testing.T) {
	env := map[string]string{
		"FIREBREAK_SLACK_BOT_TOKEN": `${{ secret("slack-bot") }}`,
		"FIREBREAK_SECRETS_DIR":     "/run/secrets",
	}
	c, err := config.Load("", func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if got := c.SecretProviders.ProviderList(); strings.Join(got, ",") != "env,files" {
		t.Errorf("default providers %v", got)
	}
	r := fakeResolver{"slack-bot": "xoxb-resolved"}
	if err := c.ResolveSecrets(context.Background(), r); err != nil || c.Slack.BotToken != "xoxb-resolved" {
		t.Fatalf("resolved %q, %v", c.Slack.BotToken, err)
	}
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"FIREBREAK_API_TOKEN": `Bearer ${{ secret("x") }}`}, `apiToken: a secret reference must be the whole value`},
		{map[string]string{"FIREBREAK_API_TOKEN": `${{ secret("Bad Name") }}`}, `apiToken: secret name "Bad Name" is not valid`},
		{map[string]string{"FIREBREAK_SECRETS_PROVIDERS": "vault"}, `unknown secret provider "vault"`},
		{map[string]string{"FIREBREAK_SECRETS_PROVIDERS": "files"}, `the files secret provider needs FIREBREAK_SECRETS_DIR`},
		{map[string]string{"FIREBREAK_PAYLOAD_KEY_FILE": "a", "FIREBREAK_PAYLOAD_KEY_SECRET": "b"}, `two sources of the payload keys`},
	} {
		_, err := config.Load("", func(k string) string { return tc.env[k] })
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.env, err, tc.want)
		}
	}
	c, _ = config.Load("", func(k string) string {
		return map[string]string{"FIREBREAK_API_TOKEN": `${{ secret("gone") }}`}[k]
	})
	if err := c.ResolveSecrets(context.Background(), r); err == nil || !strings.Contains(err.Error(), "apiToken: secret gone not found") {
		t.Errorf("missing secret: %v", err)
	}
}

type fakeResolver map[string]string

func (f fakeResolver) Resolve(_ context.Context, name string) (string, error) {
	if v, ok := f[name]; ok {
		return v, nil
	}
	return "", &secrets.NotFoundError{Name: name, Providers: []string{"test"}}
}
