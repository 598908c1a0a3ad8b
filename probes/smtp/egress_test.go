package smtp_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/smtp"
	"github.com/deliverability-exporter/deliverability_exporter/probes/smtpsession"
)

// refusing fails every connection as a firewall that rejects outgoing
// port 25 does.
func refusing() probes.Dialer {
	return errDialer{err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
}

// runKept probes target with cfg in env, with the conversations supplied
// as a module compiled with kept supplies them: what the process learns of
// its way out to the SMTP port stays in kept across requests.
func (w *world) runKept(target string, cfg smtp.Config, env *probes.Env, kept *probes.Kept, timeout time.Duration) *probes.Result {
	w.t.Helper()
	if err := cfg.Validate(); err != nil {
		w.t.Fatal(err)
	}
	tgt, err := probes.ParseTarget(target)
	if err != nil {
		w.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	res := smtp.New(cfg).Run(ctx, &probes.Request{Target: tgt}, withKeptSessions(env, cfg, kept))
	checkInvariants(w.t, res)
	return res
}

// assertEgressUndecided checks that the connection failures of res are
// undecided as the exporter's, and that no check failed on them.
func assertEgressUndecided(t *testing.T, res *probes.Result) {
	t.Helper()
	c, _ := res.Check("smtp.reachable")
	if c.Status != probes.StatusError || !strings.Contains(c.Reason, "cannot reach the SMTP port of any server") {
		t.Errorf("smtp.reachable = %s (%s), want undecided: the exporter's way out is blocked", c.Status, c.Reason)
	}
	for _, c := range res.Checks() {
		// dane.tlsa judges DNS alone (the world publishes no TLSA).
		if c.Status == probes.StatusFail && c.ID != "dane.tlsa" {
			t.Errorf("%s failed while port 25 is blocked: %s", c.ID, c.Reason)
		}
	}
	if !res.Failed() {
		t.Error("no probe error: mail_probe_error would say the probe finished")
	}
}

func egressState(kept *probes.Kept, targets ...netip.AddrPort) smtpsession.EgressState {
	state, _ := smtpsession.SharedEgress(kept).Status(time.Now(), targets)
	return state
}

func TestEgressCheckTellsADownServerFromABlockedPort(t *testing.T) {
	// The check's address is a server that answers on the SMTP port;
	// down.test's MX host (127.0.0.9) refuses connections.
	w := newWorld(t, []string{"127.0.0.2"}, func(string) testbed.SMTPBehaviour { return good(t, "mx1.smtp.test") })
	cfg := w.cfg()
	check := fmt.Sprintf("127.0.0.2:%d", w.port)
	cfg.Session.EgressCheck.Addresses = []string{check}
	target := netip.MustParseAddrPort(check)

	// The way out works: the refusal is the server's.
	kept := probes.NewKept()
	res := w.runKept("down.test", cfg, w.newEnv(), kept, 5*time.Second)
	if c, _ := res.Check("smtp.reachable"); c.Status != probes.StatusFail || !strings.Contains(c.Reason, "does not accept connections") {
		t.Errorf("smtp.reachable = %s (%s), want failed: the server is down and port 25 is open", c.Status, c.Reason)
	}
	if got := egressState(kept, target); got != smtpsession.EgressUp {
		t.Errorf("egress %s, want up", got)
	}
	if n := w.servers["127.0.0.2"].Connections(); n != 1 {
		t.Errorf("the egress check's server saw %d connections, want 1", n)
	}
	if cmds := w.servers["127.0.0.2"].Commands(); len(cmds) != 0 {
		t.Errorf("the egress check said %q; it only connects", cmds)
	}

	// Blocked: this network refuses every connection to port 25, the
	// check's too. The refusal says nothing about the server.
	kept = probes.NewKept()
	blocked := w.newEnv()
	blocked.Dialer = refusing()
	res = w.runKept("down.test", cfg, blocked, kept, 5*time.Second)
	assertEgressUndecided(t, res)
	if c, _ := res.Check("smtp.reachable"); !strings.Contains(c.Reason, "egress_check: none of its addresses answered: "+check) {
		t.Errorf("smtp.reachable's reason %q does not say what the egress check saw", c.Reason)
	}
	if got := egressState(kept, target); got != smtpsession.EgressDown {
		t.Errorf("egress %s, want down", got)
	}

	// One check a minute: the next request judges by the same result.
	res = w.runKept("one.test", cfg, blocked, kept, 5*time.Second)
	assertEgressUndecided(t, res)
}

func TestEgressCheckSeesABlackHole(t *testing.T) {
	// A network that drops outgoing SYNs: a conversation's connection
	// ends only at the probe's deadline, and the egress check, which runs
	// beside the conversations under its own shorter bound, has failed by
	// then.
	w := newWorld(t, []string{"127.0.0.2"}, func(string) testbed.SMTPBehaviour { return good(t, "mx1.smtp.test") })
	cfg := w.cfg()
	cfg.Session.EgressCheck.Addresses = []string{fmt.Sprintf("127.0.0.2:%d", w.port)}
	env := w.newEnv()
	env.Dialer = blackHoleDialer{}
	kept := probes.NewKept()
	res := w.runKept("one.test", cfg, env, kept, 5*time.Second)
	assertEgressUndecided(t, res)
	if c, _ := res.Check("smtp.reachable"); !strings.Contains(c.Reason, "context deadline exceeded") {
		t.Errorf("smtp.reachable's reason %q does not quote the check's timeout", c.Reason)
	}
}

func TestEgressSeenFromTheConversations(t *testing.T) {
	// Without an egress_check, the conversations of the whole process
	// are the evidence: connections to servers in three networks failed
	// and none opened.
	w := newWorld(t, []string{"127.0.0.4"}, func(string) testbed.SMTPBehaviour { return good(t, "mx.one.test") })
	cfg := w.cfg()
	kept := probes.NewKept()
	blocked := func() *probes.Env {
		env := w.newEnv()
		env.Dialer = refusing()
		return env
	}
	// The first request sees the failures come in; the last of them is
	// judged with all three known.
	w.runKept("spread.test", cfg, blocked(), kept, 5*time.Second)
	if got := egressState(kept); got != smtpsession.EgressDown {
		t.Fatalf("egress %s after failures in three networks, want down", got)
	}
	res := w.runKept("spread.test", cfg, blocked(), kept, 5*time.Second)
	assertEgressUndecided(t, res)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sessions, err := smtpsession.Sessions(ctx, request(t, "spread.test"), withKeptSessions(blocked(), cfg, kept))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sessions {
		if !errors.Is(s.NotProbed, smtpsession.ErrEgressDown) {
			t.Errorf("%s: NotProbed %v, want ErrEgressDown", s.Label(), s.NotProbed)
		}
	}

	// The way out opens again: a connection that opens is the evidence,
	// and a server that refuses is down once more.
	res = w.runKept("one.test", cfg, w.newEnv(), kept, 5*time.Second)
	if c, _ := res.Check("smtp.reachable"); c.Status != probes.StatusPass {
		t.Fatalf("smtp.reachable = %s (%s)", c.Status, c.Reason)
	}
	if got := egressState(kept); got != smtpsession.EgressUp {
		t.Errorf("egress %s after a connection opened, want up", got)
	}
	res = w.runKept("down.test", cfg, w.newEnv(), kept, 5*time.Second)
	if c, _ := res.Check("smtp.reachable"); c.Status != probes.StatusFail {
		t.Errorf("smtp.reachable = %s (%s), want failed: port 25 is open again", c.Status, c.Reason)
	}
}

// TestEgressIsTheMXPort: the way out is judged for the port MX hosts are
// probed on (the module's smtp port, 25 in production). A host target on
// another port (a submission port, a test relay) says nothing of it: its
// connection opening does not show port 25 open, and its connection
// failing is its server's, whatever port 25 does.
func TestEgressIsTheMXPort(t *testing.T) {
	w := newWorld(t, []string{"127.0.0.4"}, func(string) testbed.SMTPBehaviour { return good(t, "mx.one.test") })
	other := testbed.StartSMTP(t, "127.0.0.4:0", good(t, "mx.one.test"))
	cfg := w.cfg()
	kept := probes.NewKept()
	blocked := w.newEnv()
	blocked.Dialer = refusing()
	w.runKept("spread.test", cfg, blocked, kept, 5*time.Second)
	if got := egressState(kept); got != smtpsession.EgressDown {
		t.Fatalf("egress %s after failures in three networks, want down", got)
	}

	res := w.runKept(fmt.Sprintf("mx.one.test:%d", other.Port()), cfg, w.newEnv(), kept, 5*time.Second)
	if c, _ := res.Check("smtp.reachable"); c.Status != probes.StatusPass {
		t.Fatalf("another port: smtp.reachable = %s (%s)", c.Status, c.Reason)
	}
	if got := egressState(kept); got != smtpsession.EgressDown {
		t.Errorf("egress %s after a connection to another port opened, want still down", got)
	}

	env := w.newEnv()
	env.Dialer = refusing()
	res = w.runKept(fmt.Sprintf("mx.one.test:%d", other.Port()), cfg, env, kept, 5*time.Second)
	if c, _ := res.Check("smtp.reachable"); c.Status != probes.StatusFail {
		t.Errorf("another port refused while port %d is blocked: smtp.reachable = %s (%s), want the server's failure", cfg.Session.Port, c.Status, c.Reason)
	}
}

func TestEgressFewFailuresAreTheServers(t *testing.T) {
	// One domain whose servers all refuse (two networks: 127.0.0.0/24 and
	// ::1) is too little to blame the exporter's network: its failures
	// are the servers'.
	w := newWorld(t, nil, nil)
	w.port = 25
	cfg := w.cfg()
	kept := probes.NewKept()
	for range 3 {
		env := w.newEnv()
		env.Dialer = refusing()
		res := w.runKept("smtp.test", cfg, env, kept, 5*time.Second)
		if c, _ := res.Check("smtp.reachable"); c.Status != probes.StatusFail {
			t.Fatalf("smtp.reachable = %s (%s), want failed", c.Status, c.Reason)
		}
	}
	if got := egressState(kept); got != smtpsession.EgressUnknown {
		t.Errorf("egress %s, want unknown", got)
	}
}

func TestEgressCheckConfig(t *testing.T) {
	for _, tc := range []struct {
		addresses []string
		err       string
	}{
		{addresses: []string{"192.0.2.25", "[2001:db8::25]:2525", "198.51.100.25:25"}},
		{addresses: []string{"relay.example.com"}, err: "not an IP address"},
		{addresses: []string{"192.0.2.25:0"}, err: "port from 1 to 65535"},
		{addresses: []string{"192.0.2.25", "192.0.2.25:25"}, err: "listed twice"},
		{addresses: []string{"fe80::1%eth0"}, err: "not an IP address"},
	} {
		cfg := smtp.DefaultConfig()
		cfg.Session.EgressCheck.Addresses = tc.addresses
		err := cfg.Validate()
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%q: Validate() = %v, want %q", tc.addresses, err, tc.err)
		}
	}
	c := smtpsession.EgressCheck{Addresses: []string{"192.0.2.25", "[2001:db8::25]:2525"}}
	if got := fmt.Sprint(c.Targets(2525)); got != "[192.0.2.25:2525 [2001:db8::25]:2525]" {
		t.Errorf("Targets(2525) = %s", got)
	}
}

// withKeptSessions is withSessions for a module compiled with kept.
func withKeptSessions(env *probes.Env, cfg smtp.Config, kept *probes.Kept) *probes.Env {
	e := *env
	e.Facts = env.Facts.WithProviders(smtp.Registration.Provides(&cfg, probes.Setup{Module: "mail", Kept: kept}))
	return &e
}
