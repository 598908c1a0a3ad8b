package mtasts

import (
	"fmt"
	"regexp"
	"strings"
)

// Field is one name=value (TXT record) or name: value (policy) pair.
type Field struct {
	Name, Value string
}

// Record is a parsed _mta-sts TXT record (RFC 8461 §3.1).
type Record struct {
	// Text is the record as published, its strings joined.
	Text string
	// ID is the policy instance id: 1 to 32 letters and digits.
	ID string
	// Extensions are the fields other than v and id, in order; senders
	// ignore them.
	Extensions []Field
	// Duplicates names fields given more than once; senders use the first
	// (RFC 8461 §3.2 says so of policies, and senders such as mox read
	// the TXT record the same way).
	Duplicates []string
}

// RecordError says why a TXT record that starts with v=STSv1 is not one
// senders accept.
type RecordError struct {
	Pos int // byte offset in the record
	Msg string
}

func (e *RecordError) Error() string { return e.Msg }

// recordPrefix is the version field every MTA-STS record starts with,
// exactly so: %s"v=STSv1" is case-sensitive (RFC 7405).
const recordPrefix = "v=STSv1"

// IsRecord reports whether a TXT record is one senders select as an
// MTA-STS record: it begins with "v=STSv1", followed by the field
// separator or nothing (RFC 8461 §3.1: "records that do not begin with
// v=STSv1; are discarded"; the grammar allows whitespace before the ";",
// which erratum 6285 points out; both readings select the record here and
// the parser judges it).
func IsRecord(txt string) bool {
	if !strings.HasPrefix(txt, recordPrefix) {
		return false
	}
	rest := txt[len(recordPrefix):]
	return rest == "" || rest[0] == ';' || rest[0] == ' ' || rest[0] == '\t'
}

// looksLikeSTS matches TXT records written as MTA-STS records that senders
// nevertheless discard: another case, whitespace before or around the "=".
var looksLikeSTS = regexp.MustCompile(`(?i)^[ \t]*v[ \t]*=[ \t]*stsv1([ \t;]|$)`)

// LooksLikeRecord reports whether a TXT record that IsRecord rejects was
// meant as an MTA-STS record.
func LooksLikeRecord(txt string) bool { return !IsRecord(txt) && looksLikeSTS.MatchString(txt) }

// ParseRecord parses an _mta-sts TXT record strictly by RFC 8461 §3.1:
//
//	sts-text-record = sts-version 1*(sts-sep sts-field) [sts-sep]
//	sts-field       = sts-id / sts-extension
//	sts-version     = %s"v=STSv1"
//	sts-sep         = *WSP %x3B *WSP
//	sts-id          = %s"id=" 1*32(ALPHA / DIGIT)
//	sts-extension   = sts-ext-name "=" sts-ext-value
//	sts-ext-name    = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
//	sts-ext-value   = 1*(%x21-3A / %x3C / %x3E-7E)
//
// The shared tag=value parser (probes/tagvalue, RFC 6376 §3.2) does not fit
// this grammar: it rejects extension names that start with a digit or hold
// "-" or ".", which RFC 8461 requires senders to accept and ignore, and it
// accepts whitespace around "=" and "=" inside values, which RFC 8461 does
// not. The TLS-RPT record (RFC 8460 §3) shares this grammar.
func ParseRecord(txt string) (*Record, error) {
	if !strings.HasPrefix(txt, recordPrefix) {
		return nil, &RecordError{Pos: 0, Msg: fmt.Sprintf("the record does not start with %q", recordPrefix)}
	}
	r := &Record{Text: txt}
	p := fieldParser{s: txt, i: len(recordPrefix)}
	seen := map[string]bool{}
	fields := 0
	for {
		if !p.separator() {
			if p.i == len(p.s) {
				break
			}
			if strings.TrimLeft(p.s[p.i:], " \t") == "" {
				return nil, p.errorf("whitespace after the last field; senders such as mox reject the record (RFC 8461 §3.1 allows it only around \";\")")
			}
			for isWSP(p.s[p.i]) {
				p.i++
			}
			return nil, p.errorf("%s after %s; fields are separated by \";\"", describe(p.s[p.i]), p.last())
		}
		if p.i == len(p.s) {
			// The optional final separator.
			break
		}
		f, err := p.field()
		if err != nil {
			return nil, err
		}
		fields++
		if seen[f.Name] {
			r.Duplicates = append(r.Duplicates, f.Name)
			continue
		}
		seen[f.Name] = true
		if f.Name == "id" {
			if err := validID(f.Value); err != nil {
				return nil, &RecordError{Pos: p.fieldPos, Msg: err.Error()}
			}
			r.ID = f.Value
			continue
		}
		r.Extensions = append(r.Extensions, f)
	}
	switch {
	case fields == 0:
		return nil, &RecordError{Pos: len(txt), Msg: `the record has no fields after v=STSv1; it needs "id=" (RFC 8461 §3.1)`}
	case r.ID == "":
		return nil, &RecordError{Pos: len(txt), Msg: `the record has no "id=" field (RFC 8461 §3.1)`}
	}
	return r, nil
}

