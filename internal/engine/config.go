package engine

import (
	"context"
	stdsql "database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/metrics"
	"go.temporal.io/server/common/persistence/sql"
	"go.temporal.io/server/common/persistence/sql/sqlplugin"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives/timestamp"
	"go.temporal.io/server/common/resolver"
	"go.temporal.io/server/common/searchattribute/sadefs"
	sqliteschema "go.temporal.io/server/schema/sqlite"
)

const (
	// clusterName names the single local cluster. It is stored in the
	// database on first start and must never change afterwards.
	clusterName = "active"
	// dataStoreName is the key of the SQLite store in config.Persistence.
	dataStoreName = "sqlite-default"
	// visibilityStoreName is the key of the visibility SQLite store.
	visibilityStoreName = "sqlite-visibility"
	// namespaceRetention is how long closed workflows are kept when Start
	// creates the namespace. The server's helper defaults to one day, which
	// would silently purge yesterday's incidents from a dev database.
	namespaceRetention = 30 * 24 * time.Hour
)

// sqliteConfig returns the persistence settings for the SQLite file at path.
//
// The sqlite plugin (modernc.org/sqlite underneath) passes "mode" and a few
// other URI parameters through as they are and turns every other connect
// attribute into a `_pragma=name=value` DSN parameter, which the driver runs
// on each new connection. So pragma names are given without a leading
// underscore ("_journal_mode" would become the unknown, silently ignored
// pragma "_journal_mode").
func sqliteConfig(path string, temporalDefaults bool) *config.SQL {
	if temporalDefaults {
		// SQLite's own defaults, as Temporal's CLI dev server leaves them:
		// rollback journal, synchronous=FULL.
		return &config.SQL{
			PluginName:        sqliteplugin.PluginName,
			DatabaseName:      path,
			ConnectAttributes: map[string]string{"mode": "rwc"},
		}
	}
	return &config.SQL{
		PluginName:   sqliteplugin.PluginName,
		DatabaseName: path,
		ConnectAttributes: map[string]string{
			// Read-write, create the file if missing.
			"mode": "rwc",
			// Write-ahead log: a commit is an append to temporal.db-wal, so a
			// kill -9 mid-write leaves the database consistent and loses no
			// committed transaction; readers also no longer block the writer.
			"journal_mode": "wal",
			// With WAL, NORMAL only skips the fsync on each commit (it syncs at
			// checkpoints). Committed data survives the process being killed;
			// only an OS crash or power loss can roll back the last commits,
			// and never corrupts the file. FULL would fsync every workflow
			// state change, which is slow on laptops for no gain in dev.
			"synchronous": "normal",
			// Wait up to 5 s instead of failing with SQLITE_BUSY when another
			// process (sqlite3 shell, a backup) holds a lock on the file.
			"busy_timeout": "5000",
		},
		// MaxConns is left at 0: the plugin then uses a single connection
		// shared by all services, which serializes access in-process and
		// avoids "database is locked" errors between the server's own
		// transactions.
	}
}

// prepareDatabase creates the schema unless the database already has it,
// creates the namespace if it is missing, and clears stale membership rows.
// Custom search attributes are registered in a new namespace's config
// directly; for an existing namespace, missing ones are added through the
// operator API once the server runs (see ensureSearchAttributes).
func prepareDatabase(sqlCfg *config.SQL, namespace string, searchAttributes map[string]enumspb.IndexedValueType) error {
	if err := ensureSchema(sqlCfg); err != nil {
		return err
	}
	nsCfg, err := sqliteschema.NewNamespaceConfig(clusterName, namespace, false, searchAttributes)
	if err != nil {
		return fmt.Errorf("preparing namespace %q: %w", namespace, err)
	}
	nsCfg.Detail.Config.Retention = timestamp.DurationPtr(namespaceRetention)
	if err := sqliteschema.CreateNamespaces(sqlCfg, nsCfg); err != nil {
		return fmt.Errorf("creating namespace %q: %w", namespace, err)
	}
	return forgetPreviousHosts(sqlCfg)
}

