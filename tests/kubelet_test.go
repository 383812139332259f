package tests

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/firebreak-ops/firebreak/internal/testenv"
)

// renderChart runs `helm template` on deploy/helm/firebreak as release
// name in namespace with the given values, and returns the output and its
// objects.
func renderChart(t *testing.T, name, namespace string, values map[string]any) ([]byte, []*unstructured.Unstructured) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "values.yaml")
	v, err := yaml.Marshal(values)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, v, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(helmBinary(t), "template", name, "../deploy/helm/firebreak", "--namespace", namespace, "-f", path).CombinedOutput()
	if err != nil {
		t.Fatalf("helm template: %v\n%s", err, out)
	}
	var objs []*unstructured.Unstructured
	for _, doc := range bytes.Split(out, []byte("\n---")) {
		if len(bytes.TrimSpace(bytes.TrimPrefix(bytes.TrimSpace(doc), []byte("---")))) == 0 {
			continue
		}
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(doc, &obj.Object); err != nil {
			t.Fatalf("rendered YAML: %v\n%s", err, doc)
		}
		if len(obj.Object) > 0 {
			objs = append(objs, obj)
		}
	}
	return out, objs
}

// renderedAs converts the rendered objects of one kind into their typed
// form (Deployment, ConfigMap, ...).
func renderedAs[T any](t *testing.T, objs []*unstructured.Unstructured, kind string) []*T {
	t.Helper()
	var out []*T
	for _, o := range objs {
		if o.GetKind() != kind {
			continue
		}
		v := new(T)
		if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(o.Object, v, true); err != nil {
			t.Fatalf("%s %s: %v", kind, o.GetName(), err)
		}
		out = append(out, v)
	}
	return out
}

// kubelet starts the containers of pod specs as local processes of the
// real firebreak binary, the way a kubelet would start them from the
// image: the rendered args, the environment (env, envFrom and valueFrom
// resolved from the ConfigMaps and Secrets it holds), and ConfigMap and
// Secret volumes written into temp directories.
//
// Two things differ from a node, and the kubelet rewrites what the
// container is told to match them:
//   - Mount paths (/etc/firebreak, ...) cannot be created on this machine,
//     so each volume is written to a temp directory, and every argument
//     and literal env value that starts with a mount path is rewritten to
//     that directory.
//   - The containers share the host's network instead of having one each,
//     so every containerPort is given a free loopback port, and
//     --listen=HOST:PORT arguments naming a containerPort are rewritten to
//     it. Probes resolve their port (by name or number) through the same
//     map, as they would reach the pod's IP.
type kubelet struct {
	t          *testing.T
	bin        string
	configMaps map[string]map[string]string
	secrets    map[string]map[string][]byte
}

// container is one started container.
type container struct {
	name  string
	spec  corev1.Container
	cmd   *exec.Cmd
	ports map[int32]int // containerPort → loopback port
	log   string
	env   []string
	// volumes maps the pod's volume names to their host directories.
	volumes map[string]string
}

// imageEntrypoint is the image's ENTRYPOINT (see Dockerfile): a container
// whose command names it runs the test's build.
const imageEntrypoint = "/usr/local/bin/firebreak"

// start starts every container of the pod spec and stops them when the
// test ends.
func (k *kubelet) start(pod string, spec corev1.PodSpec) []*container {
	k.t.Helper()
	root := k.t.TempDir()
	mounts := map[string]string{} // volume name → host directory
	for _, v := range spec.Volumes {
		dir := filepath.Join(root, "volumes", v.Name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			k.t.Fatal(err)
		}
		if v.EmptyDir != nil {
			// Scratch space the pod's user may write.
			if uid := spec.SecurityContext; uid != nil && uid.RunAsUser != nil && os.Getuid() == 0 {
				_ = os.Chown(dir, int(*uid.RunAsUser), int(*uid.RunAsUser))
			}
			mounts[v.Name] = dir
			continue
		}
		files, err := k.volumeFiles(v)
		if err != nil {
			k.t.Fatalf("pod %s: volume %s: %v", pod, v.Name, err)
		}
		for p, data := range files {
			full := filepath.Join(dir, p)
			if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
				k.t.Fatal(err)
			}
			// Kubernetes' default mode for projected keys: 0644.
			if err := os.WriteFile(full, data, 0o644); err != nil {
				k.t.Fatal(err)
			}
		}
		mounts[v.Name] = dir
	}
	var out []*container
	for _, c := range spec.Containers {
		out = append(out, k.startContainer(pod, root, spec, c, mounts))
	}
	return out
}

