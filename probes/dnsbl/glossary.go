package dnsbl

import "strings"

// glossary explains the short meanings the default lists use, so a report
// says what a listing is about, not just its name. Keys are lower case.
// Sources: Spamhaus' zone documentation (docs.spamhaus.com, "Available
// zones") and DNSBL usage FAQ; SURBL's list page (PH, MW, ABUSE, CR);
// URIBL's about page (black, grey, red); Mailspike's usage page (Z, L3-L5).
var glossary = map[string]string{
	"pbl":   "residential address space per the list's policy, not a spam report",
	"sbl":   "a spam source or spam operation verified by Spamhaus",
	"css":   "snowshoe spam detected automatically by Spamhaus",
	"xbl":   "a machine exploited by malware, a botnet or an open proxy",
	"drop":  "a hijacked or criminal network (Spamhaus DROP)",
	"bcl":   "a botnet controller",
	"scbl":  "the source of mail SpamCop users reported as spam",
	"brbl":  "the source of spam seen by Barracuda's reputation system",
	"psbl":  "the source of mail sent to PSBL's spam traps",
	"ph":    "a domain seen in phishing",
	"mw":    "a domain seen in malware",
	"abuse": "a domain seen in spam or abuse",
	"cr":    "a cracked site redirecting to spam",
	"black": "a domain used by spammers",
	"grey":  "a domain seen in bulk mail that may be solicited",
	"red":   "a new or privacy-protected domain seen in mail flow",
}

// explain returns the long form of a meaning, or "" if none is known.
// Combined meanings ("PH+MW") are explained part by part.
func explain(meaning string) string {
	key := strings.ToLower(meaning)
	if e, ok := glossary[key]; ok {
		return e
	}
	if !strings.Contains(key, "+") {
		return ""
	}
	var parts []string
	for _, p := range strings.Split(key, "+") {
		e, ok := glossary[p]
		if !ok {
			return ""
		}
		parts = append(parts, e)
	}
	return strings.Join(parts, "; ")
}

// isPolicyListing says whether a code lists address space by policy (the
// PBL: addresses that should not send mail directly), not for spam seen
// from it: the fix is a smarthost or a removal by the address's owner, not
// a clean-up.
func isPolicyListing(meaning string) bool {
	return strings.EqualFold(meaning, "pbl")
}
