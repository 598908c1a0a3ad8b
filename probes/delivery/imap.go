package delivery

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/textproto"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-msgauth/authres"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

// The IMAP mailboxes are the second kind of receiver: accounts at the
// large receivers (Gmail, Outlook.com, Yahoo) or any IMAP server, which the
// probe message is also sent to. The probe looks for it in the inbox and
// the spam folders, reads the receiver's own Authentication-Results, and
// deletes it. The IMAP client is github.com/emersion/go-imap/v2 at
// v2.0.0-beta.8: a beta, the only v2 release the module proxy serves; the
// probe uses its plainest commands (LOGIN, SELECT, UID SEARCH HEADER, UID
// FETCH of the header, UID STORE, EXPUNGE).

// maxHeaderBytes bounds the part of a found message's header fetched.
const maxHeaderBytes = 64 << 10

// maxIMAPSessionBytes bounds what one look in a mailbox reads from the
// IMAP server. go-imap reads a literal whole into memory at whatever size
// the server announces, and a line of any length, and the server is free
// to ignore the partial FETCH the probe asks for; a look reads a few
// kilobytes when the server behaves.
const maxIMAPSessionBytes = 4 << 20

// cappedConn fails reads once max bytes have been read. Only go-imap's
// reader (through TLS) reads it, one read at a time.
type cappedConn struct {
	net.Conn
	left int64
}

func (c *cappedConn) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, fmt.Errorf("the IMAP server sent more than %d bytes in one session (the bound)", maxIMAPSessionBytes)
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.Conn.Read(p)
	c.left -= int64(n)
	return n, err
}

// Mailbox placements, the placement label of mail_delivery_placement_info.
const (
	PlacementInbox   = "inbox"
	PlacementSpam    = "spam"
	PlacementMissing = "missing"
)

