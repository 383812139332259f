// Package experiments is the chaos experiment and game day format: YAML with
// positions in, a type-checked plan out, with no Temporal and no network.
// A fault's spec decodes into the Chaos Mesh API types themselves, so a wrong
// field is an error when the file loads, not when the fault is injected.
package experiments
