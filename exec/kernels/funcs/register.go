package funcs

import (
	"regexp"
	"sync"
	"time"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

type evalFn = func(ctx *kernels.EvalContext, args []types.Datum) (types.Datum, error)

// env is the state shared by the closures of one Register call: caches that
// are safe for concurrent use. It is the only mutable state of the package.
type env struct {
	r *kernels.Registry

	zmu   sync.Mutex
	zones map[string]*time.Location

	rmu     sync.Mutex
	regexps map[string]*regexp.Regexp

	fmu        sync.Mutex
	dtFormats  map[string][]dtNode
	numFormats map[string]numFormat
}

// Register adds every function of this package to r.
func Register(r *kernels.Registry) {
	e := &env{r: r, zones: map[string]*time.Location{}, regexps: map[string]*regexp.Regexp{},
		dtFormats: map[string][]dtNode{}, numFormats: map[string]numFormat{}}
	e.registerString()
	e.registerRegexp()
	e.registerRegexpPG15()
	e.registerFormat()
	e.registerSQLSyntax()
	e.registerExtras()
	e.registerToNumber()
	e.registerDateTime()
	e.registerToChar()
	e.registerArray()
	e.registerSysInfo()
}

// strict registers an immutable strict overload and returns it so callers
// can add a Vec or change the volatility.
func (e *env) strict(name string, ret types.T, fn evalFn, args ...types.T) *kernels.ScalarFunc {
	f := &kernels.ScalarFunc{Name: name, Args: args, Ret: ret, Strict: true, Volatility: kernels.Immutable, Eval: fn}
	e.r.AddScalar(f)
	return f
}

// lax registers an immutable non-strict overload.
func (e *env) lax(name string, ret types.T, fn evalFn, args ...types.T) *kernels.ScalarFunc {
	f := &kernels.ScalarFunc{Name: name, Args: args, Ret: ret, Strict: false, Volatility: kernels.Immutable, Eval: fn}
	e.r.AddScalar(f)
	return f
}

func errf(code, format string, args ...any) *pgerror.Error { return pgerror.New(code, format, args...) }

// codeSubstringError is PostgreSQL's substring_error, which pgerror does not name.
const codeSubstringError = "22011"

// codeInvalidUseOfEscape is PostgreSQL's invalid_use_of_escape_character.
const codeInvalidUseOfEscape = "2200C"

// Argument accessors. The registry guarantees the Go type of each Datum, so
// the conversions cannot fail for resolved calls; they never panic either.
func str(d types.Datum) string {
	switch v := d.(type) {
	case string:
		return v
	case []byte:
		return string(v)
	}
	return ""
}

func i64(d types.Datum) int64 {
	switch v := d.(type) {
	case int64:
		return v
	case float64:
		return int64(v)
	}
	return 0
}

func f64(d types.Datum) float64 {
	switch v := d.(type) {
	case float64:
		return v
	case int64:
		return float64(v)
	}
	return 0
}

func boolArg(d types.Datum) bool { b, _ := d.(bool); return b }

// location returns the named zone, loading it once per Register call.
func (e *env) location(name string) (*time.Location, bool) {
	e.zmu.Lock()
	defer e.zmu.Unlock()
	if l, ok := e.zones[name]; ok {
		return l, l != nil
	}
	l, ok := parseZone(name)
	if !ok {
		l = nil
	}
	if len(e.zones) < 4096 {
		e.zones[name] = l
	}
	return l, ok
}

// compile returns the compiled regular expression for pattern (with Go
// flags already applied), caching it.
func (e *env) compile(pattern string) (*regexp.Regexp, error) {
	e.rmu.Lock()
	re, ok := e.regexps[pattern]
	e.rmu.Unlock()
	if ok {
		return re, nil
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, errf(pgerror.InvalidRegularExpression, "invalid regular expression: %s", regexErrText(err))
	}
	e.rmu.Lock()
	if len(e.regexps) < 4096 {
		e.regexps[pattern] = re
	}
	e.rmu.Unlock()
	return re, nil
}

// cacheLimit bounds each cache; beyond it new entries are not kept.
const cacheLimit = 4096

// dtFormat returns the parsed date/time template (parsed nodes are
// read-only once cached).
func (e *env) dtFormat(f string) []dtNode {
	e.fmu.Lock()
	nodes, ok := e.dtFormats[f]
	e.fmu.Unlock()
	if ok {
		return nodes
	}
	nodes = parseDTFormat(f)
	e.fmu.Lock()
	if len(e.dtFormats) < cacheLimit {
		e.dtFormats[f] = nodes
	}
	e.fmu.Unlock()
	return nodes
}

// numFormat returns the parsed numeric template.
func (e *env) numFormat(f string) numFormat {
	e.fmu.Lock()
	nf, ok := e.numFormats[f]
	e.fmu.Unlock()
	if ok {
		return nf
	}
	nf = parseNumFormat(f)
	e.fmu.Lock()
	if len(e.numFormats) < cacheLimit {
		e.numFormats[f] = nf
	}
	e.fmu.Unlock()
	return nf
}
