// Package dnsclient is the DNS client every probe resolves through: the
// module's resolvers (or /etc/resolv.conf), EDNS0 with the DO bit so a
// validating resolver reports the AD bit, TCP when an answer is truncated,
// a per-query timeout and retries, CNAME chains followed with a bound, and a
// request-scoped cache that sends each distinct question at most once.
package dnsclient

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/deliverability-exporter/deliverability_exporter/internal/flight"
)

// Defaults for Config fields left zero.
const (
	DefaultTimeout   = 2 * time.Second
	DefaultAttempts  = 3
	DefaultUDPSize   = 1232 // DNS flag day 2020: no IP fragmentation
	DefaultMaxCNAMEs = 8
	// DefaultMaxInFlight bounds the exchanges a client has on the wire at
	// once. A burst beyond what a resolver's socket buffer holds is dropped
	// by the kernel and costs a full retry timeout; queueing is cheaper.
	DefaultMaxInFlight = 256
	// DefaultMaxTCPInFlight bounds the answers read over TCP at once. Only
	// answers larger than the UDP size (1232 bytes) come over TCP, up to
	// 64 KB each and ten times that decoded: 256 of them at once would
	// take 150 MB for as long as they are read and judged, and mail
	// domains rarely publish one.
	DefaultMaxTCPInFlight = 16
	// DefaultCacheMaxBytes bounds the answers a client keeps across
	// requests: the DNS of some 1,400 domains with the default module
	// (about 60 answers of 400 bytes each, as counted), more when they
	// share MX hosts. Every byte kept is live heap, which the garbage
	// collector lets grow to twice its size before it collects.
	DefaultCacheMaxBytes = 32 << 20
	// DefaultCacheSweepEvery is how often expired answers are freed
	// (besides when they are asked for).
	DefaultCacheSweepEvery = time.Minute
	resolvConfPath         = "/etc/resolv.conf"
)

// Config says where and how to send queries.
type Config struct {
	// Servers are resolver addresses (IP or IP:port); empty means the
	// nameservers of /etc/resolv.conf.
	Servers []string
	// Timeout bounds one attempt (one server, UDP then TCP if truncated).
	Timeout time.Duration
	// Attempts is how many attempts a question gets, rotating over Servers.
	Attempts int
	// UDPSize is the EDNS0 buffer size advertised.
	UDPSize uint16
	// MaxCNAMEs bounds the CNAME chain followed for one question.
	MaxCNAMEs int
	// MaxInFlight bounds the exchanges on the wire at once, across all
	// the client's resolvers and requests.
	MaxInFlight int
	// MaxTCPInFlight bounds the answers read over TCP at once, within
	// MaxInFlight (0: DefaultMaxTCPInFlight).
	MaxTCPInFlight int
	// CacheMaxTTL keeps answers across the client's probe requests for
	// their TTL, but no longer than this; 0 keeps nothing beyond a
	// request.
	CacheMaxTTL time.Duration
	// CacheMaxBytes bounds the answers kept across requests, in bytes
	// (0: DefaultCacheMaxBytes).
	CacheMaxBytes int64
	// CacheSweepEvery is how often expired answers are freed (0:
	// DefaultCacheSweepEvery).
	CacheSweepEvery time.Duration
	// ResolvConf overrides /etc/resolv.conf (tests).
	ResolvConf string
	// Now is the clock of the shared cache (tests); nil is time.Now.
	Now func() time.Time
}

// Client sends queries. It is safe for concurrent use and lives as long as
// the module it belongs to; each probe request takes its own Resolver.
type Client struct {
	servers   []string
	serverErr error // why there are no servers, when there are none
	timeout   time.Duration
	attempts  int
	udpSize   uint16
	maxCNAMEs int
	udp       *dns.Client
	slots     chan struct{}
	tcpSlots  chan struct{}
	shared    *sharedCache // nil: nothing kept across requests
	udpConns  *udpPool
}

