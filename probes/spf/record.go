package spf

import (
	"fmt"
	"net/netip"
	"strings"
)

// Qualifier is the prefix of a mechanism (RFC 7208 §4.6.2).
type Qualifier byte

// The qualifiers. A mechanism written without one has QualifierPass.
const (
	QualifierPass     Qualifier = '+'
	QualifierFail     Qualifier = '-'
	QualifierSoftFail Qualifier = '~'
	QualifierNeutral  Qualifier = '?'
)

// Result is what a matching mechanism with this qualifier makes check_host()
// return.
func (q Qualifier) Result() Result {
	switch q {
	case QualifierFail:
		return Fail
	case QualifierSoftFail:
		return SoftFail
	case QualifierNeutral:
		return Neutral
	}
	return Pass
}

// String renders the qualifier as written ("+", "-", "~", "?").
func (q Qualifier) String() string { return string(rune(q)) }

// Mechanism names a mechanism (RFC 7208 §5).
type Mechanism string

// The mechanisms.
const (
	MechAll     Mechanism = "all"
	MechInclude Mechanism = "include"
	MechA       Mechanism = "a"
	MechMX      Mechanism = "mx"
	MechPTR     Mechanism = "ptr"
	MechIP4     Mechanism = "ip4"
	MechIP6     Mechanism = "ip6"
	MechExists  Mechanism = "exists"
)

// QueriesDNS reports whether the mechanism counts against the limit of 10
// DNS-querying terms (RFC 7208 §4.6.4).
func (m Mechanism) QueriesDNS() bool {
	switch m {
	case MechInclude, MechA, MechMX, MechPTR, MechExists:
		return true
	}
	return false
}

// Term is one mechanism of a record with its qualifier.
type Term struct {
	// Pos is the byte offset of the term in the record text.
	Pos int
	// Text is the term as written.
	Text      string
	Qualifier Qualifier
	Mechanism Mechanism
	// Domain is the domain-spec of include, a, mx, ptr and exists; nil
	// when a, mx or ptr name none (they then use the current domain).
	Domain *MacroString
	// Network is the range of ip4 and ip6 as written (not masked).
	Network netip.Prefix
	// Prefix4 and Prefix6 are the CIDR lengths of a and mx (32 and 128
	// when not written).
	Prefix4, Prefix6 int
}

// Modifier is a name=value term (RFC 7208 §6).
type Modifier struct {
	Pos  int
	Text string
	// Name is in lower case.
	Name  string
	Value *MacroString
}

// Record is a parsed SPF record.
type Record struct {
	Text string
	// Terms are the mechanisms in order.
	Terms []Term
	// Redirect and Exp are the modifiers of that name, when present.
	Redirect, Exp *Modifier
	// Unknown are the other modifiers, which evaluation ignores (§6).
	Unknown []Modifier
	// Errors are the syntax errors found, in order (at most maxErrors).
	Errors []*SyntaxError
}

// HasAll reports whether the record has an all mechanism, which makes any
// redirect modifier ineffective (RFC 7208 §6.1).
func (r *Record) HasAll() bool {
	for _, t := range r.Terms {
		if t.Mechanism == MechAll {
			return true
		}
	}
	return false
}

// SyntaxError names a term that does not parse.
type SyntaxError struct {
	// Pos is the byte offset of the term in the record.
	Pos  int
	Term string
	Msg  string
}

func (e *SyntaxError) Error() string {
	term := e.Term
	if len(term) > 80 {
		term = term[:80] + "…"
	}
	return fmt.Sprintf("term %q at character %d: %s", term, e.Pos+1, e.Msg)
}

// maxErrors bounds the errors kept for one record: a 64 KiB record of
// garbage must not become 10,000 evidence lines.
const maxErrors = 16

// version is the record prefix (RFC 7208 §4.5); compared without case.
const version = "v=spf1"

