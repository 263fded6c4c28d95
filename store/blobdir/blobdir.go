package blobdir

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/wxlogin/wxlogin"
)

var _ wxlogin.BlobStore = (*Store)(nil)

// magic is the first line of every blob file: it names the format and its
// version, so that a foreign or future file is refused rather than misread.
const magic = "wxlogin-blob 1\n"

// maxIDLen bounds ids well below every filesystem's name limit.
const maxIDLen = 128

// header is the JSON line after magic.
type header struct {
	ContentType string `json:"content_type"`
	// CreatedAt is in Unix microseconds, the precision every wxlogin store
	// keeps (see package storetest).
	CreatedAt int64 `json:"created_at_us"`
}

// Store keeps blobs as files in one directory. It is safe for concurrent
// use, also by several processes sharing the directory.
type Store struct {
	dir string
}

// New returns a Store on dir, creating the directory (mode 0700) if needed.
func New(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("blobdir: a directory is required")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("blobdir: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("blobdir: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("blobdir: %s is not a directory", dir)
	}
	return &Store{dir: dir}, nil
}

// Dir returns the directory of the store.
func (s *Store) Dir() string { return s.dir }

// ValidID reports whether id may name a blob: 1 to 128 characters of
// [A-Za-z0-9_-].
func ValidID(id string) bool {
	if id == "" || len(id) > maxIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func invalidID(id string) error {
	return wxlogin.Errorf(wxlogin.EInvalidRequest, "invalid blob id %q", id)
}

func (s *Store) path(id string) string { return filepath.Join(s.dir, id+".blob") }

// PutBlob implements wxlogin.BlobStore: it stores b, replacing any blob with
// the same id, atomically and durably (see the package comment).
func (s *Store) PutBlob(ctx context.Context, b wxlogin.Blob) (err error) {
	if !ValidID(b.ID) {
		return invalidID(b.ID)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	file, err := encode(b)
	if err != nil {
		return fmt.Errorf("blobdir: put %s: %w", b.ID, err)
	}
	f, err := os.CreateTemp(s.dir, ".tmp-"+b.ID+"-*")
	if err != nil {
		return fmt.Errorf("blobdir: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(file); err != nil {
		return fmt.Errorf("blobdir: put %s: %w", b.ID, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("blobdir: put %s: %w", b.ID, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("blobdir: put %s: %w", b.ID, err)
	}
	if err := os.Rename(tmp, s.path(b.ID)); err != nil {
		return fmt.Errorf("blobdir: put %s: %w", b.ID, err)
	}
	if err := s.syncDir(); err != nil {
		return fmt.Errorf("blobdir: put %s: %w", b.ID, err)
	}
	return nil
}

// Blob implements wxlogin.BlobStore.
func (s *Store) Blob(ctx context.Context, id string) (wxlogin.Blob, error) {
	if !ValidID(id) {
		return wxlogin.Blob{}, wxlogin.Errorf(wxlogin.ENotFound, "blob not found")
	}
	if err := ctx.Err(); err != nil {
		return wxlogin.Blob{}, err
	}
	raw, err := os.ReadFile(s.path(id))
	if errors.Is(err, fs.ErrNotExist) {
		return wxlogin.Blob{}, wxlogin.Errorf(wxlogin.ENotFound, "blob not found")
	}
	if err != nil {
		return wxlogin.Blob{}, fmt.Errorf("blobdir: %w", err)
	}
	b, err := parse(raw)
	if err != nil {
		return wxlogin.Blob{}, fmt.Errorf("blobdir: blob %s: %w", id, err)
	}
	b.ID = id
	return b, nil
}

// encode returns the file of a blob: magic, the header line, the data.
// Avatars are small, so the file is built in memory and written at once.
func encode(b wxlogin.Blob) ([]byte, error) {
	h, err := json.Marshal(header{ContentType: b.ContentType, CreatedAt: b.CreatedAt.UnixMicro()})
	if err != nil {
		return nil, err
	}
	file := make([]byte, 0, len(magic)+len(h)+1+len(b.Data))
	file = append(file, magic...)
	file = append(file, h...)
	file = append(file, '\n')
	return append(file, b.Data...), nil
}

// errCorrupt reports a file that is not in the blob format.
var errCorrupt = errors.New("not a wxlogin blob file")

// parse decodes a blob file. The data it returns is a subslice of raw,
// which the caller owns.
func parse(raw []byte) (wxlogin.Blob, error) {
	rest, ok := bytes.CutPrefix(raw, []byte(magic))
	if !ok {
		return wxlogin.Blob{}, errCorrupt
	}
	line, data, ok := bytes.Cut(rest, []byte("\n"))
	if !ok {
		return wxlogin.Blob{}, errCorrupt
	}
	var h header
	if err := json.Unmarshal(line, &h); err != nil {
		return wxlogin.Blob{}, fmt.Errorf("%w: %v", errCorrupt, err)
	}
	return wxlogin.Blob{
		ContentType: h.ContentType,
		Data:        data,
		CreatedAt:   time.UnixMicro(h.CreatedAt).UTC(),
	}, nil
}

// DeleteBlob implements wxlogin.BlobStore.
func (s *Store) DeleteBlob(ctx context.Context, id string) error {
	if !ValidID(id) {
		return invalidID(id)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	err := os.Remove(s.path(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("blobdir: delete %s: %w", id, err)
	}
	if err := s.syncDir(); err != nil {
		return fmt.Errorf("blobdir: delete %s: %w", id, err)
	}
	return nil
}

// syncDir fsyncs the directory, making a rename or removal in it durable.
func (s *Store) syncDir() error {
	d, err := os.Open(s.dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		// Some platforms cannot fsync a directory (os.ErrInvalid); there
		// is nothing better to do there.
		return err
	}
	return nil
}
