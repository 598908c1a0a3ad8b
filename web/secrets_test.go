package web

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/deliverability-exporter/deliverability_exporter/collector"
	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
)

// TestBlocklistKeysAreNeverShown: a blocklist whose zone name carries an
// access key (as Spamhaus DQS and Abusix zones do) is asked under that
// name, but the key appears in no metric label, report, JSON, HTML page,
// or log: each shows <secret> in its place. The second
// request is served from the result min_interval keeps, which must be as
// clean.
func TestBlocklistKeysAreNeverShown(t *testing.T) {
	const key = "k3y0123456789abcdefghijk"
	zone := key + ".zen.bl.test"
	world := testbed.StartExampleWorld(t)
	for _, rr := range []string{
		"2.0.0.127." + zone + ". 300 IN A 127.0.0.2",
		"77.100.51.198." + zone + ". 300 IN A 127.0.0.11",
		"77.100.51.198." + zone + `. 300 IN TXT "https://check.example/lookup?zone=` + zone + `&ip=198.51.100.77"`,
	} {
		if err := world.Add(rr); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := parseModules([]byte(`modules:
  keyed:
    timeout: 10s
    resolvers: ["` + world.Addr + `"]
    allowed_networks: [127.0.0.0/8, "::1/128"]
    dns_query_timeout: 500ms
    min_interval: {dnsbl: 5m}
    mx: {}
    dnsbl:
      lists:
        - zone: ` + zone + `
          kind: ip
          daily_query_budget: 1000
          codes: {127.0.0.2: SBL, 127.0.0.11: PBL}
`))
	if err != nil {
		t.Fatal(err)
	}
	h, _ := newHandler(cfg)
	h.History = NewHistory(4)

	asked := false
	for _, q := range world.Queries() {
		asked = asked || strings.Contains(q.Name, key)
	}
	if asked {
		t.Fatal("the list was asked before any probe")
	}
	for round := 1; round <= 2; round++ {
		res := probe(t, h, "module=keyed&target=broken.test", nil)
		if res.code != http.StatusOK {
			t.Fatalf("round %d: status %d: %s", round, res.code, res.body)
		}
		if v := res.mustValue(t, "mail_dnsbl_listed", "zone", "<secret>.zen.bl.test", "subject", "198.51.100.77"); v != 1 {
			t.Errorf("round %d: the listing under the redacted zone is %v, want 1", round, v)
		}
		debug := probe(t, h, "module=keyed&target=broken.test&debug=true", nil)
		var js, page bytes.Buffer
		recent := h.History.Recent()
		for _, e := range recent {
			if err := WriteJSON(&js, []*collector.Report{e.Report}); err != nil {
				t.Fatal(err)
			}
			if err := WriteHTML(&page, e.Report, e.ID, e.Logs); err != nil {
				t.Fatal(err)
			}
		}
		for what, text := range map[string]string{"exposition": res.body, "debug report": debug.body, "JSON report": js.String(), "HTML report": page.String()} {
			if strings.Contains(text, key) {
				t.Errorf("round %d: the %s shows the key:\n%s", round, what, text)
			}
			if !strings.Contains(text, "<secret>.zen.bl.test") && !strings.Contains(text, "&lt;secret&gt;.zen.bl.test") && !strings.Contains(text, `\u003csecret\u003e.zen.bl.test`) {
				t.Errorf("round %d: the %s does not name the list:\n%s", round, what, text)
			}
		}
	}
	for _, q := range world.Queries() {
		asked = asked || strings.Contains(q.Name, key)
	}
	if !asked {
		t.Error("the list was never asked under its keyed zone")
	}
}
