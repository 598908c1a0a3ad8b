package dnsbl

import "strconv"

// DefaultConfig is the configuration of an empty `dnsbl: {}` block: the
// widely used public lists that answer free of charge for low volumes. It
// is the one source of the default lists: config.example.yml shows them,
// with each list's usage terms for the people who configure it, and a
// test in package config holds that file equal to the built-in default.
// Where each list's codes come from is said beside it.
//
// Severities follow what each list's documentation tells receivers to do
// with a listing: critical where it says to refuse the mail (and lists for
// spam or abuse seen), warning where it says to score or tag rather than
// refuse, or lists by policy or for the abuse of a legitimate domain, info
// where it warns of false positives. Lists that list whole networks for
// their neighbours' spam (UCEPROTECT levels 2 and 3) are not asked by
// default; add them with severity: info.
func DefaultConfig() Config {
	// Spamhaus' error codes: 127.255.255.254 public/open resolver and .255
	// excessive queries (https://www.spamhaus.org/news/article/788/), .252
	// a typo in the DNSBL name (Spamhaus DNSBL usage FAQ, return code
	// table).
	spamhausErrors := map[string]string{
		"127.255.255.252": "typo in the DNSBL name",
		"127.255.255.254": "query via public/open resolver",
		"127.255.255.255": "excessive number of queries",
	}
	// 127.0.1.255 answers an IP query sent to the DBL, a domain list.
	dblErrors := map[string]string{"127.0.1.255": "IP queries prohibited"}
	for k, v := range spamhausErrors {
		dblErrors[k] = v
	}
	return Config{
		MaxConcurrency: DefaultMaxConcurrency,
		CheckHealth:    true,
		MXSends:        MXSendsAuto,
		Lists: []List{
			// Spamhaus ZEN: SBL, CSS, XBL, PBL, DROP and BCL in one zone,
			// IPv6 by RFC 5782 nibbles (Spamhaus IPv6 blocklists strategy
			// statement, S012). Codes: https://docs.spamhaus.com/datasets/docs/source/10-data-type-documentation/datasets/040-zones.html
			// (127.0.0.5-7 are "currently unused" XBL codes).
			{
				Zone: "zen.spamhaus.org", Name: "Spamhaus ZEN", Kind: KindIP, IPv6: true,
				// Free use ends at 300,000 queries a day for ZEN and DBL
				// together (https://www.spamhaus.org/organization/dnsblusage/):
				// half each.
				DailyQueryBudget: 150000,
				Codes: map[string]string{
					"127.0.0.2":  "SBL",
					"127.0.0.3":  "CSS",
					"127.0.0.4":  "XBL",
					"127.0.0.5":  "XBL",
					"127.0.0.6":  "XBL",
					"127.0.0.7":  "XBL",
					"127.0.0.9":  "DROP",
					"127.0.0.10": "PBL",
					"127.0.0.11": "PBL",
					"127.0.0.30": "BCL",
				},
				ErrorCodes: spamhausErrors,
				// SBL, CSS, XBL, DROP and BCL are what ZEN users refuse mail
				// for. "The PBL is not a blacklist" (Spamhaus PBL FAQ): it
				// lists address space that should not send directly, by the
				// ISP's or Spamhaus' policy; receivers using ZEN refuse such
				// an address's direct mail, but it says nothing of spam, and
				// an owner lifts it through the PBL's self-service removal.
				Severity:   SeverityCritical,
				Severities: map[string]Severity{"127.0.0.10": SeverityWarning, "127.0.0.11": SeverityWarning},
			},
			// Spamhaus DBL: domains, codes from the same zone table;
			// Spamhaus documents dbltest.com as its test entry.
			{
				Zone: "dbl.spamhaus.org", Name: "Spamhaus DBL", Kind: KindDomain, TestPoint: "dbltest.com",
				DailyQueryBudget: 150000,
				Codes: map[string]string{
					"127.0.1.2":   "spam domain",
					"127.0.1.4":   "phishing domain",
					"127.0.1.5":   "malware domain",
					"127.0.1.6":   "botnet C&C domain",
					"127.0.1.102": "abused legit domain",
					"127.0.1.103": "abused redirector",
					"127.0.1.104": "abused legit phish",
					"127.0.1.105": "abused legit malware",
					"127.0.1.106": "abused legit botnet C&C",
				},
				ErrorCodes: dblErrors,
				// "Abused legit" codes list a legitimate domain whose site
				// or account was abused, kept apart from the domains run by
				// spammers so receivers can treat them differently (Spamhaus
				// DBL FAQ).
				Severity: SeverityCritical,
				Severities: map[string]Severity{
					"127.0.1.102": SeverityWarning,
					"127.0.1.103": SeverityWarning,
					"127.0.1.104": SeverityWarning,
					"127.0.1.105": SeverityWarning,
					"127.0.1.106": SeverityWarning,
				},
			},
			// SpamCop Blocking List answers 127.0.0.2
			// (https://www.spamcop.net/bl.shtml).
			{
				Zone: "bl.spamcop.net", Name: "SpamCop", Kind: KindIP,
				Codes: map[string]string{"127.0.0.2": "SCBL"},
				// "SpamCop encourages SCBL users to tag and divert email,
				// rather than block it outright" (bl.shtml).
				Severity: SeverityWarning,
			},
			// UCEPROTECT level 1, single addresses seen at spam traps
			// (levels 2 and 3 list whole allocations and are left out);
			// answers 127.0.0.2.
			{
				Zone: "dnsbl-1.uceprotect.net", Name: "UCEPROTECT level 1", Kind: KindIP,
				Codes: map[string]string{"127.0.0.2": "UCEPROTECT-1"},
				// Its policy page recommends level 1 for blocking.
				Severity: SeverityCritical,
			},
			// Passive Spam Block List answers 127.0.0.2
			// (http://psbl.surriel.com/howto/).
			{
				Zone: "psbl.surriel.com", Name: "PSBL", Kind: KindIP,
				Codes: map[string]string{"127.0.0.2": "PSBL"},
				// Its how-to configures MTAs to refuse listed addresses.
				Severity: SeverityCritical,
			},
			// Mailspike BL: a spam wave (127.0.0.2, z.mailspike.net) or
			// reputation L3-L5 (127.0.0.12-10, rep.mailspike.net)
			// (https://mailspike.org/usage.html).
			{
				Zone: "bl.mailspike.net", Name: "Mailspike", Kind: KindIP,
				// Free below 100,000 DNS queries a day.
				DailyQueryBudget: 100000,
				Codes: map[string]string{
					"127.0.0.2":  "Z spam wave",
					"127.0.0.10": "L5 worst reputation",
					"127.0.0.11": "L4 very bad reputation",
					"127.0.0.12": "L3 bad reputation",
				},
				// bl.mailspike.net: "Recommended action: Block at MTA level".
				Severity: SeverityCritical,
			},
			// SURBL multi: bits 8 PH, 16 MW, 64 ABUSE, 128 CR (SURBL's list
			// documentation); 127.0.0.1 means the query was blocked
			// (SpamAssassin's SURBL_BLOCKED).
			{
				Zone: "multi.surbl.org", Name: "SURBL", Kind: KindDomain,
				Codes:      bitmaskCodes([]string{"PH", "MW", "ABUSE", "CR"}, []int{8, 16, 64, 128}),
				ErrorCodes: map[string]string{"127.0.0.1": "access blocked"},
				// Every part is abuse seen in mail: phishing, malware,
				// spam, cracked sites.
				Severity: SeverityCritical,
			},
			// URIBL multi: bits 2 black, 4 grey, 8 red
			// (https://uribl.com/about.shtml); 127.0.0.1 answers every
			// refused query (https://uribl.com/refused.shtml).
			{
				Zone: "multi.uribl.com", Name: "URIBL", Kind: KindDomain,
				Codes:      bitmaskCodes([]string{"black", "grey", "red"}, []int{2, 4, 8}),
				ErrorCodes: map[string]string{"127.0.0.1": "query refused"},
				// Grey "can and probably will cause false positives", and red
				// is an automated list of new or privacy-protected domains
				// that URIBL advises to use with caution: only black, alone
				// or combined, is a listing to act on.
				Severity: SeverityCritical,
				Severities: bitmaskSeverities([]string{"black", "grey", "red"}, []int{2, 4, 8},
					[]Severity{SeverityCritical, SeverityInfo, SeverityInfo}, SeverityCritical),
			},
			// DNSWL, an allowlist: 127.0.CATEGORY.TRUST codes are reported
			// as "unmapped"; 127.0.0.255 answers a query over the limit
			// (dnswl.org return codes). Barracuda BRBL is not here: every
			// resolver that asks it must be registered first.
			{
				Zone: "list.dnswl.org", Name: "DNSWL", Kind: KindAllow, IPv6: true,
				// Free for non-commercial use below 100,000 queries a day
				// (https://www.dnswl.org/?page_id=110).
				DailyQueryBudget: 100000,
				ErrorCodes:       map[string]string{"127.0.0.255": "query refused, over the free limit"},
			},
		},
	}
}

