package providerworld

// The zone data of the provider world, as zone-file text. Customer domains
// are under .test (RFC 2606) and publish exactly what their provider's setup
// guide tells them to, cited beside each record set. Provider
// infrastructure keeps its real names (aspmx.l.google.com,
// spf.protection.outlook.com, …) and is served only by the in-process
// resolver on 127.0.0.1; no query or connection leaves loopback.
//
// What is exact and what is a stand-in:
//   - Exact: every customer record's name, type and text shape; the
//     provider names the customer records point at; the structure of the
//     providers' SPF trees (which name includes which, and so the lookup
//     counts).
//   - Transcribed from published answers (sources beside each): the
//     ip4/ip6 netblocks of Google, Microsoft, Amazon SES, SendGrid, Mailgun
//     (as probes/spf/world_test.go transcribed them in 2024) and Proton
//     (checkdmarc's documentation of proton.me, 2025), and Proton's MX
//     addresses and TLSA records.
//   - Stand-ins, marked "stand-in" where they appear: the address lists of
//     Fastmail, Zoho and Cloudflare's SPF records and most MX host
//     addresses (public addresses of the provider's network, as many as
//     the provider's MX answers carry), and the PTR names of hosts whose
//     reverse DNS no public source quotes. A stand-in keeps the shape that
//     matters to a verdict: addresses outside the customer's control,
//     forward-confirmed reverse DNS under the provider's name, inbound
//     addresses that are not in the provider's SPF ranges where that is so
//     for the providers quoted exactly (Google, Proton).
//
// The self-hosted domain's mail hosts are the one thing on loopback
// (127.0.0.25 and up), because the smtp probe talks to them; every
// provider address is public and outside the module's allowed_networks, so
// the probes never connect to one.

// Every customer that receives mail also publishes what the exporter's
// should-level checks ask of any domain and no provider forbids: DNSSEC
// (signed at its DNS host), an MTA-STS policy (served by a policy host of
// its own, naming its provider's MX hosts, as RFC 8461 §3.2 has it; Google
// and Microsoft document the policy, the others leave it to the customer)
// and a TLS-RPT record (RFC 8460). A domain without them is not broken, but
// it is not the "correctly configured" domain these tests are about.

