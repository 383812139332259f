package chaosmesh

import (
	"errors"
	"testing"

	"github.com/chaos-mesh/chaos-mesh/api/v1alpha1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/firebreak-ops/firebreak/activities/actions"
)

func TestRecord(t *testing.T) {
	tests := []struct {
		id, ns, name string
	}{
		{"shop/web-1", "shop", "web-1"},
		{"shop/web-1/app", "shop", "web-1"},
		{"10.0.0.1", "", ""},
	}
	for _, tt := range tests {
		r := record(&v1alpha1.Record{Id: tt.id, Phase: v1alpha1.Injected, InjectedCount: 2, RecoveredCount: 1})
		if r.ID != tt.id || r.Namespace != tt.ns || r.Name != tt.name || r.Phase != "Injected" || r.InjectedCount != 2 || r.RecoveredCount != 1 {
			t.Errorf("record(%q) = %+v", tt.id, r)
		}
	}
}

func TestCondition(t *testing.T) {
	var (
		gone     = actions.ChaosState{}
		injected = actions.ChaosState{Exists: true, AllInjected: true}
		deleting = actions.ChaosState{Exists: true, Deleting: true, AllInjected: true}
		restored = actions.ChaosState{Exists: true, Deleting: true, AllRecovered: true}
	)
	tests := []struct {
		until string
		state actions.ChaosState
		want  bool
	}{
		{actions.UntilInjected, injected, true},
		{actions.UntilInjected, gone, false},
		{actions.UntilRecovered, deleting, false},
		{actions.UntilRecovered, restored, true},
		{actions.UntilRecovered, gone, true},
		{actions.UntilGone, restored, false},
		{actions.UntilGone, gone, true},
	}
	for _, tt := range tests {
		done, err := condition(tt.until)
		if err != nil {
			t.Fatal(err)
		}
		if got := done(tt.state); got != tt.want {
			t.Errorf("%s on %+v = %v, want %v", tt.until, tt.state, got, tt.want)
		}
	}
	if _, err := condition("later"); !actions.IsPermanent(err) {
		t.Errorf("unknown condition: %v", err)
	}
}

func TestClassify(t *testing.T) {
	gr := schema.GroupResource{Group: "chaos-mesh.org", Resource: "podchaos"}
	tests := []struct {
		name      string
		err       error
		permanent bool
	}{
		{"no CRD", &meta.NoKindMatchError{GroupKind: schema.GroupKind{Group: gr.Group, Kind: "PodChaos"}}, true},
		{"invalid", apierrors.NewInvalid(schema.GroupKind{Group: gr.Group, Kind: "PodChaos"}, "x", nil), true},
		{"forbidden", apierrors.NewForbidden(gr, "x", errors.New("rbac")), true},
		{"conflict", apierrors.NewConflict(gr, "x", errors.New("changed")), false},
		{"throttled", apierrors.NewTooManyRequests("slow down", 1), false},
		{"server error", apierrors.NewInternalError(errors.New("etcd")), false},
		{"connection", errors.New("connection refused"), false},
	}
	for _, tt := range tests {
		err := classify(tt.err, "PodChaos ns/x")
		if actions.IsPermanent(err) != tt.permanent || !errors.Is(err, tt.err) {
			t.Errorf("%s: classify = %v (permanent %v)", tt.name, err, actions.IsPermanent(err))
		}
	}
}
