package engine

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sabotsql/sabotsql/api"
	"github.com/sabotsql/sabotsql/sql/catalog"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// deadLetter writes a view's late rows into a table (WITH (late_rows_table =
// 'name')). The view's dataflow only queues rows (it must never wait for
// writeMu, which CREATE and FLUSH hold while waiting for views); a writer
// goroutine inserts them through an ordinary session, so they are logged
// and acknowledged like any INSERT.
type deadLetter struct {
	name   string
	schema *arrow.Schema
	width  int
	types  []types.T

	mu      sync.Mutex
	idle    *sync.Cond // signalled when queue and in-flight rows are done
	queue   [][]types.Datum
	busy    int // rows taken from queue and not yet written
	wake    chan struct{}
	stopped chan struct{}
	cancel  context.CancelFunc
}

func (e *Engine) newDeadLetter(ctx context.Context, s *Session, name string) (*deadLetter, error) {
	schema, rel := "", name
	if i := strings.IndexByte(name, '.'); i >= 0 {
		schema, rel = name[:i], name[i+1:]
	}
	r, ok := e.cat.Lookup(schema, rel)
	if !ok {
		return nil, pgerror.New(pgerror.UndefinedTable, "late_rows_table %q does not exist", name)
	}
	t, ok := r.(*catalog.Table)
	if !ok {
		return nil, pgerror.New(pgerror.WrongObjectType, "late_rows_table %q is not a table", name)
	}
	ts := e.table(t.ID)
	if ts == nil {
		return nil, pgerror.New(pgerror.UndefinedTable, "late_rows_table %q does not exist", name)
	}
	d := &deadLetter{name: name, schema: ts.schema, width: len(t.Columns), wake: make(chan struct{}, 1), stopped: make(chan struct{})}
	d.idle = sync.NewCond(&d.mu)
	for _, c := range t.Columns {
		d.types = append(d.types, c.T)
	}
	ws, err := e.NewSession(context.Background(), DefaultUser, "sabotsql", nil)
	if err != nil {
		return nil, err
	}
	marks := make([]string, d.width)
	for i := range marks {
		marks[i] = fmt.Sprintf("$%d", i+1)
	}
	ins, err := ws.Prepare(ctx, fmt.Sprintf("INSERT INTO %s VALUES (%s)", qualified(t), strings.Join(marks, ", ")), d.types)
	if err != nil {
		ws.Close()
		return nil, err
	}
	wctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	go d.run(wctx, e, ws, ins)
	return d, nil
}

func qualified(t *catalog.Table) string {
	if t.Schema == "" {
		return quoteIdent(t.Name)
	}
	return quoteIdent(t.Schema) + "." + quoteIdent(t.Name)
}

// add queues late rows (called by the view's watermark filter).
func (d *deadLetter) add(_ context.Context, b arrow.RecordBatch) error {
	if int(b.NumCols()) != d.width {
		return pgerror.New(pgerror.DatatypeMismatch, "late_rows_table %q has %d columns, the late rows %d", d.name, d.width, b.NumCols())
	}
	rows := make([][]types.Datum, b.NumRows())
	for i := range rows {
		row := make([]types.Datum, d.width)
		for c := range row {
			row[c] = types.GetDatum(b.Column(c), i, d.types[c])
		}
		rows[i] = row
	}
	d.mu.Lock()
	d.queue = append(d.queue, rows...)
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
	return nil
}

func (d *deadLetter) run(ctx context.Context, e *Engine, ws api.Session, ins api.Prepared) {
	defer close(d.stopped)
	defer ws.Close()
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.wake:
		}
		d.mu.Lock()
		rows := d.queue
		d.queue = nil
		d.busy = len(rows)
		d.mu.Unlock()
		for _, r := range rows {
			res, err := ws.Execute(ctx, ins, r)
			if err == nil && res.Rows != nil {
				res.Rows.Close()
			}
			if err != nil {
				e.log.Error("writing a late row failed", "table", d.name, "err", err)
			}
		}
		d.mu.Lock()
		d.busy = 0
		if len(d.queue) == 0 {
			d.idle.Broadcast()
		}
		d.mu.Unlock()
	}
}

// drain waits until every queued row has been written (FLUSH).
func (d *deadLetter) drain() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for len(d.queue) > 0 || d.busy > 0 {
		select {
		case <-d.stopped:
			return
		default:
		}
		d.idle.Wait()
	}
}

func (d *deadLetter) close() {
	d.cancel()
	<-d.stopped
	d.mu.Lock()
	d.queue, d.busy = nil, 0
	d.idle.Broadcast()
	d.mu.Unlock()
}
