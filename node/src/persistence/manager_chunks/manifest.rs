//! How the chunked manager's list of chunks is stored: a whole manifest now and then, and in
//! between, per batch, an edit of the list before it.
//!
//! Under load a batch replaces a hundred or more of a thousand-channel manager's thousands of
//! chunks; a whole manifest (16 bytes per chunk) per batch was then about a sixth of what the
//! node wrote. An edit says only what changed: runs copied from the previous list, and the
//! new entries. Edits since the last whole manifest are kept to at most that manifest's size,
//! so start-up replays little, and the next whole manifest makes them obsolete.
//!
//! Every record carries a sequence number; an edit applies to the state with the number just
//! before its own, and names that state's checksum and the one it makes, so an edit is never
//! applied to another list than the one it was cut from.
//!
//! | record | bytes |
//! |---|---|
//! | whole, version 1 (before edits) | `1`, total (u64), count (u32), entries |
//! | whole, version 2 | `2`, sequence (u64), total (u64), count (u32), entries |
//! | edit (`fulgur_manager/edits/<sequence as 16 hex digits>`) | `1`, sequence (u64), checksum before (u32), checksum after (u32), total (u64), count (u32), op count (u32), ops |
//!
//! An entry is id (u64), length (u32), checksum (u32); an op is `0`, start (u32), count (u32)
//! (that run of the previous list), or `1`, count (u32), entries (new ones). All big-endian.

use std::io;

use super::Entry;

const WHOLE_V1: u8 = 1;
const WHOLE_V2: u8 = 2;
const EDIT_VERSION: u8 = 1;
const ENTRY: usize = 8 + 4 + 4;
const COPY: u8 = 0;
const INSERT: u8 = 1;

/// A whole manifest as read: the list, the total length, and its sequence (0 for version 1).
pub(super) struct Whole {
	pub(super) seq: u64,
	pub(super) total: u64,
	pub(super) entries: Vec<Entry>,
}

/// One step of an edit.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Op {
	/// `count` entries of the previous list from `start` on.
	Copy { start: u32, count: u32 },
	/// New entries.
	Insert(Vec<Entry>),
}

/// An edit as read.
pub(super) struct Edit {
	pub(super) seq: u64,
	before: u32,
	after: u32,
	total: u64,
	count: u32,
	ops: Vec<Op>,
}

fn invalid(what: impl Into<String>) -> io::Error {
	io::Error::new(io::ErrorKind::InvalidData, what.into())
}

fn put_entry(out: &mut Vec<u8>, entry: &Entry) {
	out.extend_from_slice(&entry.id.to_be_bytes());
	out.extend_from_slice(&entry.len.to_be_bytes());
	out.extend_from_slice(&entry.crc.to_be_bytes());
}

/// The checksum of a list of entries (what an edit names before and after itself).
pub(super) fn list_checksum(entries: impl Iterator<Item = Entry>) -> u32 {
	let mut hasher = crc32fast::Hasher::new();
	let mut buf = Vec::with_capacity(ENTRY);
	for entry in entries {
		buf.clear();
		put_entry(&mut buf, &entry);
		hasher.update(&buf);
	}
	hasher.finalize()
}

/// A whole manifest of sequence `seq`.
pub(super) fn whole(seq: u64, total: u64, entries: &[Entry]) -> Vec<u8> {
	let mut out = Vec::with_capacity(1 + 8 + 8 + 4 + entries.len() * ENTRY);
	out.push(WHOLE_V2);
	out.extend_from_slice(&seq.to_be_bytes());
	out.extend_from_slice(&total.to_be_bytes());
	out.extend_from_slice(&(entries.len() as u32).to_be_bytes());
	for entry in entries {
		put_entry(&mut out, entry);
	}
	out
}

/// The ops turning the previous list into the new one; `sources[i]` is where the new list's
/// `i`th entry lies in the previous one (`None`: a new chunk).
pub(super) fn ops(entries: &[Entry], sources: &[Option<usize>]) -> Vec<Op> {
	let mut ops: Vec<Op> = Vec::new();
	for (entry, source) in entries.iter().zip(sources) {
		match (source, ops.last_mut()) {
			(Some(p), Some(Op::Copy { start, count }))
				if (*start as usize + *count as usize) == *p =>
			{
				*count += 1
			}
			(Some(p), _) => ops.push(Op::Copy { start: *p as u32, count: 1 }),
			(None, Some(Op::Insert(new))) => new.push(*entry),
			(None, _) => ops.push(Op::Insert(vec![*entry])),
		}
	}
	ops
}

/// An edit of sequence `seq` from the list with checksum `before` to `entries` (checksum
/// `after`), by `ops`.
pub(super) fn edit(
	seq: u64, before: u32, after: u32, total: u64, entries: &[Entry], ops: &[Op],
) -> Vec<u8> {
	let mut out = Vec::with_capacity(1 + 8 + 4 + 4 + 8 + 4 + 4 + ops.len() * 9);
	out.push(EDIT_VERSION);
	out.extend_from_slice(&seq.to_be_bytes());
	out.extend_from_slice(&before.to_be_bytes());
	out.extend_from_slice(&after.to_be_bytes());
	out.extend_from_slice(&total.to_be_bytes());
	out.extend_from_slice(&(entries.len() as u32).to_be_bytes());
	out.extend_from_slice(&(ops.len() as u32).to_be_bytes());
	for op in ops {
		match op {
			Op::Copy { start, count } => {
				out.push(COPY);
				out.extend_from_slice(&start.to_be_bytes());
				out.extend_from_slice(&count.to_be_bytes());
			}
			Op::Insert(new) => {
				out.push(INSERT);
				out.extend_from_slice(&(new.len() as u32).to_be_bytes());
				for entry in new {
					put_entry(&mut out, entry);
				}
			}
		}
	}
	out
}

