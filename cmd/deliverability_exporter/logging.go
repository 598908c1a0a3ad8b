package main

import (
	"io"
	"log/slog"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	slgk "github.com/tjhop/slog-gokit"
)

// timestampKey and timestampLayout are how every log line of the process
// carries its time: the go-kit convention Prometheus exporters have always
// used ("ts", UTC, milliseconds), so a log pipeline parses one key.
const (
	timestampKey    = "ts"
	timestampLayout = "2006-01-02T15:04:05.000Z07:00"
)

// newLogger builds the process logger the way Prometheus exporters have
// always logged with go-kit: ts, caller, level, msg; logfmt or JSON; filtered
// by level. base is the same logger without ts and caller, for the slog
// bridge, which adds its own.
func newLogger(w io.Writer, lvl, format string) (logger, base log.Logger) {
	if format == "json" {
		base = log.NewJSONLogger(log.NewSyncWriter(w))
	} else {
		base = log.NewLogfmtLogger(log.NewSyncWriter(w))
	}
	base = level.NewFilter(base, levelOption(lvl))
	logger = log.With(base, timestampKey, log.TimestampFormat(func() time.Time { return time.Now().UTC() }, timestampLayout), "caller", log.DefaultCaller)
	return logger, base
}

func levelOption(lvl string) level.Option {
	switch lvl {
	case "debug":
		return level.AllowDebug()
	case "warn":
		return level.AllowWarn()
	case "error":
		return level.AllowError()
	}
	return level.AllowInfo()
}

// slogFor bridges exporter-toolkit's *slog.Logger to the go-kit logger, so the
// process has one logging stack. The go-kit level filter decides what is
// written; slog is told the same level so it does not format what the
// filter drops. The bridge writes the record's time as slog's "time"; it is
// renamed to ts and formatted as the exporter's own lines are.
func slogFor(l log.Logger, lvl string) *slog.Logger {
	var sl slog.Level
	switch lvl {
	case "debug":
		sl = slog.LevelDebug
	case "warn":
		sl = slog.LevelWarn
	case "error":
		sl = slog.LevelError
	default:
		sl = slog.LevelInfo
	}
	return slog.New(slgk.NewGoKitHandler(slogTimeAsTS{l}, sl))
}

// slogTimeAsTS renames the slog bridge's time key to the exporter's ts and
// formats it the same way, so a bridged line reads like the exporter's own.
type slogTimeAsTS struct{ next log.Logger }

func (s slogTimeAsTS) Log(keyvals ...any) error {
	for i := 0; i+1 < len(keyvals); i += 2 {
		if keyvals[i] != slog.TimeKey {
			continue
		}
		if t, ok := keyvals[i+1].(time.Time); ok { // not an attribute of that name
			keyvals[i], keyvals[i+1] = timestampKey, t.UTC().Format(timestampLayout)
		}
		break
	}
	return s.next.Log(keyvals...)
}