// validID checks sts-id's value: 1*32(ALPHA / DIGIT).
func validID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf(`"id=" is empty; it takes 1 to 32 letters and digits (RFC 8461 §3.1)`)
	case len(id) > 32:
		return fmt.Errorf("id %q is %d characters long; it takes 1 to 32 letters and digits (RFC 8461 §3.1)", clip(id, 40), len(id))
	}
	for i := 0; i < len(id); i++ {
		if !isAlnum(id[i]) {
			return fmt.Errorf("id %q contains %s; it takes letters and digits only (RFC 8461 §3.1)", id, describe(id[i]))
		}
	}
	return nil
}

// fieldParser reads the name=value fields shared by the MTA-STS and
// TLS-RPT records.
type fieldParser struct {
	s        string
	i        int
	fieldPos int // where the last field began
}

func (p *fieldParser) errorf(format string, args ...any) error {
	return &RecordError{Pos: p.i, Msg: fmt.Sprintf(format, args...)}
}

// last names what came before the current position, for messages.
func (p *fieldParser) last() string {
	start := max(0, p.i-20)
	return fmt.Sprintf("%q", p.s[start:p.i])
}

// separator reads sts-sep: *WSP ";" *WSP. Without a ";" it reads nothing.
func (p *fieldParser) separator() bool {
	j := p.i
	for j < len(p.s) && isWSP(p.s[j]) {
		j++
	}
	if j == len(p.s) && j > p.i {
		// Trailing whitespace after the last field: not in the grammar.
		return false
	}
	if j == len(p.s) || p.s[j] != ';' {
		return false
	}
	j++
	for j < len(p.s) && isWSP(p.s[j]) {
		j++
	}
	p.i = j
	return true
}

// field reads ext-name "=" ext-value.
func (p *fieldParser) field() (Field, error) {
	p.fieldPos = p.i
	start := p.i
	for p.i < len(p.s) && isNameChar(p.s[p.i], p.i == start) {
		p.i++
	}
	name := p.s[start:p.i]
	switch {
	case name == "" && p.s[p.i] == ';':
		return Field{}, p.errorf("empty field between two \";\"")
	case name == "":
		return Field{}, p.errorf("%s where a field name should start (a letter or digit)", describe(p.s[p.i]))
	case len(name) > 32:
		return Field{}, &RecordError{Pos: start, Msg: fmt.Sprintf("field name %q is %d characters long; names have at most 32", clip(name, 40), len(name))}
	case p.i == len(p.s) || p.s[p.i] != '=':
		if p.i < len(p.s) && isWSP(p.s[p.i]) {
			return Field{}, p.errorf("whitespace after the field name %q; write %s=value without spaces", name, name)
		}
		if p.i == len(p.s) || p.s[p.i] == ';' {
			return Field{}, p.errorf("field %q has no \"=\"", name)
		}
		return Field{}, p.errorf("%s in the field name %q", describe(p.s[p.i]), name)
	}
	p.i++ // "="
	vstart := p.i
	for p.i < len(p.s) && isValueChar(p.s[p.i]) {
		p.i++
	}
	value := p.s[vstart:p.i]
	if value == "" {
		if p.i < len(p.s) && isWSP(p.s[p.i]) {
			return Field{}, p.errorf("whitespace after %q; write %s=value without spaces", name+"=", name)
		}
		if p.i == len(p.s) || p.s[p.i] == ';' {
			return Field{}, p.errorf("field %q has an empty value", name)
		}
	}
	if p.i < len(p.s) && !isWSP(p.s[p.i]) && p.s[p.i] != ';' {
		return Field{}, p.errorf("%s in the value of %q", describe(p.s[p.i]), name)
	}
	return Field{Name: name, Value: value}, nil
}

func isWSP(c byte) bool { return c == ' ' || c == '\t' }
func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// isNameChar: (ALPHA / DIGIT) first, then also "_", "-", ".".
func isNameChar(c byte, first bool) bool {
	return isAlnum(c) || !first && (c == '_' || c == '-' || c == '.')
}

// isValueChar: %x21-3A / %x3C / %x3E-7E, visible ASCII but ";" and "=".
func isValueChar(c byte) bool { return c >= 0x21 && c <= 0x7e && c != ';' && c != '=' }

// describe names a byte for an error message.
func describe(c byte) string {
	switch {
	case c == ' ':
		return "a space"
	case c == '\t':
		return "a tab"
	case c == '\r':
		return "a carriage return"
	case c == '\n':
		return "a line feed"
	case c >= 0x80:
		return fmt.Sprintf("the non-ASCII byte 0x%02x", c)
	case c < 0x20 || c == 0x7f:
		return fmt.Sprintf("the control character 0x%02x", c)
	}
	return fmt.Sprintf("%q", string(c))
}

// clip shortens s for a message.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
