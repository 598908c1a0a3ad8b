package testbed

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

func ask(t *testing.T, addr, name string, qtype uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.SetEdns0(1232, true)
	r, err := dns.ExchangeContext(context.Background(), m, addr)
	if err != nil {
		t.Fatalf("%s %s: %v", dns.TypeToString[qtype], name, err)
	}
	return r
}

func TestServerAnswersLikeAResolver(t *testing.T) {
	s := StartExampleWorld(t)
	r := ask(t, s.Addr, "alias.broken.test.", dns.TypeA)
	if len(r.Answer) != 2 || r.Answer[0].Header().Rrtype != dns.TypeCNAME || r.Rcode != dns.RcodeSuccess {
		t.Errorf("CNAME chase: %v", r)
	}
	if r.AuthenticatedData {
		t.Error("AD set for a chain through an unsigned zone")
	}
	if r := ask(t, s.Addr, "mx1.example.test.", dns.TypeA); !r.AuthenticatedData {
		t.Error("AD missing for a secure zone")
	}
	if r := ask(t, s.Addr, "nothing.example.test.", dns.TypeA); r.Rcode != dns.RcodeNameError {
		t.Errorf("rcode %d for a missing name", r.Rcode)
	}
	if r := ask(t, s.Addr, "_tcp.example.test.", dns.TypeA); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 {
		t.Errorf("empty non-terminal: rcode %d, %d answers", r.Rcode, len(r.Answer))
	}
	s.SetBehaviour("example.test", Refused)
	if r := ask(t, s.Addr, "example.test.", dns.TypeMX); r.Rcode != dns.RcodeRefused {
		t.Errorf("rcode %d, want REFUSED", r.Rcode)
	}
}

func TestServerSynthesizesFromWildcards(t *testing.T) {
	// RFC 4592: a name that does not exist is answered from the wildcard
	// at its closest encloser; a name that exists, or one whose closest
	// encloser has no wildcard, is not.
	s := StartDNS(t, `
$ORIGIN parked.test.
*._domainkey      IN TXT   "v=DKIM1; p="
s1._domainkey     IN TXT   "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
x.s2._domainkey   IN TXT   "below s2, so s2 exists"
*.alias           IN CNAME target
target            IN A     192.0.2.7
`)
	r := ask(t, s.Addr, "google._domainkey.parked.test.", dns.TypeTXT)
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 || r.Answer[0].Header().Name != "google._domainkey.parked.test." ||
		r.Answer[0].(*dns.TXT).Txt[0] != "v=DKIM1; p=" {
		t.Errorf("synthesized TXT: %v", r)
	}
	if r := ask(t, s.Addr, "s1._domainkey.parked.test.", dns.TypeTXT); len(r.Answer) != 1 || r.Answer[0].(*dns.TXT).Txt[0] == "v=DKIM1; p=" {
		t.Errorf("a name that exists is answered from its own records: %v", r)
	}
	if r := ask(t, s.Addr, "s2._domainkey.parked.test.", dns.TypeTXT); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 {
		t.Errorf("an empty non-terminal is not answered from the wildcard (RFC 4592 §2.2.2): rcode %d, %v", r.Rcode, r.Answer)
	}
	if r := ask(t, s.Addr, "a.b._domainkey.parked.test.", dns.TypeTXT); len(r.Answer) != 1 || r.Answer[0].Header().Name != "a.b._domainkey.parked.test." {
		t.Errorf("a name two labels below the closest encloser: %v", r)
	}
	if r := ask(t, s.Addr, "google._domainkey.parked.test.", dns.TypeA); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 {
		t.Errorf("the wildcard exists without an A record: rcode %d (want NODATA), %v", r.Rcode, r.Answer)
	}
	if r := ask(t, s.Addr, "mail.alias.parked.test.", dns.TypeA); len(r.Answer) != 2 || r.Answer[0].Header().Name != "mail.alias.parked.test." {
		t.Errorf("a wildcard CNAME is synthesized and followed: %v", r)
	}
	if r := ask(t, s.Addr, "nothing.parked.test.", dns.TypeTXT); r.Rcode != dns.RcodeNameError {
		t.Errorf("no wildcard at the closest encloser parked.test: rcode %d", r.Rcode)
	}
}

func TestLockstepCountsRounds(t *testing.T) {
	s := StartExampleWorld(t)
	s.SetLockstep(30 * time.Millisecond)
	// Two rounds: three questions at once, then one that depends on them.
	var wg sync.WaitGroup
	for _, n := range []string{"mx1.example.test.", "mx2.example.test.", "example.test."} {
		wg.Add(1)
		go func() { defer wg.Done(); ask(t, s.Addr, n, dns.TypeA) }()
	}
	wg.Wait()
	ask(t, s.Addr, "10.2.0.192.in-addr.arpa.", dns.TypePTR)
	if got := s.Rounds(); got != 2 {
		t.Errorf("Rounds = %d, want 2", got)
	}
}

