package access

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// Verb names one thing a person may do through any door (HTTP API, Slack
// command or button, CLI through the API, console).
type Verb string

// The verbs. Reading verbs cover listing and showing; the others change
// something.
const (
	RunsRead    Verb = "runs.read"
	RunsStart   Verb = "runs.start"
	RunsDryRun  Verb = "runs.dryRun"
	RunsApprove Verb = "runs.approve"
	RunsCancel  Verb = "runs.cancel"

	IncidentsRead    Verb = "incidents.read"
	IncidentsDeclare Verb = "incidents.declare"
	IncidentsCommand Verb = "incidents.command"
	IncidentsPage    Verb = "incidents.page"

	ChaosRead   Verb = "chaos.read"
	ChaosDryRun Verb = "chaos.dryRun"
	ChaosRun    Verb = "chaos.run"
	ChaosHalt   Verb = "chaos.halt"
	ChaosResume Verb = "chaos.resume"

	GamedaysManage  Verb = "gamedays.manage"
	GamedaysTrigger Verb = "gamedays.trigger"

	AutomationRead   Verb = "automation.read"
	AutomationPause  Verb = "automation.pause"
	AutomationResume Verb = "automation.resume"

	AuditRead Verb = "audit.read"

	// HistoriesRead lets the codec endpoint decrypt (and encrypt)
	// Temporal payloads, so the Web UI shows histories in clear.
	HistoriesRead Verb = "histories.read"
)

// Public marks a route anyone may call (health, readiness, metrics), and
// Signed one that authenticates its sender itself (a webhook's signature
// or credentials); neither is a verb a role can grant.
const (
	Public Verb = "public"
	Signed Verb = "signed"
)

// Verbs lists every verb a role may grant.
var Verbs = []Verb{
	RunsRead, RunsStart, RunsDryRun, RunsApprove, RunsCancel,
	IncidentsRead, IncidentsDeclare, IncidentsCommand, IncidentsPage,
	ChaosRead, ChaosDryRun, ChaosRun, ChaosHalt, ChaosResume,
	GamedaysManage, GamedaysTrigger,
	AutomationRead, AutomationPause, AutomationResume,
	AuditRead, HistoriesRead,
}

// ResponderVerbs is what every signed-in person may do when the
// configuration defines no roles: read, run and dry-run runbooks, decide
// and cancel runs, run incidents, dry-run experiments, stop things (halt chaos, pause
// automation, abort an experiment), and read histories in the Web UI. Lifting a halt, resuming automation,
// running chaos, managing or triggering game days and reading the audit
// export need a role (or the operator token).
var ResponderVerbs = []Verb{
	RunsRead, RunsStart, RunsDryRun, RunsApprove, RunsCancel,
	IncidentsRead, IncidentsDeclare, IncidentsCommand, IncidentsPage,
	ChaosRead, ChaosDryRun, ChaosHalt, AutomationRead, AutomationPause,
	HistoriesRead,
}

// Role grants verbs to the people it names. API principals are matched
// by name or group, Slack users by user ID or user-group handle; "*" in
// Principals or SlackUsers names everyone who signed in through that door.
type Role struct {
	Name        string
	Verbs       []string
	Principals  []string
	Groups      []string
	SlackUsers  []string
	SlackGroups []string
}

// Policy decides who may do what. Every door asks it before doing
// anything; per-runbook and per-experiment spec.access, and approval
// steps' approvers, narrow it further where the domain service decides.
type Policy struct {
	roles []role
}

type role struct {
	Role
	verbs map[Verb]bool
}

// NewPolicy checks roles and builds the policy. With no roles, every
// signed-in person holds ResponderVerbs.
func NewPolicy(roles []Role) (*Policy, error) {
	p := &Policy{}
	if len(roles) == 0 {
		roles = []Role{{Name: "responder (default)", Verbs: verbStrings(ResponderVerbs), Principals: []string{"*"}, SlackUsers: []string{"*"}}}
	}
	for i, r := range roles {
		field := fmt.Sprintf("roles[%d]", i)
		if strings.TrimSpace(r.Name) == "" {
			return nil, Errorf(Invalid, field+".name", "%s.name is required", field)
		}
		verbs, err := ExpandVerbs(r.Verbs)
		if err != nil {
			return nil, Errorf(Invalid, field+".verbs", "%s (%s).verbs: %v", field, r.Name, err)
		}
		p.roles = append(p.roles, role{Role: r, verbs: verbs})
	}
	return p, nil
}

// ExpandVerbs reads verb patterns: a verb ("runs.start"), a domain
// ("runs.*") or everything ("*"). An unknown verb is an error naming it
// and listing the known ones.
func ExpandVerbs(patterns []string) (map[Verb]bool, error) {
	out := map[Verb]bool{}
	for _, pat := range patterns {
		n := 0
		for _, v := range Verbs {
			if pat == "*" || pat == string(v) || strings.HasSuffix(pat, ".*") && strings.HasPrefix(string(v), strings.TrimSuffix(pat, "*")) {
				out[v] = true
				n++
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("unknown verb %q (known: %s)", pat, strings.Join(verbStrings(Verbs), ", "))
		}
	}
	return out, nil
}

// Allowed reports whether p may use the verb. A nil principal is the
// operator: the API's own token, or a door without authentication
// (`firebreak dev` on loopback, `serve --insecure-no-auth`); it may do
// everything.
func (pol *Policy) Allowed(p *Principal, v Verb) bool {
	switch {
	case v == Public || v == Signed || p == nil:
		return true
	case pol == nil:
		return slices.Contains(ResponderVerbs, v)
	}
	for _, r := range pol.roles {
		if r.verbs[v] && r.names(p) {
			return true
		}
	}
	return false
}

// Check returns a Forbidden error naming the verb and the roles that grant
// it when p may not use it.
func (pol *Policy) Check(p *Principal, v Verb) error {
	if pol.Allowed(p, v) {
		return nil
	}
	if pol == nil {
		pol, _ = NewPolicy(nil)
	}
	var granting []string
	for _, r := range pol.roles {
		if r.verbs[v] {
			granting = append(granting, r.Name)
		}
	}
	sort.Strings(granting)
	who := p.DisplayName()
	if len(granting) == 0 {
		return Errorf(Forbidden, "", "%s may not %s: no role grants it (only the operator token may)", who, v)
	}
	return Errorf(Forbidden, "", "%s may not %s: it needs a role that grants it (%s)", who, v, strings.Join(granting, ", "))
}

// names reports whether the role names the principal.
func (r role) names(p *Principal) bool {
	if p.Source == runwire.SourceSlack {
		return matches(r.SlackUsers, p.ID) || overlaps(r.SlackGroups, p.Groups)
	}
	return matches(r.Principals, p.ID) || overlaps(r.Groups, p.Groups)
}

func matches(list []string, id string) bool {
	return id != "" && (slices.Contains(list, "*") || slices.Contains(list, id))
}

func overlaps(list, groups []string) bool {
	for _, g := range groups {
		if g != "" && slices.Contains(list, g) {
			return true
		}
	}
	return false
}

func verbStrings(vs []Verb) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}
