package mtasts_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/deliverability-exporter/deliverability_exporter/probes/mtasts"
)

// Real records:
//   - gmail.com: "v=STSv1; id=20190429T010101;" as KumoMTA's live-DNS
//     test snapshot shows it (kumomta/kumomta, crates/dns-resolver,
//     txt_lookup_gmail).
//   - google.com: "v=STSv1; id=20210803T010101", from the expected output
//     of a DNS checker's test (a Python tool's "* Raw:" lines for
//     google.com).
//   - RFC 8461 §3.1's example: "v=STSv1; id=20160831085700Z;".
func TestParseRecord(t *testing.T) {
	for _, tc := range []struct {
		name, txt  string
		id         string
		extensions []mtasts.Field
		duplicates []string
		err        string
	}{
		{name: "gmail.com", txt: "v=STSv1; id=20190429T010101;", id: "20190429T010101"},
		{name: "google.com", txt: "v=STSv1; id=20210803T010101", id: "20210803T010101"},
		{name: "RFC 8461 example", txt: "v=STSv1; id=20160831085700Z;", id: "20160831085700Z"},
		{name: "no space after the separator", txt: "v=STSv1;id=1", id: "1"},
		{name: "whitespace around the separator", txt: "v=STSv1 ;\tid=abc ; ", id: "abc"},
		{name: "32 characters", txt: "v=STSv1; id=" + strings.Repeat("a", 32), id: strings.Repeat("a", 32)},
		{
			name: "extensions, with names RFC 8461 allows and tag=value forbids",
			txt:  "v=STSv1; 1ext=a:b/c; x-y.z_w=!~; id=7",
			id:   "7", extensions: []mtasts.Field{{Name: "1ext", Value: "a:b/c"}, {Name: "x-y.z_w", Value: "!~"}},
		},
		{name: "a second id: the first counts", txt: "v=STSv1; id=first; id=second", id: "first", duplicates: []string{"id"}},
		{name: "no id", txt: "v=STSv1; foo=bar", err: `no "id=" field`},
		{name: "nothing after the version", txt: "v=STSv1", err: "no fields after v=STSv1"},
		{name: "only a separator after the version", txt: "v=STSv1;", err: "no fields after v=STSv1"},
		{name: "id with a hyphen", txt: "v=STSv1; id=2024-01-01", err: `id "2024-01-01" contains "-"`},
		{name: "id too long", txt: "v=STSv1; id=" + strings.Repeat("1", 33), err: "is 33 characters long"},
		{name: "empty id", txt: "v=STSv1; id=", err: `field "id" has an empty value`},
		{name: "space before =", txt: "v=STSv1; id =1", err: `whitespace after the field name "id"`},
		{name: "space after =", txt: "v=STSv1; id= 1", err: `whitespace after "id="`},
		{name: "= inside a value", txt: "v=STSv1; id=1; a=b=c", err: `"=" in the value of "a"`},
		{name: "missing separator", txt: "v=STSv1; id=1 mode=enforce", err: `"m" after`},
		{name: "empty field", txt: "v=STSv1; ; id=1", err: `empty field between two ";"`},
		{name: "two separators at the end", txt: "v=STSv1; id=1;;", err: `empty field between two ";"`},
		{name: "trailing whitespace without separator", txt: "v=STSv1; id=1 ", err: "whitespace after the last field"},
		{name: "field name starting with underscore", txt: "v=STSv1; _x=1; id=1", err: `"_" where a field name should start`},
		{name: "non-ASCII", txt: "v=STSv1; id=1; x=é", err: "non-ASCII byte"},
		{name: "version glued to a field", txt: "v=STSv1id=1", err: `"i" after`},
		{name: "not a record", txt: "v=spf1 -all", err: `does not start with "v=STSv1"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := mtasts.ParseRecord(tc.txt)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rec.ID != tc.id || !slices.Equal(rec.Extensions, tc.extensions) || !slices.Equal(rec.Duplicates, tc.duplicates) || rec.Text != tc.txt {
				t.Errorf("parsed %+v, want id %q, extensions %v, duplicates %v", rec, tc.id, tc.extensions, tc.duplicates)
			}
		})
	}
}

func TestRecordSelection(t *testing.T) {
	for _, tc := range []struct {
		txt         string
		is, looksTo bool
	}{
		{"v=STSv1; id=1", true, false},
		{"v=STSv1 ; id=1", true, false},
		{"v=STSv1", true, false},
		{"v=STSv1id=1", false, false},
		{"v=STSv10; id=1", false, false},
		{"V=STSv1; id=1", false, true},
		{"v=stsv1; id=1", false, true},
		{" v=STSv1; id=1", false, true},
		{"v = STSv1; id=1", false, true},
		{"v=spf1 -all", false, false},
		{"google-site-verification=abc", false, false},
	} {
		if got := mtasts.IsRecord(tc.txt); got != tc.is {
			t.Errorf("IsRecord(%q) = %v, want %v", tc.txt, got, tc.is)
		}
		if got := mtasts.LooksLikeRecord(tc.txt); got != tc.looksTo {
			t.Errorf("LooksLikeRecord(%q) = %v, want %v", tc.txt, got, tc.looksTo)
		}
	}
}