func askCD(t *testing.T, addr, name string, qtype uint16, cd bool) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.SetEdns0(1232, true)
	m.CheckingDisabled = cd
	r, err := dns.ExchangeContext(context.Background(), m, addr)
	if err != nil {
		t.Fatalf("%s %s: %v", dns.TypeToString[qtype], name, err)
	}
	return r
}

func extendedOf(m *dns.Msg) []dns.EDNS0_EDE {
	var out []dns.EDNS0_EDE
	if opt := m.IsEdns0(); opt != nil {
		for _, o := range opt.Option {
			if e, ok := o.(*dns.EDNS0_EDE); ok {
				out = append(out, *e)
			}
		}
	}
	return out
}

// A bogus zone answers as a validating resolver does: SERVFAIL with the
// Extended DNS Errors and nothing of the data, unless the CD bit asks for
// the data unvalidated. A chain into the zone is bogus too; the rest of
// the world is not.
func TestBogusZoneAnswersLikeAValidator(t *testing.T) {
	s := StartExampleWorld(t)
	s.SetSecure("broken.test")
	s.SetBogus("broken.test", dns.EDNS0_EDE{InfoCode: dns.ExtendedErrorCodeDNSKEYMissing, ExtraText: "no DNSKEY matches the DS"})

	r := askCD(t, s.Addr, "alias.broken.test.", dns.TypeA, false)
	if r.Rcode != dns.RcodeServerFailure || len(r.Answer) != 0 || r.AuthenticatedData {
		t.Errorf("without CD: %s, %d answers, AD=%v; want SERVFAIL, none, no AD", dns.RcodeToString[r.Rcode], len(r.Answer), r.AuthenticatedData)
	}
	if got := extendedOf(r); len(got) != 1 || got[0].InfoCode != dns.ExtendedErrorCodeDNSKEYMissing || got[0].ExtraText != "no DNSKEY matches the DS" {
		t.Errorf("EDE = %v, want one DNSKEY Missing with its text", got)
	}

	r = askCD(t, s.Addr, "alias.broken.test.", dns.TypeA, true)
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 2 || r.AuthenticatedData || !r.CheckingDisabled {
		t.Errorf("with CD: %s, %d answers, AD=%v, CD=%v; want NOERROR, the chain, no AD, CD echoed", dns.RcodeToString[r.Rcode], len(r.Answer), r.AuthenticatedData, r.CheckingDisabled)
	}
	if got := extendedOf(r); len(got) != 0 {
		t.Errorf("EDE on the CD answer: %v", got)
	}
	if r := askCD(t, s.Addr, "nothing.broken.test.", dns.TypeA, true); r.Rcode != dns.RcodeNameError {
		t.Errorf("NXDOMAIN with CD: %s", dns.RcodeToString[r.Rcode])
	}
	if r := askCD(t, s.Addr, "mx1.example.test.", dns.TypeA, false); r.Rcode != dns.RcodeSuccess || !r.AuthenticatedData {
		t.Errorf("a secure zone beside the bogus one: %s AD=%v", dns.RcodeToString[r.Rcode], r.AuthenticatedData)
	}
	q := s.Queries()
	if len(q) < 2 || q[0].CD || !q[1].CD {
		t.Errorf("queries %v: want the CD bit recorded", q)
	}

	// Without Extended DNS Errors: a bare SERVFAIL, as from Unbound
	// without "ede: yes".
	s.SetBogus("broken.test")
	if r := askCD(t, s.Addr, "alias.broken.test.", dns.TypeA, false); r.Rcode != dns.RcodeServerFailure || len(extendedOf(r)) != 0 {
		t.Errorf("bogus without EDE: %s %v", dns.RcodeToString[r.Rcode], extendedOf(r))
	}
}

// A resolver that fails for another reason fails with the CD bit too, and
// may say why.
func TestServFailCarriesExtendedErrors(t *testing.T) {
	s := StartExampleWorld(t)
	s.SetBehaviour("example.test", ServFail)
	s.SetExtendedErrors("example.test", dns.EDNS0_EDE{InfoCode: dns.ExtendedErrorCodeNoReachableAuthority})
	for _, cd := range []bool{false, true} {
		r := askCD(t, s.Addr, "example.test.", dns.TypeMX, cd)
		if r.Rcode != dns.RcodeServerFailure {
			t.Errorf("CD=%v: %s, want SERVFAIL", cd, dns.RcodeToString[r.Rcode])
		}
		if got := extendedOf(r); len(got) != 1 || got[0].InfoCode != dns.ExtendedErrorCodeNoReachableAuthority {
			t.Errorf("CD=%v: EDE %v, want No Reachable Authority", cd, got)
		}
	}
}
