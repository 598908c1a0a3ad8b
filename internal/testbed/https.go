package testbed

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// HTTPSSite is what the test HTTPS server does for one host name, chosen by
// the name the client sends in SNI. The zero value (with a certificate)
// answers every path with 200, "text/plain" and an empty body.
type HTTPSSite struct {
	// Certificate is presented to clients asking for the site's name;
	// without it the handshake fails as it does for an unknown name.
	Certificate *tls.Certificate
	// Status is the response status: 200 when zero, 301 when Location is
	// set.
	Status int
	// ContentType is the Content-Type header ("text/plain" when empty).
	ContentType string
	// NoContentType sends no Content-Type header at all (the server would
	// otherwise sniff one from the body).
	NoContentType bool
	// Location is sent as the redirect target.
	Location string
	// Body is the response body.
	Body string
	// Endless sends Body, then filler lines until the client goes away.
	Endless bool
	// Stall reads the request and never answers, until the client goes
	// away or the server closes.
	Stall bool
	// Handler, when set, answers instead of the fields above (Certificate
	// still selects the handshake).
	Handler http.Handler
}

// HTTPSRequest is one request the server answered.
type HTTPSRequest struct {
	// ServerName is the SNI the client sent; Host its Host header.
	ServerName string
	Host       string
	Method     string
	Path       string
	UserAgent  string
}

// HTTPSServer is an HTTPS server on loopback that serves one site per SNI
// name, each with its own certificate (minted by a test CA) and behaviour,
// for the MTA-STS policy fetch: several policy hosts share one server and
// one port, as they share port 443 in the world.
type HTTPSServer struct {
	// Addr is "ip:port".
	Addr string

	ln     net.Listener
	srv    *http.Server
	served chan struct{}
	closed chan struct{}
	once   sync.Once
	// handlers counts requests being answered, so Close returns only when
	// the last stalled or endless answer has ended.
	handlers sync.WaitGroup

	mu       sync.Mutex
	sites    map[string]HTTPSSite
	requests []HTTPSRequest
}

// maxRecordedRequests bounds what the server remembers of a busy client.
const maxRecordedRequests = 10000

// NewHTTPSServer starts a server listening on addr ("127.0.0.1:0" when
// empty), serving no site until SetSite. Close stops it.
func NewHTTPSServer(addr string) (*HTTPSServer, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("https test server: %w", err)
	}
	s := &HTTPSServer{
		Addr:   ln.Addr().String(),
		served: make(chan struct{}),
		closed: make(chan struct{}),
		sites:  map[string]HTTPSSite{},
	}
	s.ln = tls.NewListener(ln, &tls.Config{GetCertificate: s.certificate})
	s.srv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		// Failed handshakes are what many tests are about; they are not
		// worth a log line each.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	go func() {
		defer close(s.served)
		_ = s.srv.Serve(s.ln)
	}()
	return s, nil
}

// StartHTTPS starts a server for a test and stops it when the test ends.
func StartHTTPS(tb testing.TB, addr string) *HTTPSServer {
	tb.Helper()
	s, err := NewHTTPSServer(addr)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	return s
}

// Port returns the port the server listens on.
func (s *HTTPSServer) Port() int {
	return s.ln.Addr().(*net.TCPAddr).Port
}

// SetSite serves site for the host name (SNI), replacing what was there;
// connections from now on see the change.
func (s *HTTPSServer) SetSite(host string, site HTTPSSite) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sites[strings.ToLower(strings.TrimSuffix(host, "."))] = site
}

// RemoveSite stops serving the host name: handshakes for it fail.
func (s *HTTPSServer) RemoveSite(host string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sites, strings.ToLower(strings.TrimSuffix(host, ".")))
}

// Requests returns the requests answered (or stalled), in order.
func (s *HTTPSServer) Requests() []HTTPSRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]HTTPSRequest(nil), s.requests...)
}

// Close stops the server, ends its connections and waits until every
// answer in progress has ended.
func (s *HTTPSServer) Close() {
	s.once.Do(func() {
		// Connections end first, so a stalled answer ends with its
		// connection and is never sent.
		_ = s.srv.Close()
		// Under mu, so no answer starts (handlers.Add) once Wait may run.
		s.mu.Lock()
		close(s.closed)
		s.mu.Unlock()
		<-s.served
		s.handlers.Wait()
	})
}

func (s *HTTPSServer) site(name string) (HTTPSSite, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	site, ok := s.sites[strings.ToLower(name)]
	return site, ok
}

// certificate picks the site's certificate by SNI; an unknown name (or a
// client that sends none) gets a failed handshake.
func (s *HTTPSServer) certificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if hello.ServerName == "" {
		return nil, errors.New("https test server: no SNI")
	}
	site, ok := s.site(hello.ServerName)
	if !ok || site.Certificate == nil {
		return nil, fmt.Errorf("https test server: no site %q", hello.ServerName)
	}
	return site.Certificate, nil
}

// ServeHTTP answers as the SNI name's site says.
func (s *HTTPSServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := ""
	if r.TLS != nil {
		name = r.TLS.ServerName
	}
	s.mu.Lock()
	select {
	case <-s.closed:
		// A request read just as the server closed: its connection is
		// gone, and Close may be waiting already.
		s.mu.Unlock()
		return
	default:
	}
	s.handlers.Add(1)
	defer s.handlers.Done()
	if len(s.requests) < maxRecordedRequests {
		s.requests = append(s.requests, HTTPSRequest{
			ServerName: name, Host: r.Host, Method: r.Method, Path: r.URL.Path, UserAgent: r.UserAgent(),
		})
	}
	s.mu.Unlock()
	site, ok := s.site(name)
	switch {
	case !ok:
		http.Error(w, "no such site", http.StatusMisdirectedRequest)
		return
	case site.Handler != nil:
		site.Handler.ServeHTTP(w, r)
		return
	case site.Stall:
		select {
		case <-r.Context().Done():
		case <-s.closed:
		}
		// Returning would send an empty 200; a server that never answers
		// sends nothing, ever.
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
			}
		}
		return
	}
	status := site.Status
	if status == 0 {
		status = http.StatusOK
		if site.Location != "" {
			status = http.StatusMovedPermanently
		}
	}
	switch {
	case site.NoContentType:
		w.Header()["Content-Type"] = nil
	case site.ContentType != "":
		w.Header().Set("Content-Type", site.ContentType)
	default:
		w.Header().Set("Content-Type", "text/plain")
	}
	if site.Location != "" {
		w.Header().Set("Location", site.Location)
	}
	w.WriteHeader(status)
	if _, err := io.WriteString(w, site.Body); err != nil || !site.Endless {
		return
	}
	s.endless(w, r)
}

// endless writes filler until the client or the server goes away.
func (s *HTTPSServer) endless(w http.ResponseWriter, r *http.Request) {
	filler := strings.Repeat("x-filler: "+strings.Repeat("x", 54)+"\n", 512)
	flusher, _ := w.(http.Flusher)
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.closed:
			return
		default:
		}
		if _, err := io.WriteString(w, filler); err != nil {
			return
		}
		if flusher != nil {
			flusher.Flush()
		}
	}
}
