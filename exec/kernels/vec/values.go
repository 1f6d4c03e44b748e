package vec

import (
	"github.com/apache/arrow-go/v18/arrow"
)

// Values returns arr's fixed-width value slice reinterpreted as T (len =
// arr.Len(), offset applied). T must have the Arrow type's width; values of
// NULL rows are unspecified.
func Values[T arrow.FixedWidthType](arr arrow.Array) []T { return values[T](arr) }

// Validity returns arr's validity bitmap and the bit offset of row 0, or a
// nil bitmap when arr has no NULLs (test bits with bitutil.BitIsSet).
func Validity(arr arrow.Array) ([]byte, int) { return validity(arr) }

// BinaryParts returns the absolute value offsets (arr.Len()+1 entries) and
// the data buffer of a Utf8 or Binary array: row i is data[offs[i]:offs[i+1]].
func BinaryParts(arr arrow.Array) ([]int32, []byte) { return binaryParts(arr) }
