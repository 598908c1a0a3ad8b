package dmarc

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/tagvalue"
)

// The policies of RFC 7489 §6.3 (p=, sp=) and DMARCbis (np=).
const (
	PolicyNone       = "none"
	PolicyQuarantine = "quarantine"
	PolicyReject     = "reject"
)

// Policies lists the policies from the weakest to the strictest.
var Policies = []string{PolicyNone, PolicyQuarantine, PolicyReject}

func validPolicy(p string) bool {
	return p == PolicyNone || p == PolicyQuarantine || p == PolicyReject
}

// URI is one report destination of rua= or ruf= (RFC 7489 §6.4: a URI,
// optionally followed by "!" and a size limit).
type URI struct {
	// Raw is the URI as written, without the size limit.
	Raw string
	// Limit is the size limit as written ("10m"), or "".
	Limit string
	// Scheme is the URI scheme in lower case ("mailto").
	Scheme string
	// Address is a mailto: URI's addr-spec, percent-decoded.
	Address string
	// Domain is a mailto: URI's domain (or another URI's host), in lower
	// case and without a trailing dot.
	Domain string
	// Problem says why the URI is not usable; "" for a valid one.
	Problem string
}

// Valid reports whether the URI is syntactically usable.
func (u URI) Valid() bool { return u.Problem == "" }

// Mailto reports whether the URI is a valid mailto: URI, the one scheme
// every receiver must support (RFC 7489 §6.2).
func (u URI) Mailto() bool { return u.Valid() && u.Scheme == "mailto" }

// Record is a parsed DMARC record (RFC 7489 §6.3, with the DMARCbis tags
// np=, t= and psd=).
type Record struct {
	// Text is the record as published, its strings joined.
	Text string
	Tags *tagvalue.List
	// Policy is p= in lower case as written ("" when absent).
	Policy string
	// EffectivePolicy is the policy receivers apply: p=, or "none" when
	// p= (or sp=) is missing or invalid but rua= holds a valid URI
	// (RFC 7489 §6.6.3).
	EffectivePolicy string
	// SubdomainPolicy is sp= in lower case, "" when absent.
	SubdomainPolicy string
	// EffectiveSubdomainPolicy is what applies to subdomains: sp=, or the
	// effective policy when sp= is absent (RFC 7489 §6.3).
	EffectiveSubdomainPolicy string
	// NonexistentPolicy is DMARCbis' np= in lower case, "".
	NonexistentPolicy string
	// ADKIM and ASPF are the alignment modes, "r" by default.
	ADKIM, ASPF string
	// Pct is pct= (100 by default); PctSet says pct= was given and valid.
	Pct    int
	PctSet bool
	// FO and RF are the fo= and rf= lists in lower case.
	FO, RF []string
	// RI is the aggregate report interval in seconds (86400 by default).
	RI uint64
	// RUA and RUF are the report destinations.
	RUA, RUF []URI
	// Testing is DMARCbis' t= ("y", "n"), PSD its psd= ("y", "n", "u").
	Testing, PSD string
	// Unknown lists the tags receivers ignore (RFC 7489 §6.3: unknown
	// tags MUST be ignored).
	Unknown []string
	// Problems are invalid tag values, one line each; the record still
	// applies (receivers ignore what they cannot use), but it does not
	// say what its author meant.
	Problems []string

	tags map[string]tagvalue.Tag // by lower-case name
}

// RecordError says why a text is not a DMARC record receivers apply, and
// what to publish instead when that can be said.
type RecordError struct {
	Reason string
	Fix    string // a corrected record, or ""
}

func (e *RecordError) Error() string { return e.Reason }

// versionRE matches the start of a DMARC record: "v", "=", and exactly
// DMARC1 (RFC 7489 §6.4 spells it in hex, so case-sensitively), ending the
// tag.
var versionRE = regexp.MustCompile(`^[ \t]*[vV][ \t]*=[ \t]*DMARC1[ \t]*(;|$)`)

// looksLikeDMARC matches TXT records written as DMARC records that
// receivers nevertheless discard: the version tag later than first,
// DMARC1 in another case, or no ";" after it.
var looksLikeDMARC = regexp.MustCompile(`(?i)^[ \t]*v[ \t]*=[ \t]*dmarc1|;[ \t]*v[ \t]*=[ \t]*dmarc1[ \t]*(;|$)`)

