package source

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Positions records where each field of a decoded struct was written: the
// key "" is the struct's own mapping, "name" the value of field name, and
// "with.url" the value of key url inside the map field with.
type Positions map[string]Pos

// Of returns the position recorded for key, else the struct's own.
func (p Positions) Of(key string) Pos {
	if pos, ok := p[key]; ok {
		return pos
	}
	for key != "" {
		i := strings.LastIndexByte(key, '.')
		if i < 0 {
			break
		}
		key = key[:i]
		if pos, ok := p[key]; ok {
			return pos
		}
	}
	return p[""]
}

// NodeDecoder is implemented by types that decode themselves from a YAML
// node and report problems with positions.
type NodeDecoder interface {
	DecodeNode(n *yaml.Node) error
}

var (
	positionsType   = reflect.TypeOf(Positions(nil))
	nodeDecoderType = reflect.TypeOf((*NodeDecoder)(nil)).Elem()
	anyType         = reflect.TypeOf((*any)(nil)).Elem()
)

// Decode strictly decodes n into the value v points to. Unknown fields,
// wrong kinds (a list where a mapping belongs, text where a number belongs)
// and bad scalars are all reported, with positions, as Errors for file.
func Decode(file string, n *yaml.Node, v any) error {
	d := &decoder{file: file}
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			d.errs.Add(file, PosOf(n), "empty document")
			return d.errs.Err()
		}
		n = n.Content[0]
	}
	d.value(n, reflect.ValueOf(v).Elem(), "")
	return d.errs.Err()
}

type decoder struct {
	file string
	errs Errors
}

func (d *decoder) fail(n *yaml.Node, format string, args ...any) {
	d.errs.Add(d.file, PosOf(n), format, args...)
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	if n.Tag == "!!null" {
		return "null"
	}
	return fmt.Sprintf("%q", n.Value)
}

