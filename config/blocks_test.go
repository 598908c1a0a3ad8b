package config

import (
	"strings"
	"testing"
)

// TestShownConfigKeepsAbsentBlocksAbsent: a module without some probe
// blocks is shown (/config) without them, so what is shown loads with the
// same probes; shown as "smtp: null", a block would come back enabled with
// its defaults, and the delivery block, which has none that load, would
// not load at all.
func TestShownConfigKeepsAbsentBlocksAbsent(t *testing.T) {
	cfg, err := Parse([]byte("modules:\n  m:\n    mx: {}\n    dkim: {}\n"))
	if err != nil {
		t.Fatal(err)
	}
	shown, err := cfg.RedactedYAML()
	if err != nil {
		t.Fatal(err)
	}
	again, err := Parse(shown)
	if err != nil {
		t.Fatalf("the shown configuration does not load: %v\n%s", err, shown)
	}
	m, _ := again.Module("m")
	if got := strings.Join(m.PresentBlocks(), ","); got != "mx,dkim" {
		t.Errorf("the shown configuration runs %s, want mx,dkim:\n%s", got, shown)
	}
}
