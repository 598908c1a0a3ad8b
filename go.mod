module github.com/deliverability-exporter/deliverability_exporter

go 1.26.0

require (
	github.com/go-kit/log v0.2.1
	github.com/miekg/dns v1.1.73
	golang.org/x/net v0.62.0
)

require (
	github.com/go-logfmt/logfmt v0.5.1 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/text v0.43.0 // indirect
)
