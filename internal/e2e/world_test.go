package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
)

// The mail domains of the world, under a parent zone signed with the
// resolver's trust anchor:
//
//   - good.e2e.test: healthy. Signed (DS in the parent), one MX host on a
//     Postfix with STARTTLS, DANE-EE TLSA records for the current and the
//     next key, an enforced MTA-STS policy on nginx, TLS-RPT, SPF with the
//     MX and an outbound address, a DKIM key under a selector only the
//     target's dkim_selector names (so the per-target relabeling is
//     proven) and an Ed25519 key the discovery finds, DMARC p=reject.
//   - broken.e2e.test: signed, but an SPF record of 11 includes, a 1024-bit
//     DKIM key in testing mode, no DMARC, an MX host whose certificate
//     expires in 10 days and matches none of its TLSA records, an MX host
//     without STARTTLS, an MTA-STS policy that names neither.
//   - listed.e2e.test: unsigned (no DS); MX at good's host; on the test
//     domain blocklist, and its outbound address on the test IP blocklist.
//   - bogus.e2e.test: signed, but the DS in the parent is for a key the
//     zone does not have, as after a key rollover that forgot the
//     registrar: the validating resolver answers SERVFAIL with an Extended
//     DNS Error, so dnssec.not_bogus fails and pages; every other check is
//     decided on the answers given with checking disabled, and passes
//     where it must (MX at good's host, SPF, a DKIM key the discovery
//     finds, DMARC p=reject).
//   - down.e2e.test: delegated to a name server that does not exist, so
//     the resolver answers SERVFAIL with or without checking disabled:
//     every probe ends in an error ("the exporter cannot tell"), which is
//     not DNSSEC.
//   - nodomain: not a domain at all; the exporter answers 400, so the
//     scrape fails (up 0).
//
// Blocklists live in bl.test: zen (IP list, lists the outbound address of
// listed.e2e.test as PBL), dbl (domain list, lists listed.e2e.test) and
// dead (lists everything, as lists that shut down do).
const (
	parentZone    = "e2e.test"
	goodDomain    = "good.e2e.test"
	brokenDomain  = "broken.e2e.test"
	listedDomain  = "listed.e2e.test"
	bogusDomain   = "bogus.e2e.test"
	downDomain    = "down.e2e.test"
	invalidTarget = "nodomain"
	blZone        = "bl.test"

	goodSelector = "e2e2048" // not in the discovery list: only dkim_selector finds it
	goodOutbound = "203.0.113.25"
	listedIP     = "198.51.100.77"
)

// Host numbers in the world's /24 of 127.0.0.0/8.
const (
	hostMXGood    = 10
	hostMXBroken1 = 20
	hostMXBroken2 = 30
	hostNginx     = 44
	hostResolver  = 53
	hostKnot      = 54
	hostExporter  = 75
	hostProm      = 90
)

// Real keys, as the in-process test world publishes them
// (internal/testbed/world.go; probes/dkim/realkeys_test.go says where each
// was copied from): gmail.com's 20230601 RSA-2048 key, RFC 8463's Ed25519
// test key, and signalk.org's RSA-1024 key in testing mode.
const (
	dkimRSA2048 = `"v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAntvSKT1hkqhKe0xcaZ0x+QbouDsJuBfby/S82jxsoC/SodmfmVs2D1KAH3mi1AqdMdU12h2VfETeOJkgGYq5ljd996AJ7ud2SyOLQmlhaNHH7Lx+Mdab8/zDN1SdxPARDgcM7AsRECHwQ15R20FaKUABGu4NTbR2fDKnYwiq5jQyBkL" "WP+LgGOgfUF4T4HZb2PY2bQtEP6QeqOtcW4rrsH24L7XhD+HSZb1hsitrE0VPbhJzxDwI4JF815XMnSVjZgYUXP8CxI1Y0FONlqtQYgsorZ9apoW1KPQe8brSSlRsi9sXB/tu56LmG7tEDNmrZ5XUwQYUUADBOu7t1niwXwIDAQAB"`
	dkimEd25519 = `"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="`
	dkimRSA1024 = `"v=DKIM1; k=rsa; t=y; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDKS3XYzFejuKKG8RtPC+SUIq2/NKN/Zbc+anRX6KBd9IwiL/HfFco/5ifYwEiTPOPrrOtcugdLplVatO/MIvYlF2DLJ8NGyTl/1iBdRp3Ft9XLbIdfslV0Jar3Tu0ZR1aGxfBwPuvna4fx5XcnxOc0wZ9+SNThfgbQr9ELIZBP3wIDAQAB"`
)

