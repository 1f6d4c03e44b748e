package streamplan

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/sabotsql/sabotsql/exec/stream"
	"github.com/sabotsql/sabotsql/sql/planner"
)

// Explain records the dataflow Build makes, a line per plan node in tree
// order (EXPLAIN CREATE MATERIALIZED VIEW): the node, the operator that
// maintains it, the output columns that carry watermarks (where state
// downstream can be cleaned), whether it is append-only, and what the
// operator says of its state (stream.Explainer).
type Explain struct {
	lines []explainLine
	depth int
	// kids holds, per node being built, the root executors of its
	// children built so far.
	kids [][]stream.Executor
}

type explainLine struct {
	depth int
	text  string
}

// Lines returns the recorded dataflow, indented by depth.
func (x *Explain) Lines() []string {
	out := make([]string, 0, len(x.lines))
	for _, l := range x.lines {
		if l.text == "" {
			continue
		}
		prefix := ""
		if l.depth > 0 {
			prefix = strings.Repeat("      ", l.depth-1) + "  ->  "
		}
		out = append(out, prefix+l.text)
	}
	return out
}

// traced runs build for n, recording its line when b.Explain is set.
func (b *Builder) traced(ctx context.Context, n planner.Node, build func() (flow, error)) (flow, error) {
	x := b.Explain
	if x == nil {
		return build()
	}
	i := len(x.lines)
	x.lines = append(x.lines, explainLine{depth: x.depth})
	x.depth++
	x.kids = append(x.kids, nil)
	f, err := build()
	kids := x.kids[len(x.kids)-1]
	x.kids = x.kids[:len(x.kids)-1]
	x.depth--
	if err == nil {
		x.lines[i].text = describe(n, f, kids)
		if k := len(x.kids); k > 0 {
			x.kids[k-1] = append(x.kids[k-1], f.ex)
		}
	}
	return f, err
}

// describe is n's line: node, operator, watermarked columns, append-only
// and the operator's own notes.
func describe(n planner.Node, f flow, kids []stream.Executor) string {
	var sb strings.Builder
	sb.WriteString(nodeLabel(n))
	// The operator that maintains the node: below the projections and
	// filters the planner put around it, above its children's.
	ex := f.ex
	for {
		w, ok := ex.(interface{ Inner() stream.Executor })
		if !ok || slices.Contains(kids, w.Inner()) {
			break
		}
		ex = w.Inner()
	}
	op := fmt.Sprintf("%T", ex)
	if !strings.HasPrefix(op, "*stream.") {
		op = "Source"
	}
	fmt.Fprintf(&sb, " (%s)", strings.TrimPrefix(op, "*stream."))
	schema := n.Schema()
	var wm []string
	for c, ok := range f.wm {
		if ok && c < len(schema) {
			wm = append(wm, schema[c].Name)
		}
	}
	slices.Sort(wm)
	if len(wm) > 0 {
		fmt.Fprintf(&sb, " watermarks: %s", strings.Join(wm, ", "))
	}
	if f.appendOnly {
		sb.WriteString(" append-only")
	}
	if _, ok := n.(*planner.Aggregate); ok && len(wm) > 0 {
		// The watermark passes on group keys, and groups below it close.
		fmt.Fprintf(&sb, "; drops groups once the watermark of %s passes them", strings.Join(wm, ", "))
	}
	if e, ok := ex.(stream.Explainer); ok {
		for _, d := range e.Explain() {
			sb.WriteString("; " + d)
		}
	}
	return sb.String()
}

// nodeLabel names a plan node for Explain.
func nodeLabel(n planner.Node) string {
	switch x := n.(type) {
	case *planner.Scan:
		return "Scan " + x.Table.Name
	case *planner.Join:
		kind := map[planner.JoinKind]string{planner.JoinInner: "Inner", planner.JoinLeft: "Left", planner.JoinRight: "Right",
			planner.JoinFull: "Full", planner.JoinCross: "Cross", planner.JoinAsOf: "AsOf", planner.JoinAsOfLeft: "AsOf Left"}[x.Kind]
		if kind == "" {
			kind = "Semi/Anti"
		}
		return kind + " Join"
	case *planner.Aggregate:
		return fmt.Sprintf("Aggregate (%d keys)", len(x.GroupBy))
	}
	return n.Op()
}