// customerZones are the customer domains, one block each. Placeholders in
// {braces} are filled in by the world: DKIM keys (split into TXT strings)
// and the TLSA digests of the self-hosted MX certificates.
const customerZones = `
$TTL 3600

; ---------------------------------------------------------------------------
; Google Workspace. MX: the five hosts of Google Workspace Admin Help
; "Google Workspace MX records values" (support.google.com/a/answer/174125,
; the set for domains set up before 2023; new ones get "1 smtp.google.com").
; SPF: "v=spf1 include:_spf.google.com ~all" (support.google.com/a/answer/
; 10685031). DKIM: the TXT record Google generates, under its default
; selector "google" (support.google.com/a/answer/11611356). MTA-STS and
; TLS-RPT as "Set up MTA-STS and TLS reporting" (support.google.com/a/answer/
; 9276511) shows: the policy lists aspmx.l.google.com and
; *.aspmx.l.google.com.
$ORIGIN workspace.test.
@                 IN SOA  ns1 hostmaster 2025030101 7200 3600 1209600 3600
@                 IN NS   ns1
ns1               IN A    192.0.2.53
@                 IN MX   1  aspmx.l.google.com.
@                 IN MX   5  alt1.aspmx.l.google.com.
@                 IN MX   5  alt2.aspmx.l.google.com.
@                 IN MX   10 alt3.aspmx.l.google.com.
@                 IN MX   10 alt4.aspmx.l.google.com.
@                 IN TXT  "google-site-verification=rXOxyZounnZasA8Z7oaD3c14JdjS9aKSWvsR1EbUSIQ"
@                 IN TXT  "v=spf1 include:_spf.google.com ~all"
google._domainkey IN TXT  {gmailKey}
_dmarc            IN TXT  "v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@workspace.test"
_mta-sts          IN TXT  "v=STSv1; id=20250301T120000"
mta-sts           IN A    127.0.0.1
_smtp._tls        IN TXT  "v=TLSRPTv1; rua=mailto:tls-reports@workspace.test"

; ---------------------------------------------------------------------------
; Microsoft 365. MX "0 <domain with dashes>.mail.protection.outlook.com",
; SPF "v=spf1 include:spf.protection.outlook.com -all", autodiscover CNAME
; (Microsoft Learn, "Add DNS records to connect your domain"; Domain
; Connect template microsoft.com.o365 gives priority 0). DKIM: two CNAMEs,
; selector1/selector2._domainkey to selectorN-<domain with dashes>._domainkey.
; <initial domain> (Microsoft Learn, "Use DKIM for email in your custom
; domain"; Get-DkimSigningConfig Selector1CNAME). MTA-STS: "mx:
; *.mail.protection.outlook.com" (Microsoft Learn, "Enhancing mail flow
; with MTA-STS").
$ORIGIN m365.test.
@                    IN SOA   ns1 hostmaster 2025030101 7200 3600 1209600 3600
@                    IN NS    ns1
ns1                  IN A     192.0.2.53
@                    IN MX    0 m365-test.mail.protection.outlook.com.
@                    IN TXT   "MS=ms48613457"
@                    IN TXT   "v=spf1 include:spf.protection.outlook.com -all"
autodiscover         IN CNAME autodiscover.outlook.com.
selector1._domainkey IN CNAME selector1-m365-test._domainkey.m365test.onmicrosoft.com.
selector2._domainkey IN CNAME selector2-m365-test._domainkey.m365test.onmicrosoft.com.
_dmarc               IN TXT   "v=DMARC1; p=reject; rua=mailto:dmarc-reports@m365.test"
_mta-sts             IN TXT   "v=STSv1; id=20250301T120000"
mta-sts              IN A     127.0.0.1
_smtp._tls           IN TXT   "v=TLSRPTv1; rua=mailto:tls-reports@m365.test"

; ---------------------------------------------------------------------------
; Amazon SES. Easy DKIM: three CNAMEs "<token>._domainkey" to
; "<token>.dkim.amazonses.com" (SES Developer Guide, "Easy DKIM"; the
; tokens are random per identity, so no discovery list can know them: a
; module names them, as the test does with dkim_selector=). Custom MAIL
; FROM "mail.ses.test": "10 feedback-smtp.<region>.amazonses.com" and
; "v=spf1 include:amazonses.com ~all" (SES Developer Guide, "Using a
; custom MAIL FROM domain"). Mail to the domain is received by SES itself:
; "10 inbound-smtp.<region>.amazonaws.com" (SES Developer Guide, "Publishing
; an MX record for Amazon SES email receiving").
$ORIGIN ses.test.
@          IN SOA  ns1 hostmaster 2025030101 7200 3600 1209600 3600
@          IN NS   ns1
ns1        IN A    192.0.2.53
@          IN MX   10 inbound-smtp.us-east-1.amazonaws.com.
@          IN TXT  "v=spf1 include:amazonses.com ~all"
_amazonses IN TXT  "pmBGN/7MjnfhTKUZ06Enqq1PeGUaOkw8lGhcfwefcHU="
4q6sbvlyh7hfm6zn4ya3ovq3b3lwhmw4._domainkey IN CNAME 4q6sbvlyh7hfm6zn4ya3ovq3b3lwhmw4.dkim.amazonses.com.
ycd3ekbpfbq2o5ctkk6zsuvqhbq4xrtf._domainkey IN CNAME ycd3ekbpfbq2o5ctkk6zsuvqhbq4xrtf.dkim.amazonses.com.
n7wklqzizhu5t4gxvd3dmp5ayoodbvf6._domainkey IN CNAME n7wklqzizhu5t4gxvd3dmp5ayoodbvf6.dkim.amazonses.com.
mail       IN MX   10 feedback-smtp.us-east-1.amazonses.com.
mail       IN TXT  "v=spf1 include:amazonses.com ~all"
_dmarc     IN TXT  "v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@ses.test"
_smtp._tls IN TXT  "v=TLSRPTv1; rua=mailto:tls-reports@ses.test"
_mta-sts   IN TXT  "v=STSv1; id=20250301T120000"
mta-sts    IN A    127.0.0.1

; ---------------------------------------------------------------------------
; Mailgun, on the sending subdomain Mailgun advises ("mg.<domain>"): SPF
; "v=spf1 include:mailgun.org ~all", a DKIM TXT record "k=rsa; p=…" under
; the selector Mailgun assigns ("mx" for many accounts), "10 mxa.mailgun.org"
; and "10 mxb.mailgun.org" for receiving, CNAME "email" to mailgun.org for
; tracking (Mailgun documentation, "Domain verification setup guide").
; DMARC is the organisational domain's.
$ORIGIN mailgun.test.
@                     IN SOA  ns1 hostmaster 2025030101 7200 3600 1209600 3600
@                     IN NS   ns1
ns1                   IN A    192.0.2.53
_dmarc                IN TXT  "v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@mailgun.test"
mg                    IN MX   10 mxa.mailgun.org.
mg                    IN MX   10 mxb.mailgun.org.
mg                    IN TXT  "v=spf1 include:mailgun.org ~all"
mx._domainkey.mg      IN TXT  {keyMailgun}
email.mg              IN CNAME mailgun.org.
_smtp._tls.mg         IN TXT  "v=TLSRPTv1; rua=mailto:tls-reports@mailgun.test"
_mta-sts.mg           IN TXT  "v=STSv1; id=20250301T120000"
mta-sts.mg            IN A    127.0.0.1

; ---------------------------------------------------------------------------
; SendGrid (Twilio) with automated security: "em<n>" CNAME to
; "u<id>.wl<n>.sendgrid.net" (the return path, whose SPF and MX SendGrid
; keeps), "s1/s2._domainkey" CNAME to "s1/s2.domainkey.u<id>.wl<n>.sendgrid.net"
; (Twilio SendGrid docs, "How to set up domain authentication"). Mail to the
; domain goes to Inbound Parse: "10 mx.sendgrid.net" (Twilio SendGrid docs,
; "Setting up the Inbound Parse Webhook").
$ORIGIN sendgrid.test.
@              IN SOA   ns1 hostmaster 2025030101 7200 3600 1209600 3600
@              IN NS    ns1
ns1            IN A     192.0.2.53
@              IN MX    10 mx.sendgrid.net.
@              IN TXT   "v=spf1 include:sendgrid.net ~all"
em4821         IN CNAME u31337.wl138.sendgrid.net.
s1._domainkey  IN CNAME s1.domainkey.u31337.wl138.sendgrid.net.
s2._domainkey  IN CNAME s2.domainkey.u31337.wl138.sendgrid.net.
_dmarc         IN TXT   "v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@sendgrid.test"
_smtp._tls     IN TXT   "v=TLSRPTv1; rua=mailto:tls-reports@sendgrid.test"
_mta-sts       IN TXT   "v=STSv1; id=20250301T120000"
mta-sts        IN A     127.0.0.1

; ---------------------------------------------------------------------------
; Fastmail, DNS hosted elsewhere: "10 in1-smtp.messagingengine.com",
; "20 in2-smtp.messagingengine.com", "v=spf1 include:spf.messagingengine.com
; ~all", three DKIM CNAMEs "fmN._domainkey" to
; "fmN.<domain>.dkim.fmhosted.com", and RFC 6186 SRV records for its client
; services (Fastmail help, "Manual DNS configuration":
; fastmail.help/hc/en-us/articles/360060591153). Fastmail's default record
; ends in a neutral "?all", meant for domains that also send through other
; services; for a domain Fastmail is the only sender for, Fastmail says to
; end it in "~all" or "-all", which is this customer: its record ends in
; ~all. (The default ?all fails spf.all_policy by design: docs/checks.md,
; acceptable_all admits it; docs/providers.md says so.)
$ORIGIN fastmail.test.
@                IN SOA   ns1 hostmaster 2025030101 7200 3600 1209600 3600
@                IN NS    ns1
ns1              IN A     192.0.2.53
@                IN MX    10 in1-smtp.messagingengine.com.
@                IN MX    20 in2-smtp.messagingengine.com.
@                IN TXT   "v=spf1 include:spf.messagingengine.com ~all"
fm1._domainkey   IN CNAME fm1.fastmail.test.dkim.fmhosted.com.
fm2._domainkey   IN CNAME fm2.fastmail.test.dkim.fmhosted.com.
fm3._domainkey   IN CNAME fm3.fastmail.test.dkim.fmhosted.com.
_submission._tcp IN SRV   0 1 587 smtp.fastmail.com.
_submissions._tcp IN SRV  0 1 465 smtp.fastmail.com.
_imap._tcp       IN SRV   0 0 0 .
_imaps._tcp      IN SRV   0 1 993 imap.fastmail.com.
_pop3._tcp       IN SRV   0 0 0 .
_pop3s._tcp      IN SRV   10 1 995 pop.fastmail.com.
_dmarc           IN TXT   "v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@fastmail.test"
_smtp._tls       IN TXT   "v=TLSRPTv1; rua=mailto:tls-reports@fastmail.test"
_mta-sts         IN TXT   "v=STSv1; id=20250301T120000"
mta-sts          IN A     127.0.0.1

; ---------------------------------------------------------------------------
; Proton Mail: "10 mail.protonmail.ch", "20 mailsec.protonmail.ch", a
; "protonmail-verification=" TXT, "v=spf1 include:_spf.protonmail.ch ~all",
; three DKIM CNAMEs "protonmail, protonmail2, protonmail3._domainkey" to
; "<selector>.domainkey.d<hash>.domains.proton.ch", and DMARC
; "v=DMARC1; p=quarantine" (Proton support, "How to set up a custom domain"
; and "Anti-spoofing for custom domains (SPF, DKIM, and DMARC)").
$ORIGIN proton.test.
@                      IN SOA   ns1 hostmaster 2025030101 7200 3600 1209600 3600
@                      IN NS    ns1
ns1                    IN A     192.0.2.53
@                      IN MX    10 mail.protonmail.ch.
@                      IN MX    20 mailsec.protonmail.ch.
@                      IN TXT   "protonmail-verification=5b33ee6a07ad0bd9f0eec3cbbad2c4fdd8a5f26a"
@                      IN TXT   "v=spf1 include:_spf.protonmail.ch ~all"
protonmail._domainkey  IN CNAME protonmail.domainkey.dq4nsdeg4ruuqbhnvnqudh7aclpbahy3ghmvjskvt52hmdqogmxoa.domains.proton.ch.
protonmail2._domainkey IN CNAME protonmail2.domainkey.dq4nsdeg4ruuqbhnvnqudh7aclpbahy3ghmvjskvt52hmdqogmxoa.domains.proton.ch.
protonmail3._domainkey IN CNAME protonmail3.domainkey.dq4nsdeg4ruuqbhnvnqudh7aclpbahy3ghmvjskvt52hmdqogmxoa.domains.proton.ch.
_dmarc                 IN TXT   "v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@proton.test"
_smtp._tls             IN TXT   "v=TLSRPTv1; rua=mailto:tls-reports@proton.test"
_mta-sts               IN TXT   "v=STSv1; id=20250301T120000"
mta-sts                IN A     127.0.0.1

; ---------------------------------------------------------------------------
; Zoho Mail (US data centre): "10 mx.zoho.com", "20 mx2.zoho.com",
; "50 mx3.zoho.com", a "zoho-verification=" TXT, "v=spf1 include:zohomail.com
; ~all", and a DKIM TXT record under the selector the admin names in the
; console ("zmail" in customers' zones) (Zoho Mail help, "Configure email
; delivery: MX records", "SPF configuration", "DKIM configuration").
$ORIGIN zoho.test.
@               IN SOA  ns1 hostmaster 2025030101 7200 3600 1209600 3600
@               IN NS   ns1
ns1             IN A    192.0.2.53
@               IN MX   10 mx.zoho.com.
@               IN MX   20 mx2.zoho.com.
@               IN MX   50 mx3.zoho.com.
@               IN TXT  "zoho-verification=zb31337117.zmverify.zoho.com"
@               IN TXT  "v=spf1 include:zohomail.com ~all"
zmail._domainkey IN TXT {keyZoho}
_dmarc          IN TXT  "v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@zoho.test"
_smtp._tls      IN TXT  "v=TLSRPTv1; rua=mailto:tls-reports@zoho.test"
_mta-sts        IN TXT  "v=STSv1; id=20250301T120000"
mta-sts         IN A    127.0.0.1

; ---------------------------------------------------------------------------
; Self-hosted Postfix with rspamd, DNSSEC-signed, DANE and MTA-STS: two MX
; hosts with forward-confirmed PTRs and their own HELO SPF records, TLSA
; "3 1 1" (DANE-EE, SPKI, SHA-256: RFC 7671 §5.1, the form Postfix's
; documentation and Viktor Dukhovni's DANE guides advise) for each host's
; key, "v=spf1 mx -all", rspamd's default DKIM selector "dkim"
; (rspamd.com/doc/modules/dkim_signing.html), DMARC p=reject, MTA-STS in
; enforce mode naming both hosts, TLS-RPT, CAA. The hosts' addresses are on
; loopback: the smtp probe talks to them.
$ORIGIN selfhosted.test.
@              IN SOA  ns1 hostmaster 2025030101 7200 3600 1209600 3600
@              IN NS   ns1
ns1            IN A    192.0.2.53
@              IN MX   10 mx1
@              IN MX   20 mx2
@              IN TXT  "v=spf1 mx -all"
@              IN CAA  0 issue "letsencrypt.org"
mx1            IN A    127.0.0.25
mx1            IN TXT  "v=spf1 a -all"
mx2            IN A    127.0.0.26
mx2            IN TXT  "v=spf1 a -all"
_25._tcp.mx1   IN TLSA 3 1 1 {tlsaMX1}
_25._tcp.mx2   IN TLSA 3 1 1 {tlsaMX2}
dkim._domainkey IN TXT {selfHostedKey}
_dmarc         IN TXT  "v=DMARC1; p=reject; rua=mailto:dmarc-reports@selfhosted.test"
_mta-sts       IN TXT  "v=STSv1; id=20250301T120000"
mta-sts        IN A    127.0.0.1
_smtp._tls     IN TXT  "v=TLSRPTv1; rua=mailto:tls-reports@selfhosted.test"
_submission._tcp  IN SRV 0 1 587 mx1
_submissions._tcp IN SRV 0 1 465 mx1
_imap._tcp     IN SRV  0 0 0 .
_imaps._tcp    IN SRV  0 1 993 mx1
_pop3._tcp     IN SRV  0 0 0 .
_pop3s._tcp    IN SRV  0 0 0 .

$ORIGIN 0.0.127.in-addr.arpa.
25             IN PTR  mx1.selfhosted.test.
26             IN PTR  mx2.selfhosted.test.

; ---------------------------------------------------------------------------
; A parked domain that sends and receives nothing: null MX (RFC 7505),
; "v=spf1 -all", DMARC p=reject with strict alignment, and a revoked
; wildcard DKIM key (M3AAWG "Protecting Parked Domains Best Common
; Practices", 2015; UK NCSC "Protecting parked domains").
$ORIGIN parked.test.
@              IN SOA  ns1 hostmaster 2025030101 7200 3600 1209600 3600
@              IN NS   ns1
ns1            IN A    192.0.2.53
@              IN MX   0 .
@              IN TXT  "v=spf1 -all"
_dmarc         IN TXT  "v=DMARC1; p=reject; sp=reject; adkim=s; aspf=s; rua=mailto:dmarc-reports@parked.test"
*._domainkey   IN TXT  "v=DKIM1; p="

; ---------------------------------------------------------------------------
; A domain whose mail is forwarded by Cloudflare Email Routing to a mailbox
; elsewhere: three "routeN.mx.cloudflare.net" MX records with the
; priorities Cloudflare assigns, "v=spf1 include:_spf.mx.cloudflare.net
; ~all", and the "cf2024-1._domainkey" TXT key Cloudflare signs forwarded
; mail with (Cloudflare docs, "Email Routing: DNS records"). The selector is
; not on any discovery list: the module names it, as its users do.
$ORIGIN forwarded.test.
@                   IN SOA  ns1 hostmaster 2025030101 7200 3600 1209600 3600
@                   IN NS   ns1
ns1                 IN A    192.0.2.53
@                   IN MX   86 route1.mx.cloudflare.net.
@                   IN MX   12 route2.mx.cloudflare.net.
@                   IN MX   24 route3.mx.cloudflare.net.
@                   IN TXT  "v=spf1 include:_spf.mx.cloudflare.net ~all"
cf2024-1._domainkey IN TXT  {cloudflareKey}
_dmarc              IN TXT  "v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@forwarded.test"
_smtp._tls          IN TXT  "v=TLSRPTv1; rua=mailto:tls-reports@forwarded.test"
_mta-sts            IN TXT  "v=STSv1; id=20250301T120000"
mta-sts             IN A    127.0.0.1
`