// bitmaskSeverities gives each combination of a bitmask list's bits
// (bitmaskCodes) the highest severity of its parts, where that differs
// from the list's severity.
func bitmaskSeverities(names []string, bits []int, severities []Severity, list Severity) map[string]Severity {
	out := map[string]Severity{}
	for set := 1; set < 1<<len(bits); set++ {
		sum, sev := 0, SeverityInfo
		for i := range bits {
			if set&(1<<i) == 0 {
				continue
			}
			sum += bits[i]
			if severities[i].rank() > sev.rank() {
				sev = severities[i]
			}
		}
		if sev != list {
			out["127.0.0."+strconv.Itoa(sum)] = sev
		}
	}
	return out
}

// bitmaskCodes spells out the return codes of a list whose last octet is a
// sum of bits (SURBL, URIBL): every non-empty combination, named by its
// parts joined with "+". The codes map holds exact addresses, so a
// combination has to be listed to get a meaning.
func bitmaskCodes(names []string, bits []int) map[string]string {
	out := map[string]string{}
	for set := 1; set < 1<<len(bits); set++ {
		sum, meaning := 0, ""
		for i := range bits {
			if set&(1<<i) == 0 {
				continue
			}
			sum += bits[i]
			if meaning != "" {
				meaning += "+"
			}
			meaning += names[i]
		}
		out["127.0.0."+strconv.Itoa(sum)] = meaning
	}
	return out
}
