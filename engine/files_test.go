package engine

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestCheckConfigFile pins each case of the file check of the access and
// NATS users files.
func TestCheckConfigFile(t *testing.T) {
	dir := t.TempDir()
	file := func(name string, mode os.FileMode) string {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte("users: []\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		return path
	}
	link := filepath.Join(dir, "link.yaml")
	if err := os.Symlink(file("target.yaml", 0o600), link); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		want string // "" for accepted
	}{
		{file("owner.yaml", 0o600), ""},
		{file("read-only.yaml", 0o400), ""},
		{file("all-read.yaml", 0o644), ""},
		{file("group-read.yaml", 0o640), ""},
		{link, ""}, // a link to a good file, as configuration managers make
		{file("group-write.yaml", 0o620), "mode 0620 lets others than its owner write it; run chmod 600 "},
		{file("other-write.yaml", 0o602), "mode 0602 lets others than its owner write it; run chmod 600 "},
		{file("all-write.yaml", 0o666), "mode 0666 lets others than its owner write it; run chmod 600 "},
		{dir, "is a directory, not a regular file"},
		{fifo, "is a named pipe, not a regular file"},
		{filepath.Join(dir, "missing.yaml"), "no such file"},
	} {
		f, err := openConfigFile(tc.path)
		if f != nil {
			f.Close()
		}
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("openConfigFile(%s) = %v, want it accepted", filepath.Base(tc.path), err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.path)):
			t.Errorf("openConfigFile(%s) = %v, want an error naming the file and saying %q", filepath.Base(tc.path), err, tc.want)
		}
	}
}
