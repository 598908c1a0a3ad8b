package collector

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
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
	samples := r.samples()
	var dropped []string
	specs := make(map[string]*probes.MetricSpec, 48)
	kept := samples[:0]
	for _, s := range samples {
		if spec, ok := specs[s.Spec.Name]; ok && spec != s.Spec {
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
		specs[s.Spec.Name] = s.Spec
		kept = append(kept, s)
	}
	// Stable, so of samples with the same labels the first recorded comes
	// first and is the one kept, as Registry keeps it.
	sort.SliceStable(kept, func(i, j int) bool { return compareSamples(kept[i], kept[j]) < 0 })

	var out expositionWriter
	if b, ok := w.(*bytes.Buffer); ok {
		out = b
	} else {
		out = bufio.NewWriterSize(w, 4096)
	}
	var scratch [32]byte
	for i, s := range kept {
		spec := s.Spec
		if i == 0 || kept[i-1].Spec.Name != spec.Name {
			out.WriteString("# HELP ")
			out.WriteString(spec.Name)
			out.WriteByte(' ')
			writeEscaped(out, helpEscaper, `\`+"\n", spec.Help)
			out.WriteString("\n# TYPE ")
			out.WriteString(spec.Name)
			out.WriteString(" gauge\n")
		} else if compareSamples(kept[i-1], s) == 0 {
			dropped = append(dropped, fmt.Sprintf("%s%v", spec.Name, s.LabelValues))
			continue
		}
		out.WriteString(spec.Name)
		order := labelOrder(spec)
		for k := range s.LabelValues {
			if k == 0 {
				out.WriteByte('{')
			} else {
				out.WriteByte(',')
			}
			j := k
			if order != nil {
				j = order[k]
			}
			out.WriteString(spec.Labels[j])
			out.WriteString(`="`)
			writeEscaped(out, labelEscaper, `\"`+"\n", s.LabelValues[j])
			out.WriteByte('"')
		}
		if len(s.LabelValues) > 0 {
			out.WriteByte('}')
		}
		out.WriteByte(' ')
		out.Write(appendValue(scratch[:0], s.Value))
		out.WriteByte('\n')
	}
	if bw, ok := out.(*bufio.Writer); ok {
		if err := bw.Flush(); err != nil {
			return err
		}
	}
	if len(dropped) > 0 {
		sort.Strings(dropped)
		return fmt.Errorf("samples dropped: %s", strings.Join(dropped, ", "))
	}
	return nil
}

// expositionWriter is what WriteExposition writes to: a bytes.Buffer or a
// bufio.Writer, whose errors only Flush reports.
type expositionWriter interface {
	io.Writer
	io.StringWriter
	io.ByteWriter
}

// compareSamples orders samples as the text format writes them: by family
// name, then by their label values with the labels sorted by name.
func compareSamples(a, b probes.Measurement) int {
	if c := strings.Compare(a.Spec.Name, b.Spec.Name); c != 0 || a.Spec != b.Spec {
		return c
	}
	order := labelOrder(a.Spec)
	for k := range a.LabelValues {
		j := k
		if order != nil {
			j = order[k]
		}
		if c := strings.Compare(a.LabelValues[j], b.LabelValues[j]); c != 0 {
			return c
		}
	}
	return 0
}

// labelOrders keeps labelOrder's answer per metric: the specs are few and
// live as long as the process.
var labelOrders sync.Map // *probes.MetricSpec → []int

// labelOrder returns the indexes of spec's labels sorted by name, the order
// the text format writes them in and samples sort by; nil when the labels
// are declared in that order.
func labelOrder(spec *probes.MetricSpec) []int {
	if len(spec.Labels) < 2 {
		return nil
	}
	if o, ok := labelOrders.Load(spec); ok {
		return o.([]int)
	}
	idx := make([]int, len(spec.Labels))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return spec.Labels[idx[a]] < spec.Labels[idx[b]] })
	if sort.IntsAreSorted(idx) {
		idx = nil
	}
	labelOrders.Store(spec, idx)
	return idx
}

var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

// writeEscaped writes s escaped by e, which replaces the bytes in special;
// most text has none of them and is written as it is.
func writeEscaped(out expositionWriter, e *strings.Replacer, special, s string) {
	if strings.ContainsAny(s, special) {
		_, _ = e.WriteString(out, s)
		return
	}
	out.WriteString(s)
}

// appendValue appends a float as the text format writes it.
func appendValue(dst []byte, v float64) []byte {
	switch {
	case v == 1:
		return append(dst, '1')
	case v == 0:
		return append(dst, '0')
	case v == -1:
		return append(dst, "-1"...)
	case math.IsNaN(v):
		return append(dst, "NaN"...)
	case math.IsInf(v, +1):
		return append(dst, "+Inf"...)
	case math.IsInf(v, -1):
		return append(dst, "-Inf"...)
	}
	return strconv.AppendFloat(dst, v, 'g', -1, 64)
}

// formatValue formats a float as the text format writes it.
func formatValue(v float64) string { return string(appendValue(nil, v)) }
