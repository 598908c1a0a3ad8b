package mx

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestGenericReason(t *testing.T) {
	for _, tc := range []struct {
		name, ip string
		want     string // a substring of the reason; "" means not generic
	}{
		// Names mail operators choose.
		{"mx1.example.test", "192.0.2.10", ""},
		{"mail.example.co.uk.", "192.0.2.10", ""},
		{"smtp-out2.mail.example.test", "198.51.100.7", ""},
		{"liverpool.example.test", "192.0.2.10", ""}, // "pool" only as a word of its own
		{"hostmaster.example.test", "192.0.2.10", ""},
		{"host1.example.test", "192.0.2.10", ""},
		{"mx.example.test", "2001:db8::25", ""},
		{"mail-1.example.test", "2001:db8::1", ""}, // one group "1" is not the address
		{"example.test", "192.0.2.10", ""},         // no host part at all
		{"static.example.test", "192.0.2.10", "\"static\""},
		{"dyn.example.test", "192.0.2.10", "\"dyn\""},
		// Access provider names.
		{"192-0-2-77.dyn.isp.test", "192.0.2.77", "embeds the address"},
		{"77.2.0.192.dsl.isp.test", "192.0.2.77", "embeds the address"}, // reversed
		{"ip192-0-2-1.isp.test", "192.0.2.1", "embeds the address"},
		{"host-192-000-002-077.isp.test", "192.0.2.77", "embeds the address"}, // zero-padded
		{"c000024d.isp.test", "192.0.2.77", "hex"},
		{"cpe-c000024d.res.isp.test", "192.0.2.77", "hex"},
		{"ec2-192-0-2-1.eu-west-1.compute.amazonaws.com", "192.0.2.1", "embeds the address"},
		{"ec2-192-0-2-1.compute-1.amazonaws.com", "192.0.2.1", "embeds the address"},
		{"a192-0-2-5.deploy.static.akamaitechnologies.com", "192.0.2.5", "embeds the address"},
		{"pool-198-51-100-12.bstn.fios.verizon.net", "198.51.100.12", "embeds the address"},
		{"2-0-77.isp.test", "192.0.2.77", "embeds the address"}, // three of four octets
		{"dhcp-12.campus.example.edu", "192.0.2.12", "\"dhcp\""},
		{"cust-12.isp.test", "192.0.2.12", "\"cust\""},
		{"unassigned.isp.test", "192.0.2.12", "\"unassigned\""},
		{"adsl.isp.test", "192.0.2.12", "\"adsl\""},
		{"mail_1.example.test", "192.0.2.12", `"_"`},
		{"2001-db8-0-0-0-0-0-10.ip6.isp.test", "2001:db8::10", "embeds the address"},
		{"2001-0db8-0000-0010.v6.isp.test", "2001:db8::10", "embeds the address"},
		// Other addresses' digits are not this address.
		{"192-0-2-77.example.test", "198.51.100.1", ""},
		// The registrable domain is not judged: "dyn.test" owns the name.
		{"mx1.dyn.test", "192.0.2.10", ""},
	} {
		got := genericReason(tc.name, netip.MustParseAddr(tc.ip))
		if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("genericReason(%q, %s) = %q, want %q", tc.name, tc.ip, got, tc.want)
		}
	}
}

func TestRoleLabel(t *testing.T) {
	for name, want := range map[string]string{
		"mx1.example.test":          "mx",
		"mail.example.co.uk.":       "mail",
		"smtp-out2.example.test":    "smtp",
		"out.example.test":          "out",
		"mailgw3.example.test":      "mailgw",
		"inbound-7.example.test":    "inbound",
		"postfix.example.test":      "postfix",
		"www.example.test":          "",
		"server7.example.test":      "",
		"mailbox.example.test":      "", // a word that starts with "mail" is not "mail"
		"example.test":              "", // the registrable domain says nothing about the host
		"mail.test":                 "",
		"192-0-2-77.dyn.isp.test":   "",
		"relay.mx.example.test":     "relay",
		"web.mail.example.test":     "mail",
		"MX1.EXAMPLE.TEST.":         "mx",
		"o1.email.sendgrid.example": "email",
	} {
		if got := roleLabel(name); got != want {
			t.Errorf("roleLabel(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestHostLabels(t *testing.T) {
	for name, want := range map[string]string{
		"mx1.example.test":                    "mx1",
		"a.b.example.co.uk":                   "a.b",
		"example.co.uk":                       "",
		"x.y.blogspot.com":                    "x.y", // private suffixes do not count
		"ec2-1-2-3-4.compute-1.amazonaws.com": "ec2-1-2-3-4.compute-1",
		"localhost":                           "",
		"a..b.c":                              "a.",
		"":                                    "",
	} {
		if got := strings.Join(hostLabels(name), "."); got != want {
			t.Errorf("hostLabels(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestWordTokens(t *testing.T) {
	got := wordTokens([]string{"ip192-0-2-1", "smtp-out2", "liverpool"})
	want := []string{"ip", "192", "0", "2", "1", "smtp", "out", "2", "liverpool"}
	if !slices.Equal(got, want) {
		t.Errorf("wordTokens = %q, want %q", got, want)
	}
}

// FuzzPTRName feeds the heuristics whatever a reverse zone may publish: they
// must never panic, must answer the same twice, and may only ever name words
// from their lists.
func FuzzPTRName(f *testing.F) {
	for _, seed := range []struct{ name, ip string }{
		{"mx1.example.test", "192.0.2.10"},
		{"192-0-2-77.dyn.isp.test", "192.0.2.77"},
		{"ec2-192-0-2-1.eu-west-1.compute.amazonaws.com", "192.0.2.1"},
		{"c000024d.cpe.isp.test.", "192.0.2.77"},
		{"2001-db8-0-0-0-0-0-10.ip6.isp.test", "2001:db8::10"},
		{"mail_1.example.test", "2001:db8::1"},
		{"a..b", "::ffff:192.0.2.1"},
		{".", "0.0.0.0"},
		{"\\032weird\\.label.example.test", "198.51.100.1"},
		{"xn--mail-9na.example.test", "not an address"},
		{"pool-198-51-100-12.bstn.fios.verizon.net", "198.51.100.12"},
	} {
		f.Add(seed.name, seed.ip)
	}
	f.Fuzz(func(t *testing.T, name, ipText string) {
		ip, _ := netip.ParseAddr(ipText) // an invalid address is the zero Addr
		g1, g2 := genericReason(name, ip), genericReason(name, ip)
		r1, r2 := roleLabel(name), roleLabel(name)
		if g1 != g2 || r1 != r2 {
			t.Fatalf("not deterministic: %q/%q, %q/%q", g1, g2, r1, r2)
		}
		if r1 != "" && !roleWords[r1] {
			t.Fatalf("roleLabel(%q) = %q, not a role word", name, r1)
		}
		if word, ok := strings.CutPrefix(g1, "has the generic label "); ok {
			if w := strings.Trim(word, `"`); !genericWords[w] {
				t.Fatalf("genericReason(%q) named %q, not a generic word", name, w)
			}
		}
	})
}
