package mtasts

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/deliverability-exporter/deliverability_exporter/internal/flight"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

// WellKnownPath is where the policy is served (RFC 8461 §3.3).
const WellKnownPath = "/.well-known/mta-sts.txt"

// maxAddrsTried bounds the addresses of the policy host connected to in
// turn: a name with hundreds of addresses must not make hundreds of
// connection attempts.
const maxAddrsTried = 4

// userAgent names the exporter to the policy host's operators.
const userAgent = "deliverability_exporter (MTA-STS policy check; RFC 8461)"

// fetchStage says how far a fetch got, for telling what went wrong.
type fetchStage string

const (
	stageConnect fetchStage = "connect"
	stageTLS     fetchStage = "TLS"
	stageHTTP    fetchStage = "HTTP"
	stageBody    fetchStage = "body"
	stageDone    fetchStage = "done"
)

// fetched is what a policy fetch found, however far it got.
type fetched struct {
	URL string
	// Addr is the address connected to, if any.
	Addr netip.AddrPort
	// Chain is the certificate chain the policy host served, leaf first;
	// kept even when it did not verify.
	Chain []*x509.Certificate
	// CertErr is why the chain does not verify for the policy host name.
	CertErr error
	// Status, Location and ContentType are from the response, if any.
	Status      int
	StatusText  string
	Location    string
	ContentType string
	// Body is the response body, up to the limit.
	Body []byte
	// TooLarge is set when the body went past the limit.
	TooLarge bool
	// Stage is where the fetch ended, Err why (nil when it completed).
	Stage fetchStage
	Err   error
	// Aborted is set when the probe's own deadline ended the fetch: the
	// policy host is not to blame.
	Aborted bool
	// Duration is how long the fetch took.
	Duration time.Duration
}

