// Command firebreak runs and drives Firebreak: `firebreak dev` for
// everything on one machine, `firebreak serve` against a Temporal cluster,
// and client commands that talk to the HTTP API.
package main

import (
	"os"

	"github.com/firebreak-ops/firebreak/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
