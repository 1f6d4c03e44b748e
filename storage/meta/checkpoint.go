package meta

import (
	"encoding/binary"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/sabotsql/sabotsql/sql/pgerror"
)

// Manifest is one checkpoint: the epoch every state table has persisted, the
// files that hold each state table's data as of that epoch, and where the
// sources and watermarks stood. Recovery = catalog + latest manifest +
// replay of the sources from Offsets.
type Manifest struct {
	Epoch      uint64
	Tables     []TableFiles
	Offsets    []SourceOffset
	Watermarks []Watermark
}

// TableFiles lists the files (paths relative to the data directory, as the
// storage engine names them) that make up one state table.
type TableFiles struct {
	TableID uint64
	Files   []string
}

// SourceOffset is a source's position in one of its splits (a Kafka
// partition, a file, …). Offset is opaque to the store.
type SourceOffset struct {
	SourceID uint64
	Split    string
	Offset   []byte
}

// Watermark is the event-time watermark of one column of an object, in the
// column's integer representation (e.g. microseconds).
type Watermark struct {
	ObjectID uint64
	Column   string
	Value    int64
}

// manifestCodec is the version of the manifest payload layout (the first
// uvarint of the payload).
const manifestCodec = 1

// encodeManifest lays a manifest out as
//
//	uvarint codec(=1) | uvarint epoch
//	uvarint nTables  { uvarint tableID | uvarint nFiles { bytes file } }
//	uvarint nOffsets { uvarint sourceID | bytes split | bytes offset }
//	uvarint nMarks   { uvarint objectID | bytes column | varint value }
//
// where bytes = uvarint length + raw bytes.
func encodeManifest(m *Manifest) []byte {
	size := 32
	for _, t := range m.Tables {
		size += 12
		for _, f := range t.Files {
			size += len(f) + 2
		}
	}
	b := make([]byte, 0, size)
	b = binary.AppendUvarint(b, manifestCodec)
	b = binary.AppendUvarint(b, m.Epoch)
	b = binary.AppendUvarint(b, uint64(len(m.Tables)))
	for _, t := range m.Tables {
		b = binary.AppendUvarint(b, t.TableID)
		b = binary.AppendUvarint(b, uint64(len(t.Files)))
		for _, f := range t.Files {
			b = appendBytes(b, []byte(f))
		}
	}
	b = binary.AppendUvarint(b, uint64(len(m.Offsets)))
	for _, o := range m.Offsets {
		b = binary.AppendUvarint(b, o.SourceID)
		b = appendBytes(b, []byte(o.Split))
		b = appendBytes(b, o.Offset)
	}
	b = binary.AppendUvarint(b, uint64(len(m.Watermarks)))
	for _, w := range m.Watermarks {
		b = binary.AppendUvarint(b, w.ObjectID)
		b = appendBytes(b, []byte(w.Column))
		b = binary.AppendVarint(b, w.Value)
	}
	return b
}

func decodeManifest(key, payload []byte) (Manifest, error) {
	d := decoder{key: key, buf: payload}
	whole := string(payload)
	var m Manifest
	if c := d.uvarint("manifest codec"); d.err == nil && c != manifestCodec {
		return Manifest{}, corruptf(key, "unknown manifest codec version %d", c)
	}
	m.Epoch = d.uvarint("epoch")
	if d.err == nil && len(key) == 9 && binary.BigEndian.Uint64(key[1:]) != m.Epoch {
		return Manifest{}, corruptf(key, "manifest epoch %d does not match its key", m.Epoch)
	}
	if n := d.count("table count", 2); n > 0 {
		m.Tables = make([]TableFiles, n)
		for i := range m.Tables {
			t := &m.Tables[i]
			t.TableID = d.uvarint("table id")
			if nf := d.count("file count", 1); nf > 0 {
				t.Files = make([]string, nf)
				for j := range t.Files {
					t.Files[j] = d.str("file name", whole)
				}
			}
		}
	}
	if n := d.count("offset count", 3); n > 0 {
		m.Offsets = make([]SourceOffset, n)
		for i := range m.Offsets {
			o := &m.Offsets[i]
			o.SourceID = d.uvarint("source id")
			o.Split = d.str("split", whole)
			o.Offset = append([]byte(nil), d.bytes("offset")...)
		}
	}
	if n := d.count("watermark count", 3); n > 0 {
		m.Watermarks = make([]Watermark, n)
		for i := range m.Watermarks {
			w := &m.Watermarks[i]
			w.ObjectID = d.uvarint("object id")
			w.Column = d.str("column", whole)
			w.Value = d.varint("watermark")
		}
	}
	if err := d.done(); err != nil {
		return Manifest{}, err
	}
	return m, nil
}

