package assets

import (
	"fmt"
	"sort"
	"strings"
)

// Selector is one vector selector of a PromQL expression: a metric name
// and the label names its matchers use.
type Selector struct {
	Metric string
	Labels []string
	// Range is the range of a range-vector selector ("15m"), empty for an
	// instant-vector selector.
	Range string
}

// promqlWords are the identifiers that are not metric names when they are
// not followed by "(": operators and modifiers. Functions and aggregations
// are recognised by the "(" (or the by/without clause) that follows them.
var promqlWords = map[string]bool{
	"and": true, "or": true, "unless": true, "bool": true, "offset": true,
	"by": true, "without": true, "on": true, "ignoring": true,
	"group_left": true, "group_right": true, "atan2": true,
	"inf": true, "nan": true, "start": true, "end": true,
}

// aggregations may be followed by a by/without clause before their "(".
var aggregations = map[string]bool{
	"sum": true, "min": true, "max": true, "avg": true, "group": true,
	"stddev": true, "stdvar": true, "count": true, "count_values": true,
	"bottomk": true, "topk": true, "quantile": true,
}

type token struct {
	kind byte // 'i' identifier, 's' string, 'n' number or duration, 'p' punctuation
	text string
}

// lex splits a PromQL expression into the tokens the selector scan needs.
// It knows strings (with escapes), identifiers (with colons), numbers and
// durations, comments, and treats everything else as one-character
// punctuation, except the two-character matchers and comparisons.
func lex(expr string) ([]token, error) {
	var out []token
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '#':
			for i < len(expr) && expr[i] != '\n' {
				i++
			}
		case c == '"' || c == '\'' || c == '`':
			j := i + 1
			for ; j < len(expr) && expr[j] != c; j++ {
				if expr[j] == '\\' && c != '`' {
					j++
				}
			}
			if j >= len(expr) {
				return nil, fmt.Errorf("unterminated string at offset %d", i)
			}
			out = append(out, token{'s', expr[i+1 : j]})
			i = j + 1
		case isIdentStart(c):
			j := i + 1
			for j < len(expr) && (isIdentStart(expr[j]) || isDigit(expr[j])) {
				j++
			}
			out = append(out, token{'i', expr[i:j]})
			i = j
		case isDigit(c) || (c == '.' && i+1 < len(expr) && isDigit(expr[i+1])):
			j := i + 1
			for j < len(expr) && (isDigit(expr[j]) || isIdentStart(expr[j]) || expr[j] == '.' ||
				((expr[j] == '+' || expr[j] == '-') && (expr[j-1] == 'e' || expr[j-1] == 'E'))) {
				j++
			}
			out = append(out, token{'n', expr[i:j]})
			i = j
		default:
			if i+1 < len(expr) {
				two := expr[i : i+2]
				switch two {
				case "=~", "!~", "!=", "==", ">=", "<=":
					out = append(out, token{'p', two})
					i += 2
					continue
				}
			}
			out = append(out, token{'p', string(c)})
			i++
		}
	}
	return out, nil
}

func isIdentStart(c byte) bool {
	return c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// Selectors returns the vector selectors of a PromQL expression, in order.
// It is not a PromQL parser; it knows enough of the grammar to tell metric
// names from functions, keywords, label names in matchers and grouping
// clauses, and durations, which is what the structural tests need.
func Selectors(expr string) ([]Selector, error) {
	toks, err := lex(expr)
	if err != nil {
		return nil, err
	}
	var out []Selector
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch {
		case t.kind == 'p' && t.text == "[":
			// Range or subquery: durations only.
			for i < len(toks) && !(toks[i].kind == 'p' && toks[i].text == "]") {
				i++
			}
		case t.kind == 'p' && t.text == "{":
			// A selector without a metric name: {__name__="..."}.
			sel, next, err := matchers(toks, i)
			if err != nil {
				return nil, err
			}
			sel.Range, i = rangeAfter(toks, next)
			out = append(out, sel)
		case t.kind == 'i':
			next := peek(toks, i+1)
			word := strings.ToLower(t.text)
			switch {
			case word == "by" || word == "without" || word == "on" || word == "ignoring" ||
				word == "group_left" || word == "group_right":
				if next.kind == 'p' && next.text == "(" {
					i = skipParens(toks, i+1)
				}
			case next.kind == 'p' && next.text == "(":
				// A function or an aggregation.
			case aggregations[word] && next.kind == 'i' && (strings.EqualFold(next.text, "by") || strings.EqualFold(next.text, "without")):
			case promqlWords[word]:
			case i > 0 && toks[i-1].kind == 'p' && toks[i-1].text == "@":
			default:
				sel := Selector{Metric: t.text}
				if next.kind == 'p' && next.text == "{" {
					m, end, err := matchers(toks, i+1)
					if err != nil {
						return nil, err
					}
					sel.Labels = m.Labels
					if m.Metric != "" {
						return nil, fmt.Errorf("%s: __name__ matcher besides the metric name", t.text)
					}
					i = end
				}
				sel.Range, i = rangeAfter(toks, i)
				out = append(out, sel)
			}
		}
	}
	return out, nil
}

// rangeAfter reads the range of the selector ending at i, if one follows,
// and returns it with the index of the selector's last token.
func rangeAfter(toks []token, i int) (string, int) {
	if next := peek(toks, i+1); next.kind != 'p' || next.text != "[" {
		return "", i
	}
	var b strings.Builder
	j := i + 2
	for ; j < len(toks) && !(toks[j].kind == 'p' && toks[j].text == "]"); j++ {
		b.WriteString(toks[j].text)
	}
	return b.String(), j
}

func peek(toks []token, i int) token {
	if i < len(toks) {
		return toks[i]
	}
	return token{}
}

// skipParens returns the index of the ")" closing the "(" at i.
func skipParens(toks []token, i int) int {
	depth := 0
	for ; i < len(toks); i++ {
		if toks[i].kind != 'p' {
			continue
		}
		switch toks[i].text {
		case "(":
			depth++
		case ")":
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return i
}

// matchers reads the label matchers of the "{" at i and returns them with
// the index of the closing "}". A __name__ equality matcher names the
// metric.
func matchers(toks []token, i int) (Selector, int, error) {
	var sel Selector
	for i++; i < len(toks); i++ {
		t := toks[i]
		if t.kind == 'p' && t.text == "}" {
			return sel, i, nil
		}
		if t.kind == 'p' && t.text == "," {
			continue
		}
		op, val := peek(toks, i+1), peek(toks, i+2)
		if t.kind != 'i' || op.kind != 'p' || val.kind != 's' {
			return sel, i, fmt.Errorf("malformed label matcher near %q", t.text)
		}
		switch op.text {
		case "=", "!=", "=~", "!~":
		default:
			return sel, i, fmt.Errorf("malformed label matcher %s%s", t.text, op.text)
		}
		if t.text == "__name__" && op.text == "=" {
			sel.Metric = val.text
		} else {
			sel.Labels = append(sel.Labels, t.text)
		}
		i += 2
	}
	return sel, i, fmt.Errorf("unterminated label matchers")
}

// MetricNames returns the metric names an expression selects, sorted and
// without duplicates.
func MetricNames(expr string) ([]string, error) {
	sels, err := Selectors(expr)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, s := range sels {
		if s.Metric != "" && !seen[s.Metric] {
			seen[s.Metric] = true
			out = append(out, s.Metric)
		}
	}
	sort.Strings(out)
	return out, nil
}