// world is one run's set of addresses, certificates and files.
type world struct {
	dir    string
	prefix string // "127.a.b."
	now    time.Time

	ca     *testbed.CA
	caFile string
	certs  map[string]*serverCert // by host name

	nextKeySPKI []byte // the next key of good's MX host, for its rollover TLSA
}

// serverCert is a certificate minted for a daemon, on disk.
type serverCert struct {
	leaf      *x509.Certificate
	certFile  string // the certificate (the root signs it directly)
	keyFile   string // its PKCS #8 key
	notBefore time.Time
	notAfter  time.Time
}

func (w *world) ip(host int) string { return fmt.Sprintf("%s%d", w.prefix, host) }

func (w *world) addr(host, port int) string {
	return net.JoinHostPort(w.ip(host), fmt.Sprint(port))
}

// reverseZone is the in-addr.arpa zone of the world's /24.
func (w *world) reverseZone() string {
	p := strings.Split(strings.TrimSuffix(w.prefix, "."), ".")
	return p[2] + "." + p[1] + "." + p[0] + ".in-addr.arpa"
}

// newWorld picks a /24 of 127.0.0.0/8 that nothing listens on (so parallel
// runs and other developers' daemons do not meet), and mints the
// certificates.
func newWorld(t *testing.T) *world {
	t.Helper()
	// Not t.TempDir(): its parent is private to root, and the daemons drop
	// to their own users (postfix, nobody) that must reach their files.
	dir, err := os.MkdirTemp("", "deliverability-e2e-")
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
	w := &world{dir: dir, now: time.Now(), certs: map[string]*serverCert{}}
	for attempt := 0; ; attempt++ {
		a, _ := rand.Int(rand.Reader, big.NewInt(150))
		b, _ := rand.Int(rand.Reader, big.NewInt(250))
		w.prefix = fmt.Sprintf("127.%d.%d.", 100+a.Int64(), 1+b.Int64())
		if free(w.ip(hostResolver)) && free(w.ip(hostMXGood)) {
			break
		}
		if attempt > 20 {
			t.Fatal("port 25 or 53 answers on every loopback address tried: something listens on the wildcard address (the system's own Postfix or resolver?); stop it")
		}
	}

	if w.ca, err = testbed.NewCA("deliverability_exporter e2e root"); err != nil {
		t.Fatal(err)
	}
	w.caFile = filepath.Join(w.dir, "ca.pem")
	writeFile(t, w.caFile, w.ca.PEM, 0o644)

	day := 24 * time.Hour
	for _, c := range []struct {
		name     string
		from, to time.Duration // relative to now
	}{
		{"mx1." + goodDomain, -day, 90 * day},
		{"mx1." + brokenDomain, -80 * day, 10 * day}, // MailTLSCertificateExpiringSoon
		{"mta-sts." + goodDomain, -day, 90 * day},
		{"mta-sts." + brokenDomain, -80 * day, 10 * day}, // MailMTASTSCertificateExpiringSoon
	} {
		w.certs[c.name] = w.mint(t, c.name, w.now.Add(c.from), w.now.Add(c.to))
	}

	// The key good's MX host will move to: its TLSA record is published
	// beside the current one (RFC 7671 §8.1), so dane.rollover passes.
	next, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if w.nextKeySPKI, err = x509.MarshalPKIXPublicKey(next.Public()); err != nil {
		t.Fatal(err)
	}
	return w
}

