package funcs

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode/utf8"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// maxAlloc bounds the size of strings functions build (PostgreSQL's 1 GB
// MaxAllocSize), so repeat/lpad fail with 54000 instead of exhausting memory.
const maxAlloc = 1<<30 - 1

var (
	textT  = types.TextT
	int4T  = types.Int4T
	int8T  = types.Int8T
	boolT  = types.BoolT
	byteaT = types.ByteaT
)

func (e *env) registerString() {
	for _, name := range []string{"length", "char_length", "character_length"} {
		e.strict(name, int4T, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
			return int64(utf8.RuneCountInString(str(a[0]))), nil
		}, textT).Vec = vecLength(false)
		e.strict(name, int4T, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
			return int64(utf8.RuneCountInString(strings.TrimRight(str(a[0]), " "))), nil
		}, types.BpcharT).Vec = vecLength(true)
	}
	e.strict("length", int4T, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		return int64(len(bytesArg(a[0]))), nil
	}, byteaT)
	for _, t := range []types.T{textT, types.BpcharT, byteaT} {
		e.strict("octet_length", int4T, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
			return int64(len(bytesArg(a[0]))), nil
		}, t)
		e.strict("bit_length", int4T, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
			return int64(8 * len(bytesArg(a[0]))), nil
		}, t)
	}
	e.strict("lower", textT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		return asciiLower(str(a[0])), nil
	}, textT).Vec = vecASCIICase(false)
	e.strict("upper", textT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		return asciiUpper(str(a[0])), nil
	}, textT).Vec = vecASCIICase(true)
	e.strict("initcap", textT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		return initcap(str(a[0])), nil
	}, textT)

	for _, name := range []string{"substr", "substring"} {
		e.strict(name, textT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
			return substr(str(a[0]), i64(a[1]), 0, false)
		}, textT, int4T).Vec = vecSubstr
		e.strict(name, textT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
			return substr(str(a[0]), i64(a[1]), i64(a[2]), true)
		}, textT, int4T, int4T).Vec = vecSubstr
		e.strict(name, byteaT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
			return substrBytes(bytesArg(a[0]), i64(a[1]), 0, false)
		}, byteaT, int4T)
		e.strict(name, byteaT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
			return substrBytes(bytesArg(a[0]), i64(a[1]), i64(a[2]), true)
		}, byteaT, int4T, int4T)
	}
	for _, name := range []string{"position", "strpos"} {
		e.strict(name, int4T, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
			return strpos(str(a[0]), str(a[1])), nil
		}, textT, textT)
	}
	trims := []struct {
		name        string
		left, right bool
	}{{"btrim", true, true}, {"ltrim", true, false}, {"rtrim", false, true}}
	for _, tr := range trims {
		tr := tr
		e.strict(tr.name, textT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
			return trimChars(str(a[0]), " ", tr.left, tr.right), nil
		}, textT)
		e.strict(tr.name, textT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
			return trimChars(str(a[0]), str(a[1]), tr.left, tr.right), nil
		}, textT, textT)
	}
	for _, left := range []bool{true, false} {
		left := left
		name := "rpad"
		if left {
			name = "lpad"
		}
		e.strict(name, textT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
			return pad(str(a[0]), i64(a[1]), " ", left)
		}, textT, int4T)
		e.strict(name, textT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
			return pad(str(a[0]), i64(a[1]), str(a[2]), left)
		}, textT, int4T, textT)
	}
	e.strict("left", textT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		return leftChars(str(a[0]), i64(a[1])), nil
	}, textT, int4T)
	e.strict("right", textT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		return rightChars(str(a[0]), i64(a[1])), nil
	}, textT, int4T)
	e.strict("repeat", textT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		s, n := str(a[0]), i64(a[1])
		if n <= 0 || s == "" {
			return "", nil
		}
		if n > maxAlloc/int64(len(s)) {
			return nil, errf(pgerror.ProgramLimitExceeded, "requested length too large")
		}
		return strings.Repeat(s, int(n)), nil
	}, textT, int4T)
	e.strict("replace", textT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		s, from := str(a[0]), str(a[1])
		if from == "" {
			return s, nil
		}
		return strings.ReplaceAll(s, from, str(a[2])), nil
	}, textT, textT, textT)
	e.strict("reverse", textT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		return reverseString(str(a[0])), nil
	}, textT)
	e.strict("split_part", textT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		return splitPart(str(a[0]), str(a[1]), i64(a[2]))
	}, textT, textT, int4T)
	e.strict("md5", textT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		sum := md5.Sum(bytesArg(a[0]))
		return hex.EncodeToString(sum[:]), nil
	}, textT)
	e.strict("md5", textT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		sum := md5.Sum(bytesArg(a[0]))
		return hex.EncodeToString(sum[:]), nil
	}, byteaT)
	e.strict("sha256", byteaT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		sum := sha256.Sum256(bytesArg(a[0]))
		return sum[:], nil
	}, byteaT)
	e.strict("ascii", int4T, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		s := str(a[0])
		if s == "" {
			return int64(0), nil
		}
		r, _ := utf8.DecodeRuneInString(s)
		return int64(r), nil
	}, textT)
	e.strict("chr", textT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		n := i64(a[0])
		switch {
		case n < 0:
			return nil, errf(pgerror.InvalidParameterValue, "character number must be positive")
		case n == 0:
			return nil, errf(pgerror.ProgramLimitExceeded, "null character not permitted")
		case n > utf8.MaxRune:
			return nil, errf(pgerror.ProgramLimitExceeded, "requested character too large for encoding: %d", n)
		case n >= 0xD800 && n <= 0xDFFF:
			return nil, errf(pgerror.ProgramLimitExceeded, "requested character not valid for encoding: %d", n)
		}
		return string(rune(n)), nil
	}, int4T)
	e.strict("translate", textT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		return translate(str(a[0]), str(a[1]), str(a[2])), nil
	}, textT, textT, textT)
	e.strict("starts_with", boolT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		return strings.HasPrefix(str(a[0]), str(a[1])), nil
	}, textT, textT)
	e.strict("to_hex", textT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		return toHex(uint64(uint32(int32(i64(a[0]))))), nil
	}, int4T)
	e.strict("to_hex", textT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		return toHex(uint64(i64(a[0]))), nil
	}, int8T)
	e.strict("encode", textT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		return encodeBytes(bytesArg(a[0]), str(a[1]))
	}, byteaT, textT)
	e.strict("decode", byteaT, func(_ *kernels.EvalContext, a []types.Datum) (types.Datum, error) {
		return decodeText(str(a[0]), str(a[1]))
	}, textT, textT)
}

