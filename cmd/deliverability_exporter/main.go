// Command deliverability_exporter is a blackbox-style Prometheus exporter
// that checks whether mail domains are set up the way receiving providers
// require: /probe?module=mail&target=example.com.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/version"
	toolkitweb "github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"github.com/deliverability-exporter/deliverability_exporter/collector"
	"github.com/deliverability-exporter/deliverability_exporter/config"
	"github.com/deliverability-exporter/deliverability_exporter/web"
)

const (
	programName    = "deliverability_exporter"
	defaultAddress = ":10075"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// flags are the command line.
type flags struct {
	command       string
	configFile    string
	configCheck   bool
	timeoutOffset time.Duration
	historyLimit  int
	maxInFlight   int
	autoMemLimit  bool
	memLimitRatio float64
	maxConns      int
	idleTimeout   time.Duration
	lifecycle     bool
	logLevel      string
	logFormat     string
	web           *toolkitweb.FlagConfig
	externalURL   string
	routePrefix   string
	check         checkFlags
	receiver      receiverFlags
}

func parseFlags(args []string, stdout, stderr io.Writer) (*flags, int, bool) {
	f := &flags{}
	app := newApp(f, stdout, stderr)
	exited := false
	app.Terminate(func(int) { exited = true })
	cmd, err := app.Parse(args)
	if exited { // --help or --version
		return nil, 0, true
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", programName, err)
		return nil, 2, true
	}
	f.command = cmd
	if _, _, err := externalURL(f.externalURL); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", programName, err)
		return nil, 2, true
	}
	if f.historyLimit < 0 || f.maxInFlight < 0 || f.maxConns < 0 {
		fmt.Fprintf(stderr, "%s: --history.limit, --probe.max-in-flight and --web.max-connections must not be negative\n", programName)
		return nil, 2, true
	}
	if f.command == "serve" && (math.IsNaN(f.memLimitRatio) || f.memLimitRatio <= 0 || f.memLimitRatio > 1) {
		fmt.Fprintf(stderr, "%s: --auto-gomemlimit.ratio must be in (0, 1], not %v\n", programName, f.memLimitRatio)
		return nil, 2, true
	}
	if f.command == "serve" && f.idleTimeout <= 0 { // check has no such flag
		fmt.Fprintf(stderr, "%s: --web.idle-timeout must be positive\n", programName)
		return nil, 2, true
	}
	return f, 0, false
}

// newApp declares the command line; parsing it fills f.
func newApp(f *flags, stdout, stderr io.Writer) *kingpin.Application {
	app := kingpin.New(programName, "Checks mail domains against what receiving providers require, for Prometheus: /probe?module=mail&target=example.com.")
	app.UsageWriter(stdout)
	app.ErrorWriter(stderr)
	// Flags only the exporter itself reads belong to serve, so that
	// `check --help` lists only what check uses; serve is the default
	// command, so they work without naming it.
	serve := app.Command("serve", "Run the exporter (the default command).").Default()
	app.UsageTemplate(usageTemplate)
	app.Flag("config.file", "Configuration file. Without it the built-in default (identical to config.example.yml) is used.").
		PlaceHolder("FILE").StringVar(&f.configFile)
	serve.Flag("config.check", "Check the configuration file and exit (0 valid, 1 invalid).").BoolVar(&f.configCheck)
	serve.Flag("timeout-offset", "Time taken off the scrape timeout (X-Prometheus-Scrape-Timeout-Seconds) so the answer arrives in time.").
		Default("0.5s").DurationVar(&f.timeoutOffset)
	serve.Flag("history.limit", "How many recent probe reports the web page keeps.").
		Default("100").IntVar(&f.historyLimit)
	serve.Flag("probe.max-in-flight", "Probe requests answered at once; more get 503 (0: no bound).").
		Default("512").IntVar(&f.maxInFlight)
	serve.Flag("web.max-connections", "HTTP connections served at once per listen address; more wait in the kernel's accept queue, holding no file descriptor of the exporter (0: no bound).").
		Default("1024").IntVar(&f.maxConns)
	serve.Flag("web.idle-timeout", "How long a kept-alive HTTP connection may sit idle between requests before the exporter closes it.").
		Default("90s").DurationVar(&f.idleTimeout)
	serve.Flag("auto-gomemlimit", "Limit the Go runtime's memory (GOMEMLIMIT) to a share of the cgroup's (a container's) memory limit, so the collector works harder before the container is killed; a GOMEMLIMIT in the environment wins.").
		Default("true").BoolVar(&f.autoMemLimit)
	serve.Flag("auto-gomemlimit.ratio", "The share of the cgroup's memory limit --auto-gomemlimit gives the Go runtime, in (0, 1].").
		Default("0.9").Float64Var(&f.memLimitRatio)
	serve.Flag("web.enable-lifecycle", "Enable POST /-/reload (at most one reload every 5s). SIGHUP always reloads.").
		Default("false").BoolVar(&f.lifecycle)
	app.Flag("log.level", "Only log messages with the given severity or above: debug, info, warn, error.").
		Default("info").EnumVar(&f.logLevel, "debug", "info", "warn", "error")
	app.Flag("log.format", "Output format of log messages: logfmt or json.").
		Default("logfmt").EnumVar(&f.logFormat, "logfmt", "json")
	f.web = kingpinflag.AddFlags(serve, defaultAddress)
	serve.Flag("web.external-url", "The URL under which the exporter is reached (behind a reverse proxy, say), shown on the landing page; its path is the default route prefix.").
		PlaceHolder("URL").StringVar(&f.externalURL)
	serve.Flag("web.route-prefix", "Prefix of every HTTP path the exporter serves (/probe, /metrics, the pages). Defaults to the path of --web.external-url.").
		PlaceHolder("PATH").StringVar(&f.routePrefix)
	addReceiverFlags(serve, &f.receiver)
	app.Version(version.Print(programName))
	app.HelpFlag.Short('h')

	addCheckCommand(app, &f.check)
	return app
}

