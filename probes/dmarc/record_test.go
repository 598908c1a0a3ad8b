package dmarc_test

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/deliverability-exporter/deliverability_exporter/probes/dmarc"
	"github.com/deliverability-exporter/deliverability_exporter/probes/tagvalue"
)

func TestParseRealRecords(t *testing.T) {
	want := map[string]struct {
		p, sp string
		pct   int
		rua   int
		ruf   int
	}{
		"google.com":     {"reject", "reject", 100, 1, 0},
		"gmail.com":      {"none", "quarantine", 100, 1, 0},
		"yahoo.com":      {"reject", "reject", 100, 1, 0},
		"microsoft.com":  {"reject", "reject", 100, 1, 1},
		"hotmail.com":    {"none", "none", 100, 1, 1},
		"office365.com":  {"reject", "reject", 100, 1, 1},
		"hushmail.com":   {"quarantine", "quarantine", 100, 1, 0},
		"126.com":        {"none", "none", 100, 0, 0},
		"qq.com":         {"none", "none", 100, 1, 0},
		"aliyun.com":     {"quarantine", "quarantine", 5, 1, 0},
		"alipay.com":     {"quarantine", "quarantine", 100, 1, 1},
		"apple.com":      {"quarantine", "reject", 100, 1, 1},
		"chase.com":      {"reject", "reject", 100, 1, 1},
		"wikitide.com":   {"quarantine", "quarantine", 100, 0, 0},
		"matthewgall.cf": {"reject", "reject", 100, 0, 0},
	}
	for _, rr := range realRecords {
		t.Run(rr.domain, func(t *testing.T) {
			if !dmarc.IsRecord(rr.record) {
				t.Fatalf("IsRecord(%q) = false", rr.record)
			}
			rec, err := dmarc.Parse(rr.record)
			if err != nil {
				t.Fatalf("Parse (%s): %v", rr.source, err)
			}
			if len(rec.Problems) > 0 || len(rec.Unknown) > 0 {
				t.Errorf("problems %q, unknown tags %q", rec.Problems, rec.Unknown)
			}
			w := want[rr.domain]
			if rec.EffectivePolicy != w.p || rec.EffectiveSubdomainPolicy != w.sp || rec.Pct != w.pct {
				t.Errorf("p=%s sp=%s pct=%d; want %s %s %d", rec.EffectivePolicy, rec.EffectiveSubdomainPolicy, rec.Pct, w.p, w.sp, w.pct)
			}
			if len(rec.RUA) != w.rua || len(rec.RUF) != w.ruf {
				t.Errorf("%d rua, %d ruf; want %d, %d", len(rec.RUA), len(rec.RUF), w.rua, w.ruf)
			}
			for _, u := range append(rec.RUA, rec.RUF...) {
				if !u.Mailto() || u.Domain == "" {
					t.Errorf("URI %+v is not a valid mailto:", u)
				}
			}
			// The corrected form of a valid record says the same.
			again, err := dmarc.Parse(rec.Corrected())
			if err != nil || again.EffectivePolicy != rec.EffectivePolicy || again.Pct != rec.Pct || len(again.RUA) != len(rec.RUA) {
				t.Errorf("Corrected() = %q parses to %+v, %v", rec.Corrected(), again, err)
			}
		})
	}
}