/// Reads big-endian numbers off the front of a record.
struct Reader<'a> {
	bytes: &'a [u8],
	what: &'static str,
}

impl Reader<'_> {
	fn take(&mut self, n: usize) -> io::Result<&[u8]> {
		if self.bytes.len() < n {
			return Err(invalid(format!("the channel manager's {} is cut short", self.what)));
		}
		let (head, rest) = self.bytes.split_at(n);
		self.bytes = rest;
		Ok(head)
	}
	fn u8(&mut self) -> io::Result<u8> {
		Ok(self.take(1)?[0])
	}
	fn u32(&mut self) -> io::Result<u32> {
		let b = self.take(4)?;
		Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
	}
	fn u64(&mut self) -> io::Result<u64> {
		let b = self.take(8)?;
		Ok(u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
	}
	fn entries(&mut self, count: u32) -> io::Result<Vec<Entry>> {
		if self.bytes.len() / ENTRY < count as usize {
			return Err(invalid(format!("the channel manager's {} is cut short", self.what)));
		}
		(0..count)
			.map(|_| Ok(Entry { id: self.u64()?, len: self.u32()?, crc: self.u32()? }))
			.collect()
	}
	fn end(&self) -> io::Result<()> {
		if self.bytes.is_empty() {
			Ok(())
		} else {
			Err(invalid(format!("the channel manager's {} has bytes past its end", self.what)))
		}
	}
}

/// Reads a whole manifest, either version.
pub(super) fn parse_whole(bytes: &[u8]) -> io::Result<Whole> {
	let mut r = Reader { bytes, what: "manifest" };
	let seq = match r.u8()? {
		WHOLE_V1 => 0,
		WHOLE_V2 => r.u64()?,
		_ => return Err(invalid("the channel manager's manifest has an unknown format")),
	};
	let total = r.u64()?;
	let count = r.u32()?;
	let entries = r.entries(count)?;
	r.end()?;
	check_total(total, &entries)?;
	Ok(Whole { seq, total, entries })
}

fn check_total(total: u64, entries: &[Entry]) -> io::Result<()> {
	let sum: u64 = entries.iter().map(|e| u64::from(e.len)).sum();
	if sum != total {
		return Err(invalid(format!(
			"the channel manager's manifest says {total} bytes, its chunks {sum}"
		)));
	}
	Ok(())
}

/// Reads an edit.
pub(super) fn parse_edit(bytes: &[u8]) -> io::Result<Edit> {
	let mut r = Reader { bytes, what: "manifest edit" };
	if r.u8()? != EDIT_VERSION {
		return Err(invalid("a channel manager manifest edit has an unknown format"));
	}
	let (seq, before, after, total, count) = (r.u64()?, r.u32()?, r.u32()?, r.u64()?, r.u32()?);
	let op_count = r.u32()?;
	let mut ops = Vec::new();
	for _ in 0..op_count {
		ops.push(match r.u8()? {
			COPY => Op::Copy { start: r.u32()?, count: r.u32()? },
			INSERT => {
				let n = r.u32()?;
				Op::Insert(r.entries(n)?)
			}
			_ => return Err(invalid("a channel manager manifest edit has an unknown step")),
		});
	}
	r.end()?;
	Ok(Edit { seq, before, after, total, count, ops })
}

impl Edit {
	/// The list this edit makes of `previous`, checked against both checksums it names.
	pub(super) fn apply(&self, previous: &[Entry]) -> io::Result<(u64, Vec<Entry>)> {
		let wrong = |what: &str| {
			invalid(format!("channel manager manifest edit {:016x}: {what}", self.seq))
		};
		if list_checksum(previous.iter().copied()) != self.before {
			return Err(wrong("made for another list of chunks"));
		}
		// A damaged count must not size an allocation: at most what the ops can make.
		let inserted: usize =
			self.ops.iter().map(|op| if let Op::Insert(new) = op { new.len() } else { 0 }).sum();
		let mut entries = Vec::with_capacity((self.count as usize).min(previous.len() + inserted));
		for op in &self.ops {
			match op {
				Op::Copy { start, count } => {
					let (start, count) = (*start as usize, *count as usize);
					let run = start
						.checked_add(count)
						.and_then(|end| previous.get(start..end))
						.ok_or_else(|| wrong("copies past the end of the list"))?;
					entries.extend_from_slice(run);
				}
				Op::Insert(new) => entries.extend_from_slice(new),
			}
		}
		if entries.len() != self.count as usize
			|| list_checksum(entries.iter().copied()) != self.after
		{
			return Err(wrong("does not make the list it names"));
		}
		check_total(self.total, &entries)?;
		Ok((self.total, entries))
	}
}
