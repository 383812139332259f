package source

import (
	"bytes"
	"errors"
	"io"

	"gopkg.in/yaml.v3"
)

// Documents calls each for every non-empty document of a multi-document
// YAML file, in order. A syntax error stops the walk: it is returned as an
// Error at its line, and documents after it are not read.
func Documents(file string, data []byte, each func(doc *yaml.Node)) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return YAMLError(file, err)
		}
		if len(doc.Content) == 0 {
			continue
		}
		each(&doc)
	}
}

// KindOf returns the kind: of a document's top-level mapping, "" when it
// has none.
func KindOf(doc *yaml.Node) string {
	n := doc
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	if n.Kind != yaml.MappingNode {
		return ""
	}
	kind := ""
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "kind" {
			kind = n.Content[i+1].Value
		}
	}
	return kind
}
