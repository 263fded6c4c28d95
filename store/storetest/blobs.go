package storetest

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wxlogin/wxlogin"
)

// RunBlobStoreTests runs the BlobStore conformance suite. newStore is called
// once per test and may return a store shared with other tests; blob ids are
// random per test and use only [A-Za-z0-9_-]. Tests run in parallel.
func RunBlobStoreTests(t *testing.T, newStore func(t *testing.T) wxlogin.BlobStore) {
	tests := []struct {
		name string
		run  func(t *testing.T, s wxlogin.BlobStore)
	}{
		{"RoundTrip", testBlobRoundTrip},
		{"PutCopiesInput", testBlobPutCopies},
		{"Overwrite", testBlobOverwrite},
		{"NotFound", testBlobNotFound},
		{"Delete", testBlobDelete},
		{"ConcurrentPutAndGet", testBlobConcurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t, newStore(t))
		})
	}
}

// blobEra is when the suite's blobs are created; its nanoseconds check that
// stores keep microseconds.
var blobEra = time.Date(2026, 5, 20, 13, 14, 0, 520_131_400, time.UTC)

// pngHeader starts every PNG file; enough to look like an avatar.
var pngHeader = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")

func checkBlob(t *testing.T, s wxlogin.BlobStore, want wxlogin.Blob) {
	t.Helper()
	got, err := s.Blob(t.Context(), want.ID)
	if err != nil {
		t.Errorf("Blob(%s): %v", want.ID, err)
		return
	}
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("Blob(%s) mismatch (-want +got):\n%s", want.ID, diff)
	}
	checkUTC(t, "Blob", got.CreatedAt)
}

func mustPutBlob(t *testing.T, s wxlogin.BlobStore, b wxlogin.Blob) {
	t.Helper()
	if err := s.PutBlob(t.Context(), b); err != nil {
		t.Fatalf("PutBlob(%s): %v", b.ID, err)
	}
}

func testBlobRoundTrip(t *testing.T, s wxlogin.BlobStore) {
	tests := []struct {
		name string
		blob wxlogin.Blob
	}{
		{"small png", wxlogin.Blob{ContentType: "image/png", Data: append(bytes.Clone(pngHeader), randomBytes(100)...), CreatedAt: blobEra}},
		{"one MiB jpeg", wxlogin.Blob{ContentType: "image/jpeg", Data: randomBytes(1 << 20), CreatedAt: blobEra}},
		{"empty", wxlogin.Blob{ContentType: "application/octet-stream", CreatedAt: blobEra}},
		{"content type with parameters", wxlogin.Blob{ContentType: `text/plain; charset="utf-8"`, Data: []byte("你好\n\x00\r\n"), CreatedAt: blobEra}},
		{"time in another zone", wxlogin.Blob{ContentType: "image/webp", Data: []byte("RIFF"), CreatedAt: blobEra.In(time.FixedZone("CST", 8*3600))}},
		{"zero time", wxlogin.Blob{ContentType: "image/png", Data: pngHeader}},
		{"id with dash and underscore", wxlogin.Blob{ID: uniqueID("Av_-"), ContentType: "image/png", Data: pngHeader, CreatedAt: blobEra}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := tt.blob
			if b.ID == "" {
				b.ID = uniqueID("blob-")
			}
			mustPutBlob(t, s, b)
			checkBlob(t, s, storedBlob(b))
		})
	}
}

func testBlobPutCopies(t *testing.T, s wxlogin.BlobStore) {
	b := wxlogin.Blob{ID: uniqueID("blob-"), ContentType: "image/png", Data: randomBytes(64), CreatedAt: blobEra}
	want := storedBlob(b)
	want.Data = bytes.Clone(b.Data)
	mustPutBlob(t, s, b)
	b.Data[0] ^= 0xff // the caller reuses its buffer
	checkBlob(t, s, want)

	// Nor may a reader's changes reach the store.
	got, err := s.Blob(t.Context(), b.ID)
	if err != nil {
		t.Fatal(err)
	}
	got.Data[0] ^= 0xff
	checkBlob(t, s, want)
}

