// Package benchworld is the in-process world of the performance
// measurements: the DNS (testbed.DNSServer), STARTTLS SMTP servers, the
// MTA-STS policy host and six test blocklists, all on loopback, for the
// domain issue 9 describes: bench.test, healthy, with 2 MX hosts (IPv4 and
// IPv6), 3 DKIM selectors, DMARC with an external report destination, SPF
// with one include, MTA-STS in enforce mode, TLS-RPT, DANE (TLSA 3 1 1 of the
// served keys) and DNSSEC (the AD bit) on its zones.
//
// It comes in two shapes:
//
//   - Mapped: the MX and policy hosts have addresses from the benchmarking
//     range 198.18.0.0/15 (RFC 2544) and 2001:db8::/32 (RFC 3849), and
//     Dialer maps each to its loopback server. The blocklist probe asks
//     about such addresses (it rightly skips loopback ones, which no public
//     list holds), so the whole work of a real domain is done. Probes get
//     the Dialer through their Env, so this shape runs the module's probes
//     in process (benchkit.Run), not through the exporter binary.
//   - Loopback: the hosts' addresses are the servers' own (127.0.0.11,
//     127.0.0.12, ::1 for both hosts' IPv6, 127.0.0.80), for the exporter
//     binary, whose dialer cannot be replaced; the blocklists are then
//     asked only about names.
//
// Synthetic DNS-only domains (d0001.test, ...) shaped like bench.test
// without the servers make many targets for throughput and memory runs.
//
// Nothing here leaves 127.0.0.1 and ::1.
package benchworld

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
)

// Domain is the issue's test domain.
const Domain = "bench.test"

// The MX hosts of bench.test.
const (
	MX1 = "mx1.bench.test"
	MX2 = "mx2.bench.test"
)

// Selectors are the DKIM selectors bench.test publishes.
var Selectors = []string{"google", "mail", "s2026"}

// Shape selects how host addresses are reached; see the package comment.
type Shape int

// The shapes.
const (
	Mapped Shape = iota
	Loopback
)

// Options configure a world.
type Options struct {
	Shape Shape
	// Synthetic is the number of extra DNS-only domains d0001.test, ...
	Synthetic int
	// NoServers leaves out the SMTP and HTTPS servers (DNS-only runs).
	NoServers bool
}

// World is a running world. Close stops it.
type World struct {
	Shape Shape
	DNS   *testbed.DNSServer
	CA    *testbed.CA
	// CAFile is the CA's PEM in a temporary file, for a module's ca_file.
	CAFile string
	SMTP   []*testbed.SMTPServer
	HTTPS  *testbed.HTTPSServer
	// Dialer maps the Mapped shape's addresses to the servers (nil in the
	// Loopback shape).
	Dialer *MapDialer
	// SMTPPort and HTTPSPort are what a module's smtp.port and
	// mtasts.https_port must say: 25 and 443 in the Mapped shape, the
	// servers' ports in the Loopback shape.
	SMTPPort, HTTPSPort int
	// Synthetic lists the synthetic domains.
	Synthetic []string

	dir string
}

// Addresses of the Mapped shape.
var (
	mappedMX1v4   = netip.MustParseAddr("198.18.0.11")
	mappedMX1v6   = netip.MustParseAddr("2001:db8:18::11")
	mappedMX2v4   = netip.MustParseAddr("198.18.0.12")
	mappedMX2v6   = netip.MustParseAddr("2001:db8:18::12")
	mappedPolicy  = netip.MustParseAddr("198.18.0.80")
	loopMX1v4     = netip.MustParseAddr("127.0.0.11")
	loopMX2v4     = netip.MustParseAddr("127.0.0.12")
	loopV6        = netip.MustParseAddr("::1")
	loopPolicy    = netip.MustParseAddr("127.0.0.80")
	providerRange = "198.18.200.0/24"
)

