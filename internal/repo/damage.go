package repo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"bbvault/internal/blob"
	"bbvault/internal/index"
)

// Damage is one thing a read found wrong in a pack: the whole pack
// (missing, shorter or longer than the index says, header unreadable) or
// one copy of a blob in it (it does not decrypt or hash to its ID).
type Damage struct {
	Pack   blob.ID
	Blob   blob.ID // zero: the whole pack
	Fault  Fault   // Damaged or Missing
	Reason string
}

// WholePack reports whether the damage is about the whole pack.
func (d Damage) WholePack() bool { return d.Blob.IsNull() }

// DamageRecord is recorded damage with where it is recorded and who noted
// it.
type DamageRecord struct {
	Damage
	Source string    // the damage object (damage/<hex>), or index.LocalDamage
	Time   time.Time // when it was noted
	Noted  string    // the command and host that noted it
}

// damageView is the damage known at one moment, for the hot paths: the
// writer's dedup decision asks suspect for every chunk, reads order copies
// by badCopy. It is replaced whole, never changed.
type damageView struct {
	whole  map[blob.ID]Fault                // packs damaged or missing as a whole
	copies map[blob.ID]map[blob.ID]struct{} // pack → blobs whose copy there is bad
	// suspects are the blobs the index lists whose every listed copy is
	// known bad: the repository cannot vouch for them.
	suspects map[blob.ID]struct{}
}

var emptyDamage = &damageView{}

func (v *damageView) badCopy(pack, id blob.ID) bool {
	if _, ok := v.whole[pack]; ok {
		return true
	}
	_, ok := v.copies[pack][id]
	return ok
}

func (v *damageView) suspect(id blob.ID) bool {
	_, ok := v.suspects[id]
	return ok
}

func (v *damageView) empty() bool { return len(v.whole) == 0 && len(v.copies) == 0 }

// damageState holds the current view; mu serialises recording and reloads.
type damageState struct {
	mu      sync.Mutex
	view    atomic.Pointer[damageView]
	command string // noted in damage records: what this process runs
}

// damage returns the damage known now (never nil).
func (r *Repository) damage() *damageView {
	if v := r.dmg.view.Load(); v != nil {
		return v
	}
	return emptyDamage
}

// reloadDamage builds the view again from the cache.
func (r *Repository) reloadDamage(ctx context.Context) error {
	r.dmg.mu.Lock()
	defer r.dmg.mu.Unlock()
	return r.reloadDamageLocked(ctx)
}

func (r *Repository) reloadDamageLocked(ctx context.Context) error {
	rows, err := r.idx.Damage(ctx)
	if err != nil {
		return fmt.Errorf("read recorded damage: %w", err)
	}
	v := &damageView{whole: map[blob.ID]Fault{}, copies: map[blob.ID]map[blob.ID]struct{}{}}
	for _, row := range rows {
		if row.WholePack() {
			v.whole[row.Pack] = Fault(row.Fault)
			continue
		}
		if v.copies[row.Pack] == nil {
			v.copies[row.Pack] = map[blob.ID]struct{}{}
		}
		v.copies[row.Pack][row.Blob] = struct{}{}
	}
	if v.suspects, err = r.suspectsOf(ctx, v); err != nil {
		return err
	}
	r.dmg.view.Store(v)
	return nil
}

// suspectsOf finds the blobs of damaged packs that have no other copy the
// view does not call bad.
func (r *Repository) suspectsOf(ctx context.Context, v *damageView) (map[blob.ID]struct{}, error) {
	cands := map[blob.ID]struct{}{}
	for pack := range v.whole {
		p, err := r.idx.Pack(ctx, pack)
		if errors.Is(err, index.ErrNotFound) {
			continue // no index lists it any more
		}
		if err != nil {
			return nil, fmt.Errorf("recorded damage: %w", err)
		}
		for _, b := range p.Blobs {
			cands[b.ID] = struct{}{}
		}
	}
	for _, ids := range v.copies {
		for id := range ids {
			cands[id] = struct{}{}
		}
	}
	out := map[blob.ID]struct{}{}
	for id := range cands {
		locs, err := r.idx.Lookup(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("recorded damage: %w", err)
		}
		if len(locs) > 0 && allBad(v, locs) {
			out[id] = struct{}{}
		}
	}
	return out, nil
}

