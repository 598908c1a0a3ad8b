package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestProgressLine(t *testing.T) {
	var buf bytes.Buffer
	p := &progress{w: &buf, on: true} // as on a terminal
	p.show("example.test", 0, 2, "")
	p.show("example.test", 1, 2, "mx")
	p.clear()
	out := buf.String()
	for _, want := range []string{"\rchecking example.test: 0/2 probes done", "\rchecking example.test: 1/2 probes done (mx)"} {
		if !strings.Contains(out, want) {
			t.Errorf("progress output %q lacks %q", out, want)
		}
	}
	if !strings.HasSuffix(out, "\r") || strings.Contains(out, "\n") {
		t.Errorf("the line is not cleared in place: %q", out)
	}

	buf.Reset()
	off := newProgress(&buf) // a buffer is not a terminal
	off.show("example.test", 1, 2, "mx")
	off.clear()
	if buf.Len() != 0 {
		t.Errorf("progress written to a non-terminal: %q", buf.String())
	}
}
