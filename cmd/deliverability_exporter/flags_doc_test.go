package main

import (
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/alecthomas/kingpin/v2"
)

// kingpinOwn are the help flags kingpin adds itself, which the flags table
// names as -h (its completion flags are hidden, and skipped as such).
var kingpinOwn = map[string]bool{"help": true, "help-long": true, "help-man": true}

var (
	docFlagRE  = regexp.MustCompile("`--([a-z0-9.-]+)`")
	docValueRE = regexp.MustCompile("^`([^`]*)`$")
)

// TestFlagsDocumented holds CONFIGURATION.md's flags table to the command
// line: every flag of the exporter (serve's and the global ones) is in it,
// nothing else is, and a default written as a value is the flag's default.
// The check command's flags are held to the README's synopsis of it.
func TestFlagsDocumented(t *testing.T) {
	model := newApp(&flags{}, io.Discard, io.Discard).Model()
	commands := map[string]*kingpin.CmdModel{}
	for _, c := range model.Commands {
		commands[c.Name] = c
	}
	if commands["serve"] == nil || commands["check"] == nil {
		t.Fatalf("commands %v: want serve and check", model.Commands)
	}

	doc, err := os.ReadFile(filepath.Join("..", "..", "CONFIGURATION.md"))
	if err != nil {
		t.Fatal(err)
	}
	section := regexp.MustCompile(`(?s)\n## Flags\n(.*?)\n## `).FindSubmatch(doc)
	if section == nil {
		t.Fatal("CONFIGURATION.md has no \"## Flags\" section")
	}
	documented := map[string]string{} // flag → its default cell
	for _, line := range strings.Split(string(section[1]), "\n") {
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if !strings.HasPrefix(line, "| `") || len(cells) < 2 {
			continue
		}
		for _, m := range docFlagRE.FindAllStringSubmatch(cells[0], -1) {
			documented[m[1]] = strings.TrimSpace(cells[1])
		}
	}
	if len(documented) < 10 {
		t.Fatalf("%d flags found in CONFIGURATION.md's table: the test no longer reads it", len(documented))
	}
	for _, fl := range append(model.Flags, commands["serve"].Flags...) {
		if kingpinOwn[fl.Name] || fl.Hidden {
			continue
		}
		cell, ok := documented[fl.Name]
		if !ok {
			t.Errorf("CONFIGURATION.md's flags table lacks --%s", fl.Name)
			continue
		}
		delete(documented, fl.Name)
		if m := docValueRE.FindStringSubmatch(cell); m != nil && m[1] != strings.Join(fl.Default, ",") {
			t.Errorf("CONFIGURATION.md: --%s defaults to %s, the code's is %q", fl.Name, cell, strings.Join(fl.Default, ","))
		}
	}
	for name := range documented {
		t.Errorf("CONFIGURATION.md documents --%s, which the exporter does not have", name)
	}

	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	synopsis := regexp.MustCompile(`(?s)deliverability_exporter check \[.*?TARGET\.\.\.`).Find(readme)
	if synopsis == nil {
		t.Fatal("README.md has no synopsis of the check command (deliverability_exporter check [...] TARGET...)")
	}
	shown := map[string]bool{}
	for _, m := range regexp.MustCompile(`--([a-z0-9.-]+)`).FindAllSubmatch(synopsis, -1) {
		shown[string(m[1])] = true
	}
	global := map[string]bool{}
	for _, fl := range model.Flags {
		global[fl.Name] = true
	}
	for _, fl := range commands["check"].Flags {
		if !shown[fl.Name] {
			t.Errorf("README.md's synopsis of check lacks --%s", fl.Name)
		}
		delete(shown, fl.Name)
	}
	for name := range shown {
		if !global[name] {
			t.Errorf("README.md's synopsis of check shows --%s, which check does not have", name)
		}
	}
}
