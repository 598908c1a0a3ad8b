package main

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log/level"
)

// TestOneTimestampKey: the exporter's own lines and those exporter-toolkit
// writes through the slog bridge carry their time under the same key, in
// the same format, in both output formats.
func TestOneTimestampKey(t *testing.T) {
	for _, format := range []string{"logfmt", "json"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			logger, base := newLogger(&buf, "info", format)
			level.Info(logger).Log("msg", "own line")
			slogFor(base, "info").Info("bridged line", "address", "127.0.0.1:1")
			slogFor(base, "info").Debug("dropped by the level")

			lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
			if len(lines) != 2 {
				t.Fatalf("%d lines, want 2:\n%s", len(lines), buf.String())
			}
			for _, line := range lines {
				keys, values := parseLine(t, format, line)
				n := 0
				for _, k := range keys {
					switch k {
					case timestampKey:
						n++
					case "time":
						t.Errorf("%q: a second timestamp key, time", line)
					}
				}
				if n != 1 {
					t.Errorf("%q: %d %s keys, want 1", line, n, timestampKey)
				}
				if _, err := time.Parse(timestampLayout, values[timestampKey]); err != nil || !strings.HasSuffix(values[timestampKey], "Z") {
					t.Errorf("%q: ts %q is not UTC in %s: %v", line, values[timestampKey], timestampLayout, err)
				}
				if values["level"] != "info" || values["msg"] == "" || values["caller"] == "" {
					t.Errorf("%q: want level, caller and msg on every line", line)
				}
			}
			if _, v := parseLine(t, format, lines[1]); v["address"] != "127.0.0.1:1" {
				t.Errorf("the bridged line lost its attribute: %q", lines[1])
			}
		})
	}
}

// TestSlogAttributeNamedTime leaves an attribute called time alone: only
// the record's own time (a time.Time) becomes ts.
func TestSlogAttributeNamedTime(t *testing.T) {
	var buf bytes.Buffer
	_, base := newLogger(&buf, "info", "logfmt")
	slogFor(base, "info").Info("x", "time", "yesterday")
	_, values := parseLine(t, "logfmt", strings.TrimSpace(buf.String()))
	if values[timestampKey] == "" || values["time"] != "yesterday" {
		t.Errorf("%q", buf.String())
	}
}

// parseLine returns a log line's keys in order and its values.
func parseLine(t *testing.T, format, line string) ([]string, map[string]string) {
	t.Helper()
	values := map[string]string{}
	var keys []string
	if format == "json" {
		dec := json.NewDecoder(strings.NewReader(line))
		if _, err := dec.Token(); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			var v any
			if err := dec.Decode(&v); err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			keys = append(keys, k.(string))
			s, _ := v.(string)
			values[k.(string)] = s
		}
		return keys, values
	}
	// logfmt as go-kit writes it: key=value pairs separated by spaces,
	// values with spaces quoted Go-style.
	rest := line
	for rest != "" {
		k, after, ok := strings.Cut(rest, "=")
		if !ok {
			t.Fatalf("%q: no = after %q", line, rest)
		}
		var v string
		if strings.HasPrefix(after, `"`) {
			q, err := strconv.QuotedPrefix(after)
			if err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			v, _ = strconv.Unquote(q)
			after = after[len(q):]
		} else {
			v, after, _ = strings.Cut(after, " ")
			after = " " + after
		}
		keys = append(keys, k)
		values[k] = v
		rest = strings.TrimPrefix(after, " ")
	}
	return keys, values
}
