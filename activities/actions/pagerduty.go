package actions

// PagerDuty actions.
const (
	PagerDutyTrigger     = "pagerduty.trigger"
	PagerDutyAcknowledge = "pagerduty.acknowledge"
	PagerDutyResolve     = "pagerduty.resolve"
	PagerDutyNote        = "pagerduty.note"
)

// routingField is the with: field naming an Events API v2 integration.
var routingField = Field{Kind: KindString, Description: "Events API v2 integration (routing) key; default: pagerduty.routingKey from the config"}

// pagerDutyActions page through the Events API v2 and note incidents.
var pagerDutyActions = []Spec{
	{
		Name:        PagerDutyTrigger,
		Description: "Open (or re-trigger) a PagerDuty alert through the Events API v2.",
		Fields: map[string]Field{
			"routingKey":    routingField,
			"summary":       {Kind: KindString, Required: true, Description: "one-line summary"},
			"severity":      {Kind: KindString, Description: "critical, error (default), warning or info"},
			"source":        {Kind: KindString, Description: "affected system (default firebreak)"},
			"component":     {Kind: KindString},
			"group":         {Kind: KindString},
			"class":         {Kind: KindString},
			"dedupKey":      {Kind: KindString, Description: "deduplication key (default: the run and step, so a retried step never pages twice)"},
			"customDetails": {Kind: KindMap},
		},
		Mutating: true,
	},
	pagerDutyEvent(PagerDutyAcknowledge),
	pagerDutyEvent(PagerDutyResolve),
	{
		Name:        PagerDutyNote,
		Description: "Add a note to a PagerDuty incident (REST API); a retried step finds its earlier note.",
		Fields: map[string]Field{
			"incidentId": {Kind: KindString, Required: true},
			"content":    {Kind: KindString, Required: true},
			"from":       {Kind: KindString, Description: "email of the PagerDuty user adding it; default: pagerduty.from from the config"},
		},
		Mutating: true,
	},
}

// pagerDutyEvent declares acknowledge or resolve.
func pagerDutyEvent(name string) Spec {
	return Spec{
		Name:        name,
		Description: "Acknowledge or resolve a PagerDuty alert by dedup key (Events API v2).",
		Fields: map[string]Field{
			"routingKey": routingField,
			"dedupKey":   {Kind: KindString, Required: true},
		},
		Mutating: true,
	}
}
