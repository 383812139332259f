// Package app wires Firebreak together: the worker that runs workflows and
// activities, and the HTTP API, against a Temporal client. `firebreak dev`
// and `firebreak serve` both run through it; only where the client points
// differs.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	slackgo "github.com/slack-go/slack"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/firebreak-ops/firebreak/activities"
	"github.com/firebreak-ops/firebreak/activities/kubernetes"
	"github.com/firebreak-ops/firebreak/activities/pagerduty"
	"github.com/firebreak-ops/firebreak/activities/report"
	"github.com/firebreak-ops/firebreak/activities/slack"
	"github.com/firebreak-ops/firebreak/experiments"
	"github.com/firebreak-ops/firebreak/internal/audit"
	"github.com/firebreak-ops/firebreak/internal/automation"
	"github.com/firebreak-ops/firebreak/internal/chaos"
	"github.com/firebreak-ops/firebreak/internal/codec"
	"github.com/firebreak-ops/firebreak/internal/config"
	"github.com/firebreak-ops/firebreak/internal/console"
	"github.com/firebreak-ops/firebreak/internal/incidents"
	"github.com/firebreak-ops/firebreak/internal/ingress"
	"github.com/firebreak-ops/firebreak/internal/ingress/alertmanager"
	"github.com/firebreak-ops/firebreak/internal/ingress/chaosapi"
	"github.com/firebreak-ops/firebreak/internal/ingress/codecserver"
	"github.com/firebreak-ops/firebreak/internal/ingress/incidentapi"
	pagerdutyin "github.com/firebreak-ops/firebreak/internal/ingress/pagerduty"
	slackin "github.com/firebreak-ops/firebreak/internal/ingress/slack"
	"github.com/firebreak-ops/firebreak/internal/names"
	"github.com/firebreak-ops/firebreak/internal/redact"
	"github.com/firebreak-ops/firebreak/internal/router"
	"github.com/firebreak-ops/firebreak/internal/runs"
	"github.com/firebreak-ops/firebreak/runbooks"
	"github.com/firebreak-ops/firebreak/workflows"
	automationwire "github.com/firebreak-ops/firebreak/workflows/wire/automation"
	chaoswire "github.com/firebreak-ops/firebreak/workflows/wire/chaos"
	incidentwire "github.com/firebreak-ops/firebreak/workflows/wire/incident"
)

// Roles a process can take.
const (
	RoleAPI    = "api"
	RoleWorker = "worker"
	RoleAll    = "all"
)

// SearchAttributes are the custom search attributes Firebreak needs.
func SearchAttributes() map[string]enumspb.IndexedValueType {
	out := map[string]enumspb.IndexedValueType{names.SADryRun: enumspb.INDEXED_VALUE_TYPE_BOOL}
	for _, n := range names.KeywordAttributes {
		out[n] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	}
	return out
}

// EnsureSearchAttributes registers missing search attributes on an external
// cluster. A cluster that refuses (no operator permission, a cloud that
// keeps the operator API to itself) gets a MissingSearchAttributesError
// naming each attribute and the command an administrator runs.
func EnsureSearchAttributes(ctx context.Context, c client.Client, namespace string) error {
	ops := c.OperatorService()
	missing := SearchAttributes()
	have, err := ops.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil && !isDenied(err) {
		return fmt.Errorf("listing search attributes of namespace %s: %w", namespace, err)
	}
	if err == nil {
		for name := range have.GetCustomAttributes() {
			delete(missing, name)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	listErr := err
	if listErr == nil {
		_, err = ops.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: namespace, SearchAttributes: missing})
		if err == nil {
			return nil
		}
	}
	return &MissingSearchAttributesError{Namespace: namespace, Missing: missing, Err: err, Unlisted: listErr != nil}
}

// MissingSearchAttributesError says which search attributes Firebreak
// lacks and could not add.
type MissingSearchAttributesError struct {
	Namespace string
	Missing   map[string]enumspb.IndexedValueType
	// Unlisted: the client could not even list what the namespace has,
	// so Missing is every attribute Firebreak uses.
	Unlisted bool
	Err      error
}