// IsSPF reports whether a TXT string is an SPF record: it starts with
// "v=spf1" followed by a space or its end (RFC 7208 §4.5), so "v=spf10" and
// "v=spf1mx" (two strings joined without a space) are not.
func IsSPF(txt string) bool {
	return len(txt) >= len(version) && strings.EqualFold(txt[:len(version)], version) &&
		(len(txt) == len(version) || txt[len(version)] == ' ')
}

// Parse parses an SPF record. The whole record is checked, as receivers
// must check it before evaluating any term (RFC 7208 §4.6); the first
// syntax error is returned, all of them (up to 16) are in Record.Errors, and
// the Record holds every term that did parse.
func Parse(txt string) (*Record, error) {
	rec := &Record{Text: txt}
	if !IsSPF(txt) {
		first, _, _ := strings.Cut(txt, " ")
		rec.fail(0, first, `an SPF record starts with "v=spf1" followed by a space or its end`)
		return rec, rec.Errors[0]
	}
	for i := len(version); i < len(txt); {
		if txt[i] == ' ' {
			i++
			continue
		}
		j := i
		for j < len(txt) && txt[j] != ' ' {
			j++
		}
		rec.parseTerm(i, txt[i:j])
		i = j
	}
	if len(rec.Errors) > 0 {
		return rec, rec.Errors[0]
	}
	return rec, nil
}

func (r *Record) fail(pos int, term, format string, args ...any) {
	if len(r.Errors) < maxErrors {
		r.Errors = append(r.Errors, &SyntaxError{Pos: pos, Term: term, Msg: fmt.Sprintf(format, args...)})
	}
}

func (r *Record) parseTerm(pos int, text string) {
	// Terms are separated by spaces only (§4.6.1); any other control
	// character, and any octet outside ASCII (§3.1), is an error.
	for i := 0; i < len(text); i++ {
		if c := text[i]; c < 0x21 || c > 0x7e {
			r.fail(pos, text, "character %q is not allowed: records are visible ASCII separated by spaces (RFC 7208 §3.1, §4.6.1)", rune(c))
			return
		}
	}
	if name, value, ok := modifierParts(text); ok {
		r.parseModifier(pos, text, name, value)
		return
	}
	t := Term{Pos: pos, Text: text, Qualifier: QualifierPass, Prefix4: 32, Prefix6: 128}
	rest := text
	switch rest[0] {
	case '+', '-', '~', '?':
		t.Qualifier = Qualifier(rest[0])
		rest = rest[1:]
	}
	n := 0
	for n < len(rest) && rest[n] != ':' && rest[n] != '/' {
		n++
	}
	t.Mechanism = Mechanism(lowerASCII(rest[:n]))
	args := rest[n:]
	var err error
	switch t.Mechanism {
	case MechAll:
		if args != "" {
			err = fmt.Errorf("all takes no argument (RFC 7208 §5.1)")
		}
	case MechInclude, MechExists:
		err = t.parseDomainArg(args, true, false)
	case MechA, MechMX:
		err = t.parseDomainArg(args, false, true)
	case MechPTR:
		err = t.parseDomainArg(args, false, false)
	case MechIP4, MechIP6:
		err = t.parseNetwork(args)
	default:
		switch {
		case strings.Contains(text, "="):
			err = fmt.Errorf("neither a mechanism nor a modifier (a modifier name starts with a letter and comes before =, RFC 7208 §6)")
		case rest == "":
			err = fmt.Errorf("a qualifier without a mechanism")
		default:
			err = fmt.Errorf("unknown mechanism %q (RFC 7208 §5: all, include, a, mx, ptr, ip4, ip6, exists)", rest[:n])
		}
	}
	if err != nil {
		r.fail(pos, text, "%s", err)
		return
	}
	r.Terms = append(r.Terms, t)
}

