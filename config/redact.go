package config

import (
	"bytes"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// Redacted stands in for a secret in RedactedYAML.
const Redacted = "<secret>"

// keyedZoneSuffixes are blocklist services whose zone names carry the
// account's access key in front: Spamhaus' Data Query Service
// (KEY.zen.dq.spamhaus.net) and Abusix Mail Intelligence
// (KEY.combined.mail.abusix.zone).
var keyedZoneSuffixes = []string{".dq.spamhaus.net", ".mail.abusix.zone"}

// RedactedYAML is the configuration as it is in force (defaults filled in)
// for people to read (/config), with secrets replaced by Redacted:
//
//   - the access key in the zone name of a blocklist that puts one there
//     (the labels in front of a keyed service, and any label that looks
//     like a key: 20 or more characters mixing letters and digits);
//   - the value of any key whose name says it is a secret (password,
//     secret, token, or ending in _key), should a probe block gain one.
//
// Files are named, never read: ca_file shows its path. The web config
// (--web.config.file: basic-auth users, TLS keys) is not part of this
// configuration and is never shown.
func (c *Config) RedactedYAML() ([]byte, error) {
	var doc yaml.Node
	if err := doc.Encode(c); err != nil {
		return nil, fmt.Errorf("encoding the configuration: %w", err)
	}
	redactNode(&doc)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, fmt.Errorf("encoding the configuration: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// redactNode replaces secrets in a YAML tree in place.
func redactNode(n *yaml.Node) {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, value := n.Content[i], n.Content[i+1]
			switch {
			case secretKey(key.Value) && value.Kind == yaml.ScalarNode && value.Value != "":
				value.Value, value.Tag, value.Style = Redacted, "!!str", 0
			case key.Value == "zone" && value.Kind == yaml.ScalarNode:
				value.Value = redactZone(value.Value)
			}
		}
	}
	for _, child := range n.Content {
		redactNode(child)
	}
}

// secretKey reports whether a config key's name says its value is secret.
func secretKey(name string) bool {
	name = strings.ToLower(name)
	for _, s := range []string{"password", "secret", "token"} {
		if strings.Contains(name, s) {
			return true
		}
	}
	return strings.HasSuffix(name, "_key")
}

// redactZone replaces the access key in a blocklist zone name.
func redactZone(zone string) string {
	for _, suffix := range keyedZoneSuffixes {
		if i := strings.Index(zone, suffix); i > 0 && strings.HasSuffix(zone, suffix) {
			// KEY.zen.dq.spamhaus.net: the key is the first label; the
			// list's own labels (zen) stay.
			if _, rest, ok := strings.Cut(zone[:i], "."); ok {
				return Redacted + "." + rest + suffix
			}
			return Redacted + suffix
		}
	}
	labels := strings.Split(zone, ".")
	for i, l := range labels {
		if looksLikeKey(l) {
			labels[i] = Redacted
		}
	}
	return strings.Join(labels, ".")
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
