package tlsrpt_test

import (
	"testing"

	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/tlsrpt"
)

// BenchmarkProbe is one probe request for both.test (a record with a
// mailto: and an https: destination) against the in-process DNS server,
// each iteration a fresh request.
func BenchmarkProbe(b *testing.B) {
	srv := testbed.StartDNS(b, zones)
	b.ReportAllocs()
	for b.Loop() {
		res := run(b, srv, "both.test")
		if c, _ := res.Check("tlsrpt.present"); c.Status != probes.StatusPass {
			b.Fatalf("tlsrpt.present = %s (%s)", c.Status, c.Reason)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tlsrpt.Parse("v=TLSRPTv1; rua=mailto:tls@both.test,https://reports.both.test/v1/tlsrpt"); err != nil {
			b.Fatal(err)
		}
	}
}
