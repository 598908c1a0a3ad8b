// Package docs_test holds the documentation to the code: the check and
// metric catalogues, the configuration reference, the README's size and
// every relative link.
package docs_test

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"gopkg.in/yaml.v3"

	"github.com/deliverability-exporter/deliverability_exporter/collector"
	"github.com/deliverability-exporter/deliverability_exporter/config"
	"github.com/deliverability-exporter/deliverability_exporter/internal/e2e/assets"
	"github.com/deliverability-exporter/deliverability_exporter/internal/receiver"
	"github.com/deliverability-exporter/deliverability_exporter/probes/delivery"
	"github.com/deliverability-exporter/deliverability_exporter/web"
)

// docTable returns the rows of the markdown table after the heading in the
// document (skipTables tables after it skipped), as cells. The table must
// come before the next "## " heading.
func docTable(t *testing.T, doc document, heading string, skipTables int) [][]string {
	t.Helper()
	text := doc.text
	i := strings.Index(text, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("%s has no %q section", doc.name, heading)
	}
	var rows [][]string
	tables := 0
	inTable := false
	for _, line := range strings.Split(text[i+len(heading)+2:], "\n") {
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
	if len(rows) == 0 {
		t.Fatalf("%s has no table under %q", doc.name, heading)
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

// document is a markdown file of the repository: its path from the
// repository root and its text, led by a newline so that a heading on the
// first line is found like any other.
type document struct {
	name string
	text string
}

// readDoc reads a markdown file, named by its path from the repository root.
func readDoc(t *testing.T, name string) document {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	return document{name: name, text: "\n" + string(data)}
}

// The documents that hold the catalogues the tests below keep true.
const (
	checksDoc  = "docs/checks.md"   // the check table, under "## Checks"
	metricsDoc = "docs/metrics.md"  // the /probe and /metrics tables, under "# Metrics"
	configDoc  = "CONFIGURATION.md" // the module settings, under "## Modules"
)

// TestREADMECatalogue keeps the check table of docs/checks.md and the
// metric tables of docs/metrics.md equal to what the code declares.
func TestREADMECatalogue(t *testing.T) {
	checksMD, metricsMD := readDoc(t, checksDoc), readDoc(t, metricsDoc)
	checks, metrics := collector.Catalogue()

	want := map[string]string{}
	for _, c := range checks {
		want[c.ID] = string(c.Level)
	}
	got := map[string]string{}
	for _, row := range docTable(t, checksMD, "## Checks", 0) {
		got[codeCell(row[0])] = row[1]
	}
	if !mapsEqual(got, want) {
		t.Errorf("%s checks table:\n got %v\nwant %v", checksDoc, got, want)
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
	for _, row := range docTable(t, metricsMD, "# Metrics", 0) {
		name := codeCell(row[0])
		gotMetrics = append(gotMetrics, name)
		if row[1] != labels[name] {
			t.Errorf("%s: %s labels %q, code %q", metricsDoc, name, row[1], labels[name])
		}
	}
	sort.Strings(wantMetrics)
	sort.Strings(gotMetrics)
	if !slices.Equal(gotMetrics, wantMetrics) {
		t.Errorf("%s /probe metrics:\n got %v\nwant %v", metricsDoc, gotMetrics, wantMetrics)
	}

	// The exporter's own metrics: what the collector registers, plus the
	// build info the command adds.
	reg := prometheus.NewRegistry()
	self0 := web.NewSelfMetrics(reg)
	self0.ProbesTotal.WithLabelValues(config.DefaultModuleName, "success") // vectors show once they have a child
	if _, err := collector.NewEngine("", log.NewNopLogger(), reg); err != nil {
		t.Fatal(err)
	}
	// The build info the command adds (its labels are version.Collector's,
	// which the table names up to "…"), and the metrics that have no
	// sample until there is something to say.
	self := []string{"deliverability_exporter_build_info"}
	selfLabels := map[string][]string{"deliverability_exporter_build_info": {"version", "revision", "branch", "goversion"}}
	for name, labels := range collector.SparseSelfMetrics {
		self = append(self, name)
		selfLabels[name] = labels
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	// The label values a fresh registry already has (the rejection
	// reasons, the politeness bounds), which the table must name; module
	// and zone values are the config's.
	selfValues := map[string][]string{}
	for _, mf := range mfs {
		self = append(self, mf.GetName())
		for _, lp := range mf.GetMetric()[0].GetLabel() {
			selfLabels[mf.GetName()] = append(selfLabels[mf.GetName()], lp.GetName())
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() != "module" && lp.GetName() != "zone" {
					selfValues[mf.GetName()] = append(selfValues[mf.GetName()], lp.GetValue())
				}
			}
		}
	}
	var documented []string
	for _, row := range docTable(t, metricsMD, "# Metrics", 1) {
		name := codeCell(row[0])
		documented = append(documented, name)
		for _, v := range selfValues[name] {
			if !strings.Contains(row[2], "`"+v+"`") {
				t.Errorf("%s: %s does not name the label value %q", metricsDoc, name, v)
			}
		}
		var want []string
		for _, l := range selfLabels[name] {
			want = append(want, "`"+l+"`")
		}
		if name == "deliverability_exporter_build_info" {
			want = append(want, "…")
		}
		if got := strings.Join(want, ", "); row[1] != got {
			t.Errorf("%s: %s labels %q, code %q", metricsDoc, name, row[1], got)
		}
	}
	sort.Strings(self)
	sort.Strings(documented)
	if !slices.Equal(self, documented) {
		t.Errorf("%s /metrics table:\n got %v\nwant %v", metricsDoc, documented, self)
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
// Go structs' yaml tags) is documented in the module settings table of
// CONFIGURATION.md and shown in config.example.yml, and that nothing else is
// documented.
func TestREADMEConfigKeys(t *testing.T) {
	conf := readDoc(t, configDoc)
	documented := map[string]bool{}
	for _, row := range docTable(t, conf, "## Modules", 0) {
		documented[strings.TrimPrefix(codeCell(row[0]), "modules.<name>.")] = true
	}
	example, err := os.ReadFile(filepath.Join("..", "config.example.yml"))
	if err != nil {
		t.Fatal(err)
	}
	keys := yamlKeys(reflect.TypeOf(config.Module{}), "")
	for _, key := range keys {
		if !documented[key] {
			t.Errorf("%s does not document modules.<name>.%s", configDoc, key)
		}
		last := key[strings.LastIndex(key, ".")+1:]
		if !strings.Contains(string(example), " "+last+":") {
			t.Errorf("config.example.yml does not show %s", key)
		}
		delete(documented, key)
	}
	for key := range documented {
		t.Errorf("%s documents modules.<name>.%s, which the code does not accept", configDoc, key)
	}
}

// yamlKeys lists the yaml keys of a struct; probe blocks (pointers to
// structs) and nested settings (limits) are listed by their inner keys.
func yamlKeys(typ reflect.Type, prefix string) []string {
	var out []string
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		tag, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if f.IsExported() && opts == "inline" {
			out = append(out, yamlKeys(f.Type, prefix)...)
			continue
		}
		if !f.IsExported() || tag == "" || tag == "-" {
			continue
		}
		if f.Type.Kind() == reflect.Pointer && f.Type.Elem().Kind() == reflect.Struct {
			out = append(out, yamlKeys(f.Type.Elem(), prefix+tag+".")...)
			continue
		}
		if f.Type.Kind() == reflect.Struct {
			out = append(out, yamlKeys(f.Type, prefix+tag+".")...)
			continue
		}
		out = append(out, prefix+tag)
	}
	return out
}

// readmeMaxBytes bounds README.md: one page a newcomer reads; the reference
// lives in CONFIGURATION.md and docs/.
const readmeMaxBytes = 20480

// TestREADMESize keeps README.md under 20 KB.
func TestREADMESize(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if len(data) >= readmeMaxBytes {
		t.Errorf("README.md is %d bytes, more than %d: move reference material to CONFIGURATION.md or docs/", len(data), readmeMaxBytes)
	}
}

var (
	mdFenceRE   = regexp.MustCompile("(?ms)^```.*?^```")
	mdCodeRE    = regexp.MustCompile("`[^`\n]*`")
	mdLinkRE    = regexp.MustCompile(`\]\(([^()\s]+)\)`)
	mdHeadingRE = regexp.MustCompile(`(?m)^#{1,6} +(.+?) *$`)
	mdSlugDrop  = regexp.MustCompile(`[^\p{L}\p{N} _-]`)
)

// mdAnchors returns the anchors GitHub gives the headings of a markdown
// text: lower case, punctuation dropped, spaces as hyphens, "-1", "-2", …
// appended to repeats.
func mdAnchors(text string) map[string]bool {
	anchors := map[string]bool{}
	seen := map[string]int{}
	for _, m := range mdHeadingRE.FindAllStringSubmatch(mdFenceRE.ReplaceAllString(text, ""), -1) {
		slug := strings.ReplaceAll(mdSlugDrop.ReplaceAllString(strings.ToLower(m[1]), ""), " ", "-")
		if n := seen[slug]; n > 0 {
			anchors[slug+"-"+strconv.Itoa(n)] = true
		} else {
			anchors[slug] = true
		}
		seen[slug]++
	}
	return anchors
}

// TestDocsLinks checks that every relative link in README.md,
// CONFIGURATION.md and docs/*.md points at a file that exists and, into a
// markdown file, at a heading it has.
func TestDocsLinks(t *testing.T) {
	root := ".."
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	docs = append([]string{filepath.Join(root, "README.md"), filepath.Join(root, "CONFIGURATION.md")}, docs...)
	links := 0
	for _, doc := range docs {
		name, _ := filepath.Rel(root, doc) // for the messages
		data, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		text := mdCodeRE.ReplaceAllString(mdFenceRE.ReplaceAllString(string(data), ""), "")
		for _, m := range mdLinkRE.FindAllStringSubmatch(text, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			links++
			path, anchor, _ := strings.Cut(target, "#")
			file := doc
			if path != "" {
				file = filepath.Join(filepath.Dir(doc), filepath.FromSlash(path))
				if _, err := os.Stat(file); err != nil {
					t.Errorf("%s links to %s, which does not exist", name, target)
					continue
				}
			}
			if anchor == "" || !strings.HasSuffix(file, ".md") {
				continue
			}
			linked, err := os.ReadFile(file)
			if err != nil {
				t.Errorf("%s links to %s: %v", name, target, err)
				continue
			}
			if !mdAnchors(string(linked))[anchor] {
				t.Errorf("%s links to %s: the file has no heading with the anchor #%s", name, target, anchor)
			}
		}
	}
	if links == 0 {
		t.Error("no relative links found: the test does not read the documents")
	}
}

// descriptiveDefaults are the settings whose documented default is a
// description, not a value the code holds: the code computes it per request.
var descriptiveDefaults = map[string]bool{
	"delivery.from": true, // deliverability-probe@<target>
}

// TestConfigurationDefaults holds the default column of CONFIGURATION.md's
// module table and smtp_politeness table to the code: every default written
// as a value (a code span) must decode, as the file would, to what
// config.Default() holds (for the opt-in delivery block, what its empty
// block holds). Defaults written as prose ("(required)") are not compared.
func TestConfigurationDefaults(t *testing.T) {
	conf := readDoc(t, configDoc)
	def, err := config.Default()
	if err != nil {
		t.Fatal(err)
	}
	module := *def.Modules[config.DefaultModuleName]
	deliveryDefaults := delivery.DefaultConfig()
	module.Delivery = &deliveryDefaults

	compared := 0
	compare := func(table string, root reflect.Value, rows [][]string, prefix string) {
		for _, row := range rows {
			key, ok := strings.CutPrefix(codeCell(row[0]), prefix)
			documented := codeCell(row[1])
			if !ok || documented == "" || descriptiveDefaults[key] {
				continue
			}
			field, err := yamlField(root, key)
			if err != nil {
				t.Errorf("%s %s: %v", table, row[0], err)
				continue
			}
			parsed := reflect.New(field.Type())
			if err := yaml.Unmarshal([]byte(documented), parsed.Interface()); err != nil {
				t.Errorf("%s %s: the documented default %s does not parse: %v", table, row[0], documented, err)
				continue
			}
			if !sameValue(parsed.Elem(), field) {
				t.Errorf("%s %s: documented default %s, the code's is %v", table, row[0], documented, field.Interface())
			}
			compared++
		}
	}
	compare(configDoc+" ## Modules", reflect.ValueOf(module), docTable(t, conf, "## Modules", 0), "modules.<name>.")
	fleets := docTable(t, conf, "## Fleets", 0)
	compare(configDoc+" ## Fleets", reflect.ValueOf(*def), fleets, "")
	// The politeness table documents every key of the block.
	documented := map[string]bool{}
	for _, row := range fleets {
		documented[codeCell(row[0])] = true
	}
	for _, key := range yamlKeys(reflect.TypeOf(def.SMTPPoliteness), "smtp_politeness.") {
		if !documented[key] {
			t.Errorf("%s ## Fleets does not document %s", configDoc, key)
		}
	}
	if compared < 40 {
		t.Errorf("only %d defaults compared: the test no longer reads the tables", compared)
	}
}

// yamlField finds the value a dotted yaml key (limits.mx_hosts) names in a
// struct, through inline structs and probe blocks (pointers).
func yamlField(v reflect.Value, key string) (reflect.Value, error) {
	for _, part := range strings.Split(key, ".") {
		found, ok := yamlChild(v, part)
		if !ok {
			return reflect.Value{}, fmt.Errorf("%s: no field with the yaml key %q", v.Type(), part)
		}
		v = found
		if v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return reflect.Value{}, fmt.Errorf("%s is nil in the default", part)
			}
			v = v.Elem()
		}
	}
	return v, nil
}

func yamlChild(v reflect.Value, key string) (reflect.Value, bool) {
	typ := v.Type()
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		if !f.IsExported() {
			continue
		}
		tag, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if opts == "inline" {
			if found, ok := yamlChild(v.Field(i), key); ok {
				return found, true
			}
			continue
		}
		if tag == key {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}

// sameValue is reflect.DeepEqual, with an empty list or map equal to none
// (`[]` in the document, nil in the code).
func sameValue(a, b reflect.Value) bool {
	switch a.Kind() {
	case reflect.Slice, reflect.Map:
		if a.Len() == 0 && b.Len() == 0 {
			return true
		}
	}
	return reflect.DeepEqual(a.Interface(), b.Interface())
}

var (
	// metricNameRE finds the exporter's metric names, and a trailing *
	// that makes one a family prefix (deliverability_exporter_smtp_connection*).
	metricNameRE = regexp.MustCompile(`\b((?:mail|probe|deliverability_exporter)_[a-z0-9_]*[a-z0-9])(\*?)`)
	// checkShapedRE is an inline code span shaped like a check id or a
	// probe's setting: a probe's name, a dot, words.
	checkShapedRE = regexp.MustCompile(`^([a-z]+)\.[a-z0-9_]+(?:\.[a-z0-9_]+)*$`)
	// domainLikeRE tells a domain name from a check id.
	domainLikeRE = regexp.MustCompile(`\.(?:com|net|org|example|test|invalid)$|\._`)
)

// TestDocsNameWhatExists: every metric name the documentation, the example
// configurations and the Prometheus examples mention is one the exporter
// exports (on /probe, /metrics or, with the receiver on, /metrics), and
// every inline `probe.word` of the documentation is a check id or a
// module setting. The catalogue tables are held to the code above; this
// holds the prose, the runbook's queries and the examples, where a renamed
// metric or check would otherwise live on.
func TestDocsNameWhatExists(t *testing.T) {
	cat, err := assets.LoadCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	metrics := map[string]bool{}
	for name := range cat.Metrics {
		metrics[name] = true
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(receiver.New(receiver.Config{}))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		metrics[mf.GetName()] = true
	}
	probeNames := map[string]bool{}
	for _, name := range config.BlockNames() {
		probeNames[name] = true
	}
	for id := range cat.Checks {
		probeNames[strings.SplitN(id, ".", 2)[0]] = true
	}
	settings := map[string]bool{}
	for _, key := range yamlKeys(reflect.TypeOf(config.Module{}), "") {
		// smtp.egress_check.addresses, and smtp.egress_check
		parts := strings.Split(key, ".")
		for i := range parts {
			settings[strings.Join(parts[:i+1], ".")] = true
		}
	}

	files, err := filepath.Glob(filepath.Join("..", "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, pattern := range []string{"README.md", "CONFIGURATION.md", "config.example.yml", "examples/*.*", "examples/fleet/*"} {
		more, err := filepath.Glob(filepath.Join("..", filepath.FromSlash(pattern)))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, more...)
	}
	names, spans := 0, 0
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		name, _ := filepath.Rel("..", file)
		text := string(data)
		for _, m := range metricNameRE.FindAllStringSubmatch(text, -1) {
			names++
			if m[2] == "*" {
				found := false
				for known := range metrics {
					found = found || strings.HasPrefix(known, m[1])
				}
				if !found {
					t.Errorf("%s names the metrics %s*, and there are none", name, m[1])
				}
			} else if !metrics[m[1]] {
				t.Errorf("%s names the metric %s, which the exporter does not export", name, m[1])
			}
		}
		if !strings.HasSuffix(file, ".md") {
			continue
		}
		for _, m := range mdCodeRE.FindAllString(mdFenceRE.ReplaceAllString(text, ""), -1) {
			span := strings.Trim(m, "`")
			sm := checkShapedRE.FindStringSubmatch(span)
			if sm == nil || !probeNames[sm[1]] || domainLikeRE.MatchString(span) {
				continue
			}
			spans++
			if _, ok := cat.Checks[span]; !ok && !settings[span] {
				t.Errorf("%s names `%s`, which is neither a check nor a module setting", name, span)
			}
		}
	}
	t.Logf("%d metric names, %d check ids and settings", names, spans)
	if names < 100 || spans < 100 {
		t.Errorf("%d metric names and %d check ids found: the test no longer reads the documents", names, spans)
	}
}

var fuzzFuncRE = regexp.MustCompile(`(?m)^func (Fuzz[A-Za-z0-9_]*)\(f \*testing\.F\)`)

// TestFuzzTargetsListed keeps docs/reliability.md's table of fuzz targets
// equal to the Fuzz functions of the tree, each in its package, and its
// commands naming targets that exist there: `go test -fuzz` with a name
// that matches nothing passes without fuzzing anything.
func TestFuzzTargetsListed(t *testing.T) {
	inCode := map[string]bool{} // "probes/spf FuzzParse"
	err := filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != ".." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		pkg, _ := filepath.Rel("..", filepath.Dir(path))
		for _, m := range fuzzFuncRE.FindAllStringSubmatch(string(data), -1) {
			inCode[filepath.ToSlash(pkg)+" "+m[1]] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(inCode) < 10 {
		t.Fatalf("%d fuzz targets found: the walk does not see the tree", len(inCode))
	}

	doc := readDoc(t, "docs/reliability.md")
	listed := map[string]bool{}
	for _, line := range strings.Split(doc.text, "\n") {
		cells := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), "|")
		if !strings.HasPrefix(strings.TrimSpace(line), "| `Fuzz") || len(cells) < 2 {
			continue
		}
		for _, target := range mdCodeRE.FindAllString(cells[0], -1) {
			if !strings.HasPrefix(target, "`Fuzz") {
				continue
			}
			for _, pkg := range mdCodeRE.FindAllString(cells[1], -1) {
				listed[strings.Trim(pkg, "`")+" "+strings.Trim(target, "`")] = true
			}
		}
	}
	for key := range inCode {
		if !listed[key] {
			t.Errorf("docs/reliability.md's fuzz table lacks %s", key)
		}
	}
	for key := range listed {
		if !inCode[key] {
			t.Errorf("docs/reliability.md's fuzz table lists %s, which does not exist", key)
		}
	}
	commands := regexp.MustCompile(`go test -run=\^\$ -fuzz=(Fuzz\w+)(?: -parallel=1)? \./([a-z0-9/]+)/`).FindAllStringSubmatch(doc.text, -1)
	if len(commands) == 0 {
		t.Error("docs/reliability.md shows no fuzz command")
	}
	for _, m := range commands {
		if !inCode[m[2]+" "+m[1]] {
			t.Errorf("docs/reliability.md: go test -fuzz=%s ./%s/ fuzzes nothing: there is no such target there", m[1], m[2])
		}
	}
}
