package receiver_test

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"go.uber.org/goleak"

	"github.com/deliverability-exporter/deliverability_exporter/internal/receiver"
	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func start(t *testing.T, cfg receiver.Config) (*receiver.Receiver, string) {
	t.Helper()
	r := receiver.New(cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.Serve(ln) }()
	t.Cleanup(func() {
		r.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return r, ln.Addr().String()
}

func message(token string) string {
	return "From: p@example.test\r\nTo: probe@receiver.test\r\nSubject: probe\r\n" +
		receiver.TokenHeader + ": " + token + "\r\n\r\nbody\r\n"
}

// send delivers one message the way a relay does, STARTTLS when tlsOn.
func send(t *testing.T, addr, rcpt, msg string, tlsOn bool) error {
	t.Helper()
	var c *smtp.Client
	var err error
	if tlsOn {
		c, err = smtp.DialStartTLS(addr, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // test
	} else {
		c, err = smtp.Dial(addr)
	}
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("relay.example.test"); err != nil {
		return err
	}
	return c.SendMail("p@example.test", []string{rcpt}, strings.NewReader(msg))
}

func smtpCode(err error) int {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

func TestAcceptsOnlyExpectedMessages(t *testing.T) {
	ca, err := testbed.NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Issue(testbed.CertOptions{DNSNames: []string{"mx.receiver.test"}})
	if err != nil {
		t.Fatal(err)
	}
	r, addr := start(t, receiver.Config{Hostname: "mx.receiver.test",
		TLS: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}})
	until := time.Now().Add(time.Minute)
	if err := r.Expect("tok1", "Probe@Receiver.test", until); err != nil {
		t.Fatal(err)
	}
	if err := r.Expect("tok2", "other@receiver.test", until); err != nil {
		t.Fatal(err)
	}
	notify := r.Notify("tok1")

	// A recipient no probe expects.
	if err := send(t, addr, "postmaster@receiver.test", message("tok1"), true); smtpCode(err) != 550 {
		t.Errorf("unknown recipient: %v, want 550", err)
	}
	// No token, an unknown token, and another recipient's token.
	for _, msg := range []string{"Subject: hi\r\n\r\nbody\r\n", message("guess"), message("tok2")} {
		if err := send(t, addr, "probe@receiver.test", msg, true); smtpCode(err) != 550 {
			t.Errorf("message %q: %v, want 550", msg[:20], err)
		}
	}
	if _, ok := r.Arrived("tok1"); ok {
		t.Fatal("tok1 arrived before it was sent")
	}
	// The probe's message, then the same again.
	if err := send(t, addr, "probe@receiver.test", message("tok1"), true); err != nil {
		t.Fatalf("probe message: %v", err)
	}
	select {
	case <-notify:
	default:
		t.Error("Notify's channel is not closed after arrival")
	}
	m, ok := r.Arrived("tok1")
	if !ok {
		t.Fatal("tok1 did not arrive")
	}
	if m.HELO != "relay.example.test" || m.MailFrom != "p@example.test" || m.Rcpt != "probe@receiver.test" ||
		m.TLSVersion < tls.VersionTLS12 || m.TLSCipher == 0 || !m.Remote.Addr().IsLoopback() || !strings.Contains(string(m.Data), "tok1") {
		t.Errorf("arrived: %+v", m)
	}
	if err := send(t, addr, "probe@receiver.test", message("tok1"), true); smtpCode(err) != 550 {
		t.Errorf("the second message for tok1: %v, want 550 (no recipient waits any more)", err)
	}
	// In plain text the TLS fields stay empty.
	if err := send(t, addr, "other@receiver.test", message("tok2"), false); err != nil {
		t.Fatal(err)
	}
	if m, _ := r.Arrived("tok2"); m == nil || m.TLSVersion != 0 {
		t.Errorf("plain-text arrival: %+v", m)
	}
	r.Forget("tok1")
	if _, ok := r.Arrived("tok1"); ok || r.Notify("tok1") != nil {
		t.Error("a forgotten token is still there")
	}
	counts := r.Counts()
	if counts[receiver.Accepted] != 2 || counts[receiver.RefusedRcpt] != 2 || counts[receiver.RefusedToken] != 3 {
		t.Errorf("counts %v", counts)
	}
}

func TestSizeLimit(t *testing.T) {
	r, addr := start(t, receiver.Config{MaxMessageBytes: 1024})
	if err := r.Expect("big", "probe@receiver.test", time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	msg := message("big") + strings.Repeat(strings.Repeat("x", 70)+"\r\n", 40)
	if err := send(t, addr, "probe@receiver.test", msg, false); smtpCode(err) != 552 {
		t.Errorf("oversized message: %v, want 552", err)
	}
	if _, ok := r.Arrived("big"); ok {
		t.Error("the oversized message was stored")
	}
	if n := r.Counts()[receiver.RefusedSize]; n != 1 {
		t.Errorf("refused_size = %d, want 1", n)
	}
}

// greeting reads the first reply line of a fresh session.
func greeting(t *testing.T, addr string) (string, net.Conn) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		c.Close()
		t.Fatalf("greeting: %v", err)
	}
	return line, c
}

func TestConnectionBounds(t *testing.T) {
	t.Run("at once", func(t *testing.T) {
		r, addr := start(t, receiver.Config{MaxConnections: 2})
		var open []net.Conn
		for i := 0; i < 2; i++ {
			line, c := greeting(t, addr)
			if !strings.HasPrefix(line, "220 ") {
				t.Fatalf("session %d: %q", i, line)
			}
			open = append(open, c)
		}
		line, c := greeting(t, addr)
		c.Close()
		if !strings.HasPrefix(line, "421 ") {
			t.Errorf("third session: %q, want 421", line)
		}
		for _, c := range open {
			c.Close()
		}
		if n := r.Counts()[receiver.RefusedBusy]; n != 1 {
			t.Errorf("refused_busy = %d, want 1", n)
		}
	})
	t.Run("per minute", func(t *testing.T) {
		r, addr := start(t, receiver.Config{SessionsPerMinute: 2})
		for i := 0; i < 3; i++ {
			line, c := greeting(t, addr)
			c.Close()
			if want := i < 2; strings.HasPrefix(line, "220 ") != want {
				t.Errorf("session %d: %q (want served: %v)", i, line, want)
			}
		}
		if n := r.Counts()[receiver.RefusedRate]; n != 1 {
			t.Errorf("refused_rate = %d, want 1", n)
		}
	})
	t.Run("lifetime", func(t *testing.T) {
		_, addr := start(t, receiver.Config{SessionLifetime: 200 * time.Millisecond})
		_, c := greeting(t, addr)
		defer c.Close()
		// A client that says nothing is hung up on; the read ends with
		// the server's close, not the test's 5-second deadline.
		buf := make([]byte, 512)
		for {
			if _, err := c.Read(buf); err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					t.Error("the receiver kept a silent session open")
				}
				return
			}
		}
	})
}

