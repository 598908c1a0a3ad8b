package smtpsession

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"syscall"
	"time"

	"github.com/deliverability-exporter/deliverability_exporter/internal/flight"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

// Bounds of a conversation beyond the caller's deadline.
const (
	// defaultConversationTimeout bounds a conversation whose context has
	// no deadline, so that no server can hold a probe forever.
	defaultConversationTimeout = 2 * time.Minute
	// quitTimeout is how long the polite QUIT at the end may take: the
	// findings are in, and a server that does not answer QUIT must not
	// hold the probe.
	quitTimeout = 2 * time.Second
	// maxTranscript bounds the lines kept for the report.
	maxTranscript = 80
)

// dialogue is one SMTP conversation in progress.
type dialogue struct {
	conn net.Conn
	br   *bufio.Reader
	s    *Session
	// deadline is the context's, set on the connection.
	deadline time.Time
	ctx      context.Context
	start    time.Time
	// quitting: the findings are in; the deadline cutting QUIT short
	// leaves the conversation complete.
	quitting bool
}

// converse has the conversation with one endpoint and never returns nil.
// Every read and write is bounded by ctx (its deadline set on the
// connection, and the connection closed when ctx ends) and by the reply
// bounds of readReply. It never sends DATA: EHLO (HELO), STARTTLS, EHLO,
// then for RCPT checks MAIL FROM:<>, RCPT TO, RSET; then QUIT.
func converse(ctx context.Context, env *probes.Env, pol *Politeness, ep Endpoint, conv conversation) *Session {
	s := &Session{MX: ep.MX, IP: ep.IP, Port: ep.Port, ImplicitTLS: ep.Implicit}

	if err := ctx.Err(); err != nil {
		s.NotProbed = fmt.Errorf("%s: not probed: %w", s.Label(), err)
		return s
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultConversationTimeout)
		defer cancel()
	}
	dialer := env.Dialer
	if dialer == nil {
		dialer = &probes.AddressDialer{}
	}
	if p, ok := dialer.(interface{ Permit(netip.Addr) error }); ok {
		if err := p.Permit(ep.IP); err != nil {
			s.NotProbed, s.Denied = fmt.Errorf("%s: not probed: %w", s.Label(), err), true
			return s
		}
	}

	// The server's turn among the exporter's connections to it: waiting
	// for it is the exporter holding back, and a deadline that comes
	// first leaves the server undecided, never failed.
	waited, release, err := pol.Acquire(ctx, ep.IP)
	s.Waited = waited
	if err != nil {
		s.NotProbed = fmt.Errorf("%s: not probed: %w (the exporter holding back, not the server failing)", s.Label(), err)
		return s
	}
	defer release()
	start := time.Now()
	defer func() { s.Duration = time.Since(start) }()
	if waited >= time.Millisecond {
		s.Transcript = append(s.Transcript, fmt.Sprintf("-- waited %s for the exporter's smtp_politeness bounds on connections to %s", waited.Round(time.Millisecond), ep.IP))
	}

	s.Stage = StageConnect
	conn, err := dialer.DialContext(ctx, "tcp", s.Addr())
	if err != nil {
		switch {
		case localFailure(err):
			s.NotProbed = fmt.Errorf("%s: not probed: %w", s.Label(), err)
		case flight.ContextOver(ctx):
			s.Err, s.Aborted = fmt.Errorf("no answer before the probe's deadline: %w", err), true
		default:
			s.Err = err
		}
		return s
	}
	s.Connected = true
	defer conn.Close()
	dl, _ := ctx.Deadline()
	_ = conn.SetDeadline(dl)
	// A deadline alone does not stop a read when ctx is cancelled early.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	d := &dialogue{conn: conn, br: bufio.NewReader(conn), s: s, deadline: dl, ctx: ctx, start: start}
	if conv.ehloName == "" {
		conv.ehloName = localLiteral(conn)
	}
	s.EHLOName = conv.ehloName
	d.run(ctx, env, conv)
	return s
}

// localFailure tells failures on this side (no route from this machine to
// the address's network, no address of the family to send from) from the
// server's refusal or silence, which smtp.reachable reports.
func localFailure(err error) bool {
	return errors.Is(err, syscall.ENETUNREACH) || errors.Is(err, syscall.EADDRNOTAVAIL) || errors.Is(err, syscall.EAFNOSUPPORT)
}

// localLiteral is the address literal of the connection's local address.
func localLiteral(conn net.Conn) string {
	if a, ok := conn.LocalAddr().(*net.TCPAddr); ok {
		if ip, ok := netip.AddrFromSlice(a.IP); ok {
			return addressLiteral(ip)
		}
	}
	return "[127.0.0.1]"
}