// fetchPolicy fetches https://host/.well-known/mta-sts.txt the way a
// sending MTA does (RFC 8461 §3.3): over HTTPS only, to the addresses the
// module's resolvers gave, with the certificate verified for host against
// env.RootCAs (nil: the system roots), without following redirects and
// without caching, reading at most maxBody+1 bytes, all within timeout and
// ctx.
func fetchPolicy(ctx context.Context, env *probes.Env, host string, addrs []netip.Addr, port int, maxBody int64, timeout time.Duration) *fetched {
	f := &fetched{URL: policyURL(host, port), Stage: stageConnect}
	start := time.Now()
	defer func() { f.Duration = time.Since(start) }()
	fctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	var mu sync.Mutex // the transport's goroutines report through these
	record := func(fn func()) {
		mu.Lock()
		defer mu.Unlock()
		fn()
	}
	now := time.Now
	if env.Now != nil {
		now = env.Now
	}
	perAttempt := max(timeout/maxAddrsTried, time.Second)
	transport := &http.Transport{
		// Never a proxy from the environment: the policy host is reached
		// directly, as senders reach it.
		Proxy: nil,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialAny(ctx, env.Dialer, addrs, port, perAttempt, func(ap netip.AddrPort) {
				record(func() { f.Addr, f.Stage = ap, stageTLS })
			})
		},
		TLSClientConfig: &tls.Config{
			ServerName: host,
			// Verification happens in VerifyConnection instead, so the
			// chain is kept (and its dates exported) when it fails; the
			// handshake still fails then and no request is sent.
			InsecureSkipVerify: true,
			VerifyConnection: func(cs tls.ConnectionState) error {
				err := verifyChain(cs.PeerCertificates, host, env.RootCAs, now())
				record(func() {
					f.Chain, f.CertErr = cs.PeerCertificates, err
					if err == nil {
						f.Stage = stageHTTP
					}
				})
				return err
			},
		},
		DisableKeepAlives:      true,
		DisableCompression:     true,
		MaxResponseHeaderBytes: 64 << 10,
	}
	defer transport.CloseIdleConnections()
	client := &http.Client{
		Transport: transport,
		// RFC 8461 §3.3: "HTTP 3xx redirects MUST NOT be followed".
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	req, err := http.NewRequestWithContext(fctx, http.MethodGet, f.URL, nil)
	if err != nil {
		f.Err = fmt.Errorf("policy request for %s: %w", host, err)
		return f
	}
	req.Header.Set("User-Agent", userAgent)
	resp, err := client.Do(req)
	mu.Lock()
	defer mu.Unlock()
	if err == nil && fctx.Err() != nil {
		// An answer that raced the deadline: net/http may hand it over
		// after the cancellation, but a sender has given up by then.
		resp.Body.Close()
		err = fctx.Err()
	}
	if err != nil {
		f.Err = f.failure(err, ctx, fctx, timeout)
		return f
	}
	defer resp.Body.Close()
	f.Stage = stageBody
	f.Status, f.StatusText = resp.StatusCode, http.StatusText(resp.StatusCode)
	f.Location = resp.Header.Get("Location")
	f.ContentType = resp.Header.Get("Content-Type")
	if resp.StatusCode != http.StatusOK {
		f.Stage = stageDone
		return f
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err == nil && fctx.Err() != nil {
		err = fctx.Err()
	}
	f.Body = body
	if int64(len(body)) > maxBody {
		f.TooLarge, f.Body = true, body[:maxBody]
		f.Stage = stageDone
		return f
	}
	if err != nil {
		f.Err = f.failure(err, ctx, fctx, timeout)
		return f
	}
	f.Stage = stageDone
	return f
}

// failure explains why the fetch ended early: the probe's deadline (not
// the host's fault), the fetch timeout (the host was too slow, as it would
// be for senders), or what the connection reported.
func (f *fetched) failure(err error, ctx, fctx context.Context, timeout time.Duration) error {
	switch {
	case flight.ContextOver(ctx):
		f.Aborted = true
		cause := ctx.Err()
		if cause == nil {
			// The deadline passed a moment before ctx's timer fired.
			cause = context.DeadlineExceeded
		}
		return fmt.Errorf("the probe's deadline ended the policy fetch at the %s stage: %w", f.Stage, cause)
	case errors.Is(fctx.Err(), context.DeadlineExceeded) && f.CertErr == nil:
		return fmt.Errorf("no complete answer within %s (fetch_timeout)", timeout)
	}
	return fetchError(err, f.CertErr)
}

// policyURL is the policy's address; the port is left out when it is 443.
func policyURL(host string, port int) string {
	if port == 443 {
		return "https://" + host + WellKnownPath
	}
	return "https://" + net.JoinHostPort(host, strconv.Itoa(port)) + WellKnownPath
}

// dialAny connects to the addresses in turn, each attempt bounded by
// perAttempt so a dead first address leaves time for the next.
func dialAny(ctx context.Context, d probes.Dialer, addrs []netip.Addr, port int, perAttempt time.Duration, connected func(netip.AddrPort)) (net.Conn, error) {
	if d == nil {
		return nil, errors.New("no dialer")
	}
	var errs []error
	for i, ip := range addrs {
		if i == maxAddrsTried {
			break
		}
		ap := netip.AddrPortFrom(ip, uint16(port))
		actx, cancel := context.WithTimeout(ctx, perAttempt)
		conn, err := d.DialContext(actx, "tcp", ap.String())
		cancel()
		if err == nil {
			connected(ap)
			return conn, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	if len(errs) == 0 {
		return nil, errors.New("no address to connect to")
	}
	return nil, errors.Join(errs...)
}

// verifyChain checks the served chain as a sender does: it chains to a
// trusted root, covers host, and every certificate is within its dates.
func verifyChain(chain []*x509.Certificate, host string, roots *x509.CertPool, now time.Time) error {
	if len(chain) == 0 {
		return errors.New("the server sent no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{
		DNSName:       host,
		Roots:         roots,
		Intermediates: inter,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	return err
}

// fetchError keeps the cause of a failed request readable: the certificate
// error itself, or the cause without the "Get "https://...":" net/http puts
// before everything.
func fetchError(err, certErr error) error {
	if certErr != nil {
		return certErr
	}
	var uerr *url.Error
	if errors.As(err, &uerr) && uerr.Err != nil {
		return uerr.Err
	}
	return err
}

// contentTypeProblem says what is wrong with a Content-Type for a policy,
// or "" when it is text/plain (with any parameters, such as charset).
func contentTypeProblem(ct string) string {
	if ct == "" {
		return "no Content-Type header"
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return fmt.Sprintf("Content-Type %s does not parse (%v)", probes.Quote(ct), err)
	}
	if mt != "text/plain" {
		return fmt.Sprintf("Content-Type %s, not text/plain", probes.Quote(ct))
	}
	return ""
}
