package delivery

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

// TokenHeader is the header field that carries the round trip's token.
const TokenHeader = probes.TokenHeader

// newToken makes a token no one can guess: 128 random bits, hex.
func newToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// compose writes the probe message: plain text, small, with the header
// fields a well-behaved automated sender uses (RFC 5322 Date and
// Message-ID, RFC 3834 Auto-Submitted) and the token in a header field and
// the subject. Lines end in CRLF.
func compose(from string, to []string, token string, now time.Time) (msg []byte, messageID string) {
	messageID = "<" + token + "@" + domainOf(from) + ">"
	lines := []string{
		"From: " + from,
		"To: " + strings.Join(to, ", "),
		"Subject: Deliverability probe " + token,
		"Date: " + now.UTC().Format(time.RFC1123Z),
		"Message-ID: " + messageID,
		TokenHeader + ": " + token,
		"Auto-Submitted: auto-generated",
		"MIME-Version: 1.0",
		"Content-Type: text/plain; charset=us-ascii",
		"Content-Transfer-Encoding: 7bit",
		"",
		"This message was sent by deliverability_exporter to check that mail",
		"from " + domainOf(from) + " arrives signed, aligned and from a clean address.",
		"It needs no answer and is deleted on arrival.",
		"",
		"Token: " + token,
	}
	return []byte(strings.Join(lines, "\r\n") + "\r\n"), messageID
}
