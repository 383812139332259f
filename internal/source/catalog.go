package source

import (
	"fmt"
	"os"
	"sort"
)

// Named holds a format's definitions by name, each with the file it came
// from, and refuses a name defined twice. The zero value is not usable:
// make one with NewNamed.
type Named[T any] struct {
	// Noun names a definition in errors, such as "runbook".
	Noun  string
	items map[string]T
	files map[string]string
}

// NewNamed returns an empty set of definitions called noun in errors.
func NewNamed[T any](noun string) *Named[T] {
	return &Named[T]{Noun: noun, items: map[string]T{}, files: map[string]string{}}
}

// Add puts v under name. A name already taken is reported at pos in file,
// naming the file that defined it first, and v is dropped.
func (n *Named[T]) Add(name, file string, pos Pos, v T, errs *Errors) bool {
	if old, dup := n.files[name]; dup {
		errs.Add(file, pos, "%s %q is already defined in %s", n.Noun, name, old)
		return false
	}
	n.items[name] = v
	n.files[name] = file
	return true
}

// Get returns the definition called name.
func (n *Named[T]) Get(name string) (T, bool) {
	v, ok := n.items[name]
	return v, ok
}

// Has reports whether a definition is called name.
func (n *Named[T]) Has(name string) bool {
	_, ok := n.items[name]
	return ok
}

// List returns every definition, sorted by name.
func (n *Named[T]) List() []T {
	keys := make([]string, 0, len(n.items))
	for k := range n.items {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]T, len(keys))
	for i, k := range keys {
		out[i] = n.items[k]
	}
	return out
}

// Len returns how many definitions the set holds.
func (n *Named[T]) Len() int { return len(n.items) }

// LoadPath calls load for a YAML file, or for every YAML file under a
// directory, with the path errors should show.
func LoadPath(path string, load func(name string, data []byte) error) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if st.IsDir() {
		return WalkYAML(os.DirFS(path), ".", path, load)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return load(path, data)
}
