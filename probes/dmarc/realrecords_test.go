package dmarc_test

// Real DMARC records of big mail providers and of smaller domains, as
// published (the text of the TXT record), with where each was copied from.
var realRecords = []struct {
	domain, record, source string
}{
	// Quoted from live answers in a DNS client's test notes ("Test Case
	// 3: DMARC Policies") and in KDE messagelib's DMARC tests.
	{"google.com", "v=DMARC1; p=reject; rua=mailto:mailauth-reports@google.com", "DNS client test notes; KDE messagelib dmarc tests"},
	// dig output in several mail notes (e.g. a 2019 Korean survey of
	// providers' records) and PowerShell DNSHealth's Read-DmarcPolicy help.
	{"gmail.com", "v=DMARC1; p=none; sp=quarantine; rua=mailto:mailauth-reports@google.com", "DNSHealth Read-DmarcPolicy example; dig outputs"},
	// KDE messagelib dmarc tests; the same 2019 survey.
	{"yahoo.com", "v=DMARC1; p=reject; pct=100; rua=mailto:dmarc_y_rua@yahoo.com;", "KDE messagelib dmarc tests"},
	// A PowerShell mail-policy tool's example output (live query).
	{"microsoft.com", "v=DMARC1; p=reject; pct=100; rua=mailto:d@rua.agari.com; ruf=mailto:d@ruf.agari.com; fo=1", "PowerShell DNS survey example output"},
	// A Chinese mail-security notes README listing providers' records.
	{"hotmail.com", "v=DMARC1; p=none; rua=mailto:d@rua.agari.com;ruf=mailto:d@ruf.agari.com;fo=1:s:d", "mail security notes README"},
	{"office365.com", "v=DMARC1; p=reject; pct=100; rua=mailto:d@rua.agari.com; ruf=mailto:d@ruf.agari.com; fo=1", "mail security notes README"},
	{"hushmail.com", "v=DMARC1; p=quarantine; pct=100; rua=mailto:dmarc-rua@hushmail.com", "mail security notes README"},
	{"126.com", "v=DMARC1; p=none;", "mail security notes README"},
	{"qq.com", "v=DMARC1; p=none; rua=mailto:mailauth-reports@qq.com", "mail security notes README"},
	{"aliyun.com", "v=DMARC1; p=quarantine; pct=5;rua=mailto:dmarc@service.aliyun.com;", "mail security notes README"},
	{"alipay.com", "v=DMARC1; p=quarantine; rua=mailto:dmarc_ay@service.alibaba.com; ruf=mailto:dmarc_ay@service.alibaba.com", "mail security notes README"},
	// A mail-posture scorer's test fixtures (support.apple.com inherits
	// apple.com's sp=reject).
	{"apple.com", "v=DMARC1; p=quarantine; sp=reject; rua=mailto:d@rua.agari.com; ruf=mailto:d@ruf.agari.com;", "mail posture scorer test fixtures"},
	// A domain scan's JSON output.
	{"chase.com", "v=DMARC1; p=reject; pct=100; rua=mailto:d@rua.agari.com; ruf=mailto:d@ruf.agari.com;", "domain scan JSON output"},
	// WikiTideOrg/dns zones/wikitide.com: no spaces, no reports.
	{"wikitide.com", "v=DMARC1;p=quarantine;pct=100;fo=1", "WikiTideOrg/dns zones/wikitide.com"},
	// matthewgall/dnscontrol zones/matthewgall/matthewgall.cf.js: a
	// parked domain with strict alignment.
	{"matthewgall.cf", "v=DMARC1; p=reject; sp=reject; adkim=s; aspf=s;", "matthewgall/dnscontrol matthewgall.cf.js"},
}
