package e2e

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// cutProxy forwards TCP connections to an upstream server until the
// clients have sent it limit bytes; then it closes every connection and
// stops listening, as a storage server that dies in the middle of an upload.
type cutProxy struct {
	l        net.Listener
	upstream string
	limit    int64
	sent     atomic.Int64
	cut      atomic.Bool
	mu       sync.Mutex
	conns    []net.Conn
	wg       sync.WaitGroup
}

func newCutProxy(t *testing.T, upstream string, limit int64) *cutProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{l: l, upstream: upstream, limit: limit}
	p.wg.Go(p.accept)
	t.Cleanup(func() {
		p.cutAll()
		p.wg.Wait()
	})
	return p
}

func (p *cutProxy) addr() string { return p.l.Addr().String() }
func (p *cutProxy) wasCut() bool { return p.cut.Load() && p.sent.Load() > p.limit }

// accept serves connections until the cut.
func (p *cutProxy) accept() {
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		p.wg.Go(func() { p.serve(c) })
	}
}

// serve forwards one connection, counting what the client sends.
func (p *cutProxy) serve(c net.Conn) {
	up, err := net.Dial("tcp", p.upstream)
	if err != nil {
		c.Close()
		return
	}
	if !p.track(c, up) {
		return
	}
	p.wg.Go(func() {
		io.Copy(c, up)
		c.Close()
	})
	buf := make([]byte, 32<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if p.sent.Add(int64(n)) > p.limit {
				p.cutAll()
				return
			}
			if _, werr := up.Write(buf[:n]); werr != nil {
				err = werr
			}
		}
		if err != nil {
			up.Close()
			return
		}
	}
}

// track remembers the connections to close at the cut; after it, it closes
// them at once and reports false.
func (p *cutProxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut.Load() {
		for _, c := range conns {
			c.Close()
		}
		return false
	}
	p.conns = append(p.conns, conns...)
	return true
}

// cutAll stops listening and closes every connection, once.
func (p *cutProxy) cutAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut.Swap(true) {
		return
	}
	p.l.Close()
	for _, c := range p.conns {
		c.Close()
	}
}