func TestParseDetails(t *testing.T) {
	rec, err := dmarc.Parse("v=DMARC1; P=Reject; SP=none; np=reject; adkim=s; aspf=R; pct=050; fo=0:1:d:s; rf=afrf; ri=3600; " +
		"rua=mailto:a@example.test!10m, mailto:b%40x@reports.example.test ; ruf=mailto:c@example.test; t=n; psd=u; x_future=1")
	if err != nil {
		t.Fatal(err)
	}
	if rec.EffectivePolicy != "reject" || rec.EffectiveSubdomainPolicy != "none" || rec.NonexistentPolicy != "reject" {
		t.Errorf("policies %q %q %q", rec.EffectivePolicy, rec.EffectiveSubdomainPolicy, rec.NonexistentPolicy)
	}
	if rec.ADKIM != "s" || rec.ASPF != "r" || rec.Pct != 50 || !rec.PctSet || rec.RI != 3600 || rec.Testing != "n" || rec.PSD != "u" {
		t.Errorf("tags %+v", rec)
	}
	if !slices.Equal(rec.FO, []string{"0", "1", "d", "s"}) || !slices.Equal(rec.RF, []string{"afrf"}) {
		t.Errorf("fo %q rf %q", rec.FO, rec.RF)
	}
	if len(rec.RUA) != 2 || rec.RUA[0].Limit != "10m" || rec.RUA[0].Address != "a@example.test" ||
		rec.RUA[1].Address != "b@x@reports.example.test" || rec.RUA[1].Domain != "reports.example.test" {
		t.Errorf("rua %+v", rec.RUA)
	}
	if !slices.Equal(rec.Unknown, []string{"x_future"}) || len(rec.Problems) != 0 {
		t.Errorf("unknown %q problems %q", rec.Unknown, rec.Problems)
	}
}

