package spf

import (
	"fmt"
	"net/netip"
	"strings"
)

// MacroString is a parsed macro-string (RFC 7208 §7.1): literal text and
// macros such as %{d} or %{ir}.
type MacroString struct {
	// Text is the string as written in the record.
	Text  string
	parts []macroPart
}

// macroPart is literal text (letter 0) or one macro.
type macroPart struct {
	literal string
	// expand marks a macro-expand of the grammar: %{...}, or one of the
	// escapes %%, %_ and %- (which are literal text once parsed, but count
	// as a macro-expand where a domain-spec must end in one).
	expand  bool
	letter  byte // lower-case macro letter; 0 for literal text
	upper   bool // written in upper case: URL-escape the value (§7.3)
	digits  int  // keep this many right-hand parts; 0 keeps all
	reverse bool
	delims  string // split on these; empty means "."
}

// The macro letters (RFC 7208 §7.2). c, r and t are allowed only in
// explanation text, which this package does not expand; unknown modifiers
// may carry them because their grammar is the general macro-string.
const (
	domainLetters = "slodiphv"
	anyLetters    = "slodiphvcrt"
)

// maxMacroDigits caps the DIGIT transformer: a name has at most 127 labels,
// so more parts than that means "all of them" (§7.3).
const maxMacroDigits = 128

// parseMacroString parses s with the given letters allowed. The error says
// what is wrong in words; the caller adds the term and position.
func parseMacroString(s, letters string) (*MacroString, error) {
	m := &MacroString{Text: s}
	lit := 0 // start of the pending literal run
	flush := func(end int) {
		if end > lit {
			m.parts = append(m.parts, macroPart{literal: s[lit:end]})
		}
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c != '%' {
			if c < 0x21 || c > 0x7e {
				return nil, fmt.Errorf("character %q is not allowed (RFC 7208 §7.1: visible ASCII only)", rune(c))
			}
			i++
			continue
		}
		flush(i)
		if i+1 >= len(s) {
			return nil, fmt.Errorf("%q ends in a lone %%; write %%%% for a percent sign", s)
		}
		switch s[i+1] {
		case '%':
			m.parts = append(m.parts, macroPart{literal: "%", expand: true})
			i += 2
		case '_':
			m.parts = append(m.parts, macroPart{literal: " ", expand: true})
			i += 2
		case '-':
			m.parts = append(m.parts, macroPart{literal: "%20", expand: true})
			i += 2
		case '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return nil, fmt.Errorf("macro %q is not closed with }", s[i:])
			}
			part, err := parseMacroBody(s[i+2:i+2+end], letters)
			if err != nil {
				return nil, err
			}
			m.parts = append(m.parts, part)
			i += 2 + end + 1
		default:
			return nil, fmt.Errorf("%q is not a macro: %% must be followed by {, %%, _ or -", s[i:i+2])
		}
		lit = i
	}
	flush(len(s))
	return m, nil
}

// parseMacroBody parses what stands between %{ and }: a letter, optional
// digits, an optional r and delimiters (RFC 7208 §7.1).
func parseMacroBody(body, letters string) (macroPart, error) {
	if body == "" {
		return macroPart{}, fmt.Errorf("empty macro %%{}")
	}
	letter := lowerASCII(body[:1])[0]
	if !strings.ContainsRune(anyLetters, rune(letter)) {
		return macroPart{}, fmt.Errorf("%%{%s}: %q is not a macro letter", body, body[:1])
	}
	if !strings.ContainsRune(letters, rune(letter)) {
		return macroPart{}, fmt.Errorf("%%{%s}: the macro letter %q is allowed only in explanation text (RFC 7208 §7.2)", body, body[:1])
	}
	p := macroPart{expand: true, letter: letter, upper: body[0] >= 'A' && body[0] <= 'Z'}
	i := 1
	start := i
	for i < len(body) && isDigit(body[i]) {
		i++
	}
	if i > start {
		digits := body[start:i]
		if strings.Trim(digits, "0") == "" {
			return macroPart{}, fmt.Errorf("%%{%s}: the number of parts must not be 0 (RFC 7208 §7.3)", body)
		}
		if len(strings.TrimLeft(digits, "0")) > 3 {
			p.digits = maxMacroDigits
		} else {
			n := 0
			for _, d := range strings.TrimLeft(digits, "0") {
				n = n*10 + int(d-'0')
			}
			p.digits = min(n, maxMacroDigits)
		}
	}
	if i < len(body) && (body[i] == 'r' || body[i] == 'R') {
		p.reverse = true
		i++
	}
	for j := i; j < len(body); j++ {
		if !strings.ContainsRune(".-+,/_=", rune(body[j])) {
			return macroPart{}, fmt.Errorf("%%{%s}: %q is not a delimiter (allowed: . - + , / _ =)", body, body[j:j+1])
		}
	}
	p.delims = body[i:]
	return p, nil
}

