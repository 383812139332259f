// Package guard is Firebreak's single way of evaluating CEL: one kind of
// environment, programs compiled once at load with a cost limit, and
// evaluation that also reports the values an expression looked at.
package guard

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/checker"
	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	"github.com/google/cel-go/ext"
)

// CostLimit bounds the work one evaluation may do, so a runaway expression
// (a huge comprehension) fails instead of stalling a workflow.
const CostLimit = 1_000_000

// Type is a CEL type, for declarations.
type Type = cel.Type

// Field types for declarations.
var (
	String    = cel.StringType
	Int       = cel.IntType
	Bool      = cel.BoolType
	Double    = cel.DoubleType
	Duration  = cel.DurationType
	Timestamp = cel.TimestampType
	Dyn       = cel.DynType
	List      = cel.ListType(cel.DynType)
	Map       = cel.MapType(cel.StringType, cel.DynType)
)

// ObjectType returns the CEL type of a declared object.
func ObjectType(name string) *cel.Type { return cel.ObjectType(name) }

// Object declares a CEL object type whose values are Go maps: fields are
// checked at load, so a typo in params.naem is an error then, not at run.
type Object struct {
	Name   string
	Fields map[string]*cel.Type
}

// Var declares a variable visible to expressions.
type Var struct {
	Name string
	Type *cel.Type
}

// Env is a CEL environment for one place expressions appear.
type Env struct {
	env   *cel.Env
	roots map[string]bool
}

// NewEnv builds an environment with the given objects and variables.
func NewEnv(objects []Object, vars []Var) (*Env, error) {
	reg, err := types.NewRegistry()
	if err != nil {
		return nil, err
	}
	p := &provider{Registry: reg, objects: map[string]map[string]*types.Type{}}
	for _, o := range objects {
		p.objects[o.Name] = o.Fields
	}
	opts := []cel.EnvOption{
		cel.CustomTypeProvider(p),
		cel.CustomTypeAdapter(reg),
		cel.OptionalTypes(),
		ext.Strings(),
		ext.Math(),
		ext.Lists(),
		ext.Encoders(),
		cel.DefaultUTCTimeZone(true),
	}
	roots := map[string]bool{}
	for _, v := range vars {
		opts = append(opts, cel.Variable(v.Name, v.Type))
		roots[v.Name] = true
	}
	env, err := cel.NewEnv(opts...)
	if err != nil {
		return nil, err
	}
	return &Env{env: env, roots: roots}, nil
}

// Problem is one compile error, at a 1-based line and 0-based column inside
// the expression.
type Problem struct {
	Line, Col int
	Msg       string
}

// CompileError lists what is wrong with an expression.
type CompileError struct {
	Problems []Problem
}

// Error joins the problems.
func (e *CompileError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Msg
	}
	return strings.Join(msgs, "; ")
}

// Program is a compiled, type-checked expression, safe for concurrent use.
type Program struct {
	Expr   string
	Type   *cel.Type
	prg    cel.Program
	inputs []string
}

var compiles atomic.Int64

// Compiles returns how many expressions this process has compiled, so a
// benchmark can show that evaluation never compiles.
func Compiles() int64 { return compiles.Load() }

// Compile parses and type-checks expr. When want is not nil, the result
// type must be assignable to it (a when: guard must be bool).
func (e *Env) Compile(expr string, want *cel.Type) (*Program, error) {
	compiles.Add(1)
	checked, iss := e.env.Compile(expr)
	if iss != nil && iss.Err() != nil {
		ce := &CompileError{}
		for _, x := range iss.Errors() {
			ce.Problems = append(ce.Problems, Problem{Line: x.Location.Line(), Col: x.Location.Column(), Msg: cleanMsg(x.Message)})
		}
		return nil, ce
	}
	out := checked.OutputType()
	if want != nil && !want.IsAssignableType(out) && !out.IsExactType(cel.DynType) {
		return nil, &CompileError{Problems: []Problem{{Line: 1, Msg: fmt.Sprintf("expression must be %s, but it is %s", typeName(want), typeName(out))}}}
	}
	// An expression whose worst case is provably under the limit (no
	// comprehension over unbounded input) needs no cost tracking while it
	// runs, which makes it several times faster; the others get the limit
	// enforced at run time.
	opts := []cel.ProgramOption{cel.EvalOptions(cel.OptOptimize)}
	if est, err := e.env.EstimateCost(checked, noSizes{}); err != nil || est.Max > CostLimit {
		opts = append(opts, cel.CostLimit(CostLimit))
	}
	prg, err := e.env.Program(checked, opts...)
	if err != nil {
		return nil, &CompileError{Problems: []Problem{{Line: 1, Msg: err.Error()}}}
	}
	return &Program{Expr: expr, Type: out, prg: prg, inputs: e.references(checked.NativeRep().Expr())}, nil
}

