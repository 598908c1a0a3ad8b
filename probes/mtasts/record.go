package mtasts

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/txtfields"
)

// Field is one name=value (TXT record) or name: value (policy) pair.
type Field = txtfields.Field

// Record is a parsed _mta-sts TXT record (RFC 8461 §3.1).
type Record struct {
	// Text is the record as published, its strings joined.
	Text string
	// ID is the policy instance id: 1 to 32 letters and digits.
	ID string
	// Extensions are the fields other than v and id, in order; senders
	// ignore them.
	Extensions []Field
	// Duplicates names fields given more than once; senders use the first
	// (RFC 8461 §3.2 says so of policies, and senders such as mox read
	// the TXT record the same way).
	Duplicates []string
}

// RecordError says why a TXT record that starts with v=STSv1 is not one
// senders accept, and at which byte offset.
type RecordError = txtfields.Error

// recordPrefix is the version field every MTA-STS record starts with,
// exactly so: %s"v=STSv1" is case-sensitive (RFC 7405).
const recordPrefix = "v=STSv1"

// IsRecord reports whether a TXT record is one senders select as an
// MTA-STS record: it begins with "v=STSv1", followed by the field
// separator or nothing (RFC 8461 §3.1: "records that do not begin with
// v=STSv1; are discarded"; the grammar allows whitespace before the ";",
// which erratum 6285 points out; both readings select the record here and
// the parser judges it).
func IsRecord(txt string) bool { return txtfields.HasVersion(txt, recordPrefix) }

// looksLikeSTS matches TXT records written as MTA-STS records that senders
// nevertheless discard: another case, whitespace before or around the "=".
var looksLikeSTS = regexp.MustCompile(`(?i)^[ \t]*v[ \t]*=[ \t]*stsv1([ \t;]|$)`)

// LooksLikeRecord reports whether a TXT record that IsRecord rejects was
// meant as an MTA-STS record.
func LooksLikeRecord(txt string) bool { return !IsRecord(txt) && looksLikeSTS.MatchString(txt) }

// ParseRecord parses an _mta-sts TXT record strictly by RFC 8461 §3.1:
//
//	sts-text-record = sts-version 1*(sts-sep sts-field) [sts-sep]
//	sts-field       = sts-id / sts-extension
//	sts-version     = %s"v=STSv1"
//	sts-sep         = *WSP %x3B *WSP
//	sts-id          = %s"id=" 1*32(ALPHA / DIGIT)
//	sts-extension   = sts-ext-name "=" sts-ext-value
//	sts-ext-name    = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
//	sts-ext-value   = 1*(%x21-3A / %x3C / %x3E-7E)
//
// The fields are read by probes/txtfields, as the TLS-RPT record (RFC 8460
// §3) shares this grammar and the tag=value parser (probes/tagvalue,
// RFC 6376 §3.2) does not fit it.
func ParseRecord(txt string) (*Record, error) {
	if !strings.HasPrefix(txt, recordPrefix) {
		return nil, &RecordError{Pos: 0, Msg: fmt.Sprintf("the record does not start with %q", recordPrefix)}
	}
	r := &Record{Text: txt}
	sc := txtfields.Scanner{Text: txt, Pos: len(recordPrefix),
		TrailingSpace: "whitespace after the last field; senders such as mox reject the record (RFC 8461 §3.1 allows it only around \";\")"}
	seen := map[string]bool{}
	fields := 0
	for {
		more, err := sc.Next()
		if err != nil {
			return nil, err
		}
		if !more {
			break
		}
		pos := sc.Pos
		f, err := sc.Field()
		if err != nil {
			return nil, err
		}
		fields++
		if seen[f.Name] {
			r.Duplicates = append(r.Duplicates, f.Name)
			continue
		}
		seen[f.Name] = true
		if f.Name == "id" {
			if err := validID(f.Value); err != nil {
				return nil, &RecordError{Pos: pos, Msg: err.Error()}
			}
			r.ID = f.Value
			continue
		}
		r.Extensions = append(r.Extensions, f)
	}
	switch {
	case fields == 0:
		return nil, &RecordError{Pos: len(txt), Msg: `the record has no fields after v=STSv1; it needs "id=" (RFC 8461 §3.1)`}
	case r.ID == "":
		return nil, &RecordError{Pos: len(txt), Msg: `the record has no "id=" field (RFC 8461 §3.1)`}
	}
	return r, nil
}

// validID checks sts-id's value: 1*32(ALPHA / DIGIT).
func validID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf(`"id=" is empty; it takes 1 to 32 letters and digits (RFC 8461 §3.1)`)
	case len(id) > 32:
		return fmt.Errorf("id %q is %d characters long; it takes 1 to 32 letters and digits (RFC 8461 §3.1)", probes.Clip(id, 40), len(id))
	}
	for i := 0; i < len(id); i++ {
		if !isAlnum(id[i]) {
			return fmt.Errorf("id %q contains %s; it takes letters and digits only (RFC 8461 §3.1)", id, probes.DescribeByte(id[i]))
		}
	}
	return nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
