package collector

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

// Issue 17 finding 7: a server that drips its EHLO reply gave three
// different results over 8 identical runs (FAIL without error, error plus
// FAIL, error without a sample), depending on whether the smtp probe or
// spf.helo started the shared conversation. The conversation now runs
// under the request's facts context and ends a lead before the probes'
// deadline, so both read the same one, whichever started it; and a
// conversation the exporter's deadline cut short is undecided.
func TestOneConversationOneVerdict(t *testing.T) {
	dnsSrv := testbed.StartDNS(t, `$ORIGIN drip.test.
@ IN MX 10 mx
@ IN TXT "v=spf1 mx -all"
mx IN A 127.0.0.6
`)
	smtpSrv := testbed.StartSMTP(t, "127.0.0.6:0", testbed.SMTPBehaviour{Hostname: "mx.drip.test", Hostile: testbed.DripEHLO})
	// Eight conversations with one address at once: not what the
	// politeness bounds are tested with here.
	m := compileYAML(t, fmt.Sprintf(`smtp_politeness: {max_connections_per_address: 0, connections_per_minute_per_address: 0}
modules:
  mail:
    timeout: 2s
    resolvers: [%q]
    allowed_networks: [127.0.0.0/8]
    spf: {}
    smtp: {port: %d, ehlo_name: probe.example.test}
`, dnsSrv.Addr, smtpSrv.Port())).byName["mail"]
	tgt, _ := probes.ParseTarget("drip.test")

	type outcome struct {
		checks map[string]probes.Status
		errs   map[string]int // probe errors per probe
	}
	const runs = 8
	outcomes := make([]outcome, runs)
	var wg sync.WaitGroup
	for i := range runs {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			report := m.Run(ctx, &probes.Request{Target: tgt}, RunOptions{})
			o := outcome{checks: map[string]probes.Status{}, errs: map[string]int{}}
			for _, p := range report.Probes {
				for _, e := range p.Result.Errors() {
					if strings.Contains(e, "did not finish") {
						t.Errorf("run %d: the %s probe did not finish before the answer was due: %s", i, p.Name, e)
					}
				}
				o.errs[p.Name] = len(p.Result.Errors())
				for _, c := range p.Result.Checks() {
					if strings.HasPrefix(c.ID, "smtp.") || c.ID == "spf.helo" || strings.HasPrefix(c.ID, "tls.") {
						o.checks[c.ID] = c.Status
					}
				}
			}
			outcomes[i] = o
		})
	}
	wg.Wait()

	first := outcomes[0]
	for i, o := range outcomes[1:] {
		if !maps.Equal(o.checks, first.checks) || !maps.Equal(o.errs, first.errs) {
			t.Errorf("run %d differs from run 0:\n%v %v\n%v %v", i+1, o.checks, o.errs, first.checks, first.errs)
		}
	}
	for id, want := range map[string]probes.Status{
		"smtp.reachable": probes.StatusPass,  // the greeting came in time
		"smtp.helo":      probes.StatusError, // the EHLO reply did not: undecided
		"smtp.starttls":  probes.StatusError,
		"spf.helo":       probes.StatusError, // the server's HELO name is not known
	} {
		if got := first.checks[id]; got != want {
			t.Errorf("%s = %s, want %s (checks: %v)", id, got, want, first.checks)
		}
	}
	for id, status := range first.checks {
		if status == probes.StatusFail {
			t.Errorf("%s failed on a conversation the exporter's deadline cut short", id)
		}
	}
	if first.errs["smtp"] == 0 || first.errs["spf"] == 0 {
		t.Errorf("probe errors %v: both probes must say they could not decide", first.errs)
	}
	if n := smtpSrv.Connections(); n != runs {
		t.Errorf("%d connections for %d runs: one conversation per request, shared by both probes", n, runs)
	}
}
