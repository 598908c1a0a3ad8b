package spf

// The RFC 7208 test suite of the openspf project (release 2014.04,
// "rfc7208-tests.yml", maintained with pyspf: github.com/sdgathman/pyspf,
// test/rfc7208-tests.yml), transcribed by hand into zone-file text and Go
// tables. Every section and scenario of the suite is here, under its own
// name; the explanation (exp=) text the suite also checks is not, because
// this package does not build explanations (RFC 7208 §6.2 makes that
// optional).
//
// Transcription rules, as the suite's own drivers apply them: a name's
// "SPF:" data is published as TXT unless the name also has TXT data (in
// "Selecting records" and "Record lookup", where the SPF RR type itself is
// under test, it then stays type SPF); "TXT: NONE" publishes no TXT;
// "TIMEOUT" makes the name answer SERVFAIL, which a receiver turns into
// temperror just as it does a timeout, unless the name has TXT data (then
// only the other types, which no RFC 7208 evaluator asks, time out).

type suiteCase struct {
	name     string
	spec     string
	helo     string
	host     string
	mailfrom string
	results  []Result // any of them is correct
}

type suiteSection struct {
	name     string
	zone     string
	servfail []string
	cases    []suiteCase
}

func one(r Result) []Result { return []Result{r} }

var rfc7208Suite = []suiteSection{
	{
		name: "Initial processing",
		zone: `
example.net. TXT "v=spf1 -all exp=exp.example.net"
a.example.net. TXT "v=spf1 -all exp=exp.example.net"
exp.example.net. TXT "%{l}"
a12345678901234567890123456789012345678901234567890123456789012.example.com. TXT "v=spf1 -all"
hosed.example.com. TXT "v=spf1 a:\239\187\191garbage.example.net -all"
hosed2.example.com. TXT "v=spf1 \128a:example.net -all"
hosed3.example.com. TXT "v=spf1 a:example.net \150all"
nothosed.example.com. TXT "v=spf1 a:example.net -all"
nothosed.example.com. TXT "\150"
ctrl.example.com. TXT "v=spf1 a:ctrl.example.com\013ptr -all"
ctrl.example.com. A 192.0.2.3
fine.example.com. TXT "v=spf1 a  -all"
`,
		servfail: []string{"example.com"},
		cases: []suiteCase{
			{"toolonglabel", "4.3/1", "mail.example.net", "1.2.3.5", "lyme.eater@A123456789012345678901234567890123456789012345678901234567890123.example.com", one(None)},
			{"longlabel", "4.3/1", "mail.example.net", "1.2.3.5", "lyme.eater@A12345678901234567890123456789012345678901234567890123456789012.example.com", one(Fail)},
			{"emptylabel", "4.3/1", "mail.example.net", "1.2.3.5", "lyme.eater@A...example.com", one(None)},
			{"helo-not-fqdn", "4.3/1", "A2345678", "1.2.3.5", "", one(None)},
			{"helo-domain-literal", "4.3/1", "[1.2.3.5]", "1.2.3.5", "", one(None)},
			{"nolocalpart", "4.3/2", "mail.example.net", "1.2.3.4", "@example.net", one(Fail)},
			{"domain-literal", "4.3/1", "OEMCOMPUTER", "1.2.3.5", "foo@[1.2.3.5]", one(None)},
			{"non-ascii-policy", "3.1/1", "hosed", "1.2.3.4", "foobar@hosed.example.com", one(PermError)},
			{"non-ascii-mech", "3.1/1", "hosed", "1.2.3.4", "foobar@hosed2.example.com", one(PermError)},
			{"non-ascii-result", "3.1/1", "hosed", "1.2.3.4", "foobar@hosed3.example.com", one(PermError)},
			{"non-ascii-non-spf", "4.5/1", "hosed", "1.2.3.4", "foobar@nothosed.example.com", one(Fail)},
			{"control-char-policy", "4.6.1/2", "hosed", "192.0.2.3", "foobar@ctrl.example.com", one(PermError)},
			{"two-spaces", "4.6.1", "hosed", "1.2.3.4", "actually@fine.example.com", one(Fail)},
		},
	},
	{
		name: "Record lookup",
		zone: `
both.example.net. TXT "v=spf1 -all"
both.example.net. SPF "v=spf1 -all"
txtonly.example.net. TXT "v=spf1 -all"
spfonly.example.net. SPF "v=spf1 -all"
spftimeout.example.net. TXT "v=spf1 -all"
txttimeout.example.net. SPF "v=spf1 -all"
nospftxttimeout.example.net. SPF "v=spf3 !a:yahoo.com -all"
`,
		servfail: []string{"txttimeout.example.net", "nospftxttimeout.example.net", "alltimeout.example.net"},
		cases: []suiteCase{
			{"both", "4.4/1", "mail.example.net", "1.2.3.4", "foo@both.example.net", one(Fail)},
			{"txtonly", "4.4/1", "mail.example.net", "1.2.3.4", "foo@txtonly.example.net", one(Fail)},
			{"spfonly", "4.4/1", "mail.example.net", "1.2.3.4", "foo@spfonly.example.net", one(None)},
			{"spftimeout", "4.4/1", "mail.example.net", "1.2.3.4", "foo@spftimeout.example.net", one(Fail)},
			{"txttimeout", "4.4/1", "mail.example.net", "1.2.3.4", "foo@txttimeout.example.net", one(TempError)},
			{"nospftxttimeout", "4.4/1", "mail.example.net", "1.2.3.4", "foo@nospftxttimeout.example.net", one(TempError)},
			{"alltimeout", "4.4/2", "mail.example.net", "1.2.3.4", "foo@alltimeout.example.net", one(TempError)},
		},
	},
	{
		name: "Selecting records",
		zone: `
example3.com. TXT "v=spf10"
example3.com. TXT "v=spf1 mx"
example3.com. MX 0 mail.example1.com.
example1.com. TXT "v=spf1"
example2.com. TXT "v=spf1" "mx"
mail.example1.com. A 1.2.3.4
example4.com. SPF "v=spf1 +all"
example4.com. TXT "v=spf1 -all"
example5.com. SPF "v=spf1 +all"
example5.com. TXT "v=spf1 -all"
example5.com. TXT "v=spf1 +all"
example6.com. TXT "v=spf1 -all"
example6.com. TXT "V=sPf1 +all"
example7.com. TXT "v=spf1 -all"
example7.com. TXT "v=spf1 -all"
example8.com. SPF "V=spf1 -all"
example8.com. SPF "v=spf1 -all"
example8.com. TXT "v=spf1 +all"
example9.com. TXT "v=SpF1 ~all"
`,
		cases: []suiteCase{
			{"nospace1", "4.5/4", "mail.example1.com", "1.2.3.4", "foo@example2.com", one(None)},
			{"empty", "4.5/4", "mail1.example1.com", "1.2.3.4", "foo@example1.com", one(Neutral)},
			{"nospace2", "4.5/4", "mail.example1.com", "1.2.3.4", "foo@example3.com", one(Pass)},
			{"spfoverride", "4.5/5", "mail.example1.com", "1.2.3.4", "foo@example4.com", one(Fail)},
			{"multitxt1", "4.5/5", "mail.example1.com", "1.2.3.4", "foo@example5.com", one(PermError)},
			{"multitxt2", "4.5/6", "mail.example1.com", "1.2.3.4", "foo@example6.com", one(PermError)},
			{"multispf1", "4.5/6", "mail.example1.com", "1.2.3.4", "foo@example7.com", []Result{PermError, Fail}},
			{"multispf2", "4.5/6", "mail.example1.com", "1.2.3.4", "foo@example8.com", one(Pass)},
			{"nospf", "4.5/7", "mail.example1.com", "1.2.3.4", "foo@mail.example1.com", one(None)},
			{"case-insensitive", "4.5/6", "mail.example1.com", "1.2.3.4", "foo@example9.com", one(SoftFail)},
		},
	},
	{
		name: "Record evaluation",
		zone: `
mail.example.com. A 1.2.3.4
t1.example.com. TXT "v=spf1 ip4:1.2.3.4 -all moo"
t2.example.com. TXT "v=spf1 moo.cow-far_out=man:dog/cat ip4:1.2.3.4 -all"
t3.example.com. TXT "v=spf1 moo.cow/far_out=man:dog/cat ip4:1.2.3.4 -all"
t4.example.com. TXT "v=spf1 moo.cow:far_out=man:dog/cat ip4:1.2.3.4 -all"
t5.example.com. TXT "v=spf1 redirect=t5.example.com ~all"
t6.example.com. TXT "v=spf1 ip4:1.2.3.4 redirect=t2.example.com"
t7.example.com. TXT "v=spf1 ip4:1.2.3.4"
t8.example.com. TXT "v=spf1 ip4:1.2.3.4 redirect:t2.example.com"
t9.example.com. TXT "v=spf1 a:foo-bar -all"
t10.example.com. TXT "v=spf1 a:mail.example...com -all"
t11.example.com. TXT "v=spf1 a:a123456789012345678901234567890123456789012345678901234567890123.example.com -all"
t12.example.com. TXT "v=spf1 a:%{H}.bar -all"
`,
		cases: []suiteCase{
			{"detect-errors-anywhere", "4.6", "mail.example.com", "1.2.3.4", "foo@t1.example.com", one(PermError)},
			{"modifier-charset-good", "4.6.1/2", "mail.example.com", "1.2.3.4", "foo@t2.example.com", one(Pass)},
			{"modifier-charset-bad1", "4.6.1/4", "mail.example.com", "1.2.3.4", "foo@t3.example.com", one(PermError)},
			{"modifier-charset-bad2", "4.6.1/4", "mail.example.com", "1.2.3.4", "foo@t4.example.com", one(PermError)},
			{"redirect-after-mechanisms1", "4.6.3", "mail.example.com", "1.2.3.4", "foo@t5.example.com", one(SoftFail)},
			{"redirect-after-mechanisms2", "4.6.3", "mail.example.com", "1.2.3.5", "foo@t6.example.com", one(Fail)},
			{"default-result", "4.7/1", "mail.example.com", "1.2.3.5", "foo@t7.example.com", one(Neutral)},
			{"redirect-is-modifier", "4.6.1/4", "mail.example.com", "1.2.3.4", "foo@t8.example.com", one(PermError)},
			{"invalid-domain", "7.1/2", "mail.example.com", "1.2.3.4", "foo@t9.example.com", one(PermError)},
			{"invalid-domain-empty-label", "4.3/1, 4.8/5, 5/10/3", "mail.example.com", "1.2.3.4", "foo@t10.example.com", []Result{Fail, PermError}},
			{"invalid-domain-long", "4.3/1, 4.8/5, 5/10/3", "mail.example.com", "1.2.3.4", "foo@t11.example.com", []Result{Fail, PermError}},
			{"invalid-domain-long-via-macro", "4.3/1, 4.8/5, 5/10/3", "%%%%%%%%%%%%%%%%%%%%%%", "1.2.3.4", "foo@t12.example.com", []Result{Fail, PermError}},
		},
	},
	{
		name: "ALL mechanism syntax",
		zone: `
mail.example.com. A 1.2.3.4
e1.example.com. TXT "v=spf1 -all."
e2.example.com. TXT "v=spf1 -all:foobar"
e3.example.com. TXT "v=spf1 -all/8"
e4.example.com. TXT "v=spf1 ?all"
e5.example.com. TXT "v=spf1 all -all"
`,
		cases: []suiteCase{
			{"all-dot", "5.1/1", "mail.example.com", "1.2.3.4", "foo@e1.example.com", one(PermError)},
			{"all-arg", "5.1/1", "mail.example.com", "1.2.3.4", "foo@e2.example.com", one(PermError)},
			{"all-cidr", "5.1/1", "mail.example.com", "1.2.3.4", "foo@e3.example.com", one(PermError)},
			{"all-neutral", "5.1/1", "mail.example.com", "1.2.3.4", "foo@e4.example.com", one(Neutral)},
			{"all-double", "5.1/1", "mail.example.com", "1.2.3.4", "foo@e5.example.com", one(Pass)},
		},
	},
	{
		name: "PTR mechanism syntax",
		zone: `
mail.example.com. A 1.2.3.4
mail.example.com. AAAA 2001:db8::1
e1.example.com. TXT "v=spf1 ptr/0 -all"
e2.example.com. TXT "v=spf1 ptr:example.com -all"
4.3.2.1.in-addr.arpa. PTR e3.example.com.
4.3.2.1.in-addr.arpa. PTR e4.example.com.
4.3.2.1.in-addr.arpa. PTR mail.example.com.
1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.E.B.A.B.E.F.A.C.ip6.arpa. PTR e3.example.com.
1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.D.0.1.0.0.2.ip6.arpa. PTR mail.Example.com.
e3.example.com. TXT "v=spf1 ptr -all"
e3.example.com. A 1.2.3.4
e3.example.com. AAAA CAFE:BABE::1
e4.example.com. TXT "v=spf1 ptr -all"
e5.example.com. TXT "v=spf1 ptr:"
e6.example.com. TXT "v=spf1 ptr:example.Com -all"
`,
		cases: []suiteCase{
			{"ptr-cidr", "5.5/2", "mail.example.com", "1.2.3.4", "foo@e1.example.com", one(PermError)},
			{"ptr-match-target", "5.5/5", "mail.example.com", "1.2.3.4", "foo@e2.example.com", one(Pass)},
			{"ptr-match-implicit", "5.5/5", "mail.example.com", "1.2.3.4", "foo@e3.example.com", one(Pass)},
			{"ptr-nomatch-invalid", "5.5/5", "mail.example.com", "1.2.3.4", "foo@e4.example.com", one(Fail)},
			{"ptr-match-ip6", "5.5/5", "mail.example.com", "CAFE:BABE::1", "foo@e3.example.com", one(Pass)},
			{"ptr-empty-domain", "5.5/2", "mail.example.com", "1.2.3.4", "foo@e5.example.com", one(PermError)},
			{"ptr-case-change", "5.5/2", "mail.example.com", "2001:db8::1", "bar@e6.example.com", one(Pass)},
		},
	},
	{
		name: "A mechanism syntax",
		zone: `
mail.example.com. A 1.2.3.4
e1.example.com. TXT "v=spf1 a/0 -all"
e2.example.com. A 1.1.1.1
e2.example.com. AAAA 1234::2
e2.example.com. TXT "v=spf1 a/0 -all"
e2a.example.com. AAAA 1234::1
e2a.example.com. TXT "v=spf1 a//0 -all"
e2b.example.com. A 1.1.1.1
e2b.example.com. TXT "v=spf1 a//0 -all"
ipv6.example.com. AAAA 1234::1
ipv6.example.com. A 1.1.1.1
ipv6.example.com. TXT "v=spf1 a -all"
e3.example.com. TXT "v=spf1 a:foo.example.com\000"
e4.example.com. TXT "v=spf1 a:111.222.33.44"
e5.example.com. TXT "v=spf1 a:abc.123"
e5a.example.com. TXT "v=spf1 a:museum"
e5b.example.com. TXT "v=spf1 a:museum."
e6.example.com. TXT "v=spf1 a//33 -all"
e6a.example.com. TXT "v=spf1 a/33 -all"
e7.example.com. TXT "v=spf1 a//129 -all"
e8.example.com. A 1.2.3.5
e8.example.com. AAAA 2001:db8:1234::dead:beef
e8.example.com. TXT "v=spf1 a/24//64 -all"
e8e.example.com. A 1.2.3.5
e8e.example.com. AAAA 2001:db8:1234::dead:beef
e8e.example.com. TXT "v=spf1 a/24/64 -all"
e8a.example.com. A 1.2.3.5
e8a.example.com. AAAA 2001:db8:1234::dead:beef
e8a.example.com. TXT "v=spf1 a/24 -all"
e8b.example.com. A 1.2.3.5
e8b.example.com. AAAA 2001:db8:1234::dead:beef
e8b.example.com. TXT "v=spf1 a//64 -all"
e9.example.com. TXT "v=spf1 a:example.com:8080"
e10.example.com. TXT "v=spf1 a:foo.example.com/24"
foo.example.com. A 1.1.1.1
foo.example.com. A 1.2.3.5
e11.example.com. TXT "v=spf1 a:foo:bar/baz.example.com"
foo:bar/baz.example.com. A 1.2.3.4
e12.example.com. TXT "v=spf1 a:example.-com"
e13.example.com. TXT "v=spf1 a:"
e14.example.com. TXT "v=spf1 a:foo.example.xn--zckzah -all"
foo.example.xn--zckzah. A 1.2.3.4
`,
		cases: []suiteCase{
			{"a-cidr6", "5.3/2", "mail.example.com", "1.2.3.4", "foo@e6.example.com", one(Fail)},
			{"a-bad-cidr4", "5.3/2", "mail.example.com", "1.2.3.4", "foo@e6a.example.com", one(PermError)},
			{"a-bad-cidr6", "5.3/2", "mail.example.com", "1.2.3.4", "foo@e7.example.com", one(PermError)},
			{"a-dual-cidr-ip4-match", "5.3/2", "mail.example.com", "1.2.3.4", "foo@e8.example.com", one(Pass)},
			{"a-dual-cidr-ip4-err", "5.3/2", "mail.example.com", "1.2.3.4", "foo@e8e.example.com", one(PermError)},
			{"a-dual-cidr-ip6-match", "5.3/2", "mail.example.com", "2001:db8:1234::cafe:babe", "foo@e8.example.com", one(Pass)},
			{"a-dual-cidr-ip4-default", "5.3/2", "mail.example.com", "1.2.3.4", "foo@e8b.example.com", one(Fail)},
			{"a-dual-cidr-ip6-default", "5.3/2", "mail.example.com", "2001:db8:1234::cafe:babe", "foo@e8a.example.com", one(Fail)},
			{"a-multi-ip1", "5.3/3", "mail.example.com", "1.2.3.4", "foo@e10.example.com", one(Pass)},
			{"a-multi-ip2", "5.3/3", "mail.example.com", "1.2.3.4", "foo@e10.example.com", one(Pass)},
			{"a-bad-domain", "7.1/2", "mail.example.com", "1.2.3.4", "foo@e9.example.com", one(PermError)},
			{"a-nxdomain", "5.3/3", "mail.example.com", "1.2.3.4", "foo@e1.example.com", one(Fail)},
			{"a-cidr4-0", "5.3/3", "mail.example.com", "1.2.3.4", "foo@e2.example.com", one(Pass)},
			{"a-cidr4-0-ip6", "5.3/3", "mail.example.com", "1234::1", "foo@e2.example.com", one(Fail)},
			{"a-cidr6-0-ip4", "5.3/3", "mail.example.com", "1.2.3.4", "foo@e2a.example.com", one(Fail)},
			{"a-cidr6-0-ip4mapped", "5.3/3", "mail.example.com", "::FFFF:1.2.3.4", "foo@e2a.example.com", one(Fail)},
			{"a-cidr6-0-ip6", "5.3/3", "mail.example.com", "1234::1", "foo@e2a.example.com", one(Pass)},
			{"a-ip6-dualstack", "5.3/3", "mail.example.com", "1234::1", "foo@ipv6.example.com", one(Pass)},
			{"a-cidr6-0-nxdomain", "5.3/3", "mail.example.com", "1234::1", "foo@e2b.example.com", one(Fail)},
			{"a-null", "7.1/2", "mail.example.com", "1.2.3.5", "foo@e3.example.com", one(PermError)},
			{"a-numeric", "7.1/2", "mail.example.com", "1.2.3.4", "foo@e4.example.com", one(PermError)},
			{"a-numeric-toplabel", "7.1/2", "mail.example.com", "1.2.3.4", "foo@e5.example.com", one(PermError)},
			{"a-dash-in-toplabel", "7.1/2", "mail.example.com", "1.2.3.4", "foo@e14.example.com", one(Pass)},
			{"a-bad-toplabel", "7.1/2", "mail.example.com", "1.2.3.4", "foo@e12.example.com", one(PermError)},
			{"a-only-toplabel", "7.1/2", "mail.example.com", "1.2.3.4", "foo@e5a.example.com", one(PermError)},
			{"a-only-toplabel-trailing-dot", "7.1/2", "mail.example.com", "1.2.3.4", "foo@e5b.example.com", one(PermError)},
			{"a-colon-domain", "7.1/2", "mail.example.com", "1.2.3.4", "foo@e11.example.com", one(Pass)},
			{"a-colon-domain-ip4mapped", "7.1/2", "mail.example.com", "::FFFF:1.2.3.4", "foo@e11.example.com", one(Pass)},
			{"a-empty-domain", "5.3/2", "mail.example.com", "1.2.3.4", "foo@e13.example.com", one(PermError)},
		},
	},
	{
		name: "Include mechanism semantics and syntax",
		zone: `
mail.example.com. A 1.2.3.4
ip5.example.com. TXT "v=spf1 ip4:1.2.3.5 -all"
ip6.example.com. TXT "v=spf1 ip4:1.2.3.6 ~all"
ip7.example.com. TXT "v=spf1 ip4:1.2.3.7 ?all"
erehwon.example.com. TXT "v=spfl am not an SPF record"
e1.example.com. TXT "v=spf1 include:ip5.example.com ~all"
e2.example.com. TXT "v=spf1 include:ip6.example.com all"
e3.example.com. TXT "v=spf1 include:ip7.example.com -all"
e4.example.com. TXT "v=spf1 include:ip8.example.com -all"
e5.example.com. TXT "v=spf1 include:e6.example.com -all"
e6.example.com. TXT "v=spf1 include +all"
e7.example.com. TXT "v=spf1 include:erehwon.example.com -all"
e8.example.com. TXT "v=spf1 include: -all"
e9.example.com. TXT "v=spf1 include:ip5.example.com/24 -all"
`,
		servfail: []string{"ip8.example.com"},
		cases: []suiteCase{
			{"include-fail", "5.2/9", "mail.example.com", "1.2.3.4", "foo@e1.example.com", one(SoftFail)},
			{"include-softfail", "5.2/9", "mail.example.com", "1.2.3.4", "foo@e2.example.com", one(Pass)},
			{"include-neutral", "5.2/9", "mail.example.com", "1.2.3.4", "foo@e3.example.com", one(Fail)},
			{"include-temperror", "5.2/9", "mail.example.com", "1.2.3.4", "foo@e4.example.com", one(TempError)},
			{"include-permerror", "5.2/9", "mail.example.com", "1.2.3.4", "foo@e5.example.com", one(PermError)},
			{"include-syntax-error", "5.2/1", "mail.example.com", "1.2.3.4", "foo@e6.example.com", one(PermError)},
			{"include-cidr", "5.2/1", "mail.example.com", "1.2.3.4", "foo@e9.example.com", one(PermError)},
			{"include-none", "5.2/9", "mail.example.com", "1.2.3.4", "foo@e7.example.com", one(PermError)},
			{"include-empty-domain", "5.2/1", "mail.example.com", "1.2.3.4", "foo@e8.example.com", one(PermError)},
		},
	},
	{
		name: "MX mechanism syntax",
		zone: `
mail.example.com. A 1.2.3.4
mail.example.com. MX 0 .
mail.example.com. TXT "v=spf1 mx"
e1.example.com. TXT "v=spf1 mx/0 -all"
e1.example.com. MX 0 e1.example.com.
e2.example.com. A 1.1.1.1
e2.example.com. AAAA 1234::2
e2.example.com. MX 0 e2.example.com.
e2.example.com. TXT "v=spf1 mx/0 -all"
e2a.example.com. AAAA 1234::1
e2a.example.com. MX 0 e2a.example.com.
e2a.example.com. TXT "v=spf1 mx//0 -all"
e2b.example.com. A 1.1.1.1
e2b.example.com. MX 0 e2b.example.com.
e2b.example.com. TXT "v=spf1 mx//0 -all"
e3.example.com. TXT "v=spf1 mx:foo.example.com\000"
e4.example.com. TXT "v=spf1 mx"
e4.example.com. A 1.2.3.4
e5.example.com. TXT "v=spf1 mx:abc.123"
e6.example.com. TXT "v=spf1 mx//33 -all"
e6a.example.com. TXT "v=spf1 mx/33 -all"
e7.example.com. TXT "v=spf1 mx//129 -all"
e9.example.com. TXT "v=spf1 mx:example.com:8080"
e10.example.com. TXT "v=spf1 mx:foo.example.com/24"
foo.example.com. MX 0 foo1.example.com.
foo1.example.com. A 1.1.1.1
foo1.example.com. A 1.2.3.5
e11.example.com. TXT "v=spf1 mx:foo:bar/baz.example.com"
foo:bar/baz.example.com. MX 0 foo:bar/baz.example.com.
foo:bar/baz.example.com. A 1.2.3.4
e12.example.com. TXT "v=spf1 mx:example.-com"
e13.example.com. TXT "v=spf1 mx: -all"
`,
		cases: []suiteCase{
			{"mx-cidr6", "5.4/2", "mail.example.com", "1.2.3.4", "foo@e6.example.com", one(Fail)},
			{"mx-bad-cidr4", "5.4/2", "mail.example.com", "1.2.3.4", "foo@e6a.example.com", one(PermError)},
			{"mx-bad-cidr6", "5.4/2", "mail.example.com", "1.2.3.4", "foo@e7.example.com", one(PermError)},
			{"mx-multi-ip1", "5.4/3", "mail.example.com", "1.2.3.4", "foo@e10.example.com", one(Pass)},
			{"mx-multi-ip2", "5.4/3", "mail.example.com", "1.2.3.4", "foo@e10.example.com", one(Pass)},
			{"mx-bad-domain", "7.1/2", "mail.example.com", "1.2.3.4", "foo@e9.example.com", one(PermError)},
			{"mx-nxdomain", "5.4/3", "mail.example.com", "1.2.3.4", "foo@e1.example.com", one(Fail)},
			{"mx-cidr4-0", "5.4/3", "mail.example.com", "1.2.3.4", "foo@e2.example.com", one(Pass)},
			{"mx-cidr4-0-ip6", "5.4/3", "mail.example.com", "1234::1", "foo@e2.example.com", one(Fail)},
			{"mx-cidr6-0-ip4", "5.4/3", "mail.example.com", "1.2.3.4", "foo@e2a.example.com", one(Fail)},
			{"mx-cidr6-0-ip4mapped", "5.4/3", "mail.example.com", "::FFFF:1.2.3.4", "foo@e2a.example.com", one(Fail)},
			{"mx-cidr6-0-ip6", "5.3/3", "mail.example.com", "1234::1", "foo@e2a.example.com", one(Pass)},
			{"mx-cidr6-0-nxdomain", "5.4/3", "mail.example.com", "1234::1", "foo@e2b.example.com", one(Fail)},
			{"mx-null", "7.1/2", "mail.example.com", "1.2.3.5", "foo@e3.example.com", one(PermError)},
			{"mx-numeric-top-label", "7.1/2", "mail.example.com", "1.2.3.4", "foo@e5.example.com", one(PermError)},
			{"mx-colon-domain", "7.1/2", "mail.example.com", "1.2.3.4", "foo@e11.example.com", one(Pass)},
			{"mx-colon-domain-ip4mapped", "7.1/2", "mail.example.com", "::FFFF:1.2.3.4", "foo@e11.example.com", one(Pass)},
			{"mx-bad-toplab", "7.1/2", "mail.example.com", "1.2.3.4", "foo@e12.example.com", one(PermError)},
			{"mx-empty", "5.4/3", "mail.example.com", "1.2.3.4", "", one(Neutral)},
			{"mx-implicit", "5.4/4", "mail.example.com", "1.2.3.4", "foo@e4.example.com", one(Neutral)},
			{"mx-empty-domain", "5.2/1", "mail.example.com", "1.2.3.4", "foo@e13.example.com", one(PermError)},
		},
	},
	{
		name: "EXISTS mechanism syntax",
		zone: `
mail.example.com. A 1.2.3.4
mail6.example.com. AAAA CAFE:BABE::4
e1.example.com. TXT "v=spf1 exists:"
e2.example.com. TXT "v=spf1 exists"
e3.example.com. TXT "v=spf1 exists:mail.example.com/24"
e4.example.com. TXT "v=spf1 exists:mail.example.com"
e5.example.com. TXT "v=spf1 exists:mail6.example.com -all"
e6.example.com. TXT "v=spf1 exists:err.example.com -all"
`,
		servfail: []string{"err.example.com"},
		cases: []suiteCase{
			{"exists-empty-domain", "5.7/2", "mail.example.com", "1.2.3.4", "foo@e1.example.com", one(PermError)},
			{"exists-implicit", "5.7/2", "mail.example.com", "1.2.3.4", "foo@e2.example.com", one(PermError)},
			{"exists-cidr", "5.7/2", "mail.example.com", "1.2.3.4", "foo@e3.example.com", one(PermError)},
			{"exists-ip4", "5.7/3", "mail.example.com", "1.2.3.4", "foo@e4.example.com", one(Pass)},
			{"exists-ip6", "5.7/3", "mail.example.com", "CAFE:BABE::3", "foo@e4.example.com", one(Pass)},
			{"exists-ip6only", "5.7/3", "mail.example.com", "CAFE:BABE::3", "foo@e5.example.com", one(Fail)},
			{"exists-dnserr", "5/8", "mail.example.com", "CAFE:BABE::3", "foo@e6.example.com", one(TempError)},
		},
	},
	{
		name: "IP4 mechanism syntax",
		zone: `
mail.example.com. A 1.2.3.4
e1.example.com. TXT "v=spf1 ip4:1.1.1.1/0 -all"
e2.example.com. TXT "v=spf1 ip4:1.2.3.4/32 -all"
e3.example.com. TXT "v=spf1 ip4:1.2.3.4/33 -all"
e4.example.com. TXT "v=spf1 ip4:1.2.3.4/032 -all"
e5.example.com. TXT "v=spf1 ip4"
e6.example.com. TXT "v=spf1 ip4:1.2.3.4//32"
e7.example.com. TXT "v=spf1 -ip4:1.2.3.4 ip6:::FFFF:1.2.3.4"
e8.example.com. TXT "v=spf1 ip4:1.2.3.4:8080"
e9.example.com. TXT "v=spf1 ip4:1.2.3"
`,
		cases: []suiteCase{
			{"cidr4-0", "5.6/2", "mail.example.com", "1.2.3.4", "foo@e1.example.com", one(Pass)},
			{"cidr4-32", "5.6/2", "mail.example.com", "1.2.3.4", "foo@e2.example.com", one(Pass)},
			{"cidr4-33", "5.6/2", "mail.example.com", "1.2.3.4", "foo@e3.example.com", one(PermError)},
			{"cidr4-032", "5.6/2", "mail.example.com", "1.2.3.4", "foo@e4.example.com", one(PermError)},
			{"bare-ip4", "5.6/2", "mail.example.com", "1.2.3.4", "foo@e5.example.com", one(PermError)},
			{"bad-ip4-port", "5.6/2", "mail.example.com", "1.2.3.4", "foo@e8.example.com", one(PermError)},
			{"bad-ip4-short", "5.6/4", "mail.example.com", "1.2.3.4", "foo@e9.example.com", one(PermError)},
			{"ip4-dual-cidr", "5.6/2", "mail.example.com", "1.2.3.4", "foo@e6.example.com", one(PermError)},
			{"ip4-mapped-ip6", "5/9/2", "mail.example.com", "::FFFF:1.2.3.4", "foo@e7.example.com", one(Fail)},
		},
	},
	{
		name: "IP6 mechanism syntax",
		zone: `
mail.example.com. A 1.2.3.4
e1.example.com. TXT "v=spf1 -all ip6"
e2.example.com. TXT "v=spf1 ip6:::1.1.1.1/0"
e3.example.com. TXT "v=spf1 ip6:::1.1.1.1/129"
e4.example.com. TXT "v=spf1 ip6:::1.1.1.1//33"
e5.example.com. TXT "v=spf1 ip6:Cafe:Babe:8000::/33"
e6.example.com. TXT "v=spf1 ip6::CAFE::BABE"
`,
		cases: []suiteCase{
			{"bare-ip6", "5.6/2", "mail.example.com", "1.2.3.4", "foo@e1.example.com", one(PermError)},
			{"cidr6-0-ip4", "5/9/2", "mail.example.com", "1.2.3.4", "foo@e2.example.com", one(Neutral)},
			{"cidr6-ip4", "5/9/2", "mail.example.com", "::FFFF:1.2.3.4", "foo@e2.example.com", one(Neutral)},
			{"cidr6-0", "5/8", "mail.example.com", "DEAF:BABE::CAB:FEE", "foo@e2.example.com", one(Pass)},
			{"cidr6-129", "5.6/2", "mail.example.com", "1.2.3.4", "foo@e3.example.com", one(PermError)},
			{"cidr6-bad", "5.6/2", "mail.example.com", "1.2.3.4", "foo@e4.example.com", one(PermError)},
			{"cidr6-33", "5.6/2", "mail.example.com", "CAFE:BABE:8000::", "foo@e5.example.com", one(Pass)},
			{"cidr6-33-ip4", "5.6/2", "mail.example.com", "1.2.3.4", "foo@e5.example.com", one(Neutral)},
			{"ip6-bad1", "5.6/2", "mail.example.com", "1.2.3.4", "foo@e6.example.com", one(PermError)},
		},
	},
	{
		name: "Semantics of exp and other modifiers",
		zone: `
mail.example.com. A 1.2.3.4
e1.example.com. TXT "v=spf1 exp=exp1.example.com redirect=e2.example.com"
e2.example.com. TXT "v=spf1 -all"
e3.example.com. TXT "v=spf1 exp=exp1.example.com redirect=e4.example.com"
e4.example.com. TXT "v=spf1 -all exp=exp2.example.com"
exp1.example.com. TXT "No-see-um"
exp2.example.com. TXT "See me."
exp3.example.com. TXT "Correct!"
exp4.example.com. TXT "%{l} in implementation"
e5.example.com. TXT "v=spf1 1up=foo"
e6.example.com. TXT "v=spf1 =all"
e7.example.com. TXT "v=spf1 include:e3.example.com -all exp=exp3.example.com"
e8.example.com. TXT "v=spf1 -all exp=exp4.example.com"
e9.example.com. TXT "v=spf1 -all foo=%abc"
e10.example.com. TXT "v=spf1 redirect=erehwon.example.com"
e11.example.com. TXT "v=spf1 -all exp=e11msg.example.com"
e11msg.example.com. TXT "Answer a fool according to his folly."
e11msg.example.com. TXT "Do not answer a fool according to his folly."
e12.example.com. TXT "v=spf1 exp= -all"
e13.example.com. TXT "v=spf1 exp=e13msg.example.com -all"
e13msg.example.com. TXT "The %{x}-files."
e14.example.com. TXT "v=spf1 exp=e13msg.example.com -all exp=e11msg.example.com"
e15.example.com. TXT "v=spf1 redirect=e12.example.com -all redirect=e12.example.com"
e16.example.com. TXT "v=spf1 exp=-all"
e17.example.com. TXT "v=spf1 redirect=-all ?all"
e18.example.com. TXT "v=spf1 ?all redirect="
e19.example.com. TXT "v=spf1 default=pass"
e20.example.com. TXT "v=spf1 default=+"
e21.example.com. TXT "v=spf1 exp=e21msg.example.com -all"
e22.example.com. TXT "v=spf1 exp=mail.example.com -all"
nonascii.example.com. TXT "v=spf1 exp=badexp.example.com -all"
badexp.example.com. TXT "\239\187\191Explanation"
tworecs.example.com. TXT "v=spf1 exp=twoexp.example.com -all"
twoexp.example.com. TXT "one"
twoexp.example.com. TXT "two"
e23.example.com. TXT "v=spf1 a:erehwon.example.com a:foobar.com exp=nxdomain.com -all"
e24.example.com. TXT "v=spf1 redirect=testimplicit.example.com"
e24.example.com. A 192.0.2.1
testimplicit.example.com. TXT "v=spf1 a -all"
testimplicit.example.com. A 192.0.2.2
`,
		servfail: []string{"e21msg.example.com"},
		cases: []suiteCase{
			{"redirect-none", "6.1/4", "mail.example.com", "1.2.3.4", "foo@e10.example.com", one(PermError)},
			{"redirect-cancels-exp", "6.2/13", "mail.example.com", "1.2.3.4", "foo@e1.example.com", one(Fail)},
			{"redirect-syntax-error", "6.1/2", "mail.example.com", "1.2.3.4", "foo@e17.example.com", one(PermError)},
			{"include-ignores-exp", "6.2/13", "mail.example.com", "1.2.3.4", "foo@e7.example.com", one(Fail)},
			{"redirect-cancels-prior-exp", "6.2/13", "mail.example.com", "1.2.3.4", "foo@e3.example.com", one(Fail)},
			{"invalid-modifier", "A/3", "mail.example.com", "1.2.3.4", "foo@e5.example.com", one(PermError)},
			{"empty-modifier-name", "A/3", "mail.example.com", "1.2.3.4", "foo@e6.example.com", one(PermError)},
			{"dorky-sentinel", "7.1/6", "mail.example.com", "1.2.3.4", "Macro Error@e8.example.com", one(Fail)},
			{"exp-multiple-txt", "6.2/4", "mail.example.com", "1.2.3.4", "foo@e11.example.com", one(Fail)},
			{"exp-no-txt", "6.2/4", "mail.example.com", "1.2.3.4", "foo@e22.example.com", one(Fail)},
			{"exp-dns-error", "6.2/4", "mail.example.com", "1.2.3.4", "foo@e21.example.com", one(Fail)},
			{"exp-empty-domain", "6.2/4", "mail.example.com", "1.2.3.4", "foo@e12.example.com", one(PermError)},
			{"explanation-syntax-error", "6.2/4", "mail.example.com", "1.2.3.4", "foo@e13.example.com", one(Fail)},
			{"exp-syntax-error", "6.2/1", "mail.example.com", "1.2.3.4", "foo@e16.example.com", one(PermError)},
			{"exp-twice", "6/2", "mail.example.com", "1.2.3.4", "foo@e14.example.com", one(PermError)},
			{"redirect-empty-domain", "6.2/4", "mail.example.com", "1.2.3.4", "foo@e18.example.com", one(PermError)},
			{"redirect-twice", "6/2", "mail.example.com", "1.2.3.4", "foo@e15.example.com", one(PermError)},
			{"unknown-modifier-syntax", "A/3", "mail.example.com", "1.2.3.4", "foo@e9.example.com", one(PermError)},
			{"default-modifier-obsolete", "6/3", "mail.example.com", "1.2.3.4", "foo@e19.example.com", one(Neutral)},
			{"default-modifier-obsolete2", "6/3", "mail.example.com", "1.2.3.4", "foo@e20.example.com", one(Neutral)},
			{"non-ascii-exp", "6.2/5", "hosed", "1.2.3.4", "foobar@nonascii.example.com", one(Fail)},
			{"two-exp-records", "6.2/4", "hosed", "1.2.3.4", "foobar@tworecs.example.com", one(Fail)},
			{"exp-void", "4.6.4/1, 6/2", "mail.example.com", "1.2.3.4", "foo@e23.example.com", one(Fail)},
			{"redirect-implicit", "6.1/4", "e24.example.com", "192.0.2.2", "bar@e24.example.com", one(Pass)},
		},
	},
	{
		name: "Macro expansion rules",
		zone: `
example.com.d.spf.example.com. TXT "v=spf1 redirect=a.spf.example.com"
a.spf.example.com. TXT "v=spf1 include:o.spf.example.com. ~all"
o.spf.example.com. TXT "v=spf1 ip4:192.168.218.40"
msgbas2x.cos.example.com. A 192.168.218.40
example.com. A 192.168.90.76
example.com. TXT "v=spf1 redirect=%{d}.d.spf.example.com."
exp.example.com. TXT "v=spf1 exp=msg.example.com. -all"
msg.example.com. TXT "This is a test."
e1.example.com. TXT "v=spf1 -exists:%(ir).sbl.example.com ?all"
e1e.example.com. TXT "v=spf1 exists:foo%(ir).sbl.example.com ?all"
e1t.example.com. TXT "v=spf1 exists:foo%.sbl.example.com ?all"
e1a.example.com. TXT "v=spf1 a:macro%%percent%_%_space%-url-space.example.com -all"
; The owner is written the way miekg/dns prints it: the test server keys names by that text.
macro%percent\ \ space%20url-space.example.com. A 1.2.3.4
e2.example.com. TXT "v=spf1 -all exp=%{r}.example.com"
e3.example.com. TXT "v=spf1 -all exp=%{ir}.example.com"
40.218.168.192.example.com. TXT "Connections from %{c} not authorized."
somewhat.long.exp.example.com. TXT "v=spf1 -all exp=foobar.%{o}.%{o}.%{o}.%{o}.%{o}.%{o}.%{o}.%{o}.example.com"
e4.example.com. TXT "v=spf1 -all exp=e4msg.example.com"
e4msg.example.com. TXT "%{c} is queried as %{ir}.%{v}.arpa"
e5.example.com. TXT "v=spf1 a:%{a}.example.com -all"
e6.example.com. TXT "v=spf1 -all exp=e6msg.example.com"
e6msg.example.com. TXT "connect from %{p}"
mx.example.com. A 192.168.218.41
mx.example.com. A 192.168.218.42
mx.example.com. AAAA CAFE:BABE::2
mx.example.com. AAAA CAFE:BABE::3
40.218.168.192.in-addr.arpa. PTR mx.example.com.
41.218.168.192.in-addr.arpa. PTR mx.example.com.
42.218.168.192.in-addr.arpa. PTR mx.example.com.
42.218.168.192.in-addr.arpa. PTR mx.e7.example.com.
1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.E.B.A.B.E.F.A.C.ip6.arpa. PTR mx.example.com.
3.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.E.B.A.B.E.F.A.C.ip6.arpa. PTR mx.example.com.
mx.e7.example.com. A 192.168.218.42
mx.e7.example.com.should.example.com. A 127.0.0.2
mx.example.com.ok.example.com. A 127.0.0.2
e7.example.com. TXT "v=spf1 exists:%{p}.should.example.com ~exists:%{p}.ok.example.com"
e8.example.com. TXT "v=spf1 -all exp=msg8.%{D2}"
msg8.example.com. TXT "http://example.com/why.html?l=%{L}"
e9.example.com. TXT "v=spf1 a:%{H} -all"
e10.example.com. TXT "v=spf1 -include:_spfh.%{d2} ip4:1.2.3.0/24 -all"
_spfh.example.com. TXT "v=spf1 -a:%{h} +all"
e11.example.com. TXT "v=spf1 exists:%{i}.%{l2r-}.user.%{d2}"
1.2.3.4.gladstone.philip.user.example.com. A 127.0.0.2
e12.example.com. TXT "v=spf1 exists:%{l2r+-}.user.%{d2}"
bar.foo.user.example.com. A 127.0.0.2
`,
		cases: []suiteCase{
			{"trailing-dot-domain", "7.1/16", "msgbas2x.cos.example.com", "192.168.218.40", "test@example.com", one(Pass)},
			{"trailing-dot-exp", "7.1", "msgbas2x.cos.example.com", "192.168.218.40", "test@exp.example.com", one(Fail)},
			{"exp-only-macro-char", "7.1/8", "msgbas2x.cos.example.com", "192.168.218.40", "test@e2.example.com", one(PermError)},
			{"invalid-macro-char", "7.1/9", "msgbas2x.cos.example.com", "192.168.218.40", "test@e1.example.com", one(PermError)},
			{"invalid-embedded-macro-char", "7.1/9", "msgbas2x.cos.example.com", "192.168.218.40", "test@e1e.example.com", one(PermError)},
			{"invalid-trailing-macro-char", "7.1/9", "msgbas2x.cos.example.com", "192.168.218.40", "test@e1t.example.com", one(PermError)},
			{"macro-mania-in-domain", "7.1/3, 7.1/4", "mail.example.com", "1.2.3.4", "test@e1a.example.com", one(Pass)},
			{"exp-txt-macro-char", "7.1/20", "msgbas2x.cos.example.com", "192.168.218.40", "test@e3.example.com", one(Fail)},
			{"domain-name-truncation", "7.1/25", "msgbas2x.cos.example.com", "192.168.218.40", "test@somewhat.long.exp.example.com", one(Fail)},
			{"v-macro-ip4", "7.1/6", "msgbas2x.cos.example.com", "192.168.218.40", "test@e4.example.com", one(Fail)},
			{"v-macro-ip6", "7.1/6", "msgbas2x.cos.example.com", "CAFE:BABE::1", "test@e4.example.com", one(Fail)},
			{"undef-macro", "7.1/6", "msgbas2x.cos.example.com", "CAFE:BABE::192.168.218.40", "test@e5.example.com", one(PermError)},
			{"p-macro-ip4-novalid", "7.1/22", "msgbas2x.cos.example.com", "192.168.218.40", "test@e6.example.com", one(Fail)},
			{"p-macro-ip4-valid", "7.1/22", "msgbas2x.cos.example.com", "192.168.218.41", "test@e6.example.com", one(Fail)},
			{"p-macro-ip6-novalid", "7.1/22", "msgbas2x.cos.example.com", "CAFE:BABE::1", "test@e6.example.com", one(Fail)},
			{"p-macro-ip6-valid", "7.1/22", "msgbas2x.cos.example.com", "CAFE:BABE::3", "test@e6.example.com", one(Fail)},
			{"p-macro-multiple", "7.1/22", "msgbas2x.cos.example.com", "192.168.218.42", "test@e7.example.com", []Result{Pass, SoftFail}},
			{"upper-macro", "7.1/26", "msgbas2x.cos.example.com", "192.168.218.42", "~jack&jill=up-a_b3.c@e8.example.com", one(Fail)},
			{"hello-macro", "7.1/6", "msgbas2x.cos.example.com", "192.168.218.40", "test@e9.example.com", one(Pass)},
			{"invalid-hello-macro", "7.1/2", "JUMPIN' JUPITER", "192.168.218.40", "test@e9.example.com", one(Fail)},
			{"hello-domain-literal", "7.1/2", "[192.168.218.40]", "192.168.218.40", "test@e9.example.com", one(Fail)},
			{"require-valid-helo", "7.1/6", "OEMCOMPUTER", "1.2.3.4", "test@e10.example.com", one(Fail)},
			{"macro-reverse-split-on-dash", "7.1/15, 7.1/16, 7.1/17, 7.1/18", "mail.example.com", "1.2.3.4", "philip-gladstone-test@e11.example.com", one(Pass)},
			{"macro-multiple-delimiters", "7.1/15, 7.1/16", "mail.example.com", "1.2.3.4", "foo-bar+zip+quux@e12.example.com", one(Pass)},
		},
	},
	{
		name: "Processing limits",
		zone: `
mail.example.com. A 1.2.3.4
e1.example.com. TXT "v=spf1 ip4:1.1.1.1 redirect=e1.example.com"
e1.example.com. A 1.2.3.6
e2.example.com. TXT "v=spf1 include:e3.example.com"
e2.example.com. A 1.2.3.7
e3.example.com. TXT "v=spf1 include:e2.example.com"
e3.example.com. A 1.2.3.8
e4.example.com. TXT "v=spf1 mx"
e4.example.com. MX 0 mail.example.com.
e4.example.com. MX 1 mail.example.com.
e4.example.com. MX 2 mail.example.com.
e4.example.com. MX 3 mail.example.com.
e4.example.com. MX 4 mail.example.com.
e4.example.com. MX 5 mail.example.com.
e4.example.com. MX 6 mail.example.com.
e4.example.com. MX 7 mail.example.com.
e4.example.com. MX 8 mail.example.com.
e4.example.com. MX 9 mail.example.com.
e4.example.com. MX 10 e4.example.com.
e4.example.com. A 1.2.3.5
e5.example.com. TXT "v=spf1 ptr"
e5.example.com. A 1.2.3.5
5.3.2.1.in-addr.arpa. PTR e1.example.com.
5.3.2.1.in-addr.arpa. PTR e2.example.com.
5.3.2.1.in-addr.arpa. PTR e3.example.com.
5.3.2.1.in-addr.arpa. PTR e4.example.com.
5.3.2.1.in-addr.arpa. PTR example.com.
5.3.2.1.in-addr.arpa. PTR e6.example.com.
5.3.2.1.in-addr.arpa. PTR e7.example.com.
5.3.2.1.in-addr.arpa. PTR e8.example.com.
5.3.2.1.in-addr.arpa. PTR e9.example.com.
5.3.2.1.in-addr.arpa. PTR e10.example.com.
5.3.2.1.in-addr.arpa. PTR e5.example.com.
e6.example.com. TXT "v=spf1 a mx a mx a mx a mx a ptr ip4:1.2.3.4 -all"
e6.example.com. A 1.2.3.8
e6.example.com. MX 10 e6.example.com.
e7.example.com. TXT "v=spf1 a mx a mx a mx a mx a ptr a ip4:1.2.3.4 -all"
e7.example.com. A 1.2.3.20
e8.example.com. TXT "v=spf1 a include:inc.example.com ip4:1.2.3.4 mx -all"
e8.example.com. A 1.2.3.4
inc.example.com. TXT "v=spf1 a a a a a a a a"
inc.example.com. A 1.2.3.10
e9.example.com. TXT "v=spf1 a include:inc.example.com a ip4:1.2.3.4 -all"
e9.example.com. A 1.2.3.21
e10.example.com. TXT "v=spf1 a -all"
e10.example.com. A 1.2.3.1
e10.example.com. A 1.2.3.2
e10.example.com. A 1.2.3.3
e10.example.com. A 1.2.3.4
e10.example.com. A 1.2.3.5
e10.example.com. A 1.2.3.6
e10.example.com. A 1.2.3.7
e10.example.com. A 1.2.3.8
e10.example.com. A 1.2.3.9
e10.example.com. A 1.2.3.10
e10.example.com. A 1.2.3.11
e10.example.com. A 1.2.3.12
e11.example.com. TXT "v=spf1 a:err.example.com a:err1.example.com a:err2.example.com ?all"
e12.example.com. TXT "v=spf1 a:err.example.com a:err1.example.com ?all"
`,
		cases: []suiteCase{
			{"redirect-loop", "4.6.4/1", "mail.example.com", "1.2.3.4", "foo@e1.example.com", one(PermError)},
			{"include-loop", "4.6.4/1", "mail.example.com", "1.2.3.4", "foo@e2.example.com", one(PermError)},
			{"mx-limit", "4.6.4/2", "mail.example.com", "1.2.3.5", "foo@e4.example.com", one(PermError)},
			{"ptr-limit", "4.6.4/3", "mail.example.com", "1.2.3.5", "foo@e5.example.com", []Result{Neutral, Pass}},
			{"false-a-limit", "4.6.4", "mail.example.com", "1.2.3.12", "foo@e10.example.com", one(Pass)},
			{"mech-at-limit", "4.6.4/1", "mail.example.com", "1.2.3.4", "foo@e6.example.com", one(Pass)},
			{"mech-over-limit", "4.6.4/1", "mail.example.com", "1.2.3.4", "foo@e7.example.com", one(PermError)},
			{"include-at-limit", "4.6.4/1", "mail.example.com", "1.2.3.4", "foo@e8.example.com", one(Pass)},
			{"include-over-limit", "4.6.4/1", "mail.example.com", "1.2.3.4", "foo@e9.example.com", one(PermError)},
			{"void-at-limit", "4.6.4/7", "mail.example.com", "1.2.3.4", "foo@e12.example.com", one(Neutral)},
			{"void-over-limit", "4.6.4/7", "mail.example.com", "1.2.3.4", "foo@e11.example.com", one(PermError)},
		},
	},
	{
		name: "Test cases from implementation bugs",
		zone: `
example.org. TXT "v=spf1 mx redirect=_spf.example.com"
example.org. MX 10 smtp.example.org.
example.org. MX 10 smtp1.example.com.
smtp.example.org. A 198.51.100.2
smtp.example.org. AAAA 2001:db8:ff0:100::3
smtp1.example.com. A 192.0.2.26
smtp1.example.com. AAAA 2001:db8:ff0:200::2
2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.F.F.0.8.B.D.0.1.0.0.2.ip6.arpa. PTR smtp6-v.fe.example.org.
smtp6-v.fe.example.org. AAAA 2001:db8:ff0:100::2
_spf.example.com. TXT "v=spf1 ptr:fe.example.org ptr:sgp.example.com exp=_expspf.example.org -all"
_expspf.example.org. TXT "Sender domain not allowed from this host. Please see http://www.openspf.org/Why?s=mfrom&id=%{S}&ip=%{C}&r=%{R}"
`,
		cases: []suiteCase{
			{"bytes-bug", "5.4/4", "example.org", "2001:db8:ff0:100::2", "test@example.org", one(Pass)},
		},
	},
}
