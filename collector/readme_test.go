package collector

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
)

// readmeTable returns the rows of the first markdown table after the
// heading, as cells.
func readmeTable(t *testing.T, readme, heading string, skipTables int) [][]string {
	t.Helper()
	i := strings.Index(readme, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("README has no %q section", heading)
	}
	var rows [][]string
	tables := 0
	inTable := false
	for _, line := range strings.Split(readme[i+len(heading)+2:], "\n") {
		if strings.HasPrefix(line, "## ") {
			break
		}
		if !strings.HasPrefix(line, "|") {
			if inTable {
				tables++
				inTable = false
				if tables > skipTables {
					break
				}
			}
			continue
		}
		inTable = true
		if tables < skipTables || strings.HasPrefix(line, "|---") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for j := range cells {
			cells[j] = strings.TrimSpace(cells[j])
		}
		rows = append(rows, cells)
	}
	return rows[1:] // the header
}

var codeRE = regexp.MustCompile("^`([^`]+)`$")

func codeCell(cell string) string {
	if m := codeRE.FindStringSubmatch(cell); m != nil {
		return m[1]
	}
	return ""
}

func readREADME(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestREADMECatalogue keeps the README's check and metric tables equal to
// what the code declares.
func TestREADMECatalogue(t *testing.T) {
	readme := readREADME(t)
	checks, metrics := Catalogue()

	want := map[string]string{}
	for _, c := range checks {
		want[c.ID] = string(c.Level)
	}
	got := map[string]string{}
	for _, row := range readmeTable(t, readme, "## Checks", 0) {
		got[codeCell(row[0])] = row[1]
	}
	if !mapsEqual(got, want) {
		t.Errorf("README checks table:\n got %v\nwant %v", got, want)
	}

	var wantMetrics, gotMetrics []string
	labels := map[string]string{}
	for _, m := range metrics {
		wantMetrics = append(wantMetrics, m.Name)
		var ls []string
		for _, l := range m.Labels {
			ls = append(ls, "`"+l+"`")
		}
		labels[m.Name] = strings.Join(ls, ", ")
	}
	for _, row := range readmeTable(t, readme, "## Metrics", 0) {
		name := codeCell(row[0])
		gotMetrics = append(gotMetrics, name)
		if row[1] != labels[name] {
			t.Errorf("README: %s labels %q, code %q", name, row[1], labels[name])
		}
	}
	sort.Strings(wantMetrics)
	sort.Strings(gotMetrics)
	if !slices.Equal(gotMetrics, wantMetrics) {
		t.Errorf("README /probe metrics:\n got %v\nwant %v", gotMetrics, wantMetrics)
	}

	// The exporter's own metrics: what the collector registers, plus the
	// build info the command adds.
	reg := prometheus.NewRegistry()
	self0 := NewSelfMetrics(reg)
	self0.ProbesTotal.WithLabelValues(DefaultModuleName, "success") // vectors show once they have a child
	if _, err := NewStore("", log.NewNopLogger(), reg); err != nil {
		t.Fatal(err)
	}
	self := []string{"deliverability_exporter_build_info"}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		self = append(self, mf.GetName())
	}
	var documented []string
	for _, row := range readmeTable(t, readme, "## Metrics", 1) {
		documented = append(documented, codeCell(row[0]))
	}
	sort.Strings(self)
	sort.Strings(documented)
	if !slices.Equal(self, documented) {
		t.Errorf("README /metrics table:\n got %v\nwant %v", documented, self)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestREADMEConfigKeys checks that every key a module accepts (read off the
// Go structs' yaml tags) is documented in the README's configuration table
// and shown in config.example.yml, and that nothing else is documented.
func TestREADMEConfigKeys(t *testing.T) {
	readme := readREADME(t)
	documented := map[string]bool{}
	for _, row := range readmeTable(t, readme, "## Configuration", 0) {
		documented[strings.TrimPrefix(codeCell(row[0]), "modules.<name>.")] = true
	}
	keys := yamlKeys(reflect.TypeOf(Module{}), "")
	for _, key := range keys {
		if !documented[key] {
			t.Errorf("README does not document modules.<name>.%s", key)
		}
		last := key[strings.LastIndex(key, ".")+1:]
		if !strings.Contains(string(DefaultConfigYAML), " "+last+":") {
			t.Errorf("config.example.yml does not show %s", key)
		}
		delete(documented, key)
	}
	for key := range documented {
		t.Errorf("README documents modules.<name>.%s, which the code does not accept", key)
	}
}

// yamlKeys lists the yaml keys of a struct; probe blocks (pointers to
// structs) are listed by their inner keys.
func yamlKeys(typ reflect.Type, prefix string) []string {
	var out []string
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if !f.IsExported() || tag == "" || tag == "-" {
			continue
		}
		if f.Type.Kind() == reflect.Pointer && f.Type.Elem().Kind() == reflect.Struct {
			out = append(out, yamlKeys(f.Type.Elem(), prefix+tag+".")...)
			continue
		}
		out = append(out, prefix+tag)
	}
	return out
}
