// Package providerworld is the second test world beside internal/testbed's
// example world: mail domains configured exactly as the large providers
// tell their customers to configure them (Google Workspace, Microsoft 365,
// Amazon SES, Mailgun, SendGrid, Fastmail, Proton Mail, Zoho Mail), a
// self-hosted Postfix with DNSSEC, DANE and MTA-STS, a parked domain, and a
// domain forwarded by Cloudflare Email Routing, with the providers' own
// records (SPF include trees, DKIM keys at the CNAME targets, MX hosts and
// their reverse DNS) under their real names. Everything is served on
// loopback: the zones by a testbed DNS server, the self-hosted MX hosts by
// testbed SMTP servers, the MTA-STS policy hosts by a testbed HTTPS server,
// their certificates by a test CA.
//
// The zones and where each record shape comes from are in zones.go; the
// verdicts the exporter must reach on them are in providers_test.go and
// docs/providers.md.
package providerworld

import (
	"crypto"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
)

// The self-hosted domain's mail hosts. MX3 is in no MX record until a test
// moves the domain's mail to it.
const (
	MX1 = "mx1.selfhosted.test"
	MX2 = "mx2.selfhosted.test"
	MX3 = "mx3.selfhosted.test"
)

// mxAddrs are the loopback addresses the self-hosted MX hosts listen on.
var mxAddrs = map[string]string{MX1: "127.0.0.25", MX2: "127.0.0.26", MX3: "127.0.0.27"}

// Policies are the MTA-STS policies the policy hosts serve, by host.
var Policies = map[string]string{
	// Google's example policy for Workspace domains, in enforce mode
	// (support.google.com/a/answer/9276511).
	"mta-sts.workspace.test": "version: STSv1\r\nmode: enforce\r\nmx: aspmx.l.google.com\r\nmx: *.aspmx.l.google.com\r\nmax_age: 86400\r\n",
	// Microsoft's for Exchange Online ("Enhancing mail flow with MTA-STS").
	"mta-sts.m365.test": "version: STSv1\r\nmode: enforce\r\nmx: *.mail.protection.outlook.com\r\nmax_age: 604800\r\n",
	// The other customers' own policy hosts, naming their provider's MX
	// hosts (RFC 8461 §3.2).
	"mta-sts.ses.test":        "version: STSv1\r\nmode: enforce\r\nmx: inbound-smtp.us-east-1.amazonaws.com\r\nmax_age: 604800\r\n",
	"mta-sts.mg.mailgun.test": "version: STSv1\r\nmode: enforce\r\nmx: mxa.mailgun.org\r\nmx: mxb.mailgun.org\r\nmax_age: 604800\r\n",
	"mta-sts.sendgrid.test":   "version: STSv1\r\nmode: enforce\r\nmx: mx.sendgrid.net\r\nmax_age: 604800\r\n",
	"mta-sts.fastmail.test":   "version: STSv1\r\nmode: enforce\r\nmx: *.messagingengine.com\r\nmax_age: 604800\r\n",
	"mta-sts.proton.test":     "version: STSv1\r\nmode: enforce\r\nmx: mail.protonmail.ch\r\nmx: mailsec.protonmail.ch\r\nmax_age: 604800\r\n",
	"mta-sts.zoho.test":       "version: STSv1\r\nmode: enforce\r\nmx: *.zoho.com\r\nmax_age: 604800\r\n",
	"mta-sts.forwarded.test":  "version: STSv1\r\nmode: enforce\r\nmx: *.mx.cloudflare.net\r\nmax_age: 604800\r\n",
	"mta-sts.selfhosted.test": "version: STSv1\r\nmode: enforce\r\nmx: " + MX1 + "\r\nmx: " + MX2 + "\r\nmax_age: 604800\r\n",
}

// World is a running provider world.
type World struct {
	DNS   *testbed.DNSServer
	HTTPS *testbed.HTTPSServer
	CA    *testbed.CA
	// CAFile holds the test CA's certificate, for the module's ca_file.
	CAFile string
	// SMTP are the self-hosted MX hosts' servers, by host name; all listen
	// on SMTPPort.
	SMTP     map[string]*testbed.SMTPServer
	SMTPPort int
	// Certs are the certificates the SMTP servers present, by host name.
	Certs map[string]tls.Certificate
}

