package spf

import (
	"context"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
)

// TestRFC7208Suite runs every scenario of the RFC 7208 test suite (see
// rfc7208_suite_test.go for the source and the transcription rules)
// against CheckHost, each section on its own in-process zone.
func TestRFC7208Suite(t *testing.T) {
	total := 0
	for _, sec := range rfc7208Suite {
		t.Run(sec.name, func(t *testing.T) {
			srv := testbed.StartDNS(t, "$TTL 300\n"+sec.zone)
			for _, n := range sec.servfail {
				srv.SetBehaviour(n, testbed.ServFail)
			}
			for _, c := range sec.cases {
				total++
				t.Run(c.name, func(t *testing.T) {
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					defer cancel()
					ip := netip.MustParseAddr(c.host)
					got, err := CheckHost(ctx, newResolver(t, srv.Addr), ip, senderDomain(c.mailfrom, c.helo), c.mailfrom, c.helo)
					if !slices.Contains(c.results, got) {
						t.Errorf("RFC 7208 §%s: check_host(%s, %s) = %s (%v), want %v", c.spec, c.host, c.mailfrom, got, err, c.results)
					}
					if (got == PermError || got == TempError) && err == nil {
						t.Errorf("%s without an explanation", got)
					}
				})
			}
		})
	}
	// The suite has 198 scenarios; losing some in an edit must show.
	if total != 198 {
		t.Errorf("ran %d scenarios of the suite, want 198", total)
	}
}
