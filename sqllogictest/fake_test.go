package sqllogictest

import (
	"context"
	"fmt"
	"strings"
	"sync"
)

// fakeDriver answers SQL from a script: exact SQL text → response. Each
// Open shares the script; unknown SQL fails with an error.
type fakeDriver struct {
	mu      sync.Mutex
	script  map[string]fakeResp
	opened  int
	closed  int
	seenSQL []string
}

type fakeResp struct {
	res   *Result
	err   error
	block bool // wait for the context to end
}

func newFake() *fakeDriver { return &fakeDriver{script: map[string]fakeResp{}} }

// ok scripts a statement with no rows.
func (d *fakeDriver) ok(sql string, affected int64) *fakeDriver {
	d.script[sql] = fakeResp{res: &Result{RowsAffected: affected}}
	return d
}

// fail scripts a statement error.
func (d *fakeDriver) fail(sql, code, msg string) *fakeDriver {
	d.script[sql] = fakeResp{err: &DBError{Code: code, Message: msg}}
	return d
}

// rows scripts a query: kinds is one letter per column (i int, f float,
// n numeric, b bool, t text); each row is a list of values where nil is
// NULL and anything else is printed with %v.
func (d *fakeDriver) rows(sql, kinds string, rows ...[]any) *fakeDriver {
	res := &Result{Rows: [][]Value{}}
	for _, k := range kinds {
		kind := map[rune]ValueKind{'i': KindInt, 'f': KindFloat, 'n': KindNumeric, 'b': KindBool, 't': KindText}[k]
		res.Columns = append(res.Columns, Column{Kind: kind})
	}
	for _, r := range rows {
		var vals []Value
		for _, v := range r {
			if v == nil {
				vals = append(vals, Value{Null: true})
			} else {
				vals = append(vals, Value{Text: fmt.Sprint(v)})
			}
		}
		res.Rows = append(res.Rows, vals)
	}
	res.RowsAffected = int64(len(rows))
	d.script[sql] = fakeResp{res: res}
	return d
}

func (d *fakeDriver) Open(context.Context) (DB, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.opened++
	return &fakeDB{d: d}, nil
}

func (d *fakeDriver) Close() error { return nil }

type fakeDB struct{ d *fakeDriver }

func (db *fakeDB) Exec(ctx context.Context, sql string) (*Result, error) {
	db.d.mu.Lock()
	resp, ok := db.d.script[strings.TrimSpace(sql)]
	db.d.seenSQL = append(db.d.seenSQL, sql)
	db.d.mu.Unlock()
	if !ok {
		return nil, &DBError{Code: "42601", Message: "fake: unscripted SQL " + sql}
	}
	if resp.block {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return resp.res, resp.err
}

func (db *fakeDB) Close() error {
	db.d.mu.Lock()
	defer db.d.mu.Unlock()
	db.d.closed++
	return nil
}
