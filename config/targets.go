package config

import (
	"bufio"
	"bytes"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dkim"
)

// Target is one line of the targets file: what the exporter's http_sd
// endpoint (/sd) hands Prometheus to scrape.
type Target struct {
	// Target is the domain (or host, or IP) as reports write it.
	Target string
	// Module is the module to probe it with (DefaultModuleName when the
	// line names none).
	Module string
	// DKIMSelectors are selectors to look up besides the module's.
	DKIMSelectors []string
	// Line is the line of the file it was given on.
	Line int
}

// Params are the probe parameters besides module and target that the
// target is scraped with: what /sd hands Prometheus as __param_ labels,
// one value each (the selectors joined by commas, which dkim_selector=
// takes).
func (t Target) Params() url.Values {
	if len(t.DKIMSelectors) == 0 {
		return nil
	}
	return url.Values{dkim.ParamSelector: {strings.Join(t.DKIMSelectors, ",")}}
}

// Bounds of a targets file: a fleet of a million domains fits, a mistake
// such as /dev/zero ends in an error.
const (
	maxTargetsFileBytes = 64 << 20
	maxTargets          = 1_000_000
	maxTargetLineBytes  = 4096
)

// ParseTargets reads a targets file: one target per line (a domain, or a
// host or IP as /probe takes them), then optionally module=NAME and
// dkim_selector=S1,S2 (repeatable), separated by spaces; # starts a
// comment, and blank lines are skipped. Errors name the line.
//
//	example.com
//	example.org  module=strict  dkim_selector=s2048,ed
func ParseTargets(data []byte) ([]Target, error) {
	var out []Target
	seen := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 1024), maxTargetLineBytes)
	line := 0
	for sc.Scan() {
		line++
		text, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(text)
		if len(fields) == 0 {
			continue
		}
		if len(out) >= maxTargets {
			return nil, fmt.Errorf("line %d: more than %d targets", line, maxTargets)
		}
		tgt, err := probes.ParseTarget(fields[0])
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		t := Target{Target: tgt.String(), Module: DefaultModuleName, Line: line}
		for _, f := range fields[1:] {
			key, value, ok := strings.Cut(f, "=")
			if !ok || value == "" {
				return nil, fmt.Errorf("line %d: %q: want module=NAME or dkim_selector=S1,S2", line, f)
			}
			switch key {
			case "module":
				t.Module = value
			case dkim.ParamSelector:
				for _, s := range strings.Split(value, ",") {
					if err := dkim.ValidateSelector(s); err != nil {
						return nil, fmt.Errorf("line %d: %s: %w", line, key, err)
					}
					s = strings.ToLower(s)
					if !slices.Contains(t.DKIMSelectors, s) {
						t.DKIMSelectors = append(t.DKIMSelectors, s)
					}
				}
			default:
				return nil, fmt.Errorf("line %d: unknown key %q: want module= or dkim_selector=", line, key)
			}
		}
		// One target probed twice with one module would be two scrapes of
		// the same series.
		key := t.Target + "\xff" + t.Module
		if first, dup := seen[key]; dup {
			return nil, fmt.Errorf("line %d: %s with module %s is already on line %d", line, t.Target, t.Module, first)
		}
		seen[key] = line
		out = append(out, t)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", line+1, err)
	}
	return out, nil
}

// readTargets loads the targets file the config names (relative to dir,
// the config file's directory) and checks that each target's module
// exists.
func (c *Config) readTargets(dir string) error {
	if c.TargetsFile == "" {
		return nil
	}
	path := c.TargetsFile
	if !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}
	data, err := readBounded(path, maxTargetsFileBytes)
	if err != nil {
		return fmt.Errorf("targets_file: %w", err)
	}
	targets, err := ParseTargets(data)
	if err != nil {
		return fmt.Errorf("targets_file %s: %w", path, err)
	}
	for _, t := range targets {
		if _, ok := c.Module(t.Module); !ok {
			return fmt.Errorf("targets_file %s: line %d: %s: no module %q in the config (it has %s)", path, t.Line, t.Target, t.Module, strings.Join(c.ModuleNames(), ", "))
		}
	}
	c.Targets = targets
	return nil
}
