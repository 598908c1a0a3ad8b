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
