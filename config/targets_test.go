package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseTargets(t *testing.T) {
	targets, err := ParseTargets([]byte(`# the fleet
example.com
  Example.ORG.   module=strict   # a trailing comment
example.net dkim_selector=s2048,ED2025 dkim_selector=s2048
mx1.example.com:25

192.0.2.25
example.com module=strict
`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tg := range targets {
		got = append(got, tg.Target+" "+tg.Module+" "+strings.Join(tg.DKIMSelectors, ","))
	}
	want := []string{
		"example.com mail ",
		"example.org strict ",
		"example.net mail s2048,ed2025",
		"mx1.example.com:25 mail ",
		"192.0.2.25 mail ",
		"example.com strict ",
	}
	if !slices.Equal(got, want) {
		t.Errorf("targets:\n got %q\nwant %q", got, want)
	}
	if targets[2].Line != 4 {
		t.Errorf("example.net is on line %d, want 4", targets[2].Line)
	}

	for _, tc := range []struct{ text, want string }{
		{"example.com\nnot a domain!\n", "line 2"},
		{"example.com dkim_selector=a..b\n", "line 1: dkim_selector"},
		{"example.com dkim_selector=\n", `"dkim_selector="`},
		{"example.com outbound=192.0.2.1\n", `unknown key "outbound"`},
		{"example.com module\n", `"module": want module=NAME`},
		{"example.com\n\nEXAMPLE.COM.\n", "line 3: example.com with module mail is already on line 1"},
		{"example.com " + strings.Repeat("x", maxTargetLineBytes) + "\n", "line 1"},
	} {
		if _, err := ParseTargets([]byte(tc.text)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%.40q: error %v, want one containing %q", tc.text, err, tc.want)
		}
	}
}

func TestLoadReadsTheTargetsFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	write("fleet.txt", "example.com\nexample.org module=strict\n")
	cfgPath := write("config.yml", "targets_file: fleet.txt\nmodules:\n  mail:\n    mx: {}\n  strict:\n    mx: {}\n")
	cfg, err := Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Targets) != 2 || cfg.Targets[1].Module != "strict" {
		t.Errorf("targets %+v, want the file's two, relative to the config file", cfg.Targets)
	}

	write("fleet.txt", "example.com\nexample.org module=nope\n")
	if _, err := Load(cfgPath); err == nil || !strings.Contains(err.Error(), `line 2: example.org: no module "nope"`) {
		t.Errorf("a target of an unknown module: %v", err)
	}
	write("config.yml", "targets_file: missing.txt\nmodules:\n  mail:\n    mx: {}\n")
	if _, err := Load(cfgPath); err == nil || !strings.Contains(err.Error(), "targets_file") {
		t.Errorf("a missing targets file: %v", err)
	}
}
