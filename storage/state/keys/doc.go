// Package keys encodes typed Arrow key columns into byte strings whose
// bytewise order equals SQL ascending order (memcomparable keys), so state
// stores can sort, range-scan and compare keys as plain bytes.
//
// Each column contributes a marker byte (0x01 value, 0x02 NULL — NULLs sort
// last) followed, for values, by a self-delimiting body: integers big-endian
// with the sign bit flipped; floats as IEEE bits transformed so -Inf < … < -0
// = +0 < … < +Inf < NaN; booleans one byte; strings and binaries with 0x00
// escaped as 0x00 0xFF and terminated by 0x00 0x01; date32 as int32;
// timestamps and durations as int64; numeric text (arbitrary-precision
// decimals kept as Utf8) as sign class, decimal exponent and digits.
//
// Invariants:
//  1. For values a, b of one column type: compare(a, b) == bytes.Compare(enc(a), enc(b)).
//  2. Every body is self-delimiting, so a composite key orders by its first
//     column, then its second, and so on.
//  3. Values SQL treats as equal encode identically (-0 and 0, every NaN,
//     numerics differing only in trailing zeros).
//  4. Malformed numeric text is an error (22P02), never a panic.
package keys
