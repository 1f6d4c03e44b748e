package ops

import (
	"errors"
	"regexp"
	"regexp/syntax"
	"strings"
	"sync"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// translateRegex rewrites the common PostgreSQL ARE syntax into RE2's.
// In an ARE "." matches a newline and ^/$ anchor the whole string, which is
// RE2's (?s) mode. \y/\Y/\m/\M/[[:<:]]/[[:>:]] become \b/\B; \Z becomes \z.
// Back references have no RE2 equivalent and are reported as unsupported.
//
// Case-insensitive matching (~*) folds ASCII letters only, as PostgreSQL's
// regex engine does under the C locale: the pattern's literal letters are
// lower-cased here and the input by the caller (asciiLower).
func translateRegex(p string, fold bool) (string, error) {
	var sb strings.Builder
	sb.WriteString("(?s)")
	inBracket := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !inBracket && strings.HasPrefix(p[i:], "[[:<:]]") {
			sb.WriteString(`\b`)
			i += len("[[:<:]]") - 1
			continue
		}
		if !inBracket && strings.HasPrefix(p[i:], "[[:>:]]") {
			sb.WriteString(`\b`)
			i += len("[[:>:]]") - 1
			continue
		}
		switch {
		case c == '\\' && i+1 < len(p):
			n := p[i+1]
			i++
			if inBracket {
				sb.WriteByte('\\')
				sb.WriteByte(n)
				continue
			}
			switch {
			case n == 'y' || n == 'm' || n == 'M':
				sb.WriteString(`\b`)
			case n == 'Y':
				sb.WriteString(`\B`)
			case n == 'Z':
				sb.WriteString(`\z`)
			case n >= '1' && n <= '9':
				return "", pgerror.Unsupported("regular expression back references are not supported")
			default:
				sb.WriteByte('\\')
				sb.WriteByte(n)
			}
		case c == '[' && !inBracket:
			inBracket = true
			sb.WriteByte(c)
			// A ']' right after '[' or '[^' is a literal.
			if i+1 < len(p) && p[i+1] == '^' {
				sb.WriteByte('^')
				i++
			}
			if i+1 < len(p) && p[i+1] == ']' {
				sb.WriteString(`\]`)
				i++
			}
		case c == '[' && inBracket && i+1 < len(p) && (p[i+1] == ':' || p[i+1] == '.' || p[i+1] == '='):
			// [:class:] inside a bracket expression: copy through its close.
			end := strings.Index(p[i+2:], string(p[i+1])+"]")
			if end < 0 {
				sb.WriteByte(c)
				continue
			}
			sb.WriteString(p[i : i+2+end+2])
			i += 2 + end + 1
		case c == ']' && inBracket:
			inBracket = false
			sb.WriteByte(c)
		case c == '{' && !inBracket:
			end := strings.IndexByte(p[i:], '}')
			if end < 0 {
				return "", pgerror.New(pgerror.InvalidRegularExpression, "invalid regular expression: braces {} not balanced")
			}
			if !validBound(p[i+1 : i+end]) {
				return "", pgerror.New(pgerror.InvalidRegularExpression, "invalid regular expression: invalid repetition count(s)")
			}
			sb.WriteString(p[i : i+end+1])
			i += end
		case fold && c >= 'A' && c <= 'Z':
			sb.WriteByte(c + 'a' - 'A')
		default:
			sb.WriteByte(c)
		}
	}
	return sb.String(), nil
}

// validBound reports whether s is a repetition bound "m", "m," or "m,n"
// with counts up to 255 (PostgreSQL's DUPMAX) and m <= n.
func validBound(s string) bool {
	lo, hi, comma := s, "", false
	if i := strings.IndexByte(s, ','); i >= 0 {
		lo, hi, comma = s[:i], s[i+1:], true
	}
	num := func(x string) (int, bool) {
		if x == "" || len(x) > 3 {
			return 0, false
		}
		v := 0
		for _, ch := range []byte(x) {
			if ch < '0' || ch > '9' {
				return 0, false
			}
			v = v*10 + int(ch-'0')
		}
		return v, v <= 255
	}
	m, ok := num(lo)
	if !ok {
		return false
	}
	if !comma || hi == "" {
		return true
	}
	n, ok := num(hi)
	return ok && m <= n
}

func compileRegex(p string, fold bool) (*regexp.Regexp, error) {
	t, err := translateRegex(p, fold)
	if err != nil {
		return nil, err
	}
	re, err := regexp.Compile(t)
	if err != nil {
		var se *syntax.Error
		if errors.As(err, &se) && (se.Code == syntax.ErrInvalidPerlOp || se.Code == syntax.ErrInvalidNamedCapture) &&
			(strings.HasPrefix(se.Expr, "(?=") || strings.HasPrefix(se.Expr, "(?!") ||
				strings.HasPrefix(se.Expr, "(?<=") || strings.HasPrefix(se.Expr, "(?<!")) {
			return nil, pgerror.Unsupported("regular expression lookahead and lookbehind constraints are not supported")
		}
		return nil, pgerror.New(pgerror.InvalidRegularExpression, "invalid regular expression: %s", regexMessage(err))
	}
	return re, nil
}

