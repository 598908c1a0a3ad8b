package dkim

// discoverySelectors are the selector names that mail providers and MTAs
// publish their keys under by default, tried when a module has
// discover: true. A selector is only worth trying when the provider uses
// the same name for every customer; each entry says where the name comes
// from (documentation, or customers' published zones showing it).
//
// Left out on purpose, because the selector differs per customer and
// cannot be guessed:
//   - Amazon SES Easy DKIM: three random tokens per identity,
//     "<token>._domainkey" CNAME "<token>.dkim.amazonses.com" (AWS SES API
//     reference, VerifyDomainDkim).
//   - Postmark: a date-based selector per key, "<YYYYMMDDhhmmss>pm"
//     (Postmark's sender-signature DNS settings, as described by
//     trustyourinbox.com's and phishfence.io's Postmark guides).
//   - HubSpot: "hs1-<account id>" and "hs2-<account id>".
//
// Such domains are probed with dkim_selector= or the module's selectors.
var discoverySelectors = []string{
	// Google Workspace: "the prefix selector is automatically set to the
	// default, google" (Google Workspace Admin Help, "DKIM selectors",
	// support.google.com/a/answer/11611356); vandenhooff.name publishes
	// google._domainkey (the dbft-verifier DKIM tests copy its record).
	"google",
	// Microsoft 365: two CNAMEs, selector1/selector2._domainkey.<domain>
	// to selector1-<domain with dashes>._domainkey.<tenant>.onmicrosoft.com
	// (Microsoft Learn, "Use DKIM for email in your custom domain" and the
	// Get-DkimSigningConfig Selector1CNAME/Selector2CNAME fields; the
	// dnscontrol M365_BUILDER documentation builds the same names).
	"selector1",
	"selector2",
	// Mailchimp: k1._domainkey CNAME dkim.mcsv.net, and for newer accounts
	// k2 (dkim2.mcsv.net) and k3 (dkim3.mcsv.net) (Mailchimp's domain
	// authentication records, as listed by netdig.tools and phishfence.io).
	"k1",
	"k2",
	"k3",
	// Mailchimp Transactional (Mandrill): "mandrill._domainkey" (Mandrill's
	// domain setup, quoted in Auth0's custom email provider docs).
	"mandrill",
	// SendGrid (Twilio) Automated Security: s1/s2._domainkey CNAME
	// s1/s2.domainkey.u<id>.wl<n>.sendgrid.net (Twilio SendGrid docs,
	// "How to set up domain authentication"; customers' zones show
	// exactly these names).
	"s1",
	"s2",
	// Zoho Mail: the admin names the selector in the Zoho Mail admin
	// console; "zmail" is the name customers' zones carry (Terraform and
	// dnscontrol zones of Zoho Mail users), and Zoho's other products
	// (Zoho Assist, Meeting) use "zoho._domainkey" (Zoho help center,
	// "Email domain verification").
	"zmail",
	"zoho",
	// rspamd: the dkim_signing module's default selector is "dkim"
	// (rspamd.com/doc/modules/dkim_signing.html, option selector).
	"dkim",
	// OpenDKIM: opendkim-genkey writes default.private/default.txt unless
	// -s names another selector (opendkim-genkey(8), option -s); cPanel
	// signs with "default" too.
	"default",
	// "mail": Brevo (developers.brevo.com, "Domain authentication and
	// validation": host_name "mail._domainkey"), Mail-in-a-Box
	// (setup/dkim.sh, DKIM_SELECTOR=mail) and HestiaCP (its issue #4313
	// on the fixed "mail" selector).
	"mail",
	// Fastmail: fm1, fm2, fm3._domainkey CNAME fmN.<domain>.dkim.fmhosted.com
	// (Fastmail's custom-domain DNS settings; customers' zones show them).
	"fm1",
	"fm2",
	"fm3",
	// Proton Mail: protonmail, protonmail2, protonmail3._domainkey CNAMEs
	// into domains.proton.ch (Proton's custom domain setup).
	"protonmail",
	"protonmail2",
	"protonmail3",
	// Mailgun: "mx._domainkey" TXT on the sending domain (Mailgun's domain
	// verification records), and pdk1/pdk2 CNAMEs for Automatic Sender
	// Security (documentation.mailgun.com, "API Domain Key Management and
	// Security").
	"mx",
	"pdk1",
	"pdk2",
}

// DiscoverySelectors returns the built-in discovery list.
func DiscoverySelectors() []string { return append([]string(nil), discoverySelectors...) }

// wildcardLabel is a selector no provider uses, asked beside the discovery
// list: when "*._domainkey.<domain>" answers it (a revoked wildcard key is
// what M3AAWG advises for parked domains), every discovered selector with
// the same answer is the wildcard, not a key of its own.
const wildcardLabel = "_wildcard-check"
