package main

import (
	"fmt"
	"os"
	"sync"
)

var summaryMu sync.Mutex

// summary prints one catalogue's counts on stderr and, when the variable
// WXLOGIN_TEST_SUMMARY names a file, appends them there, as httpapi's
// catalogues do: go test shows a passing package's output only with -v,
// and scripts/test prints that file after the run.
func summary(format string, args ...any) {
	line := fmt.Sprintf(format, args...) + "\n"
	summaryMu.Lock()
	defer summaryMu.Unlock()
	fmt.Fprint(os.Stderr, line)
	if path := os.Getenv("WXLOGIN_TEST_SUMMARY"); path != "" {
		if f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
			f.WriteString(line)
			f.Close()
		}
	}
}