func run(args []string, stdout, stderr io.Writer) int {
	f, code, done := parseFlags(args, stdout, stderr)
	if done {
		return code
	}
	logger, baseLogger := newLogger(stderr, f.logLevel, f.logFormat)

	if f.configCheck {
		path := f.configFile
		if path == "" {
			fmt.Fprintln(stderr, "--config.check needs --config.file")
			return 2
		}
		cfg, err := config.Load(path)
		if err == nil {
			_, err = collector.Compile(cfg, nil)
		}
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		fmt.Fprintf(stdout, "%s: valid\n", path)
		return 0
	}
	if f.command == "check" {
		return runCheck(f, logger, stdout, stderr)
	}
	return serve(f, logger, baseLogger)
}

func serve(f *flags, logger, baseLogger log.Logger) int {
	level.Info(logger).Log("msg", "Starting "+programName, "version", version.Info())
	level.Info(logger).Log("msg", "Build context", "build_context", version.BuildContext())
	if f.autoMemLimit {
		setMemoryLimit(f.memLimitRatio, memlimit.FromCgroup, logger)
	}

	registry := prometheus.NewRegistry()
	registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		versioncollector.NewCollector(programName),
	)
	var engineOpts []collector.EngineOption
	mailbox, err := startReceiver(&f.receiver, logger, registry)
	if err != nil {
		level.Error(logger).Log("msg", "Cannot start the receiver", "err", err)
		return 1
	}
	if mailbox != nil {
		defer mailbox.Close()
		engineOpts = append(engineOpts, collector.WithMailbox(mailbox))
	}
	engine, err := collector.NewEngine(f.configFile, logger, registry, engineOpts...)
	if err != nil {
		level.Error(logger).Log("msg", "Cannot load the configuration", "err", err)
		return 1
	}
	selfMetrics := web.NewSelfMetrics(registry)
	history := web.NewHistory(f.historyLimit)
	probeHandler := &web.ProbeHandler{
		Modules:       engine.Current,
		Logger:        logger,
		TimeoutOffset: f.timeoutOffset,
		Metrics:       selfMetrics,
		History:       history,
		MaxInFlight:   f.maxInFlight,
	}
	ui := &web.WebUI{
		Modules:      engine.Current,
		ConfigSource: engine.Source,
		History:      history,
		Probe:        probeHandler,
	}
	if version.Version != develVersion { // not go run
		ui.Version = version.Info()
	}
	external, given, _ := externalURL(f.externalURL) // checked by parseFlags
	if given {
		ui.ExternalURL = external.String()
	}
	prefix := routePrefix(f.routePrefix, external)

	mux := http.NewServeMux()
	mux.Handle("/probe", probeHandler)
	mux.HandleFunc("/report", ui.Report)
	mux.HandleFunc("/config", ui.Config)
	mux.Handle("/sd", &web.SDHandler{Modules: engine.Current})
	mux.Handle("/metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{
		ErrorLog:          stdLogger{logger},
		ErrorHandling:     promhttp.ContinueOnError,
		EnableOpenMetrics: true,
	}))
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "Healthy")
	})
	mux.Handle("/-/reload", &reloadHandler{enabled: f.lifecycle, engine: engine})
	mux.HandleFunc("/", ui.Landing)

	server := newServer(withRoutePrefix(prefix, mux), f.idleTimeout)

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGHUP, syscall.SIGTERM, os.Interrupt)
	defer signal.Stop(signals)
	serveErr := make(chan error, 1)
	go func() {
		serveErr <- listenAndServe(server, f.web, f.maxConns, slogFor(baseLogger, f.logLevel))
	}()
	for {
		select {
		case err := <-serveErr:
			if err != nil && !errors.Is(err, http.ErrServerClosed) {
				level.Error(logger).Log("msg", "HTTP server failed", "err", err)
				return 1
			}
			return 0
		case sig := <-signals:
			if sig == syscall.SIGHUP {
				if err := engine.Reload(); err == nil {
					level.Info(logger).Log("msg", "Reloaded configuration on SIGHUP")
				}
				continue
			}
			level.Info(logger).Log("msg", "Shutting down", "signal", sig.String())
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err := server.Shutdown(ctx)
			cancel()
			if err != nil {
				level.Error(logger).Log("msg", "Shutdown", "err", err)
				return 1
			}
			return 0
		}
	}
}

// stdLogger adapts the go-kit logger to promhttp's error log.
type stdLogger struct{ l log.Logger }

func (s stdLogger) Println(v ...any) {
	level.Error(s.l).Log("msg", fmt.Sprint(v...))
}
