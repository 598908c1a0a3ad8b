package smtpsession

import (
	"bufio"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

// Bounds on what is read from a server. RFC 5321 §4.5.3.1.5 limits a reply
// line to 512 octets; servers exceed it in practice (long EHLO keyword
// lists, long texts), so a line may be eight times longer before the reply
// is refused. A multi-line reply has at most maxReplyLines lines and
// maxReplyBytes in all: a server that talks without end is cut off long
// before the deadline.
const (
	maxLineLength = 4096
	maxReplyLines = 100
	maxReplyBytes = 64 << 10
)

// Errors of the reply reader; wrapped with what was being read.
var (
	errLineTooLong   = fmt.Errorf("reply line longer than %d bytes", maxLineLength)
	errTooManyLines  = fmt.Errorf("reply longer than %d lines", maxReplyLines)
	errReplyTooLarge = fmt.Errorf("reply larger than %d bytes", maxReplyBytes)
)

// Reply is one SMTP reply (RFC 5321 §4.2).
type Reply struct {
	Code int
	// Lines are the texts after the code and separator, one per line.
	Lines []string
}

// String renders the reply as its first line, with the number of further
// lines: "250 mx.example.com Hello (+5 lines)".
func (r *Reply) String() string {
	if r == nil {
		return "no reply"
	}
	s := fmt.Sprintf("%d", r.Code)
	if len(r.Lines) > 0 && r.Lines[0] != "" {
		s += " " + r.Lines[0]
	}
	if len(r.Lines) > 1 {
		s += fmt.Sprintf(" (+%d lines)", len(r.Lines)-1)
	}
	return probes.Clip(s, 200)
}

// Text joins the lines' texts.
func (r *Reply) Text() string {
	if r == nil {
		return ""
	}
	return strings.Join(r.Lines, " ")
}

// Positive reports a 2xx reply.
func (r *Reply) Positive() bool { return r != nil && r.Code >= 200 && r.Code < 300 }

// Transient reports a 4xx reply.
func (r *Reply) Transient() bool { return r != nil && r.Code >= 400 && r.Code < 500 }

// Permanent reports a 5xx reply.
func (r *Reply) Permanent() bool { return r != nil && r.Code >= 500 && r.Code < 600 }

// readReply reads one reply: lines of "ddd-text" ended by "ddd text" (or
// "ddd" alone), all with the same code (RFC 5321 §4.2.1). A bare LF is
// accepted as a line end, as most clients do. Everything read is bounded;
// a server that breaks a bound or the syntax gets an error, never a panic.
func readReply(br *bufio.Reader) (*Reply, error) {
	r := &Reply{}
	total := 0
	var buf []byte
	for {
		line, err := readLine(br, buf[:0])
		if err != nil {
			if len(r.Lines) > 0 {
				return nil, fmt.Errorf("after %d lines of a reply: %w", len(r.Lines), err)
			}
			return nil, err
		}
		buf = line
		total += len(line) + 2
		if total > maxReplyBytes {
			return nil, errReplyTooLarge
		}
		code, last, text, err := parseReplyLine(line)
		if err != nil {
			return nil, err
		}
		if len(r.Lines) == 0 {
			r.Code = code
		} else if code != r.Code {
			return nil, fmt.Errorf("reply line %d has code %d, the first had %d (RFC 5321 §4.2.1)", len(r.Lines)+1, code, r.Code)
		}
		r.Lines = append(r.Lines, text)
		if last {
			return r, nil
		}
		if len(r.Lines) >= maxReplyLines {
			return nil, errTooManyLines
		}
	}
}

// readLine reads up to a LF, appending to buf, and returns the line without
// CRLF or LF. A line longer than maxLineLength is an error as soon as the
// bound is passed, so a server cannot make the client buffer more.
func readLine(br *bufio.Reader, buf []byte) ([]byte, error) {
	for {
		chunk, err := br.ReadSlice('\n')
		if len(buf)+len(chunk) > maxLineLength+2 {
			return nil, errLineTooLong
		}
		buf = append(buf, chunk...)
		if err == nil {
			break
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if len(buf) > 0 {
			return nil, fmt.Errorf("%s not ended: %w", shapeOf(buf), err)
		}
		return nil, err
	}
	buf = buf[:len(buf)-1]
	if n := len(buf); n > 0 && buf[n-1] == '\r' {
		buf = buf[:n-1]
	}
	return buf, nil
}

// parseReplyLine splits "250-text", "250 text" or "250". The code's first
// digit is 2 to 5 and its second 0 to 5 (RFC 5321 §4.2).
func parseReplyLine(line []byte) (code int, last bool, text string, err error) {
	if len(line) < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '5' || line[2] < '0' || line[2] > '9' {
		return 0, false, "", fmt.Errorf("malformed reply line: %s, not an SMTP reply code", shapeOf(line))
	}
	code = int(line[0]-'0')*100 + int(line[1]-'0')*10 + int(line[2]-'0')
	if len(line) == 3 {
		return code, true, "", nil
	}
	switch line[3] {
	case ' ':
		last = true
	case '-':
	default:
		return 0, false, "", fmt.Errorf("malformed reply line: %s, with no space or hyphen after the code %d", shapeOf(line), code)
	}
	return code, last, string(line[4:]), nil
}

// shapeOf describes bytes that did not parse as SMTP by their shape alone:
// how long they are and what kind of character they start with, never what
// they say. An address that is not an SMTP server (a Redis answering
// "-NOAUTH … secret_token=…", an HTTP or SSH server) must not have its words
// copied into reports, metrics, logs or the history, whoever pointed the
// probe at it.
func shapeOf(b []byte) string {
	kind := "text"
	for _, c := range b {
		if c < 0x20 && c != '\t' && c != '\r' || c == 0x7f || c >= 0x80 {
			kind = "binary data"
			break
		}
	}
	start := "nothing"
	if len(b) > 0 {
		switch c := b[0]; {
		case c >= '0' && c <= '9':
			start = "a digit"
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			start = "a letter"
		case c == ' ' || c == '\t':
			start = "white space"
		case c > 0x20 && c < 0x7f:
			start = "punctuation"
		default:
			start = "a control or non-ASCII byte"
		}
	}
	return fmt.Sprintf("a line of %s (%d bytes) starting with %s", kind, len(b), start)
}

// Extension is one EHLO keyword and its parameters (RFC 5321 §4.1.1.1).
type Extension struct {
	Keyword string // upper case
	Params  []string
}

// maxParams bounds the parameters kept per extension.
const maxParams = 32

// parseEHLO splits an EHLO reply into the name the server gives for itself
// (the first word of the first line) and its extensions (one per further
// line). Lines that are not an ehlo-keyword are skipped, not fatal: a
// receiver ignores what it does not understand.
func parseEHLO(r *Reply) (name string, exts []Extension) {
	if r == nil || len(r.Lines) == 0 {
		return "", nil
	}
	name = firstWord(r.Lines[0])
	for _, line := range r.Lines[1:] {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		kw := fields[0]
		params := fields[1:]
		// RFC 4954's predecessor form "AUTH=PLAIN LOGIN", still sent for
		// old Outlook clients.
		if k, v, ok := strings.Cut(kw, "="); ok && strings.EqualFold(k, "AUTH") {
			kw = k
			if v != "" {
				params = append([]string{v}, params...)
			}
		}
		if !ehloKeyword(kw) {
			continue
		}
		if len(params) > maxParams {
			params = params[:maxParams]
		}
		// Copies: the extensions outlive the reply (the memory keeps them
		// for the interval), whose lines would otherwise stay whole
		// behind every keyword and parameter cut out of them.
		params = slices.Clone(params)
		for i, p := range params {
			params[i] = strings.Clone(p)
		}
		exts = append(exts, Extension{Keyword: strings.Clone(strings.ToUpper(kw)), Params: params})
	}
	return name, exts
}

// ehloKeyword is RFC 5321 §4.1.1.1: (ALPHA / DIGIT) *(ALPHA / DIGIT / "-").
func ehloKeyword(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '-') {
			return false
		}
	}
	return true
}

// firstWord returns the text up to the first space.
func firstWord(s string) string {
	s = strings.TrimLeft(s, " \t")
	if i := strings.IndexAny(s, " \t"); i >= 0 {
		return s[:i]
	}
	return s
}

// FindExtension returns the extension with the keyword, if advertised.
func FindExtension(exts []Extension, keyword string) (Extension, bool) {
	for _, e := range exts {
		if e.Keyword == keyword {
			return e, true
		}
	}
	return Extension{}, false
}
