package testbed

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Hostile selects a misbehaving SMTP server, for the tests that a client
// ends within its deadline whatever the server does.
type Hostile int

// The hostile behaviours.
const (
	// Polite is a well-behaved server (the default).
	Polite Hostile = iota
	// NeverGreet accepts the connection and says nothing.
	NeverGreet
	// DripGreeting sends its greeting one byte per second.
	DripGreeting
	// HugeGreeting sends a 10 MB greeting line.
	HugeGreeting
	// NoCRLF sends a greeting without a line end, then nothing.
	NoCRLF
	// EndlessReply sends a multi-line greeting that never ends.
	EndlessReply
	// GarbageTLS accepts STARTTLS (or, with ImplicitTLS, the connection)
	// and answers the ClientHello with bytes that are not TLS.
	GarbageTLS
	// DripEHLO greets at once, then sends its EHLO reply one byte every
	// 200 ms: a server still answering when the client's deadline comes.
	DripEHLO
	// InjectAfterSTARTTLS sends a further reply in plain text right after
	// its 220 to STARTTLS, in the same packet: what a man in the middle
	// injecting commands looks like (RFC 3207 §4.2, CVE-2011-0411).
	InjectAfterSTARTTLS
)

// SMTPBehaviour is what a test SMTP server does. The zero value greets as
// "mx.test", answers EHLO with PIPELINING, SIZE and 8BITMIME, accepts
// MAIL FROM and refuses every recipient; STARTTLS is offered when a
// certificate is set.
type SMTPBehaviour struct {
	// Hostname is the name in the greeting and the EHLO reply ("mx.test"
	// when empty).
	Hostname string
	// Greeting replaces the greeting reply; lines are separated by "\n"
	// and sent with CRLF ("220-first\n220 last").
	Greeting string
	// EHLOName replaces the name in the EHLO reply (Hostname when empty).
	EHLOName string
	// Extensions are advertised before TLS besides STARTTLS and AUTH; nil
	// means PIPELINING, SIZE 10240000 and 8BITMIME.
	Extensions []string
	// Certificate is served by STARTTLS or implicit TLS; without it (and
	// without TLSConfig) STARTTLS is not offered.
	Certificate *tls.Certificate
	// TLSConfig, when set, is the server's TLS configuration (versions,
	// cipher suites); Certificate is added to it when set.
	TLSConfig *tls.Config
	// NoSTARTTLS keeps STARTTLS out of the EHLO reply even with a
	// certificate (the command still works, as in servers that accept it
	// unadvertised).
	NoSTARTTLS bool
	// STARTTLSReply replaces "220 2.0.0 Ready to start TLS"; a reply
	// other than 220 leaves the session in plain text.
	STARTTLSReply string
	// AuthBeforeTLS and AuthAfterTLS advertise "AUTH PLAIN LOGIN" on a
	// plain-text session and on a TLS session.
	AuthBeforeTLS, AuthAfterTLS bool
	// RefuseEHLO answers EHLO with 502 (HELO still works).
	RefuseEHLO bool
	// RefuseHELO answers HELO with 502 as well.
	RefuseHELO bool
	// MailReply replaces "250 2.1.0 Ok" as the answer to MAIL FROM.
	MailReply string
	// Recipients maps a lower-case address (what is inside <>) to the reply
	// to RCPT TO; others get DefaultRecipientReply.
	Recipients map[string]string
	// DefaultRecipientReply replaces "550 5.1.1 Recipient address rejected:
	// User unknown".
	DefaultRecipientReply string
	// ImplicitTLS speaks TLS from the first byte (port 465, RFC 8314).
	ImplicitTLS bool
	// Hostile makes the server misbehave.
	Hostile Hostile
	// Lockstep holds greetings back until no connection has arrived for a
	// quiet period, then releases them together (one round).
	Lockstep *SMTPLockstep
}

// SMTPLockstep holds the greetings of one or more servers back until no new
// connection has arrived for a quiet period, then releases them together.
// Rounds counts the releases: a client that connects to n servers at once
// needs one round, a client that connects one after the other needs n,
// however fast or slow the machine is.
type SMTPLockstep struct {
	l lockstep
}

// NewSMTPLockstep makes a gate; share it between servers through their
// behaviour.
func NewSMTPLockstep(quiet time.Duration) *SMTPLockstep {
	return &SMTPLockstep{l: lockstep{quiet: quiet}}
}

// Rounds returns how many times greetings were released.
func (g *SMTPLockstep) Rounds() int {
	g.l.mu.Lock()
	defer g.l.mu.Unlock()
	return g.l.rounds
}

