package dkim_test

// Real DKIM key records, each as its owner published it (the strings of
// the TXT record as they appear in the source), with where it was copied
// from. They serve the parser tests and the zones of the probe tests.

type realKey struct {
	owner   string   // the selector's full name
	strings []string // the TXT record's character-strings
	source  string
	keyType string
	bits    int
	flags   string // FlagsLabel
}

var realKeys = []realKey{
	{
		// gmail.com's signing key since mid-2023; copied from the live
		// answer in the DKIM circuit tests of the dbft-verifier Go
		// repositories (txhsl/dbft-verifier, doubiliu/dbft-verifier).
		owner: "20230601._domainkey.gmail.com.",
		strings: []string{"v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAntvSKT1hkqhKe0xcaZ0x+QbouDsJuBfby/S82jxsoC/SodmfmVs2D1KAH3mi1AqdMdU12h2VfETeOJkgGYq5ljd996AJ7ud2SyOLQmlhaNHH7Lx+Mdab8/zDN1SdxPARDgcM7AsRECHwQ15R20FaKUABGu4NTbR2fDKnYwiq5jQyBkL",
			"WP+LgGOgfUF4T4HZb2PY2bQtEP6QeqOtcW4rrsH24L7XhD+HSZb1hsitrE0VPbhJzxDwI4JF815XMnSVjZgYUXP8CxI1Y0FONlqtQYgsorZ9apoW1KPQe8brSSlRsi9sXB/tu56LmG7tEDNmrZ5XUwQYUUADBOu7t1niwXwIDAQAB"},
		source:  "dbft-verifier DKIM tests (live gmail.com record)",
		keyType: "rsa", bits: 2048,
	},
	{
		// icloud.com, same source.
		owner: "1a1hai._domainkey.icloud.com.",
		strings: []string{"v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA1ZEfbkf4TbO2TDZI67WhJ6G8Dwk3SJyAbBlE/QKdyXFZB4HfEU7AcuZBzcXSJFE03DlmyOkUAmaaR8yFlwooHyaKRLIaT3epGlL5YGowyfItLly2k0Jj0IOICRxWrB378b7qMeimE8KlH1UNaVpRTTi0XIYjIKAOpTlBmkM9a/3Rl4NWy8pLYApXD+WCkYxPc",
			"xoAAgaN8osqGTCJ5r+VHFU7Wm9xqq3MZmnfo0bzInF4UajCKjJAQa+HNuh95DWIYP/wV77/PxkEakOtzkbJMlFJiK/hMJ+HQUvTbtKW2s+t4uDK8DI16Rotsn6e0hS8xuXPmVte9ZzplD0fQgm2qwIDAQAB"},
		source:  "dbft-verifier DKIM tests (live icloud.com record)",
		keyType: "rsa", bits: 2048,
	},
	{
		// neo.link signs through Microsoft 365 (selector1); the record
		// Microsoft publishes at the onmicrosoft.com target, trailing ";"
		// included. Same source.
		owner: "selector1-neo-link._domainkey.neolink.onmicrosoft.com.",
		strings: []string{"v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEArqlcwDWpSexGyw8ISmtbx3zcLwue2qBVsADdOzDRgm5ZbGm648Rz/+ClZQE1VGkY0SGcWp7WfN7YH8PR8M/UqnV7rlT5uGvrJ3h/ZHd/dCq/NqpPpH1aBT6eISptgnD5vXG/yiJVjqOmIHVlI2UHmce2JEl6uS1b3Ksn86svQtuTFWmGv8TiyXZLX",
			"JaYfI8ZZn7VAQ7qjpMt15+PBfGYw0ykNEgyTkjpYHSX241WhyLU0kgEcIxLulMOykeE+46bwx5Wl0IN9F90QXDZHLiAVJD03+sWSP9ZKIM9oLzWJvOoMNIT8VZrGQy1X0102ACdRn2x661s8Fst9Rwo+3W3FQIDAQAB;"},
		source:  "dbft-verifier DKIM tests (live selector1._domainkey.neo.link record)",
		keyType: "rsa", bits: 2048,
	},
	{
		// radiasoft.net, as its OpenDKIM/BIND generator writes it: split
		// after the k= tag and again inside p=
		// (radiasoft/rsconf tests/pkcli/build_data/1.out/srv/host/v3.radia.run/etc/named/opendkim-named.pl).
		owner: "20240328._domainkey.radiasoft.net.",
		strings: []string{"v=DKIM1; k=rsa; ",
			"p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAxTlGqYK/yGYd3JeFVWh/vYHwFZwBCO2HGfk7AcYJouFpPXR83ELOhd9f8nAfKfR6Cw/MgNDcCzRJMrXNqy9OIroi7muOe8jPWrczyRNWsv9Ecc8lO7Rwp98ThkD6RRaKsbPEUbBzCjBjToq45ssljuUf1Oy0SCpVUd4KeRnYZgEYTUkBvey7XPlswNvvsdGFUlRhg1VbYMyk/S",
			"xH6+zTqXPWZqIVh47p4mKJ1LJgBo3fm4uG+xDETyHokM0w2D43JnBsDGEnCU5nSGUjIYMaXPPn8I/cneitpXpF4vWPoS1RlLAY772ZToRaLy7cXoU7g+n2gGwP81GOP+Hy8PHdtQIDAQAB"},
		source:  "radiasoft/rsconf opendkim-named.pl",
		keyType: "rsa", bits: 2048,
	},
	{
		// wikitide.com (WikiTideOrg/dns zones/wikitide.com).
		owner: "mail._domainkey.wikitide.com.",
		strings: []string{"v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAvn/JeGnNnhRHqyvuHEJxY87GckiFFGnx5lhWGY2oKJtt6yR74VXSi3UAonUIjlfkDl+KqrNZtRtTIVLsLU8eTx67xJGi5oOgdv2nu0EwOAbDU9EWZjoA1FrJKRfFLfyfkRhnXLX0WTIXs5v+lWz9FAva+E/muXBb5PRk0UpaiorN5oGXy",
			"X18T0Xdnmq07aG5TgNeQQgYX2hSxY9njb9Lpw8KDAqH2exczmtQP/dmY5Yc0UmvRcBSAQ8yc9RtAGtzcDzaidtjyyolyQDcYVcW4p8nv8Wzhr8/EKrS0qKq4WV5OfVfWhfPH+iFQ1mJPphN7IrH5vAlxudJQm72LAKDcwIDAQAB"},
		source:  "WikiTideOrg/dns zones/wikitide.com",
		keyType: "rsa", bits: 2048,
	},
	{
		// williamblondel.com; its dnscontrol macro joins v=, k= and p=
		// (wblondel/my-dns-zones globals/macros/builders/txt/dkim.js).
		owner: "dkim._domainkey.williamblondel.com.",
		strings: []string{"v=DKIM1;k=rsa;p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA2bz9Hm77fkCIgqqnFqtWyfmOLiZxYQmL64Dzhfqo2WefcUfYeXqwUn0sTaajJPF9arXpSWyuFUcKnNx6pNKnYPlR/9RVU+N+WGk6ZinlzEpkLrG753nhQyukiLWV4QJNRoNpI3uCALYWRmcT5ua/plS1+RniJ5ojZvVHiIOE3fdzlfTldhO3mHJ6MCStX+CY",
			"YdaauNsA31W8SvkllkEKoFYaQCgojs6nKNHKnk2L1X/NXMPQZ53ItysvvoDrT+tikQcVcYqMC4kmb1cCb/tT/oXdMM88Ff+1HJoTy8uhEQdpi1fTItYgKPEnoD6TxtjSmLPlwwBq8bA4H5I3QfMEvQIDAQAB"},
		source:  "wblondel/my-dns-zones dkim.js",
		keyType: "rsa", bits: 2048,
	},
	{
		// foxmail.com (Tencent), 1024 bits; dbft-verifier DKIM tests.
		owner:   "s201512._domainkey.foxmail.com.",
		strings: []string{"v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDPsFIOSteMStsN615gUWK2RpNJ/B/ekmm4jVlu2fNzXADFkjF8mCMgh0uYe8w46FVqxUS97habZq6P5jmCj/WvtPGZAX49jmdaB38hzZ5cUmwYZkdue6dM17sWocPZO8e7HVdq7bQwfGuUjVuMKfeTB3iNeo6/hFhb9TmUgnwjpQIDAQAB"},
		source:  "dbft-verifier DKIM tests (live foxmail.com record)",
		keyType: "rsa", bits: 1024,
	},
	{
		// vandenhooff.name, a Google Workspace domain still on the old
		// 1024-bit "google" key; dbft-verifier DKIM tests.
		owner:   "google._domainkey.vandenhooff.name.",
		strings: []string{"v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCl2Qrp5KF1uJnQSO0YuwInVPISQRrUciXtg/5hnQl6ed+UmYvWreLyuiyaiSd9X9Zu+aZQoeKm67HCxSMpC6G2ar0NludsXW69QdfzUpB5I6fzaLW8rl/RyeGkiQ3D66kvadK1wlNfUI7Dt9WtnUs8AFz/15xvODzgTMFJDiAcAwIDAQAB"},
		source:  "dbft-verifier DKIM tests (live vandenhooff.name record)",
		keyType: "rsa", bits: 1024,
	},
	{
		// 126.com (NetEase), as quoted with nslookup in a Chinese mail
		// security notes README found through the search index.
		owner:   "s110527._domainkey.126.com.",
		strings: []string{"v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCp9JpS7EORNjwIntXII17mJuwob+hJoVmHr2h2HPpSE7QYgh815kHdYC4JbxXgcP0mNZOY3R1Vk6dUDR8NQiL+xB9fRNWFS36Tq7CzPE/UI/+PxWhPzPnvABr4gbQcres8ee9cgEMPFDpck4O7ULNJNxH003Ofcmh1K+xDGyqPWQIDAQAB"},
		source:  "mail security notes README (nslookup of 126.com)",
		keyType: "rsa", bits: 1024,
	},
	{
		// openlylocal.com, with t=s and no spaces
		// (CountCulture/OpenlyLocal config/initializers/dkim.rb).
		owner:   "mail._domainkey.openlylocal.com.",
		strings: []string{"v=DKIM1;t=s;p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDXW0G0z6S7ZidpdiG0OEyl4s/6k9sH2pHsggJzOvfVUKMvQQ6bFT2Zt04X3dpN5nDTVsKrozStO+7PNzVe+DHpAHuLrL9JQd31p75BkIfjzU4ua0ZBIUk1hK6sa3UwqpmkoaRrKGzKgadG4VLoWmMMMr/MMdnuaHb2e/lcjDLHlwIDAQAB"},
		source:  "CountCulture/OpenlyLocal config/initializers/dkim.rb",
		keyType: "rsa", bits: 1024, flags: "s",
	},
	{
		// signalk.org, still in testing mode (SignalK/dns dnsconfig.js).
		owner:   "mail._domainkey.signalk.org.",
		strings: []string{"v=DKIM1; k=rsa; t=y; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDKS3XYzFejuKKG8RtPC+SUIq2/NKN/Zbc+anRX6KBd9IwiL/HfFco/5ifYwEiTPOPrrOtcugdLplVatO/MIvYlF2DLJ8NGyTl/1iBdRp3Ft9XLbIdfslV0Jar3Tu0ZR1aGxfBwPuvna4fx5XcnxOc0wZ9+SNThfgbQr9ELIZBP3wIDAQAB"},
		source:  "SignalK/dns dnsconfig.js",
		keyType: "rsa", bits: 1024, flags: "y",
	},
	{
		// RFC 8463 Appendix A.2, the RSA key of the Ed25519 test message.
		owner: "test._domainkey.football.example.com.",
		strings: []string{"v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWR",
			"iGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutAC",
			"DfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3",
			"Ip3G+2kryOTIKT+l/K4w3QIDAQAB"},
		source:  "RFC 8463 Appendix A.2",
		keyType: "rsa", bits: 1024,
	},
	{
		// RFC 8463 Appendix A.2, the Ed25519 key.
		owner:   "brisbane._domainkey.football.example.com.",
		strings: []string{"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="},
		source:  "RFC 8463 Appendix A.2",
		keyType: "ed25519", bits: 256,
	},
	{
		// RFC 6376 Appendix C (the example key of the specification), as
		// emersion/go-msgauth's dkim/query_test.go carries it.
		owner: "brisbane._domainkey.example.com.",
		strings: []string{"v=DKIM1; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQ" +
			"KBgQDwIRP/UC3SBsEmGqZ9ZJW3/DkMoGeLnQg1fWn7/zYt" +
			"IxN2SnFCjxOCKG9v3b4jYfcTNh5ijSsq631uBItLa7od+v" +
			"/RtdC2UzJ1lWT947qR+Rcac2gbto/NMqJ0fzfVjH4OuKhi" +
			"tdY9tf6mcwGjaNBcWToIMmPSPDdQPNUYckcQ2QIDAQAB"},
		source:  "RFC 6376 Appendix C (emersion/go-msgauth dkim/query_test.go)",
		keyType: "rsa", bits: 1024,
	},
	{
		// dominionrnd.com signs software licences with Ed25519 keys
		// published as DKIM records under a two-label selector (the
		// crypto-licensing package's documentation).
		owner:   "cpppo-test.crypto-licensing._domainkey.dominionrnd.com.",
		strings: []string{"v=DKIM1; k=ed25519; p=qZERnjDZZTmnDNNJg90AcUJZ+LYKIWO9t0jz/AzwNsk="},
		source:  "crypto-licensing documentation (dominionrnd.com)",
		keyType: "ed25519", bits: 256,
	},
	{
		// The same publisher's other key, same source.
		owner:   "cpppo.licensing._domainkey.dominionrnd.com.",
		strings: []string{"v=DKIM1; k=ed25519; p=ICkF+6tTRKc8voK15Th4eTXMX3inp5jZwZSu4CH2FIc="},
		source:  "crypto-licensing documentation (dominionrnd.com)",
		keyType: "ed25519", bits: 256,
	},
}

// revokedWildcard is matthewgall.cf's parked-domain set-up, a revoked key
// for every selector (matthewgall/dnscontrol zones/matthewgall/matthewgall.cf.js).
const revokedWildcard = `*._domainkey.matthewgall.cf. IN TXT "v=DKIM1; p="`

func joined(k realKey) string {
	out := ""
	for _, s := range k.strings {
		out += s
	}
	return out
}

// zoneLine renders a real key as zone-file text, its strings as published.
func zoneLine(k realKey) string {
	line := k.owner + " 3600 IN TXT"
	for _, s := range k.strings {
		line += ` "` + s + `"`
	}
	return line
}