// free reports whether nothing listens on the address's DNS and SMTP ports.
func free(ip string) bool {
	for _, port := range []string{"25", "53"} {
		if c, err := net.DialTimeout("tcp", net.JoinHostPort(ip, port), 200*time.Millisecond); err == nil {
			c.Close()
			return false
		}
	}
	return true
}

// mint issues a certificate for name from the world's CA and writes it.
func (w *world) mint(t *testing.T, name string, notBefore, notAfter time.Time) *serverCert {
	t.Helper()
	cert, err := w.ca.Issue(testbed.CertOptions{DNSNames: []string{name}, NotBefore: notBefore, NotAfter: notAfter, Key: testbed.ECDSAP256})
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(w.dir, "tls")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	sc := &serverCert{leaf: cert.Leaf, notBefore: cert.Leaf.NotBefore, notAfter: cert.Leaf.NotAfter,
		certFile: filepath.Join(dir, name+".pem"), keyFile: filepath.Join(dir, name+".key")}
	var chain []byte
	for _, c := range cert.Certificate {
		chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c})...)
	}
	writeFile(t, sc.certFile, chain, 0o644)
	writeFile(t, sc.keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	return sc
}

// tlsa311 is the DANE-EE SPKI SHA-256 association data of a public key.
func tlsa311(spki []byte) string {
	sum := sha256.Sum256(spki)
	return hex.EncodeToString(sum[:])
}

// tlsConfig trusts the world's CA only.
func (w *world) tlsConfig(serverName string) *tls.Config {
	return &tls.Config{RootCAs: w.ca.Pool, ServerName: serverName, MinVersion: tls.VersionTLS12}
}

func writeFile(t *testing.T, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
}

// zones returns the zone files the authoritative server loads, by origin.
// The parent zone gets its DS records once the children are signed
// (parentZoneText).
func (w *world) zones() map[string]string {
	soa := func(origin string) string {
		return fmt.Sprintf("$ORIGIN %s.\n$TTL 300\n@ SOA ns.%s. hostmaster.%s. 1 3600 600 86400 300\n@ NS ns.%s.\n",
			origin, parentZone, parentZone, parentZone)
	}
	goodMX := w.certs["mx1."+goodDomain]
	brokenMX := w.certs["mx1."+brokenDomain]
	var includes []string
	var includeRecords strings.Builder
	for i := 1; i <= 11; i++ {
		includes = append(includes, fmt.Sprintf("include:s%d._spf.%s", i, brokenDomain))
		fmt.Fprintf(&includeRecords, "s%d._spf TXT \"v=spf1 ip4:192.0.2.%d -all\"\n", i, i)
	}
	srv := ""
	for _, s := range []string{"submission", "submissions", "imap", "imaps", "pop3", "pop3s"} {
		srv += fmt.Sprintf("_%s._tcp SRV 0 0 0 .\n", s) // "not offered" (RFC 6186 §4)
	}
	return map[string]string{
		goodDomain: soa(goodDomain) + fmt.Sprintf(`@ MX 10 mx1
@ TXT "v=spf1 mx ip4:%s -all"
@ CAA 0 issue "letsencrypt.org"
mx1 A %s
mx1 TXT "v=spf1 a -all"
_25._tcp.mx1 TLSA 3 1 1 %s
_25._tcp.mx1 TLSA 3 1 1 %s
%s._domainkey TXT %s
dkim._domainkey TXT %s
_dmarc TXT "v=DMARC1; p=reject; rua=mailto:dmarc-reports@%s"
_mta-sts TXT "v=STSv1; id=20261122e2e"
mta-sts A %s
_smtp._tls TXT "v=TLSRPTv1; rua=mailto:tlsrpt@%s"
%s`, goodOutbound, w.ip(hostMXGood), tlsa311(goodMX.leaf.RawSubjectPublicKeyInfo), tlsa311(w.nextKeySPKI),
			goodSelector, dkimRSA2048, dkimEd25519, goodDomain, w.ip(hostNginx), goodDomain, srv),

		brokenDomain: soa(brokenDomain) + fmt.Sprintf(`@ MX 10 mx1
@ MX 20 mx2
@ TXT "v=spf1 %s -all"
%smx1 A %s
mx1 TXT "v=spf1 a -all"
mx2 A %s
mx2 TXT "v=spf1 a -all"
_25._tcp.mx1 TLSA 3 1 1 %s
default._domainkey TXT %s
_mta-sts TXT "v=STSv1; id=1"
mta-sts A %s
`, strings.Join(includes, " "), includeRecords.String(), w.ip(hostMXBroken1), w.ip(hostMXBroken2),
			tlsa311(append([]byte("not the key "), brokenMX.leaf.RawSubjectPublicKeyInfo...)),
			dkimRSA1024, w.ip(hostNginx)),

		listedDomain: soa(listedDomain) + fmt.Sprintf(`@ MX 10 mx1.%s.
@ TXT "v=spf1 mx ip4:%s -all"
google._domainkey TXT %s
_dmarc TXT "v=DMARC1; p=none; rua=mailto:dmarc@%s"
`, goodDomain, listedIP, dkimRSA2048, listedDomain),

		bogusDomain: soa(bogusDomain) + fmt.Sprintf(`@ MX 10 mx1.%s.
@ TXT "v=spf1 mx -all"
google._domainkey TXT %s
_dmarc TXT "v=DMARC1; p=reject"
`, goodDomain, dkimRSA2048),

		w.reverseZone(): soa(w.reverseZone()) + fmt.Sprintf(`%d PTR mx1.%s.
%d PTR mx1.%s.
%d PTR mx2.%s.
`, hostMXGood, goodDomain, hostMXBroken1, brokenDomain, hostMXBroken2, brokenDomain),

		// RFC 5782 §5 test points: 127.0.0.2 listed, 127.0.0.1 not; "test"
		// listed on the domain list. The listed address answers as
		// Spamhaus' PBL does (127.0.0.11).
		blZone: soa(blZone) + fmt.Sprintf(`2.0.0.127.zen A 127.0.0.2
2.0.0.127.zen TXT "test point"
%s.zen A 127.0.0.11
%s.zen TXT "https://check.spamhaus.org/query/ip/%s"
test.dbl A 127.0.1.2
%s.dbl A 127.0.1.2
%s.dbl TXT "https://check.spamhaus.org/query/domain/%s"
*.dead A 127.0.0.2
`, reverseIP(listedIP), reverseIP(listedIP), listedIP, listedDomain, listedDomain, listedDomain),
	}
}

