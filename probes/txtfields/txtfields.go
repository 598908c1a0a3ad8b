// Package txtfields reads the field lists of the two TXT records of SMTP
// transport security, MTA-STS (RFC 8461 §3.1) and TLS-RPT (RFC 8460 §3).
// After their version fields (v=STSv1, v=TLSRPTv1) both records are the
// same grammar, spelled out in each RFC under its own rule names:
//
//	record      = version 1*(field-delim field) [field-delim]
//	field-delim = *WSP ";" *WSP
//	field       = ext-name "=" ext-value
//	ext-name    = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
//	ext-value   = 1*(%x21-3A / %x3C / %x3E-7E)
//
// The fields each RFC defines narrow or widen ext-value, and their parsers
// judge those values themselves: MTA-STS's id= takes 1 to 32 letters and
// digits; TLS-RPT's rua= takes URIs separated by commas with white space
// around them, which its parser reads after Scanner.Name.
//
// The shared tag=value parser (probes/tagvalue, RFC 6376 §3.2) does not
// fit this grammar: it rejects extension names that start with a digit or
// hold "-" or ".", which both RFCs require receivers to accept and ignore,
// and it accepts white space around "=" and "=" inside values, which they
// do not.
//
// The name and byte classes are exported for the MTA-STS policy file
// (RFC 8461 §3.2), whose field names follow the same rule.
package txtfields

