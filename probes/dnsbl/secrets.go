package dnsbl

import (
	"strings"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

// keyedZoneSuffixes are blocklist services whose zone names carry the
// account's access key in front: Spamhaus' Data Query Service
// (KEY.zen.dq.spamhaus.net) and Abusix Mail Intelligence
// (KEY.combined.mail.abusix.zone).
var keyedZoneSuffixes = []string{".dq.spamhaus.net", ".mail.abusix.zone"}

// minKeyLength is the shortest label taken for an access key: Spamhaus'
// DQS keys have 26 characters, Abusix's 32; a list's own labels ("zen",
// "combined") are words.
const minKeyLength = 16

// ZoneSecrets returns the access keys a blocklist zone name carries: the
// first label in front of a keyed service's suffix, and any label that
// looks like a key (20 or more characters mixing letters and digits). The
// zone is asked as it is; everything the exporter shows (reports, metrics,
// /config) has each key replaced by probes.Redacted.
func ZoneSecrets(zone string) []string {
	var out []string
	for _, suffix := range keyedZoneSuffixes {
		if i := strings.Index(zone, suffix); i > 0 && strings.HasSuffix(zone, suffix) {
			key, _, _ := strings.Cut(zone[:i], ".")
			if len(key) >= minKeyLength {
				out = append(out, key)
			}
		}
	}
	for _, l := range strings.Split(zone, ".") {
		if looksLikeKey(l) && !contains(out, l) {
			out = append(out, l)
		}
	}
	return out
}

// RedactZone returns zone with its access keys replaced by
// probes.Redacted.
func RedactZone(zone string) string {
	labels := strings.Split(zone, ".")
	secrets := ZoneSecrets(zone)
	for i, l := range labels {
		if contains(secrets, l) {
			labels[i] = probes.Redacted
		}
	}
	return strings.Join(labels, ".")
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// looksLikeKey reports whether a DNS label looks like an access key rather
// than a word: long, with letters and digits mixed.
func looksLikeKey(label string) bool {
	if len(label) < 20 {
		return false
	}
	var letters, digits bool
	for _, r := range label {
		switch {
		case r >= '0' && r <= '9':
			digits = true
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
			letters = true
		}
	}
	return letters && digits
}

// Secrets returns the access keys of every list of c.
func (c *Config) Secrets() []string {
	if c == nil {
		return nil
	}
	var out []string
	for _, l := range c.Lists {
		for _, s := range ZoneSecrets(l.Zone) {
			if !contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}
