package units

import "testing"

func TestParseBytes(t *testing.T) {
	cases := map[string]int64{"3GiB": 3 << 30, "512MiB": 512 << 20, "1.5G": 3 << 29, "1000000": 1e6,
		"20MB": 20e6, "64 mib": 64 << 20, "0": 0}
	for in, want := range cases {
		got, err := ParseBytes(in)
		if err != nil || got != want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "lots", "-1GiB", "3XB"} {
		if _, err := ParseBytes(bad); err == nil {
			t.Errorf("ParseBytes(%q) succeeded; want an error", bad)
		}
	}
}
