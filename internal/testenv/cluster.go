package testenv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Cluster is Temporal in production shape on one machine: Debian's
// PostgreSQL 15 (run as its own user in a temp dir) holding the temporal
// and temporal_visibility databases, migrated with Temporal's schema tool,
// and three server processes on loopback addresses finding each other
// through the membership table: frontend and worker services on
// 127.0.0.1, history and matching on 127.0.0.2 and 127.0.0.3.
type Cluster struct {
	// Frontend is the frontend's host:port.
	Frontend  string
	Namespace string
	// TLS is what clients need when the cluster serves mutual TLS.
	TLS      *ClusterTLS
	signer   *clusterSigner
	dir      string
	pgPort   int
	pgData   string
	mu       sync.Mutex
	nodes    map[string]*clusterNode
	stopOnce sync.Once
}

type clusterNode struct {
	name     string
	config   string
	services []string
	cmd      *exec.Cmd
	log      string
	done     chan struct{}
}

// ClusterNodes names the three server processes.
var ClusterNodes = []string{"frontend", "history-a", "history-b"}

// Temporal's binaries are built by `make temporal-bins` into the tool
// cache ($FIREBREAK_TEMPORAL_BIN is their directory).
func temporalBinDir() (string, error) {
	if d := os.Getenv("FIREBREAK_TEMPORAL_BIN"); d != "" {
		return d, nil
	}
	if d := cachedTool("temporal-*", "temporal-server"); d != "" {
		return filepath.Dir(d), nil
	}
	return "", fmt.Errorf("no Temporal server in %s: run `make temporal-bins` (or the tests through `make test`)", ToolCache())
}

const pgBin = "/usr/lib/postgresql/15/bin"

// StartCluster starts PostgreSQL and the three servers, registers the
// default namespace and returns once the frontend accepts workflows. On
// error nothing is left running.
func StartCluster(ctx context.Context) (*Cluster, error) {
	return StartClusterWith(ctx, ClusterOptions{})
}

// StartClusterWith is StartCluster with TLS or authorization.
func StartClusterWith(ctx context.Context, o ClusterOptions) (c *Cluster, err error) {
	bins, err := temporalBinDir()
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(pgBin, "initdb")); err != nil {
		return nil, fmt.Errorf("no PostgreSQL 15 (%s): run `make test-deps`", pgBin)
	}
	dir, err := os.MkdirTemp("", "firebreak-cluster-")
	if err != nil {
		return nil, err
	}
	c = &Cluster{dir: dir, Namespace: "default", nodes: map[string]*clusterNode{}}
	defer func() {
		if err != nil {
			logs := c.Logs()
			c.Stop()
			err = fmt.Errorf("%w\n%s", err, logs)
		}
	}()
	global := ""
	if o.TLS || o.Auth {
		if c.TLS, err = writeClusterPKI(dir); err != nil {
			return c, err
		}
		global += tlsConfig(dir)
	}
	if o.Auth {
		if c.signer, err = newClusterSigner(dir); err != nil {
			return c, err
		}
		global += c.signer.authConfig()
	}
	if err := c.startPostgres(ctx); err != nil {
		return c, err
	}
	sqlTool := filepath.Join(bins, "temporal-sql-tool")
	for _, db := range []struct{ name, schema string }{
		{"temporal", "postgresql/v12/temporal"}, {"temporal_visibility", "postgresql/v12/visibility"},
	} {
		base := []string{"--plugin", "postgres12", "--ep", "127.0.0.1", "-p", strconv.Itoa(c.pgPort), "-u", "postgres", "--db", db.name}
		for _, args := range [][]string{{"create"}, {"setup-schema", "-v", "0.0"}, {"update-schema", "--schema-name", db.schema}} {
			if out, err := exec.CommandContext(ctx, sqlTool, append(base, args...)...).CombinedOutput(); err != nil {
				return c, fmt.Errorf("temporal-sql-tool %s %s: %v\n%s", db.name, args[0], err, out)
			}
		}
	}
	ports, err := clusterFreePorts(11)
	if err != nil {
		return c, err
	}
	// Every node uses the same ports on its own address.
	p := clusterPorts{frontend: ports[0], history: ports[1], matching: ports[2], worker: ports[3], http: ports[4],
		members: [4]int{ports[5], ports[6], ports[7], ports[8]}}
	if o.Auth {
		p.internal = [2]int{ports[9], ports[10]}
	}
	c.Frontend = net.JoinHostPort("127.0.0.1", strconv.Itoa(p.frontend))
	dyn := filepath.Join(dir, "dynamicconfig.yaml")
	if err := os.WriteFile(dyn, []byte("system.forceSearchAttributesCacheRefreshOnRead:\n  - value: true\n"), 0o600); err != nil {
		return c, err
	}
	for i, name := range ClusterNodes {
		ip := fmt.Sprintf("127.0.0.%d", i+1)
		services := []string{"history", "matching"}
		if i == 0 {
			services = []string{"frontend", "worker"}
			if o.Auth {
				// With an authorizer on the public frontend, the
				// servers' own calls go through an internal one.
				services = append(services, "internal-frontend")
			}
		}
		n := &clusterNode{name: name, services: services, config: filepath.Join(dir, name+".yaml"), log: filepath.Join(dir, name+".log")}
		if err := os.WriteFile(n.config, []byte(nodeConfig(ip, c.pgPort, p, dyn, global)), 0o600); err != nil {
			return c, err
		}
		c.nodes[name] = n
		if err := c.start(n, bins); err != nil {
			return c, err
		}
		if i == 0 {
			// The first node writes the cluster metadata; the others
			// would race it.
			if err := waitTCP(ctx, c.Frontend, time.Minute); err != nil {
				return c, fmt.Errorf("frontend: %w", err)
			}
		}
	}
	if err := c.registerNamespace(ctx); err != nil {
		return c, err
	}
	return c, nil
}

