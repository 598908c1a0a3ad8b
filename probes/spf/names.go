package spf

import (
	"strings"

	"github.com/miekg/dns"

	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
)

// Names inside the evaluator are raw octet strings in lower case without the
// trailing dot ("example.com"), as macro expansion produces them. They become
// DNS presentation format (escaped) only when a question is asked, and names
// read from answers (MX hosts, PTR names) are turned back into raw form.

const (
	maxNameLength  = 253 // RFC 7208 §4.3, §7.3 (without the trailing dot)
	maxLabelLength = 63  // RFC 1035 §2.3.4
)

// targetName turns an expanded domain-spec into the name to look up: the
// trailing dot dropped (RFC 7208 §7.3 ignores it), labels removed from the
// left while the name is longer than 253 characters (§7.3), and checked to
// be a multi-label name with no empty or over-long label (§4.3). ok is false
// for a name no DNS question can be composed from; callers treat it as a
// name that does not exist, as §4.3 treats a malformed <domain>.
func targetName(expanded string) (name string, ok bool) {
	name = strings.TrimSuffix(expanded, ".")
	for len(name) > maxNameLength {
		i := strings.IndexByte(name, '.')
		if i < 0 {
			return "", false
		}
		name = name[i+1:]
	}
	if name == "" || !strings.Contains(name, ".") {
		return "", false
	}
	for label := range strings.SplitSeq(name, ".") {
		if label == "" || len(label) > maxLabelLength {
			return "", false
		}
	}
	return lowerASCII(name), true
}

// lowerASCII folds ASCII letters only: DNS compares names octet by octet
// with ASCII case folded (RFC 4343), and a Unicode fold would merge names
// DNS keeps apart.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// presentation renders a raw name for a DNS question: octets that are
// special in presentation format are escaped as \X and unprintable ones as
// \DDD (RFC 1035 §5.1), the way miekg/dns prints names, so the question a
// server echoes compares equal to the one asked: "a b.example" is asked as
// "a\ b.example.".
func presentation(raw string) string {
	plain := true
	for i := 0; i < len(raw); i++ {
		if special(raw[i]) || raw[i] < ' ' || raw[i] > '~' {
			plain = false
			break
		}
	}
	if plain {
		return raw + "."
	}
	var b strings.Builder
	b.Grow(len(raw) + 8)
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case special(c):
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < ' ' || c > '~':
			b.WriteByte('\\')
			b.WriteByte('0' + c/100)
			b.WriteByte('0' + c/10%10)
			b.WriteByte('0' + c%10)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('.')
	return b.String()
}

// special lists the octets miekg/dns escapes as \X inside a label (a dot
// never occurs inside a raw label: it separates them).
func special(c byte) bool {
	switch c {
	case ' ', '\'', '@', ';', '(', ')', '"', '\\':
		return true
	}
	return false
}

// unescape decodes presentation-format escapes (\DDD and \X), which
// miekg/dns keeps in TXT strings and names it unpacks. A malformed escape
// is kept as written.
func unescape(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b = append(b, c)
			continue
		}
		if i+3 < len(s) && isDigit(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
			v := int(s[i+1]-'0')*100 + int(s[i+2]-'0')*10 + int(s[i+3]-'0')
			if v <= 255 {
				b = append(b, byte(v))
				i += 3
				continue
			}
		}
		b = append(b, s[i+1])
		i++
	}
	return string(b)
}

// rawName turns a name from an answer (presentation format, maybe fully
// qualified) into the evaluator's raw lower-case form.
func rawName(presented string) string {
	return lowerASCII(unescape(strings.TrimSuffix(presented, ".")))
}

// txtStrings returns each TXT record of an answer as the octets published:
// its character-strings joined without separators (RFC 7208 §3.3) and
// unescaped. dnsclient.Answer.TXT keeps miekg's escapes, which would turn a
// non-ASCII octet into four printable characters and hide it from the
// syntax check (RFC 7208 §3.1 allows only ASCII).
func txtStrings(ans *dnsclient.Answer) []string {
	var out []string
	for _, rr := range ans.Records {
		t, ok := rr.(*dns.TXT)
		if !ok {
			continue
		}
		var b strings.Builder
		for _, s := range t.Txt {
			b.WriteString(unescape(s))
		}
		out = append(out, b.String())
	}
	return out
}

// isSubdomain reports whether name is domain or below it, comparing whole
// labels with ASCII case folded (RFC 7208 §5.5).
func isSubdomain(name, domain string) bool {
	name, domain = lowerASCII(strings.TrimSuffix(name, ".")), lowerASCII(strings.TrimSuffix(domain, "."))
	if name == domain {
		return true
	}
	return strings.HasSuffix(name, "."+domain)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
