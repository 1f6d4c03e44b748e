package stream

import (
	"fmt"
	"time"

	"github.com/sabotsql/sabotsql/sql/types"
)

// Explainer is implemented by operators that describe their state for
// EXPLAIN CREATE MATERIALIZED VIEW (streamplan.Explain): what they keep
// and what cleans it.
type Explainer interface {
	Explain() []string
}

func spillNote(active bool, maxBytes int64) []string {
	if !active {
		return nil
	}
	return []string{fmt.Sprintf("spills past %d KiB", maxBytes>>10)}
}

// Explain implements Explainer.
func (j *HashJoin) Explain() []string {
	var out []string
	side := [2]string{"left", "right"}
	for _, b := range j.bands.bands {
		o := 1 - b.Side
		bound := "the watermark of " + side[o] + "." + j.schema.Field(j.outCol(o, b.OCol)).Name
		switch t := j.types[b.Side][b.Col]; {
		case b.Off == 0:
		case t.Family == types.FamTimestamp || t.Family == types.FamTimestampTZ:
			bound += " - " + (time.Duration(b.Off) * time.Microsecond).String()
		default:
			bound += fmt.Sprintf(" - %d", b.Off)
		}
		note := fmt.Sprintf("drops %s rows with %s below %s", side[b.Side], j.schema.Field(j.outCol(b.Side, b.Col)).Name, bound)
		if !b.AppendOnly {
			note += " and below their own"
		}
		out = append(out, note)
	}
	if j.spill != nil {
		out = append(out, spillNote(j.spill.active, j.spill.maxBytes)...)
	}
	return out
}

// outCol is side s's column c in the output.
func (j *HashJoin) outCol(s, c int) int {
	if s == 1 {
		return j.width[0] + c
	}
	return c
}

// Explain implements Explainer.
func (j *AsOfJoin) Explain() []string {
	if j.op == ">=" || j.op == ">" {
		return []string{"drops rows below both inputs' time watermarks"}
	}
	return []string{"keeps every row (a later right row may revise any left row)"}
}

// Explain implements Explainer.
func (f *DynamicFilter) Explain() []string {
	if f.mono {
		return []string{"keeps only passing rows (the bound only rises)"}
	}
	return nil
}

// Explain implements Explainer.
func (h *HashAggregate) Explain() []string {
	if h.spill == nil {
		return nil
	}
	return spillNote(h.spill.active, h.spill.maxBytes)
}

// Explain implements Explainer.
func (g *GroupTopN) Explain() []string {
	if g.spill == nil {
		return nil
	}
	return spillNote(g.spill.active, g.spill.maxBytes)
}

// Explain implements Explainer.
func (w *OverWindow) Explain() []string {
	if w.spill == nil {
		return nil
	}
	return spillNote(w.spill.active, w.spill.maxBytes)
}

// Inner is the executor a Project reads (for EXPLAIN).
func (p *Project) Inner() Executor { return p.input }

// Inner is the executor a Filter reads (for EXPLAIN).
func (f *Filter) Inner() Executor { return f.input }
