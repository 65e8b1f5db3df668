package repo

import (
	"context"
	"fmt"
	"strings"
	"time"

	"bbvault/internal/backend"
	"bbvault/internal/blob"
	"bbvault/internal/index"
)

// damagePrefix is where damage objects live: what reads found damaged or
// missing, so that every host stops deduplicating against it.
const damagePrefix = "damage/"

const damageVersion = 1

// damageObject is the JSON form of a damage object (docs/FORMAT.md).
type damageObject struct {
	Version int           `json:"version"`
	Time    time.Time     `json:"time"`
	Host    string        `json:"host"`
	Command string        `json:"command,omitempty"`
	Damage  []damageEntry `json:"damage"`
}

type damageEntry struct {
	Pack   blob.ID  `json:"pack"`
	Blob   *blob.ID `json:"blob,omitempty"` // absent: the whole pack
	Fault  string   `json:"fault"`          // "damaged" or "missing"
	Reason string   `json:"reason,omitempty"`
}

// saveDamageObject writes one damage object and returns its name.
func (r *Repository) saveDamageObject(ctx context.Context, ds []Damage, now time.Time, host string) (string, error) {
	obj := damageObject{Version: damageVersion, Time: now, Host: host, Command: r.dmg.command}
	for _, d := range ds {
		e := damageEntry{Pack: d.Pack, Fault: d.Fault.String(), Reason: d.Reason}
		if !d.WholePack() {
			id := d.Blob
			e.Blob = &id
		}
		obj.Damage = append(obj.Damage, e)
	}
	stored, err := r.SealJSON("damage", obj)
	if err != nil {
		return "", err
	}
	name := contentName(damagePrefix, stored)
	return name, putBytes(ctx, r.be, name, stored)
}

// loadDamageObject reads one damage object as cache rows.
func (r *Repository) loadDamageObject(ctx context.Context, name string) ([]index.DamageRow, error) {
	var obj damageObject
	if err := r.loadJSON(ctx, name, "damage", &obj); err != nil {
		return nil, err
	}
	if obj.Version != damageVersion {
		return nil, fmt.Errorf("damage object %s has unknown version %d", name, obj.Version)
	}
	noted := obj.Command + " on " + obj.Host
	rows := make([]index.DamageRow, 0, len(obj.Damage))
	for _, e := range obj.Damage {
		row := index.DamageRow{Source: name, Pack: e.Pack, Fault: int(Damaged), Time: obj.Time, Noted: noted, Reason: e.Reason}
		if e.Fault == Missing.String() {
			row.Fault = int(Missing)
		}
		if e.Blob != nil {
			row.Blob = *e.Blob
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// listDamageObjects returns the names of the repository's damage objects.
func (r *Repository) listDamageObjects(ctx context.Context) (map[string]struct{}, error) {
	names := map[string]struct{}{}
	err := r.be.List(ctx, damagePrefix, func(oi backend.ObjectInfo) error {
		names[oi.Name] = struct{}{}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list damage records: %w", err)
	}
	return names, nil
}

// syncDamage brings the cache's damage rows in line with the repository's
// damage objects (new ones from other hosts are read, retired ones
// dropped) and rebuilds the view. A damage object that cannot be read is
// left out with a warning: it only costs deduplication safety for what it
// names, which check finds again.
func (r *Repository) syncDamage(ctx context.Context) error {
	present, err := r.listDamageObjects(ctx)
	if err != nil {
		return err
	}
	have, err := r.idx.DamageSources(ctx)
	if err != nil {
		return err
	}
	var gone []string
	for src := range have {
		if _, ok := present[src]; !ok && src != index.LocalDamage {
			gone = append(gone, src)
		}
	}
	if err := r.idx.RemoveDamage(ctx, gone); err != nil {
		return err
	}
	for name := range present {
		if _, ok := have[name]; ok {
			continue
		}
		rows, err := r.loadDamageObject(ctx, name)
		if IsDamage(err) {
			r.log.Warn("damage record cannot be read; left out", "object", name, "error", err)
			continue
		}
		if err != nil {
			return err
		}
		if err := r.idx.AddDamage(ctx, rows); err != nil {
			return err
		}
	}
	return r.reloadDamage(ctx)
}

// RecordDamage records damage that maintenance found (check's reads, a
// repair's listing): in a damage object of the repository, which every
// host reads at its next index sync, and in the cache. From then on no
// snapshot deduplicates against a blob whose every copy is recorded bad:
// the next one that meets the same data stores it again. Damage already
// recorded is left out; nothing new, nothing written.
func (ps *Packs) RecordDamage(ctx context.Context, ds []Damage) error {
	return ps.r.recordDamage(ctx, ds)
}

// Damage returns the recorded damage, from every host.
func (ps *Packs) Damage(ctx context.Context) ([]DamageRecord, error) {
	rows, err := ps.r.idx.Damage(ctx)
	if err != nil {
		return nil, fmt.Errorf("read recorded damage: %w", err)
	}
	out := make([]DamageRecord, len(rows))
	for i, row := range rows {
		out[i] = DamageRecord{Damage: Damage{Pack: row.Pack, Blob: row.Blob, Fault: Fault(row.Fault), Reason: row.Reason},
			Source: row.Source, Time: row.Time, Noted: row.Noted}
	}
	return out, nil
}

// Suspect reports whether the index lists the blob but every copy it lists
// is recorded bad: the repository cannot vouch for it.
func (ps *Packs) Suspect(id blob.ID) bool { return ps.r.damage().suspect(id) }

// BadCopy reports whether the copy of blob id in pack is recorded bad (the
// copy itself, or the whole pack).
func (ps *Packs) BadCopy(pack, id blob.ID) bool { return ps.r.damage().badCopy(pack, id) }

// PackDamaged reports whether damage is recorded in the pack, whole or in
// any blob's copy.
func (ps *Packs) PackDamaged(pack blob.ID) bool {
	v := ps.r.damage()
	_, whole := v.whole[pack]
	return whole || len(v.copies[pack]) > 0
}

// RetireDamage forgets the damage records about packs that are gone: no
// index lists them (present says whether the backend still holds them, from
// one listing). A damage object is deleted once every pack it names is
// gone; records of this host alone likewise. It returns how many damage
// objects it deleted. Call it under the exclusive lock, after the index
// objects that stopped listing the packs are written.
func (ps *Packs) RetireDamage(ctx context.Context, present map[blob.ID]int64) (int, error) {
	r := ps.r
	indexed, err := r.idx.PackSizes(ctx)
	if err != nil {
		return 0, err
	}
	rows, err := r.idx.Damage(ctx)
	if err != nil {
		return 0, err
	}
	live := map[string]bool{}
	var localGone []blob.ID
	for _, row := range rows {
		_, listed := indexed[row.Pack]
		_, stored := present[row.Pack]
		alive := listed || stored
		live[row.Source] = live[row.Source] || alive
		if !alive && row.Source == index.LocalDamage {
			localGone = append(localGone, row.Pack)
		}
	}
	var retired []string
	for src, alive := range live {
		if !alive && strings.HasPrefix(src, damagePrefix) {
			if err := r.be.Delete(ctx, src); err != nil {
				return len(retired), fmt.Errorf("delete damage record %s: %w", src, err)
			}
			retired = append(retired, src)
		}
	}
	if err := r.idx.RemoveDamage(ctx, retired); err != nil {
		return len(retired), err
	}
	if err := r.idx.RemoveLocalDamage(ctx, localGone); err != nil {
		return len(retired), err
	}
	return len(retired), r.reloadDamage(ctx)
}