// volumeFiles lists the files a ConfigMap or Secret volume projects.
func (k *kubelet) volumeFiles(v corev1.Volume) (map[string][]byte, error) {
	data := map[string][]byte{}
	var items []corev1.KeyToPath
	switch {
	case v.ConfigMap != nil:
		cm, ok := k.configMaps[v.ConfigMap.Name]
		if !ok {
			if v.ConfigMap.Optional != nil && *v.ConfigMap.Optional {
				return nil, nil
			}
			return nil, fmt.Errorf("ConfigMap %s not found", v.ConfigMap.Name)
		}
		for key, val := range cm {
			data[key] = []byte(val)
		}
		items = v.ConfigMap.Items
	case v.Secret != nil:
		s, ok := k.secrets[v.Secret.SecretName]
		if !ok {
			if v.Secret.Optional != nil && *v.Secret.Optional {
				return nil, nil
			}
			return nil, fmt.Errorf("Secret %s not found", v.Secret.SecretName)
		}
		data = s
		items = v.Secret.Items
	default:
		return nil, fmt.Errorf("only ConfigMap and Secret volumes are supported")
	}
	if len(items) == 0 {
		return data, nil
	}
	files := map[string][]byte{}
	for _, it := range items {
		val, ok := data[it.Key]
		if !ok {
			return nil, fmt.Errorf("no key %q", it.Key)
		}
		files[it.Path] = val
	}
	return files, nil
}

// envFor resolves a container's environment as the kubelet does: envFrom
// in order, then env, later names winning.
func (k *kubelet) envFor(pod string, c corev1.Container, hostPath func(string) string) ([]string, error) {
	vars := map[string]string{}
	var order []string
	set := func(name, val string) {
		if _, ok := vars[name]; !ok {
			order = append(order, name)
		}
		vars[name] = val
	}
	for _, from := range c.EnvFrom {
		switch {
		case from.SecretRef != nil:
			s, ok := k.secrets[from.SecretRef.Name]
			if !ok && (from.SecretRef.Optional == nil || !*from.SecretRef.Optional) {
				return nil, fmt.Errorf("envFrom: Secret %s not found", from.SecretRef.Name)
			}
			for key, val := range s {
				set(from.Prefix+key, string(val))
			}
		case from.ConfigMapRef != nil:
			cm, ok := k.configMaps[from.ConfigMapRef.Name]
			if !ok && (from.ConfigMapRef.Optional == nil || !*from.ConfigMapRef.Optional) {
				return nil, fmt.Errorf("envFrom: ConfigMap %s not found", from.ConfigMapRef.Name)
			}
			for key, val := range cm {
				set(from.Prefix+key, val)
			}
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			if strings.Contains(e.Value, "$(") {
				return nil, fmt.Errorf("env %s: $(VAR) expansion is not supported here", e.Name)
			}
			set(e.Name, hostPath(e.Value))
		case e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			val, ok := k.secrets[ref.Name][ref.Key]
			if !ok {
				if ref.Optional != nil && *ref.Optional {
					continue
				}
				return nil, fmt.Errorf("env %s: no key %q in Secret %s", e.Name, ref.Key, ref.Name)
			}
			set(e.Name, string(val))
		case e.ValueFrom.ConfigMapKeyRef != nil:
			ref := e.ValueFrom.ConfigMapKeyRef
			val, ok := k.configMaps[ref.Name][ref.Key]
			if !ok {
				if ref.Optional != nil && *ref.Optional {
					continue
				}
				return nil, fmt.Errorf("env %s: no key %q in ConfigMap %s", e.Name, ref.Key, ref.Name)
			}
			set(e.Name, val)
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.name":
			set(e.Name, pod)
		default:
			return nil, fmt.Errorf("env %s: unsupported valueFrom", e.Name)
		}
	}
	env := []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOSTNAME=" + pod}
	for _, name := range order {
		env = append(env, name+"="+vars[name])
	}
	return env, nil
}