// The DKIM keys are real published keys, copied from testbed.ExampleZones
// (internal/testbed/world.go says where each comes from): gmail.com's
// 20230601 RSA-2048 key and RFC 8463's Ed25519 test key. s2026 publishes
// the RSA key again, as a domain does during a key rollover.
const (
	rsaKey     = `"v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAntvSKT1hkqhKe0xcaZ0x+QbouDsJuBfby/S82jxsoC/SodmfmVs2D1KAH3mi1AqdMdU12h2VfETeOJkgGYq5ljd996AJ7ud2SyOLQmlhaNHH7Lx+Mdab8/zDN1SdxPARDgcM7AsRECHwQ15R20FaKUABGu4NTbR2fDKnYwiq5jQyBkL" "WP+LgGOgfUF4T4HZb2PY2bQtEP6QeqOtcW4rrsH24L7XhD+HSZb1hsitrE0VPbhJzxDwI4JF815XMnSVjZgYUXP8CxI1Y0FONlqtQYgsorZ9apoW1KPQe8brSSlRsi9sXB/tu56LmG7tEDNmrZ5XUwQYUUADBOu7t1niwXwIDAQAB"`
	ed25519Key = `"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="`
)

// domainZone is a healthy mail domain as its operator publishes it; %[1]s
// is the domain, %[2]s..%[5]s the MX addresses (mx1 v4, v6, mx2 v4, v6),
// %[6]s the MTA-STS host's address.
const domainZone = `
$ORIGIN %[1]s.
$TTL 3600
@            IN SOA   ns1 hostmaster 2026112101 7200 3600 1209600 3600
@            IN NS    ns1
@            IN MX    10 mx1
@            IN MX    20 mx2
@            IN TXT   "v=spf1 mx include:_spf.provider.test -all"
@            IN CAA   0 issue "letsencrypt.org"
mx1          IN A     %[2]s
mx1          IN AAAA  %[3]s
mx1          IN TXT   "v=spf1 a -all"
mx2          IN A     %[4]s
mx2          IN AAAA  %[5]s
mx2          IN TXT   "v=spf1 a -all"
_submission._tcp  IN SRV 0 1 587 mx1
_submissions._tcp IN SRV 0 1 465 mx1
_imap._tcp   IN SRV   0 0 0 .
_imaps._tcp  IN SRV   0 1 993 mx1
_pop3._tcp   IN SRV   0 0 0 .
_pop3s._tcp  IN SRV   0 0 0 .
google._domainkey IN TXT ` + rsaKey + `
mail._domainkey   IN TXT ` + ed25519Key + `
s2026._domainkey  IN TXT ` + rsaKey + `
_dmarc       IN TXT   "v=DMARC1; p=reject; rua=mailto:dmarc@%[1]s,mailto:agg@reports.dmarc-service.test"
_mta-sts     IN TXT   "v=STSv1; id=20261121T000000"
mta-sts      IN A     %[6]s
_smtp._tls   IN TXT   "v=TLSRPTv1; rua=mailto:tls-reports@%[1]s"
; the report service authorises the domain's reports (RFC 7489 §7.1)
%[1]s._report._dmarc.reports.dmarc-service.test. IN TXT "v=DMARC1"
`

// sharedZones are the provider the SPF record includes, the external DMARC
// report destination, and the six test blocklists with their RFC 5782 §5
// test points (2.0.0.127 and "test" listed, 1.0.0.127 and "invalid" not).
var sharedZones = `
$TTL 3600
; the parent of every domain here, as the root zone answers for a TLD:
; negative answers carry its SOA, so resolvers may cache them (RFC 2308)
$ORIGIN test.
@            IN SOA   ns hostmaster 1 7200 3600 1209600 3600

$ORIGIN provider.test.
@            IN SOA   ns hostmaster 1 7200 3600 1209600 3600
_spf         IN TXT   "v=spf1 ip4:` + providerRange + ` ip6:2001:db8:ff::/48 -all"

$ORIGIN dmarc-service.test.
@            IN SOA   ns hostmaster 1 7200 3600 1209600 3600
`

