package testenv

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// EtcdBinary is Debian's etcd-server, installed by `make test-deps`.
const EtcdBinary = "/usr/bin/etcd"

// KubeContext is the name of the only context in KubeEnv.Kubeconfig.
const KubeContext = "test"

// KubeNodeAnnotation marks the nodes kwok simulates.
const KubeNodeAnnotation = "kwok.x-k8s.io/node"

// KubeEnv is a running Kubernetes control plane: etcd, kube-apiserver,
// kube-controller-manager (deployment, replicaset, statefulset, daemonset,
// serviceaccount, namespace and garbage-collector controllers) and kwok,
// which simulates one node and runs the pods bound to it. There is no
// scheduler: pods must name their node (Deployment does).
type KubeEnv struct {
	// Kubeconfig is the path of a kubeconfig whose only (and current)
	// context, "test", is a cluster admin (group system:masters) using a
	// bearer token; TLS verification is skipped.
	Kubeconfig string
	Config     *rest.Config
	Clientset  kubernetes.Interface
	// NodeName is the fake node, Ready and schedulable.
	NodeName string

	dir      string // temp dir holding certs, keys, kubeconfig and logs
	cleanDir bool   // whether Stop removes dir (not for t.TempDir)
	shmDir   string // etcd's data, on tmpfs when possible
	procs    []*kubeProc
	stopOnce sync.Once
	// attached are helpers started on this control plane (the Chaos Mesh
	// controller): Stop stops them first, Logs includes theirs.
	attached []attachment
}

type attachment struct {
	stop func()
	logs func() string
}

// attach ties a helper's life and logs to the control plane's.
func (k *KubeEnv) attach(stop func(), logs func() string) {
	k.attached = append(k.attached, attachment{stop, logs})
}

type kubeProc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

// Kube starts a control plane for one test and stops it when the test
// ends, printing the processes' logs if the test failed. Starting takes
// about 15-25 s; a test package that needs one for several tests should
// call StartKube once from TestMain instead.
func Kube(t testing.TB) *KubeEnv {
	t.Helper()
	k, err := startKube(t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(k.Logs())
		}
		k.Stop()
	})
	return k
}

// StartKube starts a control plane outside a test (for TestMain). The
// caller must Stop it. On error nothing is left running and the error
// holds the tails of the processes' logs.
func StartKube() (*KubeEnv, error) {
	dir, err := os.MkdirTemp("", "firebreak-kube-")
	if err != nil {
		return nil, err
	}
	return startKube(dir, true)
}

// KubeBinDir is where the Kubernetes binaries are: $FIREBREAK_KUBE_BIN (set
// by the Makefile), or the newest kube-<version>/bin in the tool cache the
// Makefile builds into (ToolCache).
func KubeBinDir() (string, error) {
	if d := os.Getenv("FIREBREAK_KUBE_BIN"); d != "" {
		return d, nil
	}
	if d := cachedTool("kube-*", "bin"); d != "" {
		return d, nil
	}
	return "", fmt.Errorf("no kube binaries in %s: run `make test-deps` (or the tests through `make test`)", ToolCache())
}

// ToolCache is where `make test-deps` builds the heavy tools, named by
// version, outside any clone: $XDG_CACHE_HOME/firebreak or
// ~/.cache/firebreak.
func ToolCache() string {
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "firebreak")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "firebreak")
}

// cachedTool returns rel inside the last (newest version, by name)
// directory of the tool cache matching pattern, or "" when there is none.
func cachedTool(pattern, rel string) string {
	dirs, _ := filepath.Glob(filepath.Join(ToolCache(), pattern))
	for i := len(dirs) - 1; i >= 0; i-- {
		if p := filepath.Join(dirs[i], rel); kubeFileExists(p) {
			return p
		}
	}
	return ""
}

func kubeFileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func startKube(dir string, cleanDir bool) (k *KubeEnv, err error) {
	begin := time.Now()
	k = &KubeEnv{dir: dir, cleanDir: cleanDir, NodeName: "kwok-node-0"}
	defer func() {
		if err != nil {
			if len(k.procs) > 0 {
				err = fmt.Errorf("%w\n%s", err, k.Logs())
			}
			k.Stop()
			k = nil
		}
	}()
	binDir, err := KubeBinDir()
	if err != nil {
		return k, err
	}
	bins := map[string]string{"etcd": EtcdBinary}
	if p := os.Getenv("FIREBREAK_ETCD_BIN"); p != "" {
		bins["etcd"] = p
	}
	for _, b := range []string{"kube-apiserver", "kube-controller-manager", "kwok"} {
		bins[b] = filepath.Join(binDir, b)
	}
	if p := os.Getenv("FIREBREAK_KWOK_BIN"); p != "" {
		bins["kwok"] = p
	} else if p := cachedTool("kwok-*", "kwok"); p != "" {
		bins["kwok"] = p
	}
	stagesDir := filepath.Join(filepath.Dir(binDir), "stages")
	if d := os.Getenv("FIREBREAK_KUBE_STAGES"); d != "" {
		stagesDir = d
	} else if d := cachedTool("kwok-*", "stages"); d != "" {
		stagesDir = d
	}
	for _, b := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kwok"} {
		if st, err := os.Stat(bins[b]); err != nil || st.IsDir() {
			return k, fmt.Errorf("%s not found: run the tests through `make test` (it builds kube-apiserver, kube-controller-manager and kwok into its tool cache, installs Debian's etcd-server, and points FIREBREAK_KUBE_BIN at them)", bins[b])
		}
	}
	stages, _ := filepath.Glob(filepath.Join(stagesDir, "*.yaml"))
	if len(stages) == 0 {
		return k, fmt.Errorf("no kwok stages in %s: run `make test-deps`", stagesDir)
	}

	// etcd, on tmpfs: no fsync cost.
	shmParent := ""
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		shmParent = "/dev/shm"
	}
	if k.shmDir, err = os.MkdirTemp(shmParent, "firebreak-etcd-"); err != nil {
		return k, err
	}
	etcdPorts, err := kubeFreePorts(2)
	if err != nil {
		return k, err
	}
	clientPort, peerPort := etcdPorts[0], etcdPorts[1]
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", clientPort)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", peerPort)
	if err := k.start("etcd", bins["etcd"], nil,
		"--name=default",
		"--data-dir="+filepath.Join(k.shmDir, "data"),
		"--listen-client-urls="+etcdURL,
		"--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL,
		"--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=default="+peerURL,
		"--initial-cluster-state=new",
		"--logger=zap",
		"--log-level=warn",
	); err != nil {
		return k, err
	}

	// Credentials: a static admin token and a service-account key pair.
	token, err := kubeRandomHex(16)
	if err != nil {
		return k, err
	}
	tokenFile := filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(tokenFile, []byte(token+`,firebreak-test,firebreak-test,"system:masters"`+"\n"), 0o600); err != nil {
		return k, err
	}
	saKey, saPub := filepath.Join(dir, "sa.key"), filepath.Join(dir, "sa.pub")
	if err := kubeWriteRSAKeyPair(saKey, saPub); err != nil {
		return k, err
	}

	if err := k.waitFor(30*time.Second, "etcd to be healthy", func() error {
		return kubeHTTPOK(http.DefaultClient, etcdURL+"/health", "", `"health":"true"`)
	}); err != nil {
		return k, err
	}

	ports, err := kubeFreePorts(2)
	if err != nil {
		return k, err
	}
	apiPort, kcmPort := ports[0], ports[1]
	certDir := filepath.Join(dir, "apiserver-certs")
	if err := k.start("kube-apiserver", bins["kube-apiserver"], nil,
		"--etcd-servers="+etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", apiPort),
		"--cert-dir="+certDir,
		"--token-auth-file="+tokenFile,
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+saPub,
		"--service-account-signing-key-file="+saKey,
		"--service-cluster-ip-range=10.96.0.0/16",
		"--endpoint-reconciler-type=none",
		"--allow-privileged=true",
		"--profiling=false",
		"--enable-priority-and-fairness=false",
		// Debian's etcd 3.4 cannot serve watch progress requests, which
		// streaming lists need; with WatchList on, the server turns kwok's
		// watches from resourceVersion 0 into streaming lists and fails
		// them, and kwok sees pods only when it relists, seconds late.
		"--feature-gates=WatchList=false",
	); err != nil {
		return k, err
	}
	host := fmt.Sprintf("https://127.0.0.1:%d", apiPort)
	insecure := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, Timeout: 5 * time.Second}
	if err := k.waitFor(60*time.Second, "kube-apiserver to be ready", func() error {
		return kubeHTTPOK(insecure, host+"/readyz", token, "")
	}); err != nil {
		return k, err
	}

	k.Kubeconfig = filepath.Join(dir, "kubeconfig")
	kc := clientcmdapi.NewConfig()
	kc.Clusters[KubeContext] = &clientcmdapi.Cluster{Server: host, InsecureSkipTLSVerify: true}
	kc.AuthInfos[KubeContext] = &clientcmdapi.AuthInfo{Token: token}
	kc.Contexts[KubeContext] = &clientcmdapi.Context{Cluster: KubeContext, AuthInfo: KubeContext, Namespace: "default"}
	kc.CurrentContext = KubeContext
	if err := clientcmd.WriteToFile(*kc, k.Kubeconfig); err != nil {
		return k, err
	}
	k.Config = &rest.Config{
		Host:            host,
		BearerToken:     token,
		TLSClientConfig: rest.TLSClientConfig{Insecure: true},
		QPS:             50,
		Burst:           100,
		UserAgent:       "firebreak-testenv",
	}
	cs, err := kubernetes.NewForConfig(k.Config)
	if err != nil {
		return k, err
	}
	k.Clientset = cs

	if err := k.start("kube-controller-manager", bins["kube-controller-manager"], nil,
		"--kubeconfig="+k.Kubeconfig,
		"--authentication-kubeconfig="+k.Kubeconfig,
		"--authorization-kubeconfig="+k.Kubeconfig,
		"--authentication-skip-lookup=true",
		"--bind-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", kcmPort),
		"--cert-dir="+filepath.Join(dir, "kcm-certs"),
		"--leader-elect=false",
		"--controllers=deployment-controller,replicaset-controller,statefulset-controller,daemonset-controller,"+
			"serviceaccount-controller,serviceaccount-token-controller,namespace-controller,garbage-collector-controller",
		"--service-account-private-key-file="+saKey,
		"--root-ca-file="+filepath.Join(certDir, "apiserver.crt"),
		"--use-service-account-credentials=false",
		"--concurrent-deployment-syncs=10",
		"--concurrent-replicaset-syncs=10",
		"--profiling=false",
	); err != nil {
		return k, err
	}
	kwokArgs := []string{
		"--kubeconfig=" + k.Kubeconfig,
		"--manage-nodes-with-annotation-selector=" + KubeNodeAnnotation + "=fake",
		"--node-lease-duration-seconds=40",
	}
	for _, s := range stages {
		kwokArgs = append(kwokArgs, "--config="+s)
	}
	// HOME keeps kwok away from a user's ~/.kwok/kwok.yaml.
	if err := k.start("kwok", bins["kwok"], []string{"HOME=" + dir}, kwokArgs...); err != nil {
		return k, err
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := cs.CoreV1().Nodes().Create(ctx, &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        k.NodeName,
			Annotations: map[string]string{KubeNodeAnnotation: "fake", "node.alpha.kubernetes.io/ttl": "0"},
			Labels: map[string]string{
				"type": "kwok", "kubernetes.io/hostname": k.NodeName, "kubernetes.io/os": "linux",
				"kubernetes.io/arch": "amd64", "kubernetes.io/role": "agent", "node-role.kubernetes.io/agent": "",
			},
		},
	}, metav1.CreateOptions{}); err != nil {
		return k, fmt.Errorf("creating node %s: %w", k.NodeName, err)
	}
	if err := k.waitFor(45*time.Second, "kwok to make node "+k.NodeName+" Ready", func() error {
		n, err := cs.CoreV1().Nodes().Get(ctx, k.NodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				return nil
			}
		}
		return errors.New("not Ready yet")
	}); err != nil {
		return k, err
	}
	if err := k.waitFor(45*time.Second, "kube-controller-manager to create ServiceAccount default/default", func() error {
		_, err := cs.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err
	}); err != nil {
		return k, err
	}
	if os.Getenv("FIREBREAK_TEST_LOG") != "" {
		fmt.Fprintf(os.Stderr, "testenv: Kubernetes control plane at %s ready in %s (logs in %s)\n", host, time.Since(begin).Round(100*time.Millisecond), dir)
	}
	return k, nil
}