// Error names every attribute with its type and the commands that create
// them.
func (e *MissingSearchAttributesError) Error() string {
	var b strings.Builder
	what := "lacks"
	if e.Unlisted {
		what = "may lack (this client may not list them)"
	}
	fmt.Fprintf(&b, "Temporal namespace %q %s %d search attribute(s) Firebreak needs, and adding them failed", e.Namespace, what, len(e.Missing))
	if isDenied(e.Err) {
		b.WriteString(" because this client has no operator permission on the namespace")
	}
	fmt.Fprintf(&b, " (%v).\nAn administrator must create them once, for example with the temporal CLI:\n", e.Err)
	for _, name := range slices.Sorted(maps.Keys(e.Missing)) {
		typ := "Keyword"
		if e.Missing[name] == enumspb.INDEXED_VALUE_TYPE_BOOL {
			typ = "Bool"
		}
		fmt.Fprintf(&b, "  temporal operator search-attribute create --namespace %s --name %s --type %s\n", e.Namespace, name, typ)
	}
	b.WriteString("or grant this client the namespace's admin role, then start firebreak again.")
	return b.String()
}

func (e *MissingSearchAttributesError) Unwrap() error { return e.Err }

// isDenied reports whether Temporal refused a call for want of permission
// (not for bad credentials, which are reported as they are).
func isDenied(err error) bool {
	var denied *serviceerror.PermissionDenied
	return errors.As(err, &denied) || status.Code(err) == codes.PermissionDenied
}

// Options configure a Firebreak process.
type Options struct {
	Role      string
	Client    client.Client
	Namespace string
	Catalog   *runbooks.Catalog
	// Experiments is the chaos catalog; nil means the built-in one.
	Experiments *experiments.Catalog
	Config      *config.Config
	// Listen is the HTTP API address (roles api and all); for the worker
	// role, where /healthz and /readyz are served (empty: nowhere).
	Listen string
	// Listener, when set, is used instead of listening on Listen.
	Listener net.Listener
	Logger   *slog.Logger
	UIURL    string
	// Ready, when set, is called with the API's address once it serves.
	Ready func(apiAddr string)
	// DataDir, when set, is where local state lives; postmortems go to
	// <DataDir>/postmortems unless incidents.postmortemDir says otherwise.
	DataDir string
	// Open runs the API without authentication on purpose: `firebreak
	// dev` on loopback with no token configured, or `serve
	// --insecure-no-auth`. /readyz says so, and webhooks without
	// credentials of their own accept requests only then.
	Open bool
	// Codec is the keyring payloads are encrypted with (nil: encryption
	// off); the API serves it at /v1/codec for the Temporal Web UI, whose
	// browsers may call it from CodecOrigins.
	Codec        *codec.Keyring
	CodecOrigins []string
}

// CheckAuth refuses to serve the API without authentication unless the
// operator chose so (open): a token or principals must be configured.
func CheckAuth(cfg *config.Config, open bool) error {
	if open || cfg.APIToken != "" || len(cfg.Principals) > 0 {
		return nil
	}
	return errors.New("the API has no authentication: set apiToken (FIREBREAK_API_TOKEN) or principals in the config, " +
		"or pass --insecure-no-auth to serve it open to anyone who can reach it")
}

// NewWorker creates a worker with every workflow and action registered;
// uiURL is the Temporal Web UI's base URL for links in messages.
func NewWorker(c client.Client, cfg *config.Config, logger *slog.Logger, uiURL string) worker.Worker {
	w := worker.New(c, names.TaskQueue, worker.Options{
		// A workflow that panics or turns out nondeterministic is failed
		// loudly rather than retried forever.
		WorkflowPanicPolicy: worker.FailWorkflow,
	})
	deps := Deps(cfg, logger)
	deps.Slack.UIURL = uiURL
	// incident.declare declares through the incidents service; the
	// client's own namespace is the worker's.
	deps.Incidents = NewIncidents(c, "", cfg)
	Register(w, activities.Handlers(deps))
	RegisterChaos(w, c, cfg)
	return w
}

