// Package fssnap takes atomic, read-only snapshots of the filesystems that
// hold the Bitbucket home, so that the home can be read after Bitbucket is
// unlocked (or, in zero-downtime mode, never locked) exactly as it was at
// one moment. It shells out to the tools administrators use:
//
//   - btrfs: `btrfs subvolume snapshot -r` of the subvolume holding the
//     home, into .bbvault-snapshots/ at the top of that subvolume;
//   - lvm: `lvcreate --snapshot` of the logical volume, mounted read-only
//     (`nouuid` for XFS) under /run/bbvault/snapshots;
//   - zfs: `zfs snapshot` of the dataset, read through .zfs/snapshot;
//   - cmd: the administrator's own create and release commands (EBS,
//     NetApp, Ceph, a SAN), which print where the copy is mounted.
//
// A home spread over several volumes (shared/data on a mount of its own, a
// nested btrfs subvolume) gets one snapshot per volume, all created at the
// same time; Snapshot.Path maps a path of the live home to its frozen copy
// in the right one. Mounts are found in /proc/self/mountinfo.
//
// Prepare validates everything first, changing nothing: the tools, that
// every volume is of the provider's kind, room for LVM snapshots, that the
// cmd provider's commands can run. Plan.Create then takes the snapshots
// (releasing those made if one fails) and Snapshot.Release removes them, on
// a context of its own so that it works after an interruption.
//
// Every snapshot is named after the run that made it,
// bbvault-<host>-<pid>-<process start>, so that Plan.Cleanup can tell a
// snapshot left by a killed run on this host (released) from one of a run
// still going or of another host (left alone). The process start time
// tells a dead run from a new process that reuses its ID.
//
// fssnap knows nothing of Bitbucket, the database or the repository: when
// to snapshot is internal/flow's decision.
package fssnap
