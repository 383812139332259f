package experiments

import (
	"strings"
	"testing"

	"github.com/firebreak-ops/firebreak/experiments/plan"
)

const good = `apiVersion: firebreak/v1
kind: Experiment
metadata:
  name: kill-one
spec:
  target:
    namespaces: [prod]
    selector: {app: api}
    mode: one
  blastRadius:
    namespaces: [prod]
  fault:
    kind: PodChaos
    spec:
      action: pod-kill
  probes:
    - name: errors
      prometheus: {query: up}
  steadyState: probes.errors < 0.1
  duration: 1m
`

// mutate replaces old with new in the good experiment.
func mutate(old, new string) string {
	if !strings.Contains(good, old) {
		panic("no " + old)
	}
	return strings.Replace(good, old, new, 1)
}

func TestGoodExperiment(t *testing.T) {
	plans, days, err := Load("x.yaml", []byte(good))
	if err != nil || len(plans) != 1 || len(days) != 0 {
		t.Fatalf("plans %d days %d err %v", len(plans), len(days), err)
	}
	p := plans[0]
	if got := string(p.Spec); got != `{"selector":{"namespaces":["prod"],"labelSelectors":{"app":"api"}},"mode":"one","action":"pod-kill","duration":"1m"}` {
		t.Errorf("rendered spec %s", got)
	}
	e := p.Experiment.Spec
	if e.Interval != plan.DefaultInterval || e.InjectTimeout != plan.DefaultInjectTimeout || e.RecoveryTimeout != plan.DefaultRecoveryTimeout || e.Weight != plan.DefaultWeight {
		t.Errorf("defaults not filled: %+v", e)
	}
}

// TestBadExperiments checks that each mistake is reported at its exact
// position with a message naming the field.
func TestBadExperiments(t *testing.T) {
	for _, tc := range []struct {
		name, src, want string
	}{
		{"unknown fault field", mutate("action: pod-kill", "action: pod-kill\n      gracePeriodd: 5"), "x.yaml:16:7: spec.fault.spec: unknown field \"gracePeriodd\""},
		{"wrong fault field type", mutate("action: pod-kill", "action: pod-kill\n      gracePeriod: soon"), "x.yaml:16:7: spec.fault.spec: gracePeriod: cannot unmarshal string into int64"},
		{"fault kind", mutate("kind: PodChaos", "kind: PodChoas"), "x.yaml:13:11: spec.fault.kind must be one of HTTPChaos, IOChaos, NetworkChaos, PodChaos, StressChaos, not \"PodChoas\""},
		{"reserved selector", mutate("action: pod-kill", "action: pod-kill\n      selector: {namespaces: [kube-system]}"), "x.yaml:16:7: spec.fault.spec.selector is set by Firebreak from spec.target; remove it here"},
		{"chaos mesh validation", mutate("action: pod-kill", "action: container-kill"), "x.yaml:15:7: spec.fault.spec is not valid for Chaos Mesh: Spec.containerNames: Invalid value: null: the name of container is required on container-kill action"},
		{"bad action enum", mutate("action: pod-kill", "action: pod-explode"), "x.yaml:15:7: spec.fault.spec.action must be one of pod-kill, pod-failure, container-kill, not \"pod-explode\""},
		{"namespace outside blast radius", mutate("namespaces: [prod]\n    selector", "namespaces: [prod, payments]\n    selector"), "x.yaml:7:17: spec.target.namespaces[1]: namespace \"payments\" is outside spec.blastRadius.namespaces (prod)"},
		{"mode wider than policy", mutate("mode: one", "mode: fixed-percent\n    value: \"50\""), "x.yaml:9:11: spec.target.mode fixed-percent is wider than spec.blastRadius.maxMode one"},
		{"mode all refused", mutate("mode: one", "mode: all"), "x.yaml:9:11: spec.target.mode all is refused unless spec.blastRadius.allowAll is true"},
		{"fixed above maxPods", strings.Replace(mutate("mode: one", "mode: fixed\n    value: \"5\""), "namespaces: [prod]\n  fault", "namespaces: [prod]\n    maxMode: fixed\n    maxPods: 2\n  fault", 1), "x.yaml:10:12: spec.target.value 5 is more than spec.blastRadius.maxPods 2"},
		{"percent out of range", strings.Replace(mutate("mode: one", "mode: fixed-percent\n    value: \"150\""), "namespaces: [prod]\n  fault", "namespaces: [prod]\n    maxMode: fixed-percent\n  fault", 1), "x.yaml:10:12: spec.target.value must be a percentage from 1 to 100"},
		{"no selector", mutate("    selector: {app: api}\n", ""), "x.yaml:7:5: spec.target.selector is required"},
		{"no blast radius", mutate("  blastRadius:\n    namespaces: [prod]\n", ""), "spec.blastRadius.namespaces is required"},
		{"too long", mutate("namespaces: [prod]\n  fault", "namespaces: [prod]\n    maxDuration: 30s\n  fault"), "x.yaml:21:13: spec.duration 1m is longer than spec.blastRadius.maxDuration 30s"},
		{"no duration", mutate("duration: 1m\n", ""), "spec.duration is required"},
		{"interval longer than duration", mutate("duration: 1m", "duration: 1m\n  interval: 2m"), "x.yaml:21:13: spec.interval must be positive and no longer than spec.duration"},
		{"steady state typo", mutate("probes.errors < 0.1", "probes.erors < 0.1"), "x.yaml:19:22: spec.steadyState: undefined field 'erors'"},
		{"steady state not bool", mutate("probes.errors < 0.1", "probes.errors"), "spec.steadyState: expression must be a bool"},
		{"abortWhen type", mutate("duration: 1m", "duration: 1m\n  abortWhen: probes.errors > \"x\""), "spec.abortWhen: found no matching overload for '_>_'"},
		{"precondition unknown field", mutate("duration: 1m", "duration: 1m\n  preconditions: [context.errorBudget > 0.2]"), "x.yaml:21:26: spec.preconditions[0]: undefined field 'errorBudget'"},
		{"probe name", mutate("- name: errors", "- name: error-rate"), "x.yaml:17:13: spec.probes[0].name \"error-rate\" must be a CEL identifier"},
		{"probe without source", mutate("      prometheus: {query: up}\n", ""), "spec.probes[0] needs exactly one of prometheus, http or kubernetes"},
		{"secret in a probe url", mutate("prometheus: {query: up}", `http: {url: 'https://x/?k=${{ secret("api") }}'}`), "x.yaml:18:19: spec.probes[0].http.url: a secret may only be sent in a header"},
		{"expression in a probe header", mutate("prometheus: {query: up}", `http: {url: 'https://x/', headers: {X-Key: '${{ params.x }}'}}`), `spec.probes[0].http.headers.X-Key: only ${{ secret("name") }} may be used here`},
		{"bad secret name in a header", mutate("prometheus: {query: up}", `http: {url: 'https://x/', headers: {X-Key: '${{ secret("A B") }}'}}`), `spec.probes[0].http.headers.X-Key: secret name "A B" is not valid`},
		{"secret in steady state", mutate("probes.errors < 0.1", `secret("api") == "x"`), "spec.steadyState: secret() can only be used inside a step's with: strings"},
		{"http probe url", mutate("prometheus: {query: up}", "http: {url: checkout/health}"), "x.yaml:18:19: spec.probes[0].http.url must be an absolute http or https URL"},
		{"freeze schedule", mutate("duration: 1m", "duration: 1m\n  context:\n    freezeWindows:\n      - {name: weekend, schedule: \"0 18 * * FRY\", duration: 62h}"), "spec.context.freezeWindows[0].schedule"},
		{"unknown field", mutate("duration: 1m", "duration: 1m\n  durration: 2m"), "x.yaml:21:3: unknown field \"durration\" in spec"},
		{"bad name", mutate("name: kill-one", "name: Kill_One"), "x.yaml:4:9: metadata.name \"Kill_One\" must be lower-case"},
		{"api version", mutate("firebreak/v1", "firebreak/v2"), "x.yaml:1:13: apiVersion must be \"firebreak/v1\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Load("x.yaml", []byte(tc.src))
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error\n%v\nwant it to contain\n%s", err, tc.want)
			}
		})
	}
}