// clusterPorts are the gRPC ports of each service, the frontend's HTTP
// port, and the membership ports (frontend, history, matching, worker).
type clusterPorts struct {
	frontend, history, matching, worker, http int
	members                                   [4]int
	// internal is the internal frontend's gRPC and membership ports
	// (zero: none).
	internal [2]int
}

// nodeConfig is one server's configuration; global is extra YAML for its
// global section (TLS, authorization).
func nodeConfig(ip string, pgPort int, p clusterPorts, dyn, global string) string {
	store := func(db string, conns int) string {
		return fmt.Sprintf(`{pluginName: postgres12, databaseName: %s, connectAddr: "127.0.0.1:%d", connectProtocol: tcp, user: postgres, password: "", maxConns: %d, maxIdleConns: %d, maxConnLifetime: 1h}`, db, pgPort, conns, conns)
	}
	svc := func(grpc, member int) string {
		return fmt.Sprintf(`{rpc: {grpcPort: %d, membershipPort: %d, bindOnIP: %q}}`, grpc, member, ip)
	}
	internal := ""
	if p.internal[0] != 0 {
		internal = "  internal-frontend: " + svc(p.internal[0], p.internal[1]) + "\n"
	}
	return fmt.Sprintf(`log: {stdout: true, level: warn}
persistence:
  defaultStore: default
  visibilityStore: visibility
  numHistoryShards: 4
  datastores:
    default: {sql: %s}
    visibility: {sql: %s}
global:
  membership: {maxJoinDuration: 30s, broadcastAddress: %q}
%sservices:
  frontend: {rpc: {grpcPort: %d, membershipPort: %d, bindOnIP: %q, httpPort: %d}}
  history: %s
  matching: %s
  worker: %s
%sclusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active: {enabled: true, initialFailoverVersion: 1, rpcName: frontend, rpcAddress: "127.0.0.1:%d"}
dcRedirectionPolicy: {policy: noop}
dynamicConfigClient: {filepath: %q, pollInterval: 10s}
`, store("temporal", 20), store("temporal_visibility", 5), ip, global,
		p.frontend, p.members[0], ip, p.http,
		svc(p.history, p.members[1]), svc(p.matching, p.members[2]), svc(p.worker, p.members[3]), internal,
		p.frontend, dyn)
}

func (c *Cluster) startPostgres(ctx context.Context) error {
	cred, err := postgresUser()
	if err != nil {
		return err
	}
	if err := os.Chown(c.dir, int(cred.Uid), int(cred.Gid)); err != nil {
		return err
	}
	ports, err := kubeFreePorts(1)
	if err != nil {
		return err
	}
	c.pgPort, c.pgData = ports[0], filepath.Join(c.dir, "pgdata")
	if out, err := c.asPostgres(ctx, cred, "initdb", "-D", c.pgData, "--auth=trust", "-U", "postgres").CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %v\n%s", err, out)
	}
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off -c synchronous_commit=off", c.pgPort, c.dir)
	if out, err := c.asPostgres(ctx, cred, "pg_ctl", "-D", c.pgData, "-o", opts, "-l", filepath.Join(c.dir, "postgres.log"), "-w", "start").CombinedOutput(); err != nil {
		return fmt.Errorf("pg_ctl start: %v\n%s", err, out)
	}
	return nil
}

