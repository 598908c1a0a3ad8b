package dmarc

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/deliverability-exporter/deliverability_exporter/probes/tagvalue"
)

// A remediation that corrects a DMARC record must keep what its author
// meant (issue 15): a record that says p=reject, however broken, is never
// "corrected" to p=none, and its report destinations are never dropped
// when their meaning is plain. The record to publish is rebuilt from the
// author's intent: the tags as written (or, for a text that is not a
// tag=value list, as they can be read off it), with what receivers would
// reject repaired where the meaning is plain and dropped where it is not.

// tag is one tag of an author's intent.
type tag struct{ name, value string }

// tagStartRE finds where a known DMARC tag starts in a text that may not be
// a tag=value list: at the start, or after ";", "," or whitespace (records
// written with commas or spaces between the tags).
var tagStartRE = regexp.MustCompile(`(?i)(?:^|[;,\s])\s*(v|p|sp|np|adkim|aspf|pct|fo|rf|ri|rua|ruf|t|psd)\s*=`)

// intentOf reads the tags a text meant, however it is broken: each known
// tag name followed by "=", its value running to the next one.
func intentOf(text string) []tag {
	locs := tagStartRE.FindAllStringSubmatchIndex(text, -1)
	out := make([]tag, 0, len(locs))
	for i, loc := range locs {
		end := len(text)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		value, _, _ := strings.Cut(text[loc[1]:end], ";") // no value holds one (RFC 7489 §6.4)
		out = append(out, tag{name: strings.ToLower(text[loc[2]:loc[3]]), value: strings.Trim(value, " \t\r\n,")})
	}
	return out
}

// intentOfList is the intent of a parsed tag=value list.
func intentOfList(l *tagvalue.List) []tag {
	out := make([]tag, 0, len(l.Tags))
	for _, t := range l.Tags {
		out = append(out, tag{name: strings.ToLower(t.Name), value: t.Value})
	}
	return out
}

// Repair renders the record a DMARC text (one record, or several joined)
// meant, for a remediation: v=DMARC1 first; p= the policy meant (a
// misspelt one read as the policy it spells; none only when the text names
// no policy at all); the other known tags in the order written, each once;
// a tag given more than once keeps its strictest policy, or all its report
// destinations; an address without "mailto:" gets it; what has no plain
// meaning is dropped. set overrides tags ("" removes one).
func Repair(text string, set map[string]string) string {
	return render(intentOf(text), set)
}

// render is Repair of an intent.
func render(tags []tag, set map[string]string) string {
	values := map[string]string{}
	var order []string
	for _, t := range tags {
		if !knownTags[t.name] || t.name == "v" {
			continue
		}
		v, ok := repairValue(t.name, t.value)
		if !ok || !publishable(v) {
			continue
		}
		prev, seen := values[t.name]
		switch {
		case !seen:
			order = append(order, t.name)
			values[t.name] = v
		case t.name == "p" || t.name == "sp" || t.name == "np":
			if policyRank(v) > policyRank(prev) {
				values[t.name] = v
			}
		case t.name == "rua" || t.name == "ruf":
			values[t.name] = joinURIs(prev, v)
		}
	}
	p, ok := values["p"]
	if !ok {
		p = PolicyNone
	}
	if v, ok := set["p"]; ok {
		p = v
	}
	parts := []string{"v=DMARC1", "p=" + p}
	done := map[string]bool{"p": true}
	for _, name := range order {
		if done[name] {
			continue
		}
		done[name] = true
		value := values[name]
		if v, ok := set[name]; ok {
			value = v
		}
		if value != "" {
			parts = append(parts, name+"="+value)
		}
	}
	for _, name := range []string{"sp", "pct", "rua", "ruf"} {
		if v, ok := set[name]; ok && v != "" && !done[name] {
			parts = append(parts, name+"="+v)
		}
	}
	return strings.Join(parts, "; ")
}

// repairValue returns a tag's value as it should be published, and
// whether anything with a plain meaning is left.
func repairValue(name, value string) (string, bool) {
	v := strings.ToLower(tagvalue.TrimWSP(value))
	switch name {
	case "p", "sp", "np":
		// One word; what follows a comma or a space is not the policy.
		if i := strings.IndexAny(v, ", \t"); i >= 0 {
			v = v[:i]
		}
		return intendedPolicy(v)
	case "adkim", "aspf":
		return v, v == "r" || v == "s"
	case "pct":
		n, err := strconv.Atoi(v)
		return v, err == nil && n >= 0 && n <= 100 && len(v) <= 3
	case "ri":
		_, err := strconv.ParseUint(v, 10, 32)
		return v, err == nil
	case "t":
		return v, v == "y" || v == "n"
	case "psd":
		return v, v == "y" || v == "n" || v == "u"
	case "fo", "rf":
		var keep []string
		for _, e := range tagvalue.SplitList(v, ':') {
			if name == "fo" && (e == "0" || e == "1" || e == "d" || e == "s") || name == "rf" && e == "afrf" {
				keep = append(keep, e)
			}
		}
		return strings.Join(keep, ":"), len(keep) > 0
	case "rua", "ruf":
		var keep []string
		for _, e := range tagvalue.SplitList(value, ',') {
			if u := parseURI(e); u.Valid() {
				keep = append(keep, e)
			} else if u := parseURI("mailto:" + e); !strings.Contains(e, ":") && u.Valid() {
				// An address written without its scheme: what it
				// means is plain.
				keep = append(keep, "mailto:"+e)
			}
		}
		return strings.Join(keep, ","), len(keep) > 0
	}
	return value, true
}

// publishable reports whether a value can stand in a tag=value list as
// written: printable ASCII (RFC 6376 §3.2 VALCHAR) and spaces.
func publishable(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c > 0x7e || c == ';' {
			return false
		}
	}
	return true
}

// intendedPolicy reads a policy value: a valid one, or the one a misspelt
// value spells (within two edits, or its first three letters or more:
// "rejct", "quarantaine", "rej"). ok is false when it spells none.
func intendedPolicy(v string) (string, bool) {
	if validPolicy(v) {
		return v, true
	}
	for _, p := range Policies {
		if len(v) >= 3 && strings.HasPrefix(p, v) {
			return p, true
		}
	}
	best, bestDistance := "", 3
	for _, p := range Policies {
		if d := editDistance(v, p); d < bestDistance {
			best, bestDistance = p, d
		}
	}
	return best, best != ""
}

// policyRank orders the policies from none (0) to reject (2); -1 for
// anything else.
func policyRank(p string) int {
	for i, q := range Policies {
		if q == p {
			return i
		}
	}
	return -1
}

// joinURIs merges two comma-separated URI lists, each URI once.
func joinURIs(a, b string) string {
	seen := map[string]bool{}
	var out []string
	for _, e := range append(tagvalue.SplitList(a, ','), tagvalue.SplitList(b, ',')...) {
		if k := strings.ToLower(e); !seen[k] {
			seen[k] = true
			out = append(out, e)
		}
	}
	return strings.Join(out, ",")
}

// editDistance is the Levenshtein distance of two short strings.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