func typeName(t *cel.Type) string {
	switch {
	case t.IsExactType(cel.BoolType):
		return "a bool"
	case t.IsExactType(cel.StringType):
		return "a string"
	case t.IsExactType(cel.IntType):
		return "an int"
	}
	return t.String()
}

func cleanMsg(m string) string {
	return strings.TrimPrefix(m, "Syntax error: ")
}

// References returns the variable paths (params.name, steps.check.output)
// the program reads, in order.
func (p *Program) References() []string { return p.inputs }

// Eval evaluates the program over vars and returns a JSON-friendly value.
func (p *Program) Eval(vars map[string]any) (any, error) {
	out, _, err := p.prg.Eval(vars)
	if err != nil {
		return nil, err
	}
	return Native(out)
}

// EvalBool evaluates a condition.
func (p *Program) EvalBool(vars map[string]any) (bool, error) {
	out, _, err := p.prg.Eval(vars)
	if err != nil {
		return false, err
	}
	b, ok := out.(types.Bool)
	if !ok {
		return false, fmt.Errorf("condition gave %s, not a bool", out.Type().TypeName())
	}
	return bool(b), nil
}

// Inputs returns the value of every path the program reads, for the
// record of a decision. Missing paths are left out.
func (p *Program) Inputs(vars map[string]any) map[string]any {
	if len(p.inputs) == 0 {
		return nil
	}
	out := make(map[string]any, len(p.inputs))
	for _, path := range p.inputs {
		if v, ok := Lookup(vars, path); ok {
			out[path] = v
		}
	}
	return out
}

// Lookup follows a dotted path through nested maps.
func Lookup(vars map[string]any, path string) (any, bool) {
	var cur any = vars
	for _, part := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		cur, ok = m[part]
		if !ok {
			return nil, false
		}
	}
	return cur, true
}

// references collects the longest field paths rooted at declared variables.
func (e *Env) references(x ast.Expr) []string {
	seen := map[string]bool{}
	var out []string
	var walk func(ast.Expr)
	walk = func(x ast.Expr) {
		switch x.Kind() {
		case ast.SelectKind, ast.IdentKind:
			if path, ok := e.path(x); ok {
				if !seen[path] {
					seen[path] = true
					out = append(out, path)
				}
				return
			}
			if x.Kind() == ast.SelectKind {
				walk(x.AsSelect().Operand())
			}
		case ast.CallKind:
			c := x.AsCall()
			if c.IsMemberFunction() {
				walk(c.Target())
			}
			for _, a := range c.Args() {
				walk(a)
			}
		case ast.ListKind:
			for _, el := range x.AsList().Elements() {
				walk(el)
			}
		case ast.MapKind:
			for _, en := range x.AsMap().Entries() {
				me := en.AsMapEntry()
				walk(me.Key())
				walk(me.Value())
			}
		case ast.StructKind:
			for _, f := range x.AsStruct().Fields() {
				walk(f.AsStructField().Value())
			}
		case ast.ComprehensionKind:
			c := x.AsComprehension()
			walk(c.IterRange())
			walk(c.LoopStep())
			walk(c.Result())
		}
	}
	walk(x)
	return out
}

func (e *Env) path(x ast.Expr) (string, bool) {
	var parts []string
	for x.Kind() == ast.SelectKind {
		s := x.AsSelect()
		parts = append(parts, s.FieldName())
		x = s.Operand()
	}
	if x.Kind() != ast.IdentKind || !e.roots[x.AsIdent()] {
		return "", false
	}
	parts = append(parts, x.AsIdent())
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return strings.Join(parts, "."), true
}