// run goes through the stages; it returns at the first stage that cannot
// be passed, leaving s.Stage and s.Err set.
func (d *dialogue) run(ctx context.Context, env *probes.Env, conv conversation) {
	s := d.s
	if s.ImplicitTLS {
		if !d.handshake(ctx, env) {
			return
		}
	}
	s.Stage = StageGreeting
	greeting, err := d.read()
	if err != nil {
		s.Err = err
		return
	}
	s.Greeting = greeting
	if len(greeting.Lines) > 0 {
		s.GreetingName = hostName(firstWord(greeting.Lines[0]))
	}
	if greeting.Code != 220 {
		// RFC 5321 §3.1: a 554 greeting means no service; the client
		// should wait for its QUIT to be answered.
		d.quit()
		return
	}

	s.Stage = StageEHLO
	ehlo, ok := d.hello(conv.ehloName)
	if !ok {
		return
	}
	s.EHLO = ehlo
	if !ehlo.Positive() {
		d.quit()
		return
	}
	name, exts := parseEHLO(ehlo)
	s.HELOName = hostName(name)
	s.Extensions = exts
	if !s.ImplicitTLS {
		_, s.STARTTLSOffered = FindExtension(exts, "STARTTLS")
	}

	if s.STARTTLSOffered {
		s.Stage = StageSTARTTLS
		reply, err := d.cmd("STARTTLS")
		if err != nil {
			s.Err = err
			return
		}
		s.STARTTLSReply = reply
		if reply.Code == 220 {
			// RFC 3207 §4.2 (and the STARTTLS command-injection attacks
			// it enabled): nothing may follow the 220 in plain text.
			if n := d.br.Buffered(); n > 0 {
				s.Stage = StageHandshake
				s.TLS = &TLSInfo{ServerName: s.MX,
					Err: fmt.Errorf("the server sent %d bytes in plain text after its 220 to STARTTLS (response injection, RFC 3207 §4.2)", n)}
				return
			}
			if !d.handshake(ctx, env) {
				return
			}
			s.Stage = StageEHLOTLS
			reply, err := d.cmd("EHLO " + conv.ehloName)
			if err != nil {
				s.Err = err
				return
			}
			if !reply.Positive() {
				s.Err = fmt.Errorf("EHLO after STARTTLS refused: %s", reply)
				d.quit()
				return
			}
			_, s.ExtensionsTLS = parseEHLO(reply)
			if s.ExtensionsTLS == nil {
				s.ExtensionsTLS = []Extension{}
			}
		}
	}

	if len(conv.rcpts) > 0 && !d.rcpts(conv.rcpts) {
		return
	}
	d.quit()
}

// hello sends EHLO, and HELO when EHLO is refused as unknown; false means
// the conversation broke (s.Err set).
func (d *dialogue) hello(name string) (*Reply, bool) {
	s := d.s
	reply, err := d.cmd("EHLO " + name)
	if err != nil {
		s.Err = err
		return nil, false
	}
	// RFC 5321 §4.1.4: a server that does not know EHLO answers 500/502
	// (some 5xx else); the client then falls back to HELO.
	if reply.Permanent() {
		helo, err := d.cmd("HELO " + name)
		if err != nil {
			s.Err = err
			return nil, false
		}
		s.UsedHELO = true
		return helo, true
	}
	return reply, true
}

// rcpts runs MAIL FROM:<> and the RCPT TO checks, then RSET. It returns
// false when the conversation broke.
func (d *dialogue) rcpts(checks []RcptResult) bool {
	s := d.s
	s.Stage = StageMail
	// The null reverse-path (RFC 5321 §4.5.5): no bounce can result, and
	// every server must accept it.
	mail, err := d.cmd("MAIL FROM:<>")
	if err != nil {
		s.Err = err
		return false
	}
	s.MailFrom = mail
	s.Rcpts = append([]RcptResult(nil), checks...)
	if mail.Positive() {
		s.Stage = StageRcpt
		for i := range s.Rcpts {
			r := &s.Rcpts[i]
			r.Reply, r.Err = d.cmd("RCPT TO:<" + r.Address + ">")
			if r.Err != nil {
				s.Err = r.Err
				return false
			}
		}
	}
	s.Stage = StageRSET
	if _, err := d.cmd("RSET"); err != nil {
		s.Err = err
		return false
	}
	return true
}

// handshake runs TLS over the connection, permissively (see tlsConfig), and
// records what it showed. False means the conversation cannot go on.
func (d *dialogue) handshake(ctx context.Context, env *probes.Env) bool {
	s := d.s
	s.Stage = StageHandshake
	info := &TLSInfo{ServerName: s.MX}
	s.TLS = info
	var chain []*x509.Certificate
	tc := tls.Client(d.conn, tlsConfig(s.MX, func(certs []*x509.Certificate) { chain = certs }))
	err := tc.HandshakeContext(ctx)
	info.Chain = chain
	if err != nil {
		err = d.explain(err)
		info.Err = err
		d.transcript("-- TLS handshake failed: " + err.Error())
		judgeChain(info, env, s.MX)
		return false
	}
	st := tc.ConnectionState()
	info.Version, info.CipherSuite = st.Version, st.CipherSuite
	if len(info.Chain) == 0 {
		info.Chain = st.PeerCertificates
	}
	judgeChain(info, env, s.MX)
	d.transcript(fmt.Sprintf("-- TLS: %s, %s", info.VersionName(), info.CipherName()))
	d.conn = tc
	d.br = bufio.NewReader(tc)
	return true
}

