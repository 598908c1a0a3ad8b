package e2e

import (
	"crypto/rand"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/deliverability-exporter/deliverability_exporter/config"
	"github.com/deliverability-exporter/deliverability_exporter/internal/e2e/assets"
	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
)

// The delivery round trip end to end: Postfix as the domain's outgoing
// relay (submission on 587 with STARTTLS and Cyrus SASL from a sasldb,
// OpenDKIM signing as a milter, delivering from its own loopback address)
// delivers the exporter's probe message to the exporter's built-in
// receiver; the domain's records come from an in-process DNS server the
// exporter resolves through. Then the relay is broken the way relays
// break, and each break must fail exactly its checks.

const (
	dlvDomain   = "sender.e2e-delivery.test"
	dlvReceiver = "probe@inbox.e2e-delivery.test"
	dlvUser     = "probe@" + dlvDomain
	dlvPassword = "e2e-app-password-7Q"
	// The IMAP mailbox: a domain Postfix delivers to Dovecot over LMTP.
	dlvMailboxDomain   = "mailbox.e2e-delivery.test"
	dlvMailboxAddress  = "probe@" + dlvMailboxDomain
	dlvMailboxPassword = "e2e-imap-password-3K"
)

// Hosts of the delivery world's /24.
const (
	dlvHostSubmission = 5  // Postfix: submission on 587
	dlvHostOutbound   = 10 // Postfix delivers from here (in SPF, with PTR)
	dlvHostStray      = 11 // an address with PTR but not in SPF
	dlvHostMilter     = 12 // OpenDKIM's milter socket
	dlvHostExporter   = 20 // the exporter: HTTP and the receiver on 2525
	dlvHostDovecot    = 30 // Dovecot: LMTP on 24, IMAPS on 993
)

// deliveryCommands are what this test runs besides Postfix.
var deliveryCommands = []struct{ command, pkg string }{
	{"postfix", "postfix"},
	{"postconf", "postfix"},
	{"opendkim", "opendkim"},
	{"opendkim-genkey", "opendkim-tools"},
	{"saslpasswd2", "sasl2-bin"},
	{"dovecot", "dovecot-imapd, dovecot-lmtpd"},
	{"sievec", "dovecot-sieve"},
	{"go", "the Go toolchain"},
}

type deliveryWorld struct {
	dir, prefix string
	dns         *testbed.DNSServer
	ca          *testbed.CA
	caFile      string
	postfixConf string
	dkimTXT     string // the key record opendkim-genkey wrote
	exporter    string // host:port of its HTTP
	dovecotDir  string
	exporterLog string
}

func (w *deliveryWorld) ip(host int) string { return fmt.Sprintf("%s%d", w.prefix, host) }