// providerZones is the providers' side: SPF trees, DKIM keys at the CNAME
// targets, MX hosts and their addresses. Reverse DNS is in reverseDNS.
const providerZones = `
$TTL 3600

; --- Google. SPF tree as _spf.google.com published it in 2024 (three
; --- _netblocks includes; probes/spf/world_test.go has the transcription).
; --- MX addresses: stand-ins in Google's 142.250.0.0/15 and 64.233.160.0/19
; --- (IPv6 in 2a00:1450::/32), one A and one AAAA each as Google answers.
_spf.google.com.        IN TXT  "v=spf1 include:_netblocks.google.com include:_netblocks2.google.com include:_netblocks3.google.com ~all"
_netblocks.google.com.  IN TXT  "v=spf1 ip4:35.190.247.0/24 ip4:64.233.160.0/19 ip4:66.102.0.0/20 ip4:66.249.80.0/20 ip4:72.14.192.0/18 ip4:74.125.0.0/16 ip4:108.177.8.0/21 ip4:173.194.0.0/16 ip4:209.85.128.0/17 ip4:216.58.192.0/19 ip4:216.239.32.0/19 ~all"
_netblocks2.google.com. IN TXT  "v=spf1 ip6:2001:4860:4000::/36 ip6:2404:6800:4000::/36 ip6:2607:f8b0:4000::/36 ip6:2800:3f0:4000::/36 ip6:2a00:1450:4000::/36 ip6:2c0f:fb50:4000::/36 ~all"
_netblocks3.google.com. IN TXT  "v=spf1 ip4:172.217.0.0/19 ip4:172.217.32.0/20 ip4:172.217.128.0/19 ip4:172.217.160.0/20 ip4:172.217.192.0/19 ip4:172.253.56.0/21 ip4:172.253.112.0/20 ip4:108.177.96.0/19 ip4:35.191.0.0/16 ip4:130.211.0.0/22 ~all"
aspmx.l.google.com.      IN A    142.250.153.27
aspmx.l.google.com.      IN AAAA 2a00:1450:4013:c16::1b
alt1.aspmx.l.google.com. IN A    142.251.9.27
alt1.aspmx.l.google.com. IN AAAA 2a00:1450:4025:c03::1a
alt2.aspmx.l.google.com. IN A    142.250.150.27
alt2.aspmx.l.google.com. IN AAAA 2a00:1450:4010:c1c::1b
alt3.aspmx.l.google.com. IN A    64.233.184.27
alt3.aspmx.l.google.com. IN AAAA 2a00:1450:400c:c0b::1a
alt4.aspmx.l.google.com. IN A    142.250.27.27
alt4.aspmx.l.google.com. IN AAAA 2a00:1450:4025:401::1b

; --- Microsoft. spf.protection.outlook.com as published in 2024 (flat).
; --- The customer's EOP host answers with A records only (stand-ins in
; --- 52.101.0.0/16, where Microsoft's inbound addresses are).
spf.protection.outlook.com. IN TXT "v=spf1 ip4:40.92.0.0/15 ip4:40.107.0.0/16 ip4:52.100.0.0/15 ip4:52.102.0.0/16 ip4:52.103.0.0/17 ip4:104.47.0.0/17 ip6:2a01:111:f400::/48 ip6:2a01:111:f403::/49 ip6:2a01:111:f403:8000::/51 ip6:2a01:111:f403:c000::/51 ip6:2a01:111:f403:f000::/52 -all"
m365-test.mail.protection.outlook.com. IN A 52.101.68.14
m365-test.mail.protection.outlook.com. IN A 52.101.68.15
m365-test.mail.protection.outlook.com. IN A 52.101.194.6
m365-test.mail.protection.outlook.com. IN A 52.101.194.7
autodiscover.outlook.com. IN CNAME autodiscover.geo.outlook.com.
autodiscover.geo.outlook.com. IN A 52.97.146.200
selector1-m365-test._domainkey.m365test.onmicrosoft.com. IN TXT {neoLinkM365Key}
selector2-m365-test._domainkey.m365test.onmicrosoft.com. IN TXT {keyM365Selector2}

; --- Amazon SES. amazonses.com's SPF as published in 2024 (flat). Easy
; --- DKIM keys are published as "p=…" alone, without v= or k=. Receiving
; --- and feedback hosts: stand-ins in Amazon's space.
amazonses.com. IN TXT "v=spf1 ip4:199.255.192.0/22 ip4:199.127.232.0/22 ip4:54.240.0.0/18 ip4:69.169.224.0/20 ip4:23.249.208.0/20 ip4:23.251.224.0/19 ip4:76.223.176.0/20 ip4:54.240.64.0/19 ip4:54.240.96.0/19 ip4:76.223.128.0/19 -all"
4q6sbvlyh7hfm6zn4ya3ovq3b3lwhmw4.dkim.amazonses.com. IN TXT {sesKey1}
ycd3ekbpfbq2o5ctkk6zsuvqhbq4xrtf.dkim.amazonses.com. IN TXT {sesKey2}
n7wklqzizhu5t4gxvd3dmp5ayoodbvf6.dkim.amazonses.com. IN TXT {sesKey3}
inbound-smtp.us-east-1.amazonaws.com. IN A 44.206.18.106
inbound-smtp.us-east-1.amazonaws.com. IN A 52.0.55.219
inbound-smtp.us-east-1.amazonaws.com. IN A 3.211.91.112
feedback-smtp.us-east-1.amazonses.com. IN A 54.240.8.97

; --- Mailgun. mailgun.org's two-level SPF chain as published in 2024.
; --- MX addresses: stand-ins.
mailgun.org.       IN TXT "v=spf1 include:_spf.mailgun.org include:_spf.eu.mailgun.org ~all"
mailgun.org.       IN A   34.160.178.34
_spf.mailgun.org.  IN TXT "v=spf1 ip4:209.61.151.0/24 ip4:166.78.68.0/22 ip4:198.61.254.0/23 ip4:192.237.158.0/23 ip4:23.253.182.0/23 ip4:104.130.96.0/28 ip4:146.20.113.0/24 ip4:146.20.191.0/24 ip4:159.135.224.0/20 ip4:69.72.32.0/20 ~all"
_spf.eu.mailgun.org. IN TXT "v=spf1 ip4:141.193.32.0/23 ip4:159.135.140.80/29 ip4:159.135.132.128/25 ip4:161.38.204.0/22 ~all"
mxa.mailgun.org.   IN A   34.110.180.147
mxa.mailgun.org.   IN A   34.149.225.45
mxb.mailgun.org.   IN A   34.110.172.11
mxb.mailgun.org.   IN A   34.120.197.151

; --- SendGrid. sendgrid.net's SPF as published in 2024 (flat). The
; --- customer's return-path host carries SPF and MX of its own; the DKIM
; --- keys are "k=rsa; t=s; p=…". Inbound Parse addresses: stand-ins.
sendgrid.net.                 IN TXT "v=spf1 ip4:167.89.0.0/17 ip4:208.117.48.0/20 ip4:50.31.32.0/19 ip4:198.37.144.0/20 ip4:198.21.0.0/21 ip4:192.254.112.0/20 ip4:168.245.0.0/17 ip4:149.72.0.0/16 ip4:159.183.0.0/16 ~all"
u31337.wl138.sendgrid.net.    IN TXT "v=spf1 include:sendgrid.net ~all"
u31337.wl138.sendgrid.net.    IN MX  10 mx.sendgrid.net.
s1.domainkey.u31337.wl138.sendgrid.net. IN TXT {sendGridKey1}
s2.domainkey.u31337.wl138.sendgrid.net. IN TXT {sendGridKey2}
mx.sendgrid.net.              IN A   167.89.123.16
mx.sendgrid.net.              IN A   167.89.123.18

; --- Fastmail. spf.messagingengine.com: stand-in ranges in Fastmail's
; --- 66.111.4.0/24, 103.168.172.0/24 and 202.12.124.0/24, flat, as its
; --- record is. DKIM keys at fmN.<domain>.dkim.fmhosted.com.
spf.messagingengine.com. IN TXT "v=spf1 ip4:66.111.4.0/24 ip4:103.168.172.128/27 ip4:202.12.124.192/27 ip6:2603:10b6:200::/48 ~all"
in1-smtp.messagingengine.com. IN A 103.168.172.216
in1-smtp.messagingengine.com. IN A 103.168.172.217
in2-smtp.messagingengine.com. IN A 202.12.124.205
in2-smtp.messagingengine.com. IN A 202.12.124.206
fm1.fastmail.test.dkim.fmhosted.com. IN TXT {fastmailKey1}
fm2.fastmail.test.dkim.fmhosted.com. IN TXT {fastmailKey2}
fm3.fastmail.test.dkim.fmhosted.com. IN TXT {fastmailKey3}

; --- Proton. SPF tree, MX addresses and TLSA records as checkdmarc's
; --- documentation shows them for proton.me (2025); protonmail.ch is
; --- DNSSEC-signed. The customer-domain keys hang under domains.proton.ch.
_spf.protonmail.ch.  IN TXT  "v=spf1 ip4:185.70.40.0/24 ip4:185.70.41.0/24 ip4:185.70.43.0/24 ip4:79.135.106.0/24 ip4:79.135.107.0/24 ip4:109.224.244.0/24 include:_spf2.protonmail.ch ~all"
_spf2.protonmail.ch. IN TXT  "v=spf1 ip4:85.9.206.169 ip4:85.9.210.45 ip4:188.165.51.139 ip4:57.129.93.249 ~all"
mail.protonmail.ch.    IN A 176.119.200.128
mail.protonmail.ch.    IN A 185.205.70.128
mail.protonmail.ch.    IN A 185.70.42.128
mailsec.protonmail.ch. IN A 176.119.200.129
mailsec.protonmail.ch. IN A 185.205.70.129
mailsec.protonmail.ch. IN A 185.70.42.129
_25._tcp.mail.protonmail.ch.    IN TLSA 3 1 1 6111a5698d23c89e09c36ff833c1487edc1b0c841f87c49dae8f7a09e11e979e
_25._tcp.mail.protonmail.ch.    IN TLSA 3 1 1 76bb66711da416433ca890a5b2e5a0533c6006478f7d10a4469a947acc8399e1
_25._tcp.mailsec.protonmail.ch. IN TLSA 3 1 1 6111a5698d23c89e09c36ff833c1487edc1b0c841f87c49dae8f7a09e11e979e
_25._tcp.mailsec.protonmail.ch. IN TLSA 3 1 1 76bb66711da416433ca890a5b2e5a0533c6006478f7d10a4469a947acc8399e1
protonmail.domainkey.dq4nsdeg4ruuqbhnvnqudh7aclpbahy3ghmvjskvt52hmdqogmxoa.domains.proton.ch.  IN TXT {protonKey1}
protonmail2.domainkey.dq4nsdeg4ruuqbhnvnqudh7aclpbahy3ghmvjskvt52hmdqogmxoa.domains.proton.ch. IN TXT {protonKey2}
protonmail3.domainkey.dq4nsdeg4ruuqbhnvnqudh7aclpbahy3ghmvjskvt52hmdqogmxoa.domains.proton.ch. IN TXT {protonKey3}

; --- Zoho (US). zohomail.com's SPF: stand-in ranges in Zoho's
; --- 136.143.160.0/19 and 204.141.32.0/21, flat. MX addresses: stand-ins.
zohomail.com. IN TXT "v=spf1 ip4:136.143.188.0/24 ip4:136.143.184.0/24 ip4:204.141.32.0/23 ip4:204.141.42.0/23 ip4:165.173.128.0/24 ~all"
mx.zoho.com.  IN A 204.141.33.44
mx.zoho.com.  IN A 204.141.32.44
mx2.zoho.com. IN A 204.141.42.40
mx3.zoho.com. IN A 136.143.191.44

; --- Cloudflare Email Routing. _spf.mx.cloudflare.net: stand-in range in
; --- Cloudflare's 104.30.0.0/19, the space it forwards from. MX hosts
; --- answer A and AAAA; cloudflare.net is DNSSEC-signed.
_spf.mx.cloudflare.net.  IN TXT  "v=spf1 ip4:104.30.0.0/19 ~all"
route1.mx.cloudflare.net. IN A    162.159.205.11
route1.mx.cloudflare.net. IN AAAA 2606:4700:f5::b
route2.mx.cloudflare.net. IN A    162.159.205.12
route2.mx.cloudflare.net. IN AAAA 2606:4700:f5::c
route3.mx.cloudflare.net. IN A    162.159.205.13
route3.mx.cloudflare.net. IN AAAA 2606:4700:f5::d

; --- The test blocklists (RFC 5782 test points only: nothing in this
; --- world is listed).
$ORIGIN zen.bl.test.
@            IN SOA   ns hostmaster 1 7200 3600 1209600 300
2.0.0.127    IN A     127.0.0.2
2.0.0.127    IN TXT   "https://check.spamhaus.org/ test point"
$ORIGIN dbl.bl.test.
@            IN SOA   ns hostmaster 1 7200 3600 1209600 300
test         IN A     127.0.1.2
`