// SMTPServer is a scripted SMTP server on loopback. It records every command
// line it receives, so tests can assert what a client sent (and what it
// never sent, such as DATA).
type SMTPServer struct {
	// Addr is "ip:port".
	Addr string

	ln     net.Listener
	closed chan struct{}
	wg     sync.WaitGroup

	mu          sync.Mutex
	b           SMTPBehaviour
	commands    []string
	conns       map[net.Conn]bool
	connections int
	handshakes  int
}

// maxRecordedCommands bounds what the server remembers of hostile clients.
const maxRecordedCommands = 10000

// NewSMTPServer starts a server listening on addr ("127.0.0.1:0" when
// empty). Close stops it and every connection it holds.
func NewSMTPServer(addr string, b SMTPBehaviour) (*SMTPServer, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("smtp test server: %w", err)
	}
	s := &SMTPServer{
		Addr:   ln.Addr().String(),
		ln:     ln,
		closed: make(chan struct{}),
		b:      b,
		conns:  map[net.Conn]bool{},
	}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// StartSMTP starts a server for a test and stops it when the test ends.
func StartSMTP(tb testing.TB, addr string, b SMTPBehaviour) *SMTPServer {
	tb.Helper()
	s, err := NewSMTPServer(addr, b)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	return s
}

// StartSMTPGroup starts one server per IP address, all on the same port (as
// the addresses of MX hosts are, on port 25), with the behaviour behaviour(ip)
// returns. The servers stop when the test ends.
func StartSMTPGroup(tb testing.TB, ips []string, behaviour func(ip string) SMTPBehaviour) []*SMTPServer {
	tb.Helper()
	group, err := NewSMTPGroup(ips, behaviour)
	if err != nil {
		tb.Fatal(err)
	}
	for _, s := range group {
		tb.Cleanup(s.Close)
	}
	return group
}

// NewSMTPGroup is StartSMTPGroup outside a test: the caller closes the
// servers.
func NewSMTPGroup(ips []string, behaviour func(ip string) SMTPBehaviour) ([]*SMTPServer, error) {
	if len(ips) == 0 {
		return nil, errors.New("smtp test server group: no addresses")
	}
	for attempt := 0; attempt < 20; attempt++ {
		first, err := NewSMTPServer(net.JoinHostPort(ips[0], "0"), behaviour(ips[0]))
		if err != nil {
			return nil, err
		}
		port := strconv.Itoa(first.Port())
		group := []*SMTPServer{first}
		for _, ip := range ips[1:] {
			s, err := NewSMTPServer(net.JoinHostPort(ip, port), behaviour(ip))
			if err != nil {
				break // the port is taken on this address; try another
			}
			group = append(group, s)
		}
		if len(group) == len(ips) {
			return group, nil
		}
		for _, s := range group {
			s.Close()
		}
	}
	return nil, fmt.Errorf("smtp test server group: no port free on all of %v", ips)
}

// Port returns the port the server listens on.
func (s *SMTPServer) Port() int {
	return s.ln.Addr().(*net.TCPAddr).Port
}

// SetBehaviour changes what the server does for connections that arrive
// from now on.
func (s *SMTPServer) SetBehaviour(b SMTPBehaviour) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b = b
}

// Commands returns the command lines received, in order, across
// connections.
func (s *SMTPServer) Commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.commands...)
}

// Connections returns how many connections the server accepted.
func (s *SMTPServer) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connections
}

// Handshakes returns how many TLS handshakes completed.
func (s *SMTPServer) Handshakes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.handshakes
}

// Close stops the server, closes its connections and waits for its
// goroutines to end.
func (s *SMTPServer) Close() {
	s.mu.Lock()
	select {
	case <-s.closed:
		s.mu.Unlock()
		return
	default:
	}
	close(s.closed)
	s.ln.Close()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *SMTPServer) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		select {
		case <-s.closed:
			s.mu.Unlock()
			c.Close()
			return
		default:
		}
		s.conns[c] = true
		s.connections++
		b := s.b
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			defer func() {
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				c.Close()
			}()
			s.serve(c, b)
		}()
	}
}

func (s *SMTPServer) record(line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.commands) < maxRecordedCommands {
		s.commands = append(s.commands, line)
	}
}

// track registers a connection that replaces c (a TLS layer over it), so
// Close reaches it too.
func (s *SMTPServer) track(c net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conns[c] = true
}

func (b *SMTPBehaviour) hostname() string {
	if b.Hostname != "" {
		return b.Hostname
	}
	return "mx.test"
}

func (b *SMTPBehaviour) tlsConfig() *tls.Config {
	if b.TLSConfig == nil && b.Certificate == nil {
		return nil
	}
	cfg := &tls.Config{}
	if b.TLSConfig != nil {
		cfg = b.TLSConfig.Clone()
	}
	if b.Certificate != nil {
		cfg.Certificates = append(cfg.Certificates, *b.Certificate)
	}
	return cfg
}

