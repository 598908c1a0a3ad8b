package delivery_test

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-smtp"

	"github.com/deliverability-exporter/deliverability_exporter/internal/probetest"
	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/delivery"
)

// provider is a large receiver in miniature: an MX (go-smtp) that files
// what it receives for its user into INBOX or Junk with its own
// Authentication-Results field, and an IMAP server (go-imap's in-memory
// server, over implicit TLS) where the probe looks.
type provider struct {
	mxAddr, imapAddr string
	user             *imapmemserver.User

	mu       sync.Mutex
	junk     bool
	drop     bool
	authres  string
	received int
}

const providerPassword = "imap-app-password"

func startProvider(t *testing.T, ca *testbed.CA) *provider {
	t.Helper()
	p := &provider{user: imapmemserver.NewUser("probe@gmail.test", providerPassword),
		authres: "mx.gmail.test; spf=pass smtp.mailfrom=example.test; dkim=pass header.d=example.test; dmarc=pass header.from=example.test"}
	for _, name := range []string{"INBOX", "Junk"} {
		if err := p.user.Create(name, nil); err != nil {
			t.Fatal(err)
		}
	}
	mem := imapmemserver.New()
	mem.AddUser(p.user)
	cert, err := ca.Issue(testbed.CertOptions{DNSNames: []string{"imap.gmail.test"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:   imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}},
		Logger: discardLogger{},
	})
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	p.imapAddr = ln.Addr().String()
	imapDone := make(chan struct{})
	go func() { defer close(imapDone); _ = srv.Serve(ln) }()

	mx := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &providerSession{p: p}, nil }))
	mx.Domain = "mx.gmail.test"
	mxCert, err := ca.Issue(testbed.CertOptions{DNSNames: []string{"mx.gmail.test"}})
	if err != nil {
		t.Fatal(err)
	}
	mx.TLSConfig = &tls.Config{Certificates: []tls.Certificate{mxCert}, MinVersion: tls.VersionTLS12}
	mx.ErrorLog = discardLogger{}
	mxLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.mxAddr = mxLn.Addr().String()
	mxDone := make(chan struct{})
	go func() { defer close(mxDone); _ = mx.Serve(mxLn) }()
	t.Cleanup(func() {
		srv.Close()
		ln.Close()
		mx.Close()
		mxLn.Close()
		<-imapDone
		<-mxDone
	})
	return p
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}
func (discardLogger) Println(...any)        {}

// count is how many messages a folder of the provider's user holds.
func (p *provider) count(t *testing.T, folder string) uint32 {
	t.Helper()
	st, err := p.user.Status(folder, &imap.StatusOptions{NumMessages: true})
	if err != nil {
		t.Fatal(err)
	}
	return *st.NumMessages
}

type providerSession struct{ p *provider }

func (s *providerSession) Reset()                                    {}
func (s *providerSession) Logout() error                             { return nil }
func (s *providerSession) Mail(string, *smtp.MailOptions) error      { return nil }
func (s *providerSession) Rcpt(to string, _ *smtp.RcptOptions) error { return nil }

func (s *providerSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.p.mu.Lock()
	folder, ar, drop := "INBOX", s.p.authres, s.p.drop
	if s.p.junk {
		folder = "Junk"
	}
	s.p.received++
	s.p.mu.Unlock()
	if drop {
		return nil
	}
	msg := append([]byte("Authentication-Results: "+ar+"\r\n"), data...)
	_, err = s.p.user.Append(folder, literal{bytes.NewReader(msg)}, &imap.AppendOptions{Time: time.Now()})
	return err
}

type literal struct{ *bytes.Reader }

func (l literal) Size() int64 { return int64(l.Len()) }

