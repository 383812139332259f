package chaosmesh

import (
	"context"
	"errors"
	"fmt"
	"sort"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/firebreak-ops/firebreak/activities/actions"
	"github.com/firebreak-ops/firebreak/internal/names"
)

// Sweep deletes the Chaos Mesh resources Firebreak left behind: it lists
// every resource of the handled kinds in all namespaces labelled as
// managed by Firebreak, asks isOpen about the run in each one's run-ID
// annotation, and deletes those whose run is no longer open. Resources
// without the annotation are left alone. Kinds the cluster does not serve
// (no Chaos Mesh) are skipped. It returns what it deleted; errors about
// single kinds, runs or resources do not stop the sweep and are joined.
func (a *Activities) Sweep(ctx context.Context, isOpen func(ctx context.Context, runID string) (bool, error)) ([]actions.ChaosObject, error) {
	c, err := a.clientFor()
	if err != nil {
		return nil, err
	}
	var (
		deleted []actions.ChaosObject
		errs    []error
		open    = map[string]bool{}
	)
	for _, kindName := range Kinds() {
		list := kinds[kindName].list()
		err := c.List(ctx, list, client.MatchingLabels{names.LabelManagedBy: names.LabelManagedByValue})
		if notInstalled(err) || apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			errs = append(errs, classify(err, "chaos: listing "+kindName))
			continue
		}
		err = meta.EachListItem(list, func(item runtime.Object) error {
			obj, ok := item.(client.Object)
			if !ok {
				return nil
			}
			runID := obj.GetAnnotations()[names.AnnotationRunID]
			if runID == "" {
				return nil
			}
			o := actions.ChaosObject{Kind: kindName, Namespace: obj.GetNamespace(), Name: obj.GetName()}
			isOpenRun, known := open[runID]
			if !known {
				var err error
				if isOpenRun, err = isOpen(ctx, runID); err != nil {
					errs = append(errs, fmt.Errorf("chaos: sweep: is run %s open: %w", runID, err))
					return nil
				}
				open[runID] = isOpenRun
			}
			if isOpenRun {
				return nil
			}
			if err := deleteObject(ctx, c, obj, describe(o)); err != nil {
				errs = append(errs, err)
				return nil
			}
			deleted = append(deleted, o)
			return nil
		})
		if err != nil {
			errs = append(errs, err)
		}
	}
	sort.Slice(deleted, func(i, j int) bool {
		x, y := deleted[i], deleted[j]
		if x.Kind != y.Kind {
			return x.Kind < y.Kind
		}
		if x.Namespace != y.Namespace {
			return x.Namespace < y.Namespace
		}
		return x.Name < y.Name
	})
	return deleted, errors.Join(errs...)
}