// parentZoneText is the parent zone with its delegations; ds holds the DS
// records of the signed children (and the wrong one of the bogus child).
func (w *world) parentZoneText(serial int, ds map[string][]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "$ORIGIN %s.\n$TTL 300\n@ SOA ns hostmaster %d 3600 600 86400 300\n@ NS ns\nns A %s\n",
		parentZone, serial, w.ip(hostKnot))
	for _, child := range []string{goodDomain, brokenDomain, listedDomain, bogusDomain} {
		label := strings.TrimSuffix(child, "."+parentZone)
		fmt.Fprintf(&b, "%s NS ns\n", label)
		for _, rr := range ds[child] {
			fmt.Fprintf(&b, "%s %s\n", label, rr)
		}
	}
	// A lame delegation: the name server's name does not exist.
	fmt.Fprintf(&b, "%s NS ns.nowhere\n", strings.TrimSuffix(downDomain, "."+parentZone))
	return b.String()
}

func reverseIP(ip string) string {
	p := strings.Split(ip, ".")
	return p[3] + "." + p[2] + "." + p[1] + "." + p[0]
}

// mtastsPolicies are the policies nginx serves, by host (RFC 8461 §3.2:
// CRLF line endings).
func mtastsPolicies() map[string]string {
	crlf := func(lines ...string) string { return strings.Join(lines, "\r\n") + "\r\n" }
	return map[string]string{
		"mta-sts." + goodDomain:   crlf("version: STSv1", "mode: enforce", "mx: mx1."+goodDomain, "max_age: 604800"),
		"mta-sts." + brokenDomain: crlf("version: STSv1", "mode: enforce", "mx: mail.elsewhere.test", "max_age: 86400"),
	}
}
