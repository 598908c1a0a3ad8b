package testbed

import (
	"bytes"
	"crypto"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// RelayBehaviour is what a test outgoing relay does: it takes submissions
// (STARTTLS or implicit TLS, AUTH PLAIN and LOGIN), signs them with a DKIM
// key like OpenDKIM does, and delivers them to the next hop from a chosen
// local address, the way a domain's outgoing relay does.
type RelayBehaviour struct {
	// Hostname is the greeting's name and the EHLO name it delivers with.
	Hostname string
	// Certificate serves STARTTLS (or implicit TLS) to submitters.
	Certificate *tls.Certificate
	// ImplicitTLS serves TLS from the first byte (port 465).
	ImplicitTLS bool
	// Users are the AUTH accounts (user: password); none means no AUTH is
	// offered or needed (a relay that authorises by address).
	Users map[string]string
	// LoginOnly offers AUTH LOGIN alone.
	LoginOnly bool
	// RefuseRcpt answers RCPT TO with 550.
	RefuseRcpt bool

	// DKIMKey signs with d=DKIMDomain, s=DKIMSelector (relaxed/relaxed,
	// the From, To, Subject, Date, Message-ID and token fields); nil
	// delivers unsigned.
	DKIMKey      crypto.Signer
	DKIMDomain   string
	DKIMSelector string
	// Received, when set, is added as a Received field before signing,
	// the way a relay records the submission ("from laptop
	// ([192.168.1.20]) by ...").
	Received string

	// NextHop is the host:port the relay delivers to; Routes, when set,
	// send the recipients of a domain elsewhere (domain: host:port).
	NextHop string
	Routes  map[string]string
	// LocalAddr is the address the relay delivers from ("127.0.0.25").
	LocalAddr string
	// PlainText delivers without STARTTLS even when the next hop offers it.
	PlainText bool
	// Hold accepts messages and never delivers them.
	Hold bool
	// Gate, when set, holds each delivery until it is closed (a queue
	// the test releases); a relay closed first drops what it holds.
	Gate <-chan struct{}
}

// Relay is a running test relay.
type Relay struct {
	Addr   string
	server *smtp.Server
	ln     net.Listener

	mu      sync.Mutex
	b       RelayBehaviour
	errs    []error
	pending sync.WaitGroup
	served  chan struct{}
	closing chan struct{}
}

// StartRelay starts a relay on addr ("127.0.0.1:0") for the test's lifetime.
func StartRelay(tb testing.TB, addr string, b RelayBehaviour) *Relay {
	tb.Helper()
	r := &Relay{b: b, closing: make(chan struct{})}
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &relaySession{r: r}, nil
	}))
	s.Domain = b.Hostname
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	s.MaxMessageBytes = 1 << 20
	s.ErrorLog = discardLog{}
	if b.Certificate != nil {
		s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*b.Certificate}, MinVersion: tls.VersionTLS12}
	}
	var ln net.Listener
	var err error
	if b.ImplicitTLS {
		ln, err = tls.Listen("tcp", addr, s.TLSConfig)
	} else {
		ln, err = net.Listen("tcp", addr)
	}
	if err != nil {
		tb.Fatalf("relay: %v", err)
	}
	r.Addr, r.server, r.ln = ln.Addr().String(), s, ln
	r.served = make(chan struct{})
	go func() {
		defer close(r.served)
		_ = s.Serve(ln)
	}()
	tb.Cleanup(r.Close)
	return r
}

type discardLog struct{}

func (discardLog) Printf(string, ...any) {}
func (discardLog) Println(...any)        {}

// SetBehaviour changes what the relay does from the next session on.
func (r *Relay) SetBehaviour(b RelayBehaviour) {
	r.mu.Lock()
	r.b = b
	r.mu.Unlock()
}

func (r *Relay) behaviour() RelayBehaviour {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.b
}

// Port is the relay's port.
func (r *Relay) Port() int { return r.ln.Addr().(*net.TCPAddr).Port }

// DeliveryErrors returns why deliveries failed, if any did.
func (r *Relay) DeliveryErrors() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]error(nil), r.errs...)
}

// Close stops the relay and waits for deliveries under way.
func (r *Relay) Close() {
	// Closing the listener too ends Serve even when it had not yet
	// registered the listener with the server when Close came.
	close(r.closing)
	_ = r.server.Close()
	_ = r.ln.Close()
	<-r.served
	r.pending.Wait()
}

type relaySession struct {
	r      *Relay
	authed bool
	from   string
	rcpts  []string
}

func (s *relaySession) AuthMechanisms() []string {
	b := s.r.behaviour()
	switch {
	case len(b.Users) == 0:
		return nil
	case b.LoginOnly:
		return []string{"LOGIN"}
	}
	return []string{"PLAIN", "LOGIN"}
}

