// Package tagvalue parses the tag=value lists of RFC 6376 §3.2, the syntax
// DKIM key records and DMARC records (RFC 7489 §6.4) share (the MTA-STS and
// TLS-RPT TXT records look alike but have a grammar of their own, read by
// probes/txtfields):
//
//	tag-list  =  tag-spec *( ";" tag-spec ) [ ";" ]
//	tag-spec  =  [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS]
//	tag-name  =  ALPHA *ALNUMPUNC
//	tag-value =  [ tval *( 1*(WSP / FWS) tval ) ]
//	tval      =  1*VALCHAR
//	VALCHAR   =  %x21-3A / %x3C-7E
//	ALNUMPUNC =  ALPHA / DIGIT / "_"
//
// The parser is strict where the grammar is (an empty tag-spec between two
// semicolons, a tag without "=", a character outside VALCHAR, a duplicate
// tag name are errors) and keeps what callers need to explain a record: the
// tags in the order written, each with its byte offset.
package tagvalue

import (
	"fmt"
	"strings"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

// Tag is one tag=value pair.
type Tag struct {
	// Name is the tag name as written (tag names are case-sensitive,
	// RFC 6376 §3.2).
	Name string
	// Value is the value without the whitespace around it; whitespace
	// inside it (between tvals) is kept as written.
	Value string
	// Pos is the byte offset of the name in the parsed text, ValuePos that
	// of the value (where it would start when it is empty).
	Pos, ValuePos int
}

// List is a parsed tag-list.
type List struct {
	// Tags are in the order written.
	Tags []Tag
	// TrailingSemicolon is true when the list ends with the optional ";".
	TrailingSemicolon bool
}

// Get returns the tag with the given name (compared exactly).
func (l *List) Get(name string) (Tag, bool) {
	for _, t := range l.Tags {
		if t.Name == name {
			return t, true
		}
	}
	return Tag{}, false
}

// Value returns the value of the named tag, or "" when it is absent.
func (l *List) Value(name string) string {
	t, _ := l.Get(name)
	return t.Value
}

// Has reports whether the named tag is present.
func (l *List) Has(name string) bool {
	_, ok := l.Get(name)
	return ok
}

// Names returns the tag names in order.
func (l *List) Names() []string {
	out := make([]string, len(l.Tags))
	for i, t := range l.Tags {
		out[i] = t.Name
	}
	return out
}

// String renders the list in canonical form: "a=1; b=2".
func (l *List) String() string {
	parts := make([]string, len(l.Tags))
	for i, t := range l.Tags {
		parts[i] = t.Name + "=" + t.Value
	}
	return strings.Join(parts, "; ")
}

// SyntaxError says where and why a text is not a tag-list.
type SyntaxError struct {
	Pos int // byte offset
	Msg string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("tag-list syntax error at byte %d: %s", e.Pos, e.Msg)
}

// Parse parses s as a tag-list. Whitespace is SP and HTAB; folding
// (CRLF followed by whitespace) counts as whitespace too, as FWS does in
// RFC 6376 §2.8, though DNS TXT data rarely carries it.
func Parse(s string) (*List, error) {
	p := parser{s: s}
	return p.list()
}

type parser struct {
	s string
	i int
}

func (p *parser) errorf(pos int, format string, args ...any) error {
	return &SyntaxError{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// skipFWS skips whitespace, including folded line breaks. A bare CR or
// LF not followed by whitespace is not FWS and is left in place.
func (p *parser) skipFWS() {
	for p.i < len(p.s) {
		switch c := p.s[p.i]; {
		case c == ' ' || c == '\t':
			p.i++
		case c == '\r' && p.i+2 < len(p.s) && p.s[p.i+1] == '\n' && isWSP(p.s[p.i+2]):
			p.i += 3
		case c == '\n' && p.i+1 < len(p.s) && isWSP(p.s[p.i+1]):
			// A lone LF before whitespace: lenient reading of FWS, as
			// zone tools strip the CR.
			p.i += 2
		default:
			return
		}
	}
}

func (p *parser) list() (*List, error) {
	l := &List{}
	seen := map[string]int{}
	for {
		p.skipFWS()
		if p.i == len(p.s) {
			// Only on the first pass: after a ";" the end is checked below.
			return nil, p.errorf(p.i, "no tags")
		}
		if p.s[p.i] == ';' {
			return nil, p.errorf(p.i, "empty tag between two semicolons")
		}
		t, err := p.tag()
		if err != nil {
			return nil, err
		}
		if first, dup := seen[t.Name]; dup {
			// RFC 6376 §3.2: a duplicate tag name invalidates the whole
			// tag-list.
			return nil, p.errorf(t.Pos, "tag %q appears twice (first at byte %d)", t.Name, first)
		}
		seen[t.Name] = t.Pos
		l.Tags = append(l.Tags, t)
		if p.i == len(p.s) {
			return l, nil
		}
		// tag() stops only at the end or at ";".
		p.i++
		p.skipFWS()
		if p.i == len(p.s) {
			l.TrailingSemicolon = true
			return l, nil
		}
	}
}

// tag reads one tag-spec up to (not including) the next ";" or the end.
func (p *parser) tag() (Tag, error) {
	start := p.i
	if !isAlpha(p.s[p.i]) {
		return Tag{}, p.errorf(p.i, "tag name starts with %s; it must start with a letter", probes.DescribeByte(p.s[p.i]))
	}
	for p.i < len(p.s) && isAlnumPunc(p.s[p.i]) {
		p.i++
	}
	t := Tag{Name: p.s[start:p.i], Pos: start}
	p.skipFWS()
	if p.i == len(p.s) || p.s[p.i] != '=' {
		if p.i == len(p.s) || p.s[p.i] == ';' {
			return Tag{}, p.errorf(start, "tag %q has no \"=\"", t.Name)
		}
		return Tag{}, p.errorf(p.i, "%s in tag name %q", probes.DescribeByte(p.s[p.i]), t.Name)
	}
	p.i++ // "="
	p.skipFWS()
	t.ValuePos = p.i
	// The value is tvals separated by whitespace; whitespace at its end
	// belongs to the tag-spec, not to the value.
	end := p.i
	for p.i < len(p.s) && p.s[p.i] != ';' {
		c := p.s[p.i]
		switch {
		case isValChar(c):
			p.i++
			end = p.i
		case isWSP(c) || c == '\r' || c == '\n':
			before := p.i
			p.skipFWS()
			if p.i == before {
				return Tag{}, p.errorf(p.i, "%s in the value of %q (a line break must be followed by whitespace)", probes.DescribeByte(c), t.Name)
			}
		default:
			return Tag{}, p.errorf(p.i, "%s in the value of %q", probes.DescribeByte(c), t.Name)
		}
	}
	t.Value = p.s[t.ValuePos:end]
	return t, nil
}

func isWSP(c byte) bool       { return c == ' ' || c == '\t' }
func isAlpha(c byte) bool     { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool     { return c >= '0' && c <= '9' }
func isAlnumPunc(c byte) bool { return isAlpha(c) || isDigit(c) || c == '_' }
func isValChar(c byte) bool   { return c >= 0x21 && c <= 0x7e && c != ';' }

// SplitList splits a colon- or comma-separated value (DKIM h=, s=, t=;
// DMARC fo=, rf=, rua=) at sep, trimming whitespace around each element.
// An empty value gives no elements; empty elements are kept so callers can
// reject "a::b".
func SplitList(value string, sep byte) []string {
	if strings.TrimSpace(value) == "" {
		return nil
	}
	parts := strings.Split(value, string(sep))
	for i, p := range parts {
		parts[i] = TrimWSP(p)
	}
	return parts
}

// TrimWSP removes spaces, tabs and line breaks at both ends.
func TrimWSP(s string) string { return strings.Trim(s, " \t\r\n") }

// StripWSP removes every space, tab and line break, as base64 values with
// FWS inside them (DKIM p=, RFC 6376 §3.6.1) are decoded.
func StripWSP(s string) string {
	if !strings.ContainsAny(s, " \t\r\n") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\r', '\n':
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}
