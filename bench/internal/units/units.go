package units

import (
	"fmt"
	"strconv"
	"strings"
)

var suffixes = []struct {
	name string
	mult float64
}{
	{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30}, {"TIB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"T", 1 << 40}, {"B", 1},
}

// ParseBytes reads a size such as "3GiB", "512MiB", "1.5G" or "1000000".
func ParseBytes(s string) (int64, error) {
	text := strings.ToUpper(strings.TrimSpace(s))
	mult := 1.0
	for _, suf := range suffixes {
		if rest, ok := strings.CutSuffix(text, suf.name); ok {
			text, mult = strings.TrimSpace(rest), suf.mult
			break
		}
	}
	v, err := strconv.ParseFloat(text, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("size %q: want a number with an optional unit, e.g. 500MiB or 3GiB", s)
	}
	return int64(v * mult), nil
}
