package smtpsession

import (
	"bufio"
	"slices"
	"strings"
	"testing"
	"unsafe"
)

func TestReadReply(t *testing.T) {
	long := strings.Repeat("x", maxLineLength)
	for _, tc := range []struct {
		name  string
		in    string
		code  int
		lines []string
		err   string
	}{
		// Postfix's greeting and EHLO reply, as a real server sends them.
		{"greeting", "220 mail.example.com ESMTP Postfix (Debian/GNU)\r\n", 220, []string{"mail.example.com ESMTP Postfix (Debian/GNU)"}, ""},
		{"multi-line", "250-mail.example.com\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250 CHUNKING\r\n", 250,
			[]string{"mail.example.com", "PIPELINING", "SIZE 10240000", "CHUNKING"}, ""},
		{"code alone", "250\r\n", 250, []string{""}, ""},
		{"bare LF", "221 bye\n", 221, []string{"bye"}, ""},
		{"longest line", "250 " + long[4:] + "\r\n", 250, []string{long[4:]}, ""},
		{"line too long", "250 " + long + "\r\n", 0, nil, "reply line longer than 4096 bytes"},
		{"codes differ", "250-a\r\n251 b\r\n", 0, nil, "reply line 2 has code 251, the first had 250"},
		{"two-digit code", "22 x\r\n", 0, nil, `malformed reply line: a line of text (4 bytes) starting with a digit, not an SMTP reply code`},
		// Another service's words are described, never repeated.
		{"redis", "-NOAUTH Authentication required. secret_token=s3cr3t\r\n", 0, nil, "malformed reply line: a line of text (52 bytes) starting with punctuation"},
		{"ssh", "SSH-2.0-OpenSSH_9.2p1\r\n", 0, nil, "malformed reply line: a line of text (21 bytes) starting with a letter"},
		{"binary", "\x16\x03\x01\x02\x00\n", 0, nil, "malformed reply line: a line of binary data (5 bytes) starting with a control or non-ASCII byte"},
		{"code out of range", "600 x\r\n", 0, nil, "malformed reply line"},
		{"second digit out of range", "260 x\r\n", 0, nil, "malformed reply line"},
		{"no separator", "220x\r\n", 0, nil, "malformed reply line: a line of text (4 bytes) starting with a digit, with no space or hyphen after the code 220"},
		{"empty line", "\r\n", 0, nil, "malformed reply line"},
		{"cut short", "220 mx", 0, nil, `a line of text (6 bytes) starting with a digit not ended: EOF`},
		{"cut after a line", "250-a\r\n", 0, nil, "after 1 lines of a reply: EOF"},
		{"nothing", "", 0, nil, "EOF"},
		{"too many lines", strings.Repeat("250-x\r\n", 200), 0, nil, "reply longer than 100 lines"},
		{"too many bytes", strings.Repeat("250-"+strings.Repeat("y", 4000)+"\r\n", 20), 0, nil, "reply larger than 65536 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := readReply(bufio.NewReader(strings.NewReader(tc.in)))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Code != tc.code || !slices.Equal(r.Lines, tc.lines) {
				t.Errorf("reply %d %q, want %d %q", r.Code, r.Lines, tc.code, tc.lines)
			}
		})
	}
}

func TestReplyString(t *testing.T) {
	r := &Reply{Code: 250, Lines: []string{"mx.example.com Hello", "PIPELINING", "STARTTLS"}}
	if got := r.String(); got != "250 mx.example.com Hello (+2 lines)" {
		t.Errorf("String() = %q", got)
	}
	var none *Reply
	if none.String() != "no reply" || none.Positive() || none.Text() != "" {
		t.Error("a nil reply")
	}
	if !(&Reply{Code: 454}).Transient() || !(&Reply{Code: 554}).Permanent() || !(&Reply{Code: 220}).Positive() {
		t.Error("classes")
	}
}

func TestParseEHLO(t *testing.T) {
	// Exchange Online's EHLO reply (mx records of outlook.com domains),
	// with an old-style AUTH= line and junk added.
	r := &Reply{Code: 250, Lines: []string{
		"BN8NAM12FT045.mail.protection.outlook.com Hello [192.0.2.1]",
		"SIZE 157286400",
		"PIPELINING",
		"DSN",
		"ENHANCEDSTATUSCODES",
		"STARTTLS",
		"8BITMIME",
		"BINARYMIME",
		"CHUNKING",
		"SMTPUTF8",
		"AUTH=LOGIN PLAIN",
		"-bad keyword",
		"",
		"X-" + strings.Repeat(" p", 40),
	}}
	name, exts := parseEHLO(r)
	if name != "BN8NAM12FT045.mail.protection.outlook.com" {
		t.Errorf("name %q", name)
	}
	var kws []string
	for _, e := range exts {
		kws = append(kws, e.Keyword)
	}
	want := []string{"SIZE", "PIPELINING", "DSN", "ENHANCEDSTATUSCODES", "STARTTLS", "8BITMIME", "BINARYMIME", "CHUNKING", "SMTPUTF8", "AUTH", "X-"}
	if !slices.Equal(kws, want) {
		t.Errorf("keywords %q, want %q", kws, want)
	}
	if e, ok := FindExtension(exts, "AUTH"); !ok || !slices.Equal(e.Params, []string{"LOGIN", "PLAIN"}) {
		t.Errorf("AUTH %+v", e)
	}
	if e, _ := FindExtension(exts, "X-"); len(e.Params) != maxParams {
		t.Errorf("%d params kept, want %d", len(e.Params), maxParams)
	}
	if n, e := parseEHLO(nil); n != "" || e != nil {
		t.Error("nil reply")
	}
	// The extensions own their bytes: the memory keeps them for an
	// interval and counts their lengths, not the reply lines' (which a
	// keyword cut out of a line of 4,000 spaces would keep whole).
	for _, e := range exts {
		for _, s := range append([]string{e.Keyword}, e.Params...) {
			for _, line := range r.Lines {
				if sharesBytes(s, line) {
					t.Errorf("%s %q is a slice of the reply line %q", e.Keyword, s, line)
				}
			}
		}
	}
}

// sharesBytes reports whether s lies in line's bytes.
func sharesBytes(s, line string) bool {
	if s == "" || line == "" {
		return false
	}
	p, start := uintptr(unsafe.Pointer(unsafe.StringData(s))), uintptr(unsafe.Pointer(unsafe.StringData(line)))
	return p >= start && p < start+uintptr(len(line))
}

// BenchmarkReadReply reads an EHLO reply of ten lines (Postfix's, as sent
// to a client before STARTTLS).
func BenchmarkReadReply(b *testing.B) {
	const reply = "250-mail.example.com\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n" +
		"250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250 CHUNKING\r\n"
	r := strings.NewReader(reply)
	br := bufio.NewReader(r)
	b.ReportAllocs()
	b.SetBytes(int64(len(reply)))
	for b.Loop() {
		r.Reset(reply)
		br.Reset(r)
		if _, err := readReply(br); err != nil {
			b.Fatal(err)
		}
	}
}