// imapWorld is the delivery world with the provider: the relay sends the
// gmail.test recipient to the provider's MX.
func imapWorld(t *testing.T) (*world, *provider, delivery.Config) {
	t.Helper()
	w := newWorld(t)
	p := startProvider(t, w.ca)
	if err := w.dns.Add("imap.gmail.test. 300 IN A 127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	b := w.relayB
	b.Routes = map[string]string{"gmail.test": p.mxAddr}
	relay := testbed.StartRelay(t, "127.0.0.1:0", b)
	cfg := w.config()
	cfg.Submission = fmt.Sprintf("smtp.example.test:%d", relay.Port())
	pw := filepath.Join(t.TempDir(), "imap-password")
	if err := os.WriteFile(pw, []byte(providerPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(p.imapAddr)
	cfg.Mailboxes = []delivery.MailboxConfig{{
		Name: "gmail", Address: "probe@gmail.test", IMAP: "imap.gmail.test:" + port,
		Username: "probe@gmail.test", PasswordFile: pw, Inbox: "INBOX", SpamFolders: []string{"Spam", "Junk"},
	}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return w, p, cfg
}

// waitReceived waits until the provider's MX has taken n messages (the
// relay delivers after it has answered the probe).
func (p *provider) waitReceived(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		got := p.received
		p.mu.Unlock()
		if got >= n {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the provider's MX did not receive %d messages", n)
}

func TestIMAPMailbox(t *testing.T) {
	t.Run("inbox", func(t *testing.T) {
		w, p, cfg := imapWorld(t)
		pr := w.probe(cfg, time.Hour)
		// The relay may deliver to the provider after the sending scrape
		// looked in the mailbox; the next scrape finds it there.
		w.run(pr, w.env())
		p.waitReceived(t, 1)
		res := w.run(pr, w.env())
		probetest.AssertChecks(t, res, want("delivery.inbox", probes.StatusPass),
			map[string]string{"delivery.inbox": "the message arrived in the inbox at gmail"}, nil,
			map[string]string{"delivery.inbox": "gmail: INBOX; Authentication-Results: mx.gmail.test; spf=pass"})
		probetest.AssertMetrics(t, res, []probetest.Metric{
			probetest.M("mail_delivery_placement_info", 1, "gmail", "inbox"),
			probetest.M("mail_delivery_auth_result", 1, "gmail", "spf", "pass"),
			probetest.M("mail_delivery_auth_result", 1, "gmail", "dkim", "pass"),
			probetest.M("mail_delivery_auth_result", 1, "gmail", "dmarc", "pass"),
			probetest.M("mail_delivery_in_flight", 0),
		}, nil)
		if _, ok := probetest.FindMeasurement(res, "mail_delivery_duration_seconds", "gmail"); !ok {
			t.Error("no delivery time for gmail")
		}
		if n := p.count(t, "INBOX"); n != 0 {
			t.Errorf("the inbox still holds %d messages: read messages are deleted", n)
		}
	})
	t.Run("spam", func(t *testing.T) {
		w, p, cfg := imapWorld(t)
		p.junk = true
		p.authres = "mx.gmail.test; spf=pass smtp.mailfrom=example.test; dkim=fail header.d=example.test; dmarc=fail header.from=example.test"
		pr := w.probe(cfg, time.Hour)
		w.run(pr, w.env())
		p.waitReceived(t, 1)
		res := w.run(pr, w.env())
		probetest.AssertChecks(t, res, want("delivery.inbox", probes.StatusFail),
			map[string]string{"delivery.inbox": "the message landed in spam at gmail (Junk)"},
			map[string]string{"delivery.inbox": "read the receiver's Authentication-Results"}, nil)
		probetest.AssertMetrics(t, res, []probetest.Metric{
			probetest.M("mail_delivery_placement_info", 1, "gmail", "spam"),
			probetest.M("mail_delivery_auth_result", 1, "gmail", "dkim", "fail"),
			probetest.M("mail_delivery_auth_result", 1, "gmail", "dmarc", "fail"),
		}, nil)
		if n := p.count(t, "Junk"); n != 0 {
			t.Errorf("Junk still holds %d messages", n)
		}
	})
	t.Run("never arrives", func(t *testing.T) {
		w, p, cfg := imapWorld(t)
		p.mu.Lock()
		p.drop = true // accepted, never filed
		p.mu.Unlock()
		pr := w.probe(cfg, time.Hour)
		res := w.run(pr, w.env())
		probetest.AssertMetrics(t, res, []probetest.Metric{probetest.M("mail_delivery_in_flight", 1)}, nil)
		p.waitReceived(t, 1)
		res = w.run(pr, w.env())
		probetest.AssertMetrics(t, res, []probetest.Metric{probetest.M("mail_delivery_in_flight", 1)}, nil)
		// Past max_wait the round trip completes without it.
		w.offset.Add(int64(cfg.MaxWait + time.Second))
		res = w.run(pr, w.env())
		probetest.AssertChecks(t, res, want("delivery.inbox", probes.StatusFail),
			map[string]string{"delivery.inbox": "the message did not arrive within max_wait (30s) at gmail"}, nil,
			map[string]string{"delivery.inbox": "gmail: not found in INBOX, Spam, Junk"})
		probetest.AssertMetrics(t, res, []probetest.Metric{probetest.M("mail_delivery_placement_info", 1, "gmail", "missing")}, nil)
	})
	t.Run("login refused", func(t *testing.T) {
		w, _, cfg := imapWorld(t)
		pw := filepath.Join(t.TempDir(), "wrong")
		if err := os.WriteFile(pw, []byte("wrong-password"), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg.Mailboxes[0].PasswordFile = pw
		pr := w.probe(cfg, time.Hour)
		w.run(pr, w.env())
		w.offset.Add(int64(cfg.MaxWait + time.Second))
		res := w.run(pr, w.env())
		probetest.AssertChecks(t, res, want("delivery.inbox", probes.StatusError), nil, nil, nil)
		probetest.AssertErrors(t, res, "IMAP login to imap.gmail.test")
		for _, e := range res.Errors() {
			if strings.Contains(e, "wrong-password") {
				t.Errorf("an error shows the password: %s", e)
			}
		}
	})
}
