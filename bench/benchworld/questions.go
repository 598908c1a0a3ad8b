package benchworld

import (
	"fmt"
	"sort"
	"strings"

	"github.com/miekg/dns"

	"github.com/deliverability-exporter/deliverability_exporter/probes/dkim"
)

// Question is one DNS question.
type Question struct {
	Name string // lower case, fully qualified
	Type uint16
}

func (q Question) String() string {
	return dns.TypeToString[q.Type] + " " + strings.TrimSuffix(q.Name, ".")
}

// Need is a question the full module must ask about bench.test, with the
// checks that use its answer.
type Need struct {
	Question
	Group string // the table row it is counted in
	Why   string
}

// Needed derives, from what each check of the full mail module reads, the
// questions a probe request of bench.test (Mapped shape: blocklists asked
// about every address) cannot do without; each is needed once. The
// blocklist test points are counted because check_health is on by default
// (dnsbl.list_health reads them); DKIM discovery because discover is on by
// default (dkim.present reads every found selector).
func (w *World) Needed() []Need {
	var out []Need
	add := func(group, why string, qtype uint16, names ...string) {
		for _, n := range names {
			out = append(out, Need{Question{dns.Fqdn(strings.ToLower(n)), qtype}, group, why})
		}
	}
	d := Domain
	hosts := []string{MX1, MX2}
	add("MX discovery (shared)", "mx.present, and every probe that looks at mail hosts", dns.TypeMX, d)
	add("MX discovery (shared)", "mx.resolves, smtp, spf mx/check_host, dnsbl", dns.TypeA, hosts...)
	add("MX discovery (shared)", "mx.resolves, mx.ipv6, smtp, spf, dnsbl", dns.TypeAAAA, hosts...)
	v4 := []string{"198.18.0.11", "198.18.0.12"}
	v6 := []string{"2001:db8:18::11", "2001:db8:18::12"}
	if w.Shape == Loopback {
		v4, v6 = []string{"127.0.0.11", "127.0.0.12"}, []string{"::1"}
	}
	var ips []string
	ips = append(ips, v4...)
	ips = append(ips, v6...)
	for _, ip := range ips {
		rev, _ := dnsReverse(ip)
		add("mx: reverse DNS", "ptr.present, ptr.fcrdns (the PTR names are MX hosts: confirmed from the A/AAAA answers above), ptr.not_generic, ptr.role_label", dns.TypePTR, rev)
	}
	add("mx: CAA, SRV", "caa.present (found at the domain: no walk up)", dns.TypeCAA, d)
	for _, s := range []string{"submission", "submissions", "imap", "imaps", "pop3", "pop3s"} {
		add("mx: CAA, SRV", "srv.client", dns.TypeSRV, "_"+s+"._tcp."+d)
	}
	add("spf", "spf.present, spf.syntax, spf.all_policy ...", dns.TypeTXT, d)
	add("spf", "the include's record (lookup and void counts, check_host)", dns.TypeTXT, "_spf.provider.test")
	add("spf", "spf.helo: the EHLO names the SMTP servers gave", dns.TypeTXT, hosts...)
	sel := map[string]bool{}
	var sels []string
	for _, s := range append(append([]string(nil), Selectors...), dkim.DiscoverySelectors()...) {
		if !sel[s] {
			sel[s] = true
			sels = append(sels, s)
		}
	}
	for _, s := range sels {
		add("dkim", "dkim.present and the key checks: 3 configured selectors and the discovery list, each once", dns.TypeTXT, s+"._domainkey."+d)
	}
	add("dkim", "the wildcard check that keeps a *._domainkey record from passing as discovered keys", dns.TypeTXT, "_wildcard-check._domainkey."+d)
	add("dmarc", "dmarc.present, dmarc.syntax, dmarc.policy ...", dns.TypeTXT, "_dmarc."+d)
	add("dmarc", "dmarc.external_reports (RFC 7489 §7.1)", dns.TypeTXT, d+"._report._dmarc.reports.dmarc-service.test")
	add("mtasts", "mtasts.record", dns.TypeTXT, "_mta-sts."+d)
	add("mtasts", "the policy host's addresses, to fetch the policy", dns.TypeA, "mta-sts."+d)
	add("mtasts", "the policy host's addresses, to fetch the policy", dns.TypeAAAA, "mta-sts."+d)
	add("tlsrpt", "tlsrpt.present", dns.TypeTXT, "_smtp._tls."+d)
	add("smtp: DANE", "dane.tlsa, dane.match, dane.rollover (the hosts' answers are validated)", dns.TypeTLSA, "_25._tcp."+MX1, "_25._tcp."+MX2)
	for _, bl := range BlocklistZones {
		if bl.Kind == "domain" {
			// The domain and the MX host names; the hosts' registered
			// domain is the domain itself.
			add("dnsbl", "dnsbl.domain", dns.TypeA, d+"."+bl.Zone, MX1+"."+bl.Zone, MX2+"."+bl.Zone)
			add("dnsbl", "dnsbl.list_health (RFC 5782 §5 test points)", dns.TypeA, "test."+bl.Zone, "invalid."+bl.Zone)
			continue
		}
		if w.Shape == Mapped {
			subjects := v4
			if bl.IPv6 {
				subjects = ips
			}
			for _, ip := range subjects {
				rev, _ := dnsReverse(ip)
				add("dnsbl", "dnsbl.ip", dns.TypeA, listName(rev, bl.Zone))
			}
			add("dnsbl", "dnsbl.list_health (RFC 5782 §5 test points)", dns.TypeA, "2.0.0.127."+bl.Zone, "1.0.0.127."+bl.Zone)
		}
	}
	return out
}

