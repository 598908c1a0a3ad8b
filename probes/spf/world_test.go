package spf

// world is the zone data the probe tests run against: the SPF chains of
// large senders as they published them, and one domain per situation worth
// testing, written as its operator would publish it. Customer domains use
// .test (RFC 2606) and the documentation address ranges (RFC 5737, RFC
// 3849); the senders' records keep their real names and ranges, and are
// served only by the in-process server on 127.0.0.1.
const world = `
$TTL 3600

; --- Large senders. Records transcribed from what these names published in
; --- 2024 (TXT, as returned by dig); the structure (which names include
; --- which) is what the lookup counts rest on.

; Google Workspace: _spf.google.com, three _netblocks includes.
_spf.google.com. TXT "v=spf1 include:_netblocks.google.com include:_netblocks2.google.com include:_netblocks3.google.com ~all"
_netblocks.google.com. TXT "v=spf1 ip4:35.190.247.0/24 ip4:64.233.160.0/19 ip4:66.102.0.0/20 ip4:66.249.80.0/20 ip4:72.14.192.0/18 ip4:74.125.0.0/16 ip4:108.177.8.0/21 ip4:173.194.0.0/16 ip4:209.85.128.0/17 ip4:216.58.192.0/19 ip4:216.239.32.0/19 ~all"
_netblocks2.google.com. TXT "v=spf1 ip6:2001:4860:4000::/36 ip6:2404:6800:4000::/36 ip6:2607:f8b0:4000::/36 ip6:2800:3f0:4000::/36 ip6:2a00:1450:4000::/36 ip6:2c0f:fb50:4000::/36 ~all"
_netblocks3.google.com. TXT "v=spf1 ip4:172.217.0.0/19 ip4:172.217.32.0/20 ip4:172.217.128.0/19 ip4:172.217.160.0/20 ip4:172.217.192.0/19 ip4:172.253.56.0/21 ip4:172.253.112.0/20 ip4:108.177.96.0/19 ip4:35.191.0.0/16 ip4:130.211.0.0/22 ~all"

; Microsoft 365: spf.protection.outlook.com, flat.
spf.protection.outlook.com. TXT "v=spf1 ip4:40.92.0.0/15 ip4:40.107.0.0/16 ip4:52.100.0.0/15 ip4:52.102.0.0/16 ip4:52.103.0.0/17 ip4:104.47.0.0/17 ip6:2a01:111:f400::/48 ip6:2a01:111:f403::/49 ip6:2a01:111:f403:8000::/51 ip6:2a01:111:f403:c000::/51 ip6:2a01:111:f403:f000::/52 -all"

; Mailchimp, SendGrid, Amazon SES, Zendesk: flat lists of ranges.
servers.mcsv.net. TXT "v=spf1 ip4:205.201.128.0/20 ip4:198.2.128.0/18 ip4:148.105.8.0/21 -all"
sendgrid.net. TXT "v=spf1 ip4:167.89.0.0/17 ip4:208.117.48.0/20 ip4:50.31.32.0/19 ip4:198.37.144.0/20 ip4:198.21.0.0/21 ip4:192.254.112.0/20 ip4:168.245.0.0/17 ip4:149.72.0.0/16 ip4:159.183.0.0/16 ~all"
amazonses.com. TXT "v=spf1 ip4:199.255.192.0/22 ip4:199.127.232.0/22 ip4:54.240.0.0/18 ip4:69.169.224.0/20 ip4:23.249.208.0/20 ip4:23.251.224.0/19 ip4:76.223.176.0/20 ip4:54.240.64.0/19 ip4:54.240.96.0/19 ip4:76.223.128.0/19 -all"
mail.zendesk.com. TXT "v=spf1 ip4:192.161.144.0/20 ip4:185.12.80.0/22 ip4:188.172.128.0/20 ip4:216.198.0.0/18 ~all"

; Salesforce: one exists term built from the client's address.
_spf.salesforce.com. TXT "v=spf1 exists:%{i}._spf.mta.salesforce.com -all"
192.0.2.77._spf.mta.salesforce.com. A 127.0.0.1

; Mailgun: a two-level chain.
mailgun.org. TXT "v=spf1 include:_spf.mailgun.org include:_spf.eu.mailgun.org ~all"
_spf.mailgun.org. TXT "v=spf1 ip4:209.61.151.0/24 ip4:166.78.68.0/22 ip4:198.61.254.0/23 ip4:192.237.158.0/23 ip4:23.253.182.0/23 ip4:104.130.96.0/28 ip4:146.20.113.0/24 ip4:146.20.191.0/24 ip4:159.135.224.0/20 ip4:69.72.32.0/20 ~all"
_spf.eu.mailgun.org. TXT "v=spf1 ip4:141.193.32.0/23 ip4:159.135.140.80/29 ip4:159.135.132.128/25 ip4:161.38.204.0/22 ~all"

; --- Customer domains.

; Healthy: own MX hosts (with HELO records of their own) and Google.
healthy.test. MX 10 mx1.healthy.test.
healthy.test. MX 20 mx2.healthy.test.
healthy.test. TXT "v=spf1 mx include:_spf.google.com -all"
healthy.test. TXT "google-site-verification=abc123"
mx1.healthy.test. A 192.0.2.10
mx1.healthy.test. AAAA 2001:db8::10
mx1.healthy.test. TXT "v=spf1 a -all"
mx2.healthy.test. A 192.0.2.20
10.2.0.192.in-addr.arpa. PTR mx1.healthy.test.

; Exactly 10 lookups: mx, a, Google (4), Microsoft, Mailchimp, SendGrid, SES.
bigsender.test. MX 10 mx.bigsender.test.
bigsender.test. A 198.51.100.11
bigsender.test. TXT "v=spf1 mx a include:_spf.google.com include:spf.protection.outlook.com include:servers.mcsv.net include:sendgrid.net include:amazonses.com ~all"
mx.bigsender.test. A 198.51.100.10

; 11 lookups: the 11th is Google's third _netblocks include.
toomany.test. MX 10 mx.toomany.test.
toomany.test. A 198.51.100.21
toomany.test. TXT "v=spf1 mx a include:spf.protection.outlook.com include:servers.mcsv.net include:sendgrid.net include:amazonses.com include:mail.zendesk.com include:_spf.google.com -all"
mx.toomany.test. A 198.51.100.20

; Includes nested 12 deep.
deep.test. TXT "v=spf1 include:l1.deep.test -all"
l1.deep.test. TXT "v=spf1 include:l2.deep.test -all"
l2.deep.test. TXT "v=spf1 include:l3.deep.test -all"
l3.deep.test. TXT "v=spf1 include:l4.deep.test -all"
l4.deep.test. TXT "v=spf1 include:l5.deep.test -all"
l5.deep.test. TXT "v=spf1 include:l6.deep.test -all"
l6.deep.test. TXT "v=spf1 include:l7.deep.test -all"
l7.deep.test. TXT "v=spf1 include:l8.deep.test -all"
l8.deep.test. TXT "v=spf1 include:l9.deep.test -all"
l9.deep.test. TXT "v=spf1 include:l10.deep.test -all"
l10.deep.test. TXT "v=spf1 include:l11.deep.test -all"
l11.deep.test. TXT "v=spf1 include:l12.deep.test -all"
l12.deep.test. TXT "v=spf1 ip4:192.0.2.99 -all"

; An include loop and a redirect loop.
loop.test. TXT "v=spf1 include:a.loop.test -all"
a.loop.test. TXT "v=spf1 include:b.loop.test ~all"
b.loop.test. TXT "v=spf1 ip4:192.0.2.50 include:a.loop.test ~all"
redirloop.test. TXT "v=spf1 redirect=r.redirloop.test"
r.redirloop.test. TXT "v=spf1 ip4:192.0.2.51 redirect=redirloop.test"

; redirect together with all: the redirect is ignored (RFC 7208 §6.1).
redirall.test. TXT "v=spf1 ip4:192.0.2.0/24 redirect=plusall.test -all"
plusall.test. TXT "v=spf1 +all"
incplus.test. TXT "v=spf1 include:plusall.test include:_spf.google.com -all"

; A redirect that decides the all.
redirect.test. TXT "v=spf1 redirect=_spf.redirect.test"
_spf.redirect.test. TXT "v=spf1 ip4:192.0.2.0/24 -all"

; Three void lookups; and three that are void for IPv6 clients only.
void.test. TXT "v=spf1 a:nx1.void.test a:nx2.void.test a:nx3.void.test ip4:192.0.2.1 -all"
voidv6.test. TXT "v=spf1 a:h1.voidv6.test a:h2.voidv6.test a:h3.voidv6.test -all"
h1.voidv6.test. A 192.0.2.61
h2.voidv6.test. A 192.0.2.62
h3.voidv6.test. A 192.0.2.63

; Two SPF records; a version that is not v=spf1; strings to be joined.
two.test. TXT "v=spf1 mx -all"
two.test. TXT "v=spf1 include:_spf.google.com ~all"
spf10.test. TXT "v=spf10"
split.test. TXT "v=spf1 ip4:192.0.2.0/24 " "include:_spf.google.com ~all"
nospace.test. TXT "v=spf1" "mx -all"

; A macro that expands to a name over 253 characters.
longmacro.test. TXT "v=spf1 exists:%{d}.%{d}.%{d}.%{d}.%{d}.%{d}.%{d}.%{d}.%{d}.%{d}.%{d}.%{d}.%{d}.%{d}.%{d}.%{d}.%{d}.%{d}.%{d}.%{d} -all"

; Everything authorised, two ways.
wide.test. TXT "v=spf1 ip4:0.0.0.0/0 -all"

; Broad through the domain's own include, with providers beside.
ownwide.test. TXT "v=spf1 include:_spf.ownwide.test include:_spf.google.com -all"
_spf.ownwide.test. TXT "v=spf1 ip4:198.18.0.0/15 include:sendgrid.net -all"

; mx with 11 MX hosts.
mx11.test. TXT "v=spf1 mx -all"
mx11.test. MX 10 h1.mx11.test.
mx11.test. MX 10 h2.mx11.test.
mx11.test. MX 10 h3.mx11.test.
mx11.test. MX 10 h4.mx11.test.
mx11.test. MX 10 h5.mx11.test.
mx11.test. MX 10 h6.mx11.test.
mx11.test. MX 10 h7.mx11.test.
mx11.test. MX 10 h8.mx11.test.
mx11.test. MX 10 h9.mx11.test.
mx11.test. MX 10 h10.mx11.test.
mx11.test. MX 10 h11.mx11.test.
h1.mx11.test. A 192.0.2.111

; An include whose name answers SERVFAIL (set by the test).
servfail.test. TXT "v=spf1 include:broken.servfail.test ip4:192.0.2.0/24 -all"

; Null MX: with the record RFC 7505 domains should publish, and without.
nullmx.test. MX 0 .
nullmx.test. TXT "v=spf1 ~all"
nullok.test. MX 0 .
nullok.test. TXT "v=spf1 -all"
; A null MX on a domain whose record authorises a sender.
nullmxsend.test. MX 0 .
nullmxsend.test. TXT "v=spf1 ip4:192.0.2.0/24 ~all"

; Sending nothing in other words: terms that match nothing, and a domain
; that receives mail but sends none.
nullmxterm.test. MX 0 .
nullmxterm.test. TXT "v=spf1 mx -all"
failonly.test. TXT "v=spf1 -ip4:192.0.2.0/24 a:gone.failonly.test -all"
receiveonly.test. MX 10 mx.receiveonly.test.
receiveonly.test. TXT "v=spf1 -all"
mx.receiveonly.test. A 192.0.2.90

; No MX, an address: the implicit MX, which its a term authorises. An own
; MX host and another organization's as backup.
implicit.test. A 192.0.2.80
implicit.test. TXT "v=spf1 a -all"
mixed.test. MX 10 mx.mixed.test.
mixed.test. MX 20 mx1.healthy.test.
mixed.test. TXT "v=spf1 mx -all"
mx.mixed.test. A 192.0.2.85

; ptr; an MX whose address the record does not authorise; syntax errors;
; an include of a domain without SPF; no all; Salesforce; Mailgun.
ptr.test. TXT "v=spf1 ptr -all"
noauth.test. MX 10 mx.noauth.test.
noauth.test. TXT "v=spf1 ip4:198.51.100.0/24 -all"
mx.noauth.test. A 203.0.113.5
syntax.test. TXT "v=spf1 a:foo:8080 ip4:1.2.3 -all"
nospfinc.test. TXT "v=spf1 include:nothing.test -all"
nothing.test. A 192.0.2.70
neutral.test. MX 10 mx1.healthy.test.
neutral.test. TXT "v=spf1 mx"
salesforce.test. TXT "v=spf1 include:_spf.salesforce.com include:_spf.google.com ~all"
mailgun.test. TXT "v=spf1 include:mailgun.org -all"
`
