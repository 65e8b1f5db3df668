package homegen

import (
	"fmt"
	"math/rand/v2"
)

// Budget constants of a repository's content.
const (
	binaryShare      = 0.55      // of a repository's bytes: binary assets (stored as is)
	textRatio        = 3.3       // raw source bytes per byte of packed source, roughly
	initialBinary    = 0.5       // of the binary bytes: in the first commit; the rest are later versions
	bytesPerCommt    = 160 << 10 // one commit in the history per this many bytes of repository
	maxCommits       = 4000
	objectsPerCommit = 16 // a small commit writes about this many objects (blobs and deep trees)
)

// textFile is one source file: its path and the version of each block.
type textFile struct {
	path   string
	seed   uint64
	blocks []uint32
}

// binFile is one binary asset; every version is new random content.
type binFile struct {
	path    string
	seed    uint64
	version uint32
	size    int
}

// change names a file a commit writes: an index into texts or bins.
type change struct {
	bin bool
	idx int
}

// commitPlan is one commit of the simulated history.
type commitPlan struct {
	n       int // the commit's number in the repository's history
	changes []change
	message string
}

// history simulates the life of one repository: which files each commit
// adds or changes. It holds the current version of every file, not content:
// the fast-import writer makes content from the versions.
type history struct {
	rng     *rand.Rand
	texts   []textFile
	bins    []binFile
	dirs    []string
	binLeft int64 // bytes of later binary versions still to come
	binAvg  int
	commits int // commits planned so far
	total   int // commits the main history will have
}

// newHistory prepares the simulation of spec's repository.
func newHistory(spec repoSpec) *history {
	h := &history{rng: rand.New(rand.NewPCG(spec.Seed, 0x2545f4914f6cdd1d))}
	h.dirs = makeDirs(h.rng, spec.Bytes)
	binBytes := int64(float64(spec.Bytes) * binaryShare)
	h.binAvg = int(min(max(binBytes/12, 16<<10), 3<<20))
	h.binLeft = binBytes - int64(float64(binBytes)*initialBinary)
	h.total = int(min(max(spec.Bytes/bytesPerCommt, 4), maxCommits))
	return h
}

// makeDirs lays out modules and packages; bigger repositories get more.
func makeDirs(rng *rand.Rand, size int64) []string {
	modules := int(min(2+size/(8<<20), 24))
	var dirs []string
	for m := range modules {
		for p := range 3 + rng.IntN(6) {
			dirs = append(dirs, fmt.Sprintf("%s-%d/src/main/java/%s", pick(rng, words), m, pick(rng, words)+fmt.Sprint(p)))
		}
	}
	return dirs
}

// initial plans the first commit: the source tree and the first binaries.
func (h *history) initial(spec repoSpec) commitPlan {
	c := commitPlan{n: h.next(), message: "Initial import"}
	rawText := int64(float64(spec.Bytes) * (1 - binaryShare) * textRatio)
	for written := int64(0); written < rawText; {
		c.changes = append(c.changes, h.addText())
		written += int64(len(h.texts[len(h.texts)-1].blocks)) * blockLines * 46
	}
	binBytes := int64(float64(spec.Bytes) * binaryShare * initialBinary)
	for written := int64(0); written < binBytes; {
		c.changes = append(c.changes, h.addBin(int(min(binBytes-written, int64(h.binSize())))))
		written += int64(h.bins[len(h.bins)-1].size)
	}
	return c
}

func (h *history) next() int {
	h.commits++
	return h.commits
}

func (h *history) binSize() int {
	return h.binAvg/3 + h.rng.IntN(h.binAvg+h.binAvg/3)
}

// addText creates a new source file and returns the change that adds it.
func (h *history) addText() change {
	dir := h.dirs[h.rng.IntN(len(h.dirs))]
	f := textFile{path: fmt.Sprintf("%s/%s%s%d.java", dir, title(pick(h.rng, words)), title(pick(h.rng, words)), len(h.texts)),
		seed: h.rng.Uint64(), blocks: make([]uint32, 2+h.rng.IntN(13))}
	h.texts = append(h.texts, f)
	return change{idx: len(h.texts) - 1}
}

// addBin creates a new binary asset of size bytes.
func (h *history) addBin(size int) change {
	ext := [...]string{"png", "jar", "zip", "bin", "pdf"}[h.rng.IntN(5)]
	h.bins = append(h.bins, binFile{path: fmt.Sprintf("assets/%s/asset-%d.%s", pick(h.rng, words), len(h.bins), ext),
		seed: h.rng.Uint64(), size: max(size, 1)})
	return change{bin: true, idx: len(h.bins) - 1}
}

// commit plans one more commit of everyday work: a few source files edited,
// now and then a new file or a new version of a binary.
func (h *history) commit(withBinaries bool) commitPlan {
	c := commitPlan{n: h.next()}
	for range 1 + h.rng.IntN(3) {
		c.changes = append(c.changes, h.editText())
	}
	if h.rng.IntN(25) == 0 {
		c.changes = append(c.changes, h.addText())
	}
	if withBinaries && h.binLeft > 0 && h.rng.Float64()*float64(max(1, h.total-h.commits)) < float64(h.binLeft)/float64(h.binAvg) {
		c.changes = append(c.changes, h.editBin())
	}
	c.message = fmt.Sprintf("%s %s %s (#%d)", title(pick(h.rng, []string{"fix", "add", "update", "refactor", "remove"})),
		pick(h.rng, words), pick(h.rng, words), c.n)
	return c
}

// editText bumps one or two blocks of a random source file, sometimes
// appending a block.
func (h *history) editText() change {
	i := h.rng.IntN(len(h.texts))
	f := &h.texts[i]
	for range 1 + h.rng.IntN(2) {
		f.blocks[h.rng.IntN(len(f.blocks))]++
	}
	if h.rng.IntN(10) == 0 {
		f.blocks = append(f.blocks, 0)
	}
	return change{idx: i}
}

// editBin writes a new version of a binary asset (or a new one).
func (h *history) editBin() change {
	size := int(min(int64(h.binSize()), h.binLeft))
	h.binLeft -= int64(size)
	if len(h.bins) == 0 || h.rng.IntN(3) == 0 {
		return h.addBin(size)
	}
	i := h.rng.IntN(len(h.bins))
	h.bins[i].version++
	h.bins[i].size = max(size, 1)
	return change{bin: true, idx: i}
}
