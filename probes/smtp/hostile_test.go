package smtp_test

import (
	"context"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/smtp"
	"github.com/deliverability-exporter/deliverability_exporter/probes/smtpsession"
)

// TestHostileServers: whatever a server does, the probe ends by its
// deadline and leaves no goroutine of its own behind. A server that breaks
// the protocol fails its check; one that is still sending (or silent) when
// the probe's own deadline comes leaves the check undecided (issue 17
// finding 7: the exporter's deadline is not the server's failure, and
// senders wait minutes for a greeting). The wall-clock bound is loose on
// purpose (deadline plus two seconds): it catches a probe that waits for
// the server, not a slow machine.
func TestHostileServers(t *testing.T) {
	const deadline = 1500 * time.Millisecond
	const cut = "the probe's deadline ended the conversation at the greeting stage: deadline passed after"
	for _, tc := range []struct {
		name    string
		hostile testbed.Hostile
		check   string
		status  probes.Status
		reason  string
	}{
		{"never greets", testbed.NeverGreet, "smtp.reachable", probes.StatusError, cut},
		{"greets one byte per second", testbed.DripGreeting, "smtp.reachable", probes.StatusError, cut},
		{"greeting without CRLF", testbed.NoCRLF, "smtp.reachable", probes.StatusError, cut},
		{"10 MB greeting", testbed.HugeGreeting, "smtp.reachable", probes.StatusFail, "reply line longer than 4096 bytes"},
		{"endless multi-line greeting", testbed.EndlessReply, "smtp.reachable", probes.StatusFail, "reply longer than 100 lines"},
		{"garbage instead of a ServerHello", testbed.GarbageTLS, "smtp.starttls", probes.StatusFail, "tls: first record does not look like a TLS handshake"},
		{"plain text after the 220 to STARTTLS", testbed.InjectAfterSTARTTLS, "smtp.starttls", probes.StatusFail, "in plain text after its 220 to STARTTLS (response injection"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, []string{"127.0.0.4"}, func(ip string) testbed.SMTPBehaviour {
				b := good(t, "mx.one.test")
				b.Hostile = tc.hostile
				return b
			})
			ignore := []goleak.Option{
				goleak.IgnoreCurrent(),
				goleak.IgnoreAnyFunction("github.com/deliverability-exporter/deliverability_exporter/internal/testbed.(*SMTPServer).serve"),
			}
			start := time.Now()
			res := w.run("one.test", w.cfg(), deadline)
			if elapsed := time.Since(start); elapsed > deadline+2*time.Second {
				t.Errorf("Run took %s after a %s deadline", elapsed, deadline)
			}
			c, _ := res.Check(tc.check)
			if c.Status != tc.status || !strings.Contains(c.Reason, tc.reason) {
				t.Errorf("%s = %s (%s), want %s with %q", tc.check, c.Status, c.Reason, tc.status, tc.reason)
			}
			if tc.status == probes.StatusError {
				// Undecided: no check judged the server on what it did
				// not get to say, and no sample says it is down.
				for _, c := range res.Checks() {
					// dane.tlsa is about the DNS, not the conversation.
					if c.Status == probes.StatusFail && c.ID != "dane.tlsa" {
						t.Errorf("%s failed on a conversation the probe's deadline cut short: %s", c.ID, c.Reason)
					}
				}
				if _, ok := findMeasurement(res, "mail_smtp_up", "mx.one.test", "127.0.0.4"); ok {
					t.Error("mail_smtp_up recorded for a conversation the probe's deadline cut short")
				}
			} else if res.Failed() {
				t.Errorf("the probe reports itself broken: %q", res.Errors())
			}
			goleak.VerifyNone(t, ignore...)
		})
	}
}

func TestImplicitTLSGarbage(t *testing.T) {
	w := newWorld(t, []string{"127.0.0.4"}, func(ip string) testbed.SMTPBehaviour { return good(t, "mx.one.test") })
	smtps := testbed.StartSMTP(t, "127.0.0.4:0", testbed.SMTPBehaviour{ImplicitTLS: true, Hostile: testbed.GarbageTLS})
	cfg := w.cfg()
	cfg.ImplicitTLS, cfg.Session.ImplicitTLSPort = true, smtps.Port()
	res := w.run("one.test", cfg, 5*time.Second)
	c, _ := res.Check("smtps.implicit_tls")
	if c.Status != probes.StatusFail || !strings.Contains(c.Reason, "first record does not look like a TLS handshake") {
		t.Errorf("smtps.implicit_tls = %s (%s)", c.Status, c.Reason)
	}
	if v, ok := findMeasurement(res, "mail_smtps_up", "mx.one.test", "127.0.0.4"); !ok || v != 0 {
		t.Errorf("mail_smtps_up = %v, %v; want 0", v, ok)
	}
}