// modifierParts splits name=value when the term is a modifier: a name of
// ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ) directly followed by "=" (so the
// "=" comes before any ":" or "/", RFC 7208 §4.6.1).
func modifierParts(text string) (name, value string, ok bool) {
	if !isAlpha(text[0]) {
		return "", "", false
	}
	i := 1
	for i < len(text) {
		c := text[i]
		if !(isAlpha(c) || isDigit(c) || c == '-' || c == '_' || c == '.') {
			break
		}
		i++
	}
	if i < len(text) && text[i] == '=' {
		return lowerASCII(text[:i]), text[i+1:], true
	}
	return "", "", false
}

func (r *Record) parseModifier(pos int, text, name, value string) {
	m := Modifier{Pos: pos, Text: text, Name: name}
	switch name {
	case "redirect", "exp":
		// These two take a domain-spec and appear at most once (§6).
		spec, err := parseDomainSpec(value)
		if err != nil {
			r.fail(pos, text, "%s", err)
			return
		}
		m.Value = spec
		slot := &r.Redirect
		if name == "exp" {
			slot = &r.Exp
		}
		if *slot != nil {
			r.fail(pos, text, "%s= appears twice; it may appear once (RFC 7208 §6)", name)
			return
		}
		*slot = &m
	default:
		spec, err := parseMacroString(value, anyLetters)
		if err != nil {
			r.fail(pos, text, "%s", err)
			return
		}
		m.Value = spec
		if len(r.Unknown) < 64 {
			r.Unknown = append(r.Unknown, m)
		}
	}
}

// parseDomainArg parses [":" domain-spec] and, for a and mx, a trailing
// dual-cidr-length.
func (t *Term) parseDomainArg(args string, required, cidr bool) error {
	spec := ""
	if strings.HasPrefix(args, ":") {
		spec = args[1:]
		if cidr {
			var err error
			if spec, err = t.splitDualCIDR(spec); err != nil {
				return err
			}
		}
		if spec == "" {
			return fmt.Errorf("%s: needs a domain after the colon", t.Mechanism)
		}
		if !cidr && hasPrefixLength(spec) {
			return fmt.Errorf("%s takes no prefix length", t.Mechanism)
		}
		d, err := parseDomainSpec(spec)
		if err != nil {
			return err
		}
		t.Domain = d
		return nil
	}
	if required {
		return fmt.Errorf("%s needs a domain: %s:<domain>", t.Mechanism, t.Mechanism)
	}
	if args == "" {
		return nil
	}
	if !cidr {
		return fmt.Errorf("%s takes no prefix length", t.Mechanism)
	}
	rest, err := t.splitDualCIDR(args)
	if err != nil {
		return err
	}
	if rest != "" {
		return fmt.Errorf("invalid prefix length %q (a/24, a//64 or a/24//64)", args)
	}
	return nil
}

// hasPrefixLength reports whether s ends in /digits, the mistake of giving a
// prefix length to a mechanism that takes none.
func hasPrefixLength(s string) bool {
	i := strings.LastIndexByte(s, '/')
	return i >= 0 && i+1 < len(s) && strings.Trim(s[i+1:], "0123456789") == ""
}

// splitDualCIDR takes a trailing [ "/" ip4-cidr ] [ "//" ip6-cidr ] off s
// (RFC 7208 §5.6); a domain-spec may itself contain "/", so only numeric
// suffixes count.
func (t *Term) splitDualCIDR(s string) (string, error) {
	if i := strings.LastIndex(s, "//"); i >= 0 && isNumber(s[i+2:]) {
		n, err := cidrLength(s[i+2:], 128)
		if err != nil {
			return "", fmt.Errorf("IPv6 prefix length %w", err)
		}
		t.Prefix6 = n
		s = s[:i]
	}
	if i := strings.LastIndexByte(s, '/'); i >= 0 && isNumber(s[i+1:]) && !strings.HasSuffix(s[:i], "/") {
		if hasPrefixLength(s[:i]) {
			return "", fmt.Errorf("invalid prefix length %q (a/24, a//64 or a/24//64)", s[strings.LastIndexByte(s[:i], '/'):])
		}
		n, err := cidrLength(s[i+1:], 32)
		if err != nil {
			return "", fmt.Errorf("IPv4 prefix length %w", err)
		}
		t.Prefix4 = n
		s = s[:i]
	}
	return s, nil
}

