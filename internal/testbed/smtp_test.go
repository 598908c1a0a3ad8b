package testbed

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

// smtpClient is a minimal client for testing the server: it sends lines and
// reads replies (multi-line replies joined by "|").
type smtpClient struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func dialSMTP(t *testing.T, addr string) *smtpClient {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	return &smtpClient{t: t, conn: conn, r: bufio.NewReader(conn)}
}

func (c *smtpClient) reply() string {
	c.t.Helper()
	var lines []string
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			c.t.Fatalf("reading reply: %v (so far %q)", err, lines)
		}
		line = strings.TrimRight(line, "\r\n")
		lines = append(lines, line)
		if len(line) < 4 || line[3] == ' ' {
			return strings.Join(lines, "|")
		}
	}
}

func (c *smtpClient) cmd(line string) string {
	c.t.Helper()
	if _, err := io.WriteString(c.conn, line+"\r\n"); err != nil {
		c.t.Fatal(err)
	}
	return c.reply()
}

func (c *smtpClient) startTLS(cfg *tls.Config) error {
	tc := tls.Client(c.conn, cfg)
	if err := tc.Handshake(); err != nil {
		return err
	}
	c.conn, c.r = tc, bufio.NewReader(tc)
	return nil
}

func TestSMTPServerConversation(t *testing.T) {
	ca, err := NewCA("SMTP Test Root")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Issue(CertOptions{DNSNames: []string{"mx1.example.test"}})
	if err != nil {
		t.Fatal(err)
	}
	s := StartSMTP(t, "", SMTPBehaviour{
		Hostname:     "mx1.example.test",
		Certificate:  &cert,
		AuthAfterTLS: true,
		Recipients:   map[string]string{"postmaster@example.test": "250 2.1.5 Ok"},
	})
	c := dialSMTP(t, s.Addr)
	if got := c.reply(); got != "220 mx1.example.test ESMTP testbed" {
		t.Errorf("greeting %q", got)
	}
	if got := c.cmd("EHLO client.test"); got != "250-mx1.example.test Hello client.test|250-PIPELINING|250-SIZE 10240000|250-8BITMIME|250 STARTTLS" {
		t.Errorf("EHLO %q", got)
	}
	if got := c.cmd("MAIL FROM:<>"); got != "250 2.1.0 Ok" {
		t.Errorf("MAIL %q", got)
	}
	if got := c.cmd("RCPT TO:<Postmaster@Example.Test>"); got != "250 2.1.5 Ok" {
		t.Errorf("RCPT %q", got)
	}
	if got := c.cmd("RCPT TO:<nobody@example.test>"); !strings.HasPrefix(got, "550 5.1.1 <nobody@example.test>") {
		t.Errorf("RCPT unknown %q", got)
	}
	if got := c.cmd("DATA"); !strings.HasPrefix(got, "554 ") {
		t.Errorf("DATA %q", got)
	}
	if got := c.cmd("STARTTLS"); got != "220 2.0.0 Ready to start TLS" {
		t.Fatalf("STARTTLS %q", got)
	}
	if err := c.startTLS(&tls.Config{RootCAs: ca.Pool, ServerName: "mx1.example.test"}); err != nil {
		t.Fatal(err)
	}
	if got := c.cmd("MAIL FROM:<>"); !strings.HasPrefix(got, "503 ") {
		t.Errorf("MAIL before EHLO after TLS %q", got)
	}
	if got := c.cmd("EHLO client.test"); !strings.HasSuffix(got, "|250-8BITMIME|250 AUTH PLAIN LOGIN") || strings.Contains(got, "STARTTLS") {
		t.Errorf("EHLO after TLS %q", got)
	}
	if got := c.cmd("QUIT"); got != "221 2.0.0 Bye" {
		t.Errorf("QUIT %q", got)
	}
	want := []string{"EHLO client.test", "MAIL FROM:<>", "RCPT TO:<Postmaster@Example.Test>", "RCPT TO:<nobody@example.test>",
		"DATA", "STARTTLS", "MAIL FROM:<>", "EHLO client.test", "QUIT"}
	if got := s.Commands(); !slices.Equal(got, want) {
		t.Errorf("commands %q, want %q", got, want)
	}
	if s.Connections() != 1 || s.Handshakes() != 1 {
		t.Errorf("%d connections, %d handshakes", s.Connections(), s.Handshakes())
	}
}