// ensureSchema sets up the Temporal schema in the SQLite file unless it is
// already there. The schema is applied in one transaction (SQLite DDL is
// transactional), so a process killed halfway leaves an empty file that the
// next start initializes, never a half-built schema that it would take for
// a complete one.
func ensureSchema(sqlCfg *config.SQL) error {
	path := sqlCfg.DatabaseName
	db, err := stdsql.Open("sqlite", "file:"+path+"?"+dsnQuery(sqlCfg))
	if err != nil {
		return fmt.Errorf("opening temporal database %s: %w", path, err)
	}
	defer func() { _ = db.Close() }()
	db.SetMaxOpenConns(1)

	var tables int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'namespaces'`).Scan(&tables); err != nil {
		return fmt.Errorf("inspecting temporal database %s: %w", path, err)
	}
	if tables > 0 {
		return nil
	}
	tx, err := db.Begin()
	if err != nil {
		return fmt.Errorf("setting up temporal schema in %s: %w", path, err)
	}
	if err := sqliteschema.SetupSchemaOnDB(txAdminDB{tx: tx}); err != nil {
		_ = tx.Rollback()
		return fmt.Errorf("setting up temporal schema in %s: %w", path, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("setting up temporal schema in %s: %w", path, err)
	}
	return nil
}

// txAdminDB runs the statements of sqliteschema.SetupSchemaOnDB, which only
// calls Exec, inside a transaction. The other AdminDB methods are not
// implemented (the embedded interface is nil).
type txAdminDB struct {
	sqlplugin.AdminDB
	tx *stdsql.Tx
}

func (a txAdminDB) Exec(stmt string, args ...any) error {
	_, err := a.tx.Exec(stmt, args...)
	return err
}

// dsnQuery encodes sqlCfg's connect attributes the way the sqlite plugin
// does, so the schema connection uses the same pragmas as the server.
func dsnQuery(sqlCfg *config.SQL) string {
	q := url.Values{}
	for k, v := range sqlCfg.ConnectAttributes {
		if k == "mode" {
			q.Set(k, v)
			continue
		}
		q.Add("_pragma", k+"="+v)
	}
	return q.Encode()
}

// forgetPreviousHosts deletes every row of the cluster_membership table.
//
// Each service records a heartbeat there and, on start, tries to join the
// membership ring through every host that heartbeated in the last 20 s. After
// a quick restart those are the previous run's dead addresses, and a service
// then spends its whole join timeout (30 s and more) on them while requests
// it should serve fail with "Not enough hosts to serve the request". Only one
// embedded server uses the file at a time, so every row is stale.
func forgetPreviousHosts(sqlCfg *config.SQL) error {
	db, err := sql.NewSQLDB(sqlplugin.DbKindMain, sqlCfg, resolver.NewNoopResolver(), log.NewNoopLogger(), metrics.NoopMetricsHandler)
	if err != nil {
		return fmt.Errorf("opening temporal database: %w", err)
	}
	defer func() { _ = db.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.PruneClusterMembership(ctx, &sqlplugin.PruneClusterMembershipFilter{
		PruneRecordsBefore: time.Now().Add(100 * 365 * 24 * time.Hour),
	}); err != nil {
		return fmt.Errorf("clearing stale cluster membership: %w", err)
	}
	return nil
}

// validateSearchAttributes rejects names the server reserves and unknown
// types before anything touches the database.
func validateSearchAttributes(sas map[string]enumspb.IndexedValueType) error {
	for name, typ := range sas {
		if name == "" {
			return errors.New("engine: empty search attribute name")
		}
		if sadefs.IsReserved(name) {
			return fmt.Errorf("engine: search attribute name %q is reserved by Temporal", name)
		}
		if _, ok := enumspb.IndexedValueType_name[int32(typ)]; !ok || typ == enumspb.INDEXED_VALUE_TYPE_UNSPECIFIED {
			return fmt.Errorf("engine: search attribute %q has invalid type %v", name, typ)
		}
	}
	return nil
}

// serverConfig builds the static server configuration: one process running
// frontend, history, matching and worker on the ports in ps, one history
// shard, SQLite for both default and visibility persistence. Metrics and
// pprof stay off (a nil Global.Metrics gives a no-op handler, PProf port 0
// disables pprof), so no fixed port can collide. The frontend HTTP API is
// off too (HTTPPort 0).
func serverConfig(cfg Config, connectHost string, ps portSet, sqlCfg, visCfg *config.SQL) *config.Config {
	frontend := net.JoinHostPort(connectHost, strconv.Itoa(ps.frontend))
	internal := func(grpcPort, membershipPort int) config.Service {
		return config.Service{RPC: config.RPC{
			GRPCPort:       grpcPort,
			MembershipPort: membershipPort,
			BindOnIP:       connectHost,
		}}
	}
	frontendSvc := internal(ps.frontend, ps.membership[0])
	frontendSvc.RPC.BindOnIP = cfg.Host

	c := &config.Config{}
	c.Global.Membership = config.Membership{
		MaxJoinDuration:  30 * time.Second,
		BroadcastAddress: connectHost,
	}
	c.Persistence = config.Persistence{
		DefaultStore:     dataStoreName,
		VisibilityStore:  dataStoreName,
		NumHistoryShards: 1,
		DataStores:       map[string]config.DataStore{dataStoreName: {SQL: sqlCfg}},
	}
	if visCfg != sqlCfg {
		c.Persistence.VisibilityStore = visibilityStoreName
		c.Persistence.DataStores[visibilityStoreName] = config.DataStore{SQL: visCfg}
	}
	c.ClusterMetadata = &cluster.Config{
		EnableGlobalNamespace:    false,
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{
			clusterName: {
				Enabled:                true,
				InitialFailoverVersion: 1,
				RPCAddress:             frontend,
			},
		},
	}
	c.DCRedirectionPolicy.Policy = "noop"
	c.Services = map[string]config.Service{
		"frontend": frontendSvc,
		"history":  internal(ps.history, ps.membership[1]),
		"matching": internal(ps.matching, ps.membership[2]),
		"worker":   internal(ps.worker, ps.membership[3]),
	}
	c.Archival.History.State = "disabled"
	c.Archival.Visibility.State = "disabled"
	c.NamespaceDefaults.Archival.History.State = "disabled"
	c.NamespaceDefaults.Archival.Visibility.State = "disabled"
	// The server's internal SDK clients (system workers) dial this address.
	c.PublicClient.HostPort = frontend
	return c
}

// dynamicConfig returns the dynamic configuration for a single-machine
// server with a single co-located firebreak worker.
func dynamicConfig() dynamicconfig.StaticClient {
	return dynamicconfig.StaticClient{
		// Read search attribute definitions from the database instead of a
		// cache that refreshes lazily, so attributes registered at Start are
		// usable by the very next workflow. Registering attributes is rare
		// and the database is local, so the extra reads are cheap.
		dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key(): true,
		// Bypassing that cache means more persistence reads per request;
		// raise the per-host persistence rate limits (defaults 2000 and
		// 9000) so bursts such as replaying many incidents are not
		// throttled. Same values and ratio as the Temporal CLI dev server.
		dynamicconfig.FrontendPersistenceMaxQPS.Key(): 10000,
		dynamicconfig.HistoryPersistenceMaxQPS.Key():  45000,
		// One partition per task queue instead of four. With one matching
		// host and one worker there is nothing to spread; a single partition
		// means tasks and polls always meet directly instead of being
		// forwarded between partitions, which lowers dispatch latency.
		dynamicconfig.MatchingNumTaskqueueReadPartitions.Key():  1,
		dynamicconfig.MatchingNumTaskqueueWritePartitions.Key(): 1,
	}
}
