package smtp_test

import (
	"context"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/deliverability-exporter/deliverability_exporter/internal/probetest"
	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
	"github.com/deliverability-exporter/deliverability_exporter/probes/smtp"
	"github.com/deliverability-exporter/deliverability_exporter/probes/smtpsession"
)

func request(t *testing.T, target string) *probes.Request {
	t.Helper()
	tgt, err := probes.ParseTarget(target)
	if err != nil {
		t.Fatal(err)
	}
	return &probes.Request{Target: tgt}
}

func TestSessionsAreShared(t *testing.T) {
	// The MTA-STS and SPF probes read the conversations the smtp probe had
	// (or have them first): one connection per address per request,
	// whoever asks and however often.
	w := newWorld(t, smtpTestIPs, func(ip string) testbed.SMTPBehaviour { return good(t, hostOf(ip)) })
	cfg := w.cfg()
	req := request(t, "smtp.test")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	sessions, err := sessionsFor(ctx, req, w.env, cfg)
	if err != nil {
		t.Fatal(err)
	}
	again, err := sessionsFor(ctx, req, w.env, cfg)
	if err != nil {
		t.Fatal(err)
	}
	res := smtp.New(cfg).Run(ctx, req, withSessions(w.env, cfg))
	if c, _ := res.Check("smtp.starttls"); c.Status != probes.StatusPass {
		t.Fatalf("smtp.starttls = %s (%s)", c.Status, c.Reason)
	}
	for ip, s := range w.servers {
		if n := s.Connections(); n != 1 {
			t.Errorf("%s: %d connections, want 1", ip, n)
		}
	}
	if len(sessions) != 3 {
		t.Fatalf("%d sessions, want 3", len(sessions))
	}
	for i := range sessions {
		if sessions[i] != again[i] {
			t.Errorf("session %d computed twice", i)
		}
	}

	// In MX order, with what other probes read.
	var got []string
	for _, s := range sessions {
		got = append(got, s.MX+" "+s.IP.String())
		if s.TLS == nil || !s.TLS.Valid || s.TLS.Version == 0 || len(s.TLS.Chain) != 1 {
			t.Errorf("%s: TLS %+v, want a valid handshake", s.Label(), s.TLS)
		}
		if s.EHLOName != "probe.exporter.test" || s.GreetingName != s.MX {
			t.Errorf("%s: EHLO name %q, greeting name %q", s.Label(), s.EHLOName, s.GreetingName)
		}
	}
	if want := []string{"mx1.smtp.test 127.0.0.2", "mx1.smtp.test ::1", "mx2.smtp.test 127.0.0.3"}; !slices.Equal(got, want) {
		t.Errorf("sessions %q, want %q", got, want)
	}
	if names := smtpsession.HELONames(sessions); !slices.Equal(names, []string{"mx1.smtp.test", "mx2.smtp.test"}) {
		t.Errorf("HELONames = %q", names)
	}

	// Another EHLO name is another conversation.
	other := cfg
	other.Session.EHLOName = "other.exporter.test"
	if _, err := sessionsFor(ctx, req, w.env, other); err != nil {
		t.Fatal(err)
	}
	if n := w.servers[mx2v4].Connections(); n != 2 {
		t.Errorf("%d connections after a different EHLO name, want 2", n)
	}
}

