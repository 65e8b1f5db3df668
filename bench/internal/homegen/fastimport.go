package homegen

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"time"
)

// epoch is the time of the first commit of every generated history.
var epoch = time.Date(2018, 1, 1, 9, 0, 0, 0, time.UTC)

// streamWriter writes a git fast-import stream for one repository.
type streamWriter struct {
	w    *bufio.Writer
	h    *history
	buf  bytes.Buffer
	mark int
}

func newStreamWriter(w io.Writer, h *history) *streamWriter {
	return &streamWriter{w: bufio.NewWriterSize(w, 1<<20), h: h}
}

// commit writes c on ref. from is where the branch continues: "" for the
// first commit of the stream when the branch is new, else a committish
// (":N" marks, "refs/heads/master^0" to continue an existing branch); only
// the first commit of a stream needs it. It returns the commit's mark.
func (s *streamWriter) commit(ref string, c commitPlan, from string) (string, error) {
	s.mark++
	mark := fmt.Sprintf(":%d", s.mark)
	when := epoch.Add(time.Duration(c.n) * 3 * time.Hour).Unix()
	author := authors[c.n%len(authors)]
	fmt.Fprintf(s.w, "commit %s\nmark %s\nauthor %s %d +0000\ncommitter %s %d +0000\ndata %d\n%s\n",
		ref, mark, author, when, author, when, len(c.message), c.message)
	if from != "" {
		fmt.Fprintf(s.w, "from %s\n", from)
	}
	for _, ch := range c.changes {
		if err := s.file(ch); err != nil {
			return "", err
		}
	}
	_, err := s.w.WriteString("\n")
	return mark, err
}

// file writes one changed file inline, its content made from its version.
func (s *streamWriter) file(ch change) error {
	s.buf.Reset()
	var path string
	if ch.bin {
		f := s.h.bins[ch.idx]
		randomBytes(&s.buf, mix(f.seed, uint64(f.version)), f.size)
		path = f.path
	} else {
		f := s.h.texts[ch.idx]
		textFileContent(&s.buf, f.seed, f.path, f.blocks)
		path = f.path
	}
	fmt.Fprintf(s.w, "M 100644 inline %s\ndata %d\n", path, s.buf.Len())
	if _, err := s.w.Write(s.buf.Bytes()); err != nil {
		return err
	}
	_, err := s.w.WriteString("\n")
	return err
}

// reset points ref at a commit (a mark or a committish), as a branch or
// lightweight tag.
func (s *streamWriter) reset(ref, from string) {
	fmt.Fprintf(s.w, "reset %s\nfrom %s\n\n", ref, from)
}

// finish ends the stream.
func (s *streamWriter) finish() error {
	if _, err := s.w.WriteString("done\n"); err != nil {
		return err
	}
	return s.w.Flush()
}

var authors = []string{
	"Alice Example <alice@example.com>", "Bob Builder <bob@example.com>",
	"Carol Reviewer <carol@example.com>", "Dan Release <dan@example.com>",
	"Eve Ops <eve@example.com>",
}