func TestDelivery(t *testing.T) {
	if testing.Short() {
		t.Skip("the end-to-end suite starts real daemons; skipped in -short mode")
	}
	var missing []string
	for _, c := range deliveryCommands {
		if _, err := exec.LookPath(c.command); err != nil {
			missing = append(missing, fmt.Sprintf("%s (%s)", c.command, c.pkg))
		}
	}
	if len(missing) > 0 {
		skipOrFail(t, "not installed: %s; on Debian: apt-get install --no-install-recommends postfix opendkim opendkim-tools sasl2-bin dovecot-imapd dovecot-lmtpd dovecot-sieve", strings.Join(missing, ", "))
	}
	if os.Geteuid() != 0 {
		skipOrFail(t, "the delivery test needs root (Postfix's master)")
	}
	start := time.Now()
	w := newDeliveryWorld(t)
	w.startDNS(t)
	w.startOpenDKIM(t)
	w.startDovecot(t)
	w.startPostfix(t)
	w.startExporter(t)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("--- the exporter's report:\n%s", w.debugReport())
		}
	})
	t.Logf("delivery world on %s0/24 up after %s", w.prefix, time.Since(start).Round(time.Millisecond))

	var sent float64
	for _, tc := range []struct {
		name    string
		break_  func(t *testing.T)
		repair  func(t *testing.T)
		failing []string
	}{
		{name: "healthy"},
		{name: "signing off",
			break_:  func(t *testing.T) { w.postconf(t, "smtpd_milters =") },
			repair:  func(t *testing.T) { w.postconf(t, "smtpd_milters = inet:"+w.ip(dlvHostMilter)+":8891") },
			failing: []string{"delivery.dkim"}},
		{name: "key not in DNS",
			break_:  func(t *testing.T) { w.dns.Remove("sel._domainkey."+dlvDomain+".", dnsTypeTXT) },
			repair:  func(t *testing.T) { w.addDKIMKey(t) },
			failing: []string{"delivery.dkim"}},
		{name: "relay address not in SPF",
			break_:  func(t *testing.T) { w.postconf(t, "smtp_bind_address = "+w.ip(dlvHostStray)) },
			repair:  func(t *testing.T) { w.postconf(t, "smtp_bind_address = "+w.ip(dlvHostOutbound)) },
			failing: []string{"delivery.spf"}},
		{name: "private Received header",
			break_: func(t *testing.T) { w.postconf(t, "header_checks =") },
			repair: func(t *testing.T) {
				w.postconf(t, "header_checks = regexp:"+filepath.Join(w.postfixConf, "header_checks"))
			},
			failing: []string{"delivery.no_private_received"}},
		{name: "delivery without TLS",
			break_:  func(t *testing.T) { w.postconf(t, "smtp_tls_security_level = none") },
			repair:  func(t *testing.T) { w.postconf(t, "smtp_tls_security_level = may") },
			failing: []string{"delivery.tls"}},
		{name: "mailbox files it as spam",
			break_:  func(t *testing.T) { w.sieve(t, "require \"fileinto\";\nfileinto \"Junk\";\n") },
			repair:  func(t *testing.T) { w.sieve(t, "require \"fileinto\";\n") },
			failing: []string{"delivery.inbox"}},
		{name: "healthy again"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.break_ != nil {
				tc.break_(t)
				defer tc.repair(t)
			}
			m := w.roundTrip(t, &sent)
			failing := failingChecks(m)
			if strings.Join(failing, ",") != strings.Join(tc.failing, ",") {
				t.Errorf("failing checks %v, want exactly %v", failing, tc.failing)
			}
			// Every other check passed, but the blocklist one, which a
			// loopback address skips.
			for _, id := range []string{"delivery.accepted", "delivery.arrived", "delivery.tls", "delivery.spf", "delivery.dkim",
				"delivery.dmarc", "delivery.outbound_fcrdns", "delivery.no_private_received", "delivery.inbox"} {
				if _, ok := m.checks[id]; !ok {
					t.Errorf("%s was not decided", id)
				}
			}
			if m.probeError != 0 {
				t.Errorf("mail_probe_error{probe=\"delivery\"} = %v", m.probeError)
			}
		})
	}

	// A relay that holds the message: the scrape that sends answers
	// within its own timeout (it waits at most half of what is left),
	// with the message in flight and the previous round trip's verdict.
	t.Run("held by the relay", func(t *testing.T) {
		w.postconf(t, "defer_transports = smtp")
		time.Sleep(1100 * time.Millisecond) // past min_interval
		began := time.Now()
		m := w.scrapeWithin(t, "4")
		took := time.Since(began)
		if m.inFlight != 1 || m.lastSent <= sent {
			t.Errorf("in flight %v, last sent %v (before: %v): want a new message in flight", m.inFlight, m.lastSent, sent)
		}
		if m.checks["delivery.arrived"] != 1 {
			t.Errorf("the previous round trip's verdict is gone: %v", m.checks)
		}
		if took >= 4*time.Second {
			t.Errorf("the scrape took %s, longer than its 4s timeout", took)
		}
		t.Logf("with the message held, the sending scrape (timeout 4s, --timeout-offset 0.5s, scrape_wait 20s) answered in %s", took.Round(time.Millisecond))
		w.postconf(t, "defer_transports =")
		run(t, w.dir, nil, "postqueue", "-c", w.postfixConf, "-f")
		if m := w.roundTrip(t, &sent); len(failingChecks(m)) > 0 {
			t.Errorf("the released message fails %v", failingChecks(m))
		}
	})
	if n, _ := strconv.Atoi(os.Getenv("DELIVERY_MEASURE")); n > 0 {
		w.measure(t, n, &sent)
	}

	// The delivery row of the dashboards reads series the exporter answers
	// with (the main world's Prometheus has no delivery module).
	t.Run("dashboard queries", func(t *testing.T) {
		m := w.scrape(t)
		dashboards, err := assets.LoadDashboards()
		if err != nil {
			t.Fatal(err)
		}
		checked := 0
		for _, d := range dashboards {
			for _, p := range d.AllPanels() {
				for _, tg := range p.Targets {
					if !ownWorldQuery(tg.Expr) {
						continue
					}
					sels, err := assets.Selectors(tg.Expr)
					if err != nil {
						t.Errorf("%s: panel %q: %v", d.Path, p.Title, err)
					}
					for _, sel := range sels {
						checked++
						if _, ok := m.samples[sel.Metric]; !ok {
							t.Errorf("%s: panel %q reads %s, which the delivery module does not answer with", d.Path, p.Title, sel.Metric)
						}
					}
				}
			}
		}
		if checked == 0 {
			t.Error("no dashboard panel shows the delivery round trip")
		}
	})

	// Neither the password nor the message body is in the exporter's log.
	log, err := os.ReadFile(w.exporterLog)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{dlvPassword, dlvMailboxPassword, "This message was sent by deliverability_exporter"} {
		if strings.Contains(string(log), secret) {
			t.Errorf("the exporter's log contains %q", secret)
		}
	}
	t.Logf("done after %s", time.Since(start).Round(time.Millisecond))
}