// CommitCheckpoint durably records m as the latest checkpoint, in one synced
// batch, and deletes the manifests that fall out of the retained set (the
// newest Options.RetainCheckpoints). Call it only after every state table has
// persisted m.Epoch. m.Epoch must be above the latest checkpoint's epoch
// (ErrStaleEpoch otherwise).
//
// On error the checkpoint may or may not be durable: the store reopens from
// disk and LatestCheckpoint then tells which; either the whole manifest is
// visible or none of it.
func (s *Store) CommitCheckpoint(m Manifest) error {
	if err := s.writeLock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	lower, upper := sectionBounds(prefixManifest)
	var epochs []uint64
	it, err := s.db.NewIter(nil)
	if err != nil {
		return ioError("list checkpoints", err)
	}
	it.SetBounds(lower, upper)
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		if len(k) != 9 {
			_ = it.Close()
			return corruptf(k, "manifest key of %d bytes", len(k))
		}
		epochs = append(epochs, binary.BigEndian.Uint64(k[1:]))
	}
	if err := it.Close(); err != nil {
		return ioError("list checkpoints", err)
	}
	if n := len(epochs); n > 0 && epochs[n-1] >= m.Epoch {
		return pgerror.Wrap(fmt.Errorf("%w: epoch %d, latest %d", ErrStaleEpoch, m.Epoch, epochs[n-1]),
			pgerror.ObjectNotInPrerequisiteState, "storage/meta: commit checkpoint")
	}
	b := s.db.NewBatch()
	defer b.Close()
	key := manifestKey(m.Epoch)
	if err := b.Set(key, seal(key, encodeManifest(&m)), nil); err != nil {
		return ioError("commit checkpoint", err)
	}
	// Keep the newest RetainCheckpoints-1 old manifests beside the new one.
	if drop := len(epochs) - (s.opts.RetainCheckpoints - 1); drop > 0 {
		for _, e := range epochs[:drop] {
			if err := b.Delete(manifestKey(e), nil); err != nil {
				return ioError("commit checkpoint", err)
			}
		}
	}
	return s.commitLocked(b, fmt.Sprintf("commit checkpoint %d", m.Epoch))
}

// LatestCheckpoint returns the newest committed manifest, or false when no
// checkpoint was ever committed.
func (s *Store) LatestCheckpoint() (Manifest, bool, error) {
	if _, err := s.readDB(); err != nil {
		return Manifest{}, false, err
	}
	defer s.mu.RUnlock()
	lower, upper := sectionBounds(prefixManifest)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return Manifest{}, false, ioError("read latest checkpoint", err)
	}
	defer it.Close()
	if !it.Last() {
		if err := it.Error(); err != nil {
			return Manifest{}, false, ioError("read latest checkpoint", err)
		}
		return Manifest{}, false, nil
	}
	key := append([]byte(nil), it.Key()...)
	v, err := it.ValueAndErr()
	if err != nil {
		return Manifest{}, false, ioError("read "+fmtKey(key), err)
	}
	payload, err := unseal(key, v)
	if err != nil {
		return Manifest{}, false, err
	}
	m, err := decodeManifest(key, payload)
	if err != nil {
		return Manifest{}, false, err
	}
	return m, true, nil
}

// Checkpoints returns the retained manifests, oldest first.
func (s *Store) Checkpoints() ([]Manifest, error) {
	if _, err := s.readDB(); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	lower, upper := sectionBounds(prefixManifest)
	var ms []Manifest
	err := s.scanLocked(lower, upper, func(key, payload []byte) error {
		m, err := decodeManifest(key, payload)
		if err != nil {
			return err
		}
		ms = append(ms, m)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ms, nil
}

// LiveFiles returns the set of files referenced by any retained manifest. A
// storage engine's garbage collector may delete a file of its own that is in
// neither this set nor its in-progress (not yet checkpointed) work.
func (s *Store) LiveFiles() (map[string]struct{}, error) {
	ms, err := s.Checkpoints()
	if err != nil {
		return nil, err
	}
	live := map[string]struct{}{}
	for _, m := range ms {
		for _, t := range m.Tables {
			for _, f := range t.Files {
				live[f] = struct{}{}
			}
		}
	}
	return live, nil
}