func TestSessionValidityForMTASTS(t *testing.T) {
	// TLS.Valid is what an MTA-STS enforce policy needs: trusted, the name
	// matched, within its dates.
	w := newWorld(t, smtpTestIPs, func(ip string) testbed.SMTPBehaviour {
		b := good(t, hostOf(ip))
		switch ip {
		case mx1v6:
			b.Certificate = mint(t, testCA(t), testbed.CertOptions{DNSNames: []string{"www.smtp.test"}})
		case mx2v4:
			b.Certificate = mint(t, testCA(t), testbed.CertOptions{DNSNames: []string{"mx2.smtp.test"},
				NotBefore: time.Now().Add(-30 * time.Minute), NotAfter: time.Now().Add(-time.Minute)})
		}
		return b
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sessions, err := sessionsFor(ctx, request(t, "smtp.test"), w.env, w.cfg())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{mx1v4: true, mx1v6: false, mx2v4: false}
	for _, s := range sessions {
		if s.TLS == nil || s.TLS.Valid != want[s.IP.String()] {
			t.Errorf("%s: Valid = %v (%v), want %v", s.Label(), s.TLS != nil && s.TLS.Valid, s.TLS.ValidErr, want[s.IP.String()])
		}
		if !s.TLS.Trusted {
			t.Errorf("%s: not trusted: %v", s.Label(), s.TLS.TrustErr)
		}
	}
}

func TestAddressesProbedInParallel(t *testing.T) {
	// Four MX hosts, one address each. The servers hold their greetings
	// until no new connection has come for a while, then greet together:
	// a probe that connects to all four at once needs one round, one that
	// connects one by one needs four, whatever the machine's speed.
	for _, tc := range []struct {
		parallel, rounds int
	}{{8, 1}, {2, 2}, {1, 4}} {
		gate := testbed.NewSMTPLockstep(150 * time.Millisecond)
		ips := []string{"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"}
		w := newWorld(t, ips, func(ip string) testbed.SMTPBehaviour {
			b := good(t, map[string]string{"127.0.0.2": "a.four.test", "127.0.0.3": "b.four.test", "127.0.0.4": "c.four.test", "127.0.0.5": "d.four.test"}[ip])
			b.Lockstep = gate
			return b
		})
		cfg := w.cfg()
		cfg.Session.MaxParallel = tc.parallel
		res := w.run("four.test", cfg, 30*time.Second)
		if c, _ := res.Check("smtp.starttls"); c.Status != probes.StatusPass {
			t.Fatalf("smtp.starttls = %s (%s)", c.Status, c.Reason)
		}
		if got := gate.Rounds(); got != tc.rounds {
			t.Errorf("max_parallel %d: %d rounds, want %d", tc.parallel, got, tc.rounds)
		}
	}
}

func TestImplicitTLS(t *testing.T) {
	w := newWorld(t, []string{"127.0.0.4"}, func(ip string) testbed.SMTPBehaviour { return good(t, "mx.one.test") })
	for _, tc := range []struct {
		name   string
		b      *testbed.SMTPBehaviour // nil: nothing listens
		status probes.Status
		reason string
		up     float64
	}{
		{"valid", &testbed.SMTPBehaviour{Hostname: "mx.one.test", ImplicitTLS: true, Certificate: goodCert(t, "mx.one.test")},
			probes.StatusPass, "implicit TLS with a valid certificate on 1 address", 1},
		{"wrong name", &testbed.SMTPBehaviour{Hostname: "mx.one.test", ImplicitTLS: true, Certificate: goodCert(t, "mx1.smtp.test")},
			probes.StatusFail, "certificate is valid for mx1.smtp.test, not mx.one.test", 1},
		{"plain text on the port", &testbed.SMTPBehaviour{Hostname: "mx.one.test"},
			probes.StatusFail, "the TLS handshake with mx.one.test 127.0.0.4:", 0},
		{"nothing listens", nil, probes.StatusFail, "does not accept connections", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := w.cfg()
			cfg.ImplicitTLS = true
			if tc.b != nil {
				cfg.Session.ImplicitTLSPort = testbed.StartSMTP(t, "127.0.0.4:0", *tc.b).Port()
			} else {
				cfg.Session.ImplicitTLSPort = w.port + 1 // nothing there
				if cfg.Session.ImplicitTLSPort > 65535 {
					cfg.Session.ImplicitTLSPort = w.port - 1
				}
			}
			w.env = w.newEnv()
			res := w.run("one.test", cfg, 10*time.Second)
			c, _ := res.Check("smtps.implicit_tls")
			if c.Status != tc.status || !strings.Contains(c.Reason, tc.reason) {
				t.Errorf("smtps.implicit_tls = %s (%s), want %s containing %q", c.Status, c.Reason, tc.status, tc.reason)
			}
			if v, ok := findMeasurement(res, "mail_smtps_up", "mx.one.test", "127.0.0.4"); !ok || v != tc.up {
				t.Errorf("mail_smtps_up = %v, %v; want %v", v, ok, tc.up)
			}
			// The port-25 conversation is unaffected.
			if c, _ := res.Check("smtp.starttls"); c.Status != probes.StatusPass {
				t.Errorf("smtp.starttls = %s (%s)", c.Status, c.Reason)
			}
		})
	}
}

func TestDefaultEHLOName(t *testing.T) {
	// Without ehlo_name the probe names this machine by its fully
	// qualified host name, or by its address (RFC 5321 §4.1.4) when the
	// host name is not fully qualified (containers often are "a1b2c3").
	w := newWorld(t, []string{"127.0.0.4"}, func(ip string) testbed.SMTPBehaviour { return good(t, "mx.one.test") })
	cfg := w.cfg()
	cfg.Session.EHLOName = ""
	res := w.run("one.test", cfg, 10*time.Second)
	want := "[127.0.0.1]"
	if h, err := os.Hostname(); err == nil {
		if n, err := probes.NormalizeName(h); err == nil {
			want = n
		}
	}
	cmds := w.servers["127.0.0.4"].Commands()
	if len(cmds) == 0 || cmds[0] != "EHLO "+want {
		t.Errorf("commands %q, want EHLO %s first", cmds, want)
	}
	noted := slices.ContainsFunc(res.Notes(), func(n string) bool { return strings.Contains(n, "address literal") })
	if noted != strings.HasPrefix(want, "[") {
		t.Errorf("notes %q for EHLO %s", res.Notes(), want)
	}
}

// hostedSessions asks the conversations of target in a request of its own
// (a fresh environment) of a module whose smtp block is cfg and whose
// min_interval for smtp is 5 minutes, with the process-wide memory of kept.
func (w *world) hostedSessions(t *testing.T, kept *probes.Kept, cfg smtp.Config, target string, env *probes.Env) []*smtp.Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e := *env
	e.Facts = probes.NewFacts(smtp.Registration.Provides(&cfg, probes.Setup{Module: "mail", MinInterval: 5 * time.Minute, Kept: kept}))
	sessions, err := smtpsession.Sessions(ctx, request(t, target), &e)
	if err != nil {
		t.Fatal(err)
	}
	return sessions
}