// BlocklistZones are the six lists: four IP lists (two of them take IPv6
// subjects) and two domain lists.
var BlocklistZones = []struct {
	Zone string
	Kind string
	IPv6 bool
}{
	{"ip1.bl.test", "ip", true},
	{"ip2.bl.test", "ip", true},
	{"ip3.bl.test", "ip", false},
	{"ip4.bl.test", "ip", false},
	{"dom1.bl.test", "domain", false},
	{"dom2.bl.test", "domain", false},
}

func blocklistZone(zone, kind string) string {
	z := "\n$ORIGIN " + zone + ".\n$TTL 300\n@ IN SOA ns hostmaster 1 7200 3600 1209600 300\n"
	if kind == "domain" {
		return z + "test IN A 127.0.1.2\n"
	}
	return z + "2.0.0.127 IN A 127.0.0.2\n2.0.0.127 IN TXT \"test point\"\n"
}

// Start starts a world.
func Start(opts Options) (w *World, err error) {
	w = &World{Shape: opts.Shape}
	defer func() {
		if err != nil {
			w.Close()
		}
	}()
	if w.dir, err = os.MkdirTemp("", "benchworld"); err != nil {
		return nil, err
	}
	if w.CA, err = testbed.NewCA("benchworld CA"); err != nil {
		return nil, err
	}
	w.CAFile = filepath.Join(w.dir, "ca.pem")
	if err := os.WriteFile(w.CAFile, w.CA.PEM, 0o644); err != nil {
		return nil, err
	}

	mx1v4, mx1v6, mx2v4, mx2v6, policy := mappedMX1v4, mappedMX1v6, mappedMX2v4, mappedMX2v6, mappedPolicy
	if opts.Shape == Loopback {
		mx1v4, mx1v6, mx2v4, mx2v6, policy = loopMX1v4, loopV6, loopMX2v4, loopV6, loopPolicy
	}
	zones := []string{fmt.Sprintf(domainZone, Domain, mx1v4, mx1v6, mx2v4, mx2v6, policy), sharedZones}
	for _, bl := range BlocklistZones {
		zones = append(zones, blocklistZone(bl.Zone, bl.Kind))
	}
	if w.DNS, err = testbed.NewDNSServer(zones...); err != nil {
		return nil, err
	}
	ptr := func(ip netip.Addr, name string) error {
		return w.DNS.Add(dnsclient.ReverseName(ip) + " 3600 IN PTR " + name + ".")
	}
	for _, p := range []struct {
		ip   netip.Addr
		name string
	}{{mx1v4, MX1}, {mx1v6, MX1}, {mx2v4, MX2}, {mx2v6, MX2}} {
		if opts.Shape == Loopback && p.ip == loopV6 && p.name == MX2 {
			continue // ::1 is both hosts' IPv6 address; it has one PTR
		}
		if err := ptr(p.ip, p.name); err != nil {
			return nil, err
		}
	}

	for i := 1; i <= opts.Synthetic; i++ {
		d := fmt.Sprintf("d%04d.test", i)
		// 198.19.0.0/16 (the upper half of RFC 2544's range): two
		// addresses per domain; IPv6 in 2001:db8:19::/48.
		a1 := netip.AddrFrom4([4]byte{198, 19, byte(i >> 7), byte(i<<1) & 0xfe})
		a2 := a1.Next()
		v61 := netip.MustParseAddr(fmt.Sprintf("2001:db8:19::%x:1", i))
		v62 := v61.Next()
		if err := w.DNS.AddZone(fmt.Sprintf(domainZone, d, a1, v61, a2, v62, policy)); err != nil {
			return nil, err
		}
		for _, p := range []struct {
			ip   netip.Addr
			name string
		}{{a1, "mx1." + d}, {v61, "mx1." + d}, {a2, "mx2." + d}, {v62, "mx2." + d}} {
			if err := w.DNS.Add(dnsclient.ReverseName(p.ip) + " 3600 IN PTR " + p.name + "."); err != nil {
				return nil, err
			}
		}
		w.Synthetic = append(w.Synthetic, d)
	}
	// Every zone of this world is signed: the AD bit on all of .test and
	// the reverse trees. (One apex each: the server compares every answer
	// with every secure apex, so a list per domain would cost more CPU
	// than the probes being measured.)
	w.DNS.SetSecure("test", "in-addr.arpa", "ip6.arpa")

	if opts.NoServers {
		w.SMTPPort, w.HTTPSPort = 25, 443
		return w, nil
	}
	if err := w.startServers(opts.Shape, mx1v4, mx1v6, mx2v4, mx2v6, policy); err != nil {
		return nil, err
	}
	return w, nil
}

