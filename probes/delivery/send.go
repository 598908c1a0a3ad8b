package delivery

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/smtpsession"
)

// maxSubmissionAddrs bounds the addresses of the submission host tried.
const maxSubmissionAddrs = 4

// submission is what submitting one message found. Nothing in it holds a
// credential: the transcript records "AUTH PLAIN ****".
type submission struct {
	// Server is the configured host:port, Addr the address connected to.
	Server, Addr string
	// TLSVersion and TLSCipher describe the session (0: plain text).
	TLSVersion, TLSCipher uint16
	// AuthMechanism is the mechanism that authenticated ("" without AUTH).
	AuthMechanism string
	// Reply is the final reply to the message (DATA's end).
	Reply *smtpsession.Reply
	// Stage is where it ended: connect, greeting, ehlo, starttls, auth,
	// mail, rcpt, data, done.
	Stage string
	// Err is why the submission failed (nil: accepted).
	Err error
	// Transcript is the commands and replies, credentials masked.
	Transcript []string
	// At is when the message was accepted; Took is how long the
	// submission took from the first connection attempt to the reply to
	// the message.
	At   time.Time
	Took time.Duration
}

// submitter talks to the submission server for one message.
type submitter struct {
	ctx  context.Context
	env  *probes.Env
	cfg  Config
	out  *submission
	conn net.Conn
	br   *bufio.Reader
}

// submit sends the message from -> to through the configured submission
// server. It returns when the server accepted or refused the message, or
// ctx ended.
func submit(ctx context.Context, env *probes.Env, cfg Config, from string, to []string, message []byte) *submission {
	s := &submitter{ctx: ctx, env: env, cfg: cfg, out: &submission{Server: cfg.Submission, Stage: "connect"}}
	began := env.Clock()
	s.out.Err = s.run(from, to, message)
	s.out.Took = env.Clock().Sub(began)
	if s.conn != nil {
		s.conn.Close()
	}
	return s.out
}

func (s *submitter) run(from string, to []string, message []byte) error {
	host, port, _ := net.SplitHostPort(s.cfg.Submission)
	addrs, err := resolveHost(s.ctx, s.env, host)
	if err != nil {
		return err
	}
	var dialErrs []string
	for _, ip := range addrs {
		addr := net.JoinHostPort(ip.String(), port)
		c, err := s.env.Dialer.DialContext(s.ctx, "tcp", addr)
		if err != nil {
			dialErrs = append(dialErrs, err.Error())
			continue
		}
		s.conn, s.out.Addr = c, addr
		break
	}
	if s.conn == nil {
		return fmt.Errorf("cannot connect to %s: %s", s.cfg.Submission, strings.Join(dialErrs, "; "))
	}
	if dl, ok := s.ctx.Deadline(); ok {
		_ = s.conn.SetDeadline(dl)
	}
	raw := s.conn
	stop := context.AfterFunc(s.ctx, func() { raw.Close() })
	defer stop()
	s.br = bufio.NewReader(s.conn)

	mode := s.cfg.tlsMode()
	if mode == TLSImplicit {
		s.out.Stage = "tls"
		if err := s.handshake(serverName(s.cfg)); err != nil {
			return err
		}
	}
	s.out.Stage = "greeting"
	if r, err := s.read(); err != nil {
		return s.explain(err)
	} else if r.Code != 220 {
		return fmt.Errorf("%s greeted with %s", s.out.Addr, r)
	}
	exts, err := s.ehlo()
	if err != nil {
		return err
	}
	if mode == TLSStartTLS {
		s.out.Stage = "starttls"
		if _, ok := smtpsession.FindExtension(exts, "STARTTLS"); !ok {
			return fmt.Errorf("%s does not offer STARTTLS, and tls is %s", s.out.Addr, TLSStartTLS)
		}
		if r, err := s.cmd("STARTTLS", "STARTTLS"); err != nil {
			return err
		} else if r.Code != 220 {
			return fmt.Errorf("%s answered STARTTLS with %s", s.out.Addr, r)
		}
		if err := s.handshake(serverName(s.cfg)); err != nil {
			return err
		}
		if exts, err = s.ehlo(); err != nil {
			return err
		}
	}
	if s.cfg.Username != "" {
		s.out.Stage = "auth"
		if err := s.auth(exts); err != nil {
			return err
		}
	}
	s.out.Stage = "mail"
	if err := s.expect("MAIL FROM:<"+from+">", "", 250); err != nil {
		return err
	}
	s.out.Stage = "rcpt"
	for _, rcpt := range to {
		if err := s.expect("RCPT TO:<"+rcpt+">", "", 250, 251); err != nil {
			return err
		}
	}
	s.out.Stage = "data"
	if err := s.expect("DATA", "", 354); err != nil {
		return err
	}
	if _, err := s.conn.Write(dotStuff(message)); err != nil {
		return s.explain(err)
	}
	s.transcript(fmt.Sprintf("C: (%d bytes of message)", len(message)))
	r, err := s.read()
	if err != nil {
		return s.explain(err)
	}
	s.out.Reply = r
	if r.Code != 250 {
		return fmt.Errorf("%s refused the message: %s", s.out.Addr, r)
	}
	s.out.Stage = "done"
	s.out.At = s.env.Clock()
	_, _ = s.cmd("QUIT", "QUIT")
	return nil
}

