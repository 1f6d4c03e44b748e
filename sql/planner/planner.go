package planner

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/catalog"
	"github.com/sabotsql/sabotsql/sql/parser"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// VirtualTables resolves relations that are computed rather than stored
// (pg_catalog and information_schema emulation). It returns a plan that
// produces the relation's rows, or ok=false when the name is not virtual.
type VirtualTables interface {
	Resolve(schema, name string) (Node, bool)
}

// Planner binds and plans statements for one session. It is not safe for
// concurrent use; create one per statement or per session.
type Planner struct {
	Cat     *catalog.Catalog
	Reg     *kernels.Registry
	Ctx     *types.Ctx
	Virtual VirtualTables
	// Params holds the types of $1..$n; entries of FamUnknown are inferred
	// during binding and written back.
	Params []types.T
	// MVScan, when set, plans a read of a materialized view's stored
	// contents; otherwise materialized views are expanded like views.
	MVScan func(v *catalog.View) Node
	// StarExcept holds "* EXCEPT (cols)" lists found by the parser's token
	// pass, keyed by the byte offset of the "*" in the statement.
	StarExcept map[int][]string
	// viewDepth guards against runaway view expansion.
	viewDepth int
	// udf is the SQL function body being inlined, nil outside one (udf.go).
	udf *udfFrame
}

// Query is a planned SELECT (or VALUES, or set operation).
type Query struct {
	Plan Node
	// Cols are the output columns with the source-table ids RowDescription needs.
	Cols []OutputCol
}

// OutputCol is one result column.
type OutputCol struct {
	Name     string
	T        types.T
	TableOID uint32
	AttNum   int16
}

// PlanSelect binds and plans a SELECT statement node.
func (p *Planner) PlanSelect(n *pg_query.Node) (*Query, error) {
	sel := n.GetSelectStmt()
	if sel == nil {
		return nil, pgerror.Internal("PlanSelect on %T", n.Node)
	}
	node, sc, err := p.bindSelect(sel, nil)
	if err != nil {
		return nil, err
	}
	if err := p.finishParams(); err != nil {
		return nil, err
	}
	if node, err = p.optimize(node); err != nil {
		return nil, err
	}
	q := &Query{Plan: node}
	for i, c := range node.Schema() {
		oc := OutputCol{Name: c.Name, T: c.T}
		if i < len(sc.cols) {
			oc.TableOID, oc.AttNum = sc.cols[i].tableOID, sc.cols[i].attNum
		}
		if oc.T.Family == types.FamUnknown {
			oc.T = types.TextT
		}
		q.Cols = append(q.Cols, oc)
	}
	return q, nil
}

// finishParams gives uninferred parameters type text, as PostgreSQL does for
// parameters only used where any type is acceptable.
func (p *Planner) finishParams() error {
	for i, t := range p.Params {
		if t.Family == types.FamUnknown {
			p.Params[i] = types.TextT
		}
	}
	return nil
}

// ParseQuery parses and plans SQL text holding one SELECT (used for views).
func (p *Planner) ParseQuery(sql string) (*Query, error) {
	st, err := parser.ParseOne(sql)
	if err != nil {
		return nil, err
	}
	if st == nil || st.AST.GetSelectStmt() == nil {
		return nil, pgerror.New(pgerror.SyntaxError, "expected a SELECT statement")
	}
	return p.PlanSelect(st.AST)
}