// Native converts a CEL value into plain Go values that survive JSON:
// durations and timestamps become text.
func Native(v ref.Val) (any, error) {
	switch t := v.(type) {
	case types.Bool:
		return bool(t), nil
	case types.Int:
		return int64(t), nil
	case types.Uint:
		return uint64(t), nil
	case types.Double:
		return float64(t), nil
	case types.String:
		return string(t), nil
	case types.Bytes:
		return []byte(t), nil
	case types.Null:
		return nil, nil
	case types.Duration:
		return t.Duration.String(), nil
	case types.Timestamp:
		return t.Time.UTC().Format(time.RFC3339Nano), nil
	case *types.Err:
		return nil, t
	}
	if l, ok := v.(traits.Lister); ok {
		n := int(l.Size().(types.Int))
		out := make([]any, 0, n)
		for i := 0; i < n; i++ {
			x, err := Native(l.Get(types.Int(i)))
			if err != nil {
				return nil, err
			}
			out = append(out, x)
		}
		return out, nil
	}
	if m, ok := v.(traits.Mapper); ok {
		out := map[string]any{}
		it := m.Iterator()
		for it.HasNext() == types.True {
			k := it.Next()
			x, err := Native(m.Get(k))
			if err != nil {
				return nil, err
			}
			out[fmt.Sprint(k.Value())] = x
		}
		return out, nil
	}
	if o, ok := v.Value().(map[string]any); ok {
		return o, nil
	}
	return nil, fmt.Errorf("cannot use a %s value here", v.Type().TypeName())
}

// noSizes gives the cost estimator no size hints: inputs are unbounded.
type noSizes struct{}

func (noSizes) EstimateSize(checker.AstNode) *checker.SizeEstimate { return nil }

func (noSizes) EstimateCallCost(string, string, *checker.AstNode, []checker.AstNode) *checker.CallEstimate {
	return nil
}

// provider adds map-backed object types to CEL's type registry.
type provider struct {
	*types.Registry
	objects map[string]map[string]*types.Type
}

func (p *provider) FindStructType(name string) (*types.Type, bool) {
	if _, ok := p.objects[name]; ok {
		return types.NewTypeTypeWithParam(types.NewObjectType(name)), true
	}
	return p.Registry.FindStructType(name)
}

func (p *provider) FindStructFieldNames(name string) ([]string, bool) {
	fields, ok := p.objects[name]
	if !ok {
		return p.Registry.FindStructFieldNames(name)
	}
	names := make([]string, 0, len(fields))
	for f := range fields {
		names = append(names, f)
	}
	sort.Strings(names)
	return names, true
}

func (p *provider) FindStructFieldType(name, field string) (*types.FieldType, bool) {
	fields, ok := p.objects[name]
	if !ok {
		return p.Registry.FindStructFieldType(name, field)
	}
	t, ok := fields[field]
	if !ok {
		return nil, false
	}
	return &types.FieldType{
		Type: t,
		IsSet: func(obj any) bool {
			m, ok := asMap(obj)
			if !ok {
				return false
			}
			_, ok = m[field]
			return ok
		},
		GetFrom: func(obj any) (any, error) {
			m, ok := asMap(obj)
			if !ok {
				return nil, fmt.Errorf("no such key: %s", field)
			}
			v, ok := m[field]
			if !ok {
				return nil, fmt.Errorf("no such key: %s", field)
			}
			return v, nil
		},
	}, true
}

var errNoNew = errors.New("objects cannot be built in expressions")

func (p *provider) NewValue(name string, fields map[string]ref.Val) ref.Val {
	if _, ok := p.objects[name]; ok {
		return types.NewErrFromString(errNoNew.Error())
	}
	return p.Registry.NewValue(name, fields)
}

func asMap(obj any) (map[string]any, bool) {
	switch m := obj.(type) {
	case map[string]any:
		return m, true
	case ref.Val:
		if mm, ok := m.Value().(map[string]any); ok {
			return mm, true
		}
	}
	rv := reflect.ValueOf(obj)
	if rv.Kind() == reflect.Map && rv.Type().Key().Kind() == reflect.String {
		out := make(map[string]any, rv.Len())
		for _, k := range rv.MapKeys() {
			out[k.String()] = rv.MapIndex(k).Interface()
		}
		return out, true
	}
	return nil, false
}

// Paths parses expr without type-checking it and returns the variable
// paths it reads, so callers can explain bad references in their own words.
func (e *Env) Paths(expr string) ([]string, error) {
	parsed, iss := e.env.Parse(expr)
	if iss != nil && iss.Err() != nil {
		return nil, iss.Err()
	}
	return e.references(parsed.NativeRep().Expr()), nil
}