// sleep waits d or until the server closes; false means it closed.
func (s *SMTPServer) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.closed:
		return false
	}
}

// session is one client connection's state.
type session struct {
	s      *SMTPServer
	b      SMTPBehaviour
	conn   net.Conn
	r      *bufio.Reader
	tls    bool
	helo   bool
	inMail bool
}

func (s *SMTPServer) serve(c net.Conn, b SMTPBehaviour) {
	if b.Lockstep != nil {
		select {
		case <-b.Lockstep.l.join():
		case <-s.closed:
			return
		}
	}
	ss := &session{s: s, b: b, conn: c}
	defer func() {
		if ss.conn != c {
			s.mu.Lock()
			delete(s.conns, ss.conn)
			s.mu.Unlock()
			ss.conn.Close()
		}
	}()
	if b.ImplicitTLS {
		if b.Hostile == GarbageTLS {
			ss.garbage()
			return
		}
		if !ss.startTLS() {
			return
		}
	}
	if !ss.greet() {
		return
	}
	ss.r = bufio.NewReader(ss.conn)
	for {
		line, err := readLimited(ss.r, 4096)
		if err != nil {
			return
		}
		s.record(line)
		if !ss.command(line) {
			return
		}
	}
}

// greet sends the greeting, or misbehaves; false ends the connection.
func (ss *session) greet() bool {
	s, b := ss.s, ss.b
	switch b.Hostile {
	case NeverGreet:
		<-s.closed
		return false
	case DripGreeting:
		for _, c := range []byte("220 " + b.hostname() + " ESMTP slowly\r\n") {
			if _, err := ss.conn.Write([]byte{c}); err != nil || !s.sleep(time.Second) {
				return false
			}
		}
	case HugeGreeting:
		chunk := []byte(strings.Repeat("x", 64<<10))
		if _, err := ss.conn.Write([]byte("220 ")); err != nil {
			return false
		}
		for sent := 0; sent < 10<<20; sent += len(chunk) {
			if _, err := ss.conn.Write(chunk); err != nil {
				return false
			}
		}
		_, _ = ss.conn.Write([]byte("\r\n"))
		<-s.closed
		return false
	case NoCRLF:
		if _, err := ss.conn.Write([]byte("220 " + b.hostname() + " ESMTP but never ends the line")); err != nil {
			return false
		}
		<-s.closed
		return false
	case EndlessReply:
		line := []byte("220-" + b.hostname() + " there is always more to say\r\n")
		for {
			if _, err := ss.conn.Write(line); err != nil {
				return false
			}
			select {
			case <-s.closed:
				return false
			default:
			}
		}
	}
	greeting := b.Greeting
	if greeting == "" {
		greeting = "220 " + b.hostname() + " ESMTP testbed"
	}
	return ss.reply(greeting)
}

// reply sends lines separated by "\n", each ended with CRLF.
func (ss *session) reply(text string) bool {
	var sb strings.Builder
	for _, l := range strings.Split(text, "\n") {
		sb.WriteString(l)
		sb.WriteString("\r\n")
	}
	_, err := io.WriteString(ss.conn, sb.String())
	return err == nil
}

