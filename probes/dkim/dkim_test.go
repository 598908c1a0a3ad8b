package dkim_test

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/deliverability-exporter/deliverability_exporter/internal/probetest"
	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dkim"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
)

// keyOf returns the real key published at owner.
func keyOf(owner string) realKey {
	for _, k := range realKeys {
		if k.owner == owner {
			return k
		}
	}
	panic("no real key " + owner)
}

// pOf returns the base64 p= value of a real key.
func pOf(owner string) string {
	rec := joined(keyOf(owner))
	return strings.TrimSuffix(rec[strings.Index(rec, "p=")+2:], ";")
}

// world publishes the real keys at their real names, and broken variants
// of them at .test domains, the way their operators would (long records
// split into strings of at most 255 bytes).
func world() []string {
	var real []string
	for _, k := range realKeys {
		real = append(real, zoneLine(k))
	}
	gmail := pOf("20230601._domainkey.gmail.com.")
	rfcRSA := pOf("test._domainkey.football.example.com.")
	zones := []string{strings.Join(real, "\n"), `
; Microsoft 365 publishes neo.link's keys behind CNAMEs; selector2 points
; at a key Microsoft has not published yet, as it does until the first
; rotation.
selector1._domainkey.neo.link. IN CNAME selector1-neo-link._domainkey.neolink.onmicrosoft.com.
selector2._domainkey.neo.link. IN CNAME selector2-neo-link._domainkey.neolink.onmicrosoft.com.
neolink.onmicrosoft.com. IN MX 0 neolink-onmicrosoft-com.mail.protection.outlook.com.

` + wildcardAnswers(revokedWildcard) + `
matthewgall.cf. IN TXT "v=spf1 -all"
matthewgall.cf. IN MX 0 .

; A domain that publishes no key anywhere and says it sends no mail.
parked.test. IN MX 0 .
parked.test. IN TXT "v=spf1 -all"
; One that receives mail and sends none.
receiveonly.test. IN MX 10 mx.nokey.test.
receiveonly.test. IN TXT "v=spf1 -all"
; One that says it sends nothing, yet publishes a live key.
keyednomail.test. IN TXT "v=spf1 -all"
` + strings.Replace(zoneLine(keyOf("20230601._domainkey.gmail.com.")), "20230601._domainkey.gmail.com.", "google._domainkey.keyednomail.test.", 1) + `
; A Microsoft 365 customer after a tenant move: the aliases still point at
; the old tenant's names, which no longer exist.
moved.test. IN MX 0 moved-test.mail.protection.outlook.com.
moved.test. IN TXT "v=spf1 include:spf.protection.outlook.com -all"
selector1._domainkey.moved.test. IN CNAME selector1-moved-test._domainkey.oldtenant.onmicrosoft.com.
selector2._domainkey.moved.test. IN CNAME selector2-moved-test._domainkey.oldtenant.onmicrosoft.com.
oldtenant.onmicrosoft.com. IN MX 0 oldtenant-onmicrosoft-com.mail.protection.outlook.com.
; An Ed25519 selector whose key was cut short, its k= forgotten.
ed._domainkey.edbroken.test. IN TXT "v=DKIM1; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHU"
; One that receives mail but publishes no key.
nokey.test. IN MX 10 mx.nokey.test.
nokey.test. IN TXT "v=spf1 mx -all"
mx.nokey.test. IN A 192.0.2.25

; Broken variants of real keys.
google._domainkey.whitespace.test. IN TXT "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWR iGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutAC DfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3 Ip3G+2kryOTIKT+l/K4w3QIDAQAB"
google._domainkey.edrsa.test. IN TXT "v=DKIM1; k=ed25519; p=` + rfcRSA + `"
google._domainkey.truncated.test. IN TXT "v=DKIM1; k=rsa; p=` + gmail[:200] + `"
google._domainkey.flags.test. IN TXT "v=DKIM1; k=rsa; t=y:s; p=` + rfcRSA + `"
google._domainkey.testing2048.test. IN TXT "v=DKIM1; k=rsa; t=y; p=` + gmail + `"
google._domainkey.sha1.test. IN TXT "v=DKIM1; k=rsa; h=sha1; p=` + rfcRSA + `"
google._domainkey.twokeys.test. IN TXT "v=DKIM1; k=rsa; p=` + rfcRSA + `"
google._domainkey.twokeys.test. IN TXT "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
; An old selector revoked beside the current one.
default._domainkey.rotated.test. IN TXT "v=DKIM1; p="
` + strings.Replace(zoneLine(keyOf("20230601._domainkey.gmail.com.")), "20230601._domainkey.gmail.com.", "dkim._domainkey.rotated.test.", 1) + `
; Dual-signing with RSA 2048 and Ed25519.
` + strings.Replace(zoneLine(keyOf("20230601._domainkey.gmail.com.")), "20230601._domainkey.gmail.com.", "google._domainkey.dual.test.", 1) + `
ed._domainkey.dual.test. IN TXT "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
; A resolver failure for one discovered selector.
` + strings.Replace(zoneLine(keyOf("20230601._domainkey.gmail.com.")), "20230601._domainkey.gmail.com.", "google._domainkey.flaky.test.", 1) + `
flaky.test. IN MX 10 mx.flaky.test.
`}
	return zones
}

