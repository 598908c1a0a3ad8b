package collector

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/common/expfmt"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

// ExpositionContentType is the Content-Type of WriteExposition's answer:
// the Prometheus text format, version 0.0.4.
var ExpositionContentType = string(expfmt.NewFormat(expfmt.TypeTextPlain))

// WriteExposition writes the report's metrics in the Prometheus text format
// (0.0.4), byte for byte what Registry gathered and expfmt encoded would
// write: the families sorted by name, each with its HELP and TYPE lines,
// its samples sorted by their label values, labels by name. It is what
// /probe answers with: a fleet's exporter writes hundreds of answers a
// second, and building a registry for each was an eighth of its CPU (the
// descriptors, the constant metrics, their protobuf form, and the garbage
// of all of them). A sample that repeats an earlier one's name and labels,
// or whose label values are not UTF-8, is left out, and the error says so,
// as Registry's does.
func (r *Report) WriteExposition(w io.Writer) error {
	type sample struct {
		values []string // the label values in the order of their sorted names
		given  []string // the label values as recorded, for errors
		value  float64
	}
	type family struct {
		spec    *probes.MetricSpec
		order   []int // label indexes, by name
		samples []sample
	}
	families := map[string]*family{}
	var dropped []string
	for _, s := range r.samples() {
		f, ok := families[s.Spec.Name]
		if ok && f.spec != s.Spec {
			dropped = append(dropped, s.Spec.Name+" (declared twice)")
			continue
		}
		if len(s.LabelValues) != len(s.Spec.Labels) {
			dropped = append(dropped, fmt.Sprintf("%s%v (wrong number of labels)", s.Spec.Name, s.LabelValues))
			continue
		}
		valid := true
		for _, v := range s.LabelValues {
			valid = valid && utf8.ValidString(v)
		}
		if !valid {
			dropped = append(dropped, fmt.Sprintf("%s%q (label value not UTF-8)", s.Spec.Name, s.LabelValues))
			continue
		}
		if !ok {
			f = &family{spec: s.Spec, order: labelOrder(s.Spec.Labels)}
			families[s.Spec.Name] = f
		}
		values := s.LabelValues
		if !sort.IntsAreSorted(f.order) {
			values = make([]string, len(f.order))
			for i, j := range f.order {
				values[i] = s.LabelValues[j]
			}
		}
		f.samples = append(f.samples, sample{values: values, given: s.LabelValues, value: s.Value})
	}

	names := make([]string, 0, len(families))
	for n := range families {
		names = append(names, n)
	}
	sort.Strings(names)
	bw, buffered := w.(*bytes.Buffer)
	var out *bufio.Writer
	if !buffered {
		out = bufio.NewWriterSize(w, 4096)
	}
	write := func(s string) {
		if buffered {
			bw.WriteString(s)
		} else {
			out.WriteString(s)
		}
	}
	for _, n := range names {
		f := families[n]
		// Stable, so of samples with the same labels the first recorded
		// comes first and is the one kept, as Registry keeps it.
		sort.SliceStable(f.samples, func(i, j int) bool {
			a, b := f.samples[i].values, f.samples[j].values
			for k := range a {
				if a[k] != b[k] {
					return a[k] < b[k]
				}
			}
			return false
		})
		write("# HELP " + n + " " + escapeHelp(f.spec.Help) + "\n# TYPE " + n + " gauge\n")
		for i, s := range f.samples {
			if i > 0 && slices.Equal(s.values, f.samples[i-1].values) {
				dropped = append(dropped, fmt.Sprintf("%s%v", n, s.given))
				continue
			}
			write(n)
			for k, v := range s.values {
				if k == 0 {
					write("{")
				} else {
					write(",")
				}
				write(f.spec.Labels[f.order[k]] + `="` + escapeLabel(v) + `"`)
			}
			if len(s.values) > 0 {
				write("}")
			}
			write(" " + formatValue(s.value) + "\n")
		}
	}
	if !buffered {
		if err := out.Flush(); err != nil {
			return err
		}
	}
	if len(dropped) > 0 {
		sort.Strings(dropped)
		return fmt.Errorf("samples dropped: %s", strings.Join(dropped, ", "))
	}
	return nil
}

// labelOrder returns the indexes of labels sorted by name: the order the
// text format writes them in, and samples sort by.
func labelOrder(names []string) []int {
	idx := make([]int, len(names))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return names[idx[a]] < names[idx[b]] })
	return idx
}

var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

func escapeHelp(s string) string { return helpEscaper.Replace(s) }

func escapeLabel(s string) string { return labelEscaper.Replace(s) }

// formatValue writes a float as the text format does.
func formatValue(v float64) string {
	switch {
	case v == 1:
		return "1"
	case v == 0:
		return "0"
	case v == -1:
		return "-1"
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, +1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