func (ss *session) command(line string) bool {
	b := ss.b
	verb, arg, _ := strings.Cut(line, " ")
	switch strings.ToUpper(verb) {
	case "EHLO":
		if b.RefuseEHLO {
			return ss.reply("502 5.5.2 Error: command not recognized")
		}
		ss.helo, ss.inMail = true, false
		if b.Hostile == DripEHLO {
			for _, c := range []byte(strings.ReplaceAll(ss.ehloReply(arg), "\n", "\r\n") + "\r\n") {
				if _, err := ss.conn.Write([]byte{c}); err != nil || !ss.s.sleep(200*time.Millisecond) {
					return false
				}
			}
			return true
		}
		return ss.reply(ss.ehloReply(arg))
	case "HELO":
		if b.RefuseHELO {
			return ss.reply("502 5.5.2 Error: command not recognized")
		}
		ss.helo, ss.inMail = true, false
		return ss.reply("250 " + ss.ehloName())
	case "STARTTLS":
		if ss.tls {
			return ss.reply("503 5.5.1 Error: TLS already active")
		}
		if b.STARTTLSReply != "" {
			return ss.reply(b.STARTTLSReply)
		}
		if b.tlsConfig() == nil && b.Hostile != GarbageTLS && b.Hostile != InjectAfterSTARTTLS {
			return ss.reply("454 4.7.0 TLS not available")
		}
		if b.Hostile == InjectAfterSTARTTLS {
			ss.reply("220 2.0.0 Ready to start TLS\n250 injected")
			<-ss.s.closed
			return false
		}
		if !ss.reply("220 2.0.0 Ready to start TLS") {
			return false
		}
		if b.Hostile == GarbageTLS {
			ss.garbage()
			return false
		}
		if !ss.startTLS() {
			return false
		}
		ss.r = bufio.NewReader(ss.conn)
		ss.helo, ss.inMail = false, false
		return true
	case "MAIL":
		if !ss.helo {
			return ss.reply("503 5.5.1 Error: send HELO/EHLO first")
		}
		reply := b.MailReply
		if reply == "" {
			reply = "250 2.1.0 Ok"
		}
		ss.inMail = strings.HasPrefix(reply, "2")
		return ss.reply(reply)
	case "RCPT":
		if !ss.inMail {
			return ss.reply("503 5.5.1 Error: need MAIL command")
		}
		addr := strings.ToLower(arg)
		if i, j := strings.IndexByte(addr, '<'), strings.IndexByte(addr, '>'); i >= 0 && j > i {
			addr = addr[i+1 : j]
		}
		if reply, ok := b.Recipients[addr]; ok {
			return ss.reply(reply)
		}
		if b.DefaultRecipientReply != "" {
			return ss.reply(b.DefaultRecipientReply)
		}
		return ss.reply("550 5.1.1 <" + addr + ">: Recipient address rejected: User unknown")
	case "RSET":
		ss.inMail = false
		return ss.reply("250 2.0.0 Ok")
	case "NOOP":
		return ss.reply("250 2.0.0 Ok")
	case "DATA":
		return ss.reply("554 5.5.1 Error: this test server takes no messages")
	case "AUTH":
		return ss.reply("535 5.7.8 Error: authentication failed")
	case "QUIT":
		ss.reply("221 2.0.0 Bye")
		return false
	}
	return ss.reply("502 5.5.2 Error: command not recognized")
}

func (ss *session) ehloName() string {
	if ss.b.EHLOName != "" {
		return ss.b.EHLOName
	}
	return ss.b.hostname()
}

func (ss *session) ehloReply(client string) string {
	b := ss.b
	lines := []string{ss.ehloName() + " Hello " + client}
	ext := b.Extensions
	if ext == nil {
		ext = []string{"PIPELINING", "SIZE 10240000", "8BITMIME"}
	}
	lines = append(lines, ext...)
	if !ss.tls && !b.NoSTARTTLS && (b.tlsConfig() != nil || b.Hostile == GarbageTLS || b.Hostile == InjectAfterSTARTTLS) && !b.ImplicitTLS {
		lines = append(lines, "STARTTLS")
	}
	if (!ss.tls && b.AuthBeforeTLS) || (ss.tls && b.AuthAfterTLS) {
		lines = append(lines, "AUTH PLAIN LOGIN")
	}
	var sb strings.Builder
	for i, l := range lines {
		sep := "-"
		if i == len(lines)-1 {
			sep = " "
		}
		if i > 0 {
			sb.WriteString("\n")
		}
		sb.WriteString("250" + sep + l)
	}
	return sb.String()
}

// startTLS runs the server side of a handshake on the connection.
func (ss *session) startTLS() bool {
	cfg := ss.b.tlsConfig()
	if cfg == nil {
		return false
	}
	tc := tls.Server(ss.conn, cfg)
	ss.s.track(tc)
	_ = tc.SetDeadline(time.Now().Add(10 * time.Second))
	if err := tc.Handshake(); err != nil {
		ss.s.mu.Lock()
		delete(ss.s.conns, tc)
		ss.s.mu.Unlock()
		return false
	}
	_ = tc.SetDeadline(time.Time{})
	ss.s.mu.Lock()
	ss.s.handshakes++
	ss.s.mu.Unlock()
	ss.conn = tc
	ss.tls = true
	return true
}

// garbage answers a ClientHello with bytes that are not a TLS record, then
// waits for the server to close.
func (ss *session) garbage() {
	var hello [1]byte
	if _, err := ss.conn.Read(hello[:]); err != nil {
		return
	}
	_, _ = ss.conn.Write([]byte("HTTP/1.1 400 Bad Request\r\nThis is not TLS at all.\r\n\r\n"))
	<-ss.s.closed
}

// readLimited reads one line of at most max bytes (without its line end).
func readLimited(r *bufio.Reader, max int) (string, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(line)+len(chunk) > max+2 {
			return "", errors.New("line too long")
		}
		line = append(line, chunk...)
		if err == nil {
			break
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return "", err
		}
	}
	return strings.TrimRight(string(line), "\r\n"), nil
}