// HasMacros reports whether the string contains a %{...} macro.
func (m *MacroString) HasMacros() bool {
	for _, p := range m.parts {
		if p.letter != 0 {
			return true
		}
	}
	return false
}

// onlyLetters reports whether every macro of the string is one of letters
// (an exists:%{d}._spf.example.com names one fixed host; %{i} would make it
// depend on the client).
func (m *MacroString) onlyLetters(letters string) bool {
	for _, p := range m.parts {
		if p.letter != 0 && !strings.ContainsRune(letters, rune(p.letter)) {
			return false
		}
	}
	return true
}

// macroValues supplies what the macro letters stand for. ok is false when
// the value is not known (an audit without a client IP or sender), which
// makes the whole expansion unknown.
type macroValues interface {
	value(letter byte) (v string, ok bool)
}

// expand returns the string with its macros replaced (RFC 7208 §7.3).
func (m *MacroString) expand(vals macroValues) (string, bool) {
	if len(m.parts) == 1 && m.parts[0].letter == 0 {
		return m.parts[0].literal, true
	}
	var b strings.Builder
	for _, p := range m.parts {
		if p.letter == 0 {
			b.WriteString(p.literal)
			continue
		}
		v, ok := vals.value(p.letter)
		if !ok {
			return "", false
		}
		b.WriteString(transform(v, p))
	}
	return b.String(), true
}

// transform applies a macro's delimiters, reversal, digits and URL escaping.
func transform(v string, p macroPart) string {
	if p.delims == "" && !p.reverse && p.digits == 0 {
		if p.upper {
			return urlEscape(v)
		}
		return v
	}
	delims := p.delims
	if delims == "" {
		delims = "."
	}
	parts := strings.FieldsFunc(v, func(r rune) bool { return strings.ContainsRune(delims, r) })
	if p.reverse {
		for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
			parts[i], parts[j] = parts[j], parts[i]
		}
	}
	if p.digits > 0 && p.digits < len(parts) {
		parts = parts[len(parts)-p.digits:]
	}
	out := strings.Join(parts, ".")
	if p.upper {
		out = urlEscape(out)
	}
	return out
}

// urlEscape escapes every octet outside the URI unreserved set (RFC 3986
// §2.3), as RFC 7208 §7.3 asks for upper-case macro letters.
func urlEscape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAlpha(c) || isDigit(c) || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// ipMacro renders <ip> for %{i}: dotted quad for IPv4, dot-separated
// nibbles for IPv6 (RFC 7208 §7.3).
func ipMacro(ip netip.Addr) string {
	if ip.Is4() {
		return ip.String()
	}
	const hex = "0123456789abcdef"
	a := ip.As16()
	b := make([]byte, 0, 63)
	for i, x := range a {
		if i > 0 {
			b = append(b, '.')
		}
		b = append(b, hex[x>>4], '.', hex[x&15])
	}
	return string(b)
}

// versionMacro renders %{v}.
func versionMacro(ip netip.Addr) string {
	if ip.Is4() {
		return "in-addr"
	}
	return "ip6"
}