const dnsTypeTXT = 16

func newDeliveryWorld(t *testing.T) *deliveryWorld {
	t.Helper()
	dir, err := os.MkdirTemp("", "deliverability-e2e-delivery-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() && os.Getenv("E2E_KEEP") != "" {
			t.Logf("E2E_KEEP: left %s", dir)
			return
		}
		_ = os.RemoveAll(dir)
	})
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	w := &deliveryWorld{dir: dir}
	for attempt := 0; ; attempt++ {
		a, _ := rand.Int(rand.Reader, big.NewInt(150))
		b, _ := rand.Int(rand.Reader, big.NewInt(250))
		w.prefix = fmt.Sprintf("127.%d.%d.", 100+a.Int64(), 1+b.Int64())
		if portsFree(w.ip(dlvHostSubmission), "587") && portsFree(w.ip(dlvHostExporter), "2525", "10075") {
			break
		}
		if attempt > 20 {
			t.Fatal("every loopback /24 tried has its ports taken")
		}
	}
	if w.ca, err = testbed.NewCA("deliverability_exporter e2e delivery root"); err != nil {
		t.Fatal(err)
	}
	w.caFile = filepath.Join(dir, "ca.pem")
	writeFile(t, w.caFile, w.ca.PEM, 0o644)
	return w
}

func portsFree(ip string, ports ...string) bool {
	for _, port := range ports {
		if c, err := net.DialTimeout("tcp", net.JoinHostPort(ip, port), 200*time.Millisecond); err == nil {
			c.Close()
			return false
		}
	}
	return true
}

// certFiles issues a certificate for name and writes it and its key.
func (w *deliveryWorld) certFiles(t *testing.T, name string) (certFile, keyFile string) {
	t.Helper()
	sc := (&world{dir: w.dir, ca: w.ca, now: time.Now()}).mint(t, name, time.Now().Add(-time.Hour), time.Now().Add(30*24*time.Hour))
	return sc.certFile, sc.keyFile
}

// startDNS serves the sender domain, the receiver's domain and the
// reverse zone of the world's /24 in process.
func (w *deliveryWorld) startDNS(t *testing.T) {
	t.Helper()
	parts := strings.Split(strings.TrimSuffix(w.prefix, "."), ".")
	reverse := parts[2] + "." + parts[1] + "." + parts[0] + ".in-addr.arpa."
	soa := "@ 300 IN SOA ns.e2e-delivery.test. hostmaster.e2e-delivery.test. 1 3600 600 86400 300\n"
	sender := "$ORIGIN " + dlvDomain + ".\n" + soa +
		"@ 300 IN TXT \"v=spf1 ip4:" + w.ip(dlvHostOutbound) + " -all\"\n" +
		"_dmarc 300 IN TXT \"v=DMARC1; p=reject; rua=mailto:dmarc@" + dlvDomain + "\"\n" +
		"smtp 300 IN A " + w.ip(dlvHostSubmission) + "\n" +
		"relay 300 IN A " + w.ip(dlvHostOutbound) + "\n" +
		"relay 300 IN TXT \"v=spf1 a -all\"\n" +
		"stray 300 IN A " + w.ip(dlvHostStray) + "\n"
	inbox := "$ORIGIN inbox.e2e-delivery.test.\n" + soa +
		"@ 300 IN MX 10 mx.inbox.e2e-delivery.test.\n" +
		"mx 300 IN A " + w.ip(dlvHostExporter) + "\n"
	rev := "$ORIGIN " + reverse + "\n" + soa +
		strconv.Itoa(dlvHostOutbound) + " 300 IN PTR relay." + dlvDomain + ".\n" +
		strconv.Itoa(dlvHostStray) + " 300 IN PTR stray." + dlvDomain + ".\n"
	mailbox := "$ORIGIN " + dlvMailboxDomain + ".\n" + soa +
		"imap 300 IN A " + w.ip(dlvHostDovecot) + "\n"
	w.dns = testbed.StartDNS(t, sender, inbox, mailbox, rev)
}

