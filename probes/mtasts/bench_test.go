package mtasts_test

import (
	"testing"
	"time"

	"github.com/deliverability-exporter/deliverability_exporter/probes/mtasts"
)

// BenchmarkProbe is one probe request for gmail.com against the in-process
// world: four DNS questions beside the MX discovery, then one HTTPS fetch
// with a full TLS handshake, the policy parsed and matched, the memory
// consulted. Each iteration is a fresh request (resolver cache and memo).
func BenchmarkProbe(b *testing.B) {
	w := newWorld(b, zones)
	w.policy("gmail.com", gmailPolicy)
	p := mtasts.New(w.cfg(), mtasts.NewMemory(0))
	b.ReportAllocs()
	for b.Loop() {
		res := runIn(b, w.env(), "gmail.com", p, 30*time.Second)
		if c, _ := res.Check("mtasts.policy"); c.Status != pass {
			b.Fatalf("mtasts.policy = %s (%s)", c.Status, c.Reason)
		}
	}
}

func BenchmarkParsePolicy(b *testing.B) {
	body := []byte(gmailPolicy)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := mtasts.ParsePolicy(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseRecord(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := mtasts.ParseRecord("v=STSv1; id=20190429T010101;"); err != nil {
			b.Fatal(err)
		}
	}
}