// RegisterChaos registers the activities of chaos experiments: Chaos Mesh
// resources through the configured cluster, and the context read from
// Temporal itself.
func RegisterChaos(w worker.Registry, c client.Client, cfg *config.Config) {
	// controller-runtime's client logs through a global logger and
	// complains, with a stack trace, when none is set.
	ctrlLogOnce.Do(func() { ctrllog.SetLogger(logr.Discard()) })
	activities.RegisterTyped(w, activities.Typed(activities.Deps{
		Kubernetes: kubernetes.Config{Kubeconfig: cfg.Kubernetes.Kubeconfig}, Temporal: c,
	}))
}

var ctrlLogOnce sync.Once

// ChaosEscalation turns the configuration into where stuck chaos goes.
func ChaosEscalation(cfg *config.Config) chaoswire.Escalation {
	return chaoswire.Escalation{SlackChannel: cfg.Chaos.SlackChannel, Page: cfg.Chaos.PageOnStuck}
}

// Register registers Firebreak's workflows and the given action handlers.
func Register(w worker.Registry, handlers map[string]activities.Handler) {
	workflows.Register(w)
	activities.Register(w, handlers)
}

// Deps builds the actions' clients from the configuration. The egress
// policy applies to http.request and HTTP probes; Slack, PagerDuty and
// Prometheus are reached at their configured URLs through httpClient.
func Deps(cfg *config.Config, logger *slog.Logger) activities.Deps {
	httpClient := &http.Client{Timeout: 2 * time.Minute}
	policy, err := cfg.EgressPolicy()
	if err != nil {
		// config.Load refuses such a configuration; only a hand-built
		// one gets here.
		panic(fmt.Sprintf("config: %v", err))
	}
	return activities.Deps{
		Logger:        logger.With("component", "action"),
		HTTPClient:    httpClient,
		Egress:        policy,
		PrometheusURL: cfg.Prometheus.URL,
		Kubernetes:    kubernetes.Config{Kubeconfig: cfg.Kubernetes.Kubeconfig},
		Slack:         slack.Config{BotToken: cfg.Slack.BotToken, APIURL: cfg.Slack.APIURL, ConsoleURL: cfg.ConsoleURL, HTTP: httpClient},
		PagerDuty: pagerduty.Config{
			Token: cfg.PagerDuty.Token, APIURL: cfg.PagerDuty.APIURL, EventsURL: cfg.PagerDuty.EventsURL,
			RoutingKey: cfg.PagerDuty.RoutingKey, From: cfg.PagerDuty.From, HTTP: httpClient,
		},
		Report:  PostmortemConfig(cfg),
		Secrets: SecretStore(cfg),
	}
}

// PostmortemConfig says where postmortems go and which template they use.
func PostmortemConfig(cfg *config.Config) report.Config {
	dir := cfg.Incidents.PostmortemDir
	if dir == "" {
		dir = config.DefaultPostmortemDir
	}
	return report.Config{Dir: dir, Template: cfg.Incidents.PostmortemTemplate}
}

// IncidentSettings turns the configuration into what every incident does.
func IncidentSettings(cfg *config.Config) incidentwire.IncidentSettings {
	return incidentwire.IncidentSettings{
		Slack:   cfg.Slack.BotToken != "" && !cfg.Incidents.NoSlackChannel,
		Invite:  cfg.Incidents.Invite,
		CanPage: cfg.PagerDuty.RoutingKey != "",
	}
}

// temporalHealth asks Temporal's frontend whether it serves.
func temporalHealth(c client.Client) func(context.Context) error {
	if c == nil {
		return nil
	}
	return func(ctx context.Context) error {
		_, err := c.CheckHealth(ctx, &client.CheckHealthRequest{})
		return err
	}
}

// SlackClient is the Web API client the Slack ingress uses for user-group
// lookups and replies, or nil without a bot token.
func SlackClient(cfg *config.Config) *slackgo.Client {
	if cfg.Slack.BotToken == "" {
		return nil
	}
	var opts []slackgo.Option
	if u := cfg.Slack.APIURL; u != "" {
		if !strings.HasSuffix(u, "/") {
			u += "/"
		}
		opts = append(opts, slackgo.OptionAPIURL(u))
	}
	return slackgo.New(cfg.Slack.BotToken, opts...)
}