func allBad(v *damageView, locs []index.Location) bool {
	for _, l := range locs {
		if !v.badCopy(l.Pack, l.ID) {
			return false
		}
	}
	return true
}

// recordDamage records what is not known yet: in a damage object in the
// repository, so that every host learns of it, and in the cache. When the
// object cannot be written (read-only credentials, a failing backend), the
// damage is recorded on this host alone, with a warning.
func (r *Repository) recordDamage(ctx context.Context, ds []Damage) error {
	r.dmg.mu.Lock()
	defer r.dmg.mu.Unlock()
	fresh := r.unknownDamage(ds)
	if len(fresh) == 0 {
		return nil
	}
	now := time.Now().UTC()
	host, _ := os.Hostname()
	noted := r.dmg.command + " on " + host
	source, err := r.saveDamageObject(ctx, fresh, now, host)
	if err != nil {
		r.log.Warn("could not record the damage in the repository; only this host knows of it", "error", err)
		source = index.LocalDamage
	}
	rows := make([]index.DamageRow, len(fresh))
	for i, d := range fresh {
		rows[i] = index.DamageRow{Source: source, Pack: d.Pack, Blob: d.Blob, Fault: int(d.Fault),
			Time: now, Noted: noted, Reason: d.Reason}
	}
	if err := r.idx.AddDamage(ctx, rows); err != nil {
		return fmt.Errorf("record damage in the cache: %w", err)
	}
	return r.reloadDamageLocked(ctx)
}

// unknownDamage drops what the view already holds, and repeats.
func (r *Repository) unknownDamage(ds []Damage) []Damage {
	v := r.damage()
	seen := map[[2]blob.ID]bool{}
	var out []Damage
	for _, d := range ds {
		key := [2]blob.ID{d.Pack, d.Blob}
		_, whole := v.whole[d.Pack]
		if seen[key] || whole || (!d.WholePack() && v.badCopy(d.Pack, d.Blob)) {
			continue
		}
		seen[key] = true
		out = append(out, d)
	}
	return out
}

// noteReadFailure records what a failed read of the copy at loc says about
// the pack: a missing or truncated pack as a whole, a copy that does not
// verify as that copy. Failures that say nothing about the data (the
// backend out of reach, a cancelled context) record nothing. Recording is
// best effort: a failure to record is logged, the read's error stands.
func (r *Repository) noteReadFailure(ctx context.Context, loc index.Location, err error) {
	d, ok := damageOf(loc, err)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	if rerr := r.recordDamage(ctx, []Damage{d}); rerr != nil {
		r.log.Warn("could not record damage", "pack", loc.Pack.Short(), "error", rerr)
	}
}

// recordTimeout bounds the writing of a damage record after a failed read:
// the read has failed already, and the record is a help for later runs.
const recordTimeout = 30 * time.Second

// damageOf says what a read error means for the pack at loc.
func damageOf(loc index.Location, err error) (Damage, bool) {
	fault := Classify(err)
	switch {
	case fault == Transient || errors.Is(err, ErrBlobNotFound):
		return Damage{}, false
	case fault == Missing:
		return Damage{Pack: loc.Pack, Fault: Missing, Reason: err.Error()}, true
	case isTruncation(err):
		return Damage{Pack: loc.Pack, Fault: Damaged, Reason: err.Error()}, true
	case loc.ID.IsNull():
		return Damage{}, false
	}
	return Damage{Pack: loc.Pack, Blob: loc.ID, Fault: Damaged, Reason: err.Error()}, true
}

// preferIntact orders copies so that those known bad come last.
func (r *Repository) preferIntact(locs []index.Location) []index.Location {
	v := r.damage()
	if v.empty() || len(locs) < 2 {
		return locs
	}
	out := make([]index.Location, 0, len(locs))
	var bad []index.Location
	for _, l := range locs {
		if v.badCopy(l.Pack, l.ID) {
			bad = append(bad, l)
		} else {
			out = append(out, l)
		}
	}
	return append(out, bad...)
}
