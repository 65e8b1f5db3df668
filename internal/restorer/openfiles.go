package restorer

import (
	"container/list"
	"fmt"
	"sync"
)

// maxOpenFiles bounds the files a restore keeps open between blobs: far
// below any descriptor limit, far above the files in flight at once.
const maxOpenFiles = 512

// openFiles keeps files open across the blobs written to them (a file of
// many blobs is not reopened for each), closing the least recently used
// idle ones when more than max are open.
//
// Lock order: a target's mu before openFiles.mu, never the other way.
type openFiles struct {
	mu   sync.Mutex
	max  int
	n    int
	lru  *list.List // of *target, least recently used first
	elem map[*target]*list.Element
}

func newOpenFiles(max int) *openFiles {
	return &openFiles{max: max, lru: list.New(), elem: map[*target]*list.Element{}}
}

// opened counts a newly opened file.
func (o *openFiles) opened() {
	o.mu.Lock()
	o.n++
	o.mu.Unlock()
}

// closed forgets a closed file; t.mu is held.
func (o *openFiles) closed(t *target) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.n--
	if e, ok := o.elem[t]; ok {
		o.lru.Remove(e)
		delete(o.elem, t)
	}
}

// idle marks t's open file as unused for now, and closes idle files while
// too many are open. A file that fails to close (a write the kernel could
// not complete) is an error.
func (o *openFiles) idle(t *target) error {
	o.mu.Lock()
	if e, ok := o.elem[t]; ok {
		o.lru.MoveToBack(e)
	} else {
		o.elem[t] = o.lru.PushBack(t)
	}
	var victims []*target
	for n := o.n; n > o.max && o.lru.Len() > 0; n-- {
		v := o.lru.Remove(o.lru.Front()).(*target)
		delete(o.elem, v)
		victims = append(victims, v)
	}
	o.mu.Unlock()
	var first error
	for _, v := range victims {
		if err := o.closeIdle(v); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// closeIdle closes v's file unless a writer took it up again meanwhile.
func (o *openFiles) closeIdle(v *target) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.users > 0 || v.f == nil {
		return nil
	}
	err := v.f.close()
	v.f = nil
	o.mu.Lock()
	o.n--
	o.mu.Unlock()
	if err != nil {
		return localError(fmt.Errorf("close %s: %w", v.tmp, err))
	}
	return nil
}