// Start starts the world for a test; it stops when the test ends.
func Start(tb testing.TB) *World {
	tb.Helper()
	// A root older than the certificates it signed, as real roots are:
	// an MX certificate that expired last week was issued under it.
	ca, err := testbed.NewCAValidFrom("Provider World CA", time.Now().AddDate(-3, 0, 0))
	if err != nil {
		tb.Fatal(err)
	}
	w := &World{CA: ca, SMTP: map[string]*testbed.SMTPServer{}, Certs: map[string]tls.Certificate{}}

	for host := range mxAddrs {
		cert, err := ca.Issue(testbed.CertOptions{DNSNames: []string{host}})
		if err != nil {
			tb.Fatal(err)
		}
		w.Certs[host] = cert
	}
	ips := []string{mxAddrs[MX1], mxAddrs[MX2], mxAddrs[MX3]}
	hostOf := map[string]string{}
	for h, ip := range mxAddrs {
		hostOf[ip] = h
	}
	group := testbed.StartSMTPGroup(tb, ips, func(ip string) testbed.SMTPBehaviour {
		return w.Behaviour(hostOf[ip])
	})
	for i, s := range group {
		w.SMTP[hostOf[ips[i]]] = s
	}
	w.SMTPPort = group[0].Port()

	w.HTTPS = testbed.StartHTTPS(tb, "127.0.0.1:0")
	for host, body := range Policies {
		cert, err := ca.Issue(testbed.CertOptions{DNSNames: []string{host}})
		if err != nil {
			tb.Fatal(err)
		}
		w.HTTPS.SetSite(host, testbed.HTTPSSite{Certificate: &cert, Body: body})
	}

	w.CAFile = filepath.Join(tb.TempDir(), "provider-world-ca.pem")
	if err := os.WriteFile(w.CAFile, ca.PEM, 0o600); err != nil {
		tb.Fatal(err)
	}

	zones, err := w.zoneText()
	if err != nil {
		tb.Fatal(err)
	}
	w.DNS = testbed.StartDNS(tb, zones...)
	w.DNS.SetSecure(signedZones...)
	return w
}

// Behaviour is what a self-hosted MX host's server does: Postfix greeting
// with its own name, STARTTLS with the host's certificate, no AUTH on port
// 25.
func (w *World) Behaviour(host string) testbed.SMTPBehaviour {
	cert := w.Certs[host]
	return testbed.SMTPBehaviour{
		Hostname:    host,
		Greeting:    "220 " + host + " ESMTP Postfix",
		Extensions:  []string{"PIPELINING", "SIZE 52428800", "ENHANCEDSTATUSCODES", "8BITMIME", "DSN", "SMTPUTF8", "CHUNKING"},
		Certificate: &cert,
	}
}

// ExpireCertificate makes host present a certificate that expired two days
// ago, with the same key (a renewal that failed on that host only: the
// DANE-EE record pinning the key still matches).
func (w *World) ExpireCertificate(tb testing.TB, host string) {
	tb.Helper()
	current := w.Certs[host]
	expired, err := w.CA.Issue(testbed.CertOptions{DNSNames: []string{host}, PrivateKey: current.PrivateKey.(crypto.Signer),
		NotBefore: time.Now().AddDate(0, -3, -2), NotAfter: time.Now().AddDate(0, 0, -2)})
	if err != nil {
		tb.Fatal(err)
	}
	w.Certs[host] = expired
	w.SMTP[host].SetBehaviour(w.Behaviour(host))
}

// MXRecords returns zone lines that publish host as a self-hosted MX host
// the way the others are: address, PTR, HELO SPF record and TLSA record
// for its key.
func (w *World) MXRecords(host string) []string {
	ip := mxAddrs[host]
	rev, _ := dns.ReverseAddr(ip)
	return []string{
		host + ". 3600 IN A " + ip,
		host + `. 3600 IN TXT "v=spf1 a -all"`,
		rev + " 3600 IN PTR " + host + ".",
		"_25._tcp." + host + ". 3600 IN TLSA 3 1 1 " + tlsaDigest(w.Certs[host]),
	}
}

