package testbed

import "testing"

// The example world: mail domains under the reserved .test TLD with
// addresses from the documentation ranges (RFC 5737, RFC 3849), written as
// their operators would publish them. The DKIM keys are real published
// keys: gmail.com's 20230601 key (RSA-2048), RFC 8463's Ed25519 test key,
// and signalk.org's RSA-1024 key in testing mode (see
// probes/dkim/realkeys_test.go for where each was copied from).
//
//   - example.test: healthy. Two MX hosts with IPv4 and IPv6, PTRs that
//     resolve back, role labels, CAA, RFC 6186 SRV records, DNSSEC-signed,
//     DKIM RSA-2048 and Ed25519 keys, DMARC p=reject with reports.
//   - broken.test: an MX that is an IP literal, one that is a CNAME, one
//     without addresses, one whose address has no PTR, one whose PTR does
//     not resolve back and looks generic; not signed; no CAA, no SRV; a
//     1024-bit DKIM key in testing mode; DMARC without p= (so p=none), at
//     pct=50, reporting to a destination that does not authorise it; an SPF
//     record with ptr, a void lookup and ?all.
//     Its address 198.51.100.77 is on the test blocklist zen.bl.test as
//     residential space (PBL), and broken.test is on the test domain list.
//   - nullmx.test: receives no mail (RFC 7505).
//   - nomx.test: publishes no MX (only an A record, which RFC 5321's
//     implicit MX would use and receivers frown upon).
//   - v6only.test: one MX host with only an IPv6 address.
const ExampleZones = `
$ORIGIN example.test.
$TTL 3600
@            IN SOA   ns1 hostmaster 2026112101 7200 3600 1209600 3600
@            IN NS    ns1
ns1          IN A     192.0.2.53
@            IN MX    10 mx1
@            IN MX    20 mx2
@            IN TXT   "v=spf1 mx -all"
@            IN CAA   0 issue "letsencrypt.org"
mx1          IN A     192.0.2.10
mx1          IN AAAA  2001:db8::10
mx2          IN A     192.0.2.20
mx2          IN AAAA  2001:db8::20
_submission._tcp  IN SRV 0 1 587 mx1
_submissions._tcp IN SRV 0 1 465 mx1
_imap._tcp   IN SRV   0 0 0 .
_imaps._tcp  IN SRV   0 1 993 mx1
_pop3._tcp   IN SRV   0 0 0 .
_pop3s._tcp  IN SRV   0 0 0 .
google._domainkey IN TXT "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAntvSKT1hkqhKe0xcaZ0x+QbouDsJuBfby/S82jxsoC/SodmfmVs2D1KAH3mi1AqdMdU12h2VfETeOJkgGYq5ljd996AJ7ud2SyOLQmlhaNHH7Lx+Mdab8/zDN1SdxPARDgcM7AsRECHwQ15R20FaKUABGu4NTbR2fDKnYwiq5jQyBkL" "WP+LgGOgfUF4T4HZb2PY2bQtEP6QeqOtcW4rrsH24L7XhD+HSZb1hsitrE0VPbhJzxDwI4JF815XMnSVjZgYUXP8CxI1Y0FONlqtQYgsorZ9apoW1KPQe8brSSlRsi9sXB/tu56LmG7tEDNmrZ5XUwQYUUADBOu7t1niwXwIDAQAB"
mail._domainkey   IN TXT "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
_dmarc       IN TXT   "v=DMARC1; p=reject; rua=mailto:dmarc-reports@example.test"
_smtp._tls   IN TXT   "v=TLSRPTv1; rua=mailto:tls-reports@example.test,https://reports.example.test/tlsrpt"

$ORIGIN broken.test.
@            IN MX    10 192.0.2.30.
@            IN MX    20 alias
@            IN MX    30 noaddr
@            IN MX    40 noptr
@            IN MX    50 generic
alias        IN CNAME mx1.example.test.
noptr        IN A     198.51.100.7
generic      IN A     198.51.100.77
@            IN TXT   "v=spf1 ptr mx a:noaddr.broken.test ?all"
default._domainkey IN TXT "v=DKIM1; k=rsa; t=y; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDKS3XYzFejuKKG8RtPC+SUIq2/NKN/Zbc+anRX6KBd9IwiL/HfFco/5ifYwEiTPOPrrOtcugdLplVatO/MIvYlF2DLJ8NGyTl/1iBdRp3Ft9XLbIdfslV0Jar3Tu0ZR1aGxfBwPuvna4fx5XcnxOc0wZ9+SNThfgbQr9ELIZBP3wIDAQAB"
_dmarc       IN TXT   "v=DMARC1; pct=50; rua=mailto:dmarc@reports.example.test"

$ORIGIN nullmx.test.
@            IN MX    0 .
@            IN TXT   "v=spf1 -all"
@            IN CAA   0 issue ";"
_dmarc       IN TXT   "v=DMARC1; p=reject;"

$ORIGIN nomx.test.
@            IN A     192.0.2.80

$ORIGIN v6only.test.
@            IN MX    10 mx
mx           IN AAAA  2001:db8::60

$ORIGIN zen.bl.test.
@            IN SOA   ns hostmaster 1 7200 3600 1209600 300
2.0.0.127    IN A     127.0.0.2
2.0.0.127    IN TXT   "https://check.spamhaus.org/ test point"
77.100.51.198 IN A    127.0.0.11
77.100.51.198 IN TXT  "https://check.spamhaus.org/query/ip/198.51.100.77"

$ORIGIN dbl.bl.test.
@            IN SOA   ns hostmaster 1 7200 3600 1209600 300
test         IN A     127.0.1.2
broken.test  IN A     127.0.1.2
broken.test  IN TXT   "https://check.spamhaus.org/query/domain/broken.test"

$ORIGIN 2.0.192.in-addr.arpa.
10           IN PTR   mx1.example.test.
20           IN PTR   mx2.example.test.

$ORIGIN 100.51.198.in-addr.arpa.
77           IN PTR   198-51-100-77.dyn.isp.test.

$ORIGIN 8.b.d.0.1.0.0.2.ip6.arpa.
0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0 IN PTR mx1.example.test.
0.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0 IN PTR mx2.example.test.
0.6.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0 IN PTR mx.v6only.test.
`

