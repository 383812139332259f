package runbooks_test

import (
	"strings"
	"testing"

	"github.com/firebreak-ops/firebreak/runbooks"
)

const header = "apiVersion: firebreak/v1\nkind: Runbook\nmetadata: {name: bad}\nspec:\n"

func TestBadRunbooks(t *testing.T) {
	for _, tc := range []struct {
		name string
		yaml string
		want string
	}{
		{"unknown field", header + "  steps:\n    - name: a\n      action: log\n      wiht: {message: hi}\n",
			`bad.yaml:8:7: unknown field "wiht" in spec.steps[0]`},
		{"unknown action", header + "  steps:\n    - name: a\n      action: kubectl.yolo\n",
			`bad.yaml:7:15: step "a": unknown action "kubectl.yolo"`},
		{"duplicate step", header + "  steps:\n    - {name: a, action: log, with: {message: x}}\n    - {name: a, action: log, with: {message: y}}\n",
			`bad.yaml:7:14: duplicate step name "a" (first used at line 6)`},
		{"later step", header + "  steps:\n    - name: a\n      when: steps.b.status == 'succeeded'\n      action: log\n      with: {message: x}\n    - {name: b, action: log, with: {message: y}}\n",
			`bad.yaml:7:13: step "a": when: steps.b runs after this step; only earlier steps can be used`},
		{"unknown step", header + "  steps:\n    - {name: a, action: log, with: {message: x}}\n    - name: b\n      when: steps.nope.status == 'succeeded'\n      action: log\n      with: {message: y}\n",
			`bad.yaml:8:13: step "b": when: steps.nope: no step is named "nope"`},
		{"when not bool", header + "  steps:\n    - name: a\n      when: '\"yes\"'\n      action: log\n      with: {message: x}\n",
			`bad.yaml:7:13: step "a": when: expression must be a bool, but it is a string`},
		{"string plus int", header + "  params:\n    - {name: n, type: int}\n  steps:\n    - name: a\n      when: params.n + 'x' == 'y'\n      action: log\n      with: {message: x}\n",
			`bad.yaml:9:22: step "a": when: found no matching overload for '_+_' applied to '(int, string)'`},
		{"unknown param", header + "  steps:\n    - name: a\n      when: params.naem == 'x'\n      action: log\n      with: {message: x}\n",
			`bad.yaml:7:19: step "a": when: undefined field 'naem'`},
		{"syntax error", header + "  steps:\n    - name: a\n      when: params.x ==\n      action: log\n      with: {message: x}\n",
			`bad.yaml:7:24: `},
		{"bad template", header + "  params:\n    - {name: n, type: int}\n  steps:\n    - name: a\n      action: log\n      with:\n        message: ${{ params.n + 'x' }}\n",
			`bad.yaml:11:18: step "a": with.message: in ${{ params.n + 'x' }}: found no matching overload`},
		{"missing required with", header + "  steps:\n    - name: a\n      action: log\n",
			`bad.yaml:7:15: step "a": action log needs with.message`},
		{"unknown with field", header + "  steps:\n    - name: a\n      action: log\n      with: {message: x, colour: red}\n",
			`bad.yaml:8:34: step "a": action log has no field "colour"`},
		{"two kinds", header + "  steps:\n    - name: a\n      action: log\n      with: {message: x}\n      wait: 5m\n",
			`bad.yaml:6:7: step "a" must have exactly one of action, approval or wait`},
		{"bad duration", header + "  steps:\n    - name: a\n      wait: 5 minutes\n",
			`bad.yaml:7:13: "5 minutes" is not a duration`},
		{"bad param type", header + "  params:\n    - {name: n, type: float}\n  steps:\n    - {name: a, action: log, with: {message: x}}\n",
			`bad.yaml:6:23: param "n": type must be one of string, int, bool, duration, list, map, not "float"`},
		{"bad default", header + "  params:\n    - {name: n, type: int, default: lots}\n  steps:\n    - {name: a, action: log, with: {message: x}}\n",
			`bad.yaml:6:37: param "n": default must be a whole number, not "lots"`},
		{"dashed step name", header + "  steps:\n    - {name: check-health, action: log, with: {message: x}}\n",
			`bad.yaml:6:14: step name "check-health" must be letters, digits and _ so expressions can use steps.check_health`},
		{"rollback for unknown", header + "  steps:\n    - {name: a, action: log, with: {message: x}}\n  rollback:\n    - {name: u, for: b, action: log, with: {message: x}}\n",
			`bad.yaml:8:22: rollback step "u": for: "b" is not a step of this runbook`},
		{"concurrency not string", header + "  params:\n    - {name: n, type: int}\n  concurrency: params.n\n  steps:\n    - {name: a, action: log, with: {message: x}}\n",
			`bad.yaml:7:16: spec.concurrency: expression must be a string, but it is an int`},
		{"wrong kind", "apiVersion: firebreak/v1\nkind: Runbok\nmetadata: {name: bad}\nspec:\n  steps:\n    - {name: a, action: log, with: {message: x}}\n",
			`bad.yaml:2:7: kind must be "Runbook", not "Runbok"`},
		{"steps not a list", header + "  steps: {name: a}\n",
			`bad.yaml:5:10: spec.steps must be a list, not a mapping`},
		{"yaml syntax", header + "  steps:\n    - name: a\n     action: log\n",
			`bad.yaml:5:1: did not find expected`},
		{"bad retry", header + "  steps:\n    - name: a\n      action: log\n      with: {message: x}\n      retry: {attempts: 0}\n",
			`bad.yaml:9:25: step "a": retry.attempts must be between 1 and 100`},
		{"trigger maps unknown param", header + "  params:\n    - {name: ns, type: string, required: true}\n  concurrency: params.ns\n  triggers:\n    - alertmanager:\n        match: alert.labels.alertname == 'X'\n        params: {ns: alert.labels.namespace, nope: alert.labels.x}\n  steps:\n    - {name: a, action: log, with: {message: x}}\n",
			`bad.yaml:11:52: alertmanager trigger: runbook has no param "nope"`},
		{"trigger param of the wrong type", header + "  params:\n    - {name: n, type: int, required: true}\n  concurrency: string(params.n)\n  triggers:\n    - alertmanager:\n        match: alert.status == 'firing'\n        params: {n: alert.labels.replicas}\n  steps:\n    - {name: a, action: log, with: {message: x}}\n",
			`bad.yaml:11:21: alertmanager trigger: params.n: expression must be an int, but it is a string`},
		{"trigger leaves a required param unset", header + "  params:\n    - {name: ns, type: string, required: true}\n  concurrency: params.ns\n  triggers:\n    - alertmanager:\n        match: alert.status == 'firing'\n  steps:\n    - {name: a, action: log, with: {message: x}}\n",
			`bad.yaml:10:9: alertmanager trigger does not set required param "ns"`},
		{"pagerduty trigger reads alert", header + "  params:\n    - {name: id, type: string}\n  concurrency: params.id\n  triggers:\n    - pagerduty:\n        match: alert.status == 'firing'\n  steps:\n    - {name: a, action: log, with: {message: x}}\n",
			`bad.yaml:10:16: pagerduty trigger: match: a pagerduty trigger sees event, not alert`},
		{"triggers without a lock", header + "  triggers:\n    - alertmanager: {match: 'true'}\n  steps:\n    - {name: a, action: log, with: {message: x}}\n",
			`bad.yaml:5:3: a runbook with triggers needs spec.concurrency`},
		{"secret in a log message", header + "  steps:\n    - name: a\n      action: log\n      with: {message: 'token ${{ secret(\"api\") }}'}\n",
			`bad.yaml:8:23: step "a": with.message: action log cannot take a secret (it would log, post or keep it); actions that send a secret only to the system they call: http.request`},
		{"secret in a guard", header + "  steps:\n    - name: a\n      when: secret('checkout-api') != ''\n      action: log\n      with: {message: x}\n",
			`bad.yaml:7:13: step "a": when: secret() can only be used inside a step's with: strings`},
		{"malformed secret name", header + "  steps:\n    - name: a\n      action: http.request\n      with: {url: 'http://x/', headers: {Authorization: 'Bearer ${{ secret(\"Checkout API\") }}'}}\n",
			`bad.yaml:8:41: step "a": with.headers.Authorization: secret name "Checkout API" is not valid`},
		{"secret inside an expression", header + "  steps:\n    - name: a\n      action: log\n      with: {message: '${{ \"x\" + secret(\"api\") }}'}\n",
			`bad.yaml:8:23: step "a": with.message: secret() must be a whole ${{ }} on its own`},
		{"secret in an approval message", header + "  steps:\n    - name: a\n      approval: {message: 'token ${{ secret(\"api\") }}'}\n",
			`bad.yaml:7:27: step "a": approval.message: secret() can only be used inside a step's with: strings`},
		{"secret in the concurrency key", header + "  concurrency: secret('api')\n  steps:\n    - {name: a, action: log, with: {message: x}}\n",
			`bad.yaml:5:16: spec.concurrency: secret() can only be used inside a step's with: strings`},
		{"alerts field typo", header + "  steps:\n    - name: a\n      wait:\n        until: alerts.all(a, a.stauts == 'resolved')\n        timeout: 1m\n",
			`bad.yaml:8:31: step "a": wait.until: undefined field 'stauts'`},
		{"alerts is a list", header + "  steps:\n    - name: a\n      when: alerts.status == 'resolved'\n      action: log\n      with: {message: x}\n",
			`bad.yaml:7:19: step "a": when: `},
		{"bad onFailure", header + "  steps:\n    - name: a\n      action: log\n      with: {message: x}\n      onFailure: ignore\n",
			`bad.yaml:9:18: step "a": onFailure must be abort or continue, not "ignore"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runbooks.Load("bad.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatalf("accepted:\n%s", tc.yaml)
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("error\n  %s\nwant prefix\n  %s", err, tc.want)
			}
		})
	}
}

func TestSecretReferences(t *testing.T) {
	plans, err := runbooks.Load("ok.yaml", []byte(header+`  params:
    - {name: target, type: string, required: true}
  steps:
    - name: call
      action: http.request
      with:
        url: ${{ params.target }}
        headers: {Authorization: 'Bearer ${{ secret("checkout-api") }}', X-Key: '${{ secret("db/key") }}'}
        body: [{password: '${{ secret("db/password") }}'}]
`))
	if err != nil {
		t.Fatal(err)
	}
	sp := plans[0].Steps[0]
	var paths []string
	for _, p := range sp.With.SecretPaths() {
		paths = append(paths, p.String())
	}
	if got := strings.Join(paths, " "); got != "body[0].password headers.Authorization headers.X-Key" {
		t.Errorf("SecretPaths = %s", got)
	}
	with, err := sp.With.Eval(map[string]any{"params": map[string]any{"target": "http://api"}})
	if err != nil {
		t.Fatal(err)
	}
	if h := with["headers"].(map[string]any); h["Authorization"] != `Bearer ${{ secret("checkout-api") }}` || h["X-Key"] != `${{ secret("db/key") }}` {
		t.Errorf("rendered headers: %v", h)
	}
	// A param cannot add a reference next to one.
	plans, err = runbooks.Load("ok.yaml", []byte(header+"  params:\n    - {name: x, type: string}\n  steps:\n    - name: a\n      action: http.request\n      with: {url: 'http://x/', headers: {X-Key: '${{ params.x }} ${{ secret(\"api\") }}'}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = plans[0].Steps[0].With.Eval(map[string]any{"params": map[string]any{"x": `${{ secret("other") }}`}})
	if err == nil || !strings.Contains(err.Error(), "not allowed next to a secret reference") {
		t.Errorf("smuggled reference: %v", err)
	}
}

func TestEveryErrorIsReported(t *testing.T) {
	_, err := runbooks.Load("bad.yaml", []byte(header+"  steps:\n    - {name: a, action: nope}\n    - {name: b, action: log, with: {message: x}, onFailure: maybe}\n"))
	if err == nil || strings.Count(err.Error(), "\n") != 1 {
		t.Fatalf("want two errors, got:\n%v", err)
	}
}

func TestBuiltinCatalog(t *testing.T) {
	c, err := runbooks.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Get("hello-world"); !ok {
		t.Fatal("hello-world missing from the shipped catalog")
	}
}

func TestResolveParams(t *testing.T) {
	c, _ := runbooks.Builtin()
	p, _ := c.Get("hello-world")
	rb := p.Runbook
	for _, tc := range []struct {
		in   map[string]any
		want string
	}{
		{map[string]any{}, `params.name: is required`},
		{map[string]any{"name": "ops", "times": "lots"}, `params.times: must be a whole number, not "lots"`},
		{map[string]any{"name": "ops", "colour": "red"}, `params.colour: runbook hello-world has no such param (known: name, times)`},
	} {
		if _, err := rb.ResolveParams(tc.in); err == nil || err.Error() != tc.want {
			t.Errorf("%v: got %v, want %s", tc.in, err, tc.want)
		}
	}
	got, err := rb.ResolveParams(map[string]any{"name": "ops", "times": "4"})
	if err != nil || got["times"] != int64(4) {
		t.Fatalf("%v %v", got, err)
	}
}

func FuzzParse(f *testing.F) {
	c, _ := runbooks.Builtin()
	for _, p := range c.List() {
		b, _ := p.Runbook.Spec.Concurrency.MarshalJSON()
		f.Add(string(b))
	}
	f.Add(header + "  steps:\n    - {name: a, action: log, with: {message: '${{ params.x }}'}}\n")
	f.Add(header + "  params:\n    - {name: n, type: int, default: 3}\n  steps:\n    - name: a\n      when: params.n > 2\n      wait: {until: 'now > run.startedAt', every: 1s}\n")
	f.Add("apiVersion: firebreak/v1\nkind: Runbook\n---\n- [}")
	f.Fuzz(func(t *testing.T, data string) {
		plans, err := runbooks.Load("fuzz.yaml", []byte(data))
		if err == nil && len(plans) == 0 {
			t.Fatal("no error and no runbook")
		}
		if err != nil && err.Error() == "" {
			t.Fatal("empty error")
		}
	})
}
