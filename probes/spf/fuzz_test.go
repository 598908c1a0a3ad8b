package spf

import (
	"context"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// seedRecords are the records of the RFC 7208 suite and of the test world,
// the fuzzers' starting points.
func seedRecords() []string {
	var out []string
	for _, text := range []string{world} {
		for _, line := range strings.Split(text, "\n") {
			if i := strings.Index(line, ` TXT "`); i >= 0 {
				out = append(out, strings.ReplaceAll(strings.TrimSuffix(line[i+6:], `"`), `" "`, ""))
			}
		}
	}
	for _, sec := range rfc7208Suite {
		for _, line := range strings.Split(sec.zone, "\n") {
			if i := strings.Index(line, ` TXT "`); i >= 0 {
				out = append(out, unescape(strings.TrimSuffix(line[i+6:], `"`)))
			}
		}
	}
	return out
}

func FuzzParse(f *testing.F) {
	for _, s := range seedRecords() {
		f.Add(s)
	}
	vals := checkerVals{c: &checker{ip: netip.MustParseAddr("192.0.2.1"), sender: "a-b@example.com", local: "a-b",
		senderDomain: "example.com", helo: "mail.example.com", ptrDone: true}, domain: "example.com"}
	f.Fuzz(func(t *testing.T, txt string) {
		rec, err := Parse(txt)
		if rec == nil {
			t.Fatal("nil record")
		}
		if (err == nil) != (len(rec.Errors) == 0) {
			t.Fatalf("error %v with %d errors kept", err, len(rec.Errors))
		}
		// Terms are separated by spaces only (RFC 7208 §4.6.1).
		fields := len(strings.FieldsFunc(txt, func(r rune) bool { return r == ' ' }))
		n := len(rec.Terms) + len(rec.Unknown) + len(rec.Errors)
		if rec.Redirect != nil {
			n++
		}
		if rec.Exp != nil {
			n++
		}
		if n > fields+1 {
			t.Fatalf("%d parts from %d fields", n, fields)
		}
		for _, tm := range rec.Terms {
			if tm.Pos < 0 || tm.Pos+len(tm.Text) > len(txt) || txt[tm.Pos:tm.Pos+len(tm.Text)] != tm.Text {
				t.Fatalf("term %q does not stand at %d", tm.Text, tm.Pos)
			}
			if tm.Prefix4 < 0 || tm.Prefix4 > 32 || tm.Prefix6 < 0 || tm.Prefix6 > 128 {
				t.Fatalf("term %q: prefix lengths %d, %d", tm.Text, tm.Prefix4, tm.Prefix6)
			}
			if tm.Domain != nil {
				out, ok := tm.Domain.expand(vals)
				if !ok {
					t.Fatalf("term %q: expansion with every value known failed", tm.Text)
				}
				if name, ok := targetName(out); ok && (len(name) > maxNameLength || strings.Contains(name, "..")) {
					t.Fatalf("term %q: target %q", tm.Text, name)
				}
			}
		}
		for _, e := range rec.Errors {
			if e.Pos < 0 || e.Pos > len(txt) || e.Error() == "" {
				t.Fatalf("error %+v", e)
			}
		}
		if err == nil {
			// Parsing is a function of the text: the same text, the same
			// record.
			again, err2 := Parse(txt)
			if err2 != nil || describeRecord(again) != describeRecord(rec) {
				t.Fatalf("second parse differs: %v", err2)
			}
		}
	})
}

// escapeTXT renders octets the way miekg/dns keeps TXT strings.
func escapeTXT(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < ' ' || c > '~':
			b.WriteByte('\\')
			b.WriteByte('0' + c/100)
			b.WriteByte('0' + c/10%10)
			b.WriteByte('0' + c%10)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// fuzzZone publishes three fuzzed records, for fz.example and two names
// it may include, redirect to or name, beside fixed addresses, MX and PTR
// records those records can reach.
func fuzzZone(root, a, b string, servfail bool) *memZone {
	z := newMemZone()
	txt := func(name, s string) {
		var strs []string
		for len(s) > 255 {
			strs = append(strs, escapeTXT(s[:255]))
			s = s[255:]
		}
		strs = append(strs, escapeTXT(s))
		z.put(&dns.TXT{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 300}, Txt: strs})
	}
	txt("fz.example.", root)
	txt("a.fz.example.", a)
	txt("b.fz.example.", b)
	z.add(
		"a.fz.example. A 192.0.2.1",
		"a.fz.example. AAAA 2001:db8::1",
		"b.fz.example. A 192.0.2.2",
		"fz.example. MX 10 a.fz.example.",
		"fz.example. MX 20 b.fz.example.",
		"b.fz.example. MX 10 fz.example.",
		"1.2.0.192.in-addr.arpa. PTR a.fz.example.",
		"1.2.0.192.in-addr.arpa. PTR fz.example.",
		"192.0.2.1.fz.example. A 127.0.0.2",
	)
	if servfail {
		z.servfail["c.fz.example."] = true
	}
	return z
}

// The most questions one check_host() may ask (§4.6.4): the record, then
// ten DNS-querying terms of which an mx asks the MX and ten hosts, plus
// the client's PTR names (ten, each confirmed) once for ptr and %{p}.
const maxCheckHostQuestions = 1 + LookupLimit*(1+AddressLimit) + 1 + AddressLimit

// The most questions one audit may ask: auditLookupCap resolved terms, an
// mx asking MX and A and AAAA of ten hosts; and as many again warmed.
const maxAuditQuestions = 2 * auditLookupCap * (1 + 2*AddressLimit)

func FuzzCheckHost(f *testing.F) {
	seeds := seedRecords()
	for i, s := range seeds {
		f.Add(s, seeds[(i+1)%len(seeds)], seeds[(i+7)%len(seeds)], i%3 == 0)
	}
	f.Add("v=spf1 include:a.fz.example -all", "v=spf1 include:b.fz.example ~all", "v=spf1 include:a.fz.example", false)
	f.Add("v=spf1 redirect=a.fz.example", "v=spf1 redirect=b.fz.example", "v=spf1 redirect=fz.example", false)
	f.Add("v=spf1 mx mx mx mx mx mx mx mx mx mx mx mx", "v=spf1 ptr ptr:%{d} exists:%{p}.fz.example", "v=spf1 a:c.fz.example", true)
	f.Add("v=spf1 exists:%{i}.%{d} include:%{d2} a:%{l}.%{o} -all", "v=spf1 +all", "v=spf1 ?all", false)
	f.Fuzz(func(t *testing.T, root, a, b string, servfail bool) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, ip := range []string{"192.0.2.1", "2001:db8::1", "198.51.100.1"} {
			z := fuzzZone(root, a, b, servfail)
			c := newChecker(ctx, z, netip.MustParseAddr(ip), "x-y@fz.example", "a.fz.example")
			res, err := c.checkHost("fz.example")
			switch res {
			case None, Neutral, Pass, Fail, SoftFail:
			case TempError, PermError:
				if err == nil {
					t.Fatalf("%s for %s without an explanation", res, ip)
				}
			default:
				t.Fatalf("result %q", res)
			}
			if c.lookups > LookupLimit || c.voids > VoidLookupLimit+1 {
				t.Fatalf("%s: %d lookups, %d voids", ip, c.lookups, c.voids)
			}
			if q := z.questions(); q > maxCheckHostQuestions {
				t.Fatalf("%s: %d questions, at most %d allowed", ip, q, maxCheckHostQuestions)
			}
		}
		z := fuzzZone(root, a, b, servfail)
		set, err := fetchRecord(ctx, z, "fz.example")
		if err != nil || len(set.records) != 1 {
			return
		}
		rec, _ := Parse(set.records[0])
		au := runAudit(ctx, z, "fz.example", rec)
		if au.root.cost != au.lookups {
			t.Fatalf("the tree costs %d, the audit counted %d", au.root.cost, au.lookups)
		}
		if q := z.questions(); q > maxAuditQuestions {
			t.Fatalf("audit: %d questions, at most %d allowed", q, maxAuditQuestions)
		}
		if au.lookups > LookupLimit && au.crossLookups == nil {
			t.Fatalf("%d lookups and no crossing marked", au.lookups)
		}
		lines := au.treeLines()
		if len(lines) == 0 || len(lines) > 2*auditLookupCap+4 {
			t.Fatalf("%d tree lines", len(lines))
		}
	})
}