// Stop kills every process (and its process group) and removes the
// temporary files. It is safe to call more than once.
func (k *KubeEnv) Stop() {
	k.stopOnce.Do(func() {
		for i := len(k.attached) - 1; i >= 0; i-- {
			k.attached[i].stop()
		}
		for i := len(k.procs) - 1; i >= 0; i-- {
			p := k.procs[i]
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
		if k.shmDir != "" {
			_ = os.RemoveAll(k.shmDir)
		}
		if k.cleanDir {
			_ = os.RemoveAll(k.dir)
		}
	})
}

// Logs returns the last lines of each process's log, for failure reports.
func (k *KubeEnv) Logs() string {
	var b strings.Builder
	for _, p := range k.procs {
		fmt.Fprintf(&b, "----- %s (%s) -----\n%s", p.name, p.log, kubeTail(p.log, 40))
		select {
		case <-p.done:
			fmt.Fprintf(&b, "(exited: %v)\n", p.err)
		default:
		}
	}
	for _, a := range k.attached {
		b.WriteString(a.logs())
	}
	return b.String()
}

// Namespace creates a namespace (if missing) and waits for its default
// ServiceAccount, without which pods are refused.
func (k *KubeEnv) Namespace(t testing.TB, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := k.EnsureNamespace(ctx, name); err != nil {
		t.Fatal(err)
	}
}

// EnsureNamespace is Namespace outside a test.
func (k *KubeEnv) EnsureNamespace(ctx context.Context, name string) error {
	cs := k.Clientset
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", name, err)
	}
	return k.waitFor(30*time.Second, "ServiceAccount "+name+"/default", func() error {
		_, err := cs.CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{})
		return err
	})
}

