package dmarc

import (
	"errors"
	"fmt"
)

// Config is the `dmarc:` block of a module.
type Config struct {
	// AcceptedPolicies are the policies (p=, or sp= for a subdomain
	// covered by its organizational domain's record) dmarc.policy passes.
	AcceptedPolicies []string `yaml:"accepted_policies"`
	// TreeWalk finds the record by DMARCbis' DNS tree walk (each parent in
	// turn, up to the top-level domain) instead of RFC 7489's
	// organizational domain from the public suffix list.
	TreeWalk bool `yaml:"tree_walk"`
	// CheckExternalReports looks up the authorization record of every
	// report destination outside the domain (RFC 7489 §7.1).
	CheckExternalReports bool `yaml:"check_external_reports"`
}

// DefaultConfig is the configuration of an empty `dmarc: {}` block: any
// policy passes (a module may require quarantine or reject), the
// organizational domain comes from the public suffix list, and external
// report destinations are checked.
func DefaultConfig() Config {
	return Config{
		AcceptedPolicies:     []string{PolicyNone, PolicyQuarantine, PolicyReject},
		CheckExternalReports: true,
	}
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
	if len(c.AcceptedPolicies) == 0 {
		return errors.New("dmarc: accepted_policies is empty, which would fail every domain; leave it out to accept every policy")
	}
	seen := map[string]bool{}
	for i, p := range c.AcceptedPolicies {
		if !validPolicy(p) {
			return fmt.Errorf("dmarc: accepted_policies[%d]: %q is not none, quarantine or reject", i, p)
		}
		if seen[p] {
			return fmt.Errorf("dmarc: accepted_policies: %q is listed twice", p)
		}
		seen[p] = true
	}
	return nil
}

func (c Config) accepts(policy string) bool {
	for _, p := range c.AcceptedPolicies {
		if p == policy {
			return true
		}
	}
	return false
}