func testBlobOverwrite(t *testing.T, s wxlogin.BlobStore) {
	id := uniqueID("blob-")
	first := wxlogin.Blob{ID: id, ContentType: "image/png", Data: randomBytes(5000), CreatedAt: blobEra}
	second := wxlogin.Blob{ID: id, ContentType: "image/jpeg", Data: randomBytes(10), CreatedAt: blobEra.Add(time.Hour)}
	mustPutBlob(t, s, first)
	mustPutBlob(t, s, second)
	checkBlob(t, s, storedBlob(second))
}

func testBlobNotFound(t *testing.T, s wxlogin.BlobStore) {
	mustPutBlob(t, s, wxlogin.Blob{ID: uniqueID("blob-"), ContentType: "image/png", Data: pngHeader, CreatedAt: blobEra})
	_, err := s.Blob(t.Context(), uniqueID("blob-"))
	checkNotFound(t, "Blob(missing)", err)
}

func testBlobDelete(t *testing.T, s wxlogin.BlobStore) {
	ctx := t.Context()
	gone := wxlogin.Blob{ID: uniqueID("blob-"), ContentType: "image/png", Data: pngHeader, CreatedAt: blobEra}
	kept := wxlogin.Blob{ID: uniqueID("blob-"), ContentType: "image/png", Data: randomBytes(10), CreatedAt: blobEra}
	mustPutBlob(t, s, gone)
	mustPutBlob(t, s, kept)

	if err := s.DeleteBlob(ctx, gone.ID); err != nil {
		t.Fatalf("DeleteBlob: %v", err)
	}
	_, err := s.Blob(ctx, gone.ID)
	checkNotFound(t, "Blob after DeleteBlob", err)
	checkBlob(t, s, storedBlob(kept))
	if err := s.DeleteBlob(ctx, gone.ID); err != nil {
		t.Errorf("DeleteBlob again: %v, want nil", err)
	}
	if err := s.DeleteBlob(ctx, uniqueID("blob-")); err != nil {
		t.Errorf("DeleteBlob(never stored): %v, want nil", err)
	}

	// The id can be used again.
	again := wxlogin.Blob{ID: gone.ID, ContentType: "image/jpeg", Data: randomBytes(3), CreatedAt: blobEra.Add(time.Minute)}
	mustPutBlob(t, s, again)
	checkBlob(t, s, storedBlob(again))
}

// testBlobConcurrent overwrites one blob from several writers while readers
// read it: every read must see one whole version, never a mix or a torn
// write (an avatar served half old, half new).
func testBlobConcurrent(t *testing.T, s wxlogin.BlobStore) {
	ctx := t.Context()
	id := uniqueID("blob-")
	const (
		writers = 4
		puts    = 5
		readers = 4
		reads   = 20
		size    = 64 << 10
	)
	version := func(w int) wxlogin.Blob {
		return wxlogin.Blob{
			ID:          id,
			ContentType: fmt.Sprintf("image/x-version-%d", w),
			Data:        bytes.Repeat([]byte{byte('a' + w)}, size+w),
			CreatedAt:   blobEra.Add(time.Duration(w) * time.Second),
		}
	}
	mustPutBlob(t, s, version(0))

	var wg sync.WaitGroup
	errs := make(chan error, writers*puts+readers*reads)
	for w := range writers {
		wg.Go(func() {
			for range puts {
				errs <- s.PutBlob(ctx, version(w))
			}
		})
	}
	for range readers {
		wg.Go(func() {
			for range reads {
				got, err := s.Blob(ctx, id)
				if err != nil {
					errs <- err
					continue
				}
				var w int
				if _, err := fmt.Sscanf(got.ContentType, "image/x-version-%d", &w); err != nil || w < 0 || w >= writers {
					errs <- fmt.Errorf("read a blob of content type %q", got.ContentType)
					continue
				}
				if diff := cmp.Diff(storedBlob(version(w)), got, cmpOpts); diff != "" {
					errs <- fmt.Errorf("read a torn blob (-version %d +got):\n%.2000s", w, diff)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}