// ResolveTypeName converts a pg_query TypeName into a type.
func ResolveTypeName(tn *pg_query.TypeName) (types.T, error) {
	var names []string
	for _, n := range tn.Names {
		if s := n.GetString_(); s != nil {
			names = append(names, s.Sval)
		}
	}
	if len(names) == 0 {
		return types.UnknownT, pgerror.New(pgerror.SyntaxError, "empty type name")
	}
	name := names[len(names)-1]
	if len(names) == 2 && names[0] != "pg_catalog" && names[0] != "public" {
		return types.UnknownT, pgerror.New(pgerror.UndefinedObject, "type %q does not exist", strings.Join(names, "."))
	}
	t, ok := types.ByName(name)
	if !ok {
		return types.UnknownT, pgerror.New(pgerror.UndefinedObject, "type %q does not exist", name)
	}
	var mods []int64
	for _, m := range tn.Typmods {
		c := m.GetAConst()
		if c == nil || c.GetIval() == nil {
			return types.UnknownT, pgerror.New(pgerror.SyntaxError, "type modifiers must be simple constants or identifiers")
		}
		mods = append(mods, int64(c.GetIval().Ival))
	}
	switch t.Family {
	case types.FamVarchar, types.FamBpchar:
		if len(mods) > 1 {
			return types.UnknownT, pgerror.New(pgerror.SyntaxError, "invalid type modifier")
		}
		if len(mods) == 1 {
			if mods[0] < 1 || mods[0] > 10485760 {
				return types.UnknownT, pgerror.New(pgerror.InvalidParameterValue, "length for type %s must be at least 1", t.ShortName())
			}
			t.Mod = int32(mods[0])
		} else if t.Family == types.FamBpchar && name != "bpchar" {
			t.Mod = 1 // char without length is char(1)
		}
	case types.FamNumeric:
		switch len(mods) {
		case 0:
		case 1, 2:
			prec, scale := mods[0], int64(0)
			if len(mods) == 2 {
				scale = mods[1]
			}
			if prec < 1 || prec > 1000 {
				return types.UnknownT, pgerror.New(pgerror.InvalidParameterValue, "NUMERIC precision %d must be between 1 and 1000", prec)
			}
			if scale < 0 || scale > prec {
				return types.UnknownT, pgerror.New(pgerror.InvalidParameterValue, "NUMERIC scale %d must be between 0 and precision %d", scale, prec)
			}
			t.Mod = types.NumericMod(int(prec), int(scale))
		default:
			return types.UnknownT, pgerror.New(pgerror.SyntaxError, "invalid NUMERIC type modifier")
		}
	case types.FamFloat8:
		// float(p): p <= 24 is real.
		if len(mods) == 1 && name == "float" {
			if mods[0] < 1 || mods[0] > 53 {
				return types.UnknownT, pgerror.New(pgerror.InvalidParameterValue, "precision for type float must be between 1 and 53 bits")
			}
			if mods[0] <= 24 {
				t = types.Float4T
			}
		}
	case types.FamTime, types.FamTimestamp, types.FamTimestampTZ:
		if len(mods) == 1 {
			if mods[0] < 0 {
				return types.UnknownT, pgerror.New(pgerror.InvalidParameterValue, "%s(%d) precision must not be negative", t.ShortName(), mods[0])
			}
			p := mods[0]
			if p > 6 {
				p = 6
			}
			t.Mod = int32(p)
		}
	case types.FamInterval:
		switch len(mods) {
		case 1:
			t.Mod = types.IntervalTypmod(int32(mods[0]), -1)
		case 2:
			if mods[1] < 0 || mods[1] > 6 {
				return types.UnknownT, pgerror.New(pgerror.InvalidParameterValue, "interval(%d) precision must be between 0 and 6", mods[1])
			}
			t.Mod = types.IntervalTypmod(int32(mods[0]), int(mods[1]))
		}
	}
	if len(tn.ArrayBounds) > 0 {
		t = types.ArrayOf(t)
	}
	return t, nil
}

// strVal returns the string of a String node.
func strVal(n *pg_query.Node) string {
	if s := n.GetString_(); s != nil {
		return s.Sval
	}
	return ""
}

// nameList joins a list of String nodes with dots.
func nameList(ns []*pg_query.Node) string {
	parts := make([]string, 0, len(ns))
	for _, n := range ns {
		parts = append(parts, strVal(n))
	}
	return strings.Join(parts, ".")
}
