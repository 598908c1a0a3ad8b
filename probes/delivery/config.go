package delivery

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/mail"
	"os"
	"strconv"
	"strings"
	"time"
)

// The ways the probe secures its submission.
const (
	TLSStartTLS = "starttls" // STARTTLS, required (port 587, and 25)
	TLSImplicit = "implicit" // TLS from the first byte (port 465)
	TLSNone     = "none"     // plain text: only for a relay that authorises by address, without AUTH
)

// Defaults of the block.
const (
	DefaultFromLocalPart = "deliverability-probe"
	DefaultHELO          = "localhost"
	DefaultMaxWait       = 10 * time.Minute
	DefaultScrapeWait    = 10 * time.Second
	DefaultMinInterval   = 5 * time.Minute
	DefaultMinRSAKeyBits = 2048
)

// maxPasswordFileBytes bounds what is read of password_file.
const maxPasswordFileBytes = 4096

// Config is the `delivery:` block of a module: where the probe submits its
// message, as whom, and where the message should arrive. It has no
// defaults that could send mail anywhere: submission and to are required.
type Config struct {
	// Submission is host:port of the domain's submission server (587 with
	// STARTTLS, 465 with implicit TLS) or of an outgoing relay that
	// authorises by client address (25).
	Submission string `yaml:"submission"`
	// TLS is starttls, implicit or none; empty picks implicit on port 465
	// and starttls elsewhere.
	TLS string `yaml:"tls"`
	// TLSServerName is the name the submission server's certificate must
	// carry (the host of submission when empty).
	TLSServerName string `yaml:"tls_server_name"`
	// InsecureSkipVerify accepts any certificate from the submission
	// server (the certificate the receivers see is judged elsewhere).
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
	// Username and PasswordFile are the AUTH credentials; the password is
	// read from the file at each submission and never appears anywhere
	// else. Without them the probe does not authenticate.
	Username     string `yaml:"username"`
	PasswordFile string `yaml:"password_file"`
	// HELO is the name the probe gives in EHLO to the submission server.
	HELO string `yaml:"helo"`
	// From is the envelope sender and From: address; its domain must be
	// the target domain or below it. Empty: deliverability-probe@<target>.
	From string `yaml:"from"`
	// To is the probe address of the exporter's built-in receiver (an
	// address at a domain whose MX points at the exporter).
	To string `yaml:"to"`
	// MaxWait is how long a message may take to arrive before the round
	// trip counts as failed.
	MaxWait time.Duration `yaml:"max_wait"`
	// ScrapeWait is how long the run that sends waits for the message to
	// arrive before it answers (within the scrape's deadline); a message
	// that takes longer is judged by a later scrape.
	ScrapeWait time.Duration `yaml:"scrape_wait"`
	// MinRSAKeyBits is the smallest RSA DKIM key delivery.dkim_key_strength
	// accepts.
	MinRSAKeyBits int `yaml:"min_rsa_key_bits"`
	// Mailboxes are IMAP mailboxes at other receivers the message is also
	// sent to (delivery.inbox).
	Mailboxes []MailboxConfig `yaml:"mailboxes"`
}

// maxMailboxes bounds the mailboxes of a block (each is a receiver label).
const maxMailboxes = 16

// DefaultConfig is the configuration of an empty block (which does not
// validate: submission and to are required).
func DefaultConfig() Config {
	return Config{
		HELO:          DefaultHELO,
		MaxWait:       DefaultMaxWait,
		ScrapeWait:    DefaultScrapeWait,
		MinRSAKeyBits: DefaultMinRSAKeyBits,
	}
}

// UnmarshalYAML decodes into an alias type without this method (so
// decoding does not recurse), with the defaults first and unknown keys
// still refused, then validates.
func (c *Config) UnmarshalYAML(unmarshal func(any) error) error {
	type rawConfig Config
	*c = DefaultConfig()
	if err := unmarshal((*rawConfig)(c)); err != nil {
		return err
	}
	for i := range c.Mailboxes {
		c.Mailboxes[i].normalize()
	}
	return c.Validate()
}

