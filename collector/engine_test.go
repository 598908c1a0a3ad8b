package collector

import (
	"context"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/deliverability-exporter/deliverability_exporter/config"
	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsbl"
	"github.com/deliverability-exporter/deliverability_exporter/probes/smtpsession"
)

func TestEngineReloadKeepsOldConfigOnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yml")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("modules:\n  first:\n    mx: {}\n")
	reg := prometheus.NewRegistry()
	engine, err := NewEngine(path, log.NewNopLogger(), reg)
	if err != nil {
		t.Fatal(err)
	}
	if v := testutil.ToFloat64(engine.lastSuccessful); v != 1 {
		t.Error("reload metric not 1 after a good load")
	}

	write("modules:\n  second:\n    timeout: -1s\n    mx: {}\n")
	if err := engine.Reload(); err == nil || !strings.Contains(err.Error(), "timeout must be positive") {
		t.Errorf("reload err = %v", err)
	}
	if _, ok := engine.Current().Module("first"); !ok {
		t.Error("a failed reload replaced the config in force")
	}
	if v := testutil.ToFloat64(engine.lastSuccessful); v != 0 {
		t.Error("reload metric not 0 after a failed reload")
	}

	write("modules:\n  second:\n    mx: {}\n")
	if err := engine.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, ok := engine.Current().Module("second"); !ok {
		t.Error("a good reload did not take effect")
	}
	if v := testutil.ToFloat64(engine.lastSuccessful); v != 1 {
		t.Error("reload metric not 1 after recovering")
	}
}

