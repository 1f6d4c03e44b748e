package engine

import (
	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// registerJSONBFunctions adds the jsonb operators and functions: -> and ->>
// (text keys and integer indexes), #> and #>> (text[] paths), ?, the six
// comparisons (PostgreSQL's jsonb b-tree order), jsonb_typeof and
// jsonb_array_length. Values are parsed from their canonical text per call.
func registerJSONBFunctions(r *kernels.Registry) {
	add := func(name string, args []types.T, ret types.T, eval func(args []types.Datum) (types.Datum, error)) {
		r.AddScalar(&kernels.ScalarFunc{
			Name: name, Args: args, Ret: ret, Strict: true, Volatility: kernels.Immutable,
			Eval: func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
				if len(a) != len(args) {
					return nil, pgerror.Internal("%s: %d arguments", name, len(a))
				}
				return eval(a)
			},
		})
	}
	j := types.JSONBT
	parse := types.ParseJSONBDatum
	asJSONB := func(v types.JSONB, ok bool) (types.Datum, error) {
		if !ok {
			return nil, nil
		}
		return v.Datum(), nil
	}
	asText := func(v types.JSONB, ok bool) (types.Datum, error) {
		if !ok {
			return nil, nil
		}
		s, ok := v.Text()
		if !ok {
			return nil, nil
		}
		return s, nil
	}
	for _, op := range []struct {
		name string
		ret  types.T
		out  func(types.JSONB, bool) (types.Datum, error)
	}{{"->", j, asJSONB}, {"->>", types.TextT, asText}} {
		out := op.out
		add(op.name, []types.T{j, types.TextT}, op.ret, func(a []types.Datum) (types.Datum, error) {
			v, err := parse(a[0])
			if err != nil {
				return nil, err
			}
			key, _ := a[1].(string)
			return out(v.Field(key))
		})
		add(op.name, []types.T{j, types.Int4T}, op.ret, func(a []types.Datum) (types.Datum, error) {
			v, err := parse(a[0])
			if err != nil {
				return nil, err
			}
			i, _ := a[1].(int64)
			return out(v.Index(i))
		})
	}
	for _, op := range []struct {
		name string
		ret  types.T
		out  func(types.JSONB, bool) (types.Datum, error)
	}{{"#>", j, asJSONB}, {"#>>", types.TextT, asText}} {
		out := op.out
		add(op.name, []types.T{j, types.ArrayOf(types.TextT)}, op.ret, func(a []types.Datum) (types.Datum, error) {
			v, err := parse(a[0])
			if err != nil {
				return nil, err
			}
			arr, ok := a[1].(*types.Array)
			if !ok {
				return nil, pgerror.Internal("#>: path of type %T", a[1])
			}
			path := make([]string, len(arr.Elems))
			for i, e := range arr.Elems {
				s, ok := e.(string)
				if !ok {
					return nil, nil // a NULL path element yields NULL
				}
				path[i] = s
			}
			return out(v.Path(path))
		})
	}
	add("?", []types.T{j, types.TextT}, types.BoolT, func(a []types.Datum) (types.Datum, error) {
		v, err := parse(a[0])
		if err != nil {
			return nil, err
		}
		key, _ := a[1].(string)
		return v.HasKey(key), nil
	})
	for _, c := range []struct {
		name  string
		holds func(int) bool
	}{
		{"=", func(c int) bool { return c == 0 }}, {"<>", func(c int) bool { return c != 0 }},
		{"<", func(c int) bool { return c < 0 }}, {"<=", func(c int) bool { return c <= 0 }},
		{">", func(c int) bool { return c > 0 }}, {">=", func(c int) bool { return c >= 0 }},
	} {
		holds := c.holds
		add(c.name, []types.T{j, j}, types.BoolT, func(a []types.Datum) (types.Datum, error) {
			return holds(types.Compare(a[0], a[1], j)), nil
		})
	}
	add("jsonb_typeof", []types.T{j}, types.TextT, func(a []types.Datum) (types.Datum, error) {
		v, err := parse(a[0])
		if err != nil {
			return nil, err
		}
		return v.Typeof(), nil
	})
	add("jsonb_array_length", []types.T{j}, types.Int4T, func(a []types.Datum) (types.Datum, error) {
		v, err := parse(a[0])
		if err != nil {
			return nil, err
		}
		switch {
		case v.IsArray():
			return int64(v.Len()), nil
		case v.IsObject():
			return nil, pgerror.New(pgerror.InvalidParameterValue, "cannot get array length of a non-array")
		}
		return nil, pgerror.New(pgerror.InvalidParameterValue, "cannot get array length of a scalar")
	})
}
