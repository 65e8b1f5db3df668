package s3proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// Requests counts the S3 requests that went through the proxy.
type Requests struct {
	Total    int64            `json:"total"`
	ByKind   map[string]int64 `json:"by_kind"`   // GET, PUT, HEAD, DELETE, POST, LIST
	BytesIn  int64            `json:"bytes_in"`  // request bodies (uploads)
	BytesOut int64            `json:"bytes_out"` // response bodies (downloads)
}

// Sub returns the requests made between an earlier count and r.
func (r Requests) Sub(earlier Requests) Requests {
	d := Requests{Total: r.Total - earlier.Total, BytesIn: r.BytesIn - earlier.BytesIn,
		BytesOut: r.BytesOut - earlier.BytesOut, ByKind: map[string]int64{}}
	for k, v := range r.ByKind {
		if n := v - earlier.ByKind[k]; n != 0 {
			d.ByKind[k] = n
		}
	}
	return d
}

// Proxy is a reverse proxy on a loopback port that forwards everything to
// one S3 endpoint and counts the requests. It leaves the Host header as the
// client sent it, so signatures made for the proxy's address verify.
//
// It counts as traffic arrives, never after the fact: a request when its
// headers have been read, before it is forwarded; body bytes as they pass,
// before they are forwarded (uploads) or handed to the client (downloads).
// So once a client holds a response, or part of its body, Count includes
// that request and those bytes.
type Proxy struct {
	srv *http.Server
	ln  net.Listener
	wg  sync.WaitGroup

	mu     sync.Mutex // guards total and byKind, which change together
	total  int64
	byKind map[string]int64

	bytesIn, bytesOut atomic.Int64 // bumped per read or write, from many goroutines
}

// Start serves a counting proxy in front of target ("127.0.0.1:PORT"); log
// (nil: discard) hears if serving fails.
func Start(target string, log *slog.Logger) (*Proxy, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	p := &Proxy{ln: ln, byKind: map[string]int64{}}
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: target})
	rp.FlushInterval = -1
	p.srv = &http.Server{Handler: p.count(rp), ReadHeaderTimeout: time.Minute}
	p.wg.Go(func() {
		if err := p.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			log.Error("s3 proxy stopped", "err", err)
		}
	})
	return p, nil
}

// Endpoint is the proxy's "127.0.0.1:PORT".
func (p *Proxy) Endpoint() string { return p.ln.Addr().String() }

// URL is the proxy's base URL.
func (p *Proxy) URL() string { return "http://" + p.Endpoint() }

// Count returns the requests so far (see Proxy for when they count).
func (p *Proxy) Count() Requests {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := Requests{Total: p.total, ByKind: make(map[string]int64, len(p.byKind)),
		BytesIn: p.bytesIn.Load(), BytesOut: p.bytesOut.Load()}
	for k, v := range p.byKind {
		c.ByKind[k] = v
	}
	return c
}

// count wraps the proxy handler with the counters.
func (p *Proxy) count(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.arrived(kind(r))
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = &countingReader{r: r.Body, n: &p.bytesIn}
		}
		next.ServeHTTP(&countingWriter{ResponseWriter: w, n: &p.bytesOut}, r)
	})
}

// arrived counts one request of kind k.
func (p *Proxy) arrived(k string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total++
	p.byKind[k]++
}

// kind names an S3 request: its method, or LIST for listings.
func kind(r *http.Request) string {
	q := r.URL.Query()
	if r.Method == http.MethodGet && (q.Has("list-type") || q.Has("prefix") || q.Has("delimiter") || q.Has("uploads")) {
		return "LIST"
	}
	return r.Method
}

// Close stops the proxy and waits for its server goroutine.
func (p *Proxy) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := p.srv.Shutdown(ctx)
	p.wg.Wait()
	return err
}

// countingReader counts a request body as the proxy reads it, before the
// bytes are forwarded.
type countingReader struct {
	r io.ReadCloser
	n *atomic.Int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n.Add(int64(n))
	return n, err
}

func (c *countingReader) Close() error { return c.r.Close() }

// countingWriter counts a response body before handing it to the client,
// and takes back what the client's connection did not accept.
type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	c.n.Add(int64(len(b)))
	n, err := c.ResponseWriter.Write(b)
	if n < len(b) {
		c.n.Add(int64(n - len(b)))
	}
	return n, err
}

// Flush passes flushes on (the reverse proxy flushes streamed bodies).
func (c *countingWriter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (c *countingWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }
