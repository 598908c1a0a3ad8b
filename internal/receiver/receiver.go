// Package receiver is the exporter's built-in receiving MTA: an SMTP
// listener (off unless --receiver.listen-address is given) that the
// delivery probe sends its test messages to, through the domain's own
// outgoing relay. It implements probes.Mailbox: a probe announces a token
// and a recipient before it sends, and the receiver accepts exactly that
// message and nothing else.
//
// What it accepts is narrow on purpose, because its port is open to the
// internet: a recipient only while a probe expects mail for it, a message
// only when it carries a token the receiver was told of, at most
// MaxMessageBytes, over at most MaxConnections sessions at once, at most
// a few sessions a minute per client network, and at most a few refused
// recipients and messages per session. It never relays and
// never stores more than one message per token. Everything refused is
// counted, not logged line by line, and no message body is ever logged.
//
// The SMTP protocol is github.com/emersion/go-smtp's server; the
// connection bounds (count, rate, the whole session's lifetime) are a
// listener of this package around it.
package receiver

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/textproto"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

// TokenHeader is the header field the delivery probe puts its token in.
const TokenHeader = probes.TokenHeader

// Defaults of the bounds.
const (
	DefaultMaxMessageBytes = 256 << 10
	DefaultMaxConnections  = 32
	DefaultSessionsPerMin  = 30
	DefaultMaxPending      = 10000
	DefaultCommandTimeout  = 60 * time.Second
	DefaultSessionLifetime = 5 * time.Minute
)

// maxRefusedPerSession bounds the refused recipients and messages of one
// session: past it the session's MAIL commands are refused, so a client
// cannot make the receiver read and parse message after message (each up
// to MaxMessageBytes) or scan the expected tokens recipient after
// recipient for the whole session lifetime. A relay has no reason to
// come near it: it delivers only probe messages here.
const maxRefusedPerSession = 10

// Config is how the receiver behaves.
type Config struct {
	// Hostname is the name in the greeting and the EHLO reply: the name
	// the probe domain's MX record points at, and the certificate's.
	Hostname string
	// TLS, when set, offers STARTTLS with it.
	TLS *tls.Config
	// MaxMessageBytes bounds one message (the SIZE extension says so).
	MaxMessageBytes int64
	// MaxConnections bounds the sessions open at once; more are answered
	// 421 and closed.
	MaxConnections int
	// SessionsPerMinute bounds the sessions a minute from one client
	// network (an IPv4 address, an IPv6 /64); more are answered 421.
	SessionsPerMinute int
	// MaxPending bounds the tokens expected at once.
	MaxPending int
	// CommandTimeout bounds each read and write; SessionLifetime the whole
	// session.
	CommandTimeout  time.Duration
	SessionLifetime time.Duration
	// Logger logs the receiver's own events (never a message body).
	Logger log.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

func (c *Config) normalize() {
	if c.Hostname == "" {
		c.Hostname = "localhost"
	}
	if c.MaxMessageBytes <= 0 {
		c.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if c.MaxConnections <= 0 {
		c.MaxConnections = DefaultMaxConnections
	}
	if c.SessionsPerMinute <= 0 {
		c.SessionsPerMinute = DefaultSessionsPerMin
	}
	if c.MaxPending <= 0 {
		c.MaxPending = DefaultMaxPending
	}
	if c.CommandTimeout <= 0 {
		c.CommandTimeout = DefaultCommandTimeout
	}
	if c.SessionLifetime <= 0 {
		c.SessionLifetime = DefaultSessionLifetime
	}
	if c.Logger == nil {
		c.Logger = log.NewNopLogger()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Outcome names what became of a session or a message, for the receiver's
// counters.
type Outcome string

// The outcomes counted.
const (
	Accepted         Outcome = "accepted"          // a probe message stored
	RefusedRcpt      Outcome = "refused_rcpt"      // a recipient no probe expects
	RefusedToken     Outcome = "refused_token"     // a message without a token expected for its recipient
	RefusedSize      Outcome = "refused_size"      // over MaxMessageBytes
	RefusedBusy      Outcome = "refused_busy"      // over MaxConnections
	RefusedRate      Outcome = "refused_rate"      // over SessionsPerMinute
	RefusedDuplicate Outcome = "refused_duplicate" // a second message for a token
	// RefusedSession counts the sessions whose MAIL commands are refused
	// after maxRefusedPerSession refusals.
	RefusedSession Outcome = "refused_session"
)

// Outcomes lists every outcome, for pre-declaring counters.
var Outcomes = []Outcome{Accepted, RefusedRcpt, RefusedToken, RefusedSize, RefusedBusy, RefusedRate, RefusedDuplicate, RefusedSession}

// Receiver is the listener and the mailbox. It is safe for concurrent use.
type Receiver struct {
	cfg    Config
	server *smtp.Server

	mu       sync.Mutex
	pending  map[string]*expected // by token
	counts   map[Outcome]uint64
	limiter  *rateLimiter
	closed   bool
	listener *limitedListener
}

// expected is one announced message.
type expected struct {
	rcpt    string
	until   time.Time
	arrived *probes.ReceivedMessage
	notify  chan struct{}
}

var _ probes.Mailbox = (*Receiver)(nil)

// New makes a receiver; Serve starts it.
func New(cfg Config) *Receiver {
	cfg.normalize()
	r := &Receiver{
		cfg:     cfg,
		pending: map[string]*expected{},
		counts:  map[Outcome]uint64{},
		limiter: newRateLimiter(cfg.SessionsPerMinute, cfg.Now),
	}
	s := smtp.NewServer(smtp.BackendFunc(r.newSession))
	s.Domain = cfg.Hostname
	s.TLSConfig = cfg.TLS
	s.MaxMessageBytes = cfg.MaxMessageBytes
	s.MaxRecipients = 5
	s.MaxLineLength = 2000
	s.ReadTimeout = cfg.CommandTimeout
	s.WriteTimeout = cfg.CommandTimeout
	s.ErrorLog = errorLog{level.Debug(cfg.Logger)}
	r.server = s
	return r
}

// errorLog sends go-smtp's own complaints (a client that hung up) to the
// debug log: they are the client's business, and a flood of them must not
// fill the log.
type errorLog struct{ l log.Logger }

func (e errorLog) Printf(format string, v ...any) {
	e.l.Log("msg", "SMTP session", "err", fmt.Sprintf(format, v...))
}
func (e errorLog) Println(v ...any) { e.l.Log("msg", "SMTP session", "err", fmt.Sprint(v...)) }

// Serve accepts sessions on l until Close. It returns nil after Close.
func (r *Receiver) Serve(l net.Listener) error {
	ll := &limitedListener{Listener: l, r: r, slots: make(chan struct{}, r.cfg.MaxConnections)}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		l.Close()
		return nil
	}
	r.listener = ll
	r.mu.Unlock()
	err := r.server.Serve(ll)
	if errors.Is(err, smtp.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// Close stops accepting and ends every session.
func (r *Receiver) Close() error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	return r.server.Close()
}

// Counts returns how many sessions and messages ended in each outcome.
func (r *Receiver) Counts() map[Outcome]uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[Outcome]uint64, len(r.counts))
	for k, v := range r.counts {
		out[k] = v
	}
	return out
}

func (r *Receiver) count(o Outcome) {
	r.mu.Lock()
	r.counts[o]++
	r.mu.Unlock()
}

// Expect implements probes.Mailbox.
func (r *Receiver) Expect(token, rcpt string, until time.Time) error {
	if token == "" || rcpt == "" {
		return errors.New("receiver: a token and a recipient are needed")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expireLocked()
	if len(r.pending) >= r.cfg.MaxPending {
		return fmt.Errorf("receiver: %d messages are expected already (the bound)", len(r.pending))
	}
	r.pending[token] = &expected{rcpt: strings.ToLower(rcpt), until: until, notify: make(chan struct{})}
	return nil
}

// Arrived implements probes.Mailbox.
func (r *Receiver) Arrived(token string) (*probes.ReceivedMessage, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.pending[token]
	if !ok || e.arrived == nil {
		return nil, false
	}
	return e.arrived, true
}

// Notify implements probes.Mailbox.
func (r *Receiver) Notify(token string) <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.pending[token]; ok {
		return e.notify
	}
	return nil
}

// Forget implements probes.Mailbox.
func (r *Receiver) Forget(token string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.pending, token)
}

// expireLocked drops tokens past their deadline that nothing arrived for
// and nobody forgot, so abandoned ones do not fill the bound. Arrived
// messages stay until forgotten (or an hour past the deadline).
func (r *Receiver) expireLocked() {
	now := r.cfg.Now()
	for token, e := range r.pending {
		if (e.arrived == nil && now.After(e.until)) || now.After(e.until.Add(time.Hour)) {
			delete(r.pending, token)
		}
	}
}

// expectsRcpt reports whether any token waits for mail to rcpt.
func (r *Receiver) expectsRcpt(rcpt string) bool {
	rcpt = strings.ToLower(rcpt)
	now := r.cfg.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.pending {
		if e.rcpt == rcpt && e.arrived == nil && !now.After(e.until) {
			return true
		}
	}
	return false
}

// deliver stores msg under the token it carries when that token waits for
// mail to one of msg's recipients.
func (r *Receiver) deliver(msg *probes.ReceivedMessage, rcpts []string, token string) (Outcome, error) {
	now := r.cfg.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.pending[token]
	if !ok || now.After(e.until) {
		return RefusedToken, errNotProbe
	}
	var rcpt string
	for _, to := range rcpts {
		if strings.ToLower(to) == e.rcpt {
			rcpt = to
		}
	}
	if rcpt == "" {
		return RefusedToken, errNotProbe
	}
	if e.arrived != nil {
		return RefusedDuplicate, &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "This probe message arrived already"}
	}
	msg.Rcpt = rcpt
	e.arrived = msg
	close(e.notify)
	return Accepted, nil
}

var errNotProbe = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1},
	Message: "This receiver accepts only the deliverability probe's own messages"}

func (r *Receiver) newSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{r: r, conn: c}, nil
}

// session is one SMTP session's transaction state.
type session struct {
	r     *Receiver
	conn  *smtp.Conn
	from  string
	rcpts []string
	// refused counts the session's refused recipients and messages.
	refused int
}

func (s *session) Reset()        { s.from, s.rcpts = "", nil }
func (s *session) Logout() error { return nil }

// Mail starts a transaction unless the session has been refused too often:
// without MAIL, go-smtp answers RCPT, DATA and BDAT itself and hands
// nothing more to the receiver.
func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.refused >= maxRefusedPerSession {
		if s.refused == maxRefusedPerSession {
			s.refused++
			s.r.count(RefusedSession)
		}
		return &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "Too many refused commands in this session, try again later"}
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if !s.r.expectsRcpt(to) {
		s.refused++
		s.r.count(RefusedRcpt)
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such probe address"}
	}
	s.rcpts = append(s.rcpts, to)
	return nil
}

func (s *session) Data(body io.Reader) error {
	data, err := io.ReadAll(body)
	if err != nil {
		s.refused++
		if errors.Is(err, smtp.ErrDataTooLarge) {
			s.r.count(RefusedSize)
		}
		return err
	}
	token := headerValue(data, TokenHeader)
	msg := &probes.ReceivedMessage{
		At:       s.r.cfg.Now(),
		HELO:     s.conn.Hostname(),
		MailFrom: s.from,
		Data:     data,
	}
	if ap, err := netip.ParseAddrPort(s.conn.Conn().RemoteAddr().String()); err == nil {
		msg.Remote = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	if st, ok := s.conn.TLSConnectionState(); ok {
		msg.TLSVersion, msg.TLSCipher = st.Version, st.CipherSuite
	}
	outcome, err := s.r.deliver(msg, s.rcpts, token)
	s.r.count(outcome)
	if outcome != Accepted {
		s.refused++
	}
	if outcome == Accepted {
		level.Info(s.r.cfg.Logger).Log("msg", "Probe message received", "token", token, "remote", msg.Remote.Addr(), "helo", msg.HELO, "bytes", len(data))
	}
	return err
}

// headerValue returns the first value of the named field in the message's
// header ("" when absent or when the header cannot be read).
func headerValue(data []byte, name string) string {
	tp := textproto.NewReader(bufio.NewReader(bytes.NewReader(data)))
	h, err := tp.ReadMIMEHeader()
	if err != nil && len(h) == 0 {
		return ""
	}
	return strings.TrimSpace(h.Get(name))
}

// limitedListener bounds the sessions: at most cap(slots) at once, at most
// the rate per client network, each at most SessionLifetime long.
type limitedListener struct {
	net.Listener
	r     *Receiver
	slots chan struct{}
}

func (l *limitedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil && !l.r.limiter.allow(ap.Addr()) {
			l.r.count(RefusedRate)
			refuse(c, "421 4.7.0 Too many sessions from your network, try again later\r\n")
			continue
		}
		select {
		case l.slots <- struct{}{}:
		default:
			l.r.count(RefusedBusy)
			refuse(c, "421 4.3.2 Too busy, try again later\r\n")
			continue
		}
		end := l.r.cfg.Now().Add(l.r.cfg.SessionLifetime)
		if err := c.SetDeadline(end); err != nil {
			c.Close()
			<-l.slots
			continue
		}
		return &boundedConn{Conn: c, end: end, release: func() { <-l.slots }}, nil
	}
}

