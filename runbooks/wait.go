package runbooks

import (
	"gopkg.in/yaml.v3"

	"github.com/firebreak-ops/firebreak/internal/source"
)

// waitFields has Wait's fields without its DecodeNode method.
type waitFields Wait

// DecodeNode reads `wait: 5m` as well as `wait: {until: …, every: …}`.
func (w *Wait) DecodeNode(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		w.Pos = source.Positions{"": source.PosOf(n), "duration": source.PosOf(n)}
		return w.Duration.DecodeNode(n)
	}
	return source.Decode("", n, (*waitFields)(w))
}
