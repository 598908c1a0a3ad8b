package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"

	"github.com/deliverability-exporter/deliverability_exporter/collector"
	"github.com/deliverability-exporter/deliverability_exporter/config"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/web"
)

// checkFlags are the flags of the check command.
type checkFlags struct {
	module       string
	format       string
	color        string
	verbose      bool
	failuresOnly bool
	timeout      time.Duration
	dkimSelector []string
	outboundIP   []string
	targets      []string
}

func addCheckCommand(app *kingpin.Application, f *checkFlags) {
	c := app.Command("check", "Probe targets once and print a report. Exit status: 0 when every must check passed, 1 when one failed or could not be decided, 2 for usage or configuration errors.")
	c.Flag("module", "Module to run.").Default(config.DefaultModuleName).StringVar(&f.module)
	c.Flag("format", "Report format: text or json.").Default("text").EnumVar(&f.format, "text", "json")
	c.Flag("color", "Colour the text report: auto (when stdout is a terminal and NO_COLOR is unset), always or never.").
		Default("auto").EnumVar(&f.color, "auto", "always", "never")
	c.Flag("verbose", "Text report: the evidence of every check and every probe's details, as debug=true shows them (by default passed checks are listed by id).").
		Short('v').BoolVar(&f.verbose)
	c.Flag("failures-only", "Text report: only the checks that failed or could not be decided.").BoolVar(&f.failuresOnly)
	c.Flag("timeout", "Upper bound for each target (0: the module's timeout).").Default("0s").DurationVar(&f.timeout)
	c.Flag("dkim-selector", "A DKIM selector to check besides the module's (repeatable).").PlaceHolder("S").StringsVar(&f.dkimSelector)
	c.Flag("outbound-ip", "An address the domain sends mail from (repeatable).").PlaceHolder("IP").StringsVar(&f.outboundIP)
	c.Arg("target", "Domains (example.com), hosts (mx1.example.com:25) or IP addresses.").Required().StringsVar(&f.targets)
}

// runCheck is `deliverability_exporter check`.
func runCheck(f *flags, logger log.Logger, stdout, stderr io.Writer) int {
	if f.check.verbose && f.check.failuresOnly {
		fmt.Fprintf(stderr, "%s: --verbose and --failures-only exclude each other\n", programName)
		return 2
	}
	var cfg *config.Config
	var err error
	if f.configFile != "" {
		cfg, err = config.Load(f.configFile)
	} else {
		cfg, err = config.Default()
	}
	var modules *collector.Modules
	if err == nil {
		modules, err = collector.Compile(cfg, nil)
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", programName, err)
		return 2
	}
	module, ok := modules.Module(f.check.module)
	if !ok {
		fmt.Fprintf(stderr, "%s: unknown module %q; the configuration has: %s\n", programName, f.check.module, strings.Join(modules.Names(), ", "))
		return 2
	}
	params := url.Values{}
	for _, s := range f.check.dkimSelector {
		params.Add("dkim_selector", s)
	}
	for _, ip := range f.check.outboundIP {
		params.Add("outbound_ip", ip)
	}
	var requests []*probes.Request
	for _, raw := range f.check.targets {
		target, err := probes.ParseTarget(raw)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", programName, err)
			return 2
		}
		if err := module.PermitTarget(target); err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", programName, err)
			return 2
		}
		req, err := module.NewRequest(target, params)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", programName, err)
			return 2
		}
		requests = append(requests, req)
	}
	timeout := module.Timeout()
	if f.check.timeout > 0 {
		timeout = f.check.timeout
	}

	progress := newProgress(stderr)
	var reports []*collector.Report
	for _, req := range requests {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		total := len(module.ProbeNames())
		progress.show(req.Target.String(), 0, total, "")
		report := module.Run(ctx, req, collector.RunOptions{
			Logger: logger,
			OnProbeDone: func(probe string, done, total int) {
				progress.show(req.Target.String(), done, total, probe)
			},
		})
		cancel()
		progress.clear()
		reports = append(reports, report)
	}

	switch f.check.format {
	case "json":
		err = web.WriteJSON(stdout, reports)
	default:
		style := web.TextStyle{Color: wantColor(f.check.color, stdout), Detail: web.TextSummary}
		switch {
		case f.check.verbose:
			style.Detail = web.TextFull
		case f.check.failuresOnly:
			style.Detail = web.TextFailures
		}
		for i, r := range reports {
			if i > 0 {
				fmt.Fprintln(stdout)
			}
			if err = web.WriteTextStyled(stdout, r, style); err != nil {
				break
			}
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: writing the report: %v\n", programName, err)
		return 2
	}
	for _, r := range reports {
		if !r.Success() {
			return 1
		}
	}
	return 0
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// wantColor follows --color and, for auto, the terminal and NO_COLOR
// (https://no-color.org: set and not empty means no colour).
func wantColor(mode string, stdout io.Writer) bool {
	switch mode {
	case "always":
		return true
	case "never":
		return false
	}
	return os.Getenv("NO_COLOR") == "" && isTerminal(stdout)
}

// progress shows one self-overwriting line on a terminal while probes
// run; elsewhere it stays silent, so pipes and logs get only the report.
type progress struct {
	mu  sync.Mutex
	w   io.Writer
	on  bool
	len int
}

func newProgress(w io.Writer) *progress { return &progress{w: w, on: isTerminal(w)} }

func (p *progress) show(target string, done, total int, last string) {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	line := fmt.Sprintf("checking %s: %d/%d probes done", target, done, total)
	if last != "" {
		line += " (" + last + ")"
	}
	fmt.Fprintf(p.w, "\r%-*s", p.len, line)
	p.len = len(line)
}

func (p *progress) clear() {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "\r%*s\r", p.len, "")
	p.len = 0
}