// addDKIMKey publishes the key OpenDKIM signs with.
func (w *deliveryWorld) addDKIMKey(t *testing.T) {
	t.Helper()
	if err := w.dns.Add("sel._domainkey." + dlvDomain + ". 300 IN TXT " + w.dkimTXT); err != nil {
		t.Fatal(err)
	}
}

// startOpenDKIM generates a 2048-bit key with opendkim-genkey, publishes it
// and runs OpenDKIM as a signing milter.
func (w *deliveryWorld) startOpenDKIM(t *testing.T) {
	t.Helper()
	dir := filepath.Join(w.dir, "opendkim")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	run(t, dir, nil, "opendkim-genkey", "-b", "2048", "-d", dlvDomain, "-s", "sel", "-D", dir)
	txt, err := os.ReadFile(filepath.Join(dir, "sel.txt"))
	if err != nil {
		t.Fatal(err)
	}
	// sel._domainkey IN TXT ( "v=DKIM1; h=sha256; k=rsa; " "p=MIIB..." "..." )  ; ----- DKIM key ...
	strs := regexp.MustCompile(`"[^"]*"`).FindAllString(string(txt), -1)
	if len(strs) == 0 {
		t.Fatalf("no key in %s:\n%s", filepath.Join(dir, "sel.txt"), txt)
	}
	w.dkimTXT = strings.Join(strs, " ")
	w.addDKIMKey(t)
	hosts := filepath.Join(dir, "internal-hosts")
	writeFile(t, hosts, []byte("127.0.0.0/8\n"), 0o644)
	conf := filepath.Join(dir, "opendkim.conf")
	writeFile(t, conf, []byte(strings.Join([]string{
		"Mode s",
		"Domain " + dlvDomain,
		"Selector sel",
		"KeyFile " + filepath.Join(dir, "sel.private"),
		"Canonicalization relaxed/relaxed",
		"SignatureAlgorithm rsa-sha256",
		"InternalHosts " + hosts,
		"Socket inet:8891@" + w.ip(dlvHostMilter),
		"PidFile " + filepath.Join(dir, "opendkim.pid"),
		"Background false",
		"Syslog false",
		"RequireSafeKeys false",
		"",
	}, "\n")), 0o644)
	d := startDaemon(t, dir, "opendkim", "opendkim", "-f", "-x", conf)
	waitFor(t, 15*time.Second, "OpenDKIM's milter socket", func() error {
		c, err := net.DialTimeout("tcp", w.ip(dlvHostMilter)+":8891", time.Second)
		if err != nil {
			return err
		}
		return c.Close()
	}, d)
}

