package engine

import (
	"sort"

	"github.com/sabotsql/sabotsql/sql/planner"
	"github.com/sabotsql/sabotsql/sql/types"
)

// sysViews adds SabotSQL's own system relations to the catalog emulation:
// sabot_materialized_views lists every materialized view with its state
// backend, state size (its tables' keys and bytes, and the bytes its
// operators hold in memory), committed epoch, late-row count and status.
type sysViews struct {
	e    *Engine
	next planner.VirtualTables
}

func (v sysViews) Resolve(schema, name string) (planner.Node, bool) {
	if name == "sabot_materialized_views" && (schema == "" || schema == "pg_catalog") {
		return v.e.materializedViewsRelation(), true
	}
	if v.next == nil {
		return nil, false
	}
	return v.next.Resolve(schema, name)
}

func (e *Engine) materializedViewsRelation() planner.Node {
	out := planner.Schema{
		{Name: "schema_name", T: types.TextT}, {Name: "view_name", T: types.TextT},
		{Name: "state_backend", T: types.TextT}, {Name: "status", T: types.TextT},
		{Name: "committed_epoch", T: types.Int8T}, {Name: "state_keys", T: types.Int8T},
		{Name: "state_mem_bytes", T: types.Int8T}, {Name: "state_disk_bytes", T: types.Int8T},
		{Name: "late_rows", T: types.Int8T}, {Name: "error", T: types.TextT},
		{Name: "operator_mem_bytes", T: types.Int8T},
	}
	e.st.mu.RLock()
	views := make([]*mview, 0, len(e.st.views))
	for _, v := range e.st.views {
		views = append(views, v)
	}
	e.st.mu.RUnlock()
	sort.Slice(views, func(i, j int) bool { return views[i].def.ID < views[j].def.ID })
	c := func(d types.Datum, t types.T) planner.Expr { return &planner.Const{Val: d, T: t} }
	rows := make([][]planner.Expr, 0, len(views))
	for _, v := range views {
		st := v.stateStats()
		status, errText := "running", types.Datum(nil)
		if err := v.failure(); err != nil {
			status, errText = "failed", err.Error()
		}
		schema := v.def.Schema
		if schema == "" {
			schema = "public"
		}
		rows = append(rows, []planner.Expr{
			c(schema, types.TextT), c(v.def.Name, types.TextT), c(string(v.backend), types.TextT),
			c(status, types.TextT), c(int64(v.mat.CommittedEpoch()), types.Int8T), c(st.Keys, types.Int8T),
			c(st.MemBytes, types.Int8T), c(st.DiskBytes, types.Int8T), c(v.late.Load(), types.Int8T),
			c(errText, types.TextT), c(v.opMem.Used(), types.Int8T),
		})
	}
	return &planner.Values{Rows: rows, Out: out}
}

// OID passes regclass lookups of virtual relations on to the catalog
// emulation (numeric strings and pg_catalog names).
func (v sysViews) OID(schema, name string) (int64, bool) {
	if o, ok := v.next.(interface {
		OID(schema, name string) (int64, bool)
	}); ok {
		return o.OID(schema, name)
	}
	return 0, false
}
