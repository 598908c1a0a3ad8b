// Package web serves the exporter over HTTP: /probe (the metrics of one
// probe request, or its report with debug=true), the landing page with the
// recent reports, and the reports themselves. It also renders reports as
// text, JSON and HTML, for the pages and for the check command. It runs no
// probe itself: the collector does, and this package only asks it to.
package web
