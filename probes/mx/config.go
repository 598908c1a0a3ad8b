package mx

import (
	"errors"
	"fmt"
	"strings"
)

// Config is the `mx:` block of a module.
type Config struct {
	// SRVServices are the RFC 6186 / RFC 8314 services whose
	// _<service>._tcp.<domain> SRV record srv.client looks for. An empty
	// list turns srv.client off (it is skipped).
	SRVServices []string `yaml:"srv_services"`
}

// DefaultConfig is the configuration of an empty `mx: {}` block: message
// submission and mailbox access, plain and implicit TLS (RFC 6186 §3,
// RFC 8314 §5.1).
func DefaultConfig() Config {
	return Config{
		SRVServices: []string{"submission", "submissions", "imap", "imaps", "pop3", "pop3s"},
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
	seen := map[string]bool{}
	for i, s := range c.SRVServices {
		if err := validateServiceName(s); err != nil {
			return fmt.Errorf("mx: srv_services[%d]: %w", i, err)
		}
		if seen[s] {
			return fmt.Errorf("mx: srv_services: %q is listed twice", s)
		}
		seen[s] = true
	}
	return nil
}

// validateServiceName accepts what can stand in _<service>._tcp: one
// lower-case letters-digits-hyphens label (RFC 6335 §5.1 service names are
// of that form).
func validateServiceName(s string) error {
	switch {
	case s == "":
		return errors.New("empty service name")
	case strings.HasPrefix(s, "_"):
		return fmt.Errorf("%q: give the service name without the leading underscore (%q)", s, strings.TrimLeft(s, "_"))
	case len(s) > 63:
		return fmt.Errorf("%q is %d characters long; a DNS label has at most 63", s, len(s))
	case s[0] == '-' || s[len(s)-1] == '-':
		return fmt.Errorf("%q starts or ends with a hyphen", s)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return fmt.Errorf("%q contains %q; use lower-case letters, digits and hyphens, such as \"submission\"", s, string(c))
		}
	}
	return nil
}
