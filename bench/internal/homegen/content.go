package homegen

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"strconv"
)

// blockLines is the number of source lines in one block of a text file; a
// change to a file rewrites whole blocks, so consecutive versions share most
// of their lines (and git stores them as small deltas).
const blockLines = 24

// words is the vocabulary of the generated source code.
var words = []string{
	"repository", "project", "pullRequest", "commit", "branch", "merge", "review", "comment",
	"user", "group", "permission", "hook", "event", "index", "cache", "request", "response",
	"builder", "factory", "service", "manager", "handler", "context", "config", "settings",
	"value", "result", "error", "status", "state", "count", "size", "offset", "limit", "page",
	"id", "key", "name", "path", "file", "stream", "buffer", "reader", "writer", "lock",
	"ref", "tag", "tree", "blob", "diff", "hunk", "line", "author", "date", "message",
	"scope", "token", "secret", "client", "server", "node", "cluster", "mirror", "fork",
	"task", "job", "queue", "worker", "timeout", "retry", "callback", "listener", "filter",
}

var types = []string{"int", "long", "String", "boolean", "Repository", "Project", "List<String>",
	"Map<String, Object>", "Optional<User>", "Page<Commit>", "Stream<Ref>", "byte[]"}

// textBlock appends one block of Java-like source to buf; seed determines
// it completely.
func textBlock(buf *bytes.Buffer, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x5851f42d4c957f2d))
	indent := 1
	for range blockLines {
		buf.WriteString("    "[:min(4, indent*2)])
		switch r := rng.IntN(10); {
		case r < 3:
			writeAssign(buf, rng)
		case r < 5:
			writeCall(buf, rng)
		case r == 5:
			buf.WriteString("if (" + pick(rng, words) + " != null && " + pick(rng, words) + ".is" +
				title(pick(rng, words)) + "()) {")
			indent = 2
		case r == 6:
			buf.WriteString("}")
			indent = 1
		case r == 7:
			buf.WriteString("// " + pick(rng, words) + " " + pick(rng, words) + " " + pick(rng, words) +
				" " + strconv.Itoa(rng.IntN(10000)))
		default:
			buf.WriteString("return " + pick(rng, words) + "." + pick(rng, words) + "(" + pick(rng, words) + ");")
		}
		buf.WriteByte('\n')
	}
}

func writeAssign(buf *bytes.Buffer, rng *rand.Rand) {
	buf.WriteString(pick(rng, types) + " " + pick(rng, words) + title(pick(rng, words)) + " = " +
		pick(rng, words) + "." + "get" + title(pick(rng, words)) + "(" + strconv.Itoa(rng.IntN(1000)) + ");")
}

func writeCall(buf *bytes.Buffer, rng *rand.Rand) {
	buf.WriteString(pick(rng, words) + "Service." + pick(rng, words) + title(pick(rng, words)) + "(" +
		pick(rng, words) + ", \"" + pick(rng, words) + "-" + strconv.Itoa(rng.IntN(100000)) + "\");")
}

func pick(rng *rand.Rand, list []string) string { return list[rng.IntN(len(list))] }

func title(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// textFileContent writes a whole text file: a header, then its blocks at
// the versions given.
func textFileContent(buf *bytes.Buffer, fileSeed uint64, path string, versions []uint32) {
	buf.WriteString("package com.example." + pathPackage(path) + ";\n\npublic class C" +
		strconv.FormatUint(fileSeed%100000, 10) + " {\n")
	for i, v := range versions {
		textBlock(buf, mix(fileSeed, uint64(i), uint64(v)))
	}
	buf.WriteString("}\n")
}

func pathPackage(path string) string {
	b := []byte(path)
	for i, c := range b {
		if c == '/' || c == '-' || c == '.' {
			b[i] = '_'
		}
	}
	return string(b)
}

// randomBytes appends n pseudo-random (incompressible) bytes derived from
// seed to buf.
func randomBytes(buf *bytes.Buffer, seed uint64, n int) {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	binary.LittleEndian.PutUint64(key[8:], 0x243f6a8885a308d3)
	src := rand.NewChaCha8(key)
	buf.Grow(n)
	b := buf.AvailableBuffer()[:n]
	_, _ = src.Read(b) // ChaCha8.Read never fails
	buf.Write(b)       // b is buf's own free space: this only extends buf
}

// mix hashes a few numbers into one seed (splitmix64 steps).
func mix(vals ...uint64) uint64 {
	h := uint64(0x9e3779b97f4a7c15)
	for _, v := range vals {
		h ^= v + 0x9e3779b97f4a7c15 + (h << 6) + (h >> 2)
		h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9
		h = (h ^ (h >> 27)) * 0x94d049bb133111eb
		h ^= h >> 31
	}
	return h
}
