package funcs

import (
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// encodeBytes implements encode(bytea, format) for hex, base64 and escape.
func encodeBytes(b []byte, format string) (types.Datum, error) {
	switch strings.ToLower(format) {
	case "hex":
		return toHexBytes(b), nil
	case "base64":
		enc := base64.StdEncoding.EncodeToString(b)
		// PostgreSQL breaks base64 output into lines of 76 characters.
		if len(enc) <= 76 {
			return enc, nil
		}
		var sb strings.Builder
		for len(enc) > 76 {
			sb.WriteString(enc[:76])
			sb.WriteByte('\n')
			enc = enc[76:]
		}
		sb.WriteString(enc)
		return sb.String(), nil
	case "escape":
		var sb strings.Builder
		for _, c := range b {
			switch {
			case c == '\\':
				sb.WriteString(`\\`)
			case c == 0 || c >= 0x80:
				fmt.Fprintf(&sb, `\%03o`, c)
			default:
				sb.WriteByte(c)
			}
		}
		return sb.String(), nil
	}
	return nil, errf(pgerror.InvalidParameterValue, "unrecognized encoding: \"%s\"", format)
}

func toHexBytes(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 2*len(b))
	for i, c := range b {
		out[2*i] = digits[c>>4]
		out[2*i+1] = digits[c&15]
	}
	return string(out)
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

func isSpaceByte(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// decodeText implements decode(text, format).
func decodeText(s, format string) (types.Datum, error) {
	switch strings.ToLower(format) {
	case "hex":
		out := make([]byte, 0, len(s)/2)
		for i := 0; i < len(s); {
			if isSpaceByte(s[i]) {
				i++
				continue
			}
			hi := hexVal(s[i])
			if hi < 0 {
				return nil, errf(pgerror.InvalidParameterValue, "invalid hexadecimal digit: \"%s\"", firstChar(s[i:]))
			}
			if i+1 >= len(s) {
				return nil, errf(pgerror.InvalidParameterValue, "invalid hexadecimal data: odd number of digits")
			}
			lo := hexVal(s[i+1])
			if lo < 0 {
				return nil, errf(pgerror.InvalidParameterValue, "invalid hexadecimal digit: \"%s\"", firstChar(s[i+1:]))
			}
			out = append(out, byte(hi<<4|lo))
			i += 2
		}
		return out, nil
	case "base64":
		clean := make([]byte, 0, len(s))
		for i := 0; i < len(s); i++ {
			c := s[i]
			if isSpaceByte(c) {
				continue
			}
			if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=') {
				return nil, errf(pgerror.InvalidParameterValue, "invalid symbol \"%s\" found while decoding base64 sequence", firstChar(s[i:]))
			}
			clean = append(clean, c)
		}
		if len(clean)%4 != 0 {
			return nil, errf(pgerror.InvalidParameterValue, "invalid base64 end sequence").WithHint("Input data is missing padding, is truncated, or is otherwise corrupted.")
		}
		out, err := base64.StdEncoding.DecodeString(string(clean))
		if err != nil {
			return nil, errf(pgerror.InvalidParameterValue, "invalid base64 end sequence")
		}
		return out, nil
	case "escape":
		out := make([]byte, 0, len(s))
		for i := 0; i < len(s); {
			c := s[i]
			if c != '\\' {
				out = append(out, c)
				i++
				continue
			}
			if i+1 < len(s) && s[i+1] == '\\' {
				out = append(out, '\\')
				i += 2
				continue
			}
			if i+3 < len(s) && isOct(s[i+1]) && s[i+1] <= '3' && isOct(s[i+2]) && isOct(s[i+3]) {
				out = append(out, (s[i+1]-'0')<<6|(s[i+2]-'0')<<3|(s[i+3]-'0'))
				i += 4
				continue
			}
			return nil, errf(pgerror.InvalidTextRepresentation, "invalid input syntax for type bytea")
		}
		return out, nil
	}
	return nil, errf(pgerror.InvalidParameterValue, "unrecognized encoding: \"%s\"", format)
}

func isOct(c byte) bool { return c >= '0' && c <= '7' }

func firstChar(s string) string {
	for _, r := range s {
		return string(r)
	}
	return ""
}
