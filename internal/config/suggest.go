package config

// nearest returns the known key closest to name by edit distance, if it is
// close enough to be a typo of it.
func (t *table) nearest(name string) string {
	best, bestDist := "", len(name)/3+1
	for _, cand := range t.candidates() {
		if d := distance(name, cand); d < bestDist {
			best, bestDist = cand, d
		}
	}
	return best
}

// candidates are the names a file may use: every key that is not a secret,
// and every shared key in the section of each command that uses it.
func (t *table) candidates() []string {
	var names []string
	for i := range t.keys {
		k := &t.keys[i]
		if k.Secret {
			continue
		}
		names = append(names, k.Name)
		if !t.shared(k) {
			continue
		}
		for _, cmd := range t.users(k) {
			names = append(names, cmd+"."+k.Name)
		}
	}
	return names
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
