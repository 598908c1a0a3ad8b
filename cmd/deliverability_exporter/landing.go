package main

import (
	"html/template"
	"net/http"

	"github.com/prometheus/common/version"

	"github.com/deliverability-exporter/deliverability_exporter/collector"
)

var landingTemplate = template.Must(template.New("landing").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>deliverability_exporter</title>
<style>
body { font-family: sans-serif; max-width: 60em; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } table { border-collapse: collapse; } td, th { padding: .3em .8em; border-bottom: 1px solid #ddd; text-align: left; }
code { background: #f4f4f4; padding: 0 .2em; } form { margin: 1em 0; } input[type=text] { width: 20em; }
</style>
</head>
<body>
<h1>deliverability_exporter</h1>
<p>Checks mail domains against what Gmail, Microsoft and the other large receivers require.
Prometheus scrapes <code>/probe?module=MODULE&amp;target=example.com</code>.</p>
<form action="probe" method="get">
<label>Target <input type="text" name="target" placeholder="example.com, mx1.example.com:25 or 192.0.2.1" required></label>
<label>Module <select name="module">{{range .Modules}}<option>{{.Name}}</option>{{end}}</select></label>
<input type="hidden" name="debug" value="true">
<button type="submit">Probe and show the report</button>
</form>
<h2>Modules</h2>
<table>
<tr><th>Module</th><th>Probes</th><th>Timeout</th><th>Resolvers</th></tr>
{{range .Modules}}<tr><td>{{.Name}}</td><td>{{range $i, $p := .Probes}}{{if $i}}, {{end}}{{$p}}{{end}}</td><td>{{.Timeout}}</td><td>{{range $i, $r := .Resolvers}}{{if $i}}, {{end}}{{$r}}{{end}}</td></tr>
{{end}}</table>
<p>Configuration: {{.ConfigSource}}</p>
<ul>
<li><a href="metrics">Exporter metrics</a></li>
<li><a href="-/healthy">Health</a></li>
</ul>
<p><small>{{.Version}}</small></p>
</body>
</html>
`))

type landingModule struct {
	Name      string
	Probes    []string
	Timeout   string
	Resolvers []string
}

// landingPage lists the modules in force and offers a form that runs a
// probe and shows its report.
func landingPage(store *collector.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		cfg := store.Current()
		data := struct {
			Modules      []landingModule
			ConfigSource string
			Version      string
		}{Version: version.Info(), ConfigSource: store.Path()}
		if data.ConfigSource == "" {
			data.ConfigSource = "built-in default (config.example.yml)"
		}
		for _, name := range cfg.ModuleNames() {
			m, _ := cfg.Module(name)
			data.Modules = append(data.Modules, landingModule{
				Name:      name,
				Probes:    m.ProbeNames(),
				Timeout:   m.Timeout.String(),
				Resolvers: m.ResolverAddresses(),
			})
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = landingTemplate.Execute(w, data)
	})
}