// startContainer starts one container of a pod whose volumes are written.
func (k *kubelet) startContainer(pod, root string, spec corev1.PodSpec, c corev1.Container, volumes map[string]string) *container {
	k.t.Helper()
	// Longest mount path first, so /etc/firebreak-keys is not taken for
	// /etc/firebreak.
	type mount struct{ path, host string }
	var mounts []mount
	for _, m := range c.VolumeMounts {
		if m.SubPath != "" || m.SubPathExpr != "" {
			k.t.Fatalf("container %s: subPath mounts are not supported", c.Name)
		}
		host, ok := volumes[m.Name]
		if !ok {
			k.t.Fatalf("container %s mounts volume %s, which the pod does not declare", c.Name, m.Name)
		}
		mounts = append(mounts, mount{m.MountPath, host})
	}
	sort.Slice(mounts, func(i, j int) bool { return len(mounts[i].path) > len(mounts[j].path) })
	hostPath := func(s string) string {
		for _, m := range mounts {
			if s == m.path || strings.HasPrefix(s, m.path+"/") {
				return m.host + strings.TrimPrefix(s, m.path)
			}
		}
		return s
	}
	ctr := &container{name: c.Name, spec: c, ports: map[int32]int{}}
	for _, p := range c.Ports {
		ctr.ports[p.ContainerPort] = testenv.FreePort(k.t)
	}
	args := append([]string{}, c.Command...)
	if len(args) == 0 {
		args = []string{imageEntrypoint}
	}
	if args[0] != imageEntrypoint {
		k.t.Fatalf("container %s runs %q, not the image's firebreak", c.Name, args[0])
	}
	args = append(args[1:], c.Args...)
	for i, a := range args {
		if strings.Contains(a, "$(") {
			k.t.Fatalf("container %s: arg %q: $(VAR) expansion is not supported here", c.Name, a)
		}
		if flag, val, ok := strings.Cut(a, "="); ok && strings.HasPrefix(flag, "--") {
			if flag == "--listen" {
				val = k.hostListen(ctr, val)
			}
			args[i] = flag + "=" + hostPath(val)
		} else {
			args[i] = hostPath(a)
		}
	}
	env, err := k.envFor(pod, c, hostPath)
	if err != nil {
		k.t.Fatalf("container %s: %v", c.Name, err)
	}
	home := filepath.Join(root, "home-"+c.Name)
	if err := os.MkdirAll(home, 0o755); err != nil {
		k.t.Fatal(err)
	}
	readOnlyRoot := c.SecurityContext != nil && c.SecurityContext.ReadOnlyRootFilesystem != nil && *c.SecurityContext.ReadOnlyRootFilesystem
	ctr.volumes = volumes
	ctr.env = append(env, "HOME="+home)
	cmd := exec.Command(k.bin, args...)
	cmd.Env = ctr.env
	cmd.Dir = home
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	// As root, run as the pod's user like a kubelet, so a write outside the
	// temp home or a file the user may not read fails here as in a pod.
	if uid := runAsUser(spec, c); uid != nil && os.Getuid() == 0 {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(*uid), Gid: uint32(*uid)}
		for _, dir := range []string{filepath.Dir(root), root, home} {
			_ = os.Chmod(dir, 0o755)
		}
		if !readOnlyRoot {
			// With a read-only root filesystem the home stays root's: a
			// write outside the pod's volumes fails, as in the pod.
			_ = os.Chown(home, int(*uid), int(*uid))
		}
		_ = os.Chmod(filepath.Dir(k.bin), 0o755)
	}
	ctr.log = filepath.Join(root, pod+"-"+c.Name+".log")
	logFile, err := os.Create(ctr.log)
	if err != nil {
		k.t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		k.t.Fatalf("container %s: %v", c.Name, err)
	}
	ctr.cmd = cmd
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	k.t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
			k.t.Errorf("%s/%s did not stop within 20s of SIGTERM", pod, c.Name)
		}
		logFile.Close()
		if k.t.Failed() {
			b, _ := os.ReadFile(ctr.log)
			k.t.Logf("%s/%s log:\n%s", pod, c.Name, b)
		}
	})
	return ctr
}

// hostListen maps a listen address on a containerPort to its loopback port.
func (k *kubelet) hostListen(c *container, addr string) string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		return addr
	}
	if host, ok := c.ports[int32(n)]; ok {
		return fmt.Sprintf("127.0.0.1:%d", host)
	}
	return addr
}

// runAsUser is the container's user, else the pod's.
func runAsUser(spec corev1.PodSpec, c corev1.Container) *int64 {
	if c.SecurityContext != nil && c.SecurityContext.RunAsUser != nil {
		return c.SecurityContext.RunAsUser
	}
	if spec.SecurityContext != nil {
		return spec.SecurityContext.RunAsUser
	}
	return nil
}

// probeTiming is a probe's timing with the API server's defaults applied
// (helm output carries only what the chart sets).
type probeTiming struct {
	initialDelay, period, timeout time.Duration
	success, failure              int
}

func timingOf(p *corev1.Probe) probeTiming {
	orDefault := func(v, def int32) int32 {
		if v == 0 {
			return def
		}
		return v
	}
	return probeTiming{
		initialDelay: time.Duration(p.InitialDelaySeconds) * time.Second,
		period:       time.Duration(orDefault(p.PeriodSeconds, 10)) * time.Second,
		timeout:      time.Duration(orDefault(p.TimeoutSeconds, 1)) * time.Second,
		success:      int(orDefault(p.SuccessThreshold, 1)),
		failure:      int(orDefault(p.FailureThreshold, 3)),
	}
}