// IsRecord reports whether a TXT record is a DMARC record as receivers
// select them: it starts with v=DMARC1 (RFC 7489 §6.6.3 step 4).
func IsRecord(txt string) bool { return versionRE.MatchString(txt) }

// LooksLikeRecord reports whether a TXT record that IsRecord rejects was
// meant as a DMARC record.
func LooksLikeRecord(txt string) bool { return !IsRecord(txt) && looksLikeDMARC.MatchString(txt) }

// knownTags are the tags of RFC 7489 §6.3 and DMARCbis.
var knownTags = map[string]bool{
	"v": true, "p": true, "sp": true, "np": true, "adkim": true, "aspf": true,
	"pct": true, "fo": true, "rf": true, "ri": true, "rua": true, "ruf": true,
	"t": true, "psd": true,
}

// maxURIs bounds the destinations of one tag that are parsed (RFC 7489
// §6.2 lets receivers stop at two; a record is at most 64 KiB anyway).
const maxURIs = 16

// Parse parses a DMARC record strictly: a text receivers would not apply
// is a *RecordError; a record they apply with some tags ignored parses
// with those tags listed in Problems.
func Parse(text string) (*Record, error) {
	tags, err := tagvalue.Parse(text)
	if err != nil {
		return nil, &RecordError{Reason: "not a tag=value list (RFC 7489 §6.4): " + err.Error(), Fix: repairText(text)}
	}
	r := &Record{Text: text, Tags: tags, tags: map[string]tagvalue.Tag{},
		ADKIM: "r", ASPF: "r", Pct: 100, RI: 86400}
	for _, t := range tags.Tags {
		name := strings.ToLower(t.Name)
		if first, dup := r.tags[name]; dup {
			// Tag names are case-insensitive in DMARC's ABNF, so "p" and
			// "P" are the same tag given twice (RFC 6376 §3.2 rule).
			return nil, &RecordError{Reason: fmt.Sprintf("tag %q appears twice (as %q and %q)", name, first.Name, t.Name),
				Fix: render(intentOfList(tags), nil)}
		}
		r.tags[name] = t
		if !knownTags[name] {
			r.Unknown = append(r.Unknown, t.Name)
		}
	}
	if v := tags.Tags[0]; strings.ToLower(v.Name) != "v" || v.Value != "DMARC1" {
		reason := "v=DMARC1 is not the first tag; RFC 7489 §6.3 requires it first, and receivers discard the record"
		if v, ok := r.tags["v"]; !ok {
			reason = "no v=DMARC1 tag; receivers discard the record"
		} else if v.Value != "DMARC1" {
			reason = fmt.Sprintf("v=%s: the version must be exactly DMARC1, and receivers discard the record", probes.OneLine(v.Value, 64))
		}
		return nil, &RecordError{Reason: reason, Fix: repairText(text)}
	}
	r.parseURIs("rua", &r.RUA)
	r.parseURIs("ruf", &r.RUF)
	validRUA := false
	for _, u := range r.RUA {
		validRUA = validRUA || u.Valid()
	}
	// RFC 7489 §6.6.3: a missing or invalid p=, or an invalid sp=, makes
	// receivers act as if p=none when rua= has a valid URI, and apply no
	// DMARC at all otherwise.
	pOK, spOK := true, true
	if p, ok := r.tags["p"]; ok {
		r.Policy = strings.ToLower(p.Value)
		if !validPolicy(r.Policy) {
			pOK = false
			r.problem("p=%s is not none, quarantine or reject", probes.OneLine(p.Value, 64))
		}
	} else {
		pOK = false
	}
	if sp, ok := r.tags["sp"]; ok {
		r.SubdomainPolicy = strings.ToLower(sp.Value)
		if !validPolicy(r.SubdomainPolicy) {
			spOK = false
			r.problem("sp=%s is not none, quarantine or reject", probes.OneLine(sp.Value, 64))
		}
	}
	switch {
	case pOK && spOK:
		r.EffectivePolicy = r.Policy
		r.EffectiveSubdomainPolicy = r.SubdomainPolicy
		if r.EffectiveSubdomainPolicy == "" {
			r.EffectiveSubdomainPolicy = r.Policy
		}
	case validRUA:
		r.EffectivePolicy, r.EffectiveSubdomainPolicy = PolicyNone, PolicyNone
	default:
		var why []string
		if _, has := r.tags["p"]; !has {
			why = append(why, "no p= tag")
		} else if !pOK {
			why = append(why, fmt.Sprintf("p=%s is not none, quarantine or reject", probes.OneLine(r.tags["p"].Value, 64)))
		}
		if !spOK {
			why = append(why, fmt.Sprintf("sp=%s is not none, quarantine or reject", probes.OneLine(r.tags["sp"].Value, 64)))
		}
		reason := strings.Join(why, " and ") + " and no valid rua= URI: receivers apply no DMARC (RFC 7489 §6.6.3)"
		return nil, &RecordError{Reason: reason, Fix: r.corrected()}
	}
	if np, ok := r.tags["np"]; ok {
		r.NonexistentPolicy = strings.ToLower(np.Value)
		if !validPolicy(r.NonexistentPolicy) {
			r.problem("np=%s is not none, quarantine or reject", probes.OneLine(np.Value, 64))
			r.NonexistentPolicy = ""
		}
	}
	r.ADKIM = r.alignment("adkim")
	r.ASPF = r.alignment("aspf")
	if t, ok := r.tags["pct"]; ok {
		n, err := strconv.Atoi(t.Value)
		if err != nil || n < 0 || n > 100 || len(t.Value) > 3 {
			r.problem("pct=%s is not a whole number from 0 to 100", probes.OneLine(t.Value, 64))
		} else {
			r.Pct, r.PctSet = n, true
		}
	}
	if t, ok := r.tags["fo"]; ok {
		r.FO = r.list(t, func(e string) bool { return e == "0" || e == "1" || e == "d" || e == "s" }, "0, 1, d and s")
	}
	if t, ok := r.tags["rf"]; ok {
		// "afrf" is the only report format registered (RFC 7489 §6.3).
		r.RF = r.list(t, func(e string) bool { return e == "afrf" }, "afrf")
	}
	if t, ok := r.tags["ri"]; ok {
		n, err := strconv.ParseUint(t.Value, 10, 32)
		if err != nil {
			r.problem("ri=%s is not a number of seconds", probes.OneLine(t.Value, 64))
		} else {
			r.RI = n
		}
	}
	if t, ok := r.tags["t"]; ok {
		r.Testing = strings.ToLower(t.Value)
		if r.Testing != "y" && r.Testing != "n" {
			r.problem("t=%s is not y or n", probes.OneLine(t.Value, 64))
			r.Testing = ""
		}
	}
	if t, ok := r.tags["psd"]; ok {
		r.PSD = strings.ToLower(t.Value)
		if r.PSD != "y" && r.PSD != "n" && r.PSD != "u" {
			r.problem("psd=%s is not y, n or u", probes.OneLine(t.Value, 64))
			r.PSD = ""
		}
	}
	return r, nil
}