import (
	"fmt"
	"strings"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

// Field is one name=value pair.
type Field struct {
	Name, Value string
}

// Error says where and why a record breaks the grammar. Its message is one
// line.
type Error struct {
	Pos int // byte offset in the record
	Msg string
}

func (e *Error) Error() string { return e.Msg }

// HasVersion reports whether a TXT record begins with the version field
// (such as "v=STSv1"), matched case-sensitively, followed by a
// field-delim or nothing: the records receivers select. Both RFCs say
// records not beginning with the version and ";" are discarded, but their
// grammar allows white space before the ";" (RFC 8461 erratum 6285), so
// such records are selected too and left to the parser to judge.
func HasVersion(txt, version string) bool {
	if !strings.HasPrefix(txt, version) {
		return false
	}
	rest := txt[len(version):]
	return rest == "" || rest[0] == ';' || IsWSP(rest[0])
}

// Scanner reads the fields of one record. Set Text, Pos (the offset after
// the version field) and the message fields, then call Next before each
// field and Field, or Name and Value, to read it:
//
//	for {
//		more, err := sc.Next()
//		if err != nil { ... }
//		if !more { break }
//		f, err := sc.Field()
//		...
//	}
//
// What breaks the grammar is an *Error at the offending byte.
type Scanner struct {
	// Text is the record; Pos is the offset of the next byte to read.
	Text string
	Pos  int

	// The MTA-STS and TLS-RPT parsers word some errors differently; these
	// fields keep each record's wording rather than making one the other's.

	// TrailingSpace is the message for white space after the last field
	// (the grammar allows white space only around ";").
	TrailingSpace string
	// DescribeByte names a byte in messages; nil means
	// probes.DescribeByte.
	DescribeByte func(c byte) string
	// EmptyBeforeBadByte makes Value call a value empty when "=" is
	// followed by a byte a value may not hold (as in "a==b"), rather than
	// naming that byte.
	EmptyBeforeBadByte bool
}

// Errorf returns an *Error at the current position.
func (s *Scanner) Errorf(format string, args ...any) error {
	return &Error{Pos: s.Pos, Msg: fmt.Sprintf(format, args...)}
}

func (s *Scanner) describe(c byte) string {
	if s.DescribeByte != nil {
		return s.DescribeByte(c)
	}
	return probes.DescribeByte(c)
}

// last names what came before the current position, for messages.
func (s *Scanner) last() string {
	return fmt.Sprintf("%q", s.Text[max(0, s.Pos-20):s.Pos])
}

// Next reads the field-delim before a field and reports whether a field
// follows it. It reports false at the end of the record, after an optional
// final ";", and an error when something other than a field-delim follows
// the last field read.
func (s *Scanner) Next() (bool, error) {
	if !s.separator() {
		if s.Pos == len(s.Text) {
			return false, nil
		}
		if strings.TrimLeft(s.Text[s.Pos:], " \t") == "" {
			return false, &Error{Pos: s.Pos, Msg: s.TrailingSpace}
		}
		for IsWSP(s.Text[s.Pos]) {
			s.Pos++
		}
		return false, s.Errorf("%s after %s; fields are separated by \";\"", s.describe(s.Text[s.Pos]), s.last())
	}
	return s.Pos < len(s.Text), nil
}

// separator reads field-delim: *WSP ";" *WSP. Without a ";" it reads
// nothing, so white space after the last field is left for Next to judge.
func (s *Scanner) separator() bool {
	j := s.Pos
	for j < len(s.Text) && IsWSP(s.Text[j]) {
		j++
	}
	if j == len(s.Text) || s.Text[j] != ';' {
		return false
	}
	j++
	for j < len(s.Text) && IsWSP(s.Text[j]) {
		j++
	}
	s.Pos = j
	return true
}

// Field reads ext-name "=" ext-value. Call it only after Next reported a
// field.
func (s *Scanner) Field() (Field, error) {
	name, err := s.Name()
	if err != nil {
		return Field{}, err
	}
	value, err := s.Value(name)
	if err != nil {
		return Field{}, err
	}
	return Field{Name: name, Value: value}, nil
}

// Name reads ext-name and the "=" after it. Call it only after Next
// reported a field.
func (s *Scanner) Name() (string, error) {
	start := s.Pos
	for s.Pos < len(s.Text) && IsNameChar(s.Text[s.Pos], s.Pos == start) {
		s.Pos++
	}
	name := s.Text[start:s.Pos]
	switch {
	case name == "" && s.Text[s.Pos] == ';':
		return "", s.Errorf("empty field between two \";\"")
	case name == "":
		return "", s.Errorf("%s where a field name should start (a letter or digit)", s.describe(s.Text[s.Pos]))
	case len(name) > 32:
		return "", &Error{Pos: start, Msg: fmt.Sprintf("field name %q is %d characters long; names have at most 32", probes.Clip(name, 40), len(name))}
	case s.Pos == len(s.Text) || s.Text[s.Pos] != '=':
		if s.Pos < len(s.Text) && IsWSP(s.Text[s.Pos]) {
			return "", s.Errorf("whitespace after the field name %q; write %s=value without spaces", name, name)
		}
		if s.Pos == len(s.Text) || s.Text[s.Pos] == ';' {
			return "", s.Errorf("field %q has no \"=\"", name)
		}
		return "", s.Errorf("%s in the field name %q", s.describe(s.Text[s.Pos]), name)
	}
	s.Pos++ // "="
	return name, nil
}

// Value reads the ext-value of the field called name, up to the next
// field-delim or the end.
func (s *Scanner) Value(name string) (string, error) {
	start := s.Pos
	for s.Pos < len(s.Text) && IsValueChar(s.Text[s.Pos]) {
		s.Pos++
	}
	value := s.Text[start:s.Pos]
	atEnd := s.Pos == len(s.Text)
	switch {
	case value == "" && !atEnd && IsWSP(s.Text[s.Pos]):
		return "", s.Errorf("whitespace after %q; write %s=value without spaces", name+"=", name)
	case value == "" && (atEnd || s.Text[s.Pos] == ';' || s.EmptyBeforeBadByte):
		return "", s.Errorf("field %q has an empty value", name)
	case !atEnd && !IsWSP(s.Text[s.Pos]) && s.Text[s.Pos] != ';':
		return "", s.Errorf("%s in the value of %q", s.describe(s.Text[s.Pos]), name)
	}
	return value, nil
}

// IsWSP reports whether c is WSP: a space or a tab.
func IsWSP(c byte) bool { return c == ' ' || c == '\t' }

// IsNameChar reports whether c may stand in an ext-name: a letter or digit
// first, then also "_", "-" and ".".
func IsNameChar(c byte, first bool) bool {
	return isAlnum(c) || !first && (c == '_' || c == '-' || c == '.')
}

// IsValueChar reports whether c may stand in an ext-value: %x21-3A / %x3C /
// %x3E-7E, visible ASCII but ";" and "=".
func IsValueChar(c byte) bool { return c >= 0x21 && c <= 0x7e && c != ';' && c != '=' }

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