// TestDomainsOnOneServerShareOneConversation: two domains whose mail goes
// to one MX host are one conversation per interval for the process: the
// second request opens no connection, its report says for whom the
// conversation was held, and only what names the domain (the RCPT checks
// of postmaster@ and abuse@) is the domain's own conversation.
func TestDomainsOnOneServerShareOneConversation(t *testing.T) {
	w := newWorld(t, []string{"127.0.0.4"}, func(ip string) testbed.SMTPBehaviour { return good(t, "mx.one.test") })
	server := w.servers["127.0.0.4"]
	kept := probes.NewKept()
	smtpsession.SharedPoliteness(kept).Configure(smtpsession.PolitenessConfig{}) // not under test here
	cfg := w.cfg()
	cfg.Session.RcptChecks = nil // the default: nothing names the domain

	first := w.hostedSessions(t, kept, cfg, "hosted-a.test", w.newEnv())
	if len(first) != 1 || first[0].Shared != nil || !first[0].Handshaked() {
		t.Fatalf("first request: %d sessions, shared %+v, want one held for it with a handshake", len(first), first[0].Shared)
	}
	second := w.hostedSessions(t, kept, cfg, "hosted-b.test", w.newEnv())
	if n := server.Connections(); n != 1 {
		t.Fatalf("%d connections for two domains on one MX host, want 1", n)
	}
	s := second[0]
	if s.Shared == nil || s.Shared.Target != "hosted-a.test" || s.Shared.At.IsZero() {
		t.Fatalf("second request's session does not say it was held for hosted-a.test: %+v", s.Shared)
	}
	if s.GreetingName != "mx.one.test" || !s.Handshaked() || !s.TLS.Valid {
		t.Errorf("the shared conversation lost its facts: greeting %q, TLS %+v", s.GreetingName, s.TLS)
	}
	if first[0].Shared != nil {
		t.Error("marking the reader's copy changed the holder's session")
	}

	// The probe judges it as its own and says where it came from.
	env := w.newEnv()
	env.Facts = probes.NewFacts(smtp.Registration.Provides(&cfg, probes.Setup{Module: "mail", MinInterval: 5 * time.Minute, Kept: kept}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res := smtp.New(cfg).Run(ctx, request(t, "hosted-b.test"), env)
	checkInvariants(t, res)
	for _, id := range []string{"smtp.reachable", "smtp.starttls", "tls.cert_trusted", "tls.cert_name"} {
		if c, _ := res.Check(id); c.Status != probes.StatusPass {
			t.Errorf("%s = %s (%s) from the shared conversation", id, c.Status, c.Reason)
		}
	}
	reused := res.Reuses()
	if len(reused) != 1 || reused[0].HeldFor != "hosted-a.test" || !strings.Contains(reused[0].Fact, "mx.one.test 127.0.0.4:") {
		t.Errorf("reused %+v, want the conversation held for hosted-a.test", reused)
	}
	if n := server.Connections(); n != 1 {
		t.Errorf("%d connections after the probe ran, want 1", n)
	}

	// Another module trusting other roots judges the served chain against
	// its own: the kept facts are the server's, the verdict the reader's.
	other := w.newEnv()
	other.RootCAs = x509.NewCertPool()
	s = w.hostedSessions(t, kept, cfg, "hosted-b.test", other)[0]
	if s.TLS.Trusted || s.TLS.Valid {
		t.Error("a reader without the test CA was told the chain is trusted")
	}
	if again := w.hostedSessions(t, kept, cfg, "hosted-b.test", w.newEnv())[0]; !again.TLS.Trusted {
		t.Error("judging for another reader changed the kept verdict")
	}

	// A module whose networks exclude the address does not read what
	// another module was allowed to learn there.
	closed := w.newEnv()
	closed.Dialer = &probes.AddressDialer{}
	if s := w.hostedSessions(t, kept, cfg, "hosted-b.test", closed)[0]; !s.Denied || s.Shared != nil {
		t.Errorf("a module that may not connect read the kept conversation: denied %v, shared %+v", s.Denied, s.Shared)
	}

	// The RCPT checks name the domain: one conversation per domain, each
	// kept for that domain alone.
	rcpt := cfg
	rcpt.Session.RcptChecks = []string{smtp.RcptPostmaster}
	for range 2 {
		for _, d := range []string{"hosted-a.test", "hosted-b.test"} {
			s := w.hostedSessions(t, kept, rcpt, d, w.newEnv())[0]
			if len(s.Rcpts) != 1 || s.Rcpts[0].Address != "postmaster@"+d {
				t.Errorf("%s: RCPT %+v, want postmaster@%s", d, s.Rcpts, d)
			}
			if s.Shared != nil && s.Shared.Target != d {
				t.Errorf("%s read the RCPT conversation held for %s", d, s.Shared.Target)
			}
		}
	}
	if n := server.Connections(); n != 3 {
		t.Errorf("%d connections, want 3: the shared one and one per domain with RCPT checks", n)
	}
}

// TestConcurrentDomainsOnOneServerShareOneConversation: requests for
// domains on one MX host that arrive at once join the conversation the
// first of them holds.
func TestConcurrentDomainsOnOneServerShareOneConversation(t *testing.T) {
	gate := testbed.NewSMTPLockstep(200 * time.Millisecond) // the greeting waits: all ask while the first talks
	w := newWorld(t, []string{"127.0.0.4"}, func(ip string) testbed.SMTPBehaviour {
		b := good(t, "mx.one.test")
		b.Lockstep = gate
		return b
	})
	kept := probes.NewKept()
	cfg := w.cfg()
	cfg.Session.RcptChecks = nil
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			s := w.hostedSessions(t, kept, cfg, []string{"hosted-a.test", "hosted-b.test"}[i%2], w.newEnv())[0]
			if !s.Handshaked() {
				t.Errorf("request %d: no handshake: %v", i, s.Err)
			}
		})
	}
	wg.Wait()
	if n := w.servers["127.0.0.4"].Connections(); n != 1 {
		t.Errorf("%d connections for 20 concurrent requests of two domains on one MX host, want 1", n)
	}
}