// wildcardAnswers spells out what a resolver answers for a wildcard record
// at every name the probe asks (the discovery list and its wildcard
// check), since the test DNS server has no wildcard synthesis (RFC 4592).
func wildcardAnswers(record string) string {
	owner, rest, _ := strings.Cut(record, " ")
	suffix := strings.TrimPrefix(owner, "*")
	var lines []string
	for _, s := range append(dkim.DiscoverySelectors(), "_wildcard-check") {
		lines = append(lines, s+suffix+" "+rest)
	}
	return strings.Join(lines, "\n")
}

const (
	pass      = probes.StatusPass
	fail      = probes.StatusFail
	skip      = probes.StatusSkip
	undecided = probes.StatusError
)

var checkIDs = []string{
	"dkim.present", "dkim.key_valid", "dkim.key_strength", "dkim.not_revoked",
	"dkim.not_testing", "dkim.hash", "dkim.ed25519",
}

type probeCase struct {
	name      string
	target    string
	cfg       *dkim.Config
	selectors []string // dkim_selector= values
	setup     func(*testbed.DNSServer)
	checks    map[string]probes.Status
	// reasons, remediations and evidence hold substrings expected in the
	// check's text (evidence: in any line).
	reasons      map[string]string
	remediations map[string]string
	evidence     map[string]string
	metrics      []metric
	absent       []metric // label sets that must not be recorded
	notes        string
	wantErrors   string
}

