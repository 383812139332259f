package temporalx

import (
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/firebreak-ops/firebreak/internal/names"
)

// Attributes are Firebreak's search attributes (names.SARunbook and the
// rest). A run sets all six; an incident sets only Status.
type Attributes struct {
	Runbook string
	Status  string
	Trigger string
	Key     string
	DryRun  bool
	// Name is the run's own short name (names.SARunName); runs started
	// before names existed have none.
	Name string
}

// Typed returns the six attributes of a run for StartWorkflowOptions.
func (a Attributes) Typed() temporal.SearchAttributes {
	return temporal.NewSearchAttributes(
		temporal.NewSearchAttributeKeyKeyword(names.SARunbook).ValueSet(a.Runbook),
		temporal.NewSearchAttributeKeyKeyword(names.SAStatus).ValueSet(a.Status),
		temporal.NewSearchAttributeKeyKeyword(names.SATrigger).ValueSet(a.Trigger),
		temporal.NewSearchAttributeKeyKeyword(names.SAKey).ValueSet(a.Key),
		temporal.NewSearchAttributeKeyBool(names.SADryRun).ValueSet(a.DryRun),
		temporal.NewSearchAttributeKeyKeyword(names.SARunName).ValueSet(a.Name),
	)
}

// Indexed encodes the six attributes of a run for a request made to the
// workflow service directly, the way the SDK encodes Typed: each value
// through the default data converter, its type in the payload's metadata.
func (a Attributes) Indexed() (*commonpb.SearchAttributes, error) {
	fields := map[string]*commonpb.Payload{}
	for name, v := range map[string]any{
		names.SARunbook: a.Runbook, names.SAStatus: a.Status,
		names.SATrigger: a.Trigger, names.SAKey: a.Key, names.SADryRun: a.DryRun,
		names.SARunName: a.Name,
	} {
		p, err := converter.GetDefaultDataConverter().ToPayload(v)
		if err != nil {
			return nil, err
		}
		kind := "Keyword"
		if _, ok := v.(bool); ok {
			kind = "Bool"
		}
		p.Metadata["type"] = []byte(kind)
		fields[name] = p
	}
	return &commonpb.SearchAttributes{IndexedFields: fields}, nil
}

// StatusAttributes returns Status alone, as an incident starts with it.
func StatusAttributes(status string) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(temporal.NewSearchAttributeKeyKeyword(names.SAStatus).ValueSet(status))
}

// Decode reads the attributes of a listed execution; those it does not
// carry stay empty.
func Decode(sa *commonpb.SearchAttributes) Attributes {
	var a Attributes
	dc := converter.GetDefaultDataConverter()
	for name, p := range sa.GetIndexedFields() {
		var s *string
		switch name {
		case names.SADryRun:
			_ = dc.FromPayload(p, &a.DryRun)
			continue
		case names.SARunbook:
			s = &a.Runbook
		case names.SAStatus:
			s = &a.Status
		case names.SATrigger:
			s = &a.Trigger
		case names.SAKey:
			s = &a.Key
		case names.SARunName:
			s = &a.Name
		default:
			continue
		}
		_ = dc.FromPayload(p, s)
	}
	return a
}
