package assets

import (
	"reflect"
	"regexp"
	"strings"
	"testing"
)

func TestSelectors(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want []Selector
	}{
		{`up`, []Selector{{Metric: "up"}}},
		{`absent(up{job="mail"})`, []Selector{{Metric: "up", Labels: []string{"job"}}}},
		{`last_over_time(mail_probe_error[15m]) == 1`, []Selector{{Metric: "mail_probe_error", Range: "15m"}}},
		{`sum by (instance, zone) (mail_dnsbl_listed{job="mail", zone=~"a|b"}) > bool 0`,
			[]Selector{{Metric: "mail_dnsbl_listed", Labels: []string{"job", "zone"}}}},
		{`sum(rate(x_total[5m])) by (instance) / on (instance) group_left(mx) y`,
			[]Selector{{Metric: "x_total", Range: "5m"}, {Metric: "y"}}},
		{`count without (ip) (a offset 1h) and ignoring (mx) b unless c`,
			[]Selector{{Metric: "a"}, {Metric: "b"}, {Metric: "c"}}},
		{`label_replace(min by (job) (m) < time(), "check", "tls.cert_expiry", "", "")`,
			[]Selector{{Metric: "m"}}},
		{`max_over_time(timestamp(e{i="x"} == 1)[1h:]) * 1000`,
			[]Selector{{Metric: "e", Labels: []string{"i"}}}},
		{`{__name__="mail_score", instance="a"}`, []Selector{{Metric: "mail_score", Labels: []string{"instance"}}}},
		{`3 <= (v - time()) / 86400 < 14 # a comment naming not_a_metric`, []Selector{{Metric: "v"}}},
		{`topk(5, s) or vector(0) and on() 1e3 > 0x1f`, []Selector{{Metric: "s"}}},
		{`m{l="a \"quoted\" {brace}"}`, []Selector{{Metric: "m", Labels: []string{"l"}}}},
	} {
		got, err := Selectors(tc.expr)
		if err != nil {
			t.Errorf("%s: %v", tc.expr, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.expr, got, tc.want)
		}
	}
}

func TestSelectorsRejectMalformed(t *testing.T) {
	for _, expr := range []string{`m{l="unterminated}`, `m{l=x}`, `m{l}`} {
		if _, err := Selectors(expr); err == nil {
			t.Errorf("%s: no error", expr)
		}
	}
}

func TestExpand(t *testing.T) {
	vars := map[string]string{"job": "mail", "instance": ".+", "__rate_interval": "1m"}
	got, err := Expand(`rate(x{job="$job", instance=~"${instance}", i="[[instance]]"}[$__rate_interval])`, vars)
	if err != nil || got != `rate(x{job="mail", instance=~".+", i=".+"}[1m])` {
		t.Errorf("got %q, %v", got, err)
	}
	if _, err := Expand(`x{a="$nope"}`, vars); err == nil {
		t.Error("an unknown variable expanded without error")
	}
}

func TestLabelValuesQuery(t *testing.T) {
	sel, label, ok := LabelValuesQuery(`label_values(probe_success{job="$job"}, instance)`)
	if !ok || sel != `probe_success{job="$job"}` || label != "instance" {
		t.Errorf("got %q %q %v", sel, label, ok)
	}
	if _, label, ok := LabelValuesQuery(`label_values(job)`); !ok || label != "job" {
		t.Errorf("label_values(job): %q %v", label, ok)
	}
}

var identRE = regexp.MustCompile(`^[A-Za-z_:][A-Za-z0-9_:]*$`)

// FuzzSelectors: any text ends in selectors or an error, never a panic or
// a loop, and what it calls a metric name is one.
func FuzzSelectors(f *testing.F) {
	for _, s := range []string{
		`last_over_time(mail_check_success{level="must", check!~"a\\.b|c"}[15m]) == 0 unless on (job) label_replace(x, "a", "b", "", "")`,
		`sum by (zone) (rate(x_total[$__rate_interval])) / ignoring (a) group_left (b) y offset 5m`,
		`{__name__="m", a=~"\"{[("}`,
		`max_over_time(timestamp(e{i="x"} == 1)[1h:]) * 1000 # c`,
		`3 <= (v - time()) / 86400 < 14`,
		"m{a=`raw`}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		sels, err := Selectors(expr)
		if err != nil {
			return
		}
		for _, s := range sels {
			if s.Metric != "" && !identRE.MatchString(s.Metric) && !strings.Contains(expr, `__name__`) {
				t.Errorf("%q: metric %q is not a name", expr, s.Metric)
			}
			for _, l := range s.Labels {
				if !identRE.MatchString(l) {
					t.Errorf("%q: label %q is not a name", expr, l)
				}
			}
		}
	})
}
