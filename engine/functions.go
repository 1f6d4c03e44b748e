package engine

import (
	"sort"
	"strings"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/exec/kernels/agg"
	"github.com/sabotsql/sabotsql/sql/catalog"
	"github.com/sabotsql/sabotsql/sql/pgcatalog"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/planner"
	"github.com/sabotsql/sabotsql/sql/types"
)

// registerEngineFunctions adds the functions that need engine state
// (sequences). They are registered before the kernel packages so they win
// overload ties.
func (e *Engine) registerEngineFunctions(r *kernels.Registry) {
	// min/max over bytea (a RisingWave extension; bytewise order), with
	// the retractable multiset accumulator so views can use them too.
	for _, isMax := range []bool{false, true} {
		name, m := "min", isMax
		if isMax {
			name = "max"
		}
		r.AddAgg(&kernels.AggFunc{Name: name, Args: []types.T{types.ByteaT}, Ret: types.ByteaT,
			New: func([]types.T, types.T) kernels.GroupedAcc { return agg.NewRetractableMinMax(types.ByteaT, m) }})
	}
	seq := func(name string) (*sequence, error) {
		n := strings.ToLower(strings.TrimPrefix(name, "public."))
		e.mu.RLock()
		defer e.mu.RUnlock()
		s, ok := e.seqs[n]
		if !ok {
			return nil, pgerror.New(pgerror.UndefinedTable, "relation %q does not exist", name)
		}
		return s, nil
	}
	r.AddScalar(&kernels.ScalarFunc{
		Name: "nextval", Args: []types.T{types.TextT}, Ret: types.Int8T, Strict: true, Volatility: kernels.Volatile,
		Eval: func(_ *kernels.EvalContext, args []types.Datum) (types.Datum, error) {
			s, err := seq(args[0].(string))
			if err != nil {
				return nil, err
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			v := s.next
			s.next += s.increment
			s.last, s.called = v, true
			return v, nil
		},
	})
	r.AddScalar(&kernels.ScalarFunc{
		Name: "currval", Args: []types.T{types.TextT}, Ret: types.Int8T, Strict: true, Volatility: kernels.Volatile,
		Eval: func(_ *kernels.EvalContext, args []types.Datum) (types.Datum, error) {
			s, err := seq(args[0].(string))
			if err != nil {
				return nil, err
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			if !s.called {
				return nil, pgerror.New(pgerror.ObjectNotInPrerequisiteState, "currval of sequence %q is not yet defined in this session", args[0])
			}
			return s.last, nil
		},
	})
	r.AddScalar(&kernels.ScalarFunc{
		Name: "setval", Args: []types.T{types.TextT, types.Int8T}, Ret: types.Int8T, Strict: true, Volatility: kernels.Volatile,
		Eval: func(_ *kernels.EvalContext, args []types.Datum) (types.Datum, error) {
			s, err := seq(args[0].(string))
			if err != nil {
				return nil, err
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			v := args[1].(int64)
			s.next, s.last, s.called = v+s.increment, v, true
			return v, nil
		},
	})
}

// virtualTables returns the pg_catalog/information_schema emulation as the
// session sees it.
func (e *Engine) virtualTables(s *Session) planner.VirtualTables {
	return sysViews{e: e, next: pgcatalog.New(e.cat, e.reg, pgcatalog.Info{
		CurrentUser: s.user, Database: s.database, ServerVersion: s.settings["server_version"],
		Settings: s.pgSettings, Indexes: e.indexInfos,
	})}
}

// indexInfos lists every index for catalog emulation.
func (e *Engine) indexInfos() []pgcatalog.IndexInfo {
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := make([]pgcatalog.IndexInfo, 0, len(e.indexes))
	for _, ix := range e.indexes {
		out = append(out, pgcatalog.IndexInfo{ID: ix.id, Name: ix.name, TableID: ix.table, Columns: ix.cols, Unique: ix.unique, Primary: ix.primary})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// pgSettings lists the session's settings for pg_settings.
func (s *Session) pgSettings() []pgcatalog.Setting {
	var out []pgcatalog.Setting
	for _, n := range sortedSettingNames() {
		d := settingDefs[strings.ToLower(n)]
		ctx := "user"
		if d.readOnly {
			ctx = "internal"
		}
		out = append(out, pgcatalog.Setting{Name: d.name, Setting: s.settings[strings.ToLower(d.name)], ShortDesc: d.desc,
			Context: ctx, BootVal: d.def, ResetVal: d.def})
	}
	return out
}

// ObjectName names a regclass or regtype value for output (used by the
// wire protocol and the embedded text rendering).
func (s *Session) ObjectName(t types.T, oid int64) (string, bool) {
	switch t.Family {
	case types.FamRegclass:
		if r, ok := s.e.cat.ByID(catalog.ObjectID(oid)); ok {
			if r.SchemaName() == "public" {
				return r.RelName(), true
			}
			return r.SchemaName() + "." + r.RelName(), true
		}
		if vt, ok := s.e.virtualTables(s).(sysViews); ok {
			if pt, ok := vt.next.(*pgcatalog.Tables); ok {
				if name := pt.RegclassName(oid); name != "" {
					return name, true
				}
			}
		}
	case types.FamRegtype:
		if tt, ok := types.FromOid(uint32(oid)); ok {
			return tt.String(), true
		}
	}
	return "", false
}
