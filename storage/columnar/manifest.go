package columnar

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/crc32"
	"io"
	"io/fs"

	"github.com/sabotsql/sabotsql/storage/columnar/vfs"
)

// Manifest is the durable description of a table: its live runs (newest
// first), its range deletions and the epoch it is durable up to.
type Manifest struct {
	DurableEpoch uint64     `json:"durable_epoch"`
	NextFileID   uint64     `json:"next_file_id"`
	Runs         []runInfo  `json:"runs"`
	RangeDels    []rangeDel `json:"range_dels"`
}

// ManifestStore persists manifests. storage/meta (Pebble) will provide one;
// FileManifestStore keeps it in a file of the table's FS meanwhile.
type ManifestStore interface {
	// Load returns the last stored manifest; ok is false if none exists.
	Load(ctx context.Context) (m Manifest, ok bool, err error)
	// Store durably replaces the manifest. When it returns nil, a later Load
	// returns m even after a crash; when it fails, Load returns either the
	// old or the new manifest.
	Store(ctx context.Context, m Manifest) error
}

// FileManifestStore stores the manifest as MANIFEST in an FS: JSON followed
// by a CRC32C, written to a temporary file, synced and renamed into place.
type FileManifestStore struct{ FS vfs.FS }

const manifestName = "MANIFEST"

// Load implements ManifestStore.
func (s FileManifestStore) Load(ctx context.Context) (Manifest, bool, error) {
	f, err := s.FS.Open(manifestName)
	if errors.Is(err, fs.ErrNotExist) {
		return Manifest{}, false, nil
	}
	if err != nil {
		return Manifest{}, false, ioErr(err, "open", manifestName)
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return Manifest{}, false, ioErr(err, "stat", manifestName)
	}
	if size < 4 || size > maxMetaSize {
		return Manifest{}, false, corruptf(manifestName, "size %d", size)
	}
	data := make([]byte, size)
	if _, err := f.ReadAt(data, 0); err != nil && !errors.Is(err, io.EOF) {
		return Manifest{}, false, ioErr(err, "read", manifestName)
	}
	body, sum := data[:len(data)-4], binary.LittleEndian.Uint32(data[len(data)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return Manifest{}, false, corruptf(manifestName, "checksum mismatch")
	}
	var m Manifest
	if err := json.Unmarshal(body, &m); err != nil {
		return Manifest{}, false, corruptf(manifestName, "%v", err)
	}
	return m, true, nil
}

// Store implements ManifestStore.
func (s FileManifestStore) Store(ctx context.Context, m Manifest) error {
	body, err := json.Marshal(m)
	if err != nil {
		return err
	}
	body = binary.LittleEndian.AppendUint32(body, crc32.Checksum(body, castagnoli))
	const tmp = manifestName + ".tmp"
	f, err := s.FS.Create(tmp)
	if err != nil {
		return ioErr(err, "create", tmp)
	}
	if _, err := f.Write(body); err != nil {
		_ = f.Close()
		_ = s.FS.Remove(tmp)
		return ioErr(err, "write", tmp)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		_ = s.FS.Remove(tmp)
		return ioErr(err, "sync", tmp)
	}
	if err := f.Close(); err != nil {
		return ioErr(err, "close", tmp)
	}
	if err := s.FS.Rename(tmp, manifestName); err != nil {
		return ioErr(err, "rename", tmp)
	}
	if err := s.FS.SyncDir(); err != nil {
		return ioErr(err, "sync directory for", manifestName)
	}
	return nil
}
