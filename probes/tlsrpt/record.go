package tlsrpt

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/txtfields"
)

// The schemes RFC 8460 §3 defines for rua= URIs.
const (
	SchemeMailto = "mailto"
	SchemeHTTPS  = "https"
)

// Field is one name=value pair of the record.
type Field = txtfields.Field

// URI is one report destination of rua=.
type URI struct {
	// Raw is the URI as written.
	Raw string
	// Scheme is in lower case ("mailto", "https", or another).
	Scheme string
	// Address is a mailto: URI's addr-spec, percent-decoded.
	Address string
	// Host is a mailto: URI's domain or an https: URI's host, in lower
	// case.
	Host string
	// Problem says why reporters cannot use the URI; "" for a valid one.
	Problem string
}

// Valid reports whether reporters can send to the URI.
func (u URI) Valid() bool { return u.Problem == "" }

// Record is a parsed _smtp._tls TXT record (RFC 8460 §3).
type Record struct {
	// Text is the record as published, its strings joined.
	Text string
	// RUA are the report destinations in the order written.
	RUA []URI
	// Extensions are the fields other than v and rua; reporters ignore
	// them.
	Extensions []Field
	// Duplicates names fields given more than once; the first counts.
	Duplicates []string
}

// ValidRUA returns the destinations reporters can use.
func (r *Record) ValidRUA() []URI {
	var out []URI
	for _, u := range r.RUA {
		if u.Valid() {
			out = append(out, u)
		}
	}
	return out
}

// RecordError says why a TXT record that starts with v=TLSRPTv1 is not
// one reporters accept, and at which byte offset.
type RecordError = txtfields.Error

// recordPrefix is the version field every TLS-RPT record starts with,
// exactly so: %s"v=TLSRPTv1" is case-sensitive (RFC 7405).
const recordPrefix = "v=TLSRPTv1"

// maxURIs bounds the destinations parsed from one record (a TXT record is
// at most 64 KiB anyway).
const maxURIs = 32

// IsRecord reports whether a TXT record is one reporters select: it begins
// with "v=TLSRPTv1", then the field separator or nothing (RFC 8460 §3:
// records that do not begin with "v=TLSRPTv1;" are discarded; the grammar
// allows whitespace before the ";", so such records are selected and the
// parser judges them).
func IsRecord(txt string) bool { return txtfields.HasVersion(txt, recordPrefix) }

// looksLikeTLSRPT matches TXT records written as TLS-RPT records that
// reporters nevertheless discard: another case, whitespace before or
// around the "=".
var looksLikeTLSRPT = regexp.MustCompile(`(?i)^[ \t]*v[ \t]*=[ \t]*tlsrptv1([ \t;]|$)`)

// LooksLikeRecord reports whether a TXT record that IsRecord rejects was
// meant as a TLS-RPT record.
func LooksLikeRecord(txt string) bool { return !IsRecord(txt) && looksLikeTLSRPT.MatchString(txt) }

// Parse parses a _smtp._tls TXT record strictly by RFC 8460 §3:
//
//	tlsrpt-record    = tlsrpt-version 1*(field-delim tlsrpt-field) [field-delim]
//	field-delim      = *WSP ";" *WSP
//	tlsrpt-field     = tlsrpt-rua / tlsrpt-extension
//	tlsrpt-version   = %s"v=TLSRPTv1"
//	tlsrpt-rua       = %s"rua=" tlsrpt-uri *(*WSP "," *WSP tlsrpt-uri)
//	tlsrpt-uri       = URI                     ; RFC 3986, "," and "!" encoded
//	tlsrpt-extension = tlsrpt-ext-name "=" tlsrpt-ext-value
//	tlsrpt-ext-name  = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
//	tlsrpt-ext-value = 1*(%x21-3A / %x3C / %x3E-7E)
//
// A record that breaks the grammar is an error (reporters then send no
// reports at all); a well-formed URI reporters cannot use (another scheme,
// a mailto: without an address) parses with its Problem set, as reporters
// skip it and use the others.
//
// The fields are read by probes/txtfields, as the MTA-STS record (RFC 8461
// §3.1) shares this grammar and the tag=value parser (probes/tagvalue,
// RFC 6376 §3.2) does not fit it; rua= is read here.
func Parse(txt string) (*Record, error) {
	if !strings.HasPrefix(txt, recordPrefix) {
		return nil, &RecordError{Msg: fmt.Sprintf("the record does not start with %q", recordPrefix)}
	}
	r := &Record{Text: txt}
	sc := txtfields.Scanner{Text: txt, Pos: len(recordPrefix),
		TrailingSpace: "whitespace after the last field (RFC 8460 §3 allows it only around \";\")",
		// The wording of TLS-RPT's messages: line breaks named by their
		// codes, and "a==b" reported as an empty value.
		DescribeByte: describe, EmptyBeforeBadByte: true}
	seen := map[string]bool{}
	fields := 0
	for {
		more, err := sc.Next()
		if err != nil {
			return nil, err
		}
		if !more {
			break
		}
		name, err := sc.Name()
		if err != nil {
			return nil, err
		}
		fields++
		dup := seen[name]
		seen[name] = true
		if dup {
			r.Duplicates = append(r.Duplicates, name)
		}
		if name == "rua" {
			uris, err := readRUA(&sc)
			if err != nil {
				return nil, err
			}
			if !dup {
				r.RUA = uris
			}
			continue
		}
		value, err := sc.Value(name)
		if err != nil {
			return nil, err
		}
		if !dup {
			r.Extensions = append(r.Extensions, Field{Name: name, Value: value})
		}
	}
	switch {
	case fields == 0:
		return nil, &RecordError{Pos: len(txt), Msg: `the record has no fields after v=TLSRPTv1; it needs "rua=" (RFC 8460 §3)`}
	case !seen["rua"]:
		return nil, &RecordError{Pos: len(txt), Msg: `the record has no "rua=" field, so reporters know nowhere to send reports (RFC 8460 §3)`}
	}
	return r, nil
}