// reverseDNS is the PTR record of every MX address in the world, and the
// forward record of the PTR name where it is not the MX name itself
// (forward-confirmed reverse DNS). Google's and Microsoft's shapes are the
// ones their documentation describes: Google's addresses resolve to
// <site>-in-f<n>.1e100.net (and -in-x<n> for IPv6), Microsoft's to
// mail-<pod>.<...>.protection.outlook.com names with matching A records
// (Microsoft Learn, "Can't send email to external recipients", KB 3019655,
// on the forward-confirmed reverse DNS of its addresses). Elsewhere the
// PTR names the MX host (a stand-in).
var reverseDNS = []struct {
	ip, name string
	forward  bool // the PTR name needs its own address record
}{
	{"142.250.153.27", "ea-in-f27.1e100.net.", true},
	{"2a00:1450:4013:c16::1b", "ea-in-x1b.1e100.net.", true},
	{"142.251.9.27", "rb-in-f27.1e100.net.", true},
	{"2a00:1450:4025:c03::1a", "rb-in-x1a.1e100.net.", true},
	{"142.250.150.27", "eb-in-f27.1e100.net.", true},
	{"2a00:1450:4010:c1c::1b", "eb-in-x1b.1e100.net.", true},
	{"64.233.184.27", "wr-in-f27.1e100.net.", true},
	{"2a00:1450:400c:c0b::1a", "wr-in-x1a.1e100.net.", true},
	{"142.250.27.27", "rc-in-f27.1e100.net.", true},
	{"2a00:1450:4025:401::1b", "rc-in-x1b.1e100.net.", true},

	{"52.101.68.14", "mail-dm6nam10on2014.inbound.protection.outlook.com.", true},
	{"52.101.68.15", "mail-dm6nam10on2015.inbound.protection.outlook.com.", true},
	{"52.101.194.6", "mail-bn8nam12on2006.inbound.protection.outlook.com.", true},
	{"52.101.194.7", "mail-bn8nam12on2007.inbound.protection.outlook.com.", true},

	{"44.206.18.106", "inbound-smtp.us-east-1.amazonaws.com.", false},
	{"52.0.55.219", "inbound-smtp.us-east-1.amazonaws.com.", false},
	{"3.211.91.112", "inbound-smtp.us-east-1.amazonaws.com.", false},

	{"34.110.180.147", "mxa.mailgun.org.", false},
	{"34.149.225.45", "mxa.mailgun.org.", false},
	{"34.110.172.11", "mxb.mailgun.org.", false},
	{"34.120.197.151", "mxb.mailgun.org.", false},

	{"167.89.123.16", "mx.sendgrid.net.", false},
	{"167.89.123.18", "mx.sendgrid.net.", false},

	{"103.168.172.216", "in1-smtp.messagingengine.com.", false},
	{"103.168.172.217", "in1-smtp.messagingengine.com.", false},
	{"202.12.124.205", "in2-smtp.messagingengine.com.", false},
	{"202.12.124.206", "in2-smtp.messagingengine.com.", false},

	{"176.119.200.128", "mail.protonmail.ch.", false},
	{"185.205.70.128", "mail.protonmail.ch.", false},
	{"185.70.42.128", "mail.protonmail.ch.", false},
	{"176.119.200.129", "mailsec.protonmail.ch.", false},
	{"185.205.70.129", "mailsec.protonmail.ch.", false},
	{"185.70.42.129", "mailsec.protonmail.ch.", false},

	{"204.141.33.44", "mx.zoho.com.", false},
	{"204.141.32.44", "mx.zoho.com.", false},
	{"204.141.42.40", "mx2.zoho.com.", false},
	{"136.143.191.44", "mx3.zoho.com.", false},

	{"162.159.205.11", "route1.mx.cloudflare.net.", false},
	{"2606:4700:f5::b", "route1.mx.cloudflare.net.", false},
	{"162.159.205.12", "route2.mx.cloudflare.net.", false},
	{"2606:4700:f5::c", "route2.mx.cloudflare.net.", false},
	{"162.159.205.13", "route3.mx.cloudflare.net.", false},
	{"2606:4700:f5::d", "route3.mx.cloudflare.net.", false},
}

// signedZones are the zones whose answers a validating resolver marks
// authentic (AD): the customer zones (signed at their DNS host, as the
// ones a postmaster who runs this exporter would keep), and the provider
// zones that are signed in the world (protonmail.ch, cloudflare.net).
// google.com, outlook.com, amazonaws.com, amazonses.com, mailgun.org,
// sendgrid.net, messagingengine.com and zoho.com are not.
var signedZones = []string{
	"workspace.test", "m365.test", "ses.test", "mailgun.test", "sendgrid.test",
	"fastmail.test", "proton.test", "zoho.test", "selfhosted.test", "parked.test",
	"forwarded.test", "0.0.127.in-addr.arpa",
	"protonmail.ch", "proton.ch", "cloudflare.net",
}