func TestProbe(t *testing.T) {
	for _, tc := range []probeCase{
		{
			name:      "gmail.com, selector passed as a parameter",
			target:    "gmail.com",
			selectors: []string{"20230601"},
			checks:    statuses(pass, "dkim.ed25519", fail),
			reasons: map[string]string{
				"dkim.present":      "gmail.com publishes a DKIM key at 1 selector: 20230601",
				"dkim.key_valid":    "20230601 (rsa, 2048 bits, SubjectPublicKeyInfo)",
				"dkim.key_strength": "at least 2048 bits: 20230601 (2048 bits)",
				"dkim.ed25519":      "no Ed25519 key beside the RSA key at 20230601",
			},
			remediations: map[string]string{"dkim.ed25519": `k=ed25519; p=<base64 of the 32-byte public key>`},
			evidence:     map[string]string{"dkim.present": `20230601._domainkey.gmail.com. TXT "v=DKIM1; k=rsa; p=MIIBIjAN`},
			metrics: []metric{
				m("mail_dkim_selectors_found", 1),
				m("mail_dkim_key_bits", 2048, "20230601", "rsa"),
				m("mail_dkim_key_info", 1, "20230601", "rsa", ""),
				m("mail_dkim_key_revoked", 0, "20230601"),
			},
			// Discovered selectors that do not exist produce no series.
			absent: []metric{m("mail_dkim_key_info", 0, "google", "rsa", ""), m("mail_dkim_key_revoked", 0, "google")},
		},
		{
			name:   "Microsoft 365 keys behind CNAMEs, found by discovery",
			target: "neo.link",
			checks: statuses(pass, "dkim.ed25519", fail),
			reasons: map[string]string{
				"dkim.present": "neo.link publishes a DKIM key at 1 selector: selector1",
			},
			evidence: map[string]string{
				"dkim.present": "selector1._domainkey.neo.link. CNAME selector1-neo-link._domainkey.neolink.onmicrosoft.com.",
			},
			metrics: []metric{
				m("mail_dkim_selectors_found", 1),
				m("mail_dkim_key_bits", 2048, "selector1", "rsa"),
			},
			absent: []metric{m("mail_dkim_key_revoked", 0, "selector2")},
		},
		{
			name:   "the RFC 8463 example domain: 1024-bit RSA beside Ed25519",
			target: "football.example.com",
			cfg:    &dkim.Config{Selectors: []string{"brisbane", "test"}, Discover: false, MinRSABits: 2048},
			checks: statuses(pass, "dkim.key_strength", fail),
			reasons: map[string]string{
				"dkim.key_strength": "selector test: RSA key of 1024 bits, under 2048; RFC 8301 §3.2",
				"dkim.ed25519":      "Ed25519 at brisbane beside RSA at test",
			},
			remediations: map[string]string{
				"dkim.key_strength": `generate a 2048-bit key pair, publish it under a new selector, e.g. "<new selector>._domainkey.football.example.com. IN TXT \"v=DKIM1; k=rsa; p=<base64 public key>\"", sign with it, then revoke test._domainkey.football.example.com with an empty p=`,
			},
			metrics: []metric{
				m("mail_dkim_selectors_found", 2),
				m("mail_dkim_key_bits", 256, "brisbane", "ed25519"),
				m("mail_dkim_key_bits", 1024, "test", "rsa"),
				m("mail_dkim_key_info", 1, "brisbane", "ed25519", ""),
			},
		},
		{
			name:   "a key split across strings",
			target: "radiasoft.net",
			cfg:    &dkim.Config{Selectors: []string{"20240328"}, Discover: true, MinRSABits: 2048},
			checks: statuses(pass, "dkim.ed25519", fail),
			metrics: []metric{
				m("mail_dkim_key_bits", 2048, "20240328", "rsa"),
			},
		},
		{
			name:   "a two-label selector with an Ed25519 key alone",
			target: "dominionrnd.com",
			cfg:    &dkim.Config{Selectors: []string{"cpppo-test.crypto-licensing", "cpppo.licensing"}, MinRSABits: 2048},
			checks: statuses(pass, "dkim.ed25519", fail),
			reasons: map[string]string{
				"dkim.ed25519": "only Ed25519 keys (cpppo-test.crypto-licensing, cpppo.licensing): verifiers without RFC 8463 support see no valid signature",
			},
			metrics: []metric{m("mail_dkim_key_bits", 256, "cpppo-test.crypto-licensing", "ed25519")},
		},
		{
			name:   "old 1024-bit Google Workspace key found by discovery",
			target: "vandenhooff.name",
			checks: statuses(pass, "dkim.key_strength", fail, "dkim.ed25519", fail),
			reasons: map[string]string{
				"dkim.key_strength": "selector google: RSA key of 1024 bits, under 2048",
			},
			metrics: []metric{m("mail_dkim_key_bits", 1024, "google", "rsa")},
		},
		{
			name:   "min_rsa_bits 1024 passes the same key",
			target: "vandenhooff.name",
			cfg:    &dkim.Config{Discover: true, MinRSABits: 1024},
			checks: statuses(pass, "dkim.ed25519", fail),
		},
		{
			name:   "t=s is not testing",
			target: "openlylocal.com",
			checks: statuses(pass, "dkim.key_strength", fail, "dkim.ed25519", fail),
			metrics: []metric{
				m("mail_dkim_key_info", 1, "mail", "rsa", "s"),
			},
		},
		{
			name:   "t=y in a real record",
			target: "signalk.org",
			checks: statuses(pass, "dkim.not_testing", fail, "dkim.key_strength", fail, "dkim.ed25519", fail),
			reasons: map[string]string{
				"dkim.not_testing": "selector mail has t=y: the domain is testing DKIM",
			},
			remediations: map[string]string{
				// The 1024-bit key is to be replaced (dkim.key_strength), not
				// published again without t=y.
				"dkim.not_testing": "publish the key that replaces selector mail (dkim.key_strength) without y in t=",
			},
			metrics: []metric{m("mail_dkim_key_info", 1, "mail", "rsa", "y")},
		},
		{
			name:   "t=y:s",
			target: "flags.test",
			checks: statuses(pass, "dkim.not_testing", fail, "dkim.key_strength", fail, "dkim.ed25519", fail),
			reasons: map[string]string{
				"dkim.not_testing": "selector google has t=y:s",
			},
			remediations: map[string]string{
				"dkim.not_testing": "publish the key that replaces selector google (dkim.key_strength) without y in t=, keeping t=s",
			},
			metrics: []metric{m("mail_dkim_key_info", 1, "google", "rsa", "y:s")},
		},
		{
			// A strong key in testing mode is published again without y.
			name:   "t=y on a 2048-bit key",
			target: "testing2048.test",
			checks: statuses(pass, "dkim.not_testing", fail, "dkim.ed25519", fail),
			reasons: map[string]string{
				"dkim.not_testing": "selector google has t=y: the domain is testing DKIM",
			},
			remediations: map[string]string{
				"dkim.not_testing": `once signing works, drop y from t=: publish "google._domainkey.testing2048.test. IN TXT \"v=DKIM1; k=rsa; p=MIIB`,
			},
		},
		{
			name:   "h=sha1",
			target: "sha1.test",
			checks: statuses(pass, "dkim.hash", fail, "dkim.key_strength", fail, "dkim.ed25519", fail),
			reasons: map[string]string{
				"dkim.hash": "selector google has h=sha1, which does not allow sha256; RFC 8301 §3.1 forbids rsa-sha1",
			},
			remediations: map[string]string{
				"dkim.hash": `"google._domainkey.sha1.test. IN TXT \"v=DKIM1; k=rsa; h=sha256; p=MIGf`,
			},
		},
		{
			name:   "whitespace inside p=",
			target: "whitespace.test",
			checks: statuses(pass, "dkim.key_strength", fail, "dkim.ed25519", fail),
			evidence: map[string]string{
				"dkim.key_valid": "google: p= has whitespace inside it, which RFC 6376 §3.6.1 allows",
			},
			metrics: []metric{m("mail_dkim_key_bits", 1024, "google", "rsa")},
		},
		{
			name:   "k=ed25519 with an RSA key",
			target: "edrsa.test",
			checks: statuses(skip, "dkim.present", pass, "dkim.key_valid", fail, "dkim.not_revoked", pass),
			reasons: map[string]string{
				"dkim.key_valid":    "selector google: the record declares k=ed25519 but p= is a 1024-bit RSA key",
				"dkim.key_strength": "every key record found is revoked or invalid",
			},
			remediations: map[string]string{
				"dkim.key_valid": `publish "google._domainkey.edrsa.test. IN TXT \"v=DKIM1; k=rsa; p=MIGf`,
			},
			metrics: []metric{
				m("mail_dkim_selectors_found", 1),
				m("mail_dkim_key_info", 1, "google", "ed25519", ""),
			},
			absent: []metric{m("mail_dkim_key_bits", 0, "google", "ed25519"), m("mail_dkim_key_bits", 0, "google", "rsa")},
		},
		{
			name:   "a truncated key",
			target: "truncated.test",
			checks: statuses(skip, "dkim.present", pass, "dkim.key_valid", fail, "dkim.not_revoked", pass),
			reasons: map[string]string{
				"dkim.key_valid": "selector google: p= (150 bytes) does not decode to an RSA public key",
			},
			remediations: map[string]string{
				"dkim.key_valid": `publish the key again as the key generator wrote it, e.g. "google._domainkey.truncated.test. IN TXT \"v=DKIM1; k=rsa; p=<base64 public key>\""`,
			},
		},
		{
			name:   "two records at one selector",
			target: "twokeys.test",
			checks: statuses(skip, "dkim.present", pass, "dkim.key_valid", fail, "dkim.not_revoked", pass),
			reasons: map[string]string{
				"dkim.key_valid": "selector google: 2 TXT records; RFC 6376 §3.6.2.2",
			},
			metrics: []metric{m("mail_dkim_key_info", 1, "google", "unknown", "")},
		},
		{
			name:   "an old selector revoked beside a live one",
			target: "rotated.test",
			checks: statuses(pass, "dkim.ed25519", fail),
			reasons: map[string]string{
				"dkim.not_revoked": "1 selector default revoked (empty p=), an old selector retired; keys remain at dkim",
			},
			metrics: []metric{
				m("mail_dkim_selectors_found", 2),
				m("mail_dkim_key_revoked", 1, "default"),
				m("mail_dkim_key_revoked", 0, "dkim"),
				m("mail_dkim_key_info", 1, "default", "rsa", ""),
			},
			absent: []metric{m("mail_dkim_key_bits", 0, "default", "rsa")},
		},
		{
			name:   "dual signing",
			target: "dual.test",
			cfg:    &dkim.Config{Selectors: []string{"ed"}, Discover: true, MinRSABits: 2048},
			checks: statuses(pass),
			reasons: map[string]string{
				"dkim.ed25519": "Ed25519 at ed beside RSA at google",
			},
		},
		{
			name:   "a parked domain with a revoked wildcard key",
			target: "matthewgall.cf",
			checks: statuses(skip, "dkim.not_revoked", pass),
			reasons: map[string]string{
				"dkim.present":     `matthewgall.cf sends no mail (its SPF record "v=spf1 -all" authorises no client), and a domain that sends no mail needs no DKIM key`,
				"dkim.key_valid":   `matthewgall.cf sends no mail (its SPF record "v=spf1 -all" authorises no client): this check applies only to mail the domain sends`,
				"dkim.not_revoked": "the revoked wildcard key *._domainkey.matthewgall.cf (empty p=) answers every selector: any DKIM signature in matthewgall.cf's name fails",
			},
			evidence: map[string]string{"dkim.not_revoked": `*._domainkey.matthewgall.cf. TXT "v=DKIM1; p="`},
			metrics: []metric{
				m("mail_dkim_selectors_found", 1),
				m("mail_dkim_key_revoked", 1, "*"),
			},
			// The wildcard answers every discovered selector; none of
			// them is reported as a key of its own.
			absent: []metric{m("mail_dkim_key_revoked", 1, "google"), m("mail_dkim_key_revoked", 1, "selector1")},
			notes:  "answers for any selector (a wildcard *._domainkey record)",
		},
		{
			name:   "a parked domain without any key",
			target: "parked.test",
			checks: statuses(skip),
			reasons: map[string]string{
				"dkim.present":      `parked.test sends no mail (its SPF record "v=spf1 -all" authorises no client), and a domain that sends no mail needs no DKIM key`,
				"dkim.key_valid":    "this check applies only to mail the domain sends",
				"dkim.key_strength": "this check applies only to mail the domain sends",
				"dkim.not_revoked":  `a revoked wildcard key ("*._domainkey.parked.test. IN TXT \"v=DKIM1; p=\"") is optional`,
			},
			metrics: []metric{m("mail_dkim_selectors_found", 0)},
		},
		{
			// A domain whose SPF record sends nothing (RFC 7208's
			// "v=spf1 -all") but that receives mail: it needs no key
			// either; the null MX is no part of the decision.
			name:   "a domain that receives mail but sends none",
			target: "receiveonly.test",
			checks: statuses(skip),
			reasons: map[string]string{
				"dkim.present": "receiveonly.test sends no mail (its SPF record",
			},
		},
		{
			// A module that names selectors for all its domains: a parked
			// one has none of them and needs none.
			name:   "a parked domain under a module that names selectors",
			target: "parked.test",
			cfg:    &dkim.Config{Selectors: []string{"s2024"}, Discover: false, MinRSABits: 2048},
			checks: statuses(skip),
			reasons: map[string]string{
				"dkim.present": "a domain that sends no mail needs no DKIM key",
			},
		},
		{
			// "-all" after a mechanism: the domain may send from what the
			// mechanism matches, so it is judged as a domain that sends.
			name:   "SPF -all after a mechanism is not a declaration",
			target: "nokey.test",
			checks: statuses(skip, "dkim.present", fail),
		},
		{
			// SPF says nothing is sent, yet a live key is published: the
			// key is judged as any other, and the contradiction noted.
			name:   "a domain that sends no mail but publishes a live key",
			target: "keyednomail.test",
			checks: statuses(pass, "dkim.ed25519", fail),
			notes:  "yet it publishes DKIM keys at google, and mail signed with them passes DMARC",
		},
		{
			name:   "a tenant move leaves both Microsoft 365 selectors dangling",
			target: "moved.test",
			checks: statuses(skip, "dkim.present", fail),
			reasons: map[string]string{
				"dkim.present": "no DKIM key found at moved.test: selectors selector1, selector2 are CNAMEs to names that do not exist: " +
					"selector1._domainkey.moved.test → selector1-moved-test._domainkey.oldtenant.onmicrosoft.com (NXDOMAIN), " +
					"selector2._domainkey.moved.test → selector2-moved-test._domainkey.oldtenant.onmicrosoft.com (NXDOMAIN)",
			},
			remediations: map[string]string{
				"dkim.present": `point each alias at the key names your mail provider's DKIM settings show now`,
			},
			evidence: map[string]string{
				"dkim.present": "selector1._domainkey.moved.test. CNAME selector1-moved-test._domainkey.oldtenant.onmicrosoft.com.",
			},
		},
		{
			// One alias left dangling beside a live key: the check
			// passes, and the note says which alias and where it points.
			name:   "a dangling alias beside a live key",
			target: "neo.link",
			checks: statuses(pass, "dkim.ed25519", fail),
			notes:  "selector selector2 is a CNAME to a name that does not exist: selector2._domainkey.neo.link → selector2-neo-link._domainkey.neolink.onmicrosoft.com (NXDOMAIN)",
		},
		{
			// A selector named for an Ed25519 key is never templated as
			// RSA.
			name:      "a missing selector named for Ed25519",
			target:    "gmail.com",
			selectors: []string{"20230601", "ed25519-2024"},
			checks:    statuses(pass, "dkim.present", fail, "dkim.ed25519", fail),
			remediations: map[string]string{
				"dkim.present": `"ed25519-2024._domainkey.gmail.com. IN TXT \"v=DKIM1; k=ed25519; p=<base64 of the 32-byte public key>\""`,
			},
		},
		{
			name:   "an invalid key at a selector named for Ed25519, without k=",
			target: "edbroken.test",
			cfg:    &dkim.Config{Selectors: []string{"ed"}, MinRSABits: 2048},
			checks: statuses(skip, "dkim.present", pass, "dkim.key_valid", fail, "dkim.not_revoked", pass),
			remediations: map[string]string{
				"dkim.key_valid": `"ed._domainkey.edbroken.test. IN TXT \"v=DKIM1; k=ed25519; p=<base64 of the 32-byte public key>\""`,
			},
		},
		{
			name:   "a mail domain without any key",
			target: "nokey.test",
			checks: statuses(skip, "dkim.present", fail),
			reasons: map[string]string{
				"dkim.present": "no DKIM key found at nokey.test; tried google, selector1",
			},
			remediations: map[string]string{
				"dkim.present": `e.g. "<selector>._domainkey.nokey.test. IN TXT \"v=DKIM1; k=rsa; p=<base64 public key>\"" (generate the pair with your MTA or provider); if the domain already signs with a selector not in the discovery list, pass it as dkim_selector=<selector> or list it under the module's dkim: selectors:`,
			},
		},
		{
			// Prometheus' __param_dkim_selector label holds one value: the
			// http_sd endpoint joins a domain's selectors with commas.
			name:      "two selectors in one parameter value, separated by a comma",
			target:    "gmail.com",
			selectors: []string{"20230601,20161025"},
			checks:    statuses(pass, "dkim.present", fail, "dkim.ed25519", fail),
			reasons: map[string]string{
				"dkim.present": "no key record at 20161025._domainkey.gmail.com, named by dkim_selector=",
			},
			metrics: []metric{m("mail_dkim_key_bits", 2048, "20230601", "rsa")},
		},
		{
			name:      "a selector named by parameter that has no key",
			target:    "gmail.com",
			selectors: []string{"20230601", "20161025"},
			checks:    statuses(pass, "dkim.present", fail, "dkim.ed25519", fail),
			reasons: map[string]string{
				"dkim.present": "no key record at 20161025._domainkey.gmail.com, named by dkim_selector=",
			},
			remediations: map[string]string{
				"dkim.present": `"20161025._domainkey.gmail.com. IN TXT \"v=DKIM1; k=rsa; p=<base64 public key>\""`,
			},
			evidence: map[string]string{"dkim.present": "20161025._domainkey.gmail.com. no TXT record (NXDOMAIN)"},
		},
		{
			name:   "a SERVFAIL for one discovered selector next to a key",
			target: "flaky.test",
			setup: func(s *testbed.DNSServer) {
				s.SetBehaviour("selector1._domainkey.flaky.test", testbed.ServFail)
			},
			checks:     statuses(pass, "dkim.ed25519", fail),
			wantErrors: "DKIM selector selector1: dns TXT selector1._domainkey.flaky.test: SERVFAIL",
		},
		{
			name:   "SERVFAIL and no key found: undecided",
			target: "nokey.test",
			setup: func(s *testbed.DNSServer) {
				s.SetBehaviour("google._domainkey.nokey.test", testbed.ServFail)
			},
			checks:     statuses(skip, "dkim.present", undecided),
			wantErrors: "SERVFAIL",
		},
		{
			name:   "no selectors at all",
			target: "gmail.com",
			cfg:    &dkim.Config{Discover: false, MinRSABits: 2048},
			checks: statuses(skip),
			reasons: map[string]string{
				"dkim.present": "no selectors to look up",
			},
		},
		{
			name:   "a host target",
			target: "mx.nokey.test:25",
			checks: statuses(skip),
			reasons: map[string]string{
				"dkim.present": "the target is one mail host (mx.nokey.test:25); DKIM keys belong to a mail domain",
			},
		},
		{
			name:   "an IP target",
			target: "192.0.2.25",
			checks: statuses(skip),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := testbed.StartDNS(t, world()...)
			if tc.setup != nil {
				tc.setup(srv)
			}
			cfg := dkim.DefaultConfig()
			if tc.cfg != nil {
				cfg = *tc.cfg
			}
			params := url.Values{}
			for _, s := range tc.selectors {
				params.Add(dkim.ParamSelector, s)
			}
			res, _ := runProbe(t, srv.Addr, tc.target, cfg, params, 10*time.Second)
			checkInvariants(t, res)
			assertChecks(t, res, tc)
			assertMetrics(t, res, tc.metrics, tc.absent)
			assertErrors(t, res, tc.wantErrors)
			if tc.notes != "" && !strings.Contains(strings.Join(res.Notes(), "\n"), tc.notes) {
				t.Errorf("notes %q, want one containing %q", res.Notes(), tc.notes)
			}
		})
	}
}