// postgresUser is the credential of Debian's postgres user: PostgreSQL
// refuses to run as root.
func postgresUser() (*syscall.Credential, error) {
	pg, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("no postgres user (is postgresql-15 installed?): %w", err)
	}
	uid, _ := strconv.Atoi(pg.Uid)
	gid, _ := strconv.Atoi(pg.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// asPostgres is a PostgreSQL program run as the postgres user in the
// cluster's directory.
func (c *Cluster) asPostgres(ctx context.Context, cred *syscall.Credential, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(pgBin, name), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	cmd.Dir = c.dir
	return cmd
}

func (c *Cluster) start(n *clusterNode, bins string) error {
	args := []string{"--config-file", n.config, "--allow-no-auth", "start"}
	for _, s := range n.services {
		args = append(args, "--service", s)
	}
	logf, err := os.Create(n.log)
	if err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(bins, "temporal-server"), args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	n.cmd, n.done = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(n.done) }()
	return nil
}

func (c *Cluster) registerNamespace(ctx context.Context) error {
	deadline := time.Now().Add(90 * time.Second)
	var cl client.Client
	opts, err := c.ClientOptions()
	if err != nil {
		return err
	}
	for {
		// The frontend answers "not healthy yet" until history joins.
		var err error
		if cl, err = client.Dial(opts); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("frontend %s: %w", c.Frontend, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	defer cl.Close()
	for {
		_, err := cl.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
			Namespace: c.Namespace, WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour),
		})
		if err == nil || strings.Contains(err.Error(), "already exists") {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("registering namespace %s: %w", c.Namespace, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	// The namespace reaches every frontend's cache within seconds.
	for {
		_, err := cl.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: c.Namespace})
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("namespace %s not served: %w", c.Namespace, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// Kill kills -9 one server process (see ClusterNodes).
func (c *Cluster) Kill(name string) error {
	c.mu.Lock()
	n := c.nodes[name]
	c.mu.Unlock()
	if n == nil || n.cmd == nil {
		return fmt.Errorf("no node %s", name)
	}
	_ = n.cmd.Process.Signal(syscall.SIGKILL)
	<-n.done
	return nil
}

// Restart starts a killed node again.
func (c *Cluster) Restart(name string) error {
	bins, err := temporalBinDir()
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.nodes[name]
	if n == nil {
		return fmt.Errorf("no node %s", name)
	}
	return c.start(n, bins)
}

// Logs returns the tails of every process's log.
func (c *Cluster) Logs() string {
	var b strings.Builder
	for _, name := range append([]string{"postgres"}, ClusterNodes...) {
		if t := kubeTail(filepath.Join(c.dir, name+".log"), 20); t != "" {
			fmt.Fprintf(&b, "--- %s\n%s\n", name, t)
		}
	}
	return b.String()
}

// Stop stops the servers, then PostgreSQL, and removes the directory.
func (c *Cluster) Stop() {
	c.stopOnce.Do(func() {
		c.mu.Lock()
		for _, n := range c.nodes {
			if n.cmd != nil && n.cmd.ProcessState == nil {
				_ = n.cmd.Process.Signal(syscall.SIGTERM)
				select {
				case <-n.done:
				case <-time.After(15 * time.Second):
					_ = n.cmd.Process.Kill()
					<-n.done
				}
			}
		}
		c.mu.Unlock()
		if cred, err := postgresUser(); err == nil && c.pgData != "" {
			_ = c.asPostgres(context.Background(), cred, "pg_ctl", "-D", c.pgData, "-m", "immediate", "stop").Run()
		}
		_ = os.RemoveAll(c.dir)
	})
}

// quietSDK drops the SDK's own logs of the harness's client.
var quietSDK = sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))

// waitTCP waits until addr accepts connections.
func waitTCP(ctx context.Context, addr string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		conn, err := (&net.Dialer{Timeout: time.Second}).DialContext(ctx, "tcp", addr)
		if err == nil {
			_ = conn.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New(addr + " never accepted connections")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// clusterFreePorts picks n distinct ports free on all three node
// addresses, below 32768: the membership table stores ports as smallint,
// and the kernel's ephemeral ports lie above it.
func clusterFreePorts(n int) ([]int, error) {
	var out []int
	seen := map[int]bool{}
	for tries := 0; len(out) < n; tries++ {
		if tries > 1000 {
			return nil, errors.New("no free ports below 32768")
		}
		p := 20000 + rand.IntN(12000)
		if seen[p] {
			continue
		}
		seen[p] = true
		free := true
		for i := range ClusterNodes {
			ln, err := net.Listen("tcp", net.JoinHostPort(fmt.Sprintf("127.0.0.%d", i+1), strconv.Itoa(p)))
			if err != nil {
				free = false
				break
			}
			ln.Close()
		}
		if free {
			out = append(out, p)
		}
	}
	return out, nil
}
