package local_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"bbvault/internal/backend/local"
)

// BenchmarkPut16MiB measures durable Put throughput of 16 MiB objects
// (including the fsyncs); go test reports it as MB/s.
func BenchmarkPut16MiB(b *testing.B) {
	be, err := local.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	data := make([]byte, 16<<20)
	for i := range data {
		data[i] = byte(i * 7)
	}
	b.SetBytes(int64(len(data)))
	i := 0
	for b.Loop() {
		name := fmt.Sprintf("data/%02x/%d", i%256, i)
		if err := be.Put(context.Background(), name, bytes.NewReader(data), int64(len(data))); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
