// Package blobdir is wxlogin's default wxlogin.BlobStore: one file per blob
// in a directory, for avatars on a single server. An
// S3-compatible store can replace it behind the same interface.
//
// Each blob is one file, <id>.blob, holding a short header (a magic line
// and a JSON line with the content type and creation time) followed by the
// data. Keeping the metadata in the same file as the data, rather than in a
// sidecar, makes a replacement a single rename: a reader sees the old blob
// or the new one, never new data under the old content type.
//
// Writes are atomic and durable: the file is written under a temporary name
// in the same directory, fsynced, renamed over the old one, and the
// directory is fsynced so that the rename itself survives a power loss.
// Deletes fsync the directory too. An interrupted write leaves a ".tmp-"
// file that is never read; ids cannot collide with it.
//
// Ids are restricted to 1 to 128 characters of [A-Za-z0-9_-], which keeps
// them from naming anything outside the directory (no "/", no "..").
// PutBlob and DeleteBlob reject any other id with an invalid_request error;
// Blob reports it as not found, since no such blob can exist. On
// case-insensitive filesystems (macOS, Windows) ids differing only in case
// name the same file; wxlogin's random ids make that practically
// impossible.
package blobdir