func TestDeadlineBeforeConnecting(t *testing.T) {
	// The probe's own time is up before it could connect: that is the
	// probe's failure to finish, not the server's.
	w := newWorld(t, []string{"127.0.0.4"}, func(ip string) testbed.SMTPBehaviour { return good(t, "mx.one.test") })
	tgt, _ := probes.ParseTarget("one.test")
	ctx, cancel := context.WithCancel(context.Background())
	cfg := w.cfg()
	// Resolve the hosts first (shared through the memo), then end the
	// context.
	if _, err := sessionsFor(context.Background(), &probes.Request{Target: tgt}, w.newEnv(), smtp.Config{Session: smtpsession.Config{MaxParallel: 1, Port: 1}}); err != nil {
		t.Fatal(err)
	}
	cancel()
	res := smtp.New(cfg).Run(ctx, &probes.Request{Target: tgt}, withSessions(w.env, cfg))
	for _, c := range res.Checks() {
		if c.Status == probes.StatusFail || c.Status == probes.StatusPass {
			t.Errorf("%s = %s (%s) without a conversation", c.ID, c.Status, c.Reason)
		}
	}
	if !res.Failed() {
		t.Error("no probe error recorded")
	}
	if n := w.servers["127.0.0.4"].Connections(); n != 0 {
		t.Errorf("%d connections after the deadline", n)
	}
}

// errDialer fails every connection with err.
type errDialer struct{ err error }

func (d errDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return nil, &net.OpError{Op: "dial", Net: network, Err: d.err}
}

func TestNoRouteFromHere(t *testing.T) {
	// This machine has no route to the address (an IPv6 MX seen from an
	// IPv4-only exporter): "we don't know", not "the server is down".
	w := newWorld(t, nil, nil)
	w.port = 25 // nothing listens: the dialer answers
	w.env.Dialer = errDialer{err: os.NewSyscallError("connect", syscall.ENETUNREACH)}
	res := w.run("smtp.test", w.cfg(), 5*time.Second)
	expect{
		checks: statuses(undecided, daneSkipped...),
		errors: "mx1.smtp.test [::1]:25: not probed: dial tcp: connect: network is unreachable",
	}.assert(t, res)

	// A refusal is the server's answer.
	w.env = w.newEnv()
	w.env.Dialer = errDialer{err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	res = w.run("smtp.test", w.cfg(), 5*time.Second)
	if c, _ := res.Check("smtp.reachable"); c.Status != probes.StatusFail {
		t.Errorf("smtp.reachable = %s (%s) after a refusal", c.Status, c.Reason)
	}
}

// blackHoleDialer never completes a connection: it waits for the caller's
// deadline, as a dial to an address that drops SYNs does, and fails as
// net.Dialer fails then.
type blackHoleDialer struct{}

func (blackHoleDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	<-ctx.Done()
	return nil, &net.OpError{Op: "dial", Net: network, Err: ctx.Err()}
}

// Issue 17 finding 7: a connection the exporter's own deadline cut short
// was reported as "does not accept connections", a failure of the domain.
// It is undecided: the server may answer a sender that waits longer.
func TestConnectCutByTheDeadline(t *testing.T) {
	w := newWorld(t, nil, nil)
	w.port = 25
	w.env.Dialer = blackHoleDialer{}
	res := w.run("one.test", w.cfg(), time.Second)
	c, _ := res.Check("smtp.reachable")
	if c.Status != probes.StatusError || !strings.Contains(c.Reason, "the probe's deadline ended the conversation at the connect stage") {
		t.Errorf("smtp.reachable = %s (%s), want undecided at the connect stage", c.Status, c.Reason)
	}
	for _, c := range res.Checks() {
		if c.Status == probes.StatusFail && c.ID != "dane.tlsa" {
			t.Errorf("%s failed on a connection the probe's deadline cut short: %s", c.ID, c.Reason)
		}
	}
	if _, ok := findMeasurement(res, "mail_smtp_up", "mx.one.test", "127.0.0.4"); ok {
		t.Error("mail_smtp_up recorded for a connection the probe's deadline cut short")
	}
}