// refuse answers a session it will not serve and hangs up, without
// waiting on a client that does not read.
func refuse(c net.Conn, reply string) {
	_ = c.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = io.WriteString(c, reply)
	c.Close()
}

// boundedConn keeps every deadline go-smtp sets within the session's
// lifetime and gives its slot back once when closed.
type boundedConn struct {
	net.Conn
	end     time.Time
	release func()
	once    sync.Once
}

func (c *boundedConn) clamp(t time.Time) time.Time {
	if t.IsZero() || t.After(c.end) {
		return c.end
	}
	return t
}

func (c *boundedConn) SetDeadline(t time.Time) error      { return c.Conn.SetDeadline(c.clamp(t)) }
func (c *boundedConn) SetReadDeadline(t time.Time) error  { return c.Conn.SetReadDeadline(c.clamp(t)) }
func (c *boundedConn) SetWriteDeadline(t time.Time) error { return c.Conn.SetWriteDeadline(c.clamp(t)) }

func (c *boundedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// rateLimiter counts sessions per client network in fixed one-minute
// windows; it forgets every network when the window turns, so it holds at
// most the networks of one minute, and at most maxNetworks of those.
type rateLimiter struct {
	mu     sync.Mutex
	perMin int
	now    func() time.Time
	window time.Time
	counts map[netip.Prefix]int
}

const maxNetworks = 10000

func newRateLimiter(perMin int, now func() time.Time) *rateLimiter {
	return &rateLimiter{perMin: perMin, now: now, counts: map[netip.Prefix]int{}}
}

func (l *rateLimiter) allow(ip netip.Addr) bool {
	ip = ip.Unmap()
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	network, _ := ip.Prefix(bits)
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Sub(l.window) >= time.Minute || now.Before(l.window) {
		l.window = now
		clear(l.counts)
	}
	n, seen := l.counts[network]
	if !seen && len(l.counts) >= maxNetworks {
		return false
	}
	if n >= l.perMin {
		return false
	}
	l.counts[network] = n + 1
	return true
}
