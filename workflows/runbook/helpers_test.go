package runbook_test

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/firebreak-ops/firebreak/internal/names"
)

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

func workflowOpts() workflow.RegisterOptions {
	return workflow.RegisterOptions{Name: names.RunbookWorkflow}
}
