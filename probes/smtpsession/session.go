package smtpsession

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/deliverability-exporter/deliverability_exporter/internal/flight"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/mailhosts"
)

// Stage names a step of the conversation, for saying where it ended.
type Stage string

// The stages, in order.
const (
	StageConnect   Stage = "connect"
	StageGreeting  Stage = "greeting"
	StageEHLO      Stage = "EHLO"
	StageSTARTTLS  Stage = "STARTTLS"
	StageHandshake Stage = "TLS handshake"
	StageEHLOTLS   Stage = "EHLO after TLS"
	StageMail      Stage = "MAIL FROM"
	StageRcpt      Stage = "RCPT TO"
	StageRSET      Stage = "RSET"
	StageQuit      Stage = "QUIT"
)

// Session is what one conversation with one address found. Sessions are
// shared between probes (see the package comment): treat them as
// read-only.
type Session struct {
	// MX is the host name (lower case, no trailing dot) whose address was
	// probed; empty for an IP target.
	MX   string
	IP   netip.Addr
	Port int
	// ImplicitTLS marks a conversation on the implicit-TLS port (465).
	ImplicitTLS bool

	// NotProbed says why the exporter did not (or could not) talk to the
	// address: the module's networks exclude it, the probe's deadline
	// ended first, this machine has no route to it, or its connection
	// failed while the exporter could reach the SMTP port of no server
	// (it wraps ErrEgressDown then; see Egress). Nothing else in the
	// session is set then.
	NotProbed error
	// Denied is set with NotProbed when the module's allowed/denied
	// networks exclude the address.
	Denied bool

	// Connected is true once the TCP connection was open.
	Connected bool
	// Greeting is the server's 220 (or other) greeting; nil if none came
	// complete.
	Greeting *Reply
	// EHLO is the reply to EHLO, or to HELO when EHLO was refused
	// (UsedHELO); nil if neither was answered.
	EHLO     *Reply
	UsedHELO bool
	// GreetingName and HELOName are the names the server gives for itself
	// in its greeting and its EHLO/HELO reply (lower case, no trailing
	// dot), as written; empty if none.
	GreetingName string
	HELOName     string
	// Extensions are those advertised before TLS (on the implicit-TLS port:
	// over TLS).
	Extensions []Extension
	// STARTTLSOffered: the EHLO reply listed STARTTLS.
	STARTTLSOffered bool
	// STARTTLSReply is the reply to the STARTTLS command, if sent.
	STARTTLSReply *Reply
	// TLS describes the handshake, if one was attempted.
	TLS *TLSInfo
	// ExtensionsTLS are those advertised in the EHLO after STARTTLS; nil
	// when there was none.
	ExtensionsTLS []Extension
	// EHLOName is the name the probe sent in EHLO/HELO.
	EHLOName string
	// MailFrom is the reply to MAIL FROM:<>, when RCPT checks ran.
	MailFrom *Reply
	// Rcpts are the RCPT TO checks, in the order sent.
	Rcpts []RcptResult
	// Stage and Err say where the conversation broke off (I/O error,
	// timeout, malformed or oversized reply); Err is nil when it ran to
	// its end or stopped on a reply it could not go past (a 554 greeting).
	Stage Stage
	Err   error
	// Aborted is set when the exporter's own deadline cut the
	// conversation short at Stage (the connection or a reply had not come
	// by then): what it did not get to is undecided, never the server's
	// failure. See CutBefore.
	Aborted bool
	// Transcript is the conversation, bounded, for the report.
	Transcript []string
	// Duration is how long the conversation took, from its first attempt
	// to connect.
	Duration time.Duration
	// Waited is how long it waited for the politeness bounds on the
	// connections to the server (smtp_politeness) before connecting.
	Waited time.Duration

	// Shared is set when the conversation was not held for the request
	// reading it: it was remembered under the smtp min_interval, or joined
	// while another request held it, for this target or (the point of
	// sharing) another domain on the same mail server. nil: held for this
	// request.
	Shared *Provenance
}

// Provenance says for which probe request a conversation was held and when
// it ended, for a reader that did not hold it.
type Provenance struct {
	// Target is the target it was held for, as reports write it.
	Target string
	// At is when it ended.
	At time.Time
}

// Note is how reports name a shared conversation: "SMTP conversation with
// mx1.example.com 192.0.2.1:25".
func (s *Session) Note() string {
	if s.ImplicitTLS {
		return "implicit-TLS conversation with " + s.Label()
	}
	return "SMTP conversation with " + s.Label()
}

// RecordShared notes on res every conversation among sessions that was
// held for another request (probes.Result.Reused), so the report says that
// what the checks judged came from a conversation held for another domain,
// or for this one earlier, and how old it is.
func RecordShared(res *probes.Result, sessions []*Session) {
	for _, s := range sessions {
		if s.Shared != nil {
			res.Reused(probes.Reuse{Fact: s.Note(), HeldFor: s.Shared.Target, HeldAt: s.Shared.At})
		}
	}
}

// TLSInfo is what a TLS handshake showed. The chain and its facts are kept
// even when the handshake failed after the server's certificate arrived,
// and whatever the verdict of the verification: an expired certificate
// still has its dates.
type TLSInfo struct {
	// ServerName is the SNI sent (the MX host name; empty for an IP).
	ServerName string
	// Err is why the handshake failed; nil when it completed.
	Err error
	// Version and CipherSuite were negotiated (0 when it failed).
	Version     uint16
	CipherSuite uint16
	// Chain is the certificate chain as served, leaf first.
	Chain []*x509.Certificate
	// Trusted: the chain verifies against the roots (Env.RootCAs or the
	// system roots), its dates aside. TrustErr says why not.
	Trusted  bool
	TrustErr error
	// NameChecked is false for an IP target (there is no name to check);
	// NameMatched is whether the leaf covers ServerName (RFC 6125).
	NameChecked bool
	NameMatched bool
	NameErr     error
	// Valid is full PKIX validation as a sender that authenticates
	// (MTA-STS, RFC 8461 §4.2) does it: trusted, the name matched and
	// every certificate in its validity period, at the time of the probe.
	Valid    bool
	ValidErr error
}

// RcptResult is one RCPT TO check.
type RcptResult struct {
	Check   string // postmaster, abuse or open_relay
	Address string // what was inside RCPT TO:<...>
	Reply   *Reply // nil when the command got no reply
	Err     error
}

// stageOrder ranks the stages in the order a conversation goes through
// them; on the implicit-TLS port the handshake comes first.
var stageOrder = map[Stage]int{
	StageConnect: 0, StageGreeting: 2, StageEHLO: 3, StageSTARTTLS: 4, StageHandshake: 5,
	StageEHLOTLS: 6, StageMail: 7, StageRcpt: 8, StageRSET: 9, StageQuit: 10,
}

func (s *Session) rank(stage Stage) int {
	if s.ImplicitTLS && stage == StageHandshake {
		return 1
	}
	return stageOrder[stage]
}

// CutBefore reports whether the exporter's own deadline ended the
// conversation before stage was complete: a check that needs what that
// stage shows is undecided.
func (s *Session) CutBefore(stage Stage) bool {
	return s.Aborted && s.rank(s.Stage) <= s.rank(stage)
}

// Handshaked reports whether a TLS handshake completed.
func (s *Session) Handshaked() bool { return s.TLS != nil && s.TLS.Err == nil && s.TLS.Version != 0 }

// Greeted reports whether the server greeted with 220.
func (s *Session) Greeted() bool { return s.Greeting != nil && s.Greeting.Code == 220 }

// Addr is "ip:port".
func (s *Session) Addr() string {
	return netip.AddrPortFrom(s.IP, uint16(s.Port)).String()
}

// Label is how reasons name the session: "mx1.example.com 192.0.2.1:25".
func (s *Session) Label() string {
	if s.MX == "" {
		return s.Addr()
	}
	return s.MX + " " + s.Addr()
}

// VersionName returns "TLS 1.2" etc., or "" without a handshake.
func (t *TLSInfo) VersionName() string {
	if t == nil || t.Version == 0 {
		return ""
	}
	return tls.VersionName(t.Version)
}

// CipherName returns the cipher suite's IANA name, or "".
func (t *TLSInfo) CipherName() string {
	if t == nil || t.CipherSuite == 0 {
		return ""
	}
	return CipherSuiteName(t.CipherSuite)
}

// cipherSuiteNames are the names crypto/tls knows, by ID.
var cipherSuiteNames = func() map[uint16]string {
	m := map[uint16]string{}
	for _, c := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		m[c.ID] = c.Name
	}
	return m
}()

// CipherSuiteName is tls.CipherSuiteName without its cost: that builds
// the list of every suite on each call (a gigabyte an hour of a fleet's
// garbage).
func CipherSuiteName(id uint16) string {
	if name, ok := cipherSuiteNames[id]; ok {
		return name
	}
	return tls.CipherSuiteName(id)
}

// HELONames returns the distinct names servers gave in their EHLO or HELO
// replies, in order: the names those servers are likely to give when they
// send mail, whose SPF records spf.helo looks at.
func HELONames(sessions []*Session) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range sessions {
		if s.HELOName != "" && !seen[s.HELOName] {
			seen[s.HELOName] = true
			out = append(out, s.HELOName)
		}
	}
	return out
}

// Endpoint is one address to talk to.
type Endpoint struct {
	MX       string // empty for an IP target
	IP       netip.Addr
	Port     int
	Implicit bool // the implicit-TLS port
}

// Plan lists the addresses a target's SMTP conversations go to: every
// address of every MX host the request's limits let through (Host.Addrs),
// so a host name with thousands of A records does not turn one probe into
// thousands of connections.
func Plan(set *mailhosts.Set, t probes.Target, cfg Config, implicit bool) (eps []Endpoint) {
	port := cfg.Port
	if t.Kind == probes.KindHost || t.Kind == probes.KindIP && t.Port != probes.DefaultSMTPPort {
		port = t.Port
	}
	if implicit {
		port = cfg.ImplicitTLSPort
	}
	if t.Kind == probes.KindIP {
		for _, ip := range set.IPs {
			eps = append(eps, Endpoint{IP: ip, Port: port, Implicit: implicit})
		}
		return eps
	}
	for _, h := range set.Hosts {
		if h.IPLiteral {
			continue
		}
		addrs := h.Addrs()
		seen := map[netip.Addr]bool{}
		for _, ip := range addrs {
			if seen[ip] {
				continue
			}
			seen[ip] = true
			eps = append(eps, Endpoint{MX: h.Name, IP: ip, Port: port, Implicit: implicit})
		}
	}
	return eps
}

// FactName is the fact of the SMTP conversations: the smtp probe's block
// provides it, and every probe that reads what the servers said (spf.helo's
// EHLO names, MTA-STS enforce mode's certificates) declares it.
const FactName = "smtp.sessions"

// Shared is what a module's conversations share with the rest of the
// process.
type Shared struct {
	// Memory keeps conversations across requests and targets for MaxAge
	// (the module's smtp min_interval); nil or MaxAge 0: nothing is kept.
	Memory *SessionMemory
	MaxAge time.Duration
	// Politeness bounds the connections to each server; nil: no bounds.
	Politeness *Politeness
	// Egress judges failed connections against the process's way out to
	// the SMTP port; nil: every failed connection is the server's.
	Egress *Egress
}

// Provider supplies the conversations of a module configured by cfg, with
// what they share with the rest of the process.
func Provider(cfg Config, shared Shared) probes.Provider {
	if shared.MaxAge <= 0 {
		shared.Memory = nil
	}
	return func(ctx context.Context, req *probes.Request, env *probes.Env, key string) (any, error) {
		set, err := mailhosts.Discover(ctx, req, env)
		if err != nil {
			return nil, err
		}
		eps := Plan(set, req.Target, cfg, key == implicitKey)
		return collect(ctx, req, env, cfg, shared, eps), nil
	}
}

const implicitKey = "implicit"

// Sessions talks to every address of every MX host of the request's target
// (or to the host or IP it names) on the SMTP port with STARTTLS, at most
// cfg.MaxParallel at once, and returns one Session per address in MX order.
// Each conversation happens once per probe request, whichever probe asks
// first. The error is set when the mail hosts could not be found (the MX
// question failed), and wraps probes.ErrNotProvided when the module has no
// smtp probe; a domain with a null MX or no MX has no sessions.
func Sessions(ctx context.Context, req *probes.Request, env *probes.Env) ([]*Session, error) {
	return sessions(ctx, req, env, "")
}

// ImplicitTLSSessions is Sessions for the implicit-TLS port
// (cfg.ImplicitTLSPort, 465).
func ImplicitTLSSessions(ctx context.Context, req *probes.Request, env *probes.Env) ([]*Session, error) {
	return sessions(ctx, req, env, implicitKey)
}

func sessions(ctx context.Context, req *probes.Request, env *probes.Env, key string) ([]*Session, error) {
	v, err := env.Facts.Provide(ctx, req, env, FactName, key)
	if err != nil {
		return nil, err
	}
	return v.([]*Session), nil
}

