package crypto

import (
	"bytes"
	"errors"
	"testing"
)

func TestSealOpenRoundTripAndTamper(t *testing.T) {
	k, err := NewRandomKey()
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("pg_dump output holds password hashes")
	sealed, err := k.Seal(nil, msg, []byte("ad"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, msg) {
		t.Fatal("ciphertext contains the plaintext")
	}
	got, err := k.Open(nil, sealed, []byte("ad"))
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("open = %q, %v", got, err)
	}
	if _, err := k.Open(nil, sealed, []byte("other")); !errors.Is(err, ErrAuth) {
		t.Fatalf("wrong additional data: err = %v, want ErrAuth", err)
	}
	sealed[len(sealed)/2] ^= 1
	if _, err := k.Open(nil, sealed, []byte("ad")); !errors.Is(err, ErrAuth) {
		t.Fatalf("flipped bit: err = %v, want ErrAuth", err)
	}
}

func TestIDIsKeyed(t *testing.T) {
	k1, _ := NewRandomKey()
	k2, _ := NewRandomKey()
	data := []byte("same content")
	if k1.ID(data) != k1.ID(data) {
		t.Fatal("ID is not deterministic")
	}
	if k1.ID(data) == k2.ID(data) {
		t.Fatal("two keys give the same ID: IDs are not keyed")
	}
}

func TestWrapUnwrap(t *testing.T) {
	master, _ := NewRandomKey()
	weak := KDFParams{N: 1024, R: 8, P: 1}
	kf, err := WrapKey(master, []byte("correct horse"), weak, KeyFile{Host: "h"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := UnwrapKey(kf, []byte("correct horse"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Encrypt != master.Encrypt || got.MAC != master.MAC {
		t.Fatal("unwrapped key differs")
	}
	if _, err := UnwrapKey(kf, []byte("wrong")); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("wrong password: err = %v", err)
	}
}

func BenchmarkSeal1MiB(b *testing.B) {
	k, _ := NewRandomKey()
	buf := make([]byte, 1<<20)
	out := make([]byte, 0, len(buf)+Overhead)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		out, _ = k.Seal(out[:0], buf, nil)
	}
}

func BenchmarkID1MiB(b *testing.B) {
	k, _ := NewRandomKey()
	buf := make([]byte, 1<<20)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		k.ID(buf)
	}
}