// AutomationSettings turns the configuration into circuit-breaker settings.
func AutomationSettings(cfg *config.Config) automationwire.AutomationSettings {
	s := automationwire.AutomationSettings{Failures: cfg.Automation.BreakerFailures, Window: cfg.Automation.BreakerWindow}
	if cfg.Automation.PageOnOpen {
		s.PageRoutingKey = cfg.PagerDuty.RoutingKey
	}
	return s
}

// Services are Firebreak's domain services, wired to one another: the
// router starts runs and links them to incidents, runs check the incident
// they name, the router asks automation whether starts are held back, and
// the audit reads runs and incidents.
type Services struct {
	Runs       *runs.Service
	Router     *router.Service
	Incidents  *incidents.Service
	Chaos      *chaos.Service
	Automation *automation.Service
	Audit      *audit.Service
}

// NewIncidents builds the incidents service; an empty namespace is the
// client's.
func NewIncidents(c client.Client, namespace string, cfg *config.Config) *incidents.Service {
	return &incidents.Service{Client: c, Namespace: namespace, Settings: IncidentSettings(cfg)}
}

// NewServices builds the domain services on the client.
func NewServices(o Options) *Services {
	inc := NewIncidents(o.Client, o.Namespace, o.Config)
	rs := &runs.Service{Client: o.Client, Catalog: o.Catalog, Namespace: o.Namespace, UIURL: o.UIURL, Incidents: inc,
		Ledger: &automation.Deliveries{Client: o.Client}, WorkerRequired: o.Role != RoleAPI}
	auto := &automation.Service{Client: o.Client, Settings: AutomationSettings(o.Config)}
	return &Services{
		Runs:       rs,
		Incidents:  inc,
		Automation: auto,
		Router: &router.Service{Client: o.Client, Namespace: o.Namespace, Catalog: o.Catalog,
			Runs: rs, Automation: auto, Incidents: inc},
		Chaos: &chaos.Service{Client: o.Client, Namespace: o.Namespace, UIURL: o.UIURL,
			Experiments: o.Experiments, Escalation: ChaosEscalation(o.Config)},
		Audit: &audit.Service{Client: o.Client, Namespace: o.Namespace, Runs: rs, Incidents: inc},
	}
}

// NewAPI builds the HTTP API, its webhooks and the Slack app on the
// domain services.
func NewAPI(o Options) (*ingress.API, *Services) {
	svc := NewServices(o)
	policy, err := o.Config.Policy()
	if err != nil {
		// Config.Load checked the roles already.
		panic(err)
	}
	var principals []ingress.Principal
	for _, p := range o.Config.Principals {
		principals = append(principals, ingress.Principal{Token: p.Token, Name: p.Name, Groups: p.Groups})
	}
	perSecond, burst := o.Config.Webhooks.RatePerSecond, o.Config.Webhooks.Burst
	if perSecond == 0 {
		perSecond = ingress.DefaultWebhookRate
	}
	if burst == 0 {
		burst = ingress.DefaultWebhookBurst
	}
	api := ingress.New(ingress.Options{
		Runs: svc.Runs, Automation: svc.Automation, Token: o.Config.APIToken, Principals: principals,
		Logger: o.Logger.With("component", "api"), WebhookLimiter: ingress.NewSourceLimiter(perSecond, burst),
		WebhookBudget: o.Config.Webhooks.Budget.D(), Reachable: temporalHealth(o.Client),
		Policy: policy, Open: o.Open})
	incidentapi.Register(api, svc.Incidents, svc.Audit)
	chaosapi.Register(api, svc.Chaos)
	am := alertmanager.Credentials{Token: o.Config.Alertmanager.Token, Username: o.Config.Alertmanager.Username, Password: o.Config.Alertmanager.Password}
	if am == (alertmanager.Credentials{}) {
		// Without credentials of its own the webhook takes the API token;
		// with neither it refuses everything unless the API is open.
		am.Token = o.Config.APIToken
		am.Open = o.Open
	}
	alertmanager.Register(api, svc.Router, am)
	if o.Codec != nil {
		codecserver.Register(api, o.Codec, o.CodecOrigins)
	}
	pagerdutyin.Register(api, svc.Router, svc.Incidents, &automation.Deliveries{Client: o.Client}, o.Config.PagerDuty.WebhookSecrets)
	slackin.Register(api, slackin.Services{Runs: svc.Runs, Chaos: svc.Chaos, Incidents: svc.Incidents},
		slackin.Config{SigningSecret: o.Config.Slack.SigningSecret, Client: SlackClient(o.Config), UIURL: o.UIURL, Policy: policy})
	// The console at /: the same identities, policy and services.
	console.Register(api, console.Services{Runs: svc.Runs, Incidents: svc.Incidents, Chaos: svc.Chaos, Automation: svc.Automation},
		console.Options{UIURL: o.UIURL, Namespace: o.Namespace, Logger: o.Logger.With("component", "console")})
	return api, svc
}

