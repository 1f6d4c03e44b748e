package ops

import (
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

type likeTokKind uint8

const (
	tokLit    likeTokKind = iota // one literal character
	tokOne                       // _
	tokMany                      // %
	tokBadEsc                    // a trailing escape: an error once reached with input left
)

type likeTok struct {
	kind likeTokKind
	r    rune
	b    byte // literal byte for byte-wise (bytea) patterns
}

// likePattern is a compiled LIKE pattern. Simple shapes (no _, % only at
// the ends) are matched with strings functions.
type likePattern struct {
	toks  []likeTok
	fold  bool // ILIKE: input is lower-cased before matching
	bytes bool // bytea: match bytes, not characters
	// shape of a pattern made of one literal run: exact, prefix%, %suffix, %infix%.
	simple     bool
	lit        string
	lead, tail bool // % before / after lit
}

func errLikeEscape() error {
	return pgerror.New(pgerror.InvalidEscapeSequence, "LIKE pattern must not end with escape character")
}

// compileLike parses a pattern with the default escape '\'.
func compileLike(p string, fold, byteWise bool) (*likePattern, error) {
	if fold {
		p = asciiLower(p)
	}
	lp := &likePattern{fold: fold, bytes: byteWise}
	for i := 0; i < len(p); {
		c := p[i]
		switch {
		case c == '\\':
			if i+1 >= len(p) {
				// PostgreSQL reports this only when matching reaches it.
				lp.toks = append(lp.toks, likeTok{kind: tokBadEsc})
				i++
				continue
			}
			i++
			lp.appendLit(p, &i)
		case c == '%':
			if n := len(lp.toks); n == 0 || lp.toks[n-1].kind != tokMany {
				lp.toks = append(lp.toks, likeTok{kind: tokMany})
			}
			i++
		case c == '_':
			lp.toks = append(lp.toks, likeTok{kind: tokOne})
			i++
		default:
			lp.appendLit(p, &i)
		}
	}
	lp.classify()
	return lp, nil
}

func (lp *likePattern) appendLit(p string, i *int) {
	if lp.bytes {
		lp.toks = append(lp.toks, likeTok{kind: tokLit, b: p[*i]})
		*i++
		return
	}
	r, w := utf8.DecodeRuneInString(p[*i:])
	if r == utf8.RuneError && w == 1 {
		lp.toks = append(lp.toks, likeTok{kind: tokLit, r: -1, b: p[*i]})
	} else {
		lp.toks = append(lp.toks, likeTok{kind: tokLit, r: r})
	}
	*i += w
}

func (lp *likePattern) classify() {
	toks := lp.toks
	if len(toks) > 0 && toks[0].kind == tokMany {
		lp.lead = true
		toks = toks[1:]
	}
	if len(toks) > 0 && toks[len(toks)-1].kind == tokMany {
		lp.tail = true
		toks = toks[:len(toks)-1]
	}
	var sb strings.Builder
	for _, t := range toks {
		if t.kind != tokLit {
			return
		}
		if lp.bytes || t.r < 0 {
			sb.WriteByte(t.b)
		} else {
			sb.WriteRune(t.r)
		}
	}
	lp.simple = true
	lp.lit = sb.String()
}

// asciiLower folds ASCII letters only, as PostgreSQL's ILIKE does under
// the C locale.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

func (lp *likePattern) match(s string) (bool, error) {
	if lp.fold {
		s = asciiLower(s)
	}
	if lp.simple {
		switch {
		case lp.lead && lp.tail:
			return strings.Contains(s, lp.lit), nil
		case lp.lead:
			return strings.HasSuffix(s, lp.lit), nil
		case lp.tail:
			return strings.HasPrefix(s, lp.lit), nil
		}
		return s == lp.lit, nil
	}
	return lp.matchGeneral(s)
}

// next decodes one unit (character, or byte for bytea) of s at i.
func (lp *likePattern) next(s string, i int) (rune, byte, int) {
	if lp.bytes {
		return -1, s[i], 1
	}
	r, w := utf8.DecodeRuneInString(s[i:])
	if r == utf8.RuneError && w == 1 {
		return -1, s[i], 1
	}
	return r, 0, w
}

// matchGeneral is the classic wildcard match with backtracking to the last
// %: linear in practice, O(len(s)·len(p)) at worst.
func (lp *likePattern) matchGeneral(s string) (bool, error) {
	p := lp.toks
	pi, si := 0, 0
	starP, starS := -1, 0
	for si < len(s) {
		if pi < len(p) {
			t := p[pi]
			switch t.kind {
			case tokMany:
				starP, starS = pi, si
				pi++
				continue
			case tokBadEsc:
				return false, errLikeEscape()
			case tokOne:
				_, _, w := lp.next(s, si)
				pi++
				si += w
				continue
			default:
				r, b, w := lp.next(s, si)
				if (r >= 0 && t.r == r) || (r < 0 && t.r < 0 && t.b == b) || (lp.bytes && t.b == b) {
					pi++
					si += w
					continue
				}
			}
		}
		if starP < 0 {
			return false, nil
		}
		_, _, w := lp.next(s, starS)
		starS += w
		pi, si = starP+1, starS
	}
	for pi < len(p) && p[pi].kind == tokMany {
		pi++
	}
	return pi == len(p), nil
}

// likeEscape rewrites a pattern written with escape character esc into one
// using the default escape '\' (PostgreSQL's like_escape).
func likeEscape(p, esc string) (string, error) {
	var sb strings.Builder
	if esc == "" {
		// No escape character: backslashes become literal.
		for i := 0; i < len(p); i++ {
			if p[i] == '\\' {
				sb.WriteByte('\\')
			}
			sb.WriteByte(p[i])
		}
		return sb.String(), nil
	}
	if utf8.RuneCountInString(esc) != 1 {
		return "", pgerror.New(pgerror.InvalidEscapeSequence, "invalid escape string").
			WithHint("Escape string must be empty or one character.")
	}
	if esc == "\\" {
		return p, nil
	}
	after := false
	for _, r := range p {
		switch {
		case string(r) == esc && !after:
			sb.WriteByte('\\')
			after = true
		case r == '\\':
			sb.WriteByte('\\')
			if !after {
				sb.WriteByte('\\')
			}
			after = false
		default:
			sb.WriteRune(r)
			after = false
		}
	}
	return sb.String(), nil
}

// likeCache memoises compiled patterns for one registered overload. It is
// shared by concurrent statements, hence the mutex; it is bounded by
// dropping everything when full (patterns are nearly always constants).
type likeCache struct {
	mu sync.Mutex
	m  map[string]*likePattern
}

const patternCacheSize = 256

func (c *likeCache) get(p string, fold, byteWise bool) (*likePattern, error) {
	c.mu.Lock()
	lp, ok := c.m[p]
	c.mu.Unlock()
	if ok {
		return lp, nil
	}
	lp, err := compileLike(p, fold, byteWise)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= patternCacheSize {
		c.m = make(map[string]*likePattern)
	}
	c.m[p] = lp
	c.mu.Unlock()
	return lp, nil
}

func datumBytesOrText(d types.Datum) (string, bool) {
	switch v := d.(type) {
	case string:
		return v, true
	case []byte:
		return string(v), true
	}
	return "", false
}

func registerLike(r *kernels.Registry) {
	type form struct {
		name         string
		fold, negate bool
	}
	forms := []form{{"~~", false, false}, {"!~~", false, true}, {"~~*", true, false}, {"!~~*", true, true}}
	argSets := [][2]types.T{
		{types.TextT, types.TextT}, {types.BpcharT, types.TextT}, {types.NameT, types.TextT}, {types.ByteaT, types.ByteaT},
	}
	for _, f := range forms {
		for _, as := range argSets {
			f, byteWise := f, as[0].Family == types.FamBytea
			if byteWise && f.fold {
				continue // PostgreSQL has no ILIKE on bytea
			}
			cache := &likeCache{}
			add(r, f.name, targs(as[0], as[1]), types.BoolT,
				func(_ *kernels.EvalContext, args []types.Datum) (types.Datum, error) {
					if len(args) != 2 {
						return nil, internalArg(f.name, args)
					}
					s, ok1 := datumBytesOrText(args[0])
					p, ok2 := datumBytesOrText(args[1])
					if !ok1 || !ok2 {
						return nil, pgerror.Internal("%s: unexpected arguments %T, %T", f.name, args[0], args[1])
					}
					lp, err := cache.get(p, f.fold, byteWise)
					if err != nil {
						return nil, err
					}
					m, err := lp.match(s)
					if err != nil {
						return nil, err
					}
					return m != f.negate, nil
				},
				likeVec(cache, f.fold, f.negate, byteWise))
			// Three-argument form: the pattern's explicit ESCAPE character.
			add(r, f.name, targs(as[0], as[1], as[1]), types.BoolT,
				func(_ *kernels.EvalContext, args []types.Datum) (types.Datum, error) {
					if len(args) != 3 {
						return nil, internalArg(f.name, args)
					}
					s, ok1 := datumBytesOrText(args[0])
					p, ok2 := datumBytesOrText(args[1])
					e, ok3 := datumBytesOrText(args[2])
					if !ok1 || !ok2 || !ok3 {
						return nil, pgerror.Internal("%s: unexpected arguments", f.name)
					}
					p, err := likeEscape(p, e)
					if err != nil {
						return nil, err
					}
					lp, err := cache.get(p, f.fold, byteWise)
					if err != nil {
						return nil, err
					}
					m, err := lp.match(s)
					if err != nil {
						return nil, err
					}
					return m != f.negate, nil
				}, nil)
		}
	}
	for _, t := range []types.T{types.TextT, types.ByteaT} {
		isBytea := t.Family == types.FamBytea
		add(r, "like_escape", targs(t, t), t, func(_ *kernels.EvalContext, args []types.Datum) (types.Datum, error) {
			if len(args) != 2 {
				return nil, internalArg("like_escape", args)
			}
			p, ok1 := datumBytesOrText(args[0])
			e, ok2 := datumBytesOrText(args[1])
			if !ok1 || !ok2 {
				return nil, pgerror.Internal("like_escape: unexpected arguments %T, %T", args[0], args[1])
			}
			out, err := likeEscape(p, e)
			if err != nil {
				return nil, err
			}
			if isBytea {
				return []byte(out), nil
			}
			return out, nil
		}, nil)
	}
}

// likeVec matches a string column against a pattern column. Each run of
// equal consecutive patterns (a constant arrives as one value repeated n
// times) is looked up once in the overload's cache, so a constant pattern
// is compiled once for the life of the registry.
func likeVec(cache *likeCache, fold, negate, byteWise bool) vecFn {
	return func(ctx *kernels.EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
		if err := checkArgs(args, n, 2); err != nil {
			return nil, err
		}
		so, sd, ok1 := varlen(args[0], n)
		po, pd, ok2 := varlen(args[1], n)
		if !ok1 || !ok2 {
			return nil, pgerror.Internal("LIKE: unexpected array layout")
		}
		var valid []byte
		vbuf, _ := validity(allocator(ctx), args, n)
		if vbuf != nil {
			valid = vbuf.Bytes()
			defer vbuf.Release()
		}
		var (
			lastP  string
			lp     *likePattern
			errOut error
		)
		out := boolResult(ctx, args, n, func(out []byte) {
			for i := 0; i < n; i++ {
				if !isValid(valid, i) {
					continue
				}
				pb := pd[po[i]:po[i+1]]
				if lp == nil || string(pb) != lastP {
					lastP = string(pb)
					var err error
					if lp, err = cache.get(lastP, fold, byteWise); err != nil {
						errOut = err
						return
					}
				}
				sb := sd[so[i]:so[i+1]]
				s := unsafe.String(unsafe.SliceData(sb), len(sb))
				m, err := lp.match(s)
				if err != nil {
					errOut = err
					return
				}
				out[i>>3] |= b2u(m != negate) << (i & 7)
			}
		})
		if errOut != nil {
			out.Release()
			return nil, errOut
		}
		return out, nil
	}
}
