package meta

import (
	"encoding/binary"
	"iter"
)

// Object is one catalog object: a table, source, MV, sink, type, … The
// catalog (sql/catalog) chooses the kinds and the payload encoding; the
// store keeps them opaque.
type Object struct {
	Kind    uint64
	ID      uint64
	Version uint64
	Payload []byte
}

// Batch collects catalog and settings changes that commit atomically (one
// synced Pebble batch), e.g. an MV and its state tables. A Batch is not safe
// for concurrent use; it may be committed once.
type Batch struct {
	s   *Store
	ops []batchOp
}

type batchOp struct {
	key   []byte
	value []byte // nil → delete
}

// NewBatch returns an empty Batch.
func (s *Store) NewBatch() *Batch { return &Batch{s: s} }

// PutObject records (kind, id) → (version, payload). payload is copied.
func (b *Batch) PutObject(kind, id, version uint64, payload []byte) {
	k := objectKey(kind, id)
	v := binary.AppendUvarint(nil, version)
	v = append(v, payload...)
	b.ops = append(b.ops, batchOp{key: k, value: seal(k, v)})
}

// DeleteObject removes (kind, id); deleting a missing object is not an error.
func (b *Batch) DeleteObject(kind, id uint64) {
	b.ops = append(b.ops, batchOp{key: objectKey(kind, id)})
}

// PutSetting records name → value. value is copied.
func (b *Batch) PutSetting(name string, value []byte) {
	k := settingKey(name)
	b.ops = append(b.ops, batchOp{key: k, value: seal(k, value)})
}

// DeleteSetting removes a setting.
func (b *Batch) DeleteSetting(name string) {
	b.ops = append(b.ops, batchOp{key: settingKey(name)})
}

// Len returns the number of recorded changes.
func (b *Batch) Len() int { return len(b.ops) }

// Commit applies every change atomically and durably. On error none or all
// of the changes may be durable; the store stays usable (see doc.go).
func (b *Batch) Commit() error {
	if len(b.ops) == 0 {
		return nil
	}
	if err := b.s.writeLock(); err != nil {
		return err
	}
	defer b.s.mu.Unlock()
	pb := b.s.db.NewBatch()
	defer pb.Close()
	for _, op := range b.ops {
		var err error
		if op.value == nil {
			err = pb.Delete(op.key, nil)
		} else {
			err = pb.Set(op.key, op.value, nil)
		}
		if err != nil {
			return ioError("batch", err)
		}
	}
	b.ops = nil
	return b.s.commitLocked(pb, "commit catalog batch")
}

// PutObject stores one object durably.
func (s *Store) PutObject(kind, id, version uint64, payload []byte) error {
	b := s.NewBatch()
	b.PutObject(kind, id, version, payload)
	return b.Commit()
}

// DeleteObject removes one object durably.
func (s *Store) DeleteObject(kind, id uint64) error {
	b := s.NewBatch()
	b.DeleteObject(kind, id)
	return b.Commit()
}

// GetObject returns the object (kind, id), if present.
func (s *Store) GetObject(kind, id uint64) (Object, bool, error) {
	if _, err := s.readDB(); err != nil {
		return Object{}, false, err
	}
	defer s.mu.RUnlock()
	k := objectKey(kind, id)
	payload, found, err := s.getLocked(k)
	if err != nil || !found {
		return Object{}, found, err
	}
	return decodeObject(k, payload)
}

func decodeObject(key, payload []byte) (Object, bool, error) {
	d := decoder{key: key, buf: payload}
	version := d.uvarint("object version")
	if d.err != nil {
		return Object{}, false, d.err
	}
	return Object{
		Kind:    binary.BigEndian.Uint64(key[1:9]),
		ID:      binary.BigEndian.Uint64(key[9:17]),
		Version: version,
		Payload: d.buf,
	}, true, nil
}

// Objects returns every object of kind in id order. The sequence is a
// snapshot read when iteration starts (the store's lock is not held while the
// caller's loop body runs, so the body may write to the store). On error the
// sequence yields one (Object{}, err) pair and stops.
func (s *Store) Objects(kind uint64) iter.Seq2[Object, error] {
	return func(yield func(Object, error) bool) {
		objs, err := s.objects(kind)
		if err != nil {
			yield(Object{}, err)
			return
		}
		for _, o := range objs {
			if !yield(o, nil) {
				return
			}
		}
	}
}

func (s *Store) objects(kind uint64) ([]Object, error) {
	if _, err := s.readDB(); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	lower, upper := objectKindBounds(kind)
	var objs []Object
	err := s.scanLocked(lower, upper, func(key, payload []byte) error {
		if len(key) != 17 {
			return corruptf(key, "object key of %d bytes", len(key))
		}
		o, _, err := decodeObject(key, payload)
		if err != nil {
			return err
		}
		objs = append(objs, o)
		return nil
	})
	return objs, err
}

// NextID allocates a new object id: ids start at 1, increase strictly and are
// never reused, even across restarts and failed writes after which the
// allocation may or may not have persisted (an id returned with a nil error
// is durable).
func (s *Store) NextID() (uint64, error) {
	if err := s.writeLock(); err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	payload, found, err := s.getLocked(idAllocKey)
	if err != nil {
		return 0, err
	}
	var last uint64
	if found {
		d := decoder{key: idAllocKey, buf: payload}
		last = d.uvarint("last id")
		if err := d.done(); err != nil {
			return 0, err
		}
	}
	next := last + 1
	if next == 0 {
		return 0, corruptf(idAllocKey, "id space exhausted")
	}
	b := s.db.NewBatch()
	defer b.Close()
	if err := b.Set(idAllocKey, seal(idAllocKey, encodeUvarint(next)), nil); err != nil {
		return 0, ioError("allocate id", err)
	}
	if err := s.commitLocked(b, "allocate id"); err != nil {
		return 0, err
	}
	return next, nil
}

// PutSetting stores one setting durably.
func (s *Store) PutSetting(name string, value []byte) error {
	b := s.NewBatch()
	b.PutSetting(name, value)
	return b.Commit()
}

// DeleteSetting removes one setting durably.
func (s *Store) DeleteSetting(name string) error {
	b := s.NewBatch()
	b.DeleteSetting(name)
	return b.Commit()
}

// Setting returns the value of a setting, if present.
func (s *Store) Setting(name string) ([]byte, bool, error) {
	if _, err := s.readDB(); err != nil {
		return nil, false, err
	}
	defer s.mu.RUnlock()
	return s.getLocked(settingKey(name))
}

// Settings returns every setting as name → value.
func (s *Store) Settings() (map[string][]byte, error) {
	if _, err := s.readDB(); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	lower, upper := sectionBounds(prefixSetting)
	out := map[string][]byte{}
	err := s.scanLocked(lower, upper, func(key, payload []byte) error {
		out[string(key[1:])] = payload
		return nil
	})
	return out, err
}