func bytesArg(d types.Datum) []byte {
	switch v := d.(type) {
	case []byte:
		return v
	case string:
		return []byte(v)
	}
	return nil
}

func toHex(v uint64) string {
	const digits = "0123456789abcdef"
	var buf [16]byte
	i := len(buf)
	for {
		i--
		buf[i] = digits[v&15]
		v >>= 4
		if v == 0 {
			break
		}
	}
	return string(buf[i:])
}

// asciiLower lowercases ASCII letters only, as PostgreSQL does under the C
// collation; other characters are left alone.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			return string(asciiLowerAppend(make([]byte, 0, len(s)), s))
		}
	}
	return s
}

func asciiUpper(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'a' && c <= 'z' {
			return string(asciiUpperAppend(make([]byte, 0, len(s)), s))
		}
	}
	return s
}

func asciiLowerAppend(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

func asciiUpperAppend(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

func isASCIIAlnum(c byte) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

// initcap upper-cases the first letter of each run of ASCII alphanumerics
// and lower-cases the rest (C collation semantics).
func initcap(s string) string {
	b := make([]byte, len(s))
	prevAlnum := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if prevAlnum {
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
		} else if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		b[i] = c
		prevAlnum = isASCIIAlnum(s[i])
	}
	return string(b)
}

// substrRange computes PostgreSQL's substring window in 1-based character
// positions: the result is characters [from, to) clipped to the string;
// to < 0 means "to the end".
func substrRange(start, count int64, hasCount bool) (from, to int64, err error) {
	if !hasCount {
		if start < 1 {
			start = 1
		}
		return start, -1, nil
	}
	if count < 0 {
		return 0, 0, errf(codeSubstringError, "negative substring length not allowed")
	}
	end := start + count
	if end < start { // overflow: to the end
		return max(start, 1), -1, nil
	}
	if end <= 1 { // the window ends before the first character
		return 1, 1, nil
	}
	if start < 1 {
		start = 1
	}
	return start, end, nil
}

func substr(s string, start, count int64, hasCount bool) (types.Datum, error) {
	from, to, err := substrRange(start, count, hasCount)
	if err != nil {
		return nil, err
	}
	return substrChars(s, from, to), nil
}

// substrChars returns characters [from, to) (1-based; to < 0: to the end).
func substrChars(s string, from, to int64) string {
	if to >= 0 && to <= from {
		return ""
	}
	// Fast path for ASCII prefixes is implicit: walk runes only as far as needed.
	pos := int64(1)
	i := 0
	for i < len(s) && pos < from {
		if s[i] < utf8.RuneSelf {
			i++
		} else {
			_, w := utf8.DecodeRuneInString(s[i:])
			i += w
		}
		pos++
	}
	if pos < from {
		return ""
	}
	begin := i
	if to < 0 {
		return s[begin:]
	}
	for i < len(s) && pos < to {
		if s[i] < utf8.RuneSelf {
			i++
		} else {
			_, w := utf8.DecodeRuneInString(s[i:])
			i += w
		}
		pos++
	}
	return s[begin:i]
}

func substrBytes(b []byte, start, count int64, hasCount bool) (types.Datum, error) {
	from, to, err := substrRange(start, count, hasCount)
	if err != nil {
		return nil, err
	}
	n := int64(len(b))
	if from > n {
		return []byte{}, nil
	}
	if to < 0 || to > n+1 {
		to = n + 1
	}
	if to <= from {
		return []byte{}, nil
	}
	out := make([]byte, to-from)
	copy(out, b[from-1:to-1])
	return out, nil
}

// strpos returns the 1-based character position of sub in s, 0 if absent.
func strpos(s, sub string) int64 {
	i := strings.Index(s, sub)
	if i < 0 {
		return 0
	}
	return int64(utf8.RuneCountInString(s[:i])) + 1
}

func trimChars(s, chars string, left, right bool) string {
	if chars == "" {
		return s
	}
	if len(chars) == 1 && chars[0] < utf8.RuneSelf {
		if left {
			s = strings.TrimLeft(s, chars)
		}
		if right {
			s = strings.TrimRight(s, chars)
		}
		return s
	}
	in := func(r rune) bool { return strings.ContainsRune(chars, r) }
	if left {
		s = strings.TrimLeftFunc(s, in)
	}
	if right {
		s = strings.TrimRightFunc(s, in)
	}
	return s
}

func pad(s string, n int64, fill string, left bool) (types.Datum, error) {
	if n <= 0 {
		return "", nil
	}
	if n > maxAlloc/4 {
		return nil, errf(pgerror.ProgramLimitExceeded, "requested length too large")
	}
	l := int64(utf8.RuneCountInString(s))
	if l >= n || fill == "" {
		return substrChars(s, 1, n+1), nil
	}
	need := n - l
	var padding string
	if fr := utf8.RuneCountInString(fill); fr == len(fill) { // ASCII fill
		padding = strings.Repeat(fill, int(need)/len(fill)+1)[:need]
	} else {
		padding = substrChars(strings.Repeat(fill, int(need)/fr+1), 1, need+1)
	}
	if left {
		return padding + s, nil
	}
	return s + padding, nil
}

func leftChars(s string, n int64) string {
	if n >= 0 {
		return substrChars(s, 1, n+1)
	}
	l := int64(utf8.RuneCountInString(s))
	if -n >= l {
		return ""
	}
	return substrChars(s, 1, l+n+1)
}

func rightChars(s string, n int64) string {
	l := int64(utf8.RuneCountInString(s))
	if n >= 0 {
		if n >= l {
			return s
		}
		return substrChars(s, l-n+1, -1)
	}
	if -n >= l {
		return ""
	}
	return substrChars(s, -n+1, -1)
}

func reverseString(s string) string {
	b := make([]byte, 0, len(s))
	for i := len(s); i > 0; {
		_, w := utf8.DecodeLastRuneInString(s[:i])
		b = append(b, s[i-w:i]...)
		i -= w
	}
	return string(b)
}

func splitPart(s, delim string, n int64) (types.Datum, error) {
	if n == 0 {
		return nil, errf(pgerror.InvalidParameterValue, "field position must not be zero")
	}
	if s == "" {
		return "", nil
	}
	if delim == "" {
		if n == 1 || n == -1 {
			return s, nil
		}
		return "", nil
	}
	parts := strings.Split(s, delim)
	if n > 0 {
		if n > int64(len(parts)) {
			return "", nil
		}
		return parts[n-1], nil
	}
	if -n > int64(len(parts)) {
		return "", nil
	}
	return parts[int64(len(parts))+n], nil
}

func translate(s, from, to string) string {
	fr, tr := []rune(from), []rune(to)
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		idx := -1
		for i, f := range fr {
			if f == r {
				idx = i
				break
			}
		}
		switch {
		case idx < 0:
			b.WriteRune(r)
		case idx < len(tr):
			b.WriteRune(tr[idx])
		}
	}
	return b.String()
}
