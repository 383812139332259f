// Command firebreak-cluster runs what `make cluster` starts: PostgreSQL 15
// and a three-node Temporal cluster on loopback (see
// internal/testenv.StartCluster), the production shape `firebreak serve`
// runs against. Once the cluster accepts workflows it prints
// TEMPORAL_ADDRESS=<host:port>; Ctrl-C stops every process and removes
// the data. With -tls the frontend and the nodes speak mutual TLS with a
// CA made for the run, and it prints the files a client needs as
// TEMPORAL_TLS_CA, TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY and
// TEMPORAL_TLS_SERVER_NAME.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/firebreak-ops/firebreak/internal/testenv"
)

func main() {
	useTLS := flag.Bool("tls", false, "serve mutual TLS with a CA made for this run")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	began := time.Now()
	fmt.Fprintln(os.Stderr, "cluster: starting PostgreSQL 15 and three Temporal server processes")
	c, err := testenv.StartClusterWith(ctx, testenv.ClusterOptions{TLS: *useTLS})
	if err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
	fmt.Printf("TEMPORAL_ADDRESS=%s\n", c.Frontend)
	tlsFlags := ""
	if c.TLS != nil {
		fmt.Printf("TEMPORAL_TLS_CA=%s\nTEMPORAL_TLS_CERT=%s\nTEMPORAL_TLS_KEY=%s\nTEMPORAL_TLS_SERVER_NAME=%s\n",
			c.TLS.CAFile, c.TLS.CertFile, c.TLS.KeyFile, c.TLS.ServerName)
		tlsFlags = " " + strings.Join(c.TLS.ServeFlags(), " ")
	}
	fmt.Fprintf(os.Stderr, `cluster: ready in %s (frontend and worker services on 127.0.0.1, history and matching on 127.0.0.2 and 127.0.0.3, namespace %s)

Next, in other terminals:
  bin/firebreak keys generate payload-keys.yaml
  FIREBREAK_PAYLOAD_KEY_FILE=payload-keys.yaml bin/firebreak serve --role worker --listen 127.0.0.1:8081 --temporal-address %s%s
  FIREBREAK_PAYLOAD_KEY_FILE=payload-keys.yaml FIREBREAK_API_TOKEN=change-me bin/firebreak serve --role api --temporal-address %s%s
Ctrl-C here stops the cluster and removes its data.
`, time.Since(began).Round(100*time.Millisecond), c.Namespace, c.Frontend, tlsFlags, c.Frontend, tlsFlags)
	<-ctx.Done()
	fmt.Fprintln(os.Stderr, "cluster: stopping")
	c.Stop()
	fmt.Fprintln(os.Stderr, "cluster: stopped; nothing left behind")
}