func (r *Record) problem(format string, args ...any) {
	r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
}

func (r *Record) alignment(name string) string {
	t, ok := r.tags[name]
	if !ok {
		return "r"
	}
	v := strings.ToLower(t.Value)
	if v != "r" && v != "s" {
		r.problem("%s=%s is not r (relaxed) or s (strict)", name, probes.OneLine(t.Value, 64))
		return "r"
	}
	return v
}

// list parses a colon-separated list, each element checked by ok.
func (r *Record) list(t tagvalue.Tag, ok func(string) bool, allowed string) []string {
	var out []string
	for _, e := range tagvalue.SplitList(t.Value, ':') {
		e = strings.ToLower(e)
		if !ok(e) {
			r.problem("%s=%s: %q is not one of %s", strings.ToLower(t.Name), probes.OneLine(t.Value, 64), probes.OneLine(e, 64), allowed)
			continue
		}
		out = append(out, e)
	}
	return out
}

// limitRE is the size limit after a report URI: "!" 1*DIGIT [k|m|g|t].
var limitRE = regexp.MustCompile(`![0-9]+[kmgtKMGT]?$`)

func (r *Record) parseURIs(name string, into *[]URI) {
	t, ok := r.tags[name]
	if !ok {
		return
	}
	elems := tagvalue.SplitList(t.Value, ',')
	if len(elems) == 0 {
		r.problem("%s= is empty", name)
		return
	}
	if len(elems) > maxURIs {
		r.problem("%s= lists %d URIs; only the first %d are looked at", name, len(elems), maxURIs)
		elems = elems[:maxURIs]
	}
	for _, e := range elems {
		u := parseURI(e)
		if u.Problem != "" {
			r.problem("%s=: %s", name, u.Problem)
		}
		*into = append(*into, u)
	}
}

