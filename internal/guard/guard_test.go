package guard_test

import (
	"strings"
	"testing"
	"time"

	"github.com/firebreak-ops/firebreak/internal/guard"
)

func env(t testing.TB) *guard.Env {
	e, err := guard.NewEnv(
		[]guard.Object{{Name: "t.Params", Fields: map[string]*guard.Type{"n": guard.Int, "name": guard.String, "wait": guard.Duration}}},
		[]guard.Var{{Name: "params", Type: guard.ObjectType("t.Params")}, {Name: "steps", Type: guard.Map}, {Name: "now", Type: guard.Timestamp}},
	)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func vars() map[string]any {
	return map[string]any{
		"params": map[string]any{"n": int64(7), "name": "checkout", "wait": 90 * time.Second},
		"steps":  map[string]any{"probe": map[string]any{"status": "succeeded", "output": map[string]any{"status": int64(200), "ratio": 0.02}}},
		"now":    time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC),
	}
}

func TestCompileAndEval(t *testing.T) {
	e := env(t)
	for _, tc := range []struct {
		expr    string
		want    any
		inputs  []string
		compile string
		eval    string
	}{
		{expr: `params.n > 5 && steps.probe.output.status == 200`, want: true, inputs: []string{"params.n", "steps.probe.output.status"}},
		{expr: `steps.probe.output.ratio * 100.0 < 5.0`, want: true},
		{expr: `params.wait > duration("1m")`, want: true},
		{expr: `now.getHours() == 3`, want: true},
		{expr: `params.name.upperAscii() + "-" + string(params.n)`, want: "CHECKOUT-7"},
		{expr: `[1, 2, 3].map(x, x * params.n)`, want: []any{int64(7), int64(14), int64(21)}},
		{expr: `params.nope == 1`, compile: "undefined field 'nope'"},
		{expr: `params.n + "x"`, compile: "no matching overload"},
		{expr: `steps.missing.status == "x"`, eval: "no such key: missing"},
		{expr: `[1,2,3,4,5,6,7,8,9,10].map(a, [1,2,3,4,5,6,7,8,9,10].map(b, [1,2,3,4,5,6,7,8,9,10].map(c, [1,2,3,4,5,6,7,8,9,10].map(d, [1,2,3,4,5,6,7,8,9,10].map(f, [1,2,3,4,5,6,7,8,9,10].map(g, a+b+c+d+f+g))))))`, eval: "cost limit"},
	} {
		t.Run(tc.expr, func(t *testing.T) {
			p, err := e.Compile(tc.expr, nil)
			if tc.compile != "" {
				if err == nil || !strings.Contains(err.Error(), tc.compile) {
					t.Fatalf("compile error %v, want %q", err, tc.compile)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.Eval(vars())
			if tc.eval != "" {
				if err == nil || !strings.Contains(err.Error(), tc.eval) {
					t.Fatalf("eval error %v, want %q", err, tc.eval)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !equal(got, tc.want) {
				t.Fatalf("got %#v, want %#v", got, tc.want)
			}
			for _, in := range tc.inputs {
				if _, ok := p.Inputs(vars())[in]; !ok {
					t.Errorf("inputs %v lack %s", p.Inputs(vars()), in)
				}
			}
		})
	}
}

func equal(a, b any) bool {
	al, ok1 := a.([]any)
	bl, ok2 := b.([]any)
	if ok1 && ok2 {
		if len(al) != len(bl) {
			return false
		}
		for i := range al {
			if al[i] != bl[i] {
				return false
			}
		}
		return true
	}
	return a == b
}

func TestWantType(t *testing.T) {
	if _, err := env(t).Compile(`params.name`, guard.Bool); err == nil || !strings.Contains(err.Error(), "must be a bool, but it is a string") {
		t.Fatalf("err %v", err)
	}
}

// BenchmarkGuard measures one evaluation of a typical guard, compiled
// once, with its decision inputs.
func BenchmarkGuard(b *testing.B) {
	p, err := env(b).Compile(`params.n > 5 && steps.probe.output.status == 200 && steps.probe.output.ratio < 0.05`, guard.Bool)
	if err != nil {
		b.Fatal(err)
	}
	v := vars()
	b.ReportAllocs()
	for b.Loop() {
		ok, err := p.EvalBool(v)
		if err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}
