package meta

import (
	"encoding/binary"
	"iter"
	"math"
)

// Timer is a durable timer owned by a view (an MV or operator): at event or
// processing time FireAt the owner acts on Key (closes a window, expires a
// session, …).
type Timer struct {
	ViewID uint64
	Key    []byte
	FireAt int64
}

// PutTimer sets the timer (viewID, key) to fire at fireAt, replacing any
// earlier setting of the same timer, in one synced batch.
func (s *Store) PutTimer(viewID uint64, key []byte, fireAt int64) error {
	if err := s.writeLock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	ok := timerOwnerKey(viewID, key)
	old, found, err := s.timerFireAtLocked(ok)
	if err != nil {
		return err
	}
	b := s.db.NewBatch()
	defer b.Close()
	if found && old != fireAt {
		if err := b.Delete(timerDueKey(old, viewID, key), nil); err != nil {
			return ioError("put timer", err)
		}
	}
	dk := timerDueKey(fireAt, viewID, key)
	if err := b.Set(dk, seal(dk, nil), nil); err != nil {
		return ioError("put timer", err)
	}
	if err := b.Set(ok, seal(ok, binary.AppendVarint(nil, fireAt)), nil); err != nil {
		return ioError("put timer", err)
	}
	return s.commitLocked(b, "put timer")
}

// DeleteTimer removes the timer (viewID, key); a missing timer is not an
// error.
func (s *Store) DeleteTimer(viewID uint64, key []byte) error {
	if err := s.writeLock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	ok := timerOwnerKey(viewID, key)
	old, found, err := s.timerFireAtLocked(ok)
	if err != nil || !found {
		return err
	}
	b := s.db.NewBatch()
	defer b.Close()
	if err := b.Delete(timerDueKey(old, viewID, key), nil); err != nil {
		return ioError("delete timer", err)
	}
	if err := b.Delete(ok, nil); err != nil {
		return ioError("delete timer", err)
	}
	return s.commitLocked(b, "delete timer")
}

func (s *Store) timerFireAtLocked(ownerKey []byte) (int64, bool, error) {
	payload, found, err := s.getLocked(ownerKey)
	if err != nil || !found {
		return 0, false, err
	}
	d := decoder{key: ownerKey, buf: payload}
	v := d.varint("timer fire time")
	if err := d.done(); err != nil {
		return 0, false, err
	}
	return v, true, nil
}

// DueTimers returns the timers with FireAt <= upTo, ordered by FireAt, then
// view id, then key. Like Objects, the sequence is a snapshot read when
// iteration starts; the loop body may delete the timers it handles. On error
// it yields one (Timer{}, err) pair and stops.
func (s *Store) DueTimers(upTo int64) iter.Seq2[Timer, error] {
	return func(yield func(Timer, error) bool) {
		ts, err := s.dueTimers(upTo)
		if err != nil {
			yield(Timer{}, err)
			return
		}
		for _, t := range ts {
			if !yield(t, nil) {
				return
			}
		}
	}
}

func (s *Store) dueTimers(upTo int64) ([]Timer, error) {
	if _, err := s.readDB(); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	lower, upper := sectionBounds(prefixTimerByDue)
	if upTo < math.MaxInt64 {
		upper = make([]byte, 9)
		upper[0] = prefixTimerByDue
		binary.BigEndian.PutUint64(upper[1:], orderedInt64(upTo+1))
	}
	var ts []Timer
	err := s.scanLocked(lower, upper, func(key, _ []byte) error {
		if len(key) < 17 {
			return corruptf(key, "timer key of %d bytes", len(key))
		}
		ts = append(ts, Timer{
			FireAt: int64(binary.BigEndian.Uint64(key[1:9]) ^ (1 << 63)),
			ViewID: binary.BigEndian.Uint64(key[9:17]),
			Key:    key[17:],
		})
		return nil
	})
	return ts, err
}

// DeleteViewTimers removes every timer of viewID (e.g. when the view is
// dropped) in one synced batch and returns how many there were.
func (s *Store) DeleteViewTimers(viewID uint64) (int, error) {
	if err := s.writeLock(); err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	lower := timerOwnerKey(viewID, nil)
	var upper []byte
	if viewID == math.MaxUint64 {
		upper = []byte{prefixTimerByKey + 1}
	} else {
		upper = timerOwnerKey(viewID+1, nil)
	}
	b := s.db.NewBatch()
	defer b.Close()
	n := 0
	err := s.scanLocked(lower, upper, func(key, payload []byte) error {
		d := decoder{key: key, buf: payload}
		fireAt := d.varint("timer fire time")
		if err := d.done(); err != nil {
			return err
		}
		n++
		if err := b.Delete(timerDueKey(fireAt, viewID, key[9:]), nil); err != nil {
			return ioError("delete view timers", err)
		}
		if err := b.Delete(key, nil); err != nil {
			return ioError("delete view timers", err)
		}
		return nil
	})
	if err != nil || n == 0 {
		return 0, err
	}
	if err := s.commitLocked(b, "delete view timers"); err != nil {
		return 0, err
	}
	return n, nil
}
