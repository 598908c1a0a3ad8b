package mtasts

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/txtfields"
)

// Mode is a policy's mode (RFC 8461 §5).
type Mode string

// The modes.
const (
	// ModeEnforce: senders deliver only to matching MX hosts over
	// authenticated TLS.
	ModeEnforce Mode = "enforce"
	// ModeTesting: senders report failures (TLS-RPT) but deliver anyway.
	ModeTesting Mode = "testing"
	// ModeNone: the domain has withdrawn its policy.
	ModeNone Mode = "none"
)

// MaxMaxAge is the largest max_age RFC 8461 §3.2 allows: about a year.
const MaxMaxAge = 31557600

// Pattern is one mx: value of a policy: a host name, or "*." and a domain
// standing for any host one label below it.
type Pattern struct {
	// Text is the pattern as written.
	Text string
	// Wildcard is true for "*.domain".
	Wildcard bool
	// Domain is the name after "*." (or the whole name), in lower case.
	Domain string
}

// String returns the pattern as written.
func (p Pattern) String() string { return p.Text }

// Matches reports whether host (any case, with or without the final dot)
// is covered by the pattern, as RFC 8461 §4.1 defines it: exactly, or for
// "*.example.com" any name with exactly one more label on the left:
// "mx.example.com", but neither "example.com" nor "a.b.example.com" (the
// wildcard rule of RFC 6125 §6.4.3).
func (p Pattern) Matches(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if !p.Wildcard {
		return host == p.Domain
	}
	i := strings.IndexByte(host, '.')
	return i > 0 && host[i+1:] == p.Domain
}

// Policy is a parsed MTA-STS policy (RFC 8461 §3.2).
type Policy struct {
	Version string
	Mode    Mode
	// MaxAge is max_age in seconds, 0 to MaxMaxAge.
	MaxAge int64
	// MX are the mx: patterns in the order written.
	MX []Pattern
	// Extensions are the fields senders ignore, in order.
	Extensions []Field
	// Duplicates names fields other than mx given more than once; senders
	// use the first (RFC 8461 §3.2).
	Duplicates []string
	// LineEndings is "CRLF", "LF", "mixed" or "none" (one line without a
	// line end).
	LineEndings string
	// Lines counts the policy's lines.
	Lines int
}

// Match returns the first pattern that covers host.
func (p *Policy) Match(host string) (Pattern, bool) {
	for _, pat := range p.MX {
		if pat.Matches(host) {
			return pat, true
		}
	}
	return Pattern{}, false
}

// Hash is a digest of what the policy says (not how it is written): line
// endings, the order of mx: lines and the case of names do not change it,
// so only a change senders act on counts as a new policy.
func (p *Policy) Hash() [32]byte {
	var b strings.Builder
	fmt.Fprintf(&b, "version:%s\nmode:%s\nmax_age:%d\n", p.Version, p.Mode, p.MaxAge)
	mx := make([]string, len(p.MX))
	for i, pat := range p.MX {
		mx[i] = strings.ToLower(pat.Text)
	}
	slices.Sort(mx)
	for _, m := range slices.Compact(mx) {
		fmt.Fprintf(&b, "mx:%s\n", m)
	}
	for _, f := range p.Extensions {
		fmt.Fprintf(&b, "%s:%s\n", f.Name, f.Value)
	}
	return sha256.Sum256([]byte(b.String()))
}

// Text renders the policy as a file to publish (LF line ends).
func (p *Policy) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "version: %s\nmode: %s\n", p.Version, p.Mode)
	for _, pat := range p.MX {
		fmt.Fprintf(&b, "mx: %s\n", pat.Text)
	}
	fmt.Fprintf(&b, "max_age: %d\n", p.MaxAge)
	return b.String()
}

// PolicyError says where and why a policy is not one senders accept.
type PolicyError struct {
	// Line is the 1-based line number, 0 for the policy as a whole.
	Line int
	Msg  string
}