// startServers starts the SMTP servers (one per MX address) and the policy
// host, and publishes the TLSA records of the served keys.
func (w *World) startServers(shape Shape, mx1v4, mx1v6, mx2v4, mx2v6, policy netip.Addr) error {
	certs := map[string]*tls.Certificate{}
	for _, names := range [][]string{{MX1}, {MX2}, {MX1, MX2}} {
		c, err := w.CA.Issue(testbed.CertOptions{DNSNames: names})
		if err != nil {
			return err
		}
		certs[strings.Join(names, ",")] = &c
	}
	behaviour := func(host string, cert *tls.Certificate) testbed.SMTPBehaviour {
		return testbed.SMTPBehaviour{Hostname: host, Certificate: cert}
	}
	type srv struct {
		listen string
		ip     netip.Addr // the address the DNS gives
		b      testbed.SMTPBehaviour
	}
	var plan []srv
	if shape == Mapped {
		w.SMTPPort, w.HTTPSPort = 25, 443
		w.Dialer = &MapDialer{m: map[netip.Addr]string{}}
		plan = []srv{
			{"127.0.0.11:0", mx1v4, behaviour(MX1, certs[MX1])},
			{"[::1]:0", mx1v6, behaviour(MX1, certs[MX1])},
			{"127.0.0.12:0", mx2v4, behaviour(MX2, certs[MX2])},
			{"[::1]:0", mx2v6, behaviour(MX2, certs[MX2])},
		}
	} else {
		// One port on all three addresses, as port 25 is in the world.
		plan = []srv{
			{"127.0.0.11:%d", mx1v4, behaviour(MX1, certs[MX1])},
			{"127.0.0.12:%d", mx2v4, behaviour(MX2, certs[MX2])},
			{"[::1]:%d", mx1v6, behaviour(MX1, certs[MX1+","+MX2])},
		}
	}
	if shape == Mapped {
		for _, p := range plan {
			s, err := testbed.NewSMTPServer(p.listen, p.b)
			if err != nil {
				return err
			}
			w.SMTP = append(w.SMTP, s)
			w.Dialer.m[p.ip] = s.Addr
		}
	} else {
		var lastErr error
		for attempt := 0; attempt < 20 && len(w.SMTP) < len(plan); attempt++ {
			port := 0
			for _, p := range plan {
				s, err := testbed.NewSMTPServer(fmt.Sprintf(p.listen, port), p.b)
				if err != nil {
					lastErr = err
					break
				}
				w.SMTP = append(w.SMTP, s)
				port = s.Port()
			}
			if len(w.SMTP) < len(plan) {
				for _, s := range w.SMTP {
					s.Close()
				}
				w.SMTP = nil
			}
		}
		if len(w.SMTP) < len(plan) {
			return fmt.Errorf("no port free on all SMTP addresses: %w", lastErr)
		}
		w.SMTPPort = w.SMTP[0].Port()
	}
	// DANE-EE: "3 1 1" is the SHA-256 of the server key's
	// SubjectPublicKeyInfo (RFC 7671 §5.1, RFC 7672 §3.1.1), published for
	// the key served and for the next one (the rollover RFC 7671 §8.1
	// advises).
	next, err := w.CA.Issue(testbed.CertOptions{DNSNames: []string{MX1, MX2}})
	if err != nil {
		return err
	}
	for host, cert := range map[string]*tls.Certificate{MX1: certs[MX1], MX2: certs[MX2]} {
		keys := []*tls.Certificate{cert, &next}
		if shape == Loopback && host == MX1 {
			keys = append(keys, certs[MX1+","+MX2]) // ::1 serves the shared one
		}
		if shape == Loopback && host == MX2 {
			keys = append(keys, certs[MX1+","+MX2])
		}
		for _, c := range keys {
			leaf, err := x509.ParseCertificate(c.Certificate[0])
			if err != nil {
				return err
			}
			sum := sha256.Sum256(leaf.RawSubjectPublicKeyInfo)
			if err := w.DNS.Add("_25._tcp." + host + ". 3600 IN TLSA 3 1 1 " + hex.EncodeToString(sum[:])); err != nil {
				return err
			}
		}
	}

	listen := "127.0.0.1:0"
	if shape == Loopback {
		listen = net.JoinHostPort(loopPolicy.String(), "0")
	}
	if w.HTTPS, err = testbed.NewHTTPSServer(listen); err != nil {
		return err
	}
	if shape == Mapped {
		w.Dialer.m[policy] = w.HTTPS.Addr
	} else {
		w.HTTPSPort = w.HTTPS.Port()
	}
	policyCert, err := w.CA.Issue(testbed.CertOptions{DNSNames: []string{"mta-sts." + Domain}})
	if err != nil {
		return err
	}
	w.HTTPS.SetSite("mta-sts."+Domain, testbed.HTTPSSite{Certificate: &policyCert,
		Body: "version: STSv1\r\nmode: enforce\r\nmx: " + MX1 + "\r\nmx: " + MX2 + "\r\nmax_age: 604800\r\n"})
	return nil
}

