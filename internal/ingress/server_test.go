package ingress

import (
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestSlowHeadersAreCut: a client that never finishes its headers is
// disconnected after ReadHeaderTimeout instead of holding a connection.
func TestSlowHeadersAreCut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(ln.Addr().String(), http.NotFoundHandler())
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("POST /v1/alerts/alertmanager HTTP/1.1\r\nHost: x\r\n")); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_ = conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	_, err = io.ReadAll(conn)
	took := time.Since(start)
	if err != nil {
		t.Fatalf("connection not closed by the server: %v", err)
	}
	if took < 4*time.Second || took > 8*time.Second {
		t.Fatalf("closed after %s, want about %s", took, srv.ReadHeaderTimeout)
	}
	if srv.MaxHeaderBytes != 64<<10 || srv.ReadTimeout == 0 || srv.WriteTimeout == 0 || srv.IdleTimeout == 0 {
		t.Fatalf("server limits %+v", srv)
	}
}