func TestPendingBound(t *testing.T) {
	clock := time.Now()
	r := receiver.New(receiver.Config{MaxPending: 2, Now: func() time.Time { return clock }})
	until := clock.Add(time.Minute)
	for _, tok := range []string{"a", "b"} {
		if err := r.Expect(tok, "probe@receiver.test", until); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Expect("c", "probe@receiver.test", until); err == nil {
		t.Error("a third token was accepted beyond MaxPending 2")
	}
	r.Forget("a")
	if err := r.Expect("c", "probe@receiver.test", until); err != nil {
		t.Errorf("after Forget: %v", err)
	}
	// Tokens past their deadline that nothing arrived for make room.
	clock = clock.Add(2 * time.Minute)
	if err := r.Expect("d", "probe@receiver.test", clock.Add(time.Minute)); err != nil {
		t.Errorf("after the others expired: %v", err)
	}
	if r.Notify("b") != nil {
		t.Error("an expired token is still expected")
	}
	if err := r.Expect("", "probe@receiver.test", until); err == nil {
		t.Error("an empty token was accepted")
	}
}

// TestRefusalsPerSession: a session that has been refused ten times gets
// no more transactions (so no more message data read and parsed), while
// a new session is served as before.
func TestRefusalsPerSession(t *testing.T) {
	r, addr := start(t, receiver.Config{})
	if err := r.Expect("tok", "probe@receiver.test", time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("flood.example.test"); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("p@example.test", nil); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 9; i++ {
		if err := c.Rcpt(fmt.Sprintf("guess%d@receiver.test", i), nil); smtpCode(err) != 550 {
			t.Fatalf("recipient %d: %v, want 550", i, err)
		}
	}
	// The tenth refusal is a message without the token.
	if err := c.Rcpt("probe@receiver.test", nil); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, message("guess")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); smtpCode(err) != 550 {
		t.Fatalf("a message without the token: %v, want 550", err)
	}
	for i := 0; i < 2; i++ {
		if err := c.Mail("p@example.test", nil); smtpCode(err) != 421 {
			t.Fatalf("MAIL %d after ten refusals: %v, want 421", i, err)
		}
	}
	if _, ok := r.Arrived("tok"); ok {
		t.Fatal("tok arrived")
	}
	// A new session delivers the probe's message.
	if err := send(t, addr, "probe@receiver.test", message("tok"), false); err != nil {
		t.Fatalf("a new session: %v", err)
	}
	counts := r.Counts()
	if counts[receiver.RefusedSession] != 1 || counts[receiver.RefusedRcpt] != 9 || counts[receiver.RefusedToken] != 1 || counts[receiver.Accepted] != 1 {
		t.Errorf("counts %v", counts)
	}
}
