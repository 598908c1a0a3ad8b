package main

import (
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/deliverability-exporter/deliverability_exporter/internal/receiver"
)

// receiverFlags configure the built-in receiver of the delivery probe.
type receiverFlags struct {
	listen            string
	hostname          string
	certFile, keyFile string
	maxMessageBytes   int64
	maxConnections    int
	sessionsPerMinute int
}

// flagger is where flags are added: the serve command.
type flagger interface {
	Flag(name, help string) *kingpin.FlagClause
}

func addReceiverFlags(app flagger, f *receiverFlags) {
	app.Flag("receiver.listen-address", "Address the built-in SMTP receiver of the delivery probe listens on (for example :25); empty: off.").
		PlaceHolder(":25").StringVar(&f.listen)
	app.Flag("receiver.hostname", "Name the receiver greets with: the MX host of the probe addresses' domain (default: the system's host name).").
		StringVar(&f.hostname)
	app.Flag("receiver.tls-cert-file", "PEM certificate (chain) the receiver offers with STARTTLS; without it relays deliver in plain text and delivery.tls fails.").
		PlaceHolder("FILE").StringVar(&f.certFile)
	app.Flag("receiver.tls-key-file", "PEM private key of --receiver.tls-cert-file.").
		PlaceHolder("FILE").StringVar(&f.keyFile)
	app.Flag("receiver.max-message-bytes", "Largest message the receiver accepts.").
		Default(fmt.Sprint(receiver.DefaultMaxMessageBytes)).Int64Var(&f.maxMessageBytes)
	app.Flag("receiver.max-connections", "SMTP sessions the receiver serves at once; more are refused with 421.").
		Default(fmt.Sprint(receiver.DefaultMaxConnections)).IntVar(&f.maxConnections)
	app.Flag("receiver.sessions-per-minute", "SMTP sessions a minute the receiver serves from one client network (IPv4 address, IPv6 /64); more are refused with 421.").
		Default(fmt.Sprint(receiver.DefaultSessionsPerMin)).IntVar(&f.sessionsPerMinute)
}

// startReceiver starts the built-in receiver when --receiver.listen-address
// is set (nil, nil when it is not). Its metrics go to reg.
func startReceiver(f *receiverFlags, logger log.Logger, reg prometheus.Registerer) (*receiver.Receiver, error) {
	if f.listen == "" {
		return nil, nil
	}
	if (f.certFile == "") != (f.keyFile == "") {
		return nil, errors.New("--receiver.tls-cert-file and --receiver.tls-key-file go together")
	}
	cfg := receiver.Config{
		Hostname:          f.hostname,
		MaxMessageBytes:   f.maxMessageBytes,
		MaxConnections:    f.maxConnections,
		SessionsPerMinute: f.sessionsPerMinute,
		Logger:            log.With(logger, "component", "receiver"),
	}
	if cfg.Hostname == "" {
		cfg.Hostname, _ = os.Hostname()
	}
	if f.certFile != "" {
		tc, err := receiver.TLSFromFiles(f.certFile, f.keyFile)
		if err != nil {
			return nil, err
		}
		cfg.TLS = tc
	} else {
		level.Warn(logger).Log("msg", "The receiver offers no STARTTLS (no --receiver.tls-cert-file): relays deliver in plain text and delivery.tls fails")
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return nil, fmt.Errorf("receiver: %w", err)
	}
	r := receiver.New(cfg)
	if reg != nil {
		reg.MustRegister(r)
	}
	go func() {
		if err := r.Serve(ln); err != nil {
			level.Error(logger).Log("msg", "Receiver stopped", "err", err)
		}
	}()
	level.Info(logger).Log("msg", "Receiver listening", "address", ln.Addr().String(), "hostname", cfg.Hostname, "starttls", cfg.TLS != nil)
	return r, nil
}
