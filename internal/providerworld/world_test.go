package providerworld

import (
	"net"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// TestWorldIsConsistent checks the fixture itself, so that a failure of
// the verdict tests is the exporter's and not a typo in the world: every
// MX host of every customer has addresses, every address has a PTR whose
// name resolves back to it, every DKIM CNAME ends at a key, every SPF
// include names a record, and the self-hosted TLSA records pin the keys
// the servers present.
func TestWorldIsConsistent(t *testing.T) {
	w := Start(t)
	ask := func(name string, qtype uint16) *dns.Msg {
		t.Helper()
		q := new(dns.Msg)
		q.SetQuestion(dns.Fqdn(name), qtype)
		q.SetEdns0(4096, true)
		r, err := dns.Exchange(q, w.DNS.Addr)
		if err != nil {
			t.Fatalf("%s %s: %v", name, dns.TypeToString[qtype], err)
		}
		return r
	}
	addrs := func(host string) []string {
		var out []string
		for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA} {
			for _, rr := range ask(host, qt).Answer {
				switch a := rr.(type) {
				case *dns.A:
					out = append(out, a.A.String())
				case *dns.AAAA:
					out = append(out, a.AAAA.String())
				}
			}
		}
		return out
	}
	customers := []string{"workspace.test", "m365.test", "ses.test", "mg.mailgun.test", "sendgrid.test",
		"fastmail.test", "proton.test", "zoho.test", "selfhosted.test", "forwarded.test"}
	for _, domain := range customers {
		mx := ask(domain, dns.TypeMX).Answer
		if len(mx) == 0 {
			t.Errorf("%s: no MX", domain)
		}
		for _, rr := range mx {
			host := rr.(*dns.MX).Mx
			ips := addrs(host)
			if len(ips) == 0 {
				t.Errorf("%s: MX host %s has no address", domain, host)
			}
			for _, ip := range ips {
				rev, _ := dns.ReverseAddr(ip)
				ptrs := ask(rev, dns.TypePTR).Answer
				if len(ptrs) != 1 {
					t.Errorf("%s: %s has %d PTR records", host, ip, len(ptrs))
					continue
				}
				name := ptrs[0].(*dns.PTR).Ptr
				back := addrs(name)
				if !contains(back, net.ParseIP(ip).String()) {
					t.Errorf("%s: PTR %s of %s resolves to %v", host, name, ip, back)
				}
			}
		}
		for _, rr := range ask(domain, dns.TypeTXT).Answer {
			txt := strings.Join(rr.(*dns.TXT).Txt, "")
			if !strings.HasPrefix(txt, "v=spf1 ") {
				continue
			}
			for _, term := range strings.Fields(txt) {
				if inc, ok := strings.CutPrefix(term, "include:"); ok && !hasSPF(ask(inc, dns.TypeTXT)) {
					t.Errorf("%s: include:%s names no SPF record", domain, inc)
				}
			}
		}
	}
	for _, sel := range []string{
		"google._domainkey.workspace.test", "selector1._domainkey.m365.test", "selector2._domainkey.m365.test",
		sesSelectors[0] + "._domainkey.ses.test", sesSelectors[1] + "._domainkey.ses.test", sesSelectors[2] + "._domainkey.ses.test",
		"mx._domainkey.mg.mailgun.test", "s1._domainkey.sendgrid.test", "s2._domainkey.sendgrid.test",
		"fm1._domainkey.fastmail.test", "fm2._domainkey.fastmail.test", "fm3._domainkey.fastmail.test",
		"protonmail._domainkey.proton.test", "protonmail2._domainkey.proton.test", "protonmail3._domainkey.proton.test",
		"zmail._domainkey.zoho.test", "dkim._domainkey.selfhosted.test", "cf2024-1._domainkey.forwarded.test",
	} {
		var key string
		for _, rr := range ask(sel, dns.TypeTXT).Answer {
			if txt, ok := rr.(*dns.TXT); ok {
				key = strings.Join(txt.Txt, "")
			}
		}
		if !strings.Contains(key, "p=MII") {
			t.Errorf("%s: no key at the end of the chain: %q", sel, key)
		}
	}
	for _, host := range []string{MX1, MX2} {
		tlsa := ask("_25._tcp."+host, dns.TypeTLSA)
		if len(tlsa.Answer) != 1 || !tlsa.AuthenticatedData {
			t.Fatalf("%s: TLSA answer %v (AD %v)", host, tlsa.Answer, tlsa.AuthenticatedData)
		}
		if got := tlsa.Answer[0].(*dns.TLSA).Certificate; got != tlsaDigest(w.Certs[host]) {
			t.Errorf("%s: TLSA %s does not pin the served key", host, got)
		}
	}
}

func hasSPF(m *dns.Msg) bool {
	for _, rr := range m.Answer {
		if txt, ok := rr.(*dns.TXT); ok && strings.HasPrefix(strings.Join(txt.Txt, ""), "v=spf1 ") {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