// runProbe runs the probe once against the resolver at addr, in a module
// with an spf block.
func runProbe(t testing.TB, addr, target string, cfg dkim.Config, params url.Values, timeout time.Duration) (*probes.Result, *dnsclient.Resolver) {
	t.Helper()
	return runProbeWith(t, addr, target, cfg, params, timeout, probetest.WithSPFBlock())
}

// runProbeWith runs the probe once against the resolver at addr, with the
// facts the module's other probes supply.
func runProbeWith(t testing.TB, addr, target string, cfg dkim.Config, params url.Values, timeout time.Duration, providers map[string]probes.Provider) (*probes.Result, *dnsclient.Resolver) {
	t.Helper()
	tgt, err := probes.ParseTarget(target)
	if err != nil {
		t.Fatal(err)
	}
	client, err := dnsclient.New(dnsclient.Config{Servers: []string{addr}, Timeout: time.Second, Attempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	env := probetest.Env(client)
	env.Facts = env.Facts.WithProviders(providers)
	resolver := env.DNS
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	p := dkim.New(cfg)
	if err := p.ValidateParams(params); err != nil {
		t.Fatalf("ValidateParams: %v", err)
	}
	res := p.Run(ctx, &probes.Request{Target: tgt, Params: params}, env)
	if res == nil {
		t.Fatal("Run returned nil")
	}
	return res, resolver
}

func TestDiscoveryIsOneRound(t *testing.T) {
	// Every selector of the discovery list, the wildcard check and the
	// module's selectors are independent questions: one round, however
	// many there are. Asking them one after another would take 25 rounds.
	srv := testbed.StartDNS(t, world()...)
	srv.SetLockstep(50 * time.Millisecond)
	cfg := dkim.Config{Selectors: []string{"20230601"}, Discover: true, MinRSABits: 2048}
	res, _ := runProbe(t, srv.Addr, "gmail.com", cfg, nil, 30*time.Second)
	if c, _ := res.Check("dkim.present"); c.Status != probes.StatusPass {
		t.Fatalf("dkim.present = %s (%s)", c.Status, c.Reason)
	}
	if rounds := srv.Rounds(); rounds != 1 {
		t.Errorf("discovery needed %d rounds of DNS questions; all are independent, so 1", rounds)
	}
	if n := len(srv.Queries()); n != len(dkim.DiscoverySelectors())+3 {
		t.Errorf("%d questions, want the %d discovery selectors, the module's selector, the wildcard check and the domain's TXT (whether it sends mail)",
			n, len(dkim.DiscoverySelectors()))
	}
}

func TestEachQuestionAskedOnce(t *testing.T) {
	// The parked domain takes the longest path: every selector, then the
	// domain's TXT to tell that it sends no mail.
	srv := testbed.StartDNS(t, world()...)
	res, resolver := runProbe(t, srv.Addr, "parked.test", dkim.DefaultConfig(), nil, 10*time.Second)
	if c, _ := res.Check("dkim.present"); !strings.Contains(c.Reason, "sends no mail") {
		t.Fatalf("dkim.present: %s; the run is not the one this test needs", c.Reason)
	}
	if d := srv.Duplicates(); len(d) > 0 {
		t.Errorf("questions asked more than once: %v", d)
	}
	want := len(dkim.DiscoverySelectors()) + 1 + 1 // the wildcard check and the domain's TXT
	if n := len(srv.Queries()); n != want {
		t.Errorf("%d questions, want %d: %v", n, want, srv.Queries())
	}
	if st := resolver.Stats(); st.CacheHits != 0 {
		t.Errorf("%d questions were asked of the resolver twice", st.CacheHits)
	}
}

func TestWhetherTheDomainSendsMail(t *testing.T) {
	srv := testbed.StartDNS(t, world()...)
	// A module without an spf block cannot tell: a parked domain without
	// a key is judged as a domain that may send, as it always was.
	res, _ := runProbeWith(t, srv.Addr, "parked.test", dkim.DefaultConfig(), nil, 10*time.Second, nil)
	checkInvariants(t, res)
	if c, _ := res.Check("dkim.present"); c.Status != probes.StatusFail || strings.Contains(c.Reason, "sends no mail") {
		t.Errorf("without an spf block: dkim.present = %s (%s), want the failure of a domain that may send", c.Status, c.Reason)
	}
	if errs := res.Errors(); len(errs) > 0 {
		t.Errorf("without an spf block: probe errors %q; a module without one is no error", errs)
	}

	// The SPF record got no answer: without a key, dkim.present cannot
	// be decided, since the domain may be one that needs none.
	srv.SetBehaviour("parked.test", testbed.ServFail)
	res, _ = runProbe(t, srv.Addr, "parked.test", dkim.DefaultConfig(), nil, 10*time.Second)
	checkInvariants(t, res)
	c, _ := res.Check("dkim.present")
	if c.Status != probes.StatusError || !strings.Contains(c.Reason, "whether it needs one (whether it sends mail at all) is unknown") {
		t.Errorf("SPF record unanswered: dkim.present = %s (%s), want undecided", c.Status, c.Reason)
	}

	// With a key, the unanswered SPF record changes nothing.
	res, _ = runProbe(t, srv.Addr, "gmail.com", dkim.DefaultConfig(), url.Values{dkim.ParamSelector: {"20230601"}}, 10*time.Second)
	if c, _ := res.Check("dkim.present"); c.Status != probes.StatusPass {
		t.Errorf("gmail.com: dkim.present = %s (%s)", c.Status, c.Reason)
	}
}

func TestSelectorsMergedAcrossOrigins(t *testing.T) {
	// A selector in the module, in the request (in other case) and in the
	// discovery list is asked once, and counts as named.
	srv := testbed.StartDNS(t, world()...)
	params := url.Values{dkim.ParamSelector: {"GOOGLE", "20230601"}}
	res, _ := runProbe(t, srv.Addr, "gmail.com", dkim.Config{Selectors: []string{"Google"}, Discover: true, MinRSABits: 2048}, params, 10*time.Second)
	if d := srv.Duplicates(); len(d) > 0 {
		t.Errorf("questions asked more than once: %v", d)
	}
	if n, want := len(srv.Queries()), len(dkim.DiscoverySelectors())+3; n != want {
		t.Errorf("%d questions, want %d", n, want)
	}
	c, _ := res.Check("dkim.present")
	if c.Status != probes.StatusFail || !strings.Contains(c.Reason, "google._domainkey.gmail.com, named by the module's dkim selectors") {
		t.Errorf("dkim.present = %s (%s); want a failure for the named selector google", c.Status, c.Reason)
	}
	if v, ok := findMeasurement(res, "mail_dkim_key_bits", "20230601", "rsa"); !ok || v != 2048 {
		t.Errorf("mail_dkim_key_bits{20230601} = %v, %v", v, ok)
	}
}

func TestSilentResolverEndsAtDeadline(t *testing.T) {
	silent := testbed.StartSilentResolver(t)
	tgt, _ := probes.ParseTarget("gmail.com")
	client, err := dnsclient.New(dnsclient.Config{Servers: []string{silent.Addr}, Timeout: 10 * time.Second, Attempts: 3})
	if err != nil {
		t.Fatal(err)
	}
	env := probetest.Env(client)
	const deadline = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	start := time.Now()
	res := dkim.New(dkim.DefaultConfig()).Run(ctx, &probes.Request{Target: tgt}, env)
	if elapsed := time.Since(start); elapsed > deadline+2*time.Second {
		t.Errorf("Run took %s after a %s deadline", elapsed, deadline)
	}
	if c, _ := res.Check("dkim.present"); c.Status != probes.StatusError {
		t.Errorf("dkim.present = %s, want undecided", c.Status)
	}
	for _, c := range res.Checks() {
		if c.Status == probes.StatusFail || c.Status == probes.StatusPass {
			t.Errorf("%s = %s without a single answer", c.ID, c.Status)
		}
	}
}

func TestValidateParams(t *testing.T) {
	p := dkim.New(dkim.DefaultConfig())
	for _, tc := range []struct {
		values []string
		want   string // "" for valid
	}{
		{[]string{"20230601", "selector1", "s1", "k_1", "cpppo-test.crypto-licensing"}, ""},
		{[]string{""}, "dkim_selector: empty selector"},
		{[]string{"google._domainkey"}, "give the selector alone"},
		{[]string{"google._domainkey.example.com"}, "give the selector alone"},
		{[]string{"a..b"}, "empty label"},
		{[]string{"google."}, "empty label"},
		{[]string{"sel ector"}, `contains " "`},
		{[]string{"sel/ector"}, `contains "/"`},
		{[]string{strings.Repeat("a", 64)}, "a DNS label has at most 63"},
		{[]string{strings.Repeat(strings.Repeat("a", 60)+".", 4) + "a"}, "exceeds the 253 of a DNS name"},
		{slices.Repeat([]string{"s"}, 33), "at most 32"},
		{[]string{"s1,s2,k1"}, ""},
		{[]string{"s1,,s2"}, "dkim_selector: empty selector"},
		{[]string{strings.TrimSuffix(strings.Repeat("s,", 33), ",")}, "at most 32"},
	} {
		err := p.ValidateParams(url.Values{dkim.ParamSelector: tc.values, "other": {"ignored!"}})
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q: %v", tc.values, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%q: error %v, want one containing %q", tc.values, err, tc.want)
		case err != nil && strings.Contains(err.Error(), "\n"):
			t.Errorf("%q: error is not one line: %q", tc.values, err)
		}
	}
}