// TestEngineBuiltInDefault: without a config file the engine runs the
// built-in default, the module "mail" with every probe but the opt-in
// ones (delivery), and says so.
func TestEngineBuiltInDefault(t *testing.T) {
	engine, err := NewEngine("", log.NewNopLogger(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := engine.Current().Names(); len(got) != 1 || got[0] != config.DefaultModuleName {
		t.Fatalf("modules %v; want [%s]", got, config.DefaultModuleName)
	}
	m, _ := engine.Current().Module(config.DefaultModuleName)
	if got, want := strings.Join(m.ProbeNames(), ","), strings.Join(slices.DeleteFunc(config.BlockNames(), config.OptInBlock), ","); got != want {
		t.Errorf("probes %s; want every probe, %s", got, want)
	}
	if got := engine.Source(); got != "built-in default (config.example.yml)" {
		t.Errorf("source %q", got)
	}
	if err := engine.Reload(); err != nil {
		t.Errorf("reloading the built-in default: %v", err)
	}
}

// A reload keeps a module's running slots and DNS client (with the answers
// it keeps) while their settings stay the same, so a reload neither lets
// more requests run than max_running_requests allows nor empties the
// cache; changed settings get new ones, and the old client is closed.
func TestReloadKeepsLimitsAndAnswers(t *testing.T) {
	kept := probes.NewKept()
	yaml := "modules:\n  mail:\n    resolvers: [127.0.0.1]\n    max_running_requests: 1\n    mx: {}\n"
	compile := func(y string) *Module {
		t.Helper()
		cfg := compileYAMLKept(t, y, kept)
		return cfg.byName["mail"]
	}
	first := compile(yaml)
	again := compile(yaml)
	if first.running != again.running || first.dns != again.dns {
		t.Error("a reload with the same settings made new running slots or a new DNS client")
	}
	changed := compile(strings.Replace(yaml, "max_running_requests: 1", "max_running_requests: 2", 1))
	if changed.running == first.running || cap(changed.running) != 2 {
		t.Error("changed max_running_requests kept the old slots")
	}
	if changed.dns != first.dns {
		t.Error("the DNS client changed with a setting that is not its own")
	}
	other := compile(strings.Replace(yaml, "127.0.0.1", "127.0.0.2", 1))
	if other.dns == first.dns {
		t.Error("new resolvers kept the old DNS client")
	}
}

func TestNewRequestOutboundIPsAndParameters(t *testing.T) {
	m := compileYAML(t, "modules:\n  mail:\n    resolvers: [127.0.0.1]\n    outbound_ips: [192.0.2.99, \"2001:db8::99\"]\n    mx: {}\n    dkim: {}\n").byName["mail"]
	tgt, _ := probes.ParseTarget("example.test")
	req, err := m.NewRequest(tgt, url.Values{"outbound_ip": {"198.51.100.1", "192.0.2.99", "::ffff:198.51.100.2"}, "dkim_selector": {"s1"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ip := range req.OutboundIPs {
		got = append(got, ip.String())
	}
	if strings.Join(got, " ") != "192.0.2.99 2001:db8::99 198.51.100.1 198.51.100.2" {
		t.Errorf("outbound IPs = %v", got)
	}
	if _, ok := req.Params["outbound_ip"]; ok || req.Params.Get("dkim_selector") != "s1" {
		t.Errorf("params = %v", req.Params)
	}
	if _, err := m.NewRequest(tgt, url.Values{"other": {"x"}}); err == nil || !strings.Contains(err.Error(), `unknown query parameter "other"`) {
		t.Errorf("a parameter no probe reads: %v", err)
	}
	if _, err := m.NewRequest(tgt, url.Values{"outbound_ip": {"mail.example.test"}}); err == nil || !strings.Contains(err.Error(), `outbound IP "mail.example.test"`) {
		t.Errorf("a name as outbound_ip: %v", err)
	}
	many := url.Values{}
	for i := range 65 {
		many.Add("outbound_ip", fmt.Sprintf("198.51.100.%d", i))
	}
	if _, err := m.NewRequest(tgt, many); err == nil || !strings.Contains(err.Error(), "outbound_ip: 65 given; at most 64") {
		t.Errorf("65 outbound_ip values: %v", err)
	}
	many.Del("outbound_ip")
	for i := range 64 {
		many.Add("outbound_ip", fmt.Sprintf("198.51.100.%d", i))
	}
	if _, err := m.NewRequest(tgt, many); err != nil {
		t.Errorf("64 outbound_ip values: %v", err)
	}
}

func TestModuleResolvers(t *testing.T) {
	m := compileYAML(t, "modules:\n  quick:\n    resolvers: [\"127.0.0.1:5353\", \"::1\"]\n    mx:\n").byName["quick"]
	if got := strings.Join(m.ResolverAddresses(), " "); got != "127.0.0.1:5353 [::1]:53" {
		t.Errorf("resolvers = %s", got)
	}
	if got := strings.Join(m.ProbeNames(), ","); got != "mx" {
		t.Errorf(`a bare "mx:" key: probes %s`, got)
	}
}

// deliverability_exporter_smtp_egress_up says, per module with an smtp
// probe, whether the exporter reaches the SMTP port: by the module's
// egress_check when it has one (run beside the conversations), else by
// the conversations of the process; absent while nothing is known.
func TestEgressMetric(t *testing.T) {
	world := testbed.StartExampleWorld(t)
	open, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	go func() {
		for {
			c, err := open.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()

	module := func(name, smtp string) string {
		return testbed.ExampleModule(name, world.Addr) + "    smtp: " + smtp + "\n"
	}
	yaml := "modules:\n" +
		module("answering", "{egress_check: {addresses: ["+open.Addr().String()+"]}}") +
		module("refused", "{egress_check: {addresses: ["+closedAddr+"]}}") +
		module("plain", "{}") +
		"  dnsonly:\n    resolvers: [\"" + world.Addr + "\"]\n    mx: {}\n"
	path := filepath.Join(t.TempDir(), "config.yml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	engine, err := NewEngine(path, log.NewNopLogger(), reg)
	if err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(reg, "deliverability_exporter_smtp_egress_up"); n != 0 {
		t.Errorf("%d egress samples before any probe, want none", n)
	}
	tgt, _ := probes.ParseTarget("example.test")
	for _, name := range []string{"answering", "refused", "plain"} {
		m, _ := engine.Current().Module(name)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		m.Run(ctx, &probes.Request{Target: tgt}, RunOptions{})
		cancel()
	}
	// The example world's MX hosts are documentation addresses the
	// modules do not connect to: the conversations show nothing, so the
	// module without a check knows nothing.
	want := `
# HELP deliverability_exporter_smtp_egress_up ` + egressUpHelp + `
# TYPE deliverability_exporter_smtp_egress_up gauge
deliverability_exporter_smtp_egress_up{module="answering"} 1
deliverability_exporter_smtp_egress_up{module="refused"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "deliverability_exporter_smtp_egress_up"); err != nil {
		t.Error(err)
	}
}

// TestSMTPPolitenessFollowsTheConfig: the bounds on connections per mail
// server are the process's, put in force by a config that compiles and
// back to the defaults by one that leaves them out; a config that fails
// to compile changes nothing.
func TestSMTPPolitenessFollowsTheConfig(t *testing.T) {
	kept := probes.NewKept()
	pol := smtpsession.SharedPoliteness(kept)
	compileYAMLKept(t, "smtp_politeness: {max_connections_per_address: 5}\nmodules:\n  a:\n    smtp: {}\n  b:\n    mx: {}\n", kept)
	if got := pol.Config().MaxConnectionsPerAddress; got != 5 {
		t.Errorf("max_connections_per_address in force = %d, want 5", got)
	}
	// A config that parses and then fails to compile: its CA file went
	// away in between (Parse itself refuses a missing one).
	bad, err := config.Parse([]byte("smtp_politeness: {max_connections_per_address: 7}\nmodules:\n  a:\n    mx: {}\n"))
	if err != nil {
		t.Fatal(err)
	}
	bad.Modules["a"].CAFile = filepath.Join(t.TempDir(), "gone.pem")
	if _, err := Compile(bad, kept); err == nil || !strings.Contains(err.Error(), "ca_file") {
		t.Fatalf("a config with a missing ca_file compiled: %v", err)
	}
	if got := pol.Config().MaxConnectionsPerAddress; got != 5 {
		t.Errorf("a config that failed changed the bound to %d", got)
	}
	compileYAMLKept(t, "modules:\n  a:\n    smtp: {}\n", kept)
	if got := pol.Config(); got != smtpsession.DefaultPoliteness() {
		t.Errorf("bounds in force %+v after a config without smtp_politeness, want the defaults", got)
	}
}

// TestTargetsFileLinesProbeWouldRefuse: a targets file line that /probe
// would answer with a 400 at every scrape (a target outside its module's
// allowed_targets, selectors for a module without a dkim probe, more
// selectors than it takes) fails the compile, naming the line; the lines
// /probe takes compile.
func TestTargetsFileLinesProbeWouldRefuse(t *testing.T) {
	const modules = "targets_file: fleet.txt\nmodules:\n" +
		"  mail:\n    mx: {}\n    dkim: {}\n" +
		"  mxonly:\n    mx: {}\n" +
		"  ours:\n    allowed_targets: '.*\\.example\\.com'\n    mx: {}\n    dkim: {}\n"
	compile := func(fleet string) error {
		t.Helper()
		cfg, err := config.Parse([]byte(modules))
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Targets, err = config.ParseTargets([]byte(fleet)); err != nil {
			t.Fatal(err)
		}
		_, err = Compile(cfg, nil)
		return err
	}
	if err := compile("a.example.org\nb.example.org dkim_selector=s1,s2\nmx.example.com module=ours dkim_selector=s1\nc.example.org module=mxonly\n"); err != nil {
		t.Errorf("lines /probe takes: %v", err)
	}
	many := make([]string, 40)
	for i := range many {
		many[i] = fmt.Sprintf("s%d", i)
	}
	for _, tc := range []struct{ fleet, want string }{
		{"a.example.org\nb.example.org module=mxonly dkim_selector=s1\n", `targets_file fleet.txt: line 2: b.example.org: module "mxonly": unknown query parameter "dkim_selector"`},
		{"a.example.com module=ours\nexample.org module=ours\n", `line 2: example.org: module "ours": target "example.org" is not among this module's allowed_targets`},
		{"mx.example.com:25 module=ours\n", `line 1: mx.example.com:25: module "ours": target "mx.example.com:25" is not among`},
		{"a.example.org dkim_selector=" + strings.Join(many, ",") + "\n", `line 1: a.example.org: module "mail": dkim_selector: 40 given`},
	} {
		if err := compile(tc.fleet); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want an error containing %q", tc.fleet, err, tc.want)
		}
	}
}

// TestBlocklistBudgetFiguresFollowTheConfig: the budget figures name the
// lists of the configuration in force with its budgets: a list a reload
// removed leaves them, a changed budget shows, and a configuration that
// failed to compile changes nothing.
func TestBlocklistBudgetFiguresFollowTheConfig(t *testing.T) {
	kept := probes.NewKept()
	budgets := dnsbl.SharedBudgets(kept)
	shown := func() map[string]int {
		out := map[string]int{}
		for _, f := range budgets.Figures(time.Now()) {
			out[f.Zone] = f.Budget
		}
		return out
	}
	list := func(zone string, budget int) string {
		return fmt.Sprintf("        - {zone: %s, kind: ip, daily_query_budget: %d}\n", zone, budget)
	}
	compileYAMLKept(t, "modules:\n  a:\n    dnsbl:\n      lists:\n"+list("one.bl.test", 100)+list("two.bl.test", 200)+
		"  b:\n    dnsbl:\n      lists:\n"+list("one.bl.test", 50), kept)
	if got, want := shown(), map[string]int{"one.bl.test": 50, "two.bl.test": 200}; !maps.Equal(got, want) {
		t.Errorf("figures %v, want %v", got, want)
	}
	bad, err := config.Parse([]byte("modules:\n  a:\n    dnsbl:\n      lists:\n" + list("one.bl.test", 7) + list("three.bl.test", 1)))
	if err != nil {
		t.Fatal(err)
	}
	bad.Modules["a"].CAFile = filepath.Join(t.TempDir(), "gone.pem")
	if _, err := Compile(bad, kept); err == nil {
		t.Fatal("a config with a missing ca_file compiled")
	}
	if got, want := shown(), map[string]int{"one.bl.test": 50, "two.bl.test": 200}; !maps.Equal(got, want) {
		t.Errorf("after a config that failed: figures %v, want %v", got, want)
	}
	compileYAMLKept(t, "modules:\n  a:\n    dnsbl:\n      lists:\n"+list("one.bl.test", 70), kept)
	if got, want := shown(), map[string]int{"one.bl.test": 70}; !maps.Equal(got, want) {
		t.Errorf("after a reload without two.bl.test: figures %v, want %v", got, want)
	}
}
