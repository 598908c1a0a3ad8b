package smtp

import "github.com/deliverability-exporter/deliverability_exporter/probes/smtpsession"

// The conversations are the smtpsession package's: the smtp probe judges
// them, and so do the other probes that read them.
type (
	Session    = smtpsession.Session
	TLSInfo    = smtpsession.TLSInfo
	Extension  = smtpsession.Extension
	Reply      = smtpsession.Reply
	RcptResult = smtpsession.RcptResult
)

// The RCPT checks a module can turn on.
const (
	RcptPostmaster = smtpsession.RcptPostmaster
	RcptAbuse      = smtpsession.RcptAbuse
	RcptOpenRelay  = smtpsession.RcptOpenRelay
)

// DefaultRelayTestRecipient is the foreign address the open-relay check
// offers (see smtpsession.DefaultRelayTestRecipient for why this one).
const DefaultRelayTestRecipient = smtpsession.DefaultRelayTestRecipient