// Close stops the servers and removes the temporary files.
// ForgetQueriesEvery makes the DNS server forget the questions it logged,
// every d, until stop is called: long runs need no log of them.
func (w *World) ForgetQueriesEvery(d time.Duration) (stop func()) {
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(d):
				w.DNS.ResetQueries()
			}
		}
	}()
	return func() { close(done) }
}

func (w *World) Close() {
	if w == nil {
		return
	}
	for _, s := range w.SMTP {
		s.Close()
	}
	if w.HTTPS != nil {
		w.HTTPS.Close()
	}
	if w.DNS != nil {
		w.DNS.Close()
	}
	if w.dir != "" {
		os.RemoveAll(w.dir)
	}
}

// SMTPConnections is the connections the SMTP servers accepted so far.
func (w *World) SMTPConnections() int {
	n := 0
	for _, s := range w.SMTP {
		n += s.Connections()
	}
	return n
}

// Lists is the dnsbl block for the six test blocklists (indented for a
// module's dnsbl: key).
func Lists() string {
	var b strings.Builder
	b.WriteString("      lists:\n")
	for _, bl := range BlocklistZones {
		fmt.Fprintf(&b, "        - zone: %s\n          kind: %s\n", bl.Zone, bl.Kind)
		if bl.IPv6 {
			b.WriteString("          ipv6: true\n")
		}
		if bl.Kind == "ip" {
			b.WriteString("          codes: {127.0.0.2: listed}\n          error_codes: {127.255.255.254: query via public/open resolver}\n")
		} else {
			b.WriteString("          codes: {127.0.1.2: spam domain}\n")
		}
	}
	return b.String()
}

// Unbounded is the top-level config line that turns the politeness bounds
// on SMTP connections per server (smtp_politeness) off: the measurements
// talk to a few loopback servers as fast as they can, to measure the
// exporter's own work, which real servers' bounds would hide.
const Unbounded = "smtp_politeness: {max_connections_per_address: 0, connections_per_minute_per_address: 0, connections_per_minute_per_network: 0}\n"