// TestEachScrapeOfAnIntervalTalksOnce: with Prometheus scraping every
// min_interval, a domain's next scrape comes an interval after its
// conversation began, a little early or late. It holds a new conversation
// then instead of reading the one it held itself (which would make every
// other scrape a repeat of the one before), while another domain on the
// server reads the kept conversation all interval long.
func TestEachScrapeOfAnIntervalTalksOnce(t *testing.T) {
	w := newWorld(t, []string{"127.0.0.4"}, func(ip string) testbed.SMTPBehaviour { return good(t, "mx.one.test") })
	server := w.servers["127.0.0.4"]
	kept := probes.NewKept()
	smtpsession.SharedPoliteness(kept).Configure(smtpsession.PolitenessConfig{})
	cfg := w.cfg()
	cfg.Session.RcptChecks = nil
	start := time.Now()
	var offset time.Duration
	at := func(d time.Duration) *probes.Env {
		offset = d
		env := w.newEnv()
		env.Now = func() time.Time { return start.Add(offset) }
		return env
	}
	const interval = 5 * time.Minute // hostedSessions' min_interval

	steps := []struct {
		target string
		at     time.Duration
		conns  int
	}{
		{"hosted-a.test", 0, 1},
		{"hosted-b.test", 2 * time.Minute, 1},
		{"hosted-a.test", 4 * time.Minute, 1}, // scraped more often than the interval: read again
		{"hosted-b.test", interval - 100*time.Millisecond, 1},
		{"hosted-a.test", interval - 50*time.Millisecond, 2}, // its own next scrape, a little early
		{"hosted-b.test", interval + time.Minute, 2},
		{"hosted-a.test", 2*interval + 20*time.Millisecond, 3}, // a little late
	}
	for _, st := range steps {
		s := w.hostedSessions(t, kept, cfg, st.target, at(st.at))[0]
		if !s.Handshaked() {
			t.Fatalf("%s at %v: no handshake: %v", st.target, st.at, s.Err)
		}
		if n := server.Connections(); n != st.conns {
			t.Errorf("%s at %v: %d connections in all, want %d", st.target, st.at, n, st.conns)
		}
	}
}

