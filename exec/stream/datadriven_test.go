package stream

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
	"github.com/stretchr/testify/require"
)

// TestDataDriven runs testdata/*: each file builds a named pipeline, pushes
// changelog rows into its tables and, at each barrier, prints the changes
// the operator emitted in the epoch and the view's contents.
//
//	pipeline name=agg          build the dataflow (see buildPipeline)
//	push [t=0] [batch=N]       append rows (`+ 1 4`, `- 1 4`, `U- 5 3`, `U+ 5 4`)
//	barrier                    inject a barrier everywhere, run to it, print
//	barrier t=0 epoch=E        append barrier E to table t only (no run)
//	pull                       run to the next aligned barrier, print
func TestDataDriven(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		var p *pipeline
		defer func() {
			if p != nil {
				p.close()
			}
		}()
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			// The deadline only turns a hang (a pull with no barrier) into a failure.
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			switch d.Cmd {
			case "pipeline":
				var name string
				d.ScanArgs(t, "name", &name)
				if p != nil {
					p.close()
				}
				p = buildPipeline(t, name)
				return "ok"
			case "push":
				tbl, batch := 0, 0
				if d.HasArg("t") {
					d.ScanArgs(t, "t", &tbl)
				}
				if d.HasArg("batch") {
					d.ScanArgs(t, "batch", &batch)
				}
				rows := parseRows(t, d.Input)
				if batch <= 0 {
					batch = len(rows)
				}
				for len(rows) > 0 {
					n := min(batch, len(rows))
					// Never split an update pair.
					if n < len(rows) && rows[n-1].op == UpdateDelete {
						n++
					}
					c := makeChunk(t, p.logs[tbl].Schema(), rows[:n])
					require.NoError(t, p.logs[tbl].Append(c))
					c.Release()
					rows = rows[n:]
				}
				return "ok"
			case "barrier":
				if d.HasArg("t") {
					var tbl int
					var e uint64
					d.ScanArgs(t, "t", &tbl)
					d.ScanArgs(t, "epoch", &e)
					require.NoError(t, p.logs[tbl].AppendBarrier(Barrier{Epoch: e}))
					return "ok"
				}
				e, err := p.coord.InjectBarrier(false)
				require.NoError(t, err)
				got := p.pullBarrier(t, ctx)
				require.Equal(t, e, got)
				return p.report(t, ctx, e)
			case "pull":
				e := p.pullBarrier(t, ctx)
				return p.report(t, ctx, e)
			}
			return fmt.Sprintf("unknown command %q", d.Cmd)
		})
	})
}

func (p *pipeline) report(t *testing.T, ctx context.Context, e uint64) string {
	var sb strings.Builder
	sb.WriteString("epoch " + strconv.FormatUint(e, 10) + "\nchanges:\n")
	for _, l := range p.tap.changes(e) {
		sb.WriteString(l + "\n")
	}
	sb.WriteString("view:\n")
	for _, l := range p.view(t, ctx, e) {
		sb.WriteString(l + "\n")
	}
	return sb.String()
}