// AllProbes are the probes of the full mail module, in the collector's
// order; DNSOnlyProbes leaves out those that connect to servers.
var (
	AllProbes     = []string{"mx", "spf", "dkim", "dmarc", "mtasts", "tlsrpt", "smtp", "dnsbl"}
	DNSOnlyProbes = []string{"mx", "spf", "dkim", "dmarc", "tlsrpt", "dnsbl"}
)

// ModuleOptions tune a module config.
type ModuleOptions struct {
	// Probes to enable (AllProbes when empty).
	Probes []string
	// Timeout of the module ("30s" when empty).
	Timeout string
	// DNSMaxInFlight is dns_max_in_flight (the default when 0).
	DNSMaxInFlight int
	// DNSQueryTimeout is dns_query_timeout ("2s" when empty).
	DNSQueryTimeout string
	// Extra lines at module level (indented four spaces), e.g.
	// "    min_interval: {smtp: 5m}".
	Extra string
	// Resolver replaces the world's DNS server address (a proxy in front
	// of it).
	Resolver string
}

// Module is a module config (indented for modules:) named name that runs
// the probes against this world through its DNS server, with the module
// defaults of the mail module except where the world needs otherwise: the
// six test blocklists, the world's CA, the servers' ports, a fixed EHLO
// name, and the three DKIM selectors configured (discovery stays on).
func (w *World) Module(name string, o ModuleOptions) string {
	probes := o.Probes
	if len(probes) == 0 {
		probes = AllProbes
	}
	timeout := o.Timeout
	if timeout == "" {
		timeout = "30s"
	}
	qt := o.DNSQueryTimeout
	if qt == "" {
		qt = "2s"
	}
	resolver := w.DNS.Addr
	if o.Resolver != "" {
		resolver = o.Resolver
	}
	var b strings.Builder
	fmt.Fprintf(&b, "  %s:\n    timeout: %s\n    resolvers: [%q]\n    dns_query_timeout: %s\n    ca_file: %s\n", name, timeout, resolver, qt, w.CAFile)
	// Whatever a domain of this world says, connections stay on loopback.
	b.WriteString("    allowed_networks: [\"127.0.0.0/8\", \"::1/128\"]\n")
	if o.DNSMaxInFlight > 0 {
		fmt.Fprintf(&b, "    dns_max_in_flight: %d\n", o.DNSMaxInFlight)
	}
	b.WriteString(o.Extra)
	for _, p := range probes {
		switch p {
		case "dkim":
			fmt.Fprintf(&b, "    dkim: {selectors: [%s], discover: true}\n", strings.Join(Selectors, ", "))
		case "mtasts":
			fmt.Fprintf(&b, "    mtasts: {https_port: %d}\n", w.HTTPSPort)
		case "smtp":
			fmt.Fprintf(&b, "    smtp: {port: %d, ehlo_name: probe.exporter.test}\n", w.SMTPPort)
		case "dnsbl":
			b.WriteString("    dnsbl:\n" + Lists())
		default:
			fmt.Fprintf(&b, "    %s: {}\n", p)
		}
	}
	return b.String()
}

// MapDialer dials the server that stands in for an address of the Mapped
// shape, whatever the port asked (25 or 443), and refuses every other
// address: nothing leaves loopback.
type MapDialer struct {
	d  net.Dialer
	mu sync.Mutex
	m  map[netip.Addr]string
}

// DialContext implements probes.Dialer.
func (d *MapDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return nil, fmt.Errorf("dial %s: not an IP address", address)
	}
	d.mu.Lock()
	to, ok := d.m[ip.Unmap()]
	d.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("dial %s: no server stands in for %s in the bench world", address, ip)
	}
	return d.d.DialContext(ctx, "tcp", to)
}

// Addrs lists the mapped addresses and where they go, for reports.
func (d *MapDialer) Addrs() map[string]string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[string]string{}
	for ip, to := range d.m {
		out[ip.String()] = to
	}
	return out
}

// Port parses the port of "ip:port".
func Port(addr string) int {
	_, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	return n
}
