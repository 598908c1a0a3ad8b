package main

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// externalURL parses --web.external-url as blackbox_exporter does: the URL
// people and Prometheus reach the exporter under (behind a reverse proxy,
// say), whose path is the default route prefix. Without the flag the
// exporter does not know it (given is false) and serves under "/".
func externalURL(raw string) (u *url.URL, given bool, err error) {
	if raw == "" {
		return &url.URL{Path: "/"}, false, nil
	}
	if strings.HasPrefix(raw, `"`) || strings.HasPrefix(raw, `'`) || strings.HasSuffix(raw, `"`) || strings.HasSuffix(raw, `'`) {
		return nil, false, errors.New("--web.external-url must not be quoted")
	}
	u, err = url.Parse(raw)
	if err != nil {
		return nil, false, fmt.Errorf("--web.external-url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, false, fmt.Errorf("--web.external-url %q: want an absolute http or https URL", raw)
	}
	u.Path = "/" + strings.Trim(u.Path, "/")
	return u, true, nil
}

// routePrefix is --web.route-prefix, defaulting to the external URL's
// path: "/", or "/path/" with both slashes.
func routePrefix(flag string, external *url.URL) string {
	if flag == "" {
		flag = external.Path
	}
	p := "/" + strings.Trim(flag, "/")
	if p != "/" {
		p += "/"
	}
	return p
}

// withRoutePrefix serves h under the prefix ("/mail/"): the prefix is
// taken off the path before h sees it, the prefix without its slash
// redirects to it, and anything outside it is not found. The pages link
// relatively (report?id=1, metrics), so they stay under the prefix.
func withRoutePrefix(prefix string, h http.Handler) http.Handler {
	if prefix == "/" {
		return h
	}
	bare := strings.TrimSuffix(prefix, "/")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == bare {
			target := prefix
			if r.URL.RawQuery != "" {
				target += "?" + r.URL.RawQuery
			}
			http.Redirect(w, r, target, http.StatusMovedPermanently)
			return
		}
		rest, ok := strings.CutPrefix(r.URL.Path, bare)
		if !ok || !strings.HasPrefix(rest, "/") {
			http.NotFound(w, r)
			return
		}
		r2 := new(http.Request)
		*r2 = *r
		r2.URL = new(url.URL)
		*r2.URL = *r.URL
		r2.URL.Path = rest
		if r.URL.RawPath != "" {
			if rawRest, ok := strings.CutPrefix(r.URL.RawPath, bare); ok {
				r2.URL.RawPath = rawRest
			} else {
				r2.URL.RawPath = ""
			}
		}
		h.ServeHTTP(w, r2)
	})
}