// MailboxConfig is one IMAP mailbox of the delivery block.
type MailboxConfig struct {
	// Name is the mailbox's receiver label (gmail, outlook, ...).
	Name string `yaml:"name"`
	// Address is where the probe message is sent at that receiver.
	Address string `yaml:"address"`
	// IMAP is host:port of its IMAP server (993 implicit TLS, 143
	// STARTTLS).
	IMAP string `yaml:"imap"`
	// TLS is implicit or starttls; empty picks starttls on port 143 and
	// implicit elsewhere.
	TLS                string `yaml:"tls"`
	TLSServerName      string `yaml:"tls_server_name"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
	// Username and PasswordFile log in (an app password for the large
	// receivers).
	Username     string `yaml:"username"`
	PasswordFile string `yaml:"password_file"`
	// Inbox is the inbox folder; SpamFolders are where a receiver files
	// spam (the first that exists is enough; more are looked in).
	Inbox       string   `yaml:"inbox"`
	SpamFolders []string `yaml:"spam_folders"`
}

// DefaultSpamFolders are the spam folders looked in when none are named:
// Dovecot's and Yahoo's Junk/Bulk, Outlook.com's "Junk", Gmail's.
var DefaultSpamFolders = []string{"Junk", "Spam", "[Gmail]/Spam", "Junk Email", "Bulk"}

var receiverName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// normalize fills the defaults.
func (m *MailboxConfig) normalize() {
	if m.Inbox == "" {
		m.Inbox = "INBOX"
	}
	if len(m.SpamFolders) == 0 {
		m.SpamFolders = append([]string(nil), DefaultSpamFolders...)
	}
}

// tlsMode is the TLS setting in force.
func (m MailboxConfig) tlsMode() string {
	if m.TLS != "" {
		return m.TLS
	}
	if _, port, _ := net.SplitHostPort(m.IMAP); port == "143" {
		return TLSStartTLS
	}
	return TLSImplicit
}

// validate says in one line what is wrong with the mailbox.
func (m MailboxConfig) validate() error {
	if !receiverName.MatchString(m.Name) || m.Name == ReceiverBuiltin {
		return fmt.Errorf("name %q: 1 to 32 lower-case letters, digits, - and _ (and not %q)", m.Name, ReceiverBuiltin)
	}
	if _, err := parseAddress(m.Address); err != nil {
		return fmt.Errorf("%s: address: %w", m.Name, err)
	}
	host, port, err := net.SplitHostPort(m.IMAP)
	if err != nil || host == "" {
		return fmt.Errorf("%s: imap: %q is not host:port (for example imap.gmail.com:993)", m.Name, m.IMAP)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%s: imap: port %q is not a number between 1 and 65535", m.Name, port)
	}
	switch m.TLS {
	case "", TLSStartTLS, TLSImplicit:
	default:
		return fmt.Errorf("%s: tls: %q is not implicit or starttls (IMAP passwords never go over plain text)", m.Name, m.TLS)
	}
	if m.Username == "" || m.PasswordFile == "" || strings.ContainsAny(m.Username, "\r\n\x00") {
		return fmt.Errorf("%s: username and password_file are required", m.Name)
	}
	if _, err := readPassword(m.PasswordFile); err != nil {
		return fmt.Errorf("%s: password_file: %w", m.Name, err)
	}
	for _, f := range append([]string{m.Inbox}, m.SpamFolders...) {
		if f == "" || strings.ContainsAny(f, "\r\n\x00") {
			return fmt.Errorf("%s: folder %q is not a folder name", m.Name, f)
		}
	}
	return nil
}

// boxState is one mailbox's part of a round trip.
type boxState struct {
	cfg MailboxConfig
	// found is set once the message was found (and deleted).
	found *boxFind
	// lastErr is why the last look failed, if it did.
	lastErr error
}

// boxFind is where and how the message was found in a mailbox.
type boxFind struct {
	folder    string
	placement string
	// at is the server's INTERNALDATE: when the message arrived there.
	at time.Time
	// authres are the results of the receiver's own topmost
	// Authentication-Results field, by method (spf, dkim, dmarc).
	authres  map[string]string
	authresV string // the field as found, for the report
}

// lookInMailbox logs in to the mailbox and looks for the message carrying
// token in the inbox, then in each spam folder; a message found is deleted
// (every copy in that folder). It returns nil, nil when the message is not
// there yet.
func lookInMailbox(ctx context.Context, env *probes.Env, m MailboxConfig, token string) (found *boxFind, err error) {
	defer func() {
		// go-imap panics on a few server answers it cannot represent
		// (a dynamic "*" in a SEARCH result); a server's answer must not
		// crash the probe.
		if v := recover(); v != nil {
			found, err = nil, fmt.Errorf("IMAP server %s: unusable answer: %v", m.IMAP, v)
		}
	}()
	host, port, _ := net.SplitHostPort(m.IMAP)
	addrs, err := resolveHost(ctx, env, host)
	if err != nil {
		return nil, err
	}
	var conn net.Conn
	var dialErrs []string
	for _, ip := range addrs {
		c, err := env.Dialer.DialContext(ctx, "tcp", net.JoinHostPort(ip.String(), port))
		if err != nil {
			dialErrs = append(dialErrs, err.Error())
			continue
		}
		conn = &cappedConn{Conn: c, left: maxIMAPSessionBytes}
		break
	}
	if conn == nil {
		return nil, fmt.Errorf("cannot connect to %s: %s", m.IMAP, strings.Join(dialErrs, "; "))
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	serverName := m.TLSServerName
	if serverName == "" {
		serverName = host
	}
	tc := &tls.Config{ServerName: serverName, RootCAs: env.RootCAs, InsecureSkipVerify: m.InsecureSkipVerify, MinVersion: tls.VersionTLS12} //nolint:gosec // the operator's choice
	opts := &imapclient.Options{TLSConfig: tc}
	var c *imapclient.Client
	if m.tlsMode() == TLSImplicit {
		tconn := tls.Client(conn, tc)
		if err := tconn.HandshakeContext(ctx); err != nil {
			return nil, fmt.Errorf("TLS with %s: %w", m.IMAP, err)
		}
		c = imapclient.New(tconn, opts)
	} else if c, err = imapclient.NewStartTLS(conn, opts); err != nil {
		return nil, fmt.Errorf("STARTTLS with %s: %w", m.IMAP, err)
	}
	defer c.Close()
	password, err := readPassword(m.PasswordFile)
	if err != nil {
		return nil, fmt.Errorf("password_file: %w", err)
	}
	if err := c.Login(m.Username, password).Wait(); err != nil {
		return nil, fmt.Errorf("IMAP login to %s refused: %w", m.IMAP, err)
	}
	defer func() { _ = c.Logout().Wait() }()

	folders := append([]string{m.Inbox}, m.SpamFolders...)
	var missing []string
	for i, folder := range folders {
		if _, err := c.Select(folder, nil).Wait(); err != nil {
			if i == 0 {
				return nil, fmt.Errorf("the inbox %q of %s cannot be selected: %w", folder, m.Name, err)
			}
			missing = append(missing, folder) // not every server has every spam folder
			continue
		}
		data, err := c.UIDSearch(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: TokenHeader, Value: token}}}, nil).Wait()
		if err != nil {
			return nil, fmt.Errorf("searching %q of %s: %w", folder, m.Name, err)
		}
		uids := searchUIDs(data)
		if len(uids) == 0 {
			continue
		}
		f := &boxFind{folder: folder, placement: PlacementInbox}
		if i > 0 {
			f.placement = PlacementSpam
		}
		section := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, Peek: true, Partial: &imap.SectionPartial{Size: maxHeaderBytes}}
		msgs, err := c.Fetch(imap.UIDSetNum(uids[0]), &imap.FetchOptions{InternalDate: true, UID: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
		if err != nil {
			return nil, fmt.Errorf("fetching the message from %q of %s: %w", folder, m.Name, err)
		}
		if len(msgs) > 0 {
			f.at = msgs[0].InternalDate
			f.authresV, f.authres = receiverAuthResults(msgs[0].FindBodySection(section))
		}
		// Read messages are deleted: the mailbox does not fill up.
		set := imap.UIDSetNum(uids...)
		if err := c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
			return f, fmt.Errorf("marking the message deleted in %q of %s: %w", folder, m.Name, err)
		}
		if c.Caps().Has(imap.CapUIDPlus) {
			err = c.UIDExpunge(set).Close()
		} else {
			err = c.Expunge().Close()
		}
		if err != nil {
			return f, fmt.Errorf("expunging the message in %q of %s: %w", folder, m.Name, err)
		}
		return f, nil
	}
	if len(missing) == len(m.SpamFolders) {
		return nil, fmt.Errorf("none of the spam folders %s exists at %s: set spam_folders", strings.Join(m.SpamFolders, ", "), m.Name)
	}
	return nil, nil
}

// searchUIDs reads the UIDs of a search result without go-imap's
// AllUIDs, which panics on a dynamic set.
func searchUIDs(data *imap.SearchData) []imap.UID {
	set, ok := data.All.(imap.UIDSet)
	if !ok {
		return nil
	}
	uids, ok := set.Nums()
	if !ok {
		return nil
	}
	return uids
}

// receiverAuthResults parses the topmost Authentication-Results field of a
// header (the one the receiver added; RFC 8601 §5: fields below it came
// from elsewhere) into its spf, dkim and dmarc results. DKIM with several
// signatures reports pass when one passes.
func receiverAuthResults(header []byte) (string, map[string]string) {
	h, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(header))).ReadMIMEHeader()
	if err != nil && len(h) == 0 {
		return "", nil
	}
	fields := h.Values("Authentication-Results")
	if len(fields) == 0 {
		return "", nil
	}
	_, results, err := authres.Parse(fields[0])
	if err != nil {
		return probes.Clip(fields[0], 300), nil
	}
	out := map[string]string{}
	for _, r := range results {
		switch r := r.(type) {
		case *authres.SPFResult:
			if _, seen := out[MethodSPF]; !seen {
				out[MethodSPF] = resultLabel(string(r.Value))
			}
		case *authres.DKIMResult:
			if prev, seen := out[MethodDKIM]; !seen || prev != "pass" {
				out[MethodDKIM] = resultLabel(string(r.Value))
			}
		case *authres.DMARCResult:
			if _, seen := out[MethodDMARC]; !seen {
				out[MethodDMARC] = resultLabel(string(r.Value))
			}
		}
	}
	return probes.Clip(strings.Join(strings.Fields(fields[0]), " "), 300), out
}

// resultLabel keeps a receiver's result value within the bounded set the
// metric's label takes (RFC 8601 §2.7).
func resultLabel(v string) string {
	switch v = strings.ToLower(v); v {
	case "pass", "fail", "softfail", "neutral", "none", "temperror", "permerror", "policy":
		return v
	}
	return "other"
}