// resolveHost returns a host's addresses (the submission server's, an IMAP
// server's), through the module's resolvers (an IP literal is itself).
func resolveHost(ctx context.Context, env *probes.Env, host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip.Unmap()}, nil
	}
	var out []netip.Addr
	var errs []string
	for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA} {
		ans, err := env.DNS.Lookup(ctx, dns.Fqdn(host), qt)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		for _, ip := range ans.Addrs() {
			out = append(out, ip.Unmap())
		}
	}
	if len(out) == 0 {
		if len(errs) > 0 {
			return nil, &lookupError{fmt.Errorf("addresses of %s: %s", host, strings.Join(errs, "; "))}
		}
		return nil, fmt.Errorf("%s has no addresses", host)
	}
	if len(out) > maxSubmissionAddrs {
		out = out[:maxSubmissionAddrs]
	}
	return out, nil
}

// lookupError marks a failure that says nothing about the domain (the
// resolver did not answer): the round trip is undecided, not failed.
type lookupError struct{ err error }

func (e *lookupError) Error() string { return e.err.Error() }
func (e *lookupError) Unwrap() error { return e.err }

func (s *submitter) ehlo() ([]smtpsession.Extension, error) {
	s.out.Stage = "ehlo"
	r, err := s.cmd("EHLO "+s.cfg.HELO, "")
	if err != nil {
		return nil, err
	}
	if r.Code != 250 {
		return nil, fmt.Errorf("%s answered EHLO %s with %s", s.out.Addr, s.cfg.HELO, r)
	}
	_, exts := smtpsession.ParseEHLO(r)
	return exts, nil
}

func (s *submitter) handshake(serverName string) error {
	tc := tls.Client(s.conn, &tls.Config{
		ServerName:         serverName,
		RootCAs:            s.env.RootCAs,
		InsecureSkipVerify: s.cfg.InsecureSkipVerify, //nolint:gosec // the operator's choice, documented
		MinVersion:         tls.VersionTLS12,
	})
	if err := tc.HandshakeContext(s.ctx); err != nil {
		return fmt.Errorf("TLS with %s (%s): %w", s.out.Addr, serverName, s.explain(err))
	}
	st := tc.ConnectionState()
	s.out.TLSVersion, s.out.TLSCipher = st.Version, st.CipherSuite
	s.transcript(fmt.Sprintf("-- TLS: %s, %s", tls.VersionName(st.Version), smtpsession.CipherSuiteName(st.CipherSuite)))
	s.conn = tc
	s.br = bufio.NewReader(tc)
	return nil
}

