package planner

import (
	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/types"
)

// foldConstants simplifies expressions the way PostgreSQL's
// eval_const_expressions does, so results and errors match it:
//   - a strict function with a NULL constant argument is NULL (its other
//     arguments are never evaluated);
//   - an immutable function of constants is evaluated now (its errors are
//     the statement's errors, even when no row would reach it);
//   - CASE arms whose condition folds to false/NULL are dropped before their
//     results are looked at, so CASE still guards (CASE WHEN false THEN 1/0);
//   - AND/OR with a deciding constant, and COALESCE after a non-NULL constant,
//     drop the rest.
type folder struct {
	ec *kernels.EvalContext
}

func (f *folder) rule(n Node) (Node, bool, error) {
	for _, slot := range nodeExprs(n) {
		e, err := f.fold(*slot)
		if err != nil {
			return nil, false, err
		}
		*slot = e
	}
	for _, c := range n.Children() {
		if _, _, err := f.rule(c); err != nil {
			return nil, false, err
		}
	}
	return n, true, nil
}

func isNullConst(e Expr) bool {
	c, ok := e.(*Const)
	return ok && c.Val == nil
}

func boolConst(e Expr) (val, isNull, ok bool) {
	c, isC := e.(*Const)
	if !isC {
		return false, false, false
	}
	if c.Val == nil {
		return false, true, true
	}
	b, isB := c.Val.(bool)
	return b, false, isB
}

func (f *folder) fold(e Expr) (Expr, error) {
	switch x := e.(type) {
	case nil:
		return nil, nil
	case *Call:
		args := make([]Expr, len(x.Args))
		allConst := true
		for i, a := range x.Args {
			r, err := f.fold(a)
			if err != nil {
				return nil, err
			}
			args[i] = r
			if _, ok := r.(*Const); !ok {
				allConst = false
			}
		}
		if x.Fn.Strict {
			for _, a := range args {
				if isNullConst(a) {
					return &Const{T: x.T}, nil
				}
			}
		}
		call := &Call{Fn: x.Fn, Args: args, T: x.T}
		if allConst && x.Fn.Volatility == kernels.Immutable && x.Fn.Eval != nil && x.T.Family != types.FamAny {
			vals := make([]types.Datum, len(args))
			for i, a := range args {
				vals[i] = a.(*Const).Val
			}
			v, err := x.Fn.Eval(f.ec, vals)
			if err != nil {
				return nil, err
			}
			return &Const{Val: v, T: x.T}, nil
		}
		return call, nil
	case *Cast:
		in, err := f.fold(x.E)
		if err != nil {
			return nil, err
		}
		if c, ok := in.(*Const); ok && x.E.Type().Family != types.FamRegclass {
			v, err := types.Cast(&f.ec.Ctx, c.Val, c.T, x.To, x.Explicit)
			if err != nil {
				return nil, err
			}
			return &Const{Val: v, T: x.To}, nil
		}
		return &Cast{E: in, To: x.To, Explicit: x.Explicit}, nil
	case *And:
		var out []Expr
		sawNull := false
		for _, a := range x.Args {
			r, err := f.fold(a)
			if err != nil {
				return nil, err
			}
			if v, isNull, ok := boolConst(r); ok {
				if isNull {
					sawNull = true
					continue
				}
				if !v {
					return &Const{Val: false, T: types.BoolT}, nil
				}
				continue
			}
			out = append(out, r)
		}
		if sawNull {
			out = append(out, &Const{T: types.BoolT})
		}
		switch len(out) {
		case 0:
			return &Const{Val: true, T: types.BoolT}, nil
		case 1:
			return out[0], nil
		}
		return &And{Args: out}, nil
	case *Or:
		var out []Expr
		sawNull := false
		for _, a := range x.Args {
			r, err := f.fold(a)
			if err != nil {
				return nil, err
			}
			if v, isNull, ok := boolConst(r); ok {
				if isNull {
					sawNull = true
					continue
				}
				if v {
					return &Const{Val: true, T: types.BoolT}, nil
				}
				continue
			}
			out = append(out, r)
		}
		if sawNull {
			out = append(out, &Const{T: types.BoolT})
		}
		switch len(out) {
		case 0:
			return &Const{Val: false, T: types.BoolT}, nil
		case 1:
			return out[0], nil
		}
		return &Or{Args: out}, nil
	case *Not:
		in, err := f.fold(x.E)
		if err != nil {
			return nil, err
		}
		if v, isNull, ok := boolConst(in); ok {
			if isNull {
				return &Const{T: types.BoolT}, nil
			}
			return &Const{Val: !v, T: types.BoolT}, nil
		}
		return &Not{E: in}, nil
	case *Case:
		out := &Case{T: x.T}
		for _, w := range x.Whens {
			c, err := f.fold(w.Cond)
			if err != nil {
				return nil, err
			}
			if v, isNull, ok := boolConst(c); ok {
				if isNull || !v {
					continue // arm can never be taken: its result is not folded
				}
				r, err := f.fold(w.Result)
				if err != nil {
					return nil, err
				}
				if len(out.Whens) == 0 {
					return r, nil
				}
				out.Else = r
				return out, nil
			}
			r, err := f.fold(w.Result)
			if err != nil {
				return nil, err
			}
			out.Whens = append(out.Whens, When{Cond: c, Result: r})
		}
		if x.Else != nil {
			r, err := f.fold(x.Else)
			if err != nil {
				return nil, err
			}
			out.Else = r
		}
		if len(out.Whens) == 0 {
			if out.Else == nil {
				return &Const{T: x.T}, nil
			}
			return out.Else, nil
		}
		return out, nil
	case *Coalesce:
		var out []Expr
		for _, a := range x.Args {
			r, err := f.fold(a)
			if err != nil {
				return nil, err
			}
			if isNullConst(r) {
				continue
			}
			out = append(out, r)
			if _, ok := r.(*Const); ok {
				break
			}
		}
		switch len(out) {
		case 0:
			return &Const{T: x.T}, nil
		case 1:
			if _, ok := out[0].(*Const); ok {
				return out[0], nil
			}
		}
		return &Coalesce{Args: out, T: x.T}, nil
	case *InList:
		l, err := f.fold(x.E)
		if err != nil {
			return nil, err
		}
		list := make([]Expr, len(x.List))
		for i, it := range x.List {
			if list[i], err = f.fold(it); err != nil {
				return nil, err
			}
		}
		if isNullConst(l) && x.Eq != nil && x.Eq.Strict {
			return &Const{T: types.BoolT}, nil
		}
		return &InList{E: l, List: list, Negate: x.Negate, Eq: x.Eq}, nil
	}
	// Other expressions: fold their children.
	return rewriteExpr(e, func(c Expr) (Expr, error) {
		if c == e {
			return nil, nil
		}
		return f.fold(c)
	})
}