func TestSMTPServerOptions(t *testing.T) {
	s := StartSMTP(t, "", SMTPBehaviour{
		Greeting:      "220-first\n220 second",
		RefuseEHLO:    true,
		AuthBeforeTLS: true,
		MailReply:     "451 4.3.0 try later",
		STARTTLSReply: "454 4.7.0 no TLS today",
	})
	c := dialSMTP(t, s.Addr)
	if got := c.reply(); got != "220-first|220 second" {
		t.Errorf("greeting %q", got)
	}
	if got := c.cmd("EHLO x.test"); !strings.HasPrefix(got, "502 ") {
		t.Errorf("EHLO %q", got)
	}
	if got := c.cmd("HELO x.test"); got != "250 mx.test" {
		t.Errorf("HELO %q", got)
	}
	if got := c.cmd("STARTTLS"); got != "454 4.7.0 no TLS today" {
		t.Errorf("STARTTLS %q", got)
	}
	if got := c.cmd("MAIL FROM:<>"); got != "451 4.3.0 try later" {
		t.Errorf("MAIL %q", got)
	}
	s.SetBehaviour(SMTPBehaviour{AuthBeforeTLS: true, Extensions: []string{}})
	c2 := dialSMTP(t, s.Addr)
	c2.reply()
	if got := c2.cmd("EHLO x.test"); got != "250-mx.test Hello x.test|250 AUTH PLAIN LOGIN" {
		t.Errorf("EHLO with AUTH and no STARTTLS %q", got)
	}
}