// Run runs the worker and/or the API until ctx is done, then stops them
// cleanly: the API stops taking requests first, then the worker finishes
// what it holds.
func Run(ctx context.Context, o Options) error {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	// Whatever logger the caller gave, nothing secret is written through it.
	o.Logger = redact.Logger(o.Logger)
	if o.Role == "" {
		o.Role = RoleAll
	}
	if o.Role != RoleAPI && o.Role != RoleWorker && o.Role != RoleAll {
		return fmt.Errorf("--role must be api, worker or all, not %q", o.Role)
	}
	if err := CheckPayloadKeys(ctx, o.Client, o.Namespace); err != nil {
		return err
	}
	var w worker.Worker
	if o.Role != RoleAPI {
		cfg := o.Config
		if cfg.Incidents.PostmortemDir == "" && o.DataDir != "" {
			c := *cfg
			c.Incidents.PostmortemDir = filepath.Join(o.DataDir, "postmortems")
			cfg = &c
		}
		w = NewWorker(o.Client, cfg, o.Logger, o.UIURL)
		if err := w.Start(); err != nil {
			return fmt.Errorf("starting worker: %w", err)
		}
		defer w.Stop()
		o.Logger.Info("worker polling", "taskQueue", names.TaskQueue, "namespace", o.Namespace)
		go SweepChaos(ctx, o.Client, o.Config, o.Logger)
	}
	if o.Role == RoleWorker {
		ln := o.Listener
		if ln == nil && o.Listen != "" {
			var err error
			if ln, err = net.Listen("tcp", o.Listen); err != nil {
				return fmt.Errorf("worker health address %s: %w", o.Listen, err)
			}
		}
		addr := ""
		if ln != nil {
			addr = ln.Addr().String()
			o.Logger.Info("worker health listening", "addr", "http://"+addr)
		}
		if o.Ready != nil {
			o.Ready(addr)
		}
		if ln != nil {
			return serveWorkerHealth(ctx, ln, o.Client)
		}
		<-ctx.Done()
		return nil
	}
	if o.Experiments == nil {
		cat, err := experiments.Builtin()
		if err != nil {
			return fmt.Errorf("built-in experiments are invalid:\n%w", err)
		}
		o.Experiments = cat
	}
	api, svc := NewAPI(o)
	if err := svc.Automation.EnsureAutomation(ctx); err != nil {
		return fmt.Errorf("starting the automation workflow: %w", err)
	}
	if err := svc.Chaos.EnsureChaos(ctx); err != nil {
		return fmt.Errorf("starting the chaos workflow: %w", err)
	}
	if err := svc.Chaos.SyncGameDays(ctx); err != nil {
		// A schedule that cannot be written must not keep the API down.
		o.Logger.Error("game day schedules not synced", "err", err)
	}
	go svc.Automation.WatchAutomation(ctx)
	ln := o.Listener
	if ln == nil {
		var err error
		ln, err = net.Listen("tcp", o.Listen)
		if err != nil {
			return fmt.Errorf("API address %s: %w", o.Listen, err)
		}
	}
	srv := ingress.NewServer(ln.Addr().String(), api)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	o.Logger.Info("API listening", "addr", "http://"+ln.Addr().String())
	if o.Ready != nil {
		o.Ready(ln.Addr().String())
	}
	select {
	case <-ctx.Done():
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
