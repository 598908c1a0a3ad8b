package receiver_test

import (
	"os"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/deliverability-exporter/deliverability_exporter/internal/receiver"
)

// TestMetricsDocumented keeps docs/metrics.md's receiver table true, and
// every outcome listed there.
func TestMetricsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(receiver.New(receiver.Config{}))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(mfs) != 2 {
		t.Errorf("%d metric families, want 2", len(mfs))
	}
	for _, mf := range mfs {
		if !strings.Contains(string(doc), "| `"+mf.GetName()+"` |") {
			t.Errorf("docs/metrics.md does not document %s", mf.GetName())
		}
	}
	for _, o := range receiver.Outcomes {
		if !strings.Contains(string(doc), "`"+string(o)+"`") {
			t.Errorf("docs/metrics.md does not name the outcome %s", o)
		}
	}
}