func isNumber(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// cidrLength parses a prefix length: no leading zeros (the RFC forbids them
// in addresses, and "/032" is refused by the RFC 7208 test suite) and at
// most max.
func cidrLength(s string, max int) (int, error) {
	if !isNumber(s) || len(s) > 3 || len(s) > 1 && s[0] == '0' {
		return 0, fmt.Errorf("%q is not a number from 0 to %d", s, max)
	}
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	if n > max {
		return 0, fmt.Errorf("%d is more than %d", n, max)
	}
	return n, nil
}

// parseNetwork parses ":" address [ "/" length ] of ip4 and ip6.
func (t *Term) parseNetwork(args string) error {
	if !strings.HasPrefix(args, ":") || len(args) == 1 {
		return fmt.Errorf("%s needs an address: %s:<address>[/<prefix length>]", t.Mechanism, t.Mechanism)
	}
	addrText, lenText, hasLen := strings.Cut(args[1:], "/")
	addr, err := netip.ParseAddr(addrText)
	max := 32
	if t.Mechanism == MechIP6 {
		max = 128
	}
	switch {
	case err != nil || addr.Zone() != "":
		return fmt.Errorf("%q is not an %s address", addrText, familyName(t.Mechanism))
	case t.Mechanism == MechIP4 && !addr.Is4():
		return fmt.Errorf("%q is not an IPv4 address (use ip6: for IPv6)", addrText)
	case t.Mechanism == MechIP6 && !addr.Is6():
		return fmt.Errorf("%q is not an IPv6 address (use ip4: for IPv4)", addrText)
	}
	bits := max
	if hasLen {
		n, err := cidrLength(lenText, max)
		if err != nil {
			return fmt.Errorf("prefix length %w", err)
		}
		bits = n
	}
	t.Network = netip.PrefixFrom(addr, bits)
	return nil
}

func familyName(m Mechanism) string {
	if m == MechIP6 {
		return "IPv6"
	}
	return "IPv4"
}

// parseDomainSpec parses a domain-spec: a macro-string ending in a macro or
// in "." and a top-level label (RFC 7208 §7.1).
func parseDomainSpec(s string) (*MacroString, error) {
	if s == "" {
		return nil, fmt.Errorf("empty domain")
	}
	m, err := parseMacroString(s, domainLetters)
	if err != nil {
		return nil, err
	}
	// domain-end = ( "." toplabel [ "." ] ) / macro-expand
	if last := m.parts[len(m.parts)-1]; last.expand {
		return m, nil
	}
	tail := strings.TrimSuffix(m.parts[len(m.parts)-1].literal, ".")
	dot := strings.LastIndexByte(tail, '.')
	if dot < 0 {
		return nil, fmt.Errorf("%q is not a domain name: it must end in a dot and a top-level label, or in a macro (RFC 7208 §7.1)", s)
	}
	if top := tail[dot+1:]; !validTopLabel(top) {
		return nil, fmt.Errorf("%q ends in %q, which is not a top-level label (letters, digits and inner hyphens, not all digits)", s, top)
	}
	return m, nil
}

// validTopLabel checks toplabel = ( *alphanum ALPHA *alphanum ) /
// ( 1*alphanum "-" *( alphanum / "-" ) alphanum ).
func validTopLabel(s string) bool {
	if s == "" || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	letterOrHyphen := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isAlpha(c), c == '-':
			letterOrHyphen = true
		case isDigit(c):
		default:
			return false
		}
	}
	return letterOrHyphen
}

// String renders the term as written.
func (t Term) String() string { return t.Text }