// Deployment creates namespace (if missing) and a Deployment of replicas
// pods labelled app=name running image "fake" on the kwok node, and waits
// until every replica is available.
func (k *KubeEnv) Deployment(t testing.TB, namespace, name string, replicas int32) *appsv1.Deployment {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	d, err := k.CreateDeployment(ctx, namespace, name, replicas)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// CreateDeployment is Deployment outside a test.
func (k *KubeEnv) CreateDeployment(ctx context.Context, namespace, name string, replicas int32) (*appsv1.Deployment, error) {
	cs := k.Clientset
	if err := k.EnsureNamespace(ctx, namespace); err != nil {
		return nil, err
	}
	labels := map[string]string{"app": name}
	var zero int64
	d, err := cs.AppsV1().Deployments(namespace).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					NodeName:                      k.NodeName,
					TerminationGracePeriodSeconds: &zero,
					Containers:                    []corev1.Container{{Name: "app", Image: "fake"}},
				},
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("creating deployment %s/%s: %w", namespace, name, err)
	}
	err = k.waitFor(60*time.Second, fmt.Sprintf("deployment %s/%s to have %d available replicas", namespace, name, replicas), func() error {
		d, err = cs.AppsV1().Deployments(namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		s := d.Status
		if s.ObservedGeneration < d.Generation || s.UpdatedReplicas != replicas || s.AvailableReplicas != replicas || s.Replicas != replicas {
			return fmt.Errorf("observedGeneration %d/%d, %d updated, %d available, %d total", s.ObservedGeneration, d.Generation, s.UpdatedReplicas, s.AvailableReplicas, s.Replicas)
		}
		return nil
	})
	return d, err
}

func (k *KubeEnv) start(name, bin string, env []string, args ...string) error {
	logPath := filepath.Join(k.dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	// Own process group, so Stop kills any children too; and die with the
	// test binary if it is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("starting %s: %w", name, err)
	}
	p := &kubeProc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	k.procs = append(k.procs, p)
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return nil
}

// waitFor polls check until it succeeds, a process exits, or timeout.
func (k *KubeEnv) waitFor(timeout time.Duration, what string, check func() error) error {
	deadline := time.Now().Add(timeout)
	var last error
	for {
		if last = check(); last == nil {
			return nil
		}
		for _, p := range k.procs {
			select {
			case <-p.done:
				return fmt.Errorf("waiting for %s: %s exited: %v", what, p.name, p.err)
			default:
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s waiting for %s: %v", timeout, what, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func kubeHTTPOK(c *http.Client, url, token, want string) error {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: status %d: %s", url, resp.StatusCode, bytes.TrimSpace(body))
	}
	if want != "" && !bytes.Contains(body, []byte(want)) {
		return fmt.Errorf("%s: %s", url, bytes.TrimSpace(body))
	}
	return nil
}

// freePorts returns n distinct free ports on 127.0.0.1.
func kubeFreePorts(n int) ([]int, error) {
	var out []int
	for len(out) < n {
		p, err := kubeFreePort()
		if err != nil {
			return nil, err
		}
		dup := false
		for _, q := range out {
			dup = dup || q == p
		}
		if !dup {
			out = append(out, p)
		}
	}
	return out, nil
}

func kubeRandomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

func kubeWriteRSAKeyPair(keyPath, pubPath string) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		return err
	}
	return os.WriteFile(pubPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o600)
}

func kubeTail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error() + "\n"
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	if len(lines) == 0 {
		return "(empty)\n"
	}
	return strings.Join(lines, "\n") + "\n"
}

func kubeFreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
