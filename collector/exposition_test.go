package collector

import (
	"bytes"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

// registryText is the exposition the way client_golang writes it: the
// report's registry gathered and encoded as text 0.0.4.
func registryText(t *testing.T, r *Report) string {
	t.Helper()
	reg, _ := r.Registry()
	mfs, err := reg.Gather()
	if err != nil {
		t.Logf("gather: %v", err)
	}
	var b bytes.Buffer
	enc := expfmt.NewEncoder(&b, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

// TestWriteExpositionIsTheRegistrysText: the hand-written exposition is
// byte for byte what the registry path writes, awkward label values and
// values included, and drops what it drops.
func TestWriteExpositionIsTheRegistrysText(t *testing.T) {
	labelled := &probes.MetricSpec{Name: "mail_test_labelled", Help: "A help text with a \\ backslash\nand a new line.", Labels: []string{"zone", "subject"}}
	plain := &probes.MetricSpec{Name: "mail_test_plain", Help: "Plain."}
	res := probes.NewResult("test")
	for _, subject := range []string{"a", "a!", "a b", "a-b", `a"b`, `a\b`, "a\nb", "é", "b", ""} {
		res.Measure(labelled, 1, "zone.example", subject)
	}
	res.Measure(labelled, 1, "zone.example", "a") // a duplicate: dropped
	res.Measure(labelled, 1, "z", "\xff")         // not UTF-8: dropped
	for _, v := range []float64{0.5, -1, 1.7e9, 1e-7, 123456789012, math.Inf(1), math.Inf(-1), -0.25} {
		res.Measure(&probes.MetricSpec{Name: "mail_test_values_" + strings.NewReplacer(".", "_", "-", "m", "+", "p").Replace(formatValue(v)), Help: "v"}, v)
	}
	res.Measure(plain, 0)
	res.Pass(probes.CheckSpec{ID: "test.ok", Level: probes.LevelMust}, "fine")
	res.Fail(probes.CheckSpec{ID: "test.bad", Level: probes.LevelShould}, "not fine", "fix it")
	r := &Report{Module: "mail", Start: time.Now(), Duration: 1234567 * time.Microsecond,
		Probes: []ProbeRun{{Name: "test", Duration: 40 * time.Millisecond, Result: res}, {Name: "other", Result: probes.NewResult("other"), Age: 90 * time.Second}}}

	if n, frame := r.frameCount(), r.appendFrameSamples(nil); n != len(frame) {
		t.Errorf("frameCount %d, the frame has %d samples", n, len(frame))
	}
	var got bytes.Buffer
	err := r.WriteExposition(&got)
	if err == nil || !strings.Contains(err.Error(), "not UTF-8") || !strings.Contains(err.Error(), "mail_test_labelled[zone.example a]") {
		t.Errorf("error %v, want the duplicate and the invalid label value named", err)
	}
	if want := registryText(t, r); got.String() != want {
		t.Errorf("exposition differs from the registry's:\n--- got\n%s\n--- want\n%s", got.String(), want)
	}
	// Any other writer is written through a buffer of its own, to the
	// same bytes.
	var through bytes.Buffer
	if err := r.WriteExposition(struct{ io.Writer }{&through}); err == nil {
		t.Error("no error through a plain io.Writer")
	}
	if through.String() != got.String() {
		t.Errorf("through a plain io.Writer:\n%s\nwant\n%s", through.String(), got.String())
	}
}
