// Package tree owns the directory listing of a snapshot: the Node describing
// one entry (file, directory or symbolic link) with its metadata, and the
// deterministic binary encoding that turns a Tree into a blob. The same Tree
// always encodes to the same bytes, so a directory that did not change between
// two snapshots produces the same tree blob and is stored once.
//
// # Node fields
//
// Name and LinkTarget are raw bytes held in a string: spaces, newlines and
// invalid UTF-8 are kept as they are. Mode holds the unix permission bits plus
// setuid (04000), setgid (02000) and sticky (01000): the low 12 bits of
// st_mode (mask 07777), never the file-type bits and never os.FileMode bits.
// MTime and CTime are nanoseconds since the unix epoch (negative before 1970).
// Fifos, sockets and devices are never stored.
//
// # Encoding, version 1
//
// Two primitive forms are used:
//
//	uvarint  unsigned LEB128 exactly as encoding/binary.PutUvarint writes it:
//	         7 bits per byte, least significant group first, high bit set on
//	         every byte except the last. Only the shortest form is accepted
//	         (no trailing 0x80 ... 0x00 padding), at most 10 bytes.
//	varint   a signed integer zigzag-mapped to unsigned ((v << 1) ^ (v >> 63))
//	         and then written as a uvarint (encoding/binary.PutVarint).
//	string   uvarint byte length, then that many raw bytes.
//
// A tree blob is:
//
//	offset 0  1 byte    version, 0x01
//	          uvarint   number of nodes N
//	          N nodes, sorted by Name in ascending byte order, names unique
//
// Each node is, in this order:
//
//	string    Name: 1 or more bytes, no '/', no NUL, not "." or ".."
//	1 byte    Kind: 0x01 file, 0x02 directory, 0x03 symbolic link
//	uvarint   Mode, at most 07777
//	uvarint   UID, at most 2^32-1
//	uvarint   GID, at most 2^32-1
//	string    User (owner name at backup time, may be empty)
//	string    Group (group name at backup time, may be empty)
//	uvarint   Size in bytes, at most 2^63-1
//	varint    MTime, unix nanoseconds
//	varint    CTime, unix nanoseconds
//	uvarint   Inode
//	uvarint   Dev (device number, st_dev)
//	uvarint   Nlink, at most 2^32-1
//
// followed by the part that depends on Kind:
//
//	file:      uvarint count C, then C content blob IDs of 32 bytes each,
//	           in file order (C is 0 for an empty file)
//	directory: 32 bytes, the ID of the subtree blob (must not be all zero)
//	symlink:   string LinkTarget (1 or more bytes)
//
// The blob ends right after the last node. Decode rejects anything else: an
// unknown version or kind, a truncated field, a non-shortest varint, a value
// out of range, names out of order or duplicated, a directory without a
// subtree, an empty link target, and trailing bytes. Because every field has
// exactly one accepted form, Encode(Decode(b)) == b for every b that decodes.
//
// Encode checks the same rules (and that only files carry Content, only
// directories a Subtree, only symlinks a LinkTarget) and sorts the nodes
// itself, so the order of Tree.Nodes given to it does not matter.
package tree