// parseURI checks one report URI.
func parseURI(s string) URI {
	u := URI{Raw: s}
	if loc := limitRE.FindStringIndex(s); loc != nil {
		u.Raw, u.Limit = s[:loc[0]], s[loc[0]+1:]
	}
	if u.Raw == "" {
		u.Problem = "an empty URI"
		return u
	}
	if strings.ContainsAny(u.Raw, " \t\r\n!") {
		u.Problem = fmt.Sprintf("%q has whitespace or \"!\" in it (RFC 7489 §6.4: encode them)", probes.OneLine(u.Raw, 64))
		return u
	}
	scheme, rest, ok := strings.Cut(u.Raw, ":")
	if !ok || scheme == "" || !schemeRE.MatchString(scheme) {
		u.Problem = fmt.Sprintf("%q is not a URI; write mailto:address@domain", probes.OneLine(u.Raw, 64))
		return u
	}
	u.Scheme = strings.ToLower(scheme)
	if u.Scheme != "mailto" {
		p, err := url.Parse(u.Raw)
		if err != nil || p.Host == "" {
			u.Problem = fmt.Sprintf("%q is not a URI with a host", probes.OneLine(u.Raw, 64))
			return u
		}
		u.Domain = strings.TrimSuffix(strings.ToLower(p.Hostname()), ".")
		return u
	}
	addr, _, _ := strings.Cut(rest, "?")
	decoded, err := url.PathUnescape(addr)
	if err != nil {
		u.Problem = fmt.Sprintf("%q has a broken %%-escape", probes.OneLine(u.Raw, 64))
		return u
	}
	u.Address = decoded
	at := strings.LastIndexByte(decoded, '@')
	switch {
	case decoded == "":
		u.Problem = fmt.Sprintf("%q has no address after mailto:", probes.OneLine(u.Raw, 64))
	case at <= 0:
		u.Problem = fmt.Sprintf("%q: %q is not an address (local-part@domain)", probes.OneLine(u.Raw, 64), probes.OneLine(decoded, 64))
	case !validDomain(strings.TrimSuffix(decoded[at+1:], ".")):
		u.Problem = fmt.Sprintf("%q: %q is not a domain name", probes.OneLine(u.Raw, 64), probes.OneLine(decoded[at+1:], 64))
	default:
		u.Domain = strings.ToLower(strings.TrimSuffix(decoded[at+1:], "."))
	}
	return u
}

var schemeRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*$`)

// validDomain accepts a host name of two or more labels of letters,
// digits and hyphens (A-labels for internationalised names).
func validDomain(d string) bool {
	if len(d) == 0 || len(d) > 253 || !strings.Contains(d, ".") {
		return false
	}
	for _, l := range strings.Split(d, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// Corrected renders the record the way it should be published: v=DMARC1
// first, p= present (the policy meant, read off a misspelt value; none
// when there is none), invalid values and unknown tags dropped or repaired
// where their meaning is plain (Repair), the rest in the order written.
func (r *Record) Corrected() string { return r.corrected() }

func (r *Record) corrected() string { return r.with(nil) }

// with renders the corrected record with some tags set ("" removes one).
func (r *Record) with(set map[string]string) string { return render(intentOfList(r.Tags), set) }

// repairText is Repair of a text receivers discard, or "" when nothing of
// a DMARC record can be read off it.
func repairText(text string) string {
	for _, t := range intentOf(text) {
		if t.name != "v" {
			return Repair(text, nil)
		}
	}
	return ""
}
