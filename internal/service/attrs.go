package service

import (
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
)

// decodeSearchAttributes reads the search attributes of a listed run.
func decodeSearchAttributes(fields map[string]*commonpb.Payload) temporal.SearchAttributes {
	var updates []temporal.SearchAttributeUpdate
	dc := converter.GetDefaultDataConverter()
	for name, p := range fields {
		switch name {
		case "FirebreakDryRun":
			var b bool
			if dc.FromPayload(p, &b) == nil {
				updates = append(updates, temporal.NewSearchAttributeKeyBool(name).ValueSet(b))
			}
		default:
			var s string
			if dc.FromPayload(p, &s) == nil {
				updates = append(updates, temporal.NewSearchAttributeKeyKeyword(name).ValueSet(s))
			}
		}
	}
	return temporal.NewSearchAttributes(updates...)
}
