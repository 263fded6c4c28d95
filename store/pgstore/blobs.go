package pgstore

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/wxlogin/wxlogin"
)

// PutBlob implements wxlogin.BlobStore; putting an existing id replaces it.
func (db *DB) PutBlob(ctx context.Context, b wxlogin.Blob) error {
	if b.ID == "" {
		return wxlogin.Errorf(wxlogin.EInvalidRequest, "invalid blob id %q", b.ID)
	}
	ctx, cancel := db.bound(ctx)
	defer cancel()
	data := b.Data
	if data == nil {
		data = []byte{}
	}
	_, err := db.pool.Exec(ctx, `INSERT INTO blobs (id, content_type, data, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (id) DO UPDATE SET content_type = EXCLUDED.content_type, data = EXCLUDED.data,
		created_at = EXCLUDED.created_at`, b.ID, b.ContentType, data, b.CreatedAt)
	return storeError("PutBlob", err)
}

// Blob implements wxlogin.BlobStore.
func (db *DB) Blob(ctx context.Context, id string) (wxlogin.Blob, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	var b wxlogin.Blob
	err := db.pool.QueryRow(ctx, `SELECT id, content_type, data, created_at FROM blobs WHERE id = $1`, id).
		Scan(&b.ID, &b.ContentType, &b.Data, &b.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return wxlogin.Blob{}, wxlogin.Errorf(wxlogin.ENotFound, "blob not found")
	}
	if err != nil {
		return wxlogin.Blob{}, storeError("Blob", err)
	}
	b.CreatedAt = b.CreatedAt.UTC()
	return b, nil
}

// DeleteBlob implements wxlogin.BlobStore.
func (db *DB) DeleteBlob(ctx context.Context, id string) error {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	_, err := db.pool.Exec(ctx, `DELETE FROM blobs WHERE id = $1`, id)
	return storeError("DeleteBlob", err)
}