// dnsReverse is the reverse name of an address.
func dnsReverse(ip string) (string, error) {
	return dns.ReverseAddr(ip)
}

// listName is the blocklist question for a reverse name: the reversed
// address under the list's zone instead of in-addr.arpa or ip6.arpa.
func listName(rev, zone string) string {
	rev = strings.TrimSuffix(rev, ".in-addr.arpa.")
	rev = strings.TrimSuffix(rev, ".ip6.arpa.")
	return rev + "." + zone
}

// Classify names the group a question belongs to (for questions outside
// Needed: what asked it).
func Classify(q Question, needed []Need) string {
	for _, n := range needed {
		if n.Question == q {
			return n.Group
		}
	}
	return "unexpected: " + q.String()
}

// Comparison counts what was asked against what is needed: per group, and
// the questions asked but not needed and needed but not asked.
type Comparison struct {
	Groups   []string
	Needed   map[string]int
	Sent     map[string]int
	Extra    []string // asked, not needed
	Missing  []string // needed, not asked
	Repeated map[string]int
}

// Compare compares the questions asked (one entry per message sent) with
// the needed ones.
func Compare(asked []Question, needed []Need) *Comparison {
	c := &Comparison{Needed: map[string]int{}, Sent: map[string]int{}, Repeated: map[string]int{}}
	seenGroup := map[string]bool{}
	need := map[Question]bool{}
	for _, n := range needed {
		need[n.Question] = true
		c.Needed[n.Group]++
		if !seenGroup[n.Group] {
			seenGroup[n.Group] = true
			c.Groups = append(c.Groups, n.Group)
		}
	}
	count := map[Question]int{}
	for _, q := range asked {
		count[q]++
		g := Classify(q, needed)
		if !need[q] {
			g = "not needed"
			c.Extra = append(c.Extra, q.String())
		}
		c.Sent[g]++
	}
	if c.Sent["not needed"] > 0 {
		c.Groups = append(c.Groups, "not needed")
	}
	for q, n := range count {
		if n > 1 {
			c.Repeated[q.String()] = n
		}
	}
	for _, n := range needed {
		if count[n.Question] == 0 {
			c.Missing = append(c.Missing, n.String())
		}
	}
	sort.Strings(c.Extra)
	sort.Strings(c.Missing)
	return c
}

// Totals returns the needed and sent counts.
func (c *Comparison) Totals() (needed, sent int) {
	for _, n := range c.Needed {
		needed += n
	}
	for _, n := range c.Sent {
		sent += n
	}
	return needed, sent
}

// String is a short account.
func (c *Comparison) String() string {
	n, s := c.Totals()
	return fmt.Sprintf("%d sent, %d needed, %d repeated, %d not needed, %d missing", s, n, len(c.Repeated), len(c.Extra), len(c.Missing))
}