// startPostfix configures a Postfix instance as the sender domain's relay:
// submission with STARTTLS and SASL on 587, OpenDKIM, the submission's
// Received header dropped (as operators do to keep clients' addresses
// private), delivery to the exporter's receiver from its own address.
func (w *deliveryWorld) startPostfix(t *testing.T) {
	t.Helper()
	dir := filepath.Join(w.dir, "postfix")
	conf := filepath.Join(dir, "config")
	w.postfixConf = conf
	for _, d := range []string{conf, filepath.Join(dir, "queue"), filepath.Join(dir, "data"), filepath.Join(conf, "sasl")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	certFile, keyFile := w.certFiles(t, "smtp."+dlvDomain)
	master, err := os.ReadFile("/etc/postfix/master.cf")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(conf, "master.cf"), master, 0o644)
	writeFile(t, filepath.Join(conf, "main.cf"), nil, 0o644)
	writeFile(t, filepath.Join(conf, "header_checks"), []byte("/^Received:.*with ESMTPSA/ IGNORE\n"), 0o644)
	sasldb := filepath.Join(conf, "sasl", "sasldb2")
	writeFile(t, filepath.Join(conf, "sasl", "smtpd.conf"), []byte(strings.Join([]string{
		"pwcheck_method: auxprop",
		"auxprop_plugin: sasldb",
		"mech_list: PLAIN LOGIN",
		"sasldb_path: " + sasldb,
		"",
	}, "\n")), 0o644)
	cmd := exec.Command("saslpasswd2", "-c", "-p", "-f", sasldb, "-u", dlvDomain, "probe")
	cmd.Stdin = strings.NewReader(dlvPassword)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("saslpasswd2: %v\n%s", err, out)
	}
	owner := strings.TrimSpace(run(t, dir, nil, "postconf", "-c", conf, "-h", "mail_owner"))
	run(t, dir, nil, "chown", owner, sasldb, filepath.Join(dir, "data"))

	sub := w.ip(dlvHostSubmission) + ":587"
	run(t, dir, nil, "postconf", "-c", conf, "-M#", "smtp/inet")
	run(t, dir, nil, "postconf", "-c", conf, "-M", sub+"/inet="+sub+" inet n - n - - smtpd"+
		" -o smtpd_tls_security_level=encrypt -o smtpd_sasl_auth_enable=yes"+
		" -o smtpd_relay_restrictions=permit_sasl_authenticated,reject"+
		" -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject")
	run(t, dir, nil, "postconf", "-c", conf, "-F", "*/*/chroot = n")
	run(t, dir, nil, "postconf", "-c", conf, "-e",
		"compatibility_level = 3.6",
		"queue_directory = "+filepath.Join(dir, "queue"),
		"data_directory = "+filepath.Join(dir, "data"),
		"maillog_file = "+filepath.Join(dir, "maillog"),
		"maillog_file_prefixes = "+dir,
		"myhostname = relay."+dlvDomain,
		"mydomain = "+dlvDomain,
		"myorigin = $mydomain",
		"mydestination =",
		"inet_interfaces = loopback-only",
		"inet_protocols = ipv4",
		"mynetworks = 192.0.2.1/32",
		"alias_maps =",
		"local_transport = error:this relay delivers nothing locally",
		"smtpd_tls_chain_files = "+keyFile+", "+certFile,
		"smtpd_tls_auth_only = yes",
		"smtpd_sasl_type = cyrus",
		"smtpd_sasl_path = smtpd",
		"cyrus_sasl_config_path = "+filepath.Join(conf, "sasl"),
		"smtpd_sasl_security_options = noanonymous",
		"smtpd_milters = inet:"+w.ip(dlvHostMilter)+":8891",
		"non_smtpd_milters = $smtpd_milters",
		"milter_default_action = tempfail",
		"header_checks = regexp:"+filepath.Join(conf, "header_checks"),
		"relayhost = ["+w.ip(dlvHostExporter)+"]:2525",
		"smtp_bind_address = "+w.ip(dlvHostOutbound),
		"smtp_helo_name = relay."+dlvDomain,
		"smtp_tls_security_level = may",
		"smtputf8_enable = no",
		"transport_maps = inline:{ "+dlvMailboxDomain+"=lmtp:inet:"+w.ip(dlvHostDovecot)+":24 }",
		"queue_run_delay = 1s",
		"minimal_backoff_time = 1s",
		"maximal_backoff_time = 2s",
	)
	run(t, dir, nil, "postfix", "-c", conf, "check")
	run(t, dir, nil, "postfix", "-c", conf, "start")
	t.Cleanup(func() { w.stopPostfix(t, dir, conf) })
	waitFor(t, 30*time.Second, "Postfix's submission service", func() error {
		c, err := net.DialTimeout("tcp", sub, time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 512)
		n, err := c.Read(buf)
		if err != nil || !strings.HasPrefix(string(buf[:n]), "220 ") {
			return fmt.Errorf("greeting %q: %v", buf[:n], err)
		}
		return nil
	})
}

