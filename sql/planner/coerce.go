package planner

import (
	"strings"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// category groups types as PostgreSQL's typcategory does, for resolution.
func category(t types.T) byte {
	switch t.Family {
	case types.FamBool:
		return 'B'
	case types.FamInt2, types.FamInt4, types.FamInt8, types.FamFloat4, types.FamFloat8, types.FamNumeric, types.FamOid, types.FamRegclass, types.FamRegtype:
		return 'N'
	case types.FamText, types.FamVarchar, types.FamBpchar, types.FamName:
		return 'S'
	case types.FamDate, types.FamTime, types.FamTimestamp, types.FamTimestampTZ:
		return 'D'
	case types.FamInterval:
		return 'T'
	case types.FamArray:
		return 'A'
	case types.FamUnknown:
		return 'X'
	case types.FamBytea:
		return 'U'
	}
	return 'U'
}

// preferred reports PostgreSQL's typispreferred.
func preferred(t types.T) bool {
	switch t.Family {
	case types.FamBool, types.FamFloat8, types.FamText, types.FamTimestampTZ, types.FamInterval, types.FamOid:
		return true
	}
	return false
}

// implicitOK reports whether a value of type from may be implicitly coerced to to.
func implicitOK(from, to types.T) bool {
	if from.Family == to.Family && from.Elem == to.Elem {
		return true
	}
	if from.Family == types.FamUnknown {
		return true
	}
	if to.Family == types.FamAny {
		return true
	}
	if to.Family == types.FamAnyArray {
		return from.Family == types.FamArray
	}
	return types.CastKind(from, to) == types.CastImplicit
}

// commonType resolves the type of UNION/CASE/COALESCE/IN/VALUES branches
// (PostgreSQL's select_common_type). ctx names the construct for errors.
func commonType(ts []types.T, ctx string) (types.T, error) {
	var res types.T
	found := false
	for _, t := range ts {
		if t.Family == types.FamUnknown {
			continue
		}
		if !found {
			res, found = t, true
			continue
		}
		if t.Family == res.Family && t.Elem == res.Elem {
			if t.Mod != res.Mod {
				res = res.Unmodified()
			}
			continue
		}
		if category(t) != category(res) {
			return types.UnknownT, pgerror.New(pgerror.DatatypeMismatch, "%s types %s and %s cannot be matched", ctx, res, t)
		}
		if !preferred(res) && implicitOK(res, t) && !implicitOK(t, res) {
			res = t
		}
	}
	if !found {
		return types.TextT, nil
	}
	for _, t := range ts {
		if t.Family != types.FamUnknown && !implicitOK(t, res) {
			return types.UnknownT, pgerror.New(pgerror.DatatypeMismatch, "%s types %s and %s cannot be matched", ctx, res, t)
		}
	}
	return res, nil
}

// sig is the shared shape of scalar and aggregate overloads for resolution.
type sig struct {
	args     []types.T
	variadic bool
	// anyIndependent: FamAny arguments keep their own types.
	anyIndependent bool
}

func (s sig) argAt(i int) types.T {
	if i < len(s.args) {
		return s.args[i]
	}
	return s.args[len(s.args)-1]
}

func (s sig) accepts(n int) bool {
	if s.variadic {
		return n >= len(s.args)-1
	}
	return n == len(s.args)
}

// resolveOverload picks the best overload for actual argument types
// following PostgreSQL's func_select_candidate rules (simplified). It
// returns the index of the chosen signature and the resolved argument types
// (with FamAny resolved).
func resolveOverload(sigs []sig, actual []types.T) (int, []types.T, bool) {
	type cand struct {
		idx      int
		exact    int
		pref     int
		resolved []types.T
	}
	var cands []cand
	for i, s := range sigs {
		if !s.accepts(len(actual)) {
			continue
		}
		resolved := make([]types.T, len(actual))
		ok := true
		// Resolve polymorphic arguments to one common type.
		var anyT *types.T
		var anyTs []types.T
		for j, a := range actual {
			if s.argAt(j).Family == types.FamAny {
				anyTs = append(anyTs, a)
			}
		}
		if len(anyTs) > 0 && !s.anyIndependent {
			t, err := commonType(anyTs, "argument")
			if err != nil {
				continue
			}
			anyT = &t
		}
		var anyArr *types.T
		for j, a := range actual {
			if s.argAt(j).Family == types.FamAnyArray && a.Family == types.FamArray {
				x := a
				anyArr = &x
				break
			}
		}
		if anyArr == nil && anyT != nil && anyT.Family != types.FamUnknown {
			x := types.ArrayOf(*anyT)
			anyArr = &x
		}
		exact, pref := 0, 0
		for j, a := range actual {
			want := s.argAt(j)
			switch want.Family {
			case types.FamAny:
				if s.anyIndependent {
					want = a
				} else {
					want = *anyT
				}
			case types.FamAnyArray:
				if anyArr == nil || (a.Family != types.FamUnknown && (a.Family != types.FamArray || a.Elem != anyArr.Elem)) {
					ok = false
				} else {
					want = *anyArr
				}
			}
			if !ok {
				break
			}
			poly := s.argAt(j).Family == types.FamAny || s.argAt(j).Family == types.FamAnyArray
			if a.Family == want.Family && a.Elem == want.Elem {
				if !poly {
					exact++
				}
			} else if !implicitOK(a, want) {
				ok = false
				break
			}
			if preferred(want) {
				pref++
			}
			if want.Family == types.FamUnknown {
				want = types.TextT
			}
			resolved[j] = want.Unmodified()
		}
		if ok {
			cands = append(cands, cand{idx: i, exact: exact, pref: pref, resolved: resolved})
		}
	}
	if len(cands) == 0 {
		return -1, nil, false
	}
	// Unknown arguments: assume the type of the known arguments when all
	// known arguments share one type (binary operator heuristic).
	var known *types.T
	sameKnown := true
	for _, a := range actual {
		if a.Family == types.FamUnknown {
			continue
		}
		if known == nil {
			k := a
			known = &k
		} else if known.Family != a.Family {
			sameKnown = false
		}
	}
	if known != nil && sameKnown {
		for _, c := range cands {
			all := true
			for j := range actual {
				if c.resolved[j].Family != known.Family {
					all = false
				}
			}
			if all {
				return c.idx, c.resolved, true
			}
		}
	}
	best := cands[:0:0]
	maxExact := -1
	for _, c := range cands {
		if c.exact > maxExact {
			maxExact = c.exact
			best = best[:0]
		}
		if c.exact == maxExact {
			best = append(best, c)
		}
	}
	if len(best) > 1 {
		// Prefer candidates accepting unknowns as strings, then preferred types.
		var strs []cand
		for _, c := range best {
			ok := true
			for j, a := range actual {
				if a.Family == types.FamUnknown && category(c.resolved[j]) != 'S' {
					ok = false
				}
			}
			if ok {
				strs = append(strs, c)
			}
		}
		if len(strs) > 0 {
			best = strs
		}
		maxPref := -1
		var bp []cand
		for _, c := range best {
			if c.pref > maxPref {
				maxPref = c.pref
				bp = bp[:0]
			}
			if c.pref == maxPref {
				bp = append(bp, c)
			}
		}
		best = bp
	}
	return best[0].idx, best[0].resolved, true
}

func scalarSigs(fs []*kernels.ScalarFunc) []sig {
	out := make([]sig, len(fs))
	for i, f := range fs {
		out[i] = sig{args: f.Args, variadic: f.Variadic, anyIndependent: f.AnyIndependent}
	}
	return out
}

func aggSigs(fs []*kernels.AggFunc) []sig {
	out := make([]sig, len(fs))
	for i, f := range fs {
		out[i] = sig{args: f.Args}
	}
	return out
}

func typeList(ts []types.T) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = t.String()
	}
	return strings.Join(parts, ", ")
}
