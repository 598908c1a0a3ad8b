package delivery

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

func TestConfig(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("hunter2-secret\r\nsecond line ignored\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	base := "submission: smtp.example.com:587\nto: probe@delivery.example.net\n"
	for _, tc := range []struct {
		yaml, err string
	}{
		{yaml: base},
		{yaml: base + "username: u\npassword_file: " + pw + "\n"},
		{yaml: "to: probe@delivery.example.net\n", err: "submission: \"\" is not host:port"},
		{yaml: "submission: smtp.example.com\nto: p@d.example\n", err: "is not host:port"},
		{yaml: "submission: smtp.example.com:0\nto: p@d.example\n", err: "port \"0\""},
		{yaml: "submission: smtp.example.com:587\n", err: "to: the built-in receiver's probe address is required"},
		{yaml: base + "tls: maybe\n", err: "tls: \"maybe\" is not starttls, implicit or none"},
		{yaml: base + "username: u\n", err: "username and password_file go together"},
		{yaml: base + "username: u\npassword_file: " + pw + "\ntls: none\n", err: "never sends a password over plain text"},
		{yaml: base + "username: u\npassword_file: " + filepath.Join(dir, "missing") + "\n", err: "password_file: open"},
		{yaml: base + "username: u\npassword_file: " + empty + "\n", err: "is empty"},
		{yaml: base + "from: Probe <p@example.com>\n", err: "from: \"Probe <p@example.com>\" is not a bare e-mail address"},
		{yaml: base + "helo: two words\n", err: "helo: \"two words\" is not a host name"},
		{yaml: base + "max_wait: 0s\n", err: "max_wait: 0s is not between 1s and 24h"},
		{yaml: base + "scrape_wait: 11m\n", err: "scrape_wait: 11m0s is not between 0 and 10m"},
		{yaml: base + "min_rsa_key_bits: 512\n", err: "min_rsa_key_bits: 512 is not between 1024 and 8192"},
		{yaml: base + "password: inline\n", err: "field password not found"},
		{yaml: base + "mailboxes:\n  - {name: gmail, address: p@gmail.com, imap: imap.gmail.com:993, username: p@gmail.com, password_file: " + pw + "}\n"},
		{yaml: base + "mailboxes:\n  - {name: Gmail, address: p@gmail.com, imap: imap.gmail.com:993, username: u, password_file: " + pw + "}\n", err: "name \"Gmail\": 1 to 32 lower-case"},
		{yaml: base + "mailboxes:\n  - {name: builtin, address: p@gmail.com, imap: imap.gmail.com:993, username: u, password_file: " + pw + "}\n", err: "(and not \"builtin\")"},
		{yaml: base + "mailboxes:\n  - {name: gmail, address: p@gmail.com, imap: imap.gmail.com, username: u, password_file: " + pw + "}\n", err: "imap: \"imap.gmail.com\" is not host:port"},
		{yaml: base + "mailboxes:\n  - {name: gmail, address: p@gmail.com, imap: imap.gmail.com:143, tls: none, username: u, password_file: " + pw + "}\n", err: "IMAP passwords never go over plain text"},
		{yaml: base + "mailboxes:\n  - {name: gmail, address: p@gmail.com, imap: imap.gmail.com:993, username: u}\n", err: "username and password_file are required"},
		{yaml: base + "mailboxes:\n  - {name: gmail, address: p@gmail.com, imap: imap.gmail.com:993, username: p@gmail.com, password_file: " + pw + "}\n  - {name: gmail, address: q@gmail.com, imap: imap.gmail.com:993, username: u, password_file: " + pw + "}\n", err: "the name \"gmail\" is given twice"},
	} {
		var c Config
		dec := yaml.NewDecoder(strings.NewReader(tc.yaml))
		dec.KnownFields(true)
		err := dec.Decode(&c)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%q: %v", tc.yaml, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: error %v, want one containing %q", tc.yaml, err, tc.err)
		case err != nil && strings.Contains(err.Error(), "hunter2"):
			t.Errorf("%q: the error shows the password: %v", tc.yaml, err)
		}
	}
	var c Config
	if err := yaml.Unmarshal([]byte(base), &c); err != nil {
		t.Fatal(err)
	}
	if c.tlsMode() != TLSStartTLS || c.MaxWait != 10*time.Minute || c.HELO != "localhost" {
		t.Errorf("defaults: %+v", c)
	}
	c.Submission = "smtp.example.com:465"
	if c.tlsMode() != TLSImplicit {
		t.Errorf("port 465 is %s, want implicit", c.tlsMode())
	}
	var boxes Config
	if err := yaml.Unmarshal([]byte(base+"mailboxes:\n  - {name: gmail, address: p@gmail.com, imap: imap.gmail.com:993, username: p@gmail.com, password_file: "+pw+"}\n"), &boxes); err != nil {
		t.Fatal(err)
	}
	if m := boxes.Mailboxes[0]; m.Inbox != "INBOX" || len(m.SpamFolders) == 0 || m.tlsMode() != TLSImplicit {
		t.Errorf("mailbox defaults: %+v", m)
	}
	got, err := readPassword(pw)
	if err != nil || got != "hunter2-secret" {
		t.Errorf("readPassword = %q, %v; want the first line without its CRLF", got, err)
	}
}

