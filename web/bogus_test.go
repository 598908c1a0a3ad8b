package web

import (
	"testing"

	"github.com/miekg/dns"

	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
)

// The report lists bogus questions once per distinct answer of the
// resolver, naming the first dozen questions of each.
func TestBogusLines(t *testing.T) {
	expired := []dnsclient.ExtendedError{{Code: dns.ExtendedErrorCodeSignatureExpired, Text: "expired"}}
	var list []*dnsclient.Bogus
	for _, n := range []string{"a.test.", "b.test.", "c.test.", "d.test.", "e.test.", "f.test.", "g.test.", "h.test.", "i.test.", "j.test.", "k.test.", "l.test.", "m.test."} {
		list = append(list, &dnsclient.Bogus{Name: n, Type: dns.TypeTXT, Server: "192.0.2.53:53", Errors: expired})
	}
	list = append(list, &dnsclient.Bogus{Name: "mx.other.test.", Type: dns.TypeA, Server: "192.0.2.53:53"})
	got := BogusLines(list)
	want := []string{
		"TXT a.test, TXT b.test, TXT c.test, TXT d.test, TXT e.test, TXT f.test, TXT g.test, TXT h.test, TXT i.test, TXT j.test, TXT k.test, TXT l.test and 1 more: SERVFAIL from 192.0.2.53:53 with EDE 7 (Signature Expired): expired",
		"A mx.other.test: SERVFAIL from 192.0.2.53:53 without an Extended DNS Error, but an answer with checking disabled (CD)",
	}
	if len(got) != len(want) {
		t.Fatalf("BogusLines = %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d:\n got %q\nwant %q", i, got[i], want[i])
		}
	}
	if s := BogusSummary(1); s[:39] != "the resolver refused 1 answer as DNSSEC" {
		t.Errorf("summary %q", s)
	}
}
