package testbed

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// The mail world: domains whose MX hosts answer, each an SMTP server on its
// own loopback address (all on one port, as MX hosts share port 25), with
// certificates from one test CA, and an HTTPS server for the MTA-STS
// policy. Together with ExampleZones it shows every probe without the
// internet (internal/testbed/cmd/testworld).
//
//   - starttls.test: healthy. STARTTLS with a trusted certificate naming the
//     host, DANE-EE TLSA records for its key and the next (DNSSEC-validated),
//     an enforced MTA-STS policy. Only mx.ipv6 fails: loopback has no IPv6
//     address to give it besides ::1.
//   - expired.test: the MX certificate expired 20 minutes before the world
//     started.
//   - selfsigned.test: the MX certificate is self-signed.
//   - wrongname.test: the MX certificate names another host.
//   - notls.test: the MX host offers no STARTTLS.
//
// Every domain publishes TLS-RPT, SPF, DKIM (the example world's RSA-2048
// and Ed25519 keys), DMARC p=reject, CAA, RFC 6186 SRV records and a PTR for
// its MX address that resolves back, so each fails only what it is there
// for (and is unsigned, without TLSA records or an MTA-STS policy).
//
// The MX addresses are 127.25.0.10 to .14 and the policy host 127.25.0.80:
// Linux routes all of 127.0.0.0/8 to the loopback interface; elsewhere
// (macOS) add them first, e.g. `sudo ifconfig lo0 alias 127.25.0.10`.
const (
	mailWorldNet    = "127.25.0."
	mailWorldPolicy = mailWorldNet + "80"
)

// mailWorldHost is one MX host of the mail world.
type mailWorldHost struct {
	domain string
	ip     string
	cert   func(ca *CA) (*tls.Certificate, error) // nil: no STARTTLS
}

var mailWorldHosts = []mailWorldHost{
	{"starttls.test", mailWorldNet + "10", func(ca *CA) (*tls.Certificate, error) {
		c, err := ca.Issue(CertOptions{DNSNames: []string{"mx.starttls.test"}})
		return &c, err
	}},
	{"expired.test", mailWorldNet + "11", func(ca *CA) (*tls.Certificate, error) {
		// Within the CA's validity (from an hour before the world
		// started), so that only the dates are wrong.
		c, err := ca.Issue(CertOptions{DNSNames: []string{"mx.expired.test"},
			NotBefore: time.Now().Add(-50 * time.Minute), NotAfter: time.Now().Add(-20 * time.Minute)})
		return &c, err
	}},
	{"selfsigned.test", mailWorldNet + "12", func(ca *CA) (*tls.Certificate, error) {
		c, err := ca.Issue(CertOptions{DNSNames: []string{"mx.selfsigned.test"}, SelfSigned: true})
		return &c, err
	}},
	{"wrongname.test", mailWorldNet + "13", func(ca *CA) (*tls.Certificate, error) {
		c, err := ca.Issue(CertOptions{DNSNames: []string{"mail.elsewhere.test"}})
		return &c, err
	}},
	{"notls.test", mailWorldNet + "14", nil},
}

// MailWorldDomains are the mail world's domains, the healthy one first.
func MailWorldDomains() []string {
	var out []string
	for _, h := range mailWorldHosts {
		out = append(out, h.domain)
	}
	return out
}

// MailWorld is ExampleZones and the mail world, served: DNS on 127.0.0.1,
// the SMTP servers and the MTA-STS policy host on their loopback
// addresses.
type MailWorld struct {
	DNS   *DNSServer
	SMTP  []*SMTPServer
	HTTPS *HTTPSServer
	// CA issued every certificate but the self-signed one: a module's
	// ca_file must hold CA.PEM for them to verify.
	CA *CA
}

// NewMailWorld starts the world. Close stops it.
func NewMailWorld() (*MailWorld, error) {
	w := &MailWorld{}
	ok := false
	defer func() {
		if !ok {
			w.Close()
		}
	}()
	var err error
	if w.CA, err = NewCA("deliverability_exporter test world CA"); err != nil {
		return nil, err
	}
	if w.DNS, err = NewDNSServer(ExampleZones); err != nil {
		return nil, err
	}
	MarkExampleSecure(w.DNS)

	certs := map[string]*tls.Certificate{}
	var ips []string
	for _, h := range mailWorldHosts {
		ips = append(ips, h.ip)
		if h.cert != nil {
			c, err := h.cert(w.CA)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", h.domain, err)
			}
			certs[h.ip] = c
		}
	}
	if w.SMTP, err = NewSMTPGroup(ips, func(ip string) SMTPBehaviour {
		for _, h := range mailWorldHosts {
			if h.ip == ip {
				return SMTPBehaviour{Hostname: "mx." + h.domain, Certificate: certs[ip]}
			}
		}
		return SMTPBehaviour{}
	}); err != nil {
		return nil, fmt.Errorf("%w (outside Linux, add the loopback addresses %s10 to %s14 first)", err, mailWorldNet, mailWorldNet)
	}

	if w.HTTPS, err = NewHTTPSServer(net.JoinHostPort(mailWorldPolicy, "0")); err != nil {
		return nil, err
	}
	policyCert, err := w.CA.Issue(CertOptions{DNSNames: []string{"mta-sts.starttls.test"}})
	if err != nil {
		return nil, err
	}
	w.HTTPS.SetSite("mta-sts.starttls.test", HTTPSSite{Certificate: &policyCert,
		Body: "version: STSv1\r\nmode: enforce\r\nmx: mx.starttls.test\r\nmax_age: 604800\r\n"})

	// The key the healthy host moves to at its next renewal, published
	// ahead as DANE operators do (RFC 7671 §8.1).
	next, err := w.CA.Issue(CertOptions{DNSNames: []string{"mx.starttls.test"}})
	if err != nil {
		return nil, err
	}
	if err := w.DNS.AddZone(mailWorldZones(certs[mailWorldHosts[0].ip], &next)); err != nil {
		return nil, err
	}
	w.DNS.SetSecure("starttls.test")
	ok = true
	return w, nil
}

