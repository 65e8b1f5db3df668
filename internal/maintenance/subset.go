package maintenance

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"bbvault/internal/blob"
)

// Subset chooses the packs check --read-data reads: a random share of them
// ("10%", different on every run) or the N-th of M fixed slices ("2/5"),
// so that running 1/5 to 5/5 reads each pack once. The zero value selects
// every pack.
type Subset struct {
	Percent float64 // 0 < Percent <= 100
	N, M    int     // 1 <= N <= M
	salt    uint64
}

// ParseSubset reads "10%", "2.5%" or "N/M".
func ParseSubset(s string) (Subset, error) {
	if p, ok := strings.CutSuffix(s, "%"); ok {
		v, err := strconv.ParseFloat(p, 64)
		if err != nil || v <= 0 || v > 100 {
			return Subset{}, fmt.Errorf("subset %q: want a percentage above 0 and at most 100, e.g. 10%%", s)
		}
		var salt [8]byte
		if _, err := rand.Read(salt[:]); err != nil {
			return Subset{}, fmt.Errorf("subset: %w", err)
		}
		return Subset{Percent: v, salt: binary.LittleEndian.Uint64(salt[:])}, nil
	}
	ns, ms, ok := strings.Cut(s, "/")
	n, err1 := strconv.Atoi(ns)
	m, err2 := strconv.Atoi(ms)
	if !ok || err1 != nil || err2 != nil || m < 1 || n < 1 || n > m {
		return Subset{}, fmt.Errorf("subset %q: want a percentage (10%%) or N/M with 1 <= N <= M (2/5: the second of five slices)", s)
	}
	return Subset{N: n, M: m}, nil
}

// All reports whether the subset is every pack.
func (s Subset) All() bool { return s.Percent == 0 && s.M == 0 || s.Percent == 100 || s.M == 1 }

// Has reports whether the subset holds the pack.
func (s Subset) Has(id blob.ID) bool {
	x := binary.LittleEndian.Uint64(id[:8])
	switch {
	case s.All():
		return true
	case s.M > 0:
		return x%uint64(s.M) == uint64(s.N-1)
	}
	return float64((x^s.salt)%1_000_000) < s.Percent*10_000
}

func (s Subset) String() string {
	switch {
	case s.All():
		return "all"
	case s.M > 0:
		return fmt.Sprintf("%d/%d", s.N, s.M)
	}
	return strconv.FormatFloat(s.Percent, 'f', -1, 64) + "%"
}