func TestParseProblems(t *testing.T) {
	for _, tc := range []struct {
		name, record string
		problem      string // "" for none
		policy       string
		corrected    string
	}{
		{"p missing with a valid rua", "v=DMARC1; rua=mailto:dmarc@example.test", "", "none",
			"v=DMARC1; p=none; rua=mailto:dmarc@example.test"},
		{"pct=150", "v=DMARC1; p=reject; pct=150", "pct=150 is not a whole number from 0 to 100", "reject",
			"v=DMARC1; p=reject"},
		{"pct not a number", "v=DMARC1; p=reject; pct=full", "pct=full is not a whole number", "reject", "v=DMARC1; p=reject"},
		{"rua=mailto: with no address", "v=DMARC1; p=none; rua=mailto:", `rua=: "mailto:" has no address after mailto:`, "none",
			"v=DMARC1; p=none"},
		// An address written without mailto: means plainly what it says.
		{"rua without a scheme", "v=DMARC1; p=none; rua=dmarc@example.test", `"dmarc@example.test" is not a URI`, "none",
			"v=DMARC1; p=none; rua=mailto:dmarc@example.test"},
		{"rua with a bad domain", "v=DMARC1; p=none; rua=mailto:dmarc@example", `"example" is not a domain name`, "none", "v=DMARC1; p=none"},
		{"one bad URI of two", "v=DMARC1; p=none; rua=mailto:a@example.test,mailto:", "has no address", "none",
			"v=DMARC1; p=none; rua=mailto:a@example.test"},
		{"empty rua", "v=DMARC1; p=none; rua=", "rua= is empty", "none", "v=DMARC1; p=none"},
		// Receivers read it as p=none; its author meant reject, and the
		// correction keeps that (issue 15: never a silent downgrade).
		{"invalid p with a valid rua", "v=DMARC1; p=rejct; rua=mailto:d@example.test", "p=rejct is not none, quarantine or reject", "none",
			"v=DMARC1; p=reject; rua=mailto:d@example.test"},
		{"a policy cut short", "v=DMARC1; p=quar; rua=mailto:d@example.test", "p=quar is not", "none",
			"v=DMARC1; p=quarantine; rua=mailto:d@example.test"},
		{"a misspelt sp", "v=DMARC1; p=none; sp=rejects; rua=mailto:d@example.test", "sp=rejects", "none",
			"v=DMARC1; p=none; sp=reject; rua=mailto:d@example.test"},
		{"invalid sp with a valid rua downgrades p", "v=DMARC1; p=reject; sp=strict; rua=mailto:d@example.test", "sp=strict", "none",
			"v=DMARC1; p=reject; rua=mailto:d@example.test"},
		{"bad alignment", "v=DMARC1; p=none; adkim=strict", "adkim=strict is not r (relaxed) or s (strict)", "none", "v=DMARC1; p=none"},
		{"bad fo", "v=DMARC1; p=none; fo=1:x", `fo=1:x: "x" is not one of 0, 1, d and s`, "none", "v=DMARC1; p=none; fo=1"},
		{"bad rf", "v=DMARC1; p=none; rf=iodef", `"iodef" is not one of afrf`, "none", "v=DMARC1; p=none"},
		{"bad ri", "v=DMARC1; p=none; ri=1d", "ri=1d is not a number of seconds", "none", "v=DMARC1; p=none"},
		{"bad np", "v=DMARC1; p=none; np=drop", "np=drop", "none", "v=DMARC1; p=none"},
		{"bad t", "v=DMARC1; p=none; t=yes", "t=yes is not y or n", "none", "v=DMARC1; p=none"},
		{"bad psd", "v=DMARC1; p=none; psd=maybe", "psd=maybe is not y, n or u", "none", "v=DMARC1; p=none"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := dmarc.Parse(tc.record)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.record, err)
			}
			got := strings.Join(rec.Problems, "; ")
			if tc.problem == "" && got != "" || !strings.Contains(got, tc.problem) {
				t.Errorf("problems %q, want %q", got, tc.problem)
			}
			if rec.EffectivePolicy != tc.policy {
				t.Errorf("effective policy %q, want %q", rec.EffectivePolicy, tc.policy)
			}
			if c := rec.Corrected(); c != tc.corrected {
				t.Errorf("Corrected() = %q, want %q", c, tc.corrected)
			}
			if again, err := dmarc.Parse(rec.Corrected()); err != nil || len(again.Problems) > 0 {
				t.Errorf("the corrected record %q does not parse cleanly: %v %q", rec.Corrected(), err, again.Problems)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, record, reason, fix string
	}{
		{"v=DMARC1 not first", "p=none; v=DMARC1; rua=mailto:d@example.test", "v=DMARC1 is not the first tag",
			"v=DMARC1; p=none; rua=mailto:d@example.test"},
		{"no version", "p=none; rua=mailto:d@example.test", "no v=DMARC1 tag", "v=DMARC1; p=none; rua=mailto:d@example.test"},
		{"version in lower case", "v=dmarc1; p=none", "v=dmarc1: the version must be exactly DMARC1", "v=DMARC1; p=none"},
		{"p missing, no rua", "v=DMARC1; sp=reject", "no p= tag and no valid rua= URI: receivers apply no DMARC", "v=DMARC1; p=none; sp=reject"},
		{"p missing, rua invalid", "v=DMARC1; rua=mailto:", "no p= tag and no valid rua= URI", "v=DMARC1; p=none"},
		{"invalid p, no rua", "v=DMARC1; p=block", "p=block is not none, quarantine or reject and no valid rua= URI", "v=DMARC1; p=none"},
		// A policy given twice: the strictest of them, never the weaker.
		{"duplicate tag in another case", "v=DMARC1; p=none; P=reject", `tag "p" appears twice (as "p" and "P")`, "v=DMARC1; p=reject"},
		{"duplicate tag", "v=DMARC1; p=reject; p=none", `tag "p" appears twice`, "v=DMARC1; p=reject"},
		// Report destinations given twice: all of them.
		{"rua twice", "v=DMARC1; p=quarantine; rua=mailto:a@example.test; rua=mailto:b@example.test,mailto:a@example.test", `tag "rua" appears twice`,
			"v=DMARC1; p=quarantine; rua=mailto:a@example.test,mailto:b@example.test"},
		{"no semicolon after the version", "v=DMARC1 p=none", "v=DMARC1 p=none: the version must be exactly DMARC1", "v=DMARC1; p=none"},
		// Commas for semicolons: one tag v=, its value the whole record,
		// which receivers discard; the correction keeps every tag.
		{"commas between the tags", "v=DMARC1, p=reject, rua=mailto:d@example.test", "the version must be exactly DMARC1",
			"v=DMARC1; p=reject; rua=mailto:d@example.test"},
		{"spaces between the tags", "v=DMARC1 p=reject sp=quarantine rua=mailto:d@example.test", "the version must be exactly DMARC1",
			"v=DMARC1; p=reject; sp=quarantine; rua=mailto:d@example.test"},
		{"invalid p, no rua, misspelt", "v=DMARC1; p=rejct", "p=rejct is not none, quarantine or reject and no valid rua= URI", "v=DMARC1; p=reject"},
		{"not a tag list", "v=DMARC1; p=reject; rua=mailto:d@example.test; reports", "not a tag=value list",
			"v=DMARC1; p=reject; rua=mailto:d@example.test"},
		{"not a tag list, nothing to read", "v=DMARC1; p", "not a tag=value list", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := dmarc.Parse(tc.record)
			var re *dmarc.RecordError
			if !errors.As(err, &re) {
				t.Fatalf("Parse(%q) = %v; want a *RecordError", tc.record, err)
			}
			if !strings.Contains(re.Reason, tc.reason) || re.Fix != tc.fix {
				t.Errorf("reason %q fix %q; want %q and %q", re.Reason, re.Fix, tc.reason, tc.fix)
			}
		})
	}
}

