package config

import (
	"bytes"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsbl"
)

// Redacted stands in for a secret in RedactedYAML.
const Redacted = probes.Redacted

// RedactedYAML is the configuration as it is in force (defaults filled in)
// for people to read (/config), with secrets replaced by Redacted:
//
//   - the access key in the zone name of a blocklist that puts one there
//     (the labels in front of a keyed service, and any label that looks
//     like a key: 20 or more characters mixing letters and digits);
//   - the value of any key whose name says it is a secret (password,
//     secret, token, or ending in _key), should a probe block gain one;
//     a key ending in _file (password_file) names a file, and shows it.
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
				value.Value = dnsbl.RedactZone(value.Value)
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
	if strings.HasSuffix(name, "_file") {
		// password_file names where the secret is, as ca_file does: the
		// file is never read here, and its path is what an operator
		// checks.
		return false
	}
	for _, s := range []string{"password", "secret", "token"} {
		if strings.Contains(name, s) {
			return true
		}
	}
	return strings.HasSuffix(name, "_key")
}