// regexMessage words an RE2 syntax error as PostgreSQL's regex library does.
func regexMessage(err error) string {
	var se *syntax.Error
	if !errors.As(err, &se) {
		return err.Error()
	}
	switch se.Code {
	case syntax.ErrMissingParen, syntax.ErrUnexpectedParen:
		return "parentheses () not balanced"
	case syntax.ErrMissingBracket:
		return "brackets [] not balanced"
	case syntax.ErrMissingRepeatArgument, syntax.ErrInvalidRepeatOp:
		return "quantifier operand invalid"
	case syntax.ErrTrailingBackslash, syntax.ErrInvalidEscape:
		return "invalid escape \\ sequence"
	case syntax.ErrInvalidCharRange:
		return "invalid character range"
	case syntax.ErrInvalidRepeatSize:
		return "invalid repetition count(s)"
	case syntax.ErrInvalidCharClass:
		return "invalid character class"
	}
	return se.Code.String()
}

// regexCache memoises compiled expressions for one overload; shared by
// concurrent statements, bounded by dropping everything when full.
type regexCache struct {
	mu sync.Mutex
	m  map[string]*regexp.Regexp
}

func (c *regexCache) get(p string, fold bool) (*regexp.Regexp, error) {
	c.mu.Lock()
	re, ok := c.m[p]
	c.mu.Unlock()
	if ok {
		return re, nil
	}
	re, err := compileRegex(p, fold)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= patternCacheSize {
		c.m = make(map[string]*regexp.Regexp)
	}
	c.m[p] = re
	c.mu.Unlock()
	return re, nil
}

func registerRegex(r *kernels.Registry) {
	type form struct {
		name         string
		fold, negate bool
	}
	forms := []form{{"~", false, false}, {"!~", false, true}, {"~*", true, false}, {"!~*", true, true}}
	for _, f := range forms {
		for _, left := range []types.T{types.TextT, types.BpcharT, types.NameT} {
			f := f
			cache := &regexCache{}
			add(r, f.name, targs(left, types.TextT), types.BoolT,
				func(_ *kernels.EvalContext, args []types.Datum) (types.Datum, error) {
					if len(args) != 2 {
						return nil, internalArg(f.name, args)
					}
					s, ok1 := args[0].(string)
					p, ok2 := args[1].(string)
					if !ok1 || !ok2 {
						return nil, pgerror.Internal("%s: unexpected arguments %T, %T", f.name, args[0], args[1])
					}
					re, err := cache.get(p, f.fold)
					if err != nil {
						return nil, err
					}
					if f.fold {
						s = asciiLower(s)
					}
					return re.MatchString(s) != f.negate, nil
				},
				regexVec(cache, f.fold, f.negate))
		}
	}
}

// regexVec looks each run of equal consecutive patterns up once in the
// overload's cache (constants compile once for the life of the registry).
func regexVec(cache *regexCache, fold, negate bool) vecFn {
	return func(ctx *kernels.EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
		if err := checkArgs(args, n, 2); err != nil {
			return nil, err
		}
		so, sd, ok1 := varlen(args[0], n)
		po, pd, ok2 := varlen(args[1], n)
		if !ok1 || !ok2 {
			return nil, pgerror.Internal("regex: unexpected array layout")
		}
		var valid []byte
		vbuf, _ := validity(allocator(ctx), args, n)
		if vbuf != nil {
			valid = vbuf.Bytes()
			defer vbuf.Release()
		}
		var (
			lastP  string
			re     *regexp.Regexp
			errOut error
		)
		out := boolResult(ctx, args, n, func(out []byte) {
			for i := 0; i < n; i++ {
				if !isValid(valid, i) {
					continue
				}
				pb := pd[po[i]:po[i+1]]
				if re == nil || string(pb) != lastP {
					lastP = string(pb)
					var err error
					if re, err = cache.get(lastP, fold); err != nil {
						errOut = err
						return
					}
				}
				sb := sd[so[i]:so[i+1]]
				s := unsafe.String(unsafe.SliceData(sb), len(sb))
				if fold {
					s = asciiLower(s)
				}
				out[i>>3] |= b2u(re.MatchString(s) != negate) << (i & 7)
			}
		})
		if errOut != nil {
			out.Release()
			return nil, errOut
		}
		return out, nil
	}
}