func TestIsRecord(t *testing.T) {
	for _, tc := range []struct {
		txt          string
		is, looksPut bool
	}{
		{"v=DMARC1; p=none", true, false},
		{"v=DMARC1", true, false},
		{"v = DMARC1 ; p=none", true, false},
		{"V=DMARC1; p=none", true, false},
		{"v=DMARC1x; p=none", false, true},
		{"v=DMARC1 p=none", false, true},
		{"p=none; v=DMARC1", false, true},
		{"v=dmarc1; p=none", false, true},
		{"v=spf1 -all", false, false},
		{"google-site-verification=abc", false, false},
	} {
		if got := dmarc.IsRecord(tc.txt); got != tc.is {
			t.Errorf("IsRecord(%q) = %v", tc.txt, got)
		}
		if got := dmarc.LooksLikeRecord(tc.txt); got != tc.looksPut {
			t.Errorf("LooksLikeRecord(%q) = %v", tc.txt, got)
		}
	}
}

func TestOrganizationalDomain(t *testing.T) {
	for in, want := range map[string]string{
		"example.com":                         "example.com",
		"support.apple.com":                   "apple.com",
		"a.b.c.example.co.uk":                 "example.co.uk",
		"example.co.uk.":                      "example.co.uk",
		"co.uk":                               "",
		"com":                                 "",
		"user.github.io":                      "github.io", // ICANN section only
		"ec2-1-2-3-4.compute-1.amazonaws.com": "amazonaws.com",
		"":                                    "",
	} {
		if got := dmarc.OrganizationalDomain(in); got != want {
			t.Errorf("OrganizationalDomain(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzParse checks that the record parser never panics, that what it
// accepts is coherent, and that its corrected form is a clean record.
func FuzzParse(f *testing.F) {
	for _, rr := range realRecords {
		f.Add(rr.record)
	}
	for _, s := range []string{
		"v=DMARC1; rua=mailto:d@example.test",
		"p=none; v=DMARC1",
		"v=DMARC1; p=reject; pct=150",
		"v=DMARC1; p=none; rua=mailto:",
		"v=DMARC1; p=none; rua=mailto:a@b.test!10m,https://r.example.test/x",
		"v=DMARC1; p=none; P=reject",
		"v=DMARC1; p=none; fo=1:d; rf=afrf; ri=86400; np=reject; t=y; psd=n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		rec, err := dmarc.Parse(text)
		if err != nil {
			var re *dmarc.RecordError
			if !errors.As(err, &re) || re.Reason == "" {
				t.Fatalf("Parse(%q): error %v is not a *RecordError", text, err)
			}
			if re.Fix != "" {
				if _, err := tagvalue.Parse(re.Fix); err != nil {
					t.Fatalf("Parse(%q): fix %q is not a tag-list: %v", text, re.Fix, err)
				}
				if again, err := dmarc.Parse(re.Fix); err != nil || len(again.Problems) > 0 {
					t.Fatalf("Parse(%q): fix %q is not a clean record: %v", text, re.Fix, err)
				}
			}
			return
		}
		for _, p := range []string{rec.EffectivePolicy, rec.EffectiveSubdomainPolicy} {
			if !slices.Contains(dmarc.Policies, p) {
				t.Fatalf("Parse(%q): effective policy %q", text, p)
			}
		}
		if rec.Pct < 0 || rec.Pct > 100 {
			t.Fatalf("Parse(%q): pct %d", text, rec.Pct)
		}
		for _, u := range append(rec.RUA, rec.RUF...) {
			if u.Valid() && u.Scheme == "mailto" && (u.Domain == "" || !strings.Contains(u.Address, "@")) {
				t.Fatalf("Parse(%q): valid mailto URI %+v without an address", text, u)
			}
		}
		for _, p := range rec.Problems {
			if strings.ContainsAny(p, "\r\n") {
				t.Fatalf("Parse(%q): problem %q is not one line", text, p)
			}
		}
		c := rec.Corrected()
		again, err := dmarc.Parse(c)
		if err != nil {
			t.Fatalf("Parse(%q): corrected form %q does not parse: %v", text, c, err)
		}
		if len(again.Problems) > 0 || len(again.Unknown) > 0 {
			t.Fatalf("Parse(%q): corrected form %q has problems %q", text, c, again.Problems)
		}
		if again.EffectivePolicy != rec.EffectivePolicy && rec.Policy != "" && len(rec.Problems) == 0 {
			t.Fatalf("Parse(%q): corrected form %q changed the policy", text, c)
		}
	})
}

// strictPolicyRE finds a policy written exactly (p=reject), the intent a
// repaired record must never weaken.
var strictPolicyRE = regexp.MustCompile(`(?i)(?:^|[;,\s])p\s*=\s*(none|quarantine|reject)\s*(?:[;,]|$)`)

// FuzzRepair checks that the record a remediation proposes for any text is
// a clean DMARC record and never weaker than a policy the text states
// exactly (issue 15: no silent downgrade of p=reject).
func FuzzRepair(f *testing.F) {
	for _, rr := range realRecords {
		f.Add(rr.record)
	}
	for _, s := range []string{
		"v=DMARC1, p=reject, rua=mailto:d@example.test",
		"v=DMARC1 p=quarantine rua=d@example.test",
		"p=reject; v=DMARC1",
		"v=DMARC1; p=none; p=reject; rua=mailto:a@x.test; rua=mailto:b@x.test",
		"v=DMARC1; p=rejct; sp=quarantin; pct=50; fo=1:x",
		"v=DMARC1; p; rua=mailto:",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		fix := dmarc.Repair(text, nil)
		rec, err := dmarc.Parse(fix)
		if err != nil {
			t.Fatalf("Repair(%q) = %q, which does not parse: %v", text, fix, err)
		}
		if len(rec.Problems) > 0 || len(rec.Unknown) > 0 {
			t.Fatalf("Repair(%q) = %q, with problems %q", text, fix, rec.Problems)
		}
		for _, m := range strictPolicyRE.FindAllStringSubmatch(text, -1) {
			if slices.Index(dmarc.Policies, strings.ToLower(m[1])) > slices.Index(dmarc.Policies, rec.Policy) {
				t.Fatalf("Repair(%q) = %q: weaker than p=%s", text, fix, m[1])
			}
		}
	})
}