// mailWorldZones are the mail world's DNS data; good is the healthy
// host's certificate and next the one it will serve after its next
// renewal, whose keys its TLSA records name.
func mailWorldZones(good, next *tls.Certificate) string {
	spki := sha256.Sum256(good.Leaf.RawSubjectPublicKeyInfo)
	nextSPKI := sha256.Sum256(next.Leaf.RawSubjectPublicKeyInfo)
	var b strings.Builder
	for _, h := range mailWorldHosts {
		fmt.Fprintf(&b, `
$ORIGIN %[1]s.
$TTL 3600
@            IN SOA   ns1 hostmaster 2026120101 7200 3600 1209600 3600
@            IN NS    ns1
ns1          IN A     192.0.2.53
@            IN MX    10 mx
@            IN TXT   "v=spf1 mx -all"
mx           IN A     %[2]s
mx           IN TXT   "v=spf1 a -all"
_dmarc       IN TXT   "v=DMARC1; p=reject; rua=mailto:dmarc-reports@%[1]s"
_smtp._tls   IN TXT   "v=TLSRPTv1; rua=mailto:tls-reports@%[1]s"
@            IN CAA   0 issue "letsencrypt.org"
mail._domainkey IN TXT "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
google._domainkey IN TXT "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAntvSKT1hkqhKe0xcaZ0x+QbouDsJuBfby/S82jxsoC/SodmfmVs2D1KAH3mi1AqdMdU12h2VfETeOJkgGYq5ljd996AJ7ud2SyOLQmlhaNHH7Lx+Mdab8/zDN1SdxPARDgcM7AsRECHwQ15R20FaKUABGu4NTbR2fDKnYwiq5jQyBkL" "WP+LgGOgfUF4T4HZb2PY2bQtEP6QeqOtcW4rrsH24L7XhD+HSZb1hsitrE0VPbhJzxDwI4JF815XMnSVjZgYUXP8CxI1Y0FONlqtQYgsorZ9apoW1KPQe8brSSlRsi9sXB/tu56LmG7tEDNmrZ5XUwQYUUADBOu7t1niwXwIDAQAB"
_submission._tcp  IN SRV 0 1 587 mx
_submissions._tcp IN SRV 0 1 465 mx
_imap._tcp   IN SRV   0 0 0 .
_imaps._tcp  IN SRV   0 0 0 .
_pop3._tcp   IN SRV   0 0 0 .
_pop3s._tcp  IN SRV   0 0 0 .
`, h.domain, h.ip)
	}
	// Only the healthy domain is signed, publishes TLSA records and an
	// MTA-STS policy.
	fmt.Fprintf(&b, `
$ORIGIN starttls.test.
_mta-sts     IN TXT   "v=STSv1; id=20261201T000000"
mta-sts      IN A     %s
_25._tcp.mx  IN TLSA  3 1 1 %s
_25._tcp.mx  IN TLSA  3 1 1 %s

$ORIGIN 0.25.127.in-addr.arpa.
`, mailWorldPolicy, hex.EncodeToString(spki[:]), hex.EncodeToString(nextSPKI[:]))
	for _, h := range mailWorldHosts {
		last := h.ip[strings.LastIndex(h.ip, ".")+1:]
		fmt.Fprintf(&b, "%-12s IN PTR   mx.%s.\n", last, h.domain)
	}
	return b.String()
}

// Module is a module config (indented for modules:) that runs every probe
// against the world through its resolver: the example world's DNS-only
// probes (ExampleModule), and smtp and mtasts on the world's ports,
// trusting the certificates in caFile (which must hold CA.PEM).
func (w *MailWorld) Module(name, caFile string) string {
	return ExampleModule(name, w.DNS.Addr) + `    ca_file: ` + strconv.Quote(caFile) + `
    smtp:
      port: ` + strconv.Itoa(w.SMTP[0].Port()) + `
      ehlo_name: probe.testworld.test
    mtasts:
      https_port: ` + strconv.Itoa(w.HTTPS.Port()) + `
`
}

// Close stops every server of the world.
func (w *MailWorld) Close() {
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
}