func TestGameDays(t *testing.T) {
	c := NewCatalog()
	if err := c.LoadFile("x.yaml", []byte(good)); err != nil {
		t.Fatal(err)
	}
	day := `apiVersion: firebreak/v1
kind: GameDay
metadata: {name: tuesday}
spec:
  schedule: "0 14 * * TUE"
  groups:
    - experiments: [kill-one]
    - experiments: [kill-one, kill-two]
      parallel: true
`
	if err := c.LoadFile("day.yaml", []byte(day)); err != nil {
		t.Fatal(err)
	}
	err := c.Check()
	if err == nil || !strings.Contains(err.Error(), "day.yaml:8:20: spec.groups[1].experiments[1]: no experiment is named \"kill-two\"") {
		t.Fatalf("check: %v", err)
	}
	g, _ := c.GameDay("tuesday")
	if g.Spec.CatchupWindow != plan.DefaultCatchupWindow || len(g.Experiments()) != 3 {
		t.Errorf("game day %+v", g.Spec)
	}
	for _, tc := range []struct{ src, want string }{
		{strings.Replace(day, `"0 14 * * TUE"`, `"0 14 * * TUESDAY"`, 1), "day.yaml:5:13: spec.schedule"},
		{strings.Replace(day, `  schedule: "0 14 * * TUE"`+"\n", "", 1), "spec.schedule is required"},
		{strings.Replace(day, "spec:\n", "spec:\n  timeZone: Mars/Olympus\n", 1), "spec.timeZone: unknown zone"},
	} {
		if err := NewCatalog().LoadFile("day.yaml", []byte(tc.src)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte("kind: GameDay\nspec: {groups: [{experiments: [a]}]}"))
	f.Add([]byte("spec:\n  fault: {kind: NetworkChaos, spec: {action: delay, delay: {latency: 1ms}}}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _, _ = Load("fuzz.yaml", data)
	})
}