func TestHostileTreesAreBounded(t *testing.T) {
	ctx := context.Background()
	// Includes nested 1,000 deep, and a record with 5,000 a terms.
	z := newMemZone()
	for i := 0; i < 1000; i++ {
		z.add(`l` + strconv.Itoa(i) + `.deep.example. TXT "v=spf1 include:l` + strconv.Itoa(i+1) + `.deep.example -all"`)
	}
	set, _ := fetchRecord(ctx, z, "l0.deep.example")
	rec, _ := Parse(set.records[0])
	a := runAudit(ctx, z, "l0.deep.example", rec)
	if !a.capped || a.lookups != auditLookupCap+1 || a.crossLookups == nil {
		t.Errorf("deep: capped %v, %d lookups", a.capped, a.lookups)
	}
	if q := z.questions(); q > 2*auditLookupCap+2 {
		t.Errorf("deep: %d questions", q)
	}

	z = newMemZone()
	z.put(&dns.TXT{Hdr: dns.RR_Header{Name: "wide.example.", Rrtype: dns.TypeTXT, Class: dns.ClassINET}, Txt: []string{"v=spf1" + strings.Repeat(" a:x.example", 5000) + " -all"}})
	set, _ = fetchRecord(ctx, z, "wide.example")
	rec, _ = Parse(set.records[0])
	a = runAudit(ctx, z, "wide.example", rec)
	if !a.capped || a.lookups != 5000 || a.root.cost != 5000 {
		t.Errorf("wide: capped %v, %d lookups, cost %d", a.capped, a.lookups, a.root.cost)
	}
	if q := z.questions(); q > 4*auditLookupCap+1 {
		t.Errorf("wide: %d questions", q)
	}
	lines := a.treeLines()
	if last := lines[len(lines)-1]; !strings.Contains(last, "… 4970 more DNS-querying terms not resolved (the audit resolves at most 30)") {
		t.Errorf("last tree line %q", last)
	}
	// A receiver stops at the 11th term.
	c := newChecker(ctx, z, netip.MustParseAddr("192.0.2.1"), "postmaster@wide.example", "wide.example")
	if res, err := c.checkHost("wide.example"); res != PermError || err == nil {
		t.Errorf("check_host = %s, %v", res, err)
	}
}

// FuzzMergeRecords: the record a fix proposes in place of several valid
// ones is itself valid (it parses, has no redirect an all would disable,
// at most one exp=) and never passes or shrugs at everyone.
func FuzzMergeRecords(f *testing.F) {
	seeds := seedRecords()
	for i := 0; i+1 < len(seeds); i += 2 {
		f.Add(seeds[i], seeds[i+1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		var valid []string
		for _, s := range []string{a, b} {
			if rec, err := Parse(s); err == nil && IsSPF(s) && rec != nil {
				valid = append(valid, s)
			}
		}
		if len(valid) == 0 {
			return
		}
		merged := mergeRecords(valid)
		rec, err := Parse(merged)
		if err != nil {
			t.Fatalf("merged %q into %q, which does not parse: %v", valid, merged, err)
		}
		if rec.Redirect != nil || !rec.HasAll() {
			t.Fatalf("merged %q into %q: a redirect, or no all", valid, merged)
		}
		for _, term := range rec.Terms {
			if term.Mechanism == MechAll && term.Qualifier != QualifierFail && term.Qualifier != QualifierSoftFail {
				t.Fatalf("merged %q into %q, which ends in %s", valid, merged, term.Text)
			}
		}
	})
}
