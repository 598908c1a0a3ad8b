package tlsrpt_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/deliverability-exporter/deliverability_exporter/probes/tlsrpt"
)

// Real records:
//   - google.com: "v=TLSRPTv1; rua=mailto:sts-reports@google.com", from the
//     expected output of a DNS checker's test (a Python tool's "* Raw:"
//     lines for google.com).
//   - g.justice.gov.uk: "v=TLSRPTv1;rua=mailto:tls-rua@mailcheck.service.ncsc.gov.uk",
//     from the UK Ministry of Justice's DNS configuration (Terraform,
//     ministryofjustice/dns), reporting to the NCSC's Mail Check.
//   - RFC 8460 §3's examples: "v=TLSRPTv1;rua=mailto:reports@example.com"
//     and "v=TLSRPTv1; rua=https://reporting.example.com/v1/tlsrpt".
const (
	googleRecord  = "v=TLSRPTv1; rua=mailto:sts-reports@google.com"
	justiceRecord = "v=TLSRPTv1;rua=mailto:tls-rua@mailcheck.service.ncsc.gov.uk"
	rfcMailto     = "v=TLSRPTv1;rua=mailto:reports@example.com"
	rfcHTTPS      = "v=TLSRPTv1; rua=https://reporting.example.com/v1/tlsrpt"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, txt  string
		rua        []string // Raw of each URI
		problems   []string // substrings of each URI's Problem ("" for valid)
		hosts      []string
		extensions []tlsrpt.Field
		duplicates []string
		err        string
	}{
		{name: "google.com", txt: googleRecord, rua: []string{"mailto:sts-reports@google.com"}, problems: []string{""}, hosts: []string{"google.com"}},
		{name: "g.justice.gov.uk", txt: justiceRecord, rua: []string{"mailto:tls-rua@mailcheck.service.ncsc.gov.uk"}, problems: []string{""},
			hosts: []string{"mailcheck.service.ncsc.gov.uk"}},
		{name: "RFC 8460 mailto", txt: rfcMailto, rua: []string{"mailto:reports@example.com"}, problems: []string{""}, hosts: []string{"example.com"}},
		{name: "RFC 8460 https", txt: rfcHTTPS, rua: []string{"https://reporting.example.com/v1/tlsrpt"}, problems: []string{""}, hosts: []string{"reporting.example.com"}},
		{
			name:     "several destinations with whitespace around the commas",
			txt:      "v=TLSRPTv1; rua=mailto:tls@example.com , https://r.example.net/tls?x=1,\tMAILTO:Ops%2bTLS@EXAMPLE.ORG ;",
			rua:      []string{"mailto:tls@example.com", "https://r.example.net/tls?x=1", "MAILTO:Ops%2bTLS@EXAMPLE.ORG"},
			problems: []string{"", "", ""}, hosts: []string{"example.com", "r.example.net", "example.org"},
		},
		{
			name: "extensions with names RFC 8460 allows and tag=value forbids",
			txt:  "v=TLSRPTv1; 9x-y.z=a:b; rua=mailto:a@example.com; note=!",
			rua:  []string{"mailto:a@example.com"}, problems: []string{""}, hosts: []string{"example.com"},
			extensions: []tlsrpt.Field{{Name: "9x-y.z", Value: "a:b"}, {Name: "note", Value: "!"}},
		},
		{
			name: "a second rua: the first counts",
			txt:  "v=TLSRPTv1; rua=mailto:a@example.com; rua=mailto:b@example.com",
			rua:  []string{"mailto:a@example.com"}, problems: []string{""}, hosts: []string{"example.com"}, duplicates: []string{"rua"},
		},
		{
			name: "destinations reporters cannot use",
			txt:  "v=TLSRPTv1; rua=http://r.example.com/,xmpp:tls@example.com,mailto:,mailto:nobody,https:///path,mailto:a%2Cb@example.com,mailto:x@localhost,https://192.0.2.1/r",
			rua: []string{"http://r.example.com/", "xmpp:tls@example.com", "mailto:", "mailto:nobody", "https:///path",
				"mailto:a%2Cb@example.com", "mailto:x@localhost", "https://192.0.2.1/r"},
			problems: []string{"http: is not a report destination", "xmpp: is not a report destination", "mailto: without an address",
				`"nobody" is not an e-mail address`, "https: without a host", "names several addresses", "has a single label", ""},
			hosts: []string{"", "", "", "", "", "", "", "192.0.2.1"},
		},

		{name: "no rua", txt: "v=TLSRPTv1; ruf=mailto:a@example.com", err: `no "rua=" field`},
		{name: "nothing after the version", txt: "v=TLSRPTv1", err: "no fields after v=TLSRPTv1"},
		{name: "only a separator", txt: "v=TLSRPTv1;", err: "no fields after v=TLSRPTv1"},
		{name: "empty rua", txt: "v=TLSRPTv1; rua=", err: "rua= is empty"},
		{name: "a stray comma", txt: "v=TLSRPTv1; rua=mailto:a@example.com,", err: "an empty entry (a stray comma)"},
		{name: "space after rua=", txt: "v=TLSRPTv1; rua= mailto:a@example.com", err: `whitespace after "rua="`},
		{name: "space before =", txt: "v=TLSRPTv1; rua =mailto:a@example.com", err: `whitespace after the field name "rua"`},
		{name: "two URIs without a comma", txt: "v=TLSRPTv1; rua=mailto:a@example.com mailto:b@example.com", err: "a space, which a URI must percent-encode"},
		{name: "no scheme", txt: "v=TLSRPTv1; rua=tls@example.com", err: "no scheme"},
		{name: "bad percent-encoding", txt: "v=TLSRPTv1; rua=mailto:a%zz@example.com", err: "a % not followed by two hex digits"},
		{name: "non-ASCII", txt: "v=TLSRPTv1; rua=mailto:a@bücher.example", err: "non-ASCII byte"},
		{name: "missing separator", txt: "v=TLSRPTv1 rua=mailto:a@example.com", err: `"r" after`},
		{name: "empty field", txt: "v=TLSRPTv1; ; rua=mailto:a@example.com", err: `empty field between two ";"`},
		{name: "trailing whitespace", txt: "v=TLSRPTv1; rua=mailto:a@example.com; x=1 ", err: "whitespace after the last field"},
		{name: "= in an extension value", txt: "v=TLSRPTv1; rua=mailto:a@example.com; x=a=b", err: `"=" in the value of "x"`},
		{name: "too many destinations", txt: "v=TLSRPTv1; rua=" + strings.Repeat("mailto:a@example.com,", 32) + "mailto:a@example.com", err: "more than 32 destinations"},
		{name: "not a record", txt: "v=DMARC1; p=none", err: `does not start with "v=TLSRPTv1"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := tlsrpt.Parse(tc.txt)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var raws, hosts []string
			for i, u := range rec.RUA {
				raws = append(raws, u.Raw)
				hosts = append(hosts, u.Host)
				if i < len(tc.problems) && (tc.problems[i] == "" && !u.Valid() || !strings.Contains(u.Problem, tc.problems[i])) {
					t.Errorf("%s: problem %q, want %q", u.Raw, u.Problem, tc.problems[i])
				}
			}
			if !slices.Equal(raws, tc.rua) || !slices.Equal(hosts, tc.hosts) || !slices.Equal(rec.Extensions, tc.extensions) || !slices.Equal(rec.Duplicates, tc.duplicates) {
				t.Errorf("parsed %+v", rec)
			}
		})
	}
}

func TestMailtoAddress(t *testing.T) {
	rec, err := tlsrpt.Parse("v=TLSRPTv1; rua=MAILTO:Ops%2bTLS@EXAMPLE.ORG?subject=tls")
	if err != nil {
		t.Fatal(err)
	}
	if u := rec.RUA[0]; u.Scheme != "mailto" || u.Address != "Ops+TLS@example.org" || !u.Valid() {
		t.Errorf("parsed %+v", u)
	}
}

func TestRecordSelection(t *testing.T) {
	for _, tc := range []struct {
		txt     string
		is, hmm bool
	}{
		{googleRecord, true, false},
		{justiceRecord, true, false},
		{"v=TLSRPTv1 ; rua=mailto:a@example.com", true, false},
		{"v=TLSRPTv1", true, false},
		{"v=TLSRPTv10; rua=mailto:a@example.com", false, false},
		{"v=tlsrptv1; rua=mailto:a@example.com", false, true},
		{" v=TLSRPTv1; rua=mailto:a@example.com", false, true},
		{"v=spf1 -all", false, false},
	} {
		if got := tlsrpt.IsRecord(tc.txt); got != tc.is {
			t.Errorf("IsRecord(%q) = %v, want %v", tc.txt, got, tc.is)
		}
		if got := tlsrpt.LooksLikeRecord(tc.txt); got != tc.hmm {
			t.Errorf("LooksLikeRecord(%q) = %v, want %v", tc.txt, got, tc.hmm)
		}
	}
}
