package activities_test

import (
	"testing"

	"github.com/firebreak-ops/firebreak/activities"
	"github.com/firebreak-ops/firebreak/activities/actions"
)

// TestRegistry checks that the actions table and the worker agree: every
// declared action or activity has a handler, every handler a declaration,
// and runbooks see exactly the declared actions that take a with: map.
func TestRegistry(t *testing.T) {
	handlers := activities.Handlers(activities.Deps{})
	typed := activities.Typed(activities.Deps{})
	declared := map[string]actions.Spec{}
	for _, s := range actions.All() {
		declared[s.Name] = s
	}
	type binding struct {
		name  string
		typed bool
	}
	var bound []binding
	for name := range handlers {
		bound = append(bound, binding{name, false})
	}
	for name := range typed {
		bound = append(bound, binding{name, true})
	}

	for _, s := range actions.All() {
		t.Run("declared/"+s.Name, func(t *testing.T) {
			_, h := handlers[s.Name]
			_, ty := typed[s.Name]
			switch {
			case !h && !ty:
				t.Errorf("%s is declared in activities/actions but no integration binds a handler to it", s.Name)
			case h && ty:
				t.Errorf("%s is bound twice, as a handler and as a typed activity", s.Name)
			case s.Internal != ty:
				t.Errorf("%s: Internal is %v but it is bound as typed=%v", s.Name, s.Internal, ty)
			}
			if _, ok := actions.Lookup(s.Name); ok == s.Internal {
				t.Errorf("%s: runbooks can look it up: %v, internal: %v", s.Name, ok, s.Internal)
			}
		})
	}
	for _, b := range bound {
		t.Run("bound/"+b.name, func(t *testing.T) {
			if _, ok := declared[b.name]; !ok {
				t.Errorf("%s has a handler (typed=%v) but no spec in activities/actions", b.name, b.typed)
			}
		})
	}
}