func (d *decoder) value(n *yaml.Node, v reflect.Value, what string) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if v.CanAddr() && v.Addr().Type().Implements(nodeDecoderType) {
		if err := v.Addr().Interface().(NodeDecoder).DecodeNode(n); err != nil {
			d.errs.Append(d.file, d.positioned(n, err))
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if n.Tag == "!!null" {
			return
		}
		p := reflect.New(v.Type().Elem())
		d.value(n, p.Elem(), what)
		v.Set(p)
	case reflect.Struct:
		d.structValue(n, v, what)
	case reflect.Slice:
		if n.Tag == "!!null" {
			return
		}
		if n.Kind != yaml.SequenceNode {
			d.fail(n, "%s must be a list, not %s", name(what), kindName(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.value(c, s.Index(i), fmt.Sprintf("%s[%d]", what, i))
		}
		v.Set(s)
	case reflect.Map:
		if n.Tag == "!!null" {
			return
		}
		if n.Kind != yaml.MappingNode {
			d.fail(n, "%s must be a mapping, not %s", name(what), kindName(n))
			return
		}
		if v.Type().Key().Kind() != reflect.String {
			d.fail(n, "%s: unsupported map key type", name(what))
			return
		}
		m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, c := n.Content[i], n.Content[i+1]
			e := reflect.New(v.Type().Elem()).Elem()
			d.value(c, e, join(what, k.Value))
			m.SetMapIndex(reflect.ValueOf(k.Value).Convert(v.Type().Key()), e)
		}
		v.Set(m)
	case reflect.Interface:
		var x any
		if err := n.Decode(&x); err != nil {
			d.fail(n, "%s: %v", name(what), err)
			return
		}
		if x = Plain(x); x != nil {
			v.Set(reflect.ValueOf(x))
		}
	default:
		d.scalar(n, v, what)
	}
}

func (d *decoder) positioned(n *yaml.Node, err error) error {
	switch e := err.(type) {
	case *Error:
		if e.File == "" {
			e.File = d.file
		}
		return e
	case Errors:
		for _, x := range e {
			if x.File == "" {
				x.File = d.file
			}
		}
		return e
	}
	return &Error{File: d.file, Pos: PosOf(n), Msg: err.Error()}
}

func (d *decoder) scalar(n *yaml.Node, v reflect.Value, what string) {
	if n.Kind != yaml.ScalarNode {
		d.fail(n, "%s must be a single value, not %s", name(what), kindName(n))
		return
	}
	if n.Tag == "!!null" {
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(n.Value)
	case reflect.Bool:
		b, err := strconv.ParseBool(n.Value)
		if err != nil || n.Tag != "!!bool" {
			d.fail(n, "%s must be true or false, not %q", name(what), n.Value)
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, err := strconv.ParseInt(n.Value, 0, 64)
		if err != nil || n.Tag != "!!int" || v.OverflowInt(i) {
			d.fail(n, "%s must be a whole number, not %q", name(what), n.Value)
			return
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		i, err := strconv.ParseUint(n.Value, 0, 64)
		if err != nil || n.Tag != "!!int" || v.OverflowUint(i) {
			d.fail(n, "%s must be a whole number of zero or more, not %q", name(what), n.Value)
			return
		}
		v.SetUint(i)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(n.Value, 64)
		if err != nil || (n.Tag != "!!float" && n.Tag != "!!int") {
			d.fail(n, "%s must be a number, not %q", name(what), n.Value)
			return
		}
		v.SetFloat(f)
	default:
		d.fail(n, "%s: unsupported field type %s", name(what), v.Type())
	}
}

// structFields maps yaml keys to field indexes and finds the Positions field.
func structFields(t reflect.Type) (keys map[string]int, pos int) {
	keys = map[string]int{}
	pos = -1
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Type == positionsType {
			pos = i
			continue
		}
		tag := f.Tag.Get("yaml")
		if tag == "-" || !f.IsExported() {
			continue
		}
		key, _, _ := strings.Cut(tag, ",")
		if key == "" {
			key = strings.ToLower(f.Name[:1]) + f.Name[1:]
		}
		keys[key] = i
	}
	return keys, pos
}

func (d *decoder) structValue(n *yaml.Node, v reflect.Value, what string) {
	if n.Kind != yaml.MappingNode {
		if n.Tag == "!!null" {
			return
		}
		d.fail(n, "%s must be a mapping, not %s", name(what), kindName(n))
		return
	}
	keys, posField := structFields(v.Type())
	var positions Positions
	if posField >= 0 {
		positions = Positions{"": PosOf(n)}
		v.Field(posField).Set(reflect.ValueOf(positions))
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, c := n.Content[i], n.Content[i+1]
		idx, ok := keys[k.Value]
		if !ok {
			d.fail(k, "unknown field %q in %s (known fields: %s)", k.Value, name(what), strings.Join(sortedKeys(keys), ", "))
			continue
		}
		if positions != nil {
			positions[k.Value] = PosOf(c)
			if c.Kind == yaml.MappingNode && v.Field(idx).Kind() == reflect.Map {
				for j := 0; j+1 < len(c.Content); j += 2 {
					positions[k.Value+"."+c.Content[j].Value] = PosOf(c.Content[j+1])
				}
			}
		}
		d.value(c, v.Field(idx), join(what, k.Value))
	}
}

func sortedKeys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}

func name(what string) string {
	if what == "" {
		return "the document"
	}
	return what
}

// Plain converts a value decoded from YAML into JSON-friendly Go values:
// map[string]any keys, int64 for whole numbers, float64, string, bool, []any.
func Plain(x any) any {
	switch t := x.(type) {
	case map[string]any:
		//workflowcheck:ignore rewrites entries in place; order does not matter
		for k, v := range t {
			t[k] = Plain(v)
		}
		return t
	case map[any]any:
		m := make(map[string]any, len(t))
		//workflowcheck:ignore builds a map; order does not matter
		for k, v := range t {
			m[fmt.Sprint(k)] = Plain(v)
		}
		return m
	case []any:
		for i, v := range t {
			t[i] = Plain(v)
		}
		return t
	case int:
		return int64(t)
	case uint64:
		if t <= math.MaxInt64 {
			return int64(t)
		}
		return float64(t)
	case float64:
		return t
	case time.Time:
		return t.UTC().Format(time.RFC3339Nano)
	}
	return x
}

// Expr is a CEL expression written in a YAML file, with where it was written
// so errors inside the expression point at the right column. It travels as a
// plain JSON string.
type Expr struct {
	Text string
	Pos  Pos
	// Inline is true when the expression sits on one line of the file, so
	// an offset into it maps to a column.
	Inline bool
	// Shift is the column offset of the expression's first character from
	// Pos: 1 for a quoted scalar, 0 for a plain one.
	Shift int
}

// IsSet reports whether the expression was given.
func (e Expr) IsSet() bool { return strings.TrimSpace(e.Text) != "" }

// At returns the file position of a 0-based line and column inside the
// expression, as CEL reports them.
func (e Expr) At(line, col int) Pos {
	if !e.Pos.IsValid() {
		return Pos{}
	}
	if e.Inline && line <= 1 {
		return Pos{Line: e.Pos.Line, Col: e.Pos.Col + e.Shift + col}
	}
	return e.Pos
}

// DecodeNode implements NodeDecoder.
func (e *Expr) DecodeNode(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("expected a CEL expression, not %s", kindName(n))
	}
	*e = ExprAt(n)
	return nil
}

// ExprAt builds an Expr from a scalar node.
func ExprAt(n *yaml.Node) Expr {
	e := Expr{Text: n.Value, Pos: PosOf(n)}
	switch n.Style {
	case 0, yaml.TaggedStyle:
		e.Inline = !strings.Contains(n.Value, "\n")
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		// Escapes would shift columns; only map offsets for simple strings.
		e.Inline = !strings.ContainsAny(n.Value, "\n\\'\"")
		e.Shift = 1
	}
	return e
}

// MarshalJSON writes the expression as a string.
func (e Expr) MarshalJSON() ([]byte, error) { return json.Marshal(e.Text) }

// UnmarshalJSON reads the expression from a string.
func (e *Expr) UnmarshalJSON(b []byte) error { return json.Unmarshal(b, &e.Text) }

// Duration is a Go duration written as text such as 90s, 15m or 1h30m.
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats the duration compactly (15m, not 15m0s).
func (d Duration) String() string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// ParseDuration parses a duration, adding "d" for days.
func ParseDuration(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	if strings.HasSuffix(s, "d") {
		days, err := strconv.Atoi(strings.TrimSuffix(s, "d"))
		if err == nil {
			return Duration(time.Duration(days) * 24 * time.Hour), nil
		}
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (write e.g. 30s, 15m, 2h)", s)
	}
	if v < 0 {
		return 0, fmt.Errorf("duration %q must not be negative", s)
	}
	return Duration(v), nil
}

// DecodeNode implements NodeDecoder.
func (d *Duration) DecodeNode(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("expected a duration such as 15m, not %s", kindName(n))
	}
	v, err := ParseDuration(n.Value)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalJSON writes the duration as text.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads the duration from text.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	if s == "" {
		*d = 0
		return nil
	}
	v, err := ParseDuration(s)
	*d = v
	return err
}