// explain says that an I/O error came from the deadline, when it did: the
// connection is closed or its deadline passes then, and the bare error
// ("use of closed network connection") would not say why.
func (d *dialogue) explain(err error) error {
	if d.ctx.Err() != nil || !d.deadline.IsZero() && !time.Now().Before(d.deadline) {
		if !d.quitting {
			d.s.Aborted = true
		}
		return fmt.Errorf("deadline passed after %s: %w", time.Since(d.start).Round(time.Millisecond), err)
	}
	return err
}

// quit ends politely, within a short bound of its own.
func (d *dialogue) quit() {
	d.quitting = true
	if soon := time.Now().Add(quitTimeout); soon.Before(d.deadline) {
		_ = d.conn.SetDeadline(soon)
	}
	_, _ = d.cmd("QUIT")
}

// cmd sends one command line and reads the reply.
func (d *dialogue) cmd(line string) (*Reply, error) {
	d.transcript("C: " + line)
	if _, err := io.WriteString(d.conn, line+"\r\n"); err != nil {
		return nil, fmt.Errorf("sending %s: %w", verb(line), d.explain(err))
	}
	reply, err := d.read()
	if err != nil {
		return nil, fmt.Errorf("reply to %s: %w", verb(line), err)
	}
	return reply, nil
}

// read reads one reply and adds it to the transcript.
func (d *dialogue) read() (*Reply, error) {
	reply, err := readReply(d.br)
	if err != nil {
		err = d.explain(err)
		d.transcript("-- " + err.Error())
		return nil, err
	}
	for i, l := range reply.Lines {
		sep := "-"
		if i == len(reply.Lines)-1 {
			sep = " "
		}
		d.transcript(fmt.Sprintf("S: %d%s%s", reply.Code, sep, l))
	}
	return reply, nil
}

func (d *dialogue) transcript(line string) {
	s := d.s
	switch {
	case len(s.Transcript) < maxTranscript:
		q := strconv.Quote(line)
		s.Transcript = append(s.Transcript, probes.Clip(q[1:len(q)-1], 200))
	case len(s.Transcript) == maxTranscript:
		s.Transcript = append(s.Transcript, "… (transcript cut)")
	}
}

// verb is the command word of a line, for error messages.
func verb(line string) string {
	switch {
	case len(line) >= 9 && line[:9] == "MAIL FROM":
		return "MAIL FROM"
	case len(line) >= 7 && line[:7] == "RCPT TO":
		return "RCPT TO"
	}
	return firstWord(line)
}

// tlsConfig handshakes with anything Go can still speak, and judges
// afterwards: TLS 1.0 and 1.1, RSA key exchange, 3DES and RC4 are all
// offered, so an old server shows up as tls.version failing rather than
// as a failed handshake. Verification is done by judgeChain, so that
// every fact survives a failed verification; seen receives the chain as
// soon as the server's Certificate message arrives.
func tlsConfig(serverName string, seen func([]*x509.Certificate)) *tls.Config {
	return &tls.Config{
		ServerName:         serverName,
		InsecureSkipVerify: true, //nolint:gosec // verified by judgeChain, see above
		MinVersion:         tls.VersionTLS10,
		MaxVersion:         tls.VersionTLS13,
		CipherSuites:       allCipherSuites,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			var chain []*x509.Certificate
			for i, der := range raw {
				if i >= maxChain {
					break
				}
				// A copy: der is a slice of the whole Certificate
				// message (up to 256 KiB), which a kept certificate
				// would otherwise keep alive for the memory's interval.
				c, err := x509.ParseCertificate(bytes.Clone(der))
				if err != nil {
					return fmt.Errorf("certificate %d of the chain does not parse: %w", i, err)
				}
				chain = append(chain, c)
			}
			seen(chain)
			return nil
		},
	}
}

// maxChain bounds the certificates kept from a served chain.
const maxChain = 10

// allCipherSuites lists every suite Go implements. Listing them explicitly
// (rather than leaving the default) is what makes Go offer the RSA
// key-exchange and 3DES suites its defaults leave out (GODEBUG tlsrsakex,
// tls3des); TLS 1.3 suites are not configurable and always offered.
var allCipherSuites = func() []uint16 {
	var ids []uint16
	for _, c := range tls.CipherSuites() {
		ids = append(ids, c.ID)
	}
	for _, c := range tls.InsecureCipherSuites() {
		ids = append(ids, c.ID)
	}
	return ids
}()

// InsecureSuites are the suites crypto/tls lists as insecure.
var InsecureSuites = func() map[uint16]bool {
	m := map[uint16]bool{}
	for _, c := range tls.InsecureCipherSuites() {
		m[c.ID] = true
	}
	return m
}()
