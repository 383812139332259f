// Package experiments is the chaos experiment format: like runbooks, YAML
// with positions in and a type-checked plan out, with no Temporal and no
// network. The format itself arrives with the chaos experiments work; the
// package exists now so the layout is the one the design card describes.
package experiments
