package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-systemd/v22/activation"
	"github.com/mdlayher/vsock"
	toolkitweb "github.com/prometheus/exporter-toolkit/web"
	"golang.org/x/net/netutil"

	"github.com/deliverability-exporter/deliverability_exporter/collector"
)

// Bounds of the HTTP server. Every connection costs a file descriptor
// whatever it does, authenticated or not, so none may be held for free: a
// client gets readHeaderTimeout to send its request line and headers,
// readTimeout for the whole request, and a connection kept alive between
// requests is closed after --web.idle-timeout. A slow reader of an answer
// is cut off by the write timeout: writeTimeout for the pages, and for a
// probe its own deadline plus web.ProbeWriteGrace (web.ProbeHandler sets
// it per request, so a module timeout of up to 10m is always allowed).
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 60 * time.Second
)

// newServer is the HTTP server with its timeouts.
func newServer(handler http.Handler, idleTimeout time.Duration) *http.Server {
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
	}
}

// listenAndServe serves as exporter-toolkit's ListenAndServe does (each
// --web.listen-address, vsock:// addresses, or the systemd sockets; TLS and
// basic auth from --web.config.file), with each listener accepting at most
// maxConns connections at once (0: no bound). A connection beyond the
// bound waits in the kernel's accept queue, holding no file descriptor of
// the process, until one is closed.
func listenAndServe(server *http.Server, flags *toolkitweb.FlagConfig, maxConns int, logger *slog.Logger) error {
	listeners, err := listen(flags, logger)
	if err != nil {
		return err
	}
	for i, l := range listeners {
		defer l.Close()
		if maxConns > 0 {
			listeners[i] = netutil.LimitListener(l, maxConns)
		}
	}
	return toolkitweb.ServeMultiple(listeners, server, flags, logger)
}

// listen opens the listeners exporter-toolkit's ListenAndServe would.
func listen(flags *toolkitweb.FlagConfig, logger *slog.Logger) ([]net.Listener, error) {
	if flags.WebSystemdSocket != nil && *flags.WebSystemdSocket {
		logger.Info("Listening on systemd activated listeners instead of port listeners.")
		listeners, err := activation.Listeners()
		if err != nil {
			return nil, err
		}
		if len(listeners) < 1 {
			return nil, errors.New("no socket activation file descriptors found")
		}
		return listeners, nil
	}
	if flags.WebListenAddresses == nil || len(*flags.WebListenAddresses) == 0 {
		return nil, toolkitweb.ErrNoListeners
	}
	var listeners []net.Listener
	for _, address := range *flags.WebListenAddresses {
		l, err := listenOn(address)
		if err != nil {
			for _, open := range listeners {
				open.Close()
			}
			return nil, err
		}
		listeners = append(listeners, l)
	}
	return listeners, nil
}

func listenOn(address string) (net.Listener, error) {
	if rest, ok := strings.CutPrefix(address, "vsock://"); ok {
		_, portText, err := net.SplitHostPort(rest)
		if err != nil {
			return nil, fmt.Errorf("--web.listen-address %s: %w", address, err)
		}
		port, err := strconv.ParseUint(portText, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("--web.listen-address %s: port %q: %w", address, portText, err)
		}
		return vsock.Listen(uint32(port), nil)
	}
	return net.Listen("tcp", address)
}

// reloadMinInterval is the least time between two reloads through
// POST /-/reload: whoever can reach the endpoint cannot keep the exporter
// busy re-reading its configuration (SIGHUP, which needs the right to
// signal the process, is not limited).
const reloadMinInterval = 5 * time.Second

// reloadHandler serves /-/reload: 403 unless --web.enable-lifecycle; POST
// only; at most one reload per reloadMinInterval (429 with Retry-After
// otherwise).
type reloadHandler struct {
	enabled bool
	engine  *collector.Engine

	mu   sync.Mutex
	next time.Time
}

func (h *reloadHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.enabled {
		http.Error(w, "the lifecycle API is not enabled: start the exporter with --web.enable-lifecycle, or send it SIGHUP", http.StatusForbidden)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "reload with POST", http.StatusMethodNotAllowed)
		return
	}
	h.mu.Lock()
	now := time.Now()
	if wait := h.next.Sub(now); wait > 0 {
		h.mu.Unlock()
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Round(time.Second)/time.Second)+1))
		http.Error(w, fmt.Sprintf("a reload ran less than %s ago; retry in %s", reloadMinInterval, wait.Round(time.Millisecond)), http.StatusTooManyRequests)
		return
	}
	h.next = now.Add(reloadMinInterval)
	h.mu.Unlock()
	if err := h.engine.Reload(); err != nil {
		http.Error(w, "reload failed, the previous configuration stays in force: "+err.Error(), http.StatusInternalServerError)
		return
	}
	fmt.Fprintln(w, "configuration reloaded")
}