// ModuleYAML is the configuration (a whole file) of module name, running
// every probe against the world: its resolver, its CA, the SMTP and HTTPS
// ports of its servers, loopback as the only network connections may go
// to (so no probe ever connects to a provider's public address), and the
// world's test blocklists instead of the public ones.
func (w *World) ModuleYAML(name string) string {
	return fmt.Sprintf(`modules:
  %s:
    timeout: 20s
    resolvers: [%q]
    dns_query_timeout: 2s
    dns_attempts: 2
    dns_cache_max_ttl: 0s
    ca_file: %s
    allowed_networks: [127.0.0.0/8]
    mx: {}
    spf: {}
    dkim: {}
    dmarc: {}
    tlsrpt: {}
    mtasts: {https_port: %d}
    smtp: {port: %d, ehlo_name: probe.monitoring.test}
    dnsbl:
      lists:
        - zone: zen.bl.test
          name: Test ZEN
          kind: ip
          ipv6: true
          codes: {127.0.0.2: SBL, 127.0.0.4: XBL, 127.0.0.10: PBL, 127.0.0.11: PBL}
          error_codes: {127.255.255.254: query via public/open resolver}
        - zone: dbl.bl.test
          name: Test DBL
          kind: domain
          codes: {127.0.1.2: spam domain}
`, name, w.DNS.Addr, w.CAFile, w.HTTPS.Port(), w.SMTPPort)
}

// zoneText fills the placeholders of the zones and renders the reverse
// DNS.
func (w *World) zoneText() ([]string, error) {
	fill := strings.NewReplacer(
		"{gmailKey}", gmailKey,
		"{neoLinkM365Key}", neoLinkM365Key,
		"{keyM365Selector2}", txt("v=DKIM1; k=rsa; p="+keyM365Selector2+";"),
		"{sesKey1}", txt("p="+keySes1),
		"{sesKey2}", txt("p="+keySes2),
		"{sesKey3}", txt("p="+keySes3),
		"{keyMailgun}", txt("k=rsa; p="+keyMailgun),
		"{sendGridKey1}", txt("k=rsa; t=s; p="+keySendGrid1),
		"{sendGridKey2}", txt("k=rsa; t=s; p="+keySendGrid2),
		"{fastmailKey1}", txt("v=DKIM1; k=rsa; p="+keyFastmail1),
		"{fastmailKey2}", txt("v=DKIM1; k=rsa; p="+keyFastmail2),
		"{fastmailKey3}", txt("v=DKIM1; k=rsa; p="+keyFastmail3),
		"{protonKey1}", txt("v=DKIM1; k=rsa; p="+keyProton1),
		"{protonKey2}", txt("v=DKIM1; k=rsa; p="+keyProton2),
		"{protonKey3}", txt("v=DKIM1; k=rsa; p="+keyProton3),
		"{keyZoho}", txt("v=DKIM1; k=rsa; p="+keyZoho),
		"{selfHostedKey}", txt("v=DKIM1; k=rsa; p="+selfHostedKey),
		"{cloudflareKey}", txt("v=DKIM1; h=sha256; k=rsa; p="+cloudflareKey),
		"{tlsaMX1}", tlsaDigest(w.Certs[MX1]),
		"{tlsaMX2}", tlsaDigest(w.Certs[MX2]),
	)
	customers, providers := fill.Replace(customerZones), fill.Replace(providerZones)
	for _, z := range []string{customers, providers} {
		if i := strings.IndexByte(z, '{'); i >= 0 {
			return nil, fmt.Errorf("unfilled placeholder at %q", z[i:min(len(z), i+40)])
		}
	}
	var reverse strings.Builder
	reverse.WriteString("$TTL 3600\n")
	for _, r := range reverseDNS {
		rev, err := dns.ReverseAddr(r.ip)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&reverse, "%s IN PTR %s\n", rev, r.name)
		if r.forward {
			typ := "A"
			if net.ParseIP(r.ip).To4() == nil {
				typ = "AAAA"
			}
			fmt.Fprintf(&reverse, "%s IN %s %s\n", r.name, typ, r.ip)
		}
	}
	return []string{customers, providers, reverse.String()}, nil
}

// txt renders s as the character-strings of one TXT record, split at 255
// bytes as DNS hosting panels split long keys.
func txt(s string) string {
	var parts []string
	for len(s) > 255 {
		parts = append(parts, `"`+s[:255]+`"`)
		s = s[255:]
	}
	return strings.Join(append(parts, `"`+s+`"`), " ")
}

// tlsaDigest is the "3 1 1" association data of a certificate: the SHA-256
// of its SubjectPublicKeyInfo.
func tlsaDigest(cert tls.Certificate) string {
	sum := sha256.Sum256(cert.Leaf.RawSubjectPublicKeyInfo)
	return hex.EncodeToString(sum[:])
}