// countingDialer counts the connections open at once through it (a
// connection ends when the probe closes it, before its turn is given
// back), and keeps the peak.
type countingDialer struct {
	probes.Dialer
	mu         sync.Mutex
	open, peak int
}

func (d *countingDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := d.Dialer.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.open++
	d.peak = max(d.peak, d.open)
	d.mu.Unlock()
	return &countedConn{Conn: c, d: d}, nil
}

type countedConn struct {
	net.Conn
	d    *countingDialer
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() {
		c.d.mu.Lock()
		c.d.open--
		c.d.mu.Unlock()
	})
	return c.Conn.Close()
}

// TestPolitenessHoldsForAThousandDomainsOnOnePlatform: 1,000 requests at
// once for domains on one platform's MX host, each with a conversation of
// its own (the RCPT check names the domain): no more connections are open
// to the address than smtp_politeness allows, none starts beyond its rate,
// and every conversation the bounds kept from starting before the deadline
// is undecided with the bound named, never the server's failure.
func TestPolitenessHoldsForAThousandDomainsOnOnePlatform(t *testing.T) {
	const domains = 1000
	w := newWorld(t, []string{"127.0.0.6"}, func(ip string) testbed.SMTPBehaviour { return good(t, "mx.platform.test") })
	var zone strings.Builder
	zone.WriteString("$ORIGIN platform.test.\nmx IN A 127.0.0.6\n")
	for i := range domains {
		fmt.Fprintf(&zone, "d%04d IN MX 10 mx\n", i)
	}
	if err := w.dns.AddZone(zone.String()); err != nil {
		t.Fatal(err)
	}
	kept := probes.NewKept()
	pol := smtpsession.SharedPoliteness(kept)
	// 600 a minute: a burst of 60, then 10 a second.
	pol.Configure(smtpsession.PolitenessConfig{MaxConnectionsPerAddress: 2, ConnectionsPerMinutePerAddress: 600})
	cfg := w.cfg()
	cfg.Session.RcptChecks = []string{smtp.RcptPostmaster}
	providers := smtp.Registration.Provides(&cfg, probes.Setup{Module: "mail", MinInterval: 5 * time.Minute, Kept: kept})
	dialer := &countingDialer{Dialer: probetest.LoopbackDialer()}
	client, err := dnsclient.New(dnsclient.Config{Servers: []string{w.dns.Addr}, Timeout: 5 * time.Second, Attempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var mu sync.Mutex
	outcome := map[probes.Status]int{}
	var wg sync.WaitGroup
	for i := range domains {
		wg.Go(func() {
			env := &probes.Env{DNS: client.NewResolver(), Dialer: dialer, RootCAs: testCA(t).Pool, Now: time.Now,
				Logger: log.NewNopLogger(), Facts: probes.NewFacts(providers)}
			res := smtp.New(cfg).Run(ctx, request(t, fmt.Sprintf("d%04d.platform.test", i)), env)
			c, _ := res.Check("smtp.reachable")
			mu.Lock()
			outcome[c.Status]++
			mu.Unlock()
			if c.Status == probes.StatusError && !strings.Contains(c.Reason, "smtp_politeness") {
				t.Errorf("d%04d: undecided for another reason than the bounds: %s", i, c.Reason)
			}
		})
	}
	wg.Wait()
	if dialer.peak > 2 {
		t.Errorf("%d connections open at once to one address, the bound is 2", dialer.peak)
	}
	st := pol.Stats()
	started := int(st.Started.Load())
	if started > 60+10*5+1 {
		t.Errorf("%d connections started within 5s at 600 a minute (a burst of 60, then 10 a second)", started)
	}
	if outcome[probes.StatusFail] != 0 || outcome[probes.StatusPass] == 0 || outcome[probes.StatusPass] > started {
		t.Errorf("smtp.reachable: %d pass, %d fail, %d undecided for %d connections started; want no failure",
			outcome[probes.StatusPass], outcome[probes.StatusFail], outcome[probes.StatusError], started)
	}
	notStarted := 0
	for i := range smtpsession.Limits {
		notStarted += int(st.NotStarted[i].Load())
	}
	if outcome[probes.StatusError] != notStarted || notStarted+started != domains {
		t.Errorf("%d undecided, %d kept from starting by a bound, %d started, for %d domains", outcome[probes.StatusError], notStarted, started, domains)
	}
	if st.Waits[0].Load() == 0 {
		t.Error("no connection waited for the concurrency bound")
	}
}