func TestDescriber(t *testing.T) {
	p := dkim.New(dkim.DefaultConfig())
	if p.Name() != "dkim" {
		t.Errorf("Name() = %q", p.Name())
	}
	var ids []string
	for _, spec := range p.CheckSpecs() {
		ids = append(ids, spec.ID)
		if !spec.Level.Valid() || spec.Passing == "" {
			t.Errorf("%s: level %q, passing %q", spec.ID, spec.Level, spec.Passing)
		}
	}
	if !slices.Equal(ids, checkIDs) {
		t.Errorf("CheckSpecs ids = %q, want %q", ids, checkIDs)
	}
	// The levels of docs/checks.md.
	wantLevels := map[string]probes.Level{
		"dkim.present": probes.LevelMust, "dkim.key_valid": probes.LevelMust, "dkim.key_strength": probes.LevelMust,
		"dkim.not_revoked": probes.LevelInfo, "dkim.not_testing": probes.LevelShould, "dkim.hash": probes.LevelShould,
		"dkim.ed25519": probes.LevelMay,
	}
	for _, spec := range p.CheckSpecs() {
		if spec.Level != wantLevels[spec.ID] {
			t.Errorf("%s level %q, want %q", spec.ID, spec.Level, wantLevels[spec.ID])
		}
	}
	var names []string
	for _, spec := range p.MetricSpecs() {
		names = append(names, spec.Name)
		if !strings.HasSuffix(spec.Help, ".") || strings.Contains(spec.Help, "\n") {
			t.Errorf("%s: HELP %q is not a short sentence", spec.Name, spec.Help)
		}
	}
	want := []string{"mail_dkim_key_bits", "mail_dkim_selectors_found", "mail_dkim_key_info", "mail_dkim_key_revoked"}
	if !slices.Equal(names, want) {
		t.Errorf("MetricSpecs = %q, want %q", names, want)
	}
}

