package experiments

import (
	"github.com/chaos-mesh/chaos-mesh/api/v1alpha1"
)

// faultSpecs maps each supported Chaos Mesh kind to a constructor of its
// spec type, so a fault's spec decodes into the real API type.
var faultSpecs = map[string]func() any{
	v1alpha1.KindPodChaos:     func() any { return &v1alpha1.PodChaosSpec{} },
	v1alpha1.KindNetworkChaos: func() any { return &v1alpha1.NetworkChaosSpec{} },
	v1alpha1.KindStressChaos:  func() any { return &v1alpha1.StressChaosSpec{} },
	v1alpha1.KindHTTPChaos:    func() any { return &v1alpha1.HTTPChaosSpec{} },
	v1alpha1.KindIOChaos:      func() any { return &v1alpha1.IOChaosSpec{} },
}