// collect runs the conversations of eps, at most cfg.MaxParallel at once,
// each once per request and, with a memory, once per interval for every
// request that says the same to the same server, and returns the sessions
// in the order of eps.
func collect(ctx context.Context, req *probes.Request, env *probes.Env, cfg Config, shared Shared, eps []Endpoint) []*Session {
	// A conversation runs under the request's facts context, not under
	// the context of the probe that happened to ask first, so it ends the
	// same way whichever probe started it, early enough for every probe
	// that reads it to judge what it showed.
	convCtx := env.Facts.Context(ctx)
	out := make([]*Session, len(eps))
	sem := make(chan struct{}, max(cfg.MaxParallel, 1))
	var tasks flight.Tasks
	if len(eps) > 0 && !eps[0].Implicit {
		// Beside the conversations, so that its verdict is in when one
		// of them fails, even at the deadline.
		tasks.Go(func() { shared.Egress.refresh(convCtx, env, cfg.EgressCheck.Targets(cfg.Port)) })
	}
	for i, ep := range eps {
		tasks.Go(func() {
			conv := conversationFor(req, cfg, ep)
			key := memoKey(ep, conv)
			v, err := env.Facts.Do(ctx, FactName, key, func() (any, error) {
				// The module's networks decide before any memory: a
				// conversation another module was allowed to hold is
				// not this one's to read.
				if s := refused(env, ep); s != nil {
					return s, nil
				}
				talk := func() *Session {
					select {
					case sem <- struct{}{}:
					case <-convCtx.Done():
						return notProbed(ep, fmt.Errorf("not probed before the deadline: %w", convCtx.Err()))
					}
					defer func() { <-sem }()
					s := converse(convCtx, env, shared.Politeness, ep, conv)
					shared.Egress.settle(convCtx, env, cfg, s)
					return s
				}
				if shared.Memory == nil {
					return talk(), nil
				}
				h, fresh := shared.Memory.session(convCtx, key, req.Target.String(), env.Clock, shared.MaxAge, env.RootCAs, talk)
				if h == nil {
					return notProbed(ep, fmt.Errorf("not probed before the deadline: %w", convCtx.Err())), nil
				}
				return h.readBy(env, fresh), nil
			})
			if err != nil {
				// A waiting caller's own context ended, or the
				// conversation failed internally.
				out[i] = notProbed(ep, fmt.Errorf("not probed: %w", err))
				return
			}
			out[i] = v.(*Session)
		})
	}
	tasks.Wait()
	return out
}

// notProbed is the session of an endpoint the exporter did not talk to.
func notProbed(ep Endpoint, err error) *Session {
	return &Session{MX: ep.MX, IP: ep.IP, Port: ep.Port, ImplicitTLS: ep.Implicit,
		NotProbed: fmt.Errorf("%s: %w", endpointLabel(ep), err)}
}

// refused is the session of an endpoint the module's networks exclude, or
// nil when they permit it.
func refused(env *probes.Env, ep Endpoint) *Session {
	var dialer probes.Dialer = &probes.AddressDialer{} // converse's default
	if env.Dialer != nil {
		dialer = env.Dialer
	}
	p, ok := dialer.(interface{ Permit(netip.Addr) error })
	if !ok {
		return nil
	}
	if err := p.Permit(ep.IP); err != nil {
		s := notProbed(ep, fmt.Errorf("not probed: %w", err))
		s.Denied = true
		return s
	}
	return nil
}

// readBy is the conversation as a request sees it: as it is for the
// request that held it (fresh) and when there was none to share (the
// holder's connection was never made: the way out to port 25 down, the
// politeness bounds), else as sharedWith has it.
func (h *heldSession) readBy(env *probes.Env, fresh bool) *Session {
	if fresh || h.session.NotProbed != nil {
		return h.session
	}
	return h.sharedWith(env)
}

// sharedWith is the kept conversation as a reader that did not hold it
// sees it: a copy that says for whom it was held, with the served chain
// judged again when the reader trusts other roots (another module's
// ca_file) than the holder did.
func (h *heldSession) sharedWith(env *probes.Env) *Session {
	c := *h.session
	c.Shared = &Provenance{Target: h.target, At: h.finished}
	if c.TLS != nil && len(c.TLS.Chain) > 0 && h.roots != env.RootCAs {
		t := *c.TLS
		judgeChain(&t, env, c.MX)
		c.TLS = &t
	}
	return &c
}