// readRUA reads rua's list: URIs separated by commas with optional
// whitespace around them, up to the next ";" or the end.
func readRUA(sc *txtfields.Scanner) ([]URI, error) {
	end := strings.IndexByte(sc.Text[sc.Pos:], ';')
	if end < 0 {
		end = len(sc.Text)
	} else {
		end += sc.Pos
	}
	list := strings.TrimRight(sc.Text[sc.Pos:end], " \t")
	if list == "" {
		return nil, sc.Errorf("rua= is empty")
	}
	start := sc.Pos
	sc.Pos += len(list)
	var out []URI
	for n, part := range strings.Split(list, ",") {
		raw := strings.Trim(part, " \t")
		switch {
		case n == maxURIs:
			return nil, &RecordError{Pos: start, Msg: fmt.Sprintf("rua= lists more than %d destinations", maxURIs)}
		case n == 0 && len(part) > 0 && txtfields.IsWSP(part[0]):
			return nil, &RecordError{Pos: start, Msg: "whitespace after \"rua=\"; write rua=URI without spaces"}
		case raw == "":
			return nil, &RecordError{Pos: start, Msg: fmt.Sprintf("rua= has an empty entry (a stray comma) in %q", probes.Clip(list, 200))}
		}
		if err := uriSyntax(raw); err != nil {
			return nil, &RecordError{Pos: start, Msg: fmt.Sprintf("rua= entry %q is not a URI: %s", probes.Clip(raw, 200), err)}
		}
		out = append(out, judgeURI(raw))
	}
	return out, nil
}

// uriSyntax checks the shape of RFC 3986's URI: a scheme, ":", and only
// characters a URI may hold (reserved, unreserved, percent-encoded).
func uriSyntax(s string) error {
	colon := strings.IndexByte(s, ':')
	if colon < 1 {
		return fmt.Errorf("no scheme (such as mailto: or https:)")
	}
	for i := 0; i < colon; i++ {
		c := s[i]
		if !(isAlpha(c) || i > 0 && (isDigit(c) || c == '+' || c == '-' || c == '.')) {
			return fmt.Errorf("%s in the scheme", describe(c))
		}
	}
	for i := colon + 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return fmt.Errorf("a %% not followed by two hex digits")
			}
			i += 2
		case isAlpha(c) || isDigit(c) || strings.IndexByte("-._~:/?#[]@!$&'()*+,;=", c) >= 0:
		default:
			return fmt.Errorf("%s, which a URI must percent-encode", describe(c))
		}
	}
	return nil
}

// judgeURI says whether reporters can use a syntactically valid URI.
func judgeURI(raw string) URI {
	u := URI{Raw: raw}
	colon := strings.IndexByte(raw, ':')
	u.Scheme = strings.ToLower(raw[:colon])
	switch u.Scheme {
	case SchemeMailto:
		judgeMailto(&u, raw[colon+1:])
	case SchemeHTTPS:
		judgeHTTPS(&u)
	case "http":
		u.Problem = "http: is not a report destination; RFC 8460 §3 allows https: (and mailto:) only"
	default:
		u.Problem = fmt.Sprintf("%s: is not a report destination; RFC 8460 §3 defines mailto: and https:", u.Scheme)
	}
	return u
}

// judgeMailto checks a mailto: URI (RFC 6068) for one address.
func judgeMailto(u *URI, rest string) {
	to, _, _ := strings.Cut(rest, "?")
	addr, err := url.PathUnescape(to)
	if err != nil {
		u.Problem = "the address does not percent-decode: " + err.Error()
		return
	}
	if strings.Contains(addr, ",") {
		u.Problem = "one mailto: URI names several addresses; give each its own URI, separated by commas"
		return
	}
	local, domain, ok := strings.Cut(addr, "@")
	switch {
	case addr == "":
		u.Problem = "mailto: without an address"
		return
	case !ok || local == "" || strings.Contains(domain, "@"):
		u.Problem = fmt.Sprintf("%q is not an e-mail address (local-part@domain)", probes.Clip(addr, 100))
		return
	}
	name, err := probes.NormalizeName(domain)
	if err != nil {
		u.Problem = fmt.Sprintf("the domain of %q: %s", probes.Clip(addr, 100), err)
		return
	}
	u.Address, u.Host = local+"@"+name, name
}

// judgeHTTPS checks an https: URI for a host to post reports to.
func judgeHTTPS(u *URI) {
	parsed, err := url.Parse(u.Raw)
	if err != nil {
		u.Problem = "does not parse: " + err.Error()
		return
	}
	host := parsed.Hostname()
	if host == "" {
		u.Problem = "https: without a host"
		return
	}
	if ip := net.ParseIP(host); ip != nil {
		u.Host = ip.String()
		return
	}
	name, err := probes.NormalizeName(host)
	if err != nil {
		u.Problem = fmt.Sprintf("the host %q: %s", probes.Clip(host, 100), err)
		return
	}
	u.Host = name
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isHex(c byte) bool   { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// describe names a byte for an error message as probes.DescribeByte does,
// but for line breaks, which TLS-RPT's messages name by their codes ("the
// control character 0x0a") where MTA-STS's say "a line feed".
func describe(c byte) string {
	if c == '\r' || c == '\n' {
		return fmt.Sprintf("the control character 0x%02x", c)
	}
	return probes.DescribeByte(c)
}