func TestDiscoveryListIsValid(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range dkim.DiscoverySelectors() {
		if err := dkim.ValidateSelector(s); err != nil {
			t.Errorf("discovery selector %q: %v", s, err)
		}
		if seen[s] || s != strings.ToLower(s) {
			t.Errorf("discovery selector %q is repeated or not lower case", s)
		}
		seen[s] = true
	}
	for _, must := range []string{"google", "selector1", "selector2", "k1", "s1", "s2", "dkim", "default", "zmail"} {
		if !seen[must] {
			t.Errorf("discovery list lacks %q", must)
		}
	}
}

func BenchmarkProbeDiscovery(b *testing.B) {
	srv := testbed.StartDNS(b, world()...)
	tgt, _ := probes.ParseTarget("neo.link")
	client, err := dnsclient.New(dnsclient.Config{Servers: []string{srv.Addr}, Timeout: time.Second, Attempts: 2})
	if err != nil {
		b.Fatal(err)
	}
	p := dkim.New(dkim.DefaultConfig())
	b.ReportAllocs()
	for b.Loop() {
		env := probetest.Env(client)
		res := p.Run(context.Background(), &probes.Request{Target: tgt}, env)
		if c, _ := res.Check("dkim.present"); c.Status != probes.StatusPass {
			b.Fatalf("dkim.present = %s (%s)", c.Status, c.Reason)
		}
	}
}

func BenchmarkParseKey(b *testing.B) {
	rec := joined(keyOf("20230601._domainkey.gmail.com."))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := dkim.ParseKey(rec); err != nil {
			b.Fatal(err)
		}
	}
}

// The shared assertions (internal/probetest), bound to this probe.

type metric = probetest.Metric

var (
	m               = probetest.M
	findMeasurement = probetest.FindMeasurement
	assertMetrics   = probetest.AssertMetrics
	assertErrors    = probetest.AssertErrors
)

// statuses expects every check to have status def except those overridden
// ("dkim.ed25519", skip, ...).
func statuses(def probes.Status, overrides ...any) map[string]probes.Status {
	return probetest.Statuses(checkIDs, def, overrides...)
}

func checkInvariants(t testing.TB, res *probes.Result) {
	t.Helper()
	probetest.CheckInvariants(t, res, dkim.New(dkim.DefaultConfig()), checkIDs)
}

func assertChecks(t testing.TB, res *probes.Result, tc probeCase) {
	t.Helper()
	probetest.AssertChecks(t, res, tc.checks, tc.reasons, tc.remediations, tc.evidence)
}