func (e *PolicyError) Error() string {
	if e.Line == 0 {
		return e.Msg
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
}

// ParsePolicy parses a policy strictly by RFC 8461 §3.2:
//
//	sts-policy-record      = sts-policy-field *WSP
//	                         *(sts-policy-term sts-policy-field *WSP)
//	                         [sts-policy-term]
//	sts-policy-field       = version / mode / max_age / mx / extension
//	sts-policy-field-delim = ":" *WSP
//	sts-policy-mode-value  = %s"testing" / %s"enforce" / %s"none"
//	sts-policy-max-age-value = 1*10(DIGIT)          ; at most 31557600
//	sts-policy-mx-value    = ["*."] Domain           ; RFC 5321 Domain
//	sts-policy-ext-name    = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
//	sts-policy-ext-value   = sts-policy-vchar [*(%x20 / sts-policy-vchar) sts-policy-vchar]
//	sts-policy-term        = LF / CRLF
//
// Lines end in CRLF or LF (mixed is allowed: each term is either). Field
// names and the registered values are case-sensitive. version, mode and
// max_age are required, mx too unless the mode is none; a field other than
// mx given twice keeps its first value; unknown fields are ignored. What
// the grammar does not allow (an empty line, a byte order mark, control
// characters, whitespace before a name) is an error: strict senders
// discard such a policy.
func ParsePolicy(body []byte) (*Policy, error) {
	if len(body) == 0 {
		return nil, &PolicyError{Msg: "the policy is empty"}
	}
	if bytes.HasPrefix(body, []byte("\xef\xbb\xbf")) {
		return nil, &PolicyError{Line: 1, Msg: "the policy starts with a UTF-8 byte order mark; save it without one (the grammar of RFC 8461 §3.2 has no room for it)"}
	}
	p := &Policy{}
	seen := map[string]bool{}
	var crlf, lf bool
	for n, rest := 1, body; len(rest) > 0; n++ {
		line := rest
		end := bytes.IndexByte(rest, '\n')
		if end >= 0 {
			line, rest = rest[:end], rest[end+1:]
			if l := len(line); l > 0 && line[l-1] == '\r' {
				line = line[:l-1]
				crlf = true
			} else {
				lf = true
			}
		} else {
			rest = nil
		}
		p.Lines = n
		if err := p.parseLine(n, line, seen); err != nil {
			return nil, err
		}
	}
	switch {
	case crlf && lf:
		p.LineEndings = "mixed"
	case crlf:
		p.LineEndings = "CRLF"
	case lf:
		p.LineEndings = "LF"
	default:
		p.LineEndings = "none"
	}
	if err := p.complete(seen); err != nil {
		return nil, err
	}
	return p, nil
}

// parseLine reads one name: value line into p.
func (p *Policy) parseLine(n int, line []byte, seen map[string]bool) error {
	errorf := func(format string, args ...any) error {
		return &PolicyError{Line: n, Msg: fmt.Sprintf(format, args...)}
	}
	if len(line) == 0 {
		return errorf("the line is empty; the policy grammar has no empty lines (RFC 8461 §3.2)")
	}
	i := 0
	for i < len(line) && txtfields.IsNameChar(line[i], i == 0) {
		i++
	}
	name := string(line[:i])
	switch {
	case i == 0 && txtfields.IsWSP(line[0]):
		return errorf("the line starts with whitespace; write \"name: value\" from the first column")
	case i == 0:
		return errorf("the line starts with %s; a field name starts with a letter or digit", probes.DescribeByte(line[0]))
	case i > 32:
		return errorf("field name %q is %d characters long; names have at most 32", probes.Clip(name, 40), i)
	case i == len(line):
		return errorf("%q has no \":\"; each line is \"name: value\"", probes.Clip(name, 40))
	case line[i] != ':':
		if !txtfields.IsWSP(line[i]) {
			return errorf("%s in the field name %q", probes.DescribeByte(line[i]), name)
		}
		j := i
		for j < len(line) && txtfields.IsWSP(line[j]) {
			j++
		}
		if j < len(line) && line[j] == ':' {
			return errorf("whitespace between %q and \":\"; write \"%s: value\"", name, name)
		}
		return errorf("%q is not followed by \":\"; each line is \"name: value\"", name)
	}
	value, err := fieldValue(line[i+1:])
	if err != nil {
		return errorf("%s: %s", name, err)
	}
	dup := seen[name]
	seen[name] = true
	if dup && name != "mx" {
		p.Duplicates = append(p.Duplicates, name)
	}
	switch name {
	case "version":
		if value != "STSv1" {
			return errorf("version %q is not STSv1, the only version there is (RFC 8461 §3.2)", probes.Clip(value, 40))
		}
		if !dup {
			p.Version = value
		}
	case "mode":
		m := Mode(value)
		if m != ModeEnforce && m != ModeTesting && m != ModeNone {
			hint := ""
			if l := Mode(strings.ToLower(value)); l == ModeEnforce || l == ModeTesting || l == ModeNone {
				hint = "; modes are written in lower case"
			}
			return errorf("mode %q is not enforce, testing or none%s", probes.Clip(value, 40), hint)
		}
		if !dup {
			p.Mode = m
		}
	case "max_age":
		age, err := parseMaxAge(value)
		if err != nil {
			return errorf("%s", err)
		}
		if !dup {
			p.MaxAge = age
		}
	case "mx":
		pat, err := ParsePattern(value)
		if err != nil {
			return errorf("mx %q: %s", probes.Clip(value, 80), err)
		}
		p.MX = append(p.MX, pat)
	default:
		if !dup {
			p.Extensions = append(p.Extensions, Field{Name: name, Value: value})
		}
	}
	return nil
}

// fieldValue reads what follows the ":": *WSP, the value, *WSP. The value
// is sts-policy-ext-value's shape (registered values are narrower and are
// checked by their fields): visible characters, UTF-8 included, with
// single spaces inside.
func fieldValue(b []byte) (string, error) {
	s := strings.TrimRight(strings.TrimLeft(string(b), " \t"), " \t")
	if s == "" {
		return "", fmt.Errorf("the value is empty")
	}
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("the value is not valid UTF-8")
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\t':
			return "", fmt.Errorf("a tab inside the value; only spaces may separate words")
		case c < 0x20 || c == 0x7f:
			return "", fmt.Errorf("%s in the value", probes.DescribeByte(c))
		}
	}
	return s, nil
}

