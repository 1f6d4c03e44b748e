package meta

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"

	"github.com/sabotsql/sabotsql/sql/pgerror"
)

// Section prefixes: the first byte of every key names its section (see the
// key layout in doc.go). They are part of the on-disk format: never reuse or
// renumber one without bumping FormatVersion.
const (
	prefixFormat     byte = 0x00
	prefixObject     byte = 0x01
	prefixIDAlloc    byte = 0x02
	prefixManifest   byte = 0x03
	prefixTimerByDue byte = 0x04
	prefixTimerByKey byte = 0x05
	prefixSetting    byte = 0x06
)

// envelopeVersion is the first byte of every value.
const envelopeVersion byte = 1

// envelopeHeader is the version byte plus the CRC-32C.
const envelopeHeader = 1 + 4

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

var (
	formatKey  = []byte{prefixFormat, 'f', 'o', 'r', 'm', 'a', 't'}
	idAllocKey = []byte{prefixIDAlloc}
)

func objectKey(kind, id uint64) []byte {
	k := make([]byte, 17)
	k[0] = prefixObject
	binary.BigEndian.PutUint64(k[1:], kind)
	binary.BigEndian.PutUint64(k[9:], id)
	return k
}

// objectKindBounds returns [lower, upper) covering every object of kind.
func objectKindBounds(kind uint64) (lower, upper []byte) {
	lower = make([]byte, 9)
	lower[0] = prefixObject
	binary.BigEndian.PutUint64(lower[1:], kind)
	if kind == math.MaxUint64 {
		return lower, []byte{prefixObject + 1}
	}
	upper = make([]byte, 9)
	upper[0] = prefixObject
	binary.BigEndian.PutUint64(upper[1:], kind+1)
	return lower, upper
}

func manifestKey(epoch uint64) []byte {
	k := make([]byte, 9)
	k[0] = prefixManifest
	binary.BigEndian.PutUint64(k[1:], epoch)
	return k
}

// orderedInt64 maps an int64 to a uint64 whose big-endian bytes sort in the
// int64's order (flip the sign bit).
func orderedInt64(v int64) uint64 { return uint64(v) ^ (1 << 63) }

func timerDueKey(fireAt int64, viewID uint64, key []byte) []byte {
	k := make([]byte, 17, 17+len(key))
	k[0] = prefixTimerByDue
	binary.BigEndian.PutUint64(k[1:], orderedInt64(fireAt))
	binary.BigEndian.PutUint64(k[9:], viewID)
	return append(k, key...)
}

func timerOwnerKey(viewID uint64, key []byte) []byte {
	k := make([]byte, 9, 9+len(key))
	k[0] = prefixTimerByKey
	binary.BigEndian.PutUint64(k[1:], viewID)
	return append(k, key...)
}

func settingKey(name string) []byte {
	k := make([]byte, 1, 1+len(name))
	k[0] = prefixSetting
	return append(k, name...)
}

// sectionBounds returns [lower, upper) covering a whole section.
func sectionBounds(prefix byte) (lower, upper []byte) {
	return []byte{prefix}, []byte{prefix + 1}
}

// seal wraps payload in the value envelope:
//
//	[version:1][crc32c(key || payload):4 little-endian][payload]
//
// The checksum covers the key so a value that lands under the wrong key is
// detected as well as a damaged one.
func seal(key, payload []byte) []byte {
	v := make([]byte, envelopeHeader+len(payload))
	v[0] = envelopeVersion
	crc := crc32.Update(crc32.Checksum(key, castagnoli), castagnoli, payload)
	binary.LittleEndian.PutUint32(v[1:], crc)
	copy(v[envelopeHeader:], payload)
	return v
}

// open verifies the envelope of value stored under key and returns a copy of
// the payload. A failure is a corruption error naming the key.
func unseal(key, value []byte) ([]byte, error) {
	if len(value) < envelopeHeader {
		return nil, corruptf(key, "value of %d bytes is shorter than its %d-byte header", len(value), envelopeHeader)
	}
	if value[0] != envelopeVersion {
		return nil, corruptf(key, "unknown value envelope version %d", value[0])
	}
	payload := value[envelopeHeader:]
	want := binary.LittleEndian.Uint32(value[1:])
	got := crc32.Update(crc32.Checksum(key, castagnoli), castagnoli, payload)
	if want != got {
		return nil, corruptf(key, "checksum mismatch (stored %08x, computed %08x)", want, got)
	}
	out := make([]byte, len(payload))
	copy(out, payload)
	return out, nil
}

// ErrCorrupt is wrapped by every error that reports damaged metadata.
var ErrCorrupt = errors.New("corrupt metadata")

// corruptf returns an XX001 error naming the key.
func corruptf(key []byte, format string, args ...any) error {
	cause := fmt.Errorf("%w: key %s: %s", ErrCorrupt, fmtKey(key), fmt.Sprintf(format, args...))
	return pgerror.Wrap(cause, pgerror.DataCorrupted, "storage/meta")
}

// fmtKey renders a key for error messages: the section name and the rest in
// hex.
func fmtKey(key []byte) string {
	if len(key) == 0 {
		return "<empty>"
	}
	names := map[byte]string{
		prefixFormat: "format", prefixObject: "object", prefixIDAlloc: "idalloc",
		prefixManifest: "manifest", prefixTimerByDue: "timer-due", prefixTimerByKey: "timer-key",
		prefixSetting: "setting",
	}
	name, ok := names[key[0]]
	if !ok {
		name = fmt.Sprintf("unknown(%#02x)", key[0])
	}
	return fmt.Sprintf("%s/%x", name, key[1:])
}

// decoder reads the uvarint/varint/length-prefixed fields of a payload. The
// first error sticks; callers check err once at the end.
type decoder struct {
	key []byte
	buf []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = corruptf(d.key, "truncated or malformed %s", what)
	}
}

func (d *decoder) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.buf)
	if n <= 0 {
		d.fail(what)
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) varint(what string) int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.buf)
	if n <= 0 {
		d.fail(what)
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

// count reads a length that must be satisfiable by the remaining bytes given
// at least minSize bytes per element, so a damaged length cannot make the
// decoder allocate unbounded memory.
func (d *decoder) count(what string, minSize int) int {
	n := d.uvarint(what)
	if d.err != nil {
		return 0
	}
	if minSize < 1 {
		minSize = 1
	}
	if n > uint64(len(d.buf)/minSize) {
		d.fail(what)
		return 0
	}
	return int(n)
}

func (d *decoder) bytes(what string) []byte {
	n := d.count(what, 1)
	if d.err != nil {
		return nil
	}
	b := d.buf[:n:n]
	d.buf = d.buf[n:]
	return b
}

// str is bytes as a substring of whole, the payload decoding started from,
// so many strings share one allocation.
func (d *decoder) str(what, whole string) string {
	b := d.bytes(what)
	if d.err != nil || len(b) == 0 {
		return ""
	}
	end := len(whole) - len(d.buf)
	return whole[end-len(b) : end]
}

func (d *decoder) done() error {
	if d.err == nil && len(d.buf) != 0 {
		d.err = corruptf(d.key, "%d trailing bytes", len(d.buf))
	}
	return d.err
}

func appendBytes(b, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}
