package homegen

import (
	"math"
	"math/rand/v2"
)

// kind is the shape of a generated repository.
type kind int

const (
	kindPushed kind = iota // a few packs, loose refs
	kindGC                 // one pack, packed refs
	kindLoose              // packed history plus thousands of loose objects
	kindRefs               // thousands of loose pull-request refs
	kindFork               // objects borrowed from the origin via alternates
)

func (k kind) String() string {
	return [...]string{"pushed", "gc", "loose", "refs", "fork"}[k]
}

// repoSpec is the plan of one repository.
type repoSpec struct {
	ID     int
	Kind   kind
	Bytes  int64  // the size its own objects should reach on disk
	Origin int    // forks: the ID of the repository they were forked from
	Seed   uint64 // everything in the repository derives from it
}

// plan decides every repository's shape and size from the options alone.
func plan(o Options) []repoSpec {
	rng := rand.New(rand.NewPCG(o.Seed, 0x9e3779b97f4a7c15))
	forks := max(1, o.Repos/10)
	origins := o.Repos - forks
	specs := make([]repoSpec, 0, o.Repos)
	kinds := originKinds(origins, rng)
	sizes := repoSizes(origins, o.repoBytes()-forkBytes(o, forks), rng)
	for i := range origins {
		specs = append(specs, repoSpec{ID: i + 1, Kind: kinds[i], Bytes: sizes[i], Seed: rng.Uint64()})
	}
	for i := range forks {
		origin := specs[rng.IntN(origins)]
		specs = append(specs, repoSpec{ID: origins + i + 1, Kind: kindFork, Origin: origin.ID,
			Bytes: max(64<<10, origin.Bytes/50), Seed: rng.Uint64()})
	}
	return specs
}

// originKinds gives one repository the pull-request refs, one in ten loose
// objects and three in ten a gc; the rest stay as pushed.
func originKinds(n int, rng *rand.Rand) []kind {
	kinds := make([]kind, n)
	loose := max(1, n/10)
	gc := n * 3 / 10
	i := 0
	kinds[i] = kindRefs
	i++
	for ; i < 1+loose && i < n; i++ {
		kinds[i] = kindLoose
	}
	for ; i < 1+loose+gc && i < n; i++ {
		kinds[i] = kindGC
	}
	rng.Shuffle(n, func(a, b int) { kinds[a], kinds[b] = kinds[b], kinds[a] })
	return kinds
}

// repoSizes splits total over n repositories with a long tail, as real
// instances have: a few large repositories and many small ones.
func repoSizes(n int, total int64, rng *rand.Rand) []int64 {
	weights := make([]float64, n)
	sum := 0.0
	for i := range weights {
		weights[i] = math.Pow(float64(i+1), -0.9)
		sum += weights[i]
	}
	rng.Shuffle(n, func(a, b int) { weights[a], weights[b] = weights[b], weights[a] })
	sizes := make([]int64, n)
	for i, w := range weights {
		sizes[i] = max(48<<10, int64(float64(total)*w/sum))
	}
	return sizes
}

// forkBytes estimates what the forks add, so the origins get the rest.
func forkBytes(o Options, forks int) int64 {
	perOrigin := o.repoBytes() / int64(max(1, o.Repos-forks))
	return int64(forks) * max(64<<10, perOrigin/50)
}