// auth authenticates with PLAIN (preferred) or LOGIN, whichever the server
// offers. The password is read now, so a rotated file applies without a
// reload, and it is never written anywhere but the connection.
func (s *submitter) auth(exts []smtpsession.Extension) error {
	ext, ok := smtpsession.FindExtension(exts, "AUTH")
	if !ok {
		return fmt.Errorf("%s does not offer AUTH after EHLO; a submission server offers it once TLS is up", s.out.Addr)
	}
	offered := map[string]bool{}
	for _, p := range ext.Params {
		offered[strings.ToUpper(p)] = true
	}
	password, err := readPassword(s.cfg.PasswordFile)
	if err != nil {
		return fmt.Errorf("password_file: %w", err)
	}
	user := s.cfg.Username
	switch {
	case offered["PLAIN"]:
		s.out.AuthMechanism = "PLAIN"
		resp := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + password))
		r, err := s.cmd("AUTH PLAIN "+resp, "AUTH PLAIN ****")
		if err != nil {
			return err
		}
		if r.Code != 235 {
			return fmt.Errorf("%s refused AUTH PLAIN: %s", s.out.Addr, r)
		}
	case offered["LOGIN"]:
		s.out.AuthMechanism = "LOGIN"
		steps := []struct{ line, shown string }{
			{"AUTH LOGIN", "AUTH LOGIN"},
			{base64.StdEncoding.EncodeToString([]byte(user)), "****"},
			{base64.StdEncoding.EncodeToString([]byte(password)), "****"},
		}
		for i, st := range steps {
			r, err := s.cmd(st.line, st.shown)
			if err != nil {
				return err
			}
			want := 334
			if i == len(steps)-1 {
				want = 235
			}
			if r.Code != want {
				return fmt.Errorf("%s refused AUTH LOGIN: %s", s.out.Addr, r)
			}
		}
	default:
		return fmt.Errorf("%s offers AUTH %s, but the probe speaks only PLAIN and LOGIN", s.out.Addr, strings.Join(ext.Params, " "))
	}
	return nil
}

// expect sends line and wants one of the codes.
func (s *submitter) expect(line, shown string, codes ...int) error {
	r, err := s.cmd(line, shown)
	if err != nil {
		return err
	}
	for _, c := range codes {
		if r.Code == c {
			return nil
		}
	}
	return fmt.Errorf("%s answered %s with %s", s.out.Addr, verb(line), r)
}

// cmd sends one command line (shown, when set, is what the transcript
// records instead) and reads the reply.
func (s *submitter) cmd(line, shown string) (*smtpsession.Reply, error) {
	if shown == "" {
		shown = line
	}
	s.transcript("C: " + shown)
	if _, err := s.conn.Write([]byte(line + "\r\n")); err != nil {
		return nil, s.explain(err)
	}
	r, err := s.read()
	if err != nil {
		return nil, s.explain(err)
	}
	return r, nil
}

func (s *submitter) read() (*smtpsession.Reply, error) {
	r, err := smtpsession.ReadReply(s.br)
	if err != nil {
		return nil, err
	}
	s.transcript("S: " + r.String())
	return r, nil
}

func (s *submitter) transcript(line string) {
	if len(s.out.Transcript) < 40 {
		s.out.Transcript = append(s.out.Transcript, probes.Clip(line, 200))
	}
}

// explain says that an I/O error came from the deadline, when it did.
func (s *submitter) explain(err error) error {
	if s.ctx.Err() != nil {
		return fmt.Errorf("the probe's deadline passed during %s: %w", s.out.Stage, err)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("timed out during %s: %w", s.out.Stage, err)
	}
	return err
}

// verb is the command word of a line, for messages.
func verb(line string) string {
	if i := strings.IndexAny(line, " :"); i > 0 {
		return line[:i]
	}
	return line
}

// dotStuff prepares a message for DATA: CRLF line ends, a leading "." of a
// line doubled (RFC 5321 §4.5.2), and the terminating "." line.
func dotStuff(msg []byte) []byte {
	msg = bytes.ReplaceAll(msg, []byte("\r\n"), []byte("\n"))
	var b bytes.Buffer
	for _, line := range bytes.Split(bytes.TrimSuffix(msg, []byte("\n")), []byte("\n")) {
		if len(line) > 0 && line[0] == '.' {
			b.WriteByte('.')
		}
		b.Write(line)
		b.WriteString("\r\n")
	}
	b.WriteString(".\r\n")
	return b.Bytes()
}