func endpointLabel(ep Endpoint) string {
	addr := netip.AddrPortFrom(ep.IP, uint16(ep.Port)).String()
	if ep.MX == "" {
		return addr
	}
	return ep.MX + " " + addr
}

// memoKey names a conversation: where it goes (the MX name, which is the
// SNI and the name the certificate is judged against, the address and the
// port) and everything the probe says in it (the EHLO name, the RCPT TO
// addresses). Nothing else in a conversation depends on the target, so one
// key is one conversation for every domain that asks it; the RCPT checks
// of postmaster@ and abuse@ name the domain, which keeps those
// conversations the domain's.
func memoKey(ep Endpoint, conv conversation) string {
	var b strings.Builder
	b.WriteString(ep.MX)
	b.WriteString("|")
	b.WriteString(netip.AddrPortFrom(ep.IP, uint16(ep.Port)).String())
	if ep.Implicit {
		b.WriteString("|implicit")
	}
	b.WriteString("|ehlo=" + conv.ehloName)
	for _, r := range conv.rcpts {
		b.WriteString("|rcpt=" + r.Address)
	}
	return b.String()
}

// conversation is what the probe says to one server.
type conversation struct {
	ehloName string // empty: decided per connection
	rcpts    []RcptResult
}

// conversationFor decides the EHLO name and the RCPT checks for an
// endpoint. postmaster and abuse go to the target domain (RFC 5321 §4.5.1,
// RFC 2142 §2); a host or IP target has no mail domain, so postmaster is
// asked as the bare <Postmaster> every server must accept (RFC 5321
// §4.1.1.3) and abuse is not asked.
func conversationFor(req *probes.Request, cfg Config, ep Endpoint) conversation {
	c := conversation{ehloName: EHLOName(cfg)}
	if ep.Implicit {
		return c
	}
	domain := ""
	if req.Target.Kind == probes.KindDomain {
		domain = req.Target.Name
	}
	for _, check := range []string{RcptPostmaster, RcptAbuse, RcptOpenRelay} {
		if !cfg.Enabled(check) {
			continue
		}
		switch check {
		case RcptPostmaster:
			addr := "Postmaster"
			if domain != "" {
				addr = "postmaster@" + domain
			}
			c.rcpts = append(c.rcpts, RcptResult{Check: check, Address: addr})
		case RcptAbuse:
			if domain != "" {
				c.rcpts = append(c.rcpts, RcptResult{Check: check, Address: "abuse@" + domain})
			}
		case RcptOpenRelay:
			if !RelayIsLocal(cfg.RelayTestRecipient, domain) {
				c.rcpts = append(c.rcpts, RcptResult{Check: check, Address: cfg.RelayTestRecipient})
			}
		}
	}
	return c
}

// RelayIsLocal reports whether the relay test address is in the probed
// domain (or below it): the server would rightly accept it, and the test
// would prove nothing.
func RelayIsLocal(addr, domain string) bool {
	if domain == "" {
		return false
	}
	_, d, _ := strings.Cut(addr, "@")
	d = strings.ToLower(d)
	return d == domain || strings.HasSuffix(d, "."+domain)
}

var (
	hostnameOnce sync.Once
	hostname     string
)

// EHLOName is the configured EHLO name, else the machine's fully qualified
// host name, else "" (the conversation then uses an address literal of its
// local address, RFC 5321 §4.1.4).
func EHLOName(cfg Config) string {
	if cfg.EHLOName != "" {
		return cfg.EHLOName
	}
	hostnameOnce.Do(func() {
		h, err := os.Hostname()
		if err != nil {
			return
		}
		if n, err := probes.NormalizeName(h); err == nil {
			hostname = n
		}
	})
	return hostname
}

// addressLiteral is RFC 5321 §4.1.3's form of an address.
func addressLiteral(ip netip.Addr) string {
	ip = ip.Unmap()
	if ip.Is6() {
		return "[IPv6:" + ip.String() + "]"
	}
	return "[" + ip.String() + "]"
}

// hostName puts a name a server gave for itself in the form names are
// compared in: lower case, no trailing dot, cut at the longest a name can
// be.
func hostName(s string) string {
	s = strings.ToLower(strings.TrimSuffix(s, "."))
	if len(s) > 255 {
		s = s[:255]
	}
	return s
}