func (w *deliveryWorld) stopPostfix(t *testing.T, dir, conf string) {
	data, err := os.ReadFile(filepath.Join(dir, "queue", "pid", "master.pid"))
	if err != nil {
		return
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	if out, err := runErr(dir, nil, "postfix", "-c", conf, "stop"); err != nil {
		t.Logf("postfix stop: %v\n%s", err, out)
	}
	deadline := time.Now().Add(15 * time.Second)
	for pid > 0 && processAlive(pid) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if pid > 0 && processAlive(pid) {
		t.Errorf("Postfix master %d still runs after stop; killing it", pid)
		killPID(pid)
	}
	if t.Failed() {
		t.Logf("--- Postfix log, last lines:\n%s", tail(filepath.Join(dir, "maillog"), 40))
	}
}

// postconf changes the relay's configuration and reloads it.
func (w *deliveryWorld) postconf(t *testing.T, setting string) {
	t.Helper()
	run(t, w.dir, nil, "postconf", "-c", w.postfixConf, "-e", setting)
	run(t, w.dir, nil, "postfix", "-c", w.postfixConf, "reload")
	// The master restarts its services at their next use; give it the
	// moment it takes to read the new configuration.
	time.Sleep(time.Second)
}

// startExporter builds the exporter and runs it with the receiver on and
// one module with the delivery probe.
func (w *deliveryWorld) startExporter(t *testing.T) {
	t.Helper()
	dir := filepath.Join(w.dir, "exporter")
	bin := filepath.Join(dir, "deliverability_exporter")
	run(t, repoPath(), nil, "go", "build", "-o", bin, "./cmd/deliverability_exporter")
	pw := filepath.Join(dir, "password")
	writeFile(t, pw, []byte(dlvPassword+"\n"), 0o600)
	imapPW := filepath.Join(dir, "imap-password")
	writeFile(t, imapPW, []byte(dlvMailboxPassword+"\n"), 0o600)
	cfg := fmt.Sprintf(`modules:
  delivery:
    timeout: 40s
    resolvers: [%q]
    dns_query_timeout: 1s
    dns_cache_max_ttl: 0s
    ca_file: %s
    allowed_networks: [127.0.0.0/8]
    allowed_targets: %s
    min_interval: {delivery: 1s}
    delivery:
      submission: smtp.%s:587
      username: %s
      password_file: %s
      from: %s
      to: %s
      scrape_wait: 20s
      max_wait: 60s
      mailboxes:
        - name: dovecot
          address: %s
          imap: imap.%s:993
          username: %s
          password_file: %s
`, w.dns.Addr, w.caFile, regexp.QuoteMeta(dlvDomain), dlvDomain, dlvUser, pw, dlvUser, dlvReceiver,
		dlvMailboxAddress, dlvMailboxDomain, dlvMailboxAddress, imapPW)
	cfgFile := filepath.Join(dir, "config.yml")
	writeFile(t, cfgFile, []byte(cfg), 0o644)
	if _, err := config.Parse([]byte(cfg)); err != nil {
		t.Fatalf("the delivery config does not load: %v\n%s", err, cfg)
	}
	rcvCert, rcvKey := w.certFiles(t, "mx.inbox.e2e-delivery.test")
	w.exporter = w.ip(dlvHostExporter) + ":10075"
	d := startDaemon(t, dir, "deliverability_exporter", bin,
		"--config.file="+cfgFile, "--web.listen-address="+w.exporter, "--log.level=debug",
		"--receiver.listen-address="+w.ip(dlvHostExporter)+":2525",
		"--receiver.hostname=mx.inbox.e2e-delivery.test",
		"--receiver.tls-cert-file="+rcvCert, "--receiver.tls-key-file="+rcvKey)
	w.exporterLog = d.log
	waitFor(t, 30*time.Second, "the exporter", func() error {
		return httpOK("http://" + w.exporter + "/-/healthy")
	}, d)
}

// deliveryMetrics is what one scrape of the delivery module said.
type deliveryMetrics struct {
	checks     map[string]float64
	inFlight   float64
	lastSent   float64
	probeError float64
	// samples holds the last sample of every family, by name.
	samples map[string]float64
}

// failingChecks lists the checks that failed, sorted.
func failingChecks(m deliveryMetrics) []string {
	var failing []string
	for id, v := range m.checks {
		if v == 0 {
			failing = append(failing, id)
		}
	}
	sort.Strings(failing)
	return failing
}

func (w *deliveryWorld) scrape(t *testing.T) deliveryMetrics {
	t.Helper()
	return w.scrapeWithin(t, "40")
}

// scrapeWithin scrapes as Prometheus does with the scrape timeout given
// (seconds).
func (w *deliveryWorld) scrapeWithin(t *testing.T, timeout string) deliveryMetrics {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+w.exporter+"/probe?module=delivery&target="+dlvDomain, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", timeout)
	client := &http.Client{Timeout: 60 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/probe: %s %v\n%s", resp.Status, err, body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("/probe output: %v\n%s", err, body)
	}
	m := deliveryMetrics{checks: map[string]float64{}, samples: map[string]float64{}}
	label := func(pairs []*dto.LabelPair, name string) string {
		for _, p := range pairs {
			if p.GetName() == name {
				return p.GetValue()
			}
		}
		return ""
	}
	for name, f := range families {
		for _, s := range f.GetMetric() {
			v := s.GetGauge().GetValue()
			m.samples[name] = v
			switch name {
			case "mail_check_success":
				m.checks[label(s.GetLabel(), "check")] = v
			case "mail_delivery_in_flight":
				m.inFlight = v
			case "mail_delivery_last_sent_timestamp_seconds":
				m.lastSent = v
			case "mail_probe_error":
				if label(s.GetLabel(), "probe") == "delivery" {
					m.probeError = v
				}
			}
		}
	}
	return m
}

// roundTrip scrapes until a round trip sent after the previous one has
// completed, and returns that scrape.
func (w *deliveryWorld) roundTrip(t *testing.T, sent *float64) deliveryMetrics {
	t.Helper()
	time.Sleep(1100 * time.Millisecond) // past min_interval
	deadline := time.Now().Add(90 * time.Second)
	for {
		m := w.scrape(t)
		if m.lastSent > *sent && m.inFlight == 0 {
			*sent = m.lastSent
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("no round trip completed within 90s (in flight %v, last sent %v)", m.inFlight, m.lastSent)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// debugReport is the exporter's report of the delivery module, for a
// failure's log.
func (w *deliveryWorld) debugReport() string {
	c := &http.Client{Timeout: 60 * time.Second}
	resp, err := c.Get("http://" + w.exporter + "/probe?module=delivery&debug=true&target=" + dlvDomain)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.Status + "\n" + string(body)
}

// measure runs n round trips and logs, as Markdown for docs/performance.md,
// where the time goes and the exporter's CPU per round trip: the submission
// and the verdict (the probe's run less the relay's part), the relay's part
// (Postfix's queue and delivery, accepted to arrived), and the exporter
// process's user+system CPU over the n round trips (probe and receiver;
// Postfix and OpenDKIM are other processes).
func (w *deliveryWorld) measure(t *testing.T, n int, sent *float64) {
	t.Helper()
	pid := w.exporterPID(t)
	cpu0 := processCPU(t, pid)
	var submission, relay, verdict []float64
	for i := 0; i < n; i++ {
		m := w.roundTrip(t, sent)
		if f := failingChecks(m); len(f) > 0 {
			t.Fatalf("round trip %d fails %v", i, f)
		}
		d, r, s := m.samples["mail_probe_duration_seconds"], m.samples["mail_delivery_duration_seconds"], m.samples["mail_delivery_submission_duration_seconds"]
		submission, relay, verdict = append(submission, s), append(relay, r), append(verdict, d-r-s)
	}
	cpu := (processCPU(t, pid) - cpu0) / float64(n)
	for _, xs := range [][]float64{submission, relay, verdict} {
		sort.Float64s(xs)
	}
	q := func(xs []float64, p float64) string {
		return fmt.Sprintf("%.1f ms", 1000*xs[int(p*float64(len(xs)-1))])
	}
	t.Logf("delivery round trips on loopback (%d, Postfix %s, OpenDKIM rsa-sha256 2048):\n"+
		"| | p50 | p90 | max |\n|---|---|---|---|\n"+
		"| submission: connection to the reply to DATA (Postfix's smtpd, SASL, cleanup and the OpenDKIM milter included) | %s | %s | %s |\n"+
		"| the relay's part: accepted to arrived (Postfix's queue and delivery to the receiver) | %s | %s | %s |\n"+
		"| the verdict, and the rest of the run: arrived to answered | %s | %s | %s |\n"+
		"exporter CPU (user+system) per round trip: %.1f ms",
		n, strings.TrimSpace(run(t, w.dir, nil, "postconf", "-d", "-h", "mail_version")),
		q(submission, 0.5), q(submission, 0.9), q(submission, 1), q(relay, 0.5), q(relay, 0.9), q(relay, 1),
		q(verdict, 0.5), q(verdict, 0.9), q(verdict, 1), cpu*1000)
}

func (w *deliveryWorld) exporterPID(t *testing.T) int {
	t.Helper()
	out := run(t, w.dir, nil, "pgrep", "-f", "--", "--receiver.listen-address="+w.ip(dlvHostExporter))
	pid, err := strconv.Atoi(strings.Fields(out)[0])
	if err != nil {
		t.Fatalf("exporter pid: %q", out)
	}
	return pid
}

// processCPU is a process's user+system CPU time so far, in seconds.
func processCPU(t *testing.T, pid int) float64 {
	t.Helper()
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	i := strings.LastIndexByte(string(stat), ')')
	fields := strings.Fields(string(stat[i+2:]))
	// After "pid (comm) ": state is field 0, utime 11, stime 12 (clock ticks).
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return (utime + stime) / 100 // USER_HZ is 100 on Linux
}

// ownWorldQuery reports whether a dashboard query reads the delivery
// probe's series, which only TestDelivery's world has.
func ownWorldQuery(expr string) bool {
	return strings.Contains(expr, "mail_delivery_") || strings.Contains(expr, `probe="delivery"`)
}

// startDovecot runs Dovecot as the mailbox's server: LMTP for Postfix to
// deliver to, IMAPS for the probe, a Sieve script run before delivery
// that files into INBOX (or, to break it, into Junk, as a spam filter
// does).
func (w *deliveryWorld) startDovecot(t *testing.T) {
	t.Helper()
	dir := filepath.Join(w.dir, "dovecot")
	for _, d := range []string{"run", "state", "home", "sieve"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	run(t, dir, nil, "chown", "nobody:nogroup", filepath.Join(dir, "home"))
	w.dovecotDir = dir
	certFile, keyFile := w.certFiles(t, "imap."+dlvMailboxDomain)
	writeFile(t, filepath.Join(dir, "passwd"), []byte(dlvMailboxAddress+":{PLAIN}"+dlvMailboxPassword+"\n"), 0o644)
	w.sieve(t, "require \"fileinto\";\n")
	conf := filepath.Join(dir, "dovecot.conf")
	writeFile(t, conf, []byte(strings.Join([]string{
		"base_dir = " + filepath.Join(dir, "run"),
		"state_dir = " + filepath.Join(dir, "state"),
		"log_path = " + filepath.Join(dir, "dovecot.log"),
		"protocols = imap lmtp",
		"listen = " + w.ip(dlvHostDovecot),
		"ssl = required",
		"ssl_cert = <" + certFile,
		"ssl_key = <" + keyFile,
		"ssl_min_protocol = TLSv1.2",
		"auth_mechanisms = plain login",
		"passdb {", "  driver = passwd-file", "  args = scheme=PLAIN username_format=%u " + filepath.Join(dir, "passwd"), "}",
		"userdb {", "  driver = static", "  args = uid=nobody gid=nogroup home=" + filepath.Join(dir, "home") + "/%u", "}",
		"mail_location = maildir:~/Maildir",
		"namespace inbox {", "  inbox = yes", "  mailbox Junk {", "    special_use = \\Junk", "    auto = create", "  }", "}",
		"service imap-login {", "  inet_listener imap {", "    port = 0", "  }", "  inet_listener imaps {", "    port = 993", "    ssl = yes", "  }", "}",
		"service lmtp {", "  inet_listener lmtp {", "    port = 24", "  }", "}",
		"protocol lmtp {", "  mail_plugins = sieve", "  postmaster_address = postmaster@" + dlvMailboxDomain, "}",
		"plugin {", "  sieve_before = " + filepath.Join(dir, "sieve", "before.sieve"), "}",
		"",
	}, "\n")), 0o644)
	d := startDaemon(t, dir, "dovecot", "dovecot", "-F", "-c", conf)
	waitFor(t, 15*time.Second, "Dovecot's IMAPS and LMTP", func() error {
		for _, port := range []string{"993", "24"} {
			c, err := net.DialTimeout("tcp", net.JoinHostPort(w.ip(dlvHostDovecot), port), time.Second)
			if err != nil {
				return err
			}
			c.Close()
		}
		return nil
	}, d)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("--- Dovecot log, last lines:\n%s", tail(filepath.Join(dir, "dovecot.log"), 30))
		}
	})
}

// sieve replaces the Sieve script Dovecot runs before delivery and
// compiles it (the delivering user could not write the compiled form).
func (w *deliveryWorld) sieve(t *testing.T, script string) {
	t.Helper()
	path := filepath.Join(w.dovecotDir, "sieve", "before.sieve")
	writeFile(t, path, []byte(script), 0o644)
	run(t, w.dovecotDir, nil, "sievec", path)
}