// StartExampleWorld starts a DNS server holding ExampleZones, with
// example.test and its reverse zones marked as DNSSEC-validated.
func StartExampleWorld(tb testing.TB) *DNSServer {
	tb.Helper()
	s := StartDNS(tb, ExampleZones)
	MarkExampleSecure(s)
	return s
}

// MarkExampleSecure sets the AD bit for the signed zones of ExampleZones.
func MarkExampleSecure(s *DNSServer) {
	s.SetSecure("example.test", "2.0.192.in-addr.arpa", "8.b.d.0.1.0.0.2.ip6.arpa")
}

// ExampleModule is a module config (indented for modules:) that runs every
// DNS-only probe against the example world through the resolver at addr,
// with the world's test blocklists instead of the public ones. The smtp and
// mtasts probes connect to the mail and policy hosts, which this world
// names by documentation addresses nothing listens on; tests of those
// probes start their servers on loopback, which the module opens (the
// probes connect to no loopback, private or documentation address
// otherwise).
func ExampleModule(name, addr string) string {
	return `  ` + name + `:
    timeout: 10s
    resolvers: ["` + addr + `"]
    allowed_networks: [127.0.0.0/8, "::1/128"]
    dns_query_timeout: 500ms
    dns_attempts: 2
    mx: {}
    spf: {}
    dkim: {}
    dmarc: {}
    tlsrpt: {}
    dnsbl:
      lists:
        - zone: zen.bl.test
          name: Test ZEN
          kind: ip
          ipv6: true
          codes: {127.0.0.2: SBL, 127.0.0.4: XBL, 127.0.0.10: PBL, 127.0.0.11: PBL}
          severities: {127.0.0.10: warning, 127.0.0.11: warning}
          error_codes: {127.255.255.254: query via public/open resolver}
        - zone: dbl.bl.test
          name: Test DBL
          kind: domain
          codes: {127.0.1.2: spam domain}
`
}
