package blobdir

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/store/storetest"
)

func newStore(t *testing.T) *Store {
	t.Helper()
	s, err := New(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func TestBlobStore(t *testing.T) {
	t.Parallel()
	storetest.RunBlobStoreTests(t, func(t *testing.T) wxlogin.BlobStore { return newStore(t) })
}

func TestSharedBlobStore(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	storetest.RunBlobStoreTests(t, func(*testing.T) wxlogin.BlobStore { return s })
}

func TestInvalidIDs(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	s, err := New(filepath.Join(root, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	// A file next to the store that a traversal would reach.
	if err := os.WriteFile(filepath.Join(root, "secret.blob"), []byte("wxlogin-blob 1\n{}\nsecret"), 0o600); err != nil {
		t.Fatal(err)
	}
	ids := []string{
		"", ".", "..", "../secret", "..%2fsecret", "a/b", `a\b`, "/etc/passwd", "a.b",
		"a b", "a\x00b", "ä", "id\n", strings.Repeat("a", maxIDLen+1),
	}
	ctx := t.Context()
	for _, id := range ids {
		if ValidID(id) {
			t.Errorf("ValidID(%q) = true", id)
		}
		err := s.PutBlob(ctx, wxlogin.Blob{ID: id, ContentType: "image/png", Data: []byte("x")})
		if wxlogin.ErrorCode(err) != wxlogin.EInvalidRequest {
			t.Errorf("PutBlob(%q): %v, want invalid_request", id, err)
		}
		if err := s.DeleteBlob(ctx, id); wxlogin.ErrorCode(err) != wxlogin.EInvalidRequest {
			t.Errorf("DeleteBlob(%q): %v, want invalid_request", id, err)
		}
		if _, err := s.Blob(ctx, id); !errors.Is(err, wxlogin.ErrNotFound) {
			t.Errorf("Blob(%q): %v, want not found", id, err)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "secret.blob")); err != nil {
		t.Errorf("the file outside the store: %v", err)
	}
	checkFiles(t, s, nil)
	checkFiles(t, &Store{dir: root}, []string{"blobs", "secret.blob"})

	for _, id := range []string{"a", "A-z_09", strings.Repeat("x", maxIDLen)} {
		if !ValidID(id) {
			t.Errorf("ValidID(%q) = false", id)
		}
	}
}

// checkFiles reports a test error unless the store's directory holds
// exactly the named entries: no temporary file is left behind.
func checkFiles(t *testing.T, s *Store, want []string) {
	t.Helper()
	entries, err := os.ReadDir(s.Dir())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("files in %s (-want +got):\n%s", s.Dir(), diff)
	}
}

func TestFiles(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	for _, id := range []string{"a", "b", "a"} {
		if err := s.PutBlob(ctx, wxlogin.Blob{ID: id, ContentType: "image/png", Data: []byte(id)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteBlob(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	checkFiles(t, s, []string{"a.blob"})
	fi, err := os.Stat(filepath.Join(s.Dir(), "a.blob"))
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("blob file mode %v, want 0600", perm)
	}
	fi, err = os.Stat(s.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		t.Errorf("directory mode %v, want 0700", perm)
	}
}

// TestFormat pins the file format, so that a change to it is deliberate
// (files written by an older server must stay readable).
func TestFormat(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	created := time.Date(2026, 1, 2, 3, 4, 5, 6_007_008, time.UTC)
	if err := s.PutBlob(t.Context(), wxlogin.Blob{ID: "f", ContentType: "image/png", Data: []byte("\x89PNG\n"), CreatedAt: created}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(s.Dir(), "f.blob"))
	if err != nil {
		t.Fatal(err)
	}
	want := "wxlogin-blob 1\n" + `{"content_type":"image/png","created_at_us":1767323045006007}` + "\n\x89PNG\n"
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("file (-want +got):\n%s", diff)
	}
}

func TestCorruptFile(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	tests := []struct {
		name, content string
	}{
		{"empty", ""},
		{"foreign", "\x89PNG\r\n"},
		{"future version", "wxlogin-blob 2\n{}\nx"},
		{"no header line end", "wxlogin-blob 1\n{\"content_type\":\"x\"}"},
		{"bad json", "wxlogin-blob 1\n{nope}\nx"},
	}
	for _, tt := range tests {
		id := strings.ReplaceAll(tt.name, " ", "-")
		if err := os.WriteFile(filepath.Join(s.Dir(), id+".blob"), []byte(tt.content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := s.Blob(t.Context(), id)
		if err == nil || errors.Is(err, wxlogin.ErrNotFound) {
			t.Errorf("%s: Blob: %v, want a corruption error", tt.name, err)
		}
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	file := filepath.Join(root, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		dir     string
		wantErr bool
	}{
		{"nested new directory", filepath.Join(root, "a", "b", "c"), false},
		{"existing directory", root, false},
		{"empty", "", true},
		{"a file", file, true},
		{"under a file", filepath.Join(file, "x"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := New(tt.dir)
			if (err != nil) != tt.wantErr {
				t.Fatalf("New(%q) = %v, %v; want error %v", tt.dir, s, err, tt.wantErr)
			}
		})
	}
}

func TestCanceledContext(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.PutBlob(ctx, wxlogin.Blob{ID: "x"}); !errors.Is(err, context.Canceled) {
		t.Errorf("PutBlob: %v, want context.Canceled", err)
	}
	if _, err := s.Blob(ctx, "x"); !errors.Is(err, context.Canceled) {
		t.Errorf("Blob: %v, want context.Canceled", err)
	}
	if err := s.DeleteBlob(ctx, "x"); !errors.Is(err, context.Canceled) {
		t.Errorf("DeleteBlob: %v, want context.Canceled", err)
	}
	checkFiles(t, s, nil)
}

// FuzzParse feeds arbitrary files to the parser (it must not panic) and
// checks that every blob survives encode then parse.
func FuzzParse(f *testing.F) {
	f.Add([]byte("wxlogin-blob 1\n{\"content_type\":\"image/png\",\"created_at_us\":1}\n\x89PNG"), "image/png", int64(1), []byte("\x89PNG"))
	f.Add([]byte("wxlogin-blob 1\n"), "", int64(-62135596800000000), []byte{})
	f.Add([]byte("\n\n\n"), "text/plain; charset=\"utf-8\"\n", int64(0), []byte("\n{}\n"))
	f.Fuzz(func(t *testing.T, file []byte, contentType string, createdUs int64, data []byte) {
		parse(file)

		b := wxlogin.Blob{ContentType: contentType, CreatedAt: time.UnixMicro(createdUs).UTC(), Data: data}
		enc, err := encode(b)
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		got, err := parse(enc)
		if err != nil {
			t.Fatalf("parse(encode(%+v)): %v", b, err)
		}
		if !utf8.ValidString(contentType) {
			// encoding/json replaces invalid UTF-8 with U+FFFD; content
			// types are ASCII in practice.
			got.ContentType, b.ContentType = "", ""
		}
		if diff := cmp.Diff(b, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	})
}