// parseMaxAge reads 1*10(DIGIT), at most MaxMaxAge.
func parseMaxAge(v string) (int64, error) {
	if len(v) > 10 {
		return 0, fmt.Errorf("max_age %q has %d digits; it is at most %d (RFC 8461 §3.2)", probes.Clip(v, 20), len(v), MaxMaxAge)
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, fmt.Errorf("max_age %q is not a number of seconds", v)
		}
	}
	age, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("max_age %q: %w", v, err)
	}
	if age > MaxMaxAge {
		return 0, fmt.Errorf("max_age %d is more than %d seconds (a year), the most RFC 8461 §3.2 allows; senders discard or cut the policy", age, MaxMaxAge)
	}
	return age, nil
}

// complete checks the required fields once every line is read.
func (p *Policy) complete(seen map[string]bool) error {
	for _, name := range []string{"version", "mode", "max_age"} {
		if seen[name] {
			continue
		}
		msg := fmt.Sprintf("the policy has no %s field (RFC 8461 §3.2)", name)
		for _, f := range p.Extensions {
			if strings.EqualFold(f.Name, name) {
				msg += fmt.Sprintf("; %q is another field, as field names are case-sensitive", f.Name)
				break
			}
		}
		return &PolicyError{Msg: msg}
	}
	if len(p.MX) == 0 && p.Mode != ModeNone {
		return &PolicyError{Msg: fmt.Sprintf("the policy has no mx field; mode %s needs at least one (RFC 8461 §3.2)", p.Mode)}
	}
	return nil
}

// ParsePattern parses an mx: value, ["*."] Domain with Domain as RFC 5321
// §4.1.2 defines it: letters, digits and hyphens in labels that start and
// end with a letter or digit, in A-label form, without the final dot.
func ParsePattern(v string) (Pattern, error) {
	pat := Pattern{Text: v}
	name := v
	if strings.HasPrefix(v, "*.") {
		pat.Wildcard = true
		name = v[2:]
	}
	if err := checkDomain(name); err != nil {
		return Pattern{}, err
	}
	pat.Domain = strings.ToLower(name)
	return pat, nil
}

// checkDomain checks RFC 5321's Domain = sub-domain *("." sub-domain).
func checkDomain(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("no host name")
	case strings.HasSuffix(name, "."):
		return fmt.Errorf("write the name without the final dot")
	case len(name) > 253:
		return fmt.Errorf("the name is %d characters long; DNS allows 253", len(name))
	}
	for _, label := range strings.Split(name, ".") {
		switch {
		case label == "":
			return fmt.Errorf("an empty label (two dots in a row)")
		case label == "*":
			return fmt.Errorf("\"*\" may only stand as the whole leftmost label, as in *.example.com")
		case len(label) > 63:
			return fmt.Errorf("label %q is %d characters long; DNS allows 63", probes.Clip(label, 20), len(label))
		case label[0] == '-' || label[len(label)-1] == '-':
			return fmt.Errorf("label %q starts or ends with a hyphen", label)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			switch {
			case isAlnum(c) || c == '-':
			case c >= 0x80:
				return fmt.Errorf("non-ASCII name; write internationalised names in their A-label (xn--) form")
			default:
				return fmt.Errorf("%s in label %q; host names use letters, digits and hyphens", probes.DescribeByte(c), label)
			}
		}
	}
	return nil
}
