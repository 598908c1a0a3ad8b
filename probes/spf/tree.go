package spf

import (
	"fmt"
	"strings"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

// treeTitle is the title of the report block.
const treeTitle = "SPF include tree (DNS lookups per branch):"

// maxLabelWidth keeps a hostile term from pushing the numbers off screen.
const maxLabelWidth = 64

// treeLines renders the audit's tree: the root with the totals, then one
// line per term that costs lookups, indented by depth, with what its branch
// costs in total and what the audit noted about it.
func (a *audit) treeLines() []string {
	width := 0
	var measure func(n *node)
	measure = func(n *node) {
		width = max(width, min(2*n.depth+len(n.label), maxLabelWidth+2*n.depth))
		for _, c := range n.children {
			measure(c)
		}
	}
	measure(a.root)
	width = min(width, 90)

	var lines []string
	var render func(n *node)
	render = func(n *node) {
		label := n.label
		if len(label) > maxLabelWidth {
			label = label[:maxLabelWidth-1] + "…"
		}
		text := strings.Repeat("  ", n.depth) + label
		var b strings.Builder
		b.WriteString(text)
		if pad := width - len(text); pad > 0 {
			b.WriteString(strings.Repeat(" ", pad))
		}
		if n.depth == 0 {
			fmt.Fprintf(&b, "  %s in total, %s", probes.Plural(n.cost, "lookup", "lookups"), a.voidSummary())
		} else {
			fmt.Fprintf(&b, "  %2d", n.cost)
		}
		if len(n.notes) > 0 {
			b.WriteString("  ")
			b.WriteString(strings.Join(n.notes, "; "))
		}
		if n.mark != "" {
			b.WriteString("  ")
			b.WriteString(n.mark)
		}
		lines = append(lines, b.String())
		for _, c := range n.children {
			render(c)
		}
		if n.skipped > 0 {
			lines = append(lines, fmt.Sprintf("%s… %s not resolved (the audit resolves at most %d)",
				strings.Repeat("  ", n.depth+1), probes.Plural(n.skipped, "more DNS-querying term", "more DNS-querying terms"), auditLookupCap))
		}
	}
	render(a.root)
	return lines
}

// voidSummary says how many void lookups each family meets.
func (a *audit) voidSummary() string {
	if a.voids[0] == a.voids[1] {
		return probes.Plural(a.voids[0], "void lookup", "void lookups")
	}
	return fmt.Sprintf("%d void lookups for IPv4 clients, %d for IPv6 clients", a.voids[0], a.voids[1])
}
