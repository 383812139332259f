package app

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"k8s.io/client-go/rest"

	"github.com/firebreak-ops/firebreak/activities/kubernetes"
	"github.com/firebreak-ops/firebreak/internal/codec"
	"github.com/firebreak-ops/firebreak/internal/config"
	"github.com/firebreak-ops/firebreak/internal/secrets"
	"github.com/firebreak-ops/firebreak/internal/secrets/kubesecret"
)

// DevKeyFile is where `firebreak dev` keeps its payload keys, inside its
// data directory.
const DevKeyFile = "payload-keys.yaml"

// SecretStore builds the secret providers the configuration names, in
// its order. The Kubernetes provider reads kubernetes.kubeconfig (or the
// in-cluster service account) on first use.
func SecretStore(cfg *config.Config) *secrets.Store {
	var ps []secrets.Provider
	sp := cfg.SecretProviders
	for _, name := range sp.ProviderList() {
		switch name {
		case config.ProviderEnv:
			ps = append(ps, secrets.Env{})
		case config.ProviderFiles:
			ps = append(ps, secrets.Dir{Path: sp.Dir})
		case config.ProviderKubernetes:
			kubeconfig := cfg.Kubernetes.Kubeconfig
			ps = append(ps, kubesecret.New(sp.Kubernetes.Namespace, func() (*rest.Config, error) {
				rc, _, err := kubernetes.RESTConfig(kubeconfig, "")
				return rc, err
			}))
		}
	}
	return secrets.NewStore(ps...)
}

// ErrNoPayloadKeys is serve's refusal to store payloads in clear by
// accident.
var ErrNoPayloadKeys = errors.New("no payload encryption keys: set encryption.keyFile (FIREBREAK_PAYLOAD_KEY_FILE) " +
	"or encryption.keySecret (FIREBREAK_PAYLOAD_KEY_SECRET); create a key file with `firebreak keys generate <file>`, " +
	"or pass --no-payload-encryption to store workflow inputs and results in Temporal in clear")

// PayloadKeys returns the keyring payloads are encrypted with: from
// encryption.keyFile, from the secret encryption.keySecret names, or,
// with neither, from devDir's key file, created on first start
// (`firebreak dev`); without devDir that is ErrNoPayloadKeys. A nil
// keyring means encryption is off (encryption.disabled).
func PayloadKeys(ctx context.Context, cfg *config.Config, r secrets.Resolver, devDir string) (k *codec.Keyring, created bool, err error) {
	e := cfg.Encryption
	switch {
	case e.Disabled:
		return nil, false, nil
	case e.KeyFile != "":
		k, err = codec.LoadKeyFile(e.KeyFile)
		return k, false, err
	case e.KeySecret != "":
		data, err := r.Resolve(ctx, e.KeySecret)
		if err != nil {
			return nil, false, fmt.Errorf("payload keys: %w", err)
		}
		k, err = codec.ParseKeys([]byte(data), "secret "+e.KeySecret)
		return k, false, err
	case devDir != "":
		return codec.EnsureKeyFile(filepath.Join(devDir, DevKeyFile))
	}
	return nil, false, ErrNoPayloadKeys
}

// CheckPayloadKeys reads the first event of up to checkedWorkflows open
// workflows (the ones workers must go on with): a keyring that cannot
// decrypt them (a key dropped too early, a different key under the same
// id) stops start-up with an error naming the key, rather than leaving
// workers that fail on every task. Other errors (Temporal not reachable
// yet) are not this check's to report.
func CheckPayloadKeys(ctx context.Context, c client.Client, namespace string) error {
	resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Namespace: namespace, PageSize: checkedWorkflows, Query: `ExecutionStatus = "Running"`,
	})
	if codec.IsKeyError(err) {
		return fmt.Errorf("payload keys: %w", err)
	}
	if err != nil {
		return nil
	}
	for _, e := range resp.GetExecutions() {
		_, err := c.WorkflowService().GetWorkflowExecutionHistory(ctx, &workflowservice.GetWorkflowExecutionHistoryRequest{
			Namespace: namespace, Execution: e.GetExecution(), MaximumPageSize: 1,
		})
		if codec.IsKeyError(err) {
			return fmt.Errorf("payload keys: workflow %s: %w", e.GetExecution().GetWorkflowId(), err)
		}
	}
	return nil
}

// checkedWorkflows bounds CheckPayloadKeys' reads at start-up.
const checkedWorkflows = 20