func TestDotStuff(t *testing.T) {
	got := string(dotStuff([]byte("a\r\n.b\n..c\r\nd")))
	if want := "a\r\n..b\r\n...c\r\nd\r\n.\r\n"; got != want {
		t.Errorf("dotStuff = %q, want %q", got, want)
	}
}

func TestAligned(t *testing.T) {
	for _, tc := range []struct {
		id, from string
		strict   bool
		want     bool
	}{
		{"example.com", "example.com", true, true},
		{"mail.example.com", "example.com", false, true},
		{"mail.example.com", "example.com", true, false},
		{"example.co.uk", "other.co.uk", false, false},
		{"a.example.co.uk", "b.example.co.uk", false, true},
		{"sendgrid.net", "example.com", false, false},
		{"Mail.Example.com.", "example.com", false, true},
		// Only the ICANN section of the public suffix list makes
		// organizations, as for the dmarc probe's policy discovery:
		// compute.amazonaws.com, a private-section suffix, does not.
		{"ec2-192-0-2-1.eu-west-1.compute.amazonaws.com", "amazonaws.com", false, true},
	} {
		if got := aligned(tc.id, tc.from, tc.strict); got != tc.want {
			t.Errorf("aligned(%s, %s, strict %v) = %v", tc.id, tc.from, tc.strict, got)
		}
	}
}

// TestServerName: the certificate name the submission server must carry,
// which the TLS handshake and the fix of a failed one both use.
func TestServerName(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Submission: "smtp.example.com:587"}, "smtp.example.com"},
		{Config{Submission: "[2001:db8::25]:587"}, "2001:db8::25"},
		{Config{Submission: "192.0.2.25:465", TLSServerName: "smtp.example.com"}, "smtp.example.com"},
	} {
		if got := serverName(tc.cfg); got != tc.want {
			t.Errorf("serverName(%q) = %q, want %q", tc.cfg.Submission, got, tc.want)
		}
	}
	s := &submission{Stage: "starttls"}
	if fix := refusalFix(Config{Submission: "[2001:db8::25]:587"}, s, "p@example.com"); !strings.Contains(fix, "a certificate for 2001:db8::25 ") {
		t.Errorf("fix %q does not name the server's address", fix)
	}
}

// TestKeyStrengthUnmeasured: a signature that verified with a key whose
// size could not be read again leaves delivery.dkim_key_strength
// undecided, not passed; a weak key beside it still fails it.
func TestKeyStrengthUnmeasured(t *testing.T) {
	strong := dkimResult{domain: "example.com", selector: "a", keyType: "rsa", keyBits: 2048}
	weak := dkimResult{domain: "example.com", selector: "b", keyType: "rsa", keyBits: 1024}
	unread := dkimResult{domain: "example.com", selector: "c"}
	for _, tc := range []struct {
		valid []dkimResult
		want  probes.Status
	}{
		{[]dkimResult{strong}, probes.StatusPass},
		{[]dkimResult{strong, unread}, probes.StatusError},
		{[]dkimResult{unread, weak}, probes.StatusFail},
	} {
		v := &verdict{cfg: DefaultConfig(), res: probes.NewResult(Name)}
		v.recordKeyStrength(tc.valid)
		if c, _ := v.res.Check(checkDKIMKey.ID); c.Status != tc.want {
			t.Errorf("%+v: %s (%s), want %s", tc.valid, c.Status, c.Reason, tc.want)
		}
	}
}
