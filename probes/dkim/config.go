package dkim

import (
	"errors"
	"fmt"
	"strings"
)

// Config is the `dkim:` block of a module.
type Config struct {
	// Selectors are looked up on every domain the module probes, besides
	// those of dkim_selector= parameters and the discovery list.
	Selectors []string `yaml:"selectors"`
	// Discover tries the built-in list of selectors common providers and
	// MTAs use (DiscoverySelectors); only those found produce series.
	Discover bool `yaml:"discover"`
	// MinRSABits is the smallest RSA key dkim.key_strength passes.
	MinRSABits int `yaml:"min_rsa_bits"`
}

// DefaultMinRSABits follows RFC 8301 §3.2 ("Signers SHOULD use RSA keys of
// at least 2048 bits") and the rule of docs/checks.md's dkim.key_strength.
const DefaultMinRSABits = 2048

// maxSelectors bounds the selectors of a module and of a request, so a
// request cannot turn one probe into an unbounded number of queries.
const maxSelectors = 32

// DefaultConfig is the configuration of an empty `dkim: {}` block.
func DefaultConfig() Config {
	return Config{Discover: true, MinRSABits: DefaultMinRSABits}
}

// UnmarshalYAML fills the defaults first, so keys left out keep them, then
// decodes into an alias type without this method (so decoding does not
// recurse) and with the decoder's strictness intact: unknown keys are still
// rejected under KnownFields(true).
func (c *Config) UnmarshalYAML(unmarshal func(any) error) error {
	type rawConfig Config
	*c = DefaultConfig()
	if err := unmarshal((*rawConfig)(c)); err != nil {
		return err
	}
	return c.Validate()
}

// Validate says in one line what is wrong with the configuration.
func (c Config) Validate() error {
	if len(c.Selectors) > maxSelectors {
		return fmt.Errorf("dkim: selectors: %d listed; at most %d", len(c.Selectors), maxSelectors)
	}
	seen := map[string]bool{}
	for i, s := range c.Selectors {
		if err := ValidateSelector(s); err != nil {
			return fmt.Errorf("dkim: selectors[%d]: %w", i, err)
		}
		if seen[strings.ToLower(s)] {
			return fmt.Errorf("dkim: selectors: %q is listed twice", s)
		}
		seen[strings.ToLower(s)] = true
	}
	// RFC 8301 §3.2: keys under 1024 bits are invalid for every verifier,
	// so a lower threshold would pass keys nobody accepts.
	if c.MinRSABits < 1024 || c.MinRSABits > 16384 {
		return fmt.Errorf("dkim: min_rsa_bits: %d is outside 1024..16384", c.MinRSABits)
	}
	return nil
}

// maxSelectorLength keeps "<selector>._domainkey.<domain>" within the
// 253 characters of a DNS name for the shortest domain a target can be
// ("a.b"); the name with the real domain is checked again at run time.
const maxSelectorLength = 253 - len("._domainkey.") - len("a.b")

// ValidateSelector checks a selector name: one or more dot-separated
// labels of letters, digits, hyphens and underscores (RFC 6376 §3.1 makes
// selectors sub-domains; underscores appear in real ones), each at most 63
// characters.
func ValidateSelector(s string) error {
	switch {
	case s == "":
		return errors.New("empty selector")
	case len(s) > maxSelectorLength:
		return fmt.Errorf("selector of %d characters: with ._domainkey and a domain it exceeds the 253 of a DNS name", len(s))
	case strings.HasSuffix(s, "._domainkey") || strings.Contains(s, "._domainkey."):
		return fmt.Errorf("%q: give the selector alone, without ._domainkey and the domain", s)
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" {
			return fmt.Errorf("%q has an empty label", s)
		}
		if len(label) > 63 {
			return fmt.Errorf("%q: label %q is %d characters long; a DNS label has at most 63", s, label, len(label))
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("%q contains %q; a selector has letters, digits, hyphens, underscores and dots", s, string(c))
			}
		}
	}
	return nil
}
