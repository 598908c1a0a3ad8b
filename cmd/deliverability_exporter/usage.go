package main

import (
	"strings"

	"github.com/alecthomas/kingpin/v2"
)

// usageTemplate is kingpin's default help, which for the program itself
// (no command named) also lists the flags of the default command, serve:
// they belong to serve so that `check --help` leaves them out, but
// `deliverability_exporter --help` is where people look for them.
var usageTemplate = func() string {
	const anchor = "{{if .Context.Flags -}}\nFlags:\n{{.Context.Flags|FlagsToTwoColumns|FormatTwoColumns}}\n{{end -}}\n"
	const defaultFlags = `{{if not .Context.SelectedCommand -}}
{{range .App.Commands}}{{if .Default -}}
Flags of {{.Name}}, the default command:
{{.Flags|FlagsToTwoColumns|FormatTwoColumns}}
{{end}}{{end -}}
{{end -}}
`
	if !strings.Contains(kingpin.DefaultUsageTemplate, anchor) {
		panic("kingpin's default usage template changed: update usageTemplate")
	}
	return strings.Replace(kingpin.DefaultUsageTemplate, anchor, anchor+defaultFlags, 1)
}()
