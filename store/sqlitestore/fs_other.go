//go:build !linux

package sqlitestore

// checkFilesystem has no portable way to learn free space or a read-only
// mount here; SQLite's own errors at commit remain.
func checkFilesystem(string) error { return nil }

// checkReadOnly has no portable way to learn a read-only mount here.
func checkReadOnly(string) error { return nil }
