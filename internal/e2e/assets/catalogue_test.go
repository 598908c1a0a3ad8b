package assets

import "testing"

func TestCatalogue(t *testing.T) {
	c, err := LoadCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	for name, labels := range map[string][]string{
		"mail_check_success":                   {"check", "level"},
		"probe_success":                        nil,
		"deliverability_exporter_probes_total": {"module", "outcome"},
		"deliverability_exporter_build_info":   {"version", "revision", "branch", "goversion", "goos", "goarch", "tags"},
		"up":                                   nil,
	} {
		m, ok := c.Metrics[name]
		if !ok {
			t.Errorf("%s missing", name)
			continue
		}
		if !equalSets(m.Labels, labels) {
			t.Errorf("%s labels %v, want %v", name, m.Labels, labels)
		}
	}
	if c.Checks["mx.present"] != "must" || !c.Wired["mx"] {
		t.Errorf("checks %v wired %v", c.Checks, c.Wired)
	}
	if p := c.CheckSelector(Selector{Metric: "mail_check_success", Labels: []string{"job", "check", "chek"}}); len(p) != 1 {
		t.Errorf("a misspelt label: %v", p)
	}
	if p := c.CheckSelector(Selector{Metric: "mail_nothing"}); len(p) != 1 {
		t.Errorf("an unknown metric: %v", p)
	}
}

// TestPendingProbes: announced names count only while their probe is not
// in the catalogue; once it is, the catalogue alone decides, so a name
// that drifted fails.
func TestPendingProbes(t *testing.T) {
	saved := pendingProbes
	defer func() { pendingProbes = saved }()
	pendingProbes = map[string]pendingProbe{
		"future": {marker: "future.check", metrics: map[string][]string{"mail_future_thing": {"mx"}}},
		"mx":     {marker: "mx.present", metrics: map[string][]string{"mail_mx_drifted_name": nil}},
	}
	c, err := LoadCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := c.Metrics["mail_future_thing"]; !ok || !m.Pending || m.Probe != "future" {
		t.Errorf("a pending probe's metric: %+v %v", m, ok)
	}
	if _, ok := c.Metrics["mail_mx_drifted_name"]; ok {
		t.Error("an announced name of a wired probe is accepted")
	}
	if got := c.PendingProbes(); len(got) != 1 || got[0] != "future" {
		t.Errorf("PendingProbes = %v", got)
	}
	if got, _ := c.PendingIn(`mail_future_thing{mx="a"} * on() mail_score`); len(got) != 1 || got[0] != "future" {
		t.Errorf("PendingIn = %v", got)
	}
}

func equalSets(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]bool{}
	for _, x := range a {
		m[x] = true
	}
	for _, x := range b {
		if !m[x] {
			return false
		}
	}
	return true
}