func (s *relaySession) Auth(mech string) (sasl.Server, error) {
	users := s.r.behaviour().Users
	check := func(user, pass string) error {
		if want, ok := users[user]; !ok || want != pass {
			return errors.New("invalid credentials")
		}
		s.authed = true
		return nil
	}
	switch mech {
	case "PLAIN":
		return sasl.NewPlainServer(func(_, user, pass string) error { return check(user, pass) }), nil
	case "LOGIN":
		return &loginServer{check: check}, nil
	}
	return nil, errors.New("unsupported mechanism")
}

func (s *relaySession) Reset()        { s.from, s.rcpts = "", nil }
func (s *relaySession) Logout() error { return nil }

func (s *relaySession) Mail(from string, _ *smtp.MailOptions) error {
	if len(s.r.behaviour().Users) > 0 && !s.authed {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	s.from = from
	return nil
}

func (s *relaySession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.r.behaviour().RefuseRcpt {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Relay access denied"}
	}
	s.rcpts = append(s.rcpts, to)
	return nil
}

func (s *relaySession) Data(body io.Reader) error {
	b := s.r.behaviour()
	data, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	if b.Received != "" {
		data = append([]byte("Received: "+b.Received+"\r\n"), data...)
	}
	if b.DKIMKey != nil {
		var signed bytes.Buffer
		err := dkim.Sign(&signed, bytes.NewReader(data), &dkim.SignOptions{
			Domain: b.DKIMDomain, Selector: b.DKIMSelector, Signer: b.DKIMKey,
			HeaderCanonicalization: dkim.CanonicalizationRelaxed,
			BodyCanonicalization:   dkim.CanonicalizationRelaxed,
			HeaderKeys:             []string{"From", "To", "Subject", "Date", "Message-ID", "X-Deliverability-Probe"},
		})
		if err != nil {
			return fmt.Errorf("signing: %w", err)
		}
		data = signed.Bytes()
	}
	if b.Hold {
		return nil
	}
	from, rcpts := s.from, append([]string(nil), s.rcpts...)
	s.r.pending.Add(1)
	go func() {
		defer s.r.pending.Done()
		if b.Gate != nil {
			select {
			case <-b.Gate:
			case <-s.r.closing:
				return
			}
		}
		byHop := map[string][]string{}
		var hops []string
		for _, rcpt := range rcpts {
			hop := b.NextHop
			if i := strings.LastIndexByte(rcpt, '@'); i >= 0 {
				if h, ok := b.Routes[strings.ToLower(rcpt[i+1:])]; ok {
					hop = h
				}
			}
			if _, seen := byHop[hop]; !seen {
				hops = append(hops, hop)
			}
			byHop[hop] = append(byHop[hop], rcpt)
		}
		for _, hop := range hops {
			if err := deliver(b, hop, from, byHop[hop], data); err != nil {
				s.r.mu.Lock()
				s.r.errs = append(s.r.errs, err)
				s.r.mu.Unlock()
			}
		}
	}()
	return nil
}

// deliver hands the message to the next hop from the local address, with
// opportunistic STARTTLS unless PlainText.
func deliver(b RelayBehaviour, hop, from string, rcpts []string, data []byte) error {
	d := net.Dialer{Timeout: 5 * time.Second}
	if b.LocalAddr != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(b.LocalAddr)}
	}
	conn, err := d.Dial("tcp", hop)
	if err != nil {
		return fmt.Errorf("relay to %s: %w", hop, err)
	}
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	var c *smtp.Client
	if b.PlainText {
		c = smtp.NewClient(conn)
	} else {
		// Opportunistic TLS, as MTAs deliver: the certificate is not
		// verified. go-smtp's client says EHLO localhost before STARTTLS;
		// the name after it is the relay's.
		c, err = smtp.NewClientStartTLS(conn, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // opportunistic, as MTAs
		if err != nil {
			conn.Close()
			return fmt.Errorf("relay to %s: STARTTLS: %w", hop, err)
		}
	}
	defer c.Close()
	if err := c.Hello(b.Hostname); err != nil {
		return fmt.Errorf("relay to %s: EHLO: %w", hop, err)
	}
	if err := c.SendMail(from, rcpts, bytes.NewReader(data)); err != nil {
		return fmt.Errorf("relay to %s: %w", hop, err)
	}
	return c.Quit()
}

// loginServer is the server side of AUTH LOGIN (draft-murchison-sasl-login),
// which go-sasl has only as a client.
type loginServer struct {
	check      func(user, pass string) error
	step       int
	user, pass string
}

func (l *loginServer) Next(response []byte) (challenge []byte, done bool, err error) {
	switch l.step {
	case 0:
		l.step++
		if response != nil {
			l.user = string(response)
			l.step++
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 1:
		l.user = string(response)
		l.step++
		return []byte("Password:"), false, nil
	default:
		l.pass = string(response)
		return nil, true, l.check(strings.TrimSpace(l.user), l.pass)
	}
}
