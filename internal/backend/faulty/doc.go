// Package faulty is a fault-injecting Backend wrapper for tests. Each Fault
// says which operation it hits (optionally only for names with a prefix),
// when (the first N calls, every Nth call, or with a probability drawn from
// a seeded generator) and what happens: the call fails before or after
// reaching the wrapped backend, is slow, or the stream a Get returns gives
// short reads, ends early or fails part way. With a fixed seed and a fixed
// order of calls the faults are the same on every run.
package faulty
