package runbooks

import (
	"fmt"
	"strings"

	"github.com/firebreak-ops/firebreak/internal/guard"
	"github.com/firebreak-ops/firebreak/internal/secrets"
)

const (
	openDelim  = "${{"
	closeDelim = "}}"
)

func hasTemplate(s string) bool { return strings.Contains(s, openDelim) }

// Template is a with: block whose strings may hold ${{ CEL }} expressions.
// A string that is exactly one expression takes the expression's value
// (a number stays a number); text around expressions makes it a string.
// A ${{ secret("name") }} is not CEL: it renders as its marker text, and
// SecretPaths says where, so the activity resolves it (package secrets).
type Template struct {
	root    tnode
	secrets []secrets.Path
}

type tnode struct {
	literal any
	prg     *guard.Program // whole-string expression
	parts   []tpart        // interpolated string
	list    []tnode
	fields  map[string]tnode
	kind    int
	// secret: an interpolated string holding a secret reference.
	secret bool
}

const (
	tLiteral = iota
	tExpr
	tInterp
	tList
	tMap
)

type tpart struct {
	text string
	prg  *guard.Program
}

type templateError struct{ key, msg string }

// compileTemplate compiles a with: map; allowSecrets says whether
// secret() may appear (a step's with:, not an approval message).
func compileTemplate(env *guard.Env, with map[string]any, refCheck func(string) string, allowSecrets bool) (*Template, []templateError) {
	var errs []templateError
	var paths []secrets.Path
	var build func(key string, path secrets.Path, v any) tnode
	build = func(key string, path secrets.Path, v any) tnode {
		switch x := v.(type) {
		case string:
			if !hasTemplate(x) {
				return tnode{kind: tLiteral, literal: x}
			}
			parts, err := splitTemplate(x)
			if err != nil {
				errs = append(errs, templateError{key, err.Error()})
				return tnode{}
			}
			n := tnode{kind: tInterp}
			for _, p := range parts {
				if !p.isExpr {
					n.parts = append(n.parts, tpart{text: p.text})
					continue
				}
				name, isRef, rerr := secrets.ParseRef(p.text)
				switch {
				case rerr != nil:
					errs = append(errs, templateError{key, rerr.Error()})
					return tnode{}
				case isRef && !allowSecrets:
					errs = append(errs, templateError{key, secrets.OutsideWith})
					return tnode{}
				case isRef:
					n.parts = append(n.parts, tpart{text: secrets.Marker(name)})
					n.secret = true
					continue
				}
				if paths, perr := env.Paths(p.text); perr == nil {
					for _, path := range paths {
						if msg := refCheck(path); msg != "" {
							errs = append(errs, templateError{key, msg})
							return tnode{}
						}
					}
				}
				prg, cerr := env.Compile(p.text, nil)
				if cerr != nil {
					errs = append(errs, templateError{key, fmt.Sprintf("in ${{ %s }}: %v", strings.TrimSpace(p.text), cerr)})
					return tnode{}
				}
				n.parts = append(n.parts, tpart{prg: prg})
			}
			if n.secret {
				paths = append(paths, append(secrets.Path(nil), path...))
			}
			if len(n.parts) == 1 && n.parts[0].prg != nil {
				return tnode{kind: tExpr, prg: n.parts[0].prg}
			}
			return n
		case []any:
			n := tnode{kind: tList}
			for i, e := range x {
				n.list = append(n.list, build(fmt.Sprintf("%s[%d]", key, i), append(path[:len(path):len(path)], fmt.Sprint(i)), e))
			}
			return n
		case map[string]any:
			n := tnode{kind: tMap, fields: map[string]tnode{}}
			for _, k := range sortedMapKeys(x) {
				sub := k
				if key != "" {
					sub = key + "." + k
				}
				n.fields[k] = build(sub, append(path[:len(path):len(path)], k), x[k])
			}
			return n
		}
		return tnode{kind: tLiteral, literal: v}
	}
	t := &Template{root: build("", nil, with)}
	t.secrets = paths
	return t, errs
}

type rawPart struct {
	text   string
	isExpr bool
}

func splitTemplate(s string) ([]rawPart, error) {
	var parts []rawPart
	for {
		i := strings.Index(s, openDelim)
		if i < 0 {
			if s != "" {
				parts = append(parts, rawPart{text: s})
			}
			return parts, nil
		}
		if i > 0 {
			parts = append(parts, rawPart{text: s[:i]})
		}
		rest := s[i+len(openDelim):]
		j := strings.Index(rest, closeDelim)
		if j < 0 {
			return nil, fmt.Errorf("${{ without a closing }}")
		}
		expr := strings.TrimSpace(rest[:j])
		if expr == "" {
			return nil, fmt.Errorf("empty ${{ }}")
		}
		parts = append(parts, rawPart{text: expr, isExpr: true})
		s = rest[j+len(closeDelim):]
	}
}

// Eval renders the template over vars.
func (t *Template) Eval(vars map[string]any) (map[string]any, error) {
	if t == nil {
		return nil, nil
	}
	v, err := t.root.eval(vars)
	if err != nil {
		return nil, err
	}
	m, _ := v.(map[string]any)
	return m, nil
}

func (n tnode) eval(vars map[string]any) (any, error) {
	switch n.kind {
	case tExpr:
		v, err := n.prg.Eval(vars)
		if err != nil {
			return nil, fmt.Errorf("${{ %s }}: %w", n.prg.Expr, err)
		}
		return v, nil
	case tInterp:
		var b strings.Builder
		for _, p := range n.parts {
			if p.prg == nil {
				b.WriteString(p.text)
				continue
			}
			v, err := p.prg.Eval(vars)
			if err != nil {
				return nil, fmt.Errorf("${{ %s }}: %w", p.prg.Expr, err)
			}
			text := toText(v)
			if n.secret && secrets.HasMarker(text) {
				// The activity resolves every reference in this string:
				// a value from an alert or a param must not add one.
				return nil, fmt.Errorf("${{ %s }}: its value holds \"${{\", which is not allowed next to a secret reference", p.prg.Expr)
			}
			b.WriteString(text)
		}
		return b.String(), nil
	case tList:
		out := make([]any, len(n.list))
		for i, e := range n.list {
			v, err := e.eval(vars)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case tMap:
		out := make(map[string]any, len(n.fields))
		//workflowcheck:ignore builds a map; the first error wins but any error fails the step the same way
		for k, e := range n.fields {
			v, err := e.eval(vars)
			if err != nil {
				return nil, err
			}
			out[k] = v
		}
		return out, nil
	}
	return n.literal, nil
}

func toText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case map[string]any, []any:
		return fmt.Sprintf("%v", x)
	}
	return fmt.Sprint(v)
}

// SecretPaths lists where the rendered with: holds secret references, for
// the activity to resolve (actions.Request.Secrets).
func (t *Template) SecretPaths() []secrets.Path {
	if t == nil {
		return nil
	}
	return t.secrets
}

// Programs returns how many compiled expressions the template holds.
func (t *Template) Programs() int {
	if t == nil {
		return 0
	}
	var count func(tnode) int
	count = func(n tnode) int {
		c := 0
		switch n.kind {
		case tExpr:
			c = 1
		case tInterp:
			for _, p := range n.parts {
				if p.prg != nil {
					c++
				}
			}
		case tList:
			for _, e := range n.list {
				c += count(e)
			}
		case tMap:
			for _, e := range n.fields {
				c += count(e)
			}
		}
		return c
	}
	return count(t.root)
}