// Validate says in one line what is wrong with the configuration. It reads
// password_file to make sure it can, and says nothing of what it holds.
func (c Config) Validate() error {
	host, port, err := net.SplitHostPort(c.Submission)
	if err != nil || host == "" {
		return fmt.Errorf("submission: %q is not host:port (for example smtp.example.com:587)", c.Submission)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("submission: port %q is not a number between 1 and 65535", port)
	}
	switch c.TLS {
	case "", TLSStartTLS, TLSImplicit, TLSNone:
	default:
		return fmt.Errorf("tls: %q is not starttls, implicit or none", c.TLS)
	}
	if (c.Username == "") != (c.PasswordFile == "") {
		return errors.New("username and password_file go together: give both to authenticate, neither for a relay that authorises by address")
	}
	if c.Username != "" && c.tlsMode() == TLSNone {
		return errors.New("tls: none with username: the probe never sends a password over plain text")
	}
	if strings.ContainsAny(c.Username, "\r\n\x00") {
		return errors.New("username: control characters are not allowed")
	}
	if c.PasswordFile != "" {
		if _, err := readPassword(c.PasswordFile); err != nil {
			return fmt.Errorf("password_file: %w", err)
		}
	}
	if c.HELO == "" || strings.ContainsAny(c.HELO, " \t\r\n") {
		return fmt.Errorf("helo: %q is not a host name", c.HELO)
	}
	if c.From != "" {
		if _, err := parseAddress(c.From); err != nil {
			return fmt.Errorf("from: %w", err)
		}
	}
	if c.To == "" {
		return errors.New("to: the built-in receiver's probe address is required (an address at a domain whose MX points at the exporter)")
	}
	if _, err := parseAddress(c.To); err != nil {
		return fmt.Errorf("to: %w", err)
	}
	switch {
	case c.MaxWait < time.Second || c.MaxWait > 24*time.Hour:
		return fmt.Errorf("max_wait: %s is not between 1s and 24h", c.MaxWait)
	case c.ScrapeWait < 0 || c.ScrapeWait > 10*time.Minute:
		return fmt.Errorf("scrape_wait: %s is not between 0 and 10m", c.ScrapeWait)
	case c.MinRSAKeyBits < 1024 || c.MinRSAKeyBits > 8192:
		return fmt.Errorf("min_rsa_key_bits: %d is not between 1024 and 8192", c.MinRSAKeyBits)
	case len(c.Mailboxes) > maxMailboxes:
		return fmt.Errorf("mailboxes: %d, at most %d", len(c.Mailboxes), maxMailboxes)
	}
	names := map[string]bool{}
	for _, m := range c.Mailboxes {
		if err := m.validate(); err != nil {
			return fmt.Errorf("mailboxes: %w", err)
		}
		if names[m.Name] {
			return fmt.Errorf("mailboxes: the name %q is given twice", m.Name)
		}
		names[m.Name] = true
	}
	return nil
}

// tlsMode is the TLS setting in force: implicit on 465 when none is given.
func (c Config) tlsMode() string {
	if c.TLS != "" {
		return c.TLS
	}
	if _, port, _ := net.SplitHostPort(c.Submission); port == "465" {
		return TLSImplicit
	}
	return TLSStartTLS
}

// readPassword reads the password: the file's first line, without its line
// end. Errors name the file, never its content.
func readPassword(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxPasswordFileBytes+1))
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	if len(b) > maxPasswordFileBytes {
		return "", fmt.Errorf("%s is longer than %d bytes", path, maxPasswordFileBytes)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	line = strings.TrimSuffix(line, "\r")
	if line == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	if strings.ContainsAny(line, "\x00") {
		return "", fmt.Errorf("%s holds a NUL byte", path)
	}
	return line, nil
}

// parseAddress takes a bare addr-spec (local@domain, no display name) and
// returns it with the domain in lower case.
func parseAddress(s string) (string, error) {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", fmt.Errorf("%q is not a bare e-mail address (local@domain)", s)
	}
	local, domain, ok := strings.Cut(a.Address, "@")
	if !ok || local == "" || !strings.Contains(domain, ".") {
		return "", fmt.Errorf("%q is not an address at a domain", s)
	}
	return local + "@" + strings.ToLower(domain), nil
}

// domainOf returns the domain of an address, lower case, without a
// trailing dot.
func domainOf(addr string) string {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return ""
	}
	return strings.TrimSuffix(strings.ToLower(addr[i+1:]), ".")
}
