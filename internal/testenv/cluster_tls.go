package testenv

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"go.temporal.io/sdk/client"
)

// ClusterOptions choose how the cluster's frontend takes clients.
type ClusterOptions struct {
	// TLS serves the frontend with mutual TLS (a test CA, a server
	// certificate for the three node addresses, a client certificate in
	// ClusterTLS) and runs the traffic between nodes over mutual TLS too.
	TLS bool
	// Auth turns on Temporal's default JWT authorizer: clients need a
	// token from Cluster.Token. It implies TLS, as a bearer token should
	// never travel in clear.
	Auth bool
}

// ClusterTLS are the files a client of a TLS cluster needs.
type ClusterTLS struct {
	CAFile, CertFile, KeyFile string
	// ServerName is the name the server certificate holds.
	ServerName string
}

// ClientTLS is the client side of ClusterTLS.
func (ct *ClusterTLS) ClientTLS() (*tls.Config, error) {
	caPEM, err := os.ReadFile(ct.CAFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	cert, err := tls.LoadX509KeyPair(ct.CertFile, ct.KeyFile)
	if err != nil {
		return nil, err
	}
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, ServerName: ct.ServerName, MinVersion: tls.VersionTLS12}, nil
}

// ServeFlags are `firebreak serve`'s flags for this TLS setup.
func (ct *ClusterTLS) ServeFlags() []string {
	return []string{"--tls-ca", ct.CAFile, "--tls-cert", ct.CertFile, "--tls-key", ct.KeyFile, "--tls-server-name", ct.ServerName}
}

// clusterServerName is the DNS name in the cluster's server certificate.
const clusterServerName = "temporal.firebreak.test"

// writeClusterPKI writes a CA, a server pair for the node addresses and a
// client pair into dir.
func writeClusterPKI(dir string) (*ClusterTLS, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "firebreak test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(30 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	ca, _ := x509.ParseCertificate(caDER)
	if err := writePEM(filepath.Join(dir, "ca.pem"), "CERTIFICATE", caDER); err != nil {
		return nil, err
	}
	leaf := func(name string, serial int64, usage []x509.ExtKeyUsage, ips []net.IP, dns []string) error {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return err
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(30 * 24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: usage,
			IPAddresses: ips, DNSNames: dns,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			return err
		}
		kb, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			return err
		}
		if err := writePEM(filepath.Join(dir, name+".pem"), "CERTIFICATE", der); err != nil {
			return err
		}
		return writePEM(filepath.Join(dir, name+"-key.pem"), "EC PRIVATE KEY", kb)
	}
	var ips []net.IP
	for i := range ClusterNodes {
		ips = append(ips, net.ParseIP(fmt.Sprintf("127.0.0.%d", i+1)))
	}
	// Nodes present the server pair to each other as clients too.
	if err := leaf("server", 2, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}, ips, []string{clusterServerName, "localhost"}); err != nil {
		return nil, err
	}
	if err := leaf("client", 3, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, nil, nil); err != nil {
		return nil, err
	}
	return &ClusterTLS{
		CAFile: filepath.Join(dir, "ca.pem"), CertFile: filepath.Join(dir, "client.pem"), KeyFile: filepath.Join(dir, "client-key.pem"),
		ServerName: clusterServerName,
	}, nil
}

func writePEM(path, typ string, der []byte) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o644)
}

// tlsConfig is the global.tls section of a node's configuration.
func tlsConfig(dir string) string {
	server := fmt.Sprintf(`{certFile: %q, keyFile: %q, requireClientAuth: true, clientCaFiles: [%q]}`,
		filepath.Join(dir, "server.pem"), filepath.Join(dir, "server-key.pem"), filepath.Join(dir, "ca.pem"))
	// Nodes and the system worker dial each other with the server pair.
	client := fmt.Sprintf(`{serverName: %q, rootCaFiles: [%q]}`, clusterServerName, filepath.Join(dir, "ca.pem"))
	return fmt.Sprintf(`  tls:
    internode: {server: %s, client: %s}
    frontend: {server: %s, client: %s}
    systemWorker: {certFile: %q, keyFile: %q, client: %s}
`, server, client, server, client, filepath.Join(dir, "server.pem"), filepath.Join(dir, "server-key.pem"), client)
}

// clusterSigner signs the cluster's JWTs; its public half is in the JWKS
// file the servers read.
type clusterSigner struct {
	key  *ecdsa.PrivateKey
	kid  string
	file string
}

func newClusterSigner(dir string) (*clusterSigner, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	s := &clusterSigner{key: key, kid: "firebreak-test", file: filepath.Join(dir, "jwks.json")}
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: s.kid, Algorithm: string(jose.ES256), Use: "sig"}}}
	data, err := json.Marshal(set)
	if err != nil {
		return nil, err
	}
	return s, os.WriteFile(s.file, data, 0o644)
}

// authConfig is a node's global.authorization section.
func (s *clusterSigner) authConfig() string {
	return fmt.Sprintf(`  authorization:
    jwtKeyProvider: {keySourceURIs: ["file://%s"], refreshInterval: 1m}
    permissionsClaimName: permissions
    authorizer: default
    claimMapper: default
`, s.file)
}

func (s *clusterSigner) token(subject string, permissions ...string) (string, error) {
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: s.key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", s.kid))
	if err != nil {
		return "", err
	}
	now := time.Now()
	claims := jwt.Claims{Subject: subject, IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(24 * time.Hour))}
	return jwt.Signed(sig).Claims(claims).Claims(map[string]any{"permissions": permissions}).Serialize()
}

// Token is a JWT the cluster accepts when started with Auth, granting
// permissions written as Temporal's default claim mapper reads them:
// "<namespace>:<role>", e.g. "default:write" or "temporal-system:admin".
func (c *Cluster) Token(subject string, permissions ...string) (string, error) {
	if c.signer == nil {
		return "", fmt.Errorf("the cluster was started without Auth")
	}
	return c.signer.token(subject, permissions...)
}

// ClientOptions are SDK options for the harness's own clients: TLS and
// an administrator's token when the cluster has them.
func (c *Cluster) ClientOptions() (client.Options, error) {
	o := client.Options{HostPort: c.Frontend, Namespace: c.Namespace, Logger: quietSDK}
	if c.TLS != nil {
		tc, err := c.TLS.ClientTLS()
		if err != nil {
			return o, err
		}
		o.ConnectionOptions.TLS = tc
	}
	if c.signer != nil {
		tok, err := c.Token("firebreak-test-admin", "temporal-system:admin", c.Namespace+":admin")
		if err != nil {
			return o, err
		}
		o.Credentials = client.NewAPIKeyStaticCredentials(tok)
	}
	return o, nil
}