// probeURL resolves an httpGet probe's URL: its port by name through the
// container's ports, or by number, then to the loopback port the
// containerPort was given.
func (c *container) probeURL(g *corev1.HTTPGetAction) (string, error) {
	port := int32(g.Port.IntValue())
	if g.Port.StrVal != "" {
		port = 0
		for _, p := range c.spec.Ports {
			if p.Name == g.Port.StrVal {
				port = p.ContainerPort
			}
		}
		if port == 0 {
			return "", fmt.Errorf("no containerPort named %q", g.Port.StrVal)
		}
	}
	host, ok := c.ports[port]
	if !ok {
		host = int(port) // not declared: the pod's port itself
	}
	scheme := strings.ToLower(string(g.Scheme))
	if scheme == "" {
		scheme = "http"
	}
	path := g.Path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	return fmt.Sprintf("%s://127.0.0.1:%d%s", scheme, host, path), nil
}

// probeOnce runs one httpGet probe attempt: success is a status in
// [200, 400), as for the kubelet.
func (c *container) probeOnce(p *corev1.Probe, timeout time.Duration) error {
	if p.HTTPGet == nil {
		return fmt.Errorf("only httpGet probes are supported")
	}
	u, err := c.probeURL(p.HTTPGet)
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: timeout, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // the kubelet does not verify either
	}}
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	for _, h := range p.HTTPGet.HTTPHeaders {
		req.Header.Add(h.Name, h.Value)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return fmt.Errorf("GET %s: HTTP %d", u, resp.StatusCode)
	}
	return nil
}

// probeResult is what the prober saw over its window.
type probeResult struct {
	attempts, successes int
	// firstPass is when the probe first reached successThreshold
	// consecutive successes (zero: never).
	firstPass time.Duration
	// tripped is the first failureThreshold'th consecutive failure, which
	// makes a kubelet restart the container (liveness) or mark a ready one
	// unready (readiness); nil if it never happened.
	tripped error
	// trippedBeforePass says it came before the first pass: a readiness
	// probe that trips while a container starts only delays its readiness.
	trippedBeforePass bool
}

// passed judges the result as the kubelet would: a liveness probe must
// never trip (the container would be restarted) and must pass; a
// readiness probe must pass and not trip after that.
func (r probeResult) passed(liveness bool) error {
	switch {
	case r.tripped != nil && (liveness || !r.trippedBeforePass):
		return r.tripped
	case r.firstPass == 0:
		return fmt.Errorf("never passed in %d attempts (%v)", r.attempts, r.tripped)
	}
	return nil
}

// prober runs a probe on the kubelet's schedule for the window: after
// initialDelaySeconds, one attempt every periodSeconds with timeoutSeconds
// each, counting consecutive successes and failures against the
// thresholds.
func (c *container) prober(ctx context.Context, p *corev1.Probe, window time.Duration) probeResult {
	tm := timingOf(p)
	var r probeResult
	start := time.Now()
	select {
	case <-ctx.Done():
		return r
	case <-time.After(tm.initialDelay):
	}
	tick := time.NewTicker(tm.period)
	defer tick.Stop()
	succ, fail := 0, 0
	for {
		err := c.probeOnce(p, tm.timeout)
		r.attempts++
		if err == nil {
			r.successes++
			succ, fail = succ+1, 0
			if succ >= tm.success && r.firstPass == 0 {
				r.firstPass = time.Since(start)
			}
		} else {
			succ, fail = 0, fail+1
			if fail >= tm.failure && r.tripped == nil {
				r.tripped = fmt.Errorf("%d consecutive failures, the last: %v", fail, err)
				r.trippedBeforePass = r.firstPass == 0
			}
		}
		if time.Since(start)+tm.period > window {
			return r
		}
		select {
		case <-ctx.Done():
			return r
		case <-tick.C:
		}
	}
}

// probeWindow is long enough for a probe to trip once: its initial delay
// and failureThreshold periods.
func probeWindow(p *corev1.Probe) time.Duration {
	tm := timingOf(p)
	return tm.initialDelay + time.Duration(tm.failure)*tm.period + time.Second
}

// deploymentsOf returns the rendered Deployments by component.
func deploymentsOf(t *testing.T, objs []*unstructured.Unstructured) map[string]*appsv1.Deployment {
	t.Helper()
	out := map[string]*appsv1.Deployment{}
	for _, d := range renderedAs[appsv1.Deployment](t, objs, "Deployment") {
		out[d.Spec.Template.Labels["app.kubernetes.io/component"]] = d
	}
	return out
}