func TestSMTPServerImplicitTLS(t *testing.T) {
	ca, err := NewCA("SMTP Test Root")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Issue(CertOptions{DNSNames: []string{"mx.example.test"}})
	if err != nil {
		t.Fatal(err)
	}
	s := StartSMTP(t, "", SMTPBehaviour{Hostname: "mx.example.test", Certificate: &cert, ImplicitTLS: true})
	conn, err := tls.Dial("tcp", s.Addr, &tls.Config{RootCAs: ca.Pool, ServerName: "mx.example.test"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := &smtpClient{t: t, conn: conn, r: bufio.NewReader(conn)}
	if got := c.reply(); got != "220 mx.example.test ESMTP testbed" {
		t.Errorf("greeting %q", got)
	}
	if got := c.cmd("EHLO x.test"); strings.Contains(got, "STARTTLS") {
		t.Errorf("implicit TLS offers STARTTLS: %q", got)
	}
}

func TestSMTPServerHostile(t *testing.T) {
	t.Run("never greets", func(t *testing.T) {
		s := StartSMTP(t, "", SMTPBehaviour{Hostile: NeverGreet})
		c := dialSMTP(t, s.Addr)
		_ = c.conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if n, err := c.conn.Read(make([]byte, 1)); n != 0 || err == nil {
			t.Errorf("read %d bytes, %v", n, err)
		}
	})
	t.Run("drips", func(t *testing.T) {
		s := StartSMTP(t, "", SMTPBehaviour{Hostile: DripGreeting})
		c := dialSMTP(t, s.Addr)
		buf := make([]byte, 10)
		n, err := c.conn.Read(buf)
		if err != nil || n != 1 || buf[0] != '2' {
			t.Errorf("first read %q, %v; want one byte", buf[:n], err)
		}
	})
	t.Run("10 MB greeting", func(t *testing.T) {
		s := StartSMTP(t, "", SMTPBehaviour{Hostile: HugeGreeting})
		c := dialSMTP(t, s.Addr)
		line, err := c.r.ReadString('\n')
		if err != nil || len(line) < 10<<20 || !strings.HasPrefix(line, "220 xxx") {
			t.Errorf("greeting of %d bytes, %v", len(line), err)
		}
	})
	t.Run("no CRLF", func(t *testing.T) {
		s := StartSMTP(t, "", SMTPBehaviour{Hostile: NoCRLF})
		c := dialSMTP(t, s.Addr)
		_ = c.conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		got, err := io.ReadAll(c.conn)
		if err == nil || strings.Contains(string(got), "\n") || !strings.HasPrefix(string(got), "220 mx.test") {
			t.Errorf("read %q, %v", got, err)
		}
	})
	t.Run("endless reply", func(t *testing.T) {
		s := StartSMTP(t, "", SMTPBehaviour{Hostile: EndlessReply})
		c := dialSMTP(t, s.Addr)
		for i := 0; i < 1000; i++ {
			line, err := c.r.ReadString('\n')
			if err != nil || !strings.HasPrefix(line, "220-") {
				t.Fatalf("line %d: %q, %v", i, line, err)
			}
		}
	})
	t.Run("garbage TLS", func(t *testing.T) {
		s := StartSMTP(t, "", SMTPBehaviour{Hostile: GarbageTLS})
		c := dialSMTP(t, s.Addr)
		c.reply()
		if got := c.cmd("EHLO x.test"); !strings.HasSuffix(got, "250 STARTTLS") {
			t.Errorf("EHLO %q", got)
		}
		c.cmd("STARTTLS")
		if err := c.startTLS(&tls.Config{InsecureSkipVerify: true}); err == nil || !strings.Contains(err.Error(), "does not look like a TLS handshake") {
			t.Errorf("handshake error %v", err)
		}
	})
	t.Run("injection after STARTTLS", func(t *testing.T) {
		s := StartSMTP(t, "", SMTPBehaviour{Hostile: InjectAfterSTARTTLS})
		c := dialSMTP(t, s.Addr)
		c.reply()
		c.cmd("EHLO x.test")
		if got := c.cmd("STARTTLS"); got != "220 2.0.0 Ready to start TLS" {
			t.Errorf("STARTTLS %q", got)
		}
		if got := c.reply(); got != "250 injected" {
			t.Errorf("after STARTTLS %q", got)
		}
	})
}

func TestSMTPGroupAndLockstep(t *testing.T) {
	gate := NewSMTPLockstep(100 * time.Millisecond)
	ips := []string{"127.0.0.2", "127.0.0.3", "::1"}
	servers := StartSMTPGroup(t, ips, func(ip string) SMTPBehaviour {
		return SMTPBehaviour{Hostname: "mx-" + strings.ReplaceAll(ip, ":", "") + ".test", Lockstep: gate}
	})
	port := servers[0].Port()
	for i, s := range servers {
		if s.Port() != port {
			t.Errorf("server %d on port %d, want %d", i, s.Port(), port)
		}
	}
	// All three connected before any greets: one round.
	var clients []*smtpClient
	for _, s := range servers {
		clients = append(clients, dialSMTP(t, s.Addr))
	}
	for i, c := range clients {
		if got := c.reply(); !strings.HasPrefix(got, "220 mx-") {
			t.Errorf("client %d: %q", i, got)
		}
	}
	// Then one more: a second round.
	c := dialSMTP(t, servers[1].Addr)
	c.reply()
	if got := gate.Rounds(); got != 2 {
		t.Errorf("%d rounds, want 2", got)
	}
}

func TestSMTPServerCloseEndsConnections(t *testing.T) {
	s, err := NewSMTPServer("127.0.0.1:0", SMTPBehaviour{Hostile: NeverGreet})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for s.Connections() == 0 {
		time.Sleep(time.Millisecond)
	}
	s.Close() // returns only when every goroutine has ended
	s.Close() // and may be called twice
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Read(make([]byte, 1)); err == nil {
		t.Error("connection still open after Close")
	}
}
