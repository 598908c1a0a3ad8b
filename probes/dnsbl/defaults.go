package dnsbl

import "strconv"

// DefaultConfig is the configuration of an empty `dnsbl: {}` block: the
// widely used public lists that answer free of charge for low volumes. The
// same set, with each list's usage terms and the sources of its return
// codes, is example_lists.yml (the block config.example.yml carries); a
// test keeps the two equal. Where a fact comes from is stated there.
func DefaultConfig() Config {
	spamhausErrors := map[string]string{
		"127.255.255.252": "typo in the DNSBL name",
		"127.255.255.254": "query via public/open resolver",
		"127.255.255.255": "excessive number of queries",
	}
	dblErrors := map[string]string{"127.0.1.255": "IP queries prohibited"}
	for k, v := range spamhausErrors {
		dblErrors[k] = v
	}
	return Config{
		MaxConcurrency: DefaultMaxConcurrency,
		CheckHealth:    true,
		Lists: []List{
			{
				Zone: "zen.spamhaus.org", Name: "Spamhaus ZEN", Kind: KindIP, IPv6: true,
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
			},
			{
				Zone: "dbl.spamhaus.org", Name: "Spamhaus DBL", Kind: KindDomain, TestPoint: "dbltest.com",
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
			},
			{
				Zone: "bl.spamcop.net", Name: "SpamCop", Kind: KindIP,
				Codes: map[string]string{"127.0.0.2": "SCBL"},
			},
			{
				Zone: "dnsbl-1.uceprotect.net", Name: "UCEPROTECT level 1", Kind: KindIP,
				Codes: map[string]string{"127.0.0.2": "UCEPROTECT-1"},
			},
			{
				Zone: "psbl.surriel.com", Name: "PSBL", Kind: KindIP,
				Codes: map[string]string{"127.0.0.2": "PSBL"},
			},
			{
				Zone: "bl.mailspike.net", Name: "Mailspike", Kind: KindIP,
				Codes: map[string]string{
					"127.0.0.2":  "Z spam wave",
					"127.0.0.10": "L5 worst reputation",
					"127.0.0.11": "L4 very bad reputation",
					"127.0.0.12": "L3 bad reputation",
				},
			},
			{
				Zone: "multi.surbl.org", Name: "SURBL", Kind: KindDomain,
				Codes:      bitmaskCodes([]string{"PH", "MW", "ABUSE", "CR"}, []int{8, 16, 64, 128}),
				ErrorCodes: map[string]string{"127.0.0.1": "access blocked"},
			},
			{
				Zone: "multi.uribl.com", Name: "URIBL", Kind: KindDomain,
				Codes:      bitmaskCodes([]string{"black", "grey", "red"}, []int{2, 4, 8}),
				ErrorCodes: map[string]string{"127.0.0.1": "query refused"},
			},
			{
				Zone: "list.dnswl.org", Name: "DNSWL", Kind: KindAllow, IPv6: true,
				ErrorCodes: map[string]string{"127.0.0.255": "query refused, over the free limit"},
			},
		},
	}
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
