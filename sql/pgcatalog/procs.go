package pgcatalog

import (
	"strings"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/types"
)

// Pseudo-type OIDs for polymorphic signatures.
const (
	oidAnyElement = 2283
	oidAnyArray   = 2277
)

// procInfo is one pg_proc row: a function overload from the registry.
type procInfo struct {
	oid        int64
	name       string
	kind       byte // 'f' function, 'a' aggregate, 'w' window
	args       []int64
	ret        int64
	variadic   bool
	strict     bool
	volatility byte // 'i', 's', 'v'
}

// windowFuncs are the ranking and value functions the Window node
// evaluates itself (they are not in the registry).
var windowFuncs = []struct {
	name string
	args []int64
	ret  int64
}{
	{"row_number", nil, int64(types.OidInt8)},
	{"rank", nil, int64(types.OidInt8)},
	{"dense_rank", nil, int64(types.OidInt8)},
	{"percent_rank", nil, int64(types.OidFloat8)},
	{"cume_dist", nil, int64(types.OidFloat8)},
	{"ntile", []int64{int64(types.OidInt4)}, int64(types.OidInt4)},
	{"lag", []int64{oidAnyElement}, oidAnyElement},
	{"lead", []int64{oidAnyElement}, oidAnyElement},
	{"first_value", []int64{oidAnyElement}, oidAnyElement},
	{"last_value", []int64{oidAnyElement}, oidAnyElement},
	{"nth_value", []int64{oidAnyElement, int64(types.OidInt4)}, oidAnyElement},
}

// typeOID is t's OID, with the pseudo-types of polymorphic arguments.
func typeOID(t types.T) int64 {
	switch t.Family {
	case types.FamAny:
		return oidAnyElement
	case types.FamAnyArray:
		return oidAnyArray
	}
	return int64(t.Oid())
}

// isFuncName reports whether an overload name is a function (not an
// operator symbol such as "+" or "~~").
func isFuncName(n string) bool {
	if n == "" {
		return false
	}
	for i, r := range n {
		if !(r == '_' || r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// procsOf lists every function in the registry, in a stable order: scalar
// names, then aggregates, then window functions, overloads in registration
// order. OIDs are procOIDBase plus the position, so they are stable for a
// given registry.
func procsOf(reg *kernels.Registry) []procInfo {
	var out []procInfo
	add := func(p procInfo) {
		p.oid = procOIDBase + int64(len(out))
		out = append(out, p)
	}
	if reg != nil {
		for _, n := range reg.ScalarNames() {
			if !isFuncName(n) {
				continue
			}
			for _, f := range reg.Scalars(n) {
				p := procInfo{name: n, kind: 'f', variadic: f.Variadic, strict: f.Strict, volatility: volChar(f.Volatility)}
				for _, a := range f.Args {
					p.args = append(p.args, typeOID(a))
				}
				p.ret = oidAnyElement
				if f.RetFn == nil {
					p.ret = typeOID(f.Ret)
				}
				add(p)
			}
		}
		for _, n := range reg.AggNames() {
			if !isFuncName(n) {
				continue
			}
			for _, f := range reg.Aggs(n) {
				p := procInfo{name: n, kind: 'a', volatility: 'i'}
				for _, a := range f.Args {
					p.args = append(p.args, typeOID(a))
				}
				p.ret = oidAnyElement
				if f.RetFn == nil {
					p.ret = typeOID(f.Ret)
				}
				add(p)
			}
		}
	}
	for _, w := range windowFuncs {
		add(procInfo{name: w.name, kind: 'w', args: w.args, ret: w.ret, volatility: 'i'})
	}
	return out
}

func volChar(v kernels.Volatility) byte {
	switch v {
	case kernels.Stable:
		return 's'
	case kernels.Volatile:
		return 'v'
	}
	return 'i'
}

// typeNameOf renders a type OID as format_type(oid, NULL) does.
func typeNameOf(oid int64) string {
	switch oid {
	case oidAnyElement:
		return "anyelement"
	case oidAnyArray:
		return "anyarray"
	}
	if t, ok := types.FromOid(uint32(oid)); ok {
		return t.String()
	}
	return "???"
}

// procArgs renders the argument list as pg_get_function_arguments does.
func procArgs(p *procInfo) string {
	parts := make([]string, len(p.args))
	for i, a := range p.args {
		parts[i] = typeNameOf(a)
		if p.variadic && i == len(p.args)-1 {
			parts[i] = "VARIADIC " + parts[i] + "[]"
		}
	}
	return strings.Join(parts, ", ")
}
