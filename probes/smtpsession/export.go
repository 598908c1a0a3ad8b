package smtpsession

import "bufio"

// ReadReply reads one SMTP reply with the bounds of this package's own
// conversations (line length, lines and bytes per reply), for the other
// SMTP clients of the exporter (the delivery probe's submission).
func ReadReply(br *bufio.Reader) (*Reply, error) { return readReply(br) }

// ParseEHLO splits an EHLO reply into the server's name and its
// extensions, as the conversations here read it.
func ParseEHLO(r *Reply) (name string, exts []Extension) { return parseEHLO(r) }