// New makes a client. Server addresses must be IP literals with an optional
// port; a missing /etc/resolv.conf is not an error here but of every lookup,
// so a module with a broken resolver still loads and reports probe errors.
func New(cfg Config) (*Client, error) {
	c := &Client{
		timeout:   cfg.Timeout,
		attempts:  cfg.Attempts,
		udpSize:   cfg.UDPSize,
		maxCNAMEs: cfg.MaxCNAMEs,
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.attempts <= 0 {
		c.attempts = DefaultAttempts
	}
	if c.udpSize < dns.MinMsgSize {
		c.udpSize = DefaultUDPSize
	}
	if c.maxCNAMEs <= 0 {
		c.maxCNAMEs = DefaultMaxCNAMEs
	}
	maxInFlight := cfg.MaxInFlight
	if maxInFlight <= 0 {
		maxInFlight = DefaultMaxInFlight
	}
	c.slots = make(chan struct{}, maxInFlight)
	maxTCP := cfg.MaxTCPInFlight
	if maxTCP <= 0 {
		maxTCP = DefaultMaxTCPInFlight
	}
	c.tcpSlots = make(chan struct{}, min(maxTCP, maxInFlight))
	c.udpConns = newUDPPool()
	if cfg.CacheMaxTTL > 0 {
		maxBytes := cfg.CacheMaxBytes
		if maxBytes <= 0 {
			maxBytes = DefaultCacheMaxBytes
		}
		sweepEvery := cfg.CacheSweepEvery
		if sweepEvery <= 0 {
			sweepEvery = DefaultCacheSweepEvery
		}
		now := cfg.Now
		if now == nil {
			now = time.Now
		}
		c.shared = newSharedCache(cfg.CacheMaxTTL, maxBytes, sweepEvery, now)
	}
	for _, s := range cfg.Servers {
		addr, err := ServerAddress(s)
		if err != nil {
			return nil, err
		}
		c.servers = append(c.servers, addr)
	}
	if len(c.servers) == 0 {
		path := cfg.ResolvConf
		if path == "" {
			path = resolvConfPath
		}
		rc, err := dns.ClientConfigFromFile(path)
		switch {
		case err != nil:
			c.serverErr = fmt.Errorf("no resolvers configured and %w", err)
		case len(rc.Servers) == 0:
			c.serverErr = fmt.Errorf("no resolvers configured and %s lists no nameserver", path)
		}
		if err == nil {
			for _, s := range rc.Servers {
				if addr, err := ServerAddress(net.JoinHostPort(s, rc.Port)); err == nil {
					c.servers = append(c.servers, addr)
				}
			}
		}
	}
	// The dns.Client timeout is a backstop: every exchange also carries a
	// context deadline, and the earlier of the two applies.
	c.udp = &dns.Client{Net: "udp", UDPSize: c.udpSize, Timeout: c.timeout}
	return c, nil
}

// ServerAddress validates a resolver address ("192.0.2.53", "[2001:db8::53]:5353")
// and returns it as ip:port.
func ServerAddress(s string) (string, error) {
	if ip, err := netip.ParseAddr(s); err == nil {
		return net.JoinHostPort(ip.String(), "53"), nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		if s != "" && !strings.Contains(s, ":") {
			return "", fmt.Errorf("resolver %q is not an IP address (resolvers are given by address, never by name)", s)
		}
		return "", fmt.Errorf("resolver %q: want an IP address with an optional port, such as 127.0.0.1:53", s)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return "", fmt.Errorf("resolver %q: %q is not an IP address (resolvers are given by address, never by name)", s, host)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 1 || p > 65535 {
		return "", fmt.Errorf("resolver %q: invalid port %q", s, port)
	}
	return net.JoinHostPort(ip.String(), port), nil
}

// Servers returns the resolver addresses in use.
func (c *Client) Servers() []string { return append([]string(nil), c.servers...) }

// Error is a question that got no usable answer: every attempt timed out,
// failed on the network, or was answered with an rcode other than NOERROR and
// NXDOMAIN.
type Error struct {
	Name   string
	Type   uint16
	Rcode  int // the last rcode received, or -1 when no answer arrived
	Server string
	// ExtendedErrors are the Extended DNS Errors (RFC 8914) of the last
	// answer received: why the resolver failed, when it says.
	ExtendedErrors []ExtendedError
	Err            error
}

func (e *Error) Error() string {
	q := dns.TypeToString[e.Type] + " " + strings.TrimSuffix(e.Name, ".")
	if e.Rcode >= 0 {
		if len(e.ExtendedErrors) > 0 {
			return fmt.Sprintf("dns %s: %s from %s with %s", q, dns.RcodeToString[e.Rcode], e.Server, describeExtended(e.ExtendedErrors))
		}
		return fmt.Sprintf("dns %s: %s from %s", q, dns.RcodeToString[e.Rcode], e.Server)
	}
	if e.Server == "" {
		return fmt.Sprintf("dns %s: %v", q, e.Err)
	}
	return fmt.Sprintf("dns %s: %v (last tried %s)", q, e.Err, e.Server)
}

func (e *Error) Unwrap() error { return e.Err }

// Timeout reports whether the question ran out of time.
func (e *Error) Timeout() bool {
	var ne net.Error
	return errors.Is(e.Err, context.DeadlineExceeded) || errors.As(e.Err, &ne) && ne.Timeout()
}

var errMismatch = errors.New("answer does not match the question")

// answerTooLargeError is an answer on the wire larger than the asker could
// keep (its request's budget for answers): it was not read, and asking
// again would not make it smaller.
type answerTooLargeError struct {
	size, room int64
}

func (e *answerTooLargeError) Error() string {
	return fmt.Sprintf("answer of %d bytes is larger than the %d the request can still hold", e.size, e.room)
}

// exchange asks the servers one question, rotating over them, and returns
// the first answer with a NOERROR or NXDOMAIN rcode and its size on the
// wire when it was read over TCP (0 when not known). sent is called for
// every message put on the wire; room, when not nil, says how large an
// answer the asker can still keep: a larger one is not read (an
// *answerTooLargeError, not retried).
//
// A SERVFAIL may be the resolver's verdict that the answer is DNSSEC-bogus
// (see Bogus): the question is asked again of the same server with the CD
// bit, and if that one is answered, the answer returned is the CD answer
// with the Bogus that says so. The CD question is asked at most once per
// exchange, and not when the resolver's Extended DNS Errors name a cause
// other than DNSSEC (an unreachable authority, a network error). A
// resolver without Extended DNS Errors (Unbound without "ede: yes") is
// judged by the CD answer alone, as a person with dig +cd would: a
// passing upstream failure could look the same, which the alerts' for:
// durations absorb.
func (c *Client) exchange(ctx context.Context, name string, qtype uint16, sent func(), room func() int64) (*dns.Msg, string, *Bogus, int, error) {
	qerr := &Error{Name: name, Type: qtype, Rcode: -1}
	if len(c.servers) == 0 {
		qerr.Err = c.serverErr
		return nil, "", nil, 0, qerr
	}
	// Not SetQuestion: it draws an ID from crypto/rand, a system call, and
	// every attempt draws a fresh one anyway (queryID).
	q := new(dns.Msg)
	q.Question = []dns.Question{{Name: name, Qtype: qtype, Qclass: dns.ClassINET}}
	q.RecursionDesired = true
	// RFC 6840 §5.7: ask for the AD bit explicitly; the DO bit makes
	// validating resolvers include signatures and set AD on secure answers.
	q.AuthenticatedData = true
	q.SetEdns0(c.udpSize, true)

	askedCD := false
	for attempt := 0; attempt < c.attempts; attempt++ {
		if flight.ContextOver(ctx) {
			if qerr.Err == nil {
				qerr.Err = context.DeadlineExceeded
				if ctx.Err() != nil {
					qerr.Err = ctx.Err()
				}
			}
			return nil, "", nil, 0, qerr
		}
		server := c.servers[attempt%len(c.servers)]
		qerr.Server = server
		r, wire, err := c.exchangeOne(ctx, q, server, sent, room)
		if err != nil {
			qerr.Err, qerr.Rcode, qerr.ExtendedErrors = err, -1, nil
			var tooLarge *answerTooLargeError
			if errors.As(err, &tooLarge) {
				return nil, "", nil, 0, qerr
			}
			continue
		}
		if r.Rcode == dns.RcodeSuccess || r.Rcode == dns.RcodeNameError {
			return r, server, nil, wire, nil
		}
		extended := ExtendedErrors(r)
		qerr.Err, qerr.Rcode, qerr.ExtendedErrors = fmt.Errorf("rcode %s", dns.RcodeToString[r.Rcode]), r.Rcode, extended
		if r.Rcode != dns.RcodeServerFailure || askedCD || (len(extended) > 0 && !anyDNSSEC(extended)) {
			continue
		}
		askedCD = true
		unchecked, wire, err := c.exchangeUnchecked(ctx, q, server, sent, room)
		var tooLarge *answerTooLargeError
		switch {
		case errors.As(err, &tooLarge):
			qerr.Err, qerr.Rcode, qerr.ExtendedErrors = err, -1, nil
			return nil, "", nil, 0, qerr
		case unchecked == nil:
			// The resolver fails with or without validation: not DNSSEC.
		case unchecked.AuthenticatedData:
			// It validated this time (RFC 6840 §5.9 lets a resolver
			// validate and set AD on a CD question): the SERVFAIL passed.
			return unchecked, server, nil, wire, nil
		default:
			return unchecked, server, &Bogus{Name: name, Type: qtype, Server: server, Errors: extended}, wire, nil
		}
	}
	return nil, "", nil, 0, qerr
}

// exchangeUnchecked asks q again with checking disabled (RFC 4035 §3.2.2)
// and returns the answer if it has a NOERROR or NXDOMAIN rcode: the data a
// validating resolver refused. err is set only for an answer larger than
// room allows.
func (c *Client) exchangeUnchecked(ctx context.Context, q *dns.Msg, server string, sent func(), room func() int64) (*dns.Msg, int, error) {
	cd := q.Copy()
	cd.CheckingDisabled = true
	r, wire, err := c.exchangeOne(ctx, cd, server, sent, room)
	var tooLarge *answerTooLargeError
	switch {
	case errors.As(err, &tooLarge):
		return nil, 0, err
	case err != nil || (r.Rcode != dns.RcodeSuccess && r.Rcode != dns.RcodeNameError):
		return nil, 0, nil
	}
	return r, wire, nil
}

// exchangeOne is one attempt at one server: UDP, then TCP if truncated,
// with the answer's size on the wire when it came over TCP. The attempt's
// timeout starts when it goes on the wire, not while it waits for a slot.
func (c *Client) exchangeOne(ctx context.Context, q *dns.Msg, server string, sent func(), room func() int64) (*dns.Msg, int, error) {
	select {
	case c.slots <- struct{}{}: // a free slot, without a select over two channels
	default:
		select {
		case c.slots <- struct{}{}:
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		}
	}
	defer func() { <-c.slots }()
	actx := withAttemptDeadline(ctx, time.Now().Add(c.timeout))
	r, err := c.exchangeUDP(actx, q, server, sent)
	wire := 0
	if err == nil && r.Truncated {
		select {
		case c.tcpSlots <- struct{}{}:
			r, wire, err = exchangeTCP(actx, q, server, sent, room)
			<-c.tcpSlots
		case <-actx.Done():
			err = actx.Err()
		}
	}
	if err != nil {
		var tooLarge *answerTooLargeError
		switch {
		case errors.As(err, &tooLarge):
			return nil, 0, err
		case flight.ContextOver(ctx):
			if ctx.Err() != nil {
				return nil, 0, ctx.Err()
			}
			return nil, 0, context.DeadlineExceeded
		case flight.ContextOver(actx):
			return nil, 0, fmt.Errorf("no answer within %s", c.timeout)
		}
		return nil, 0, err
	}
	if len(r.Question) != 1 || !sameName(r.Question[0].Name, q.Question[0].Name) ||
		r.Question[0].Qtype != q.Question[0].Qtype || r.Question[0].Qclass != dns.ClassINET {
		return nil, 0, errMismatch
	}
	if r.Truncated {
		return nil, 0, errors.New("answer truncated over TCP")
	}
	return r, wire, nil
}

// attemptContext is a context with an earlier deadline than its parent's
// but no timer of its own. An attempt's sockets carry its deadline (the
// UDP exchange and exchangeTCP set it on the connection from Deadline), so
// context.WithTimeout's timer, and its registration with the request's
// context, was only cost: a sixth of the CPU of an uncached question in a
// fleet. Done and Err are the parent's: a cancelled request still ends
// every attempt at once.
type attemptContext struct {
	context.Context
	deadline time.Time
}

func (a attemptContext) Deadline() (time.Time, bool) { return a.deadline, true }

// withAttemptDeadline is ctx ending at deadline, or at its own deadline if
// that is earlier.
func withAttemptDeadline(ctx context.Context, deadline time.Time) context.Context {
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		return ctx
	}
	return attemptContext{Context: ctx, deadline: deadline}
}

// exchangeTCP sends q over one fresh TCP connection (RFC 1035 §4.2.2: a
// two-byte length before each message) and reads the answer, unless its
// length says it is larger than room() allows: then it is neither read
// nor decoded. The connection is closed when ctx ends, so a cancelled
// request does not wait for the read deadline.
func exchangeTCP(ctx context.Context, q *dns.Msg, server string, sent func(), room func() int64) (*dns.Msg, int, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", server)
	if err != nil {
		return nil, 0, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	q.Id = queryID()
	query, err := q.Pack()
	if err != nil {
		return nil, 0, err
	}
	out := make([]byte, 2+len(query))
	binary.BigEndian.PutUint16(out, uint16(len(query)))
	copy(out[2:], query)
	sent()
	if _, err := conn.Write(out); err != nil {
		return nil, 0, err
	}
	var prefix [2]byte
	if _, err := io.ReadFull(conn, prefix[:]); err != nil {
		return nil, 0, err
	}
	size := int(binary.BigEndian.Uint16(prefix[:]))
	if room != nil {
		if left := room(); int64(size) > left {
			return nil, 0, &answerTooLargeError{size: int64(size), room: max(left, 0)}
		}
	}
	body := make([]byte, size)
	if _, err := io.ReadFull(conn, body); err != nil {
		return nil, 0, err
	}
	r := new(dns.Msg)
	if err := r.Unpack(body); err != nil {
		return nil, 0, err
	}
	if r.Id != q.Id {
		return nil, 0, dns.ErrId
	}
	return r, size, nil
}

// sameName compares two names as DNS does: in wire form, ignoring ASCII
// case, so a\032b. and a\ b. (the same bytes, written two ways) match.
func sameName(a, b string) bool {
	if strings.EqualFold(a, b) {
		return true
	}
	wa, errA := wireName(a)
	wb, errB := wireName(b)
	return errA == nil && errB == nil && bytes.EqualFold(wa, wb)
}

func wireName(name string) ([]byte, error) {
	buf := make([]byte, 256)
	n, err := dns.PackDomainName(dns.Fqdn(name), buf, 0, nil, false)
	if err != nil {
		return nil, err
	}
	return buf[:n], nil
}
