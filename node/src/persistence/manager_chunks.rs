//! The channel manager stored in content-defined chunks, so that writing it costs what changed.
//!
//! The manager barrier writes the whole manager once per batch of monitor writes, about 3.5 KB
//! per channel: at a thousand channels megabytes per batch, most of the node's disk bytes, while
//! a payment changes a few channels' part of it. Here the serialisation is cut where its content
//! says (a rolling hash over the last 64 bytes, the cut points of FastCDC), so an edit moves only
//! the cuts next to it; a chunk equal to one on disk (same checksum and length, then compared
//! byte for byte with the copy kept in memory) is referred to, not written again. The manifest
//! lists the chunks in order.
//!
//! Crash safety: a batch writes its new chunks, then the manifest, then the monitors, in that
//! order, into a store that keeps a prefix (PostgreSQL: one transaction). A chunk never changes
//! once written (ids only grow), and the chunks the previous manifest named are removed only
//! after the batch holding the next manifest is durable; so whatever prefix a crash keeps, the
//! manifest on disk names chunks that are on disk. Chunks no manifest names (a batch cut short)
//! are removed at the next start.
//!
//! Layout: `fulgur_manager/manifest`, `fulgur_manager/chunks/<id as 16 hex digits>` and
//! `fulgur_manager/edits/<sequence>`: a batch writes an edit of the list of chunks rather than
//! the whole manifest when that is certain to apply ([`manifest`]); an edit lands after its
//! chunks like a manifest does, so the crash argument is the same. A store
//! from before (the whole manager under LDK's key) is read as it is; the first chunked write
//! removes that key.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use lightning::io;
use lightning::util::persist::{
	KVStoreSync, CHANNEL_MANAGER_PERSISTENCE_KEY, CHANNEL_MANAGER_PERSISTENCE_PRIMARY_NAMESPACE,
	CHANNEL_MANAGER_PERSISTENCE_SECONDARY_NAMESPACE,
};

use crate::store::{DynStore, KeyWrite};

mod manifest;

/// The primary namespace of the chunked manager.
pub const NAMESPACE: &str = "fulgur_manager";
/// The manifest's key (secondary namespace empty).
pub const MANIFEST_KEY: &str = "manifest";
/// The chunks' secondary namespace.
pub const CHUNKS: &str = "chunks";
/// The manifest edits' secondary namespace (see [`manifest`]).
pub const EDITS: &str = "edits";

/// No cut before this many bytes of a chunk...
const MIN_CHUNK: usize = 256;
/// ...then a cut where the hash's top bits are zero (one in 1,024), so chunks average about
/// 1.3 KiB...
///
/// Why that small: under load a batch changes bytes in a hundred places or more (every HTLC in
/// flight moves a state), and each rewrites the chunk around it, which is on average
/// E[len²]/E[len] long, not E[len]: 8 KiB for 5 KiB chunks, 2.4 KiB for these. Measured on
/// the forwarding hub at 1,000 channels (`bench payments`): chunk bytes per batch 593 KB →
/// 348 KB, the whole manifest 18 KB → 65 KB (16 bytes per chunk; most batches now write an
/// edit of it instead, see [`manifest`]), 119 KB → 88 KB per payment in all.
const CUT_BITS: u32 = 10;
/// ...and never more than this.
const MAX_CHUNK: usize = 8 * 1024;
/// The rolling hash depends on the last this many bytes only.
const WINDOW: usize = 64;

/// A byte's contribution to the rolling hash: fixed pseudo-random values (splitmix64), so cut
/// points stay where they are from one run and one version to the next.
const GEAR: [u64; 256] = gear_table();

const fn gear_table() -> [u64; 256] {
	let mut table = [0u64; 256];
	let mut state: u64 = 0x6675_6c67_7572_4344; // "fulgurCD"
	let mut i = 0;
	while i < 256 {
		state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
		let mut z = state;
		z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
		z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
		table[i] = z ^ (z >> 31);
		i += 1;
	}
	table
}

/// Where `data` is cut into chunks: content-defined, each at least [`MIN_CHUNK`] bytes (but the
/// last) and at most [`MAX_CHUNK`]. What [`ManagerChunks::encode`] cuts, found by hashing alone.
#[cfg(test)]
fn cut(data: &[u8]) -> Vec<Range<usize>> {
	let mut chunks = Vec::with_capacity(data.len() / 4096 + 1);
	let mut start = 0;
	while start < data.len() {
		let end = next_cut(&data[start..]) + start;
		chunks.push(start..end);
		start = end;
	}
	chunks
}

/// The length of the chunk at the start of `data`.
fn next_cut(data: &[u8]) -> usize {
	if data.len() <= MIN_CHUNK {
		return data.len();
	}
	let limit = data.len().min(MAX_CHUNK);
	// The hash at a position depends only on the WINDOW bytes before it: start there.
	let mut hash: u64 = 0;
	for &byte in &data[MIN_CHUNK - WINDOW..MIN_CHUNK] {
		hash = (hash << 1).wrapping_add(GEAR[byte as usize]);
	}
	for (offset, &byte) in data[MIN_CHUNK..limit].iter().enumerate() {
		hash = (hash << 1).wrapping_add(GEAR[byte as usize]);
		if hash >> (64 - CUT_BITS) == 0 {
			return MIN_CHUNK + offset + 1;
		}
	}
	limit
}

fn checksum(bytes: &[u8]) -> u32 {
	crc32fast::hash(bytes)
}

fn chunk_key(id: u64) -> String {
	format!("{id:016x}")
}

/// One chunk of the manager as a manifest names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
	id: u64,
	len: u32,
	crc: u32,
}

/// The manager as last written: its bytes and the chunks they were cut into.
#[derive(Default)]
struct Written {
	bytes: Vec<u8>,
	/// Each chunk and where it lies in `bytes`.
	chunks: Vec<(Entry, Range<usize>)>,
}

/// How many leading bytes of a chunk [`Index::heads`] knows it by.
const HEAD: usize = 16;

/// Ways to find a chunk of the last manager written.
#[derive(Default)]
struct Index {
	/// By checksum and length.
	by_crc: HashMap<(u32, u32), usize>,
	/// Every chunk but the last, by its first [`HEAD`] bytes (see [`ManagerChunks::reusable`]).
	heads: HashMap<[u8; HEAD], Vec<usize>>,
}

impl Written {
	/// Where the chunk of these bytes equal to `candidate` lies, if there is one.
	fn find(&self, index: &Index, candidate: &[u8], crc: u32) -> Option<usize> {
		let position = *index.by_crc.get(&(crc, candidate.len() as u32))?;
		let (_, range) = &self.chunks[position];
		(self.bytes[range.clone()] == *candidate).then_some(position)
	}

	fn entries(&self) -> Vec<Entry> {
		self.chunks.iter().map(|(entry, _)| *entry).collect()
	}

	fn index(&self) -> Index {
		let mut index = Index {
			by_crc: HashMap::with_capacity(self.chunks.len()),
			heads: HashMap::with_capacity(self.chunks.len()),
		};
		let last = self.chunks.len().saturating_sub(1);
		for (position, (entry, range)) in self.chunks.iter().enumerate() {
			index.by_crc.entry((entry.crc, entry.len)).or_insert(position);
			let head = self.bytes[range.clone()].get(..HEAD).and_then(|h| h.try_into().ok());
			if let (true, Some(head)) = (position < last, head) {
				index.heads.entry(head).or_default().push(position);
			}
		}
		index
	}

	fn ids(&self) -> HashSet<u64> {
		self.chunks.iter().map(|(entry, _)| entry.id).collect()
	}
}

/// What one manager write puts in the store, and what the store holds once it is durable.
pub struct Encoded {
	/// The new chunks, then the manifest: written in this order, before the batch's monitors.
	pub writes: Vec<KeyWrite>,
	/// Bytes of chunk data written (the rest is referred to).
	pub chunk_bytes: usize,
	/// What the store holds once `writes` are durable.
	pub next: NextManifest,
}

/// The manager as the store holds it once an [`Encoded`]'s writes are durable.
pub struct NextManifest(Written, Wrote);

/// Which record of the list of chunks a write carries.
#[derive(Clone, Copy)]
enum Wrote {
	/// None: the manager did not change.
	Nothing,
	/// A whole manifest of this sequence and length.
	Whole { seq: u64, len: usize },
	/// An edit of this sequence and length.
	Edit { seq: u64, len: usize },
}

/// The chunked manager on disk, as the one manager writer (the barrier) keeps track of it.
pub struct ManagerChunks {
	written: Written,
	index: Index,
	next_id: u64,
	/// The whole manager under LDK's key is still in the store (a store from before chunks).
	legacy_present: bool,
	/// A write failed since the last one that landed: the manifest on disk may be that one's.
	uncertain: bool,
	/// The sequence of the record the list on disk ends with (0: none, or version 1).
	seq: u64,
	/// The sequence of the next manifest record (whole or edit); never used twice.
	next_seq: u64,
	/// The length of the whole manifest on disk; 0 when there is none of version 2 (the next
	/// record is then a whole one).
	whole_len: usize,
	/// The edits on disk since that whole manifest, by sequence, and their bytes together.
	edits: Vec<u64>,
	edit_bytes: usize,
}

impl ManagerChunks {
	/// Cuts `bytes` (a fresh serialisation) into chunks; those already on disk are referred to.
	/// Nothing changes until [`ManagerChunks::committed`]; ids used here are never used again,
	/// whether or not the writes land.
	pub fn encode(&mut self, bytes: Vec<u8>) -> Encoded {
		let mut writes = Vec::new();
		let mut chunk_bytes = 0;
		let mut chunks = Vec::with_capacity(self.written.chunks.len() + 1);
		// Where each chunk lies in the last manager (`None`: a new one), for the edit.
		let mut sources = Vec::with_capacity(self.written.chunks.len() + 1);
		// The chunk of the last manager that would come next if nothing changed here.
		let mut expected = None;
		let mut start = 0;
		while start < bytes.len() {
			let rest = &bytes[start..];
			if let Some(position) = self.reusable(rest, expected) {
				let (entry, range) = &self.written.chunks[position];
				chunks.push((*entry, start..start + range.len()));
				sources.push(Some(position));
				start += range.len();
				expected = Some(position + 1);
				continue;
			}
			let range = start..start + next_cut(rest);
			let piece = &bytes[range.clone()];
			let crc = checksum(piece);
			let found = self.written.find(&self.index, piece, crc);
			sources.push(found);
			let id = match found {
				Some(position) => self.written.chunks[position].0.id,
				None => {
					let id = self.next_id;
					self.next_id += 1;
					chunk_bytes += piece.len();
					writes.push((
						NAMESPACE.to_owned(),
						CHUNKS.to_owned(),
						chunk_key(id),
						piece.to_vec(),
					));
					id
				}
			};
			start = range.end;
			chunks.push((Entry { id, len: piece.len() as u32, crc }, range));
			expected = None;
		}
		let next = Written { bytes, chunks };
		let unchanged = next.chunks.len() == self.written.chunks.len()
			&& next.chunks.iter().zip(&self.written.chunks).all(|(a, b)| a.0 == b.0);
		// The same manager as on disk (a periodic write with nothing new): nothing to write.
		let wrote = if unchanged && !self.uncertain {
			Wrote::Nothing
		} else {
			let (record, wrote) = self.list_record(&next, &sources);
			writes.push(record);
			wrote
		};
		Encoded { writes, chunk_bytes, next: NextManifest(next, wrote) }
	}

	/// The record of `next`'s list of chunks: an edit of the list on disk when one is certain
	/// to be there and the edits since the whole manifest stay within its size, else a whole
	/// manifest.
	fn list_record(&mut self, next: &Written, sources: &[Option<usize>]) -> (KeyWrite, Wrote) {
		let seq = self.next_seq;
		self.next_seq += 1;
		let entries = next.entries();
		let total = next.bytes.len() as u64;
		// An edit only right after the record it edits: start-up replays edits in an unbroken
		// run from the whole manifest on, and drops any after a gap.
		if !self.uncertain && self.whole_len > 0 && seq == self.seq + 1 {
			let before = manifest::list_checksum(self.written.chunks.iter().map(|(e, _)| *e));
			let after = manifest::list_checksum(entries.iter().copied());
			let ops = manifest::ops(&entries, sources);
			let edit = manifest::edit(seq, before, after, total, &entries, &ops);
			if self.edit_bytes + edit.len() <= self.whole_len {
				let len = edit.len();
				let record = (NAMESPACE.to_owned(), EDITS.to_owned(), chunk_key(seq), edit);
				return (record, Wrote::Edit { seq, len });
			}
		}
		let whole = manifest::whole(seq, total, &entries);
		let len = whole.len();
		let record = (NAMESPACE.to_owned(), String::new(), MANIFEST_KEY.to_owned(), whole);
		(record, Wrote::Whole { seq, len })
	}

	/// A chunk of the last manager written that `rest` starts with, found without hashing:
	/// `expected` first, then any with the same first bytes. Equal bytes make [`next_cut`] cut
	/// there too: a cut depends only on the chunk's own bytes from its start, and every chunk
	/// but the last ended at a cut of its content or at [`MAX_CHUNK`], not at the end of the
	/// data (so the last is never reused this way). Most of an unchanged manager is compared,
	/// not hashed.
	fn reusable(&self, rest: &[u8], expected: Option<usize>) -> Option<usize> {
		let last = self.written.chunks.len().checked_sub(1)?;
		let head: [u8; HEAD] = rest.get(..HEAD)?.try_into().ok()?;
		let same_head = self.index.heads.get(&head).map(Vec::as_slice).unwrap_or_default();
		expected.filter(|&p| p < last).into_iter().chain(same_head.iter().copied()).find(|&p| {
			let range = &self.written.chunks[p].1;
			rest.get(..range.len()) == Some(&self.written.bytes[range.clone()])
		})
	}

	/// The writes that led to `next` are durable: returns the keys no longer needed (the chunks
	/// only the previous manifest named, and the whole manager of a store from before chunks),
	/// to be removed now.
	pub fn committed(&mut self, next: NextManifest) -> Vec<(String, String, String)> {
		let NextManifest(next, wrote) = next;
		let kept = next.ids();
		let mut superseded: Vec<_> = self
			.written
			.ids()
			.difference(&kept)
			.map(|&id| (NAMESPACE.to_owned(), CHUNKS.to_owned(), chunk_key(id)))
			.collect();
		if std::mem::take(&mut self.legacy_present) {
			superseded.push(legacy_key());
		}
		match wrote {
			Wrote::Nothing => {}
			Wrote::Whole { seq, len } => {
				// The edits before a whole manifest describe nothing any more.
				for seq in self.edits.drain(..) {
					superseded.push((NAMESPACE.to_owned(), EDITS.to_owned(), chunk_key(seq)));
				}
				self.whole_len = len;
				self.edit_bytes = 0;
				self.seq = seq;
			}
			Wrote::Edit { seq, len } => {
				self.edits.push(seq);
				self.edit_bytes += len;
				self.seq = seq;
			}
		}
		self.written = next;
		self.index = self.written.index();
		self.uncertain = false;
		superseded
	}

	/// The writes of the last [`ManagerChunks::encode`] failed, some may have landed: the next
	/// write has a manifest whatever it holds.
	pub fn write_failed(&mut self) {
		self.uncertain = true;
	}

	/// How many distinct chunks the manifest on disk names (equal chunks are stored once).
	pub fn chunk_count(&self) -> usize {
		self.written.ids().len()
	}

	/// The length of the manager on disk.
	pub fn manager_len(&self) -> usize {
		self.written.bytes.len()
	}
}

fn legacy_key() -> (String, String, String) {
	(
		CHANNEL_MANAGER_PERSISTENCE_PRIMARY_NAMESPACE.to_owned(),
		CHANNEL_MANAGER_PERSISTENCE_SECONDARY_NAMESPACE.to_owned(),
		CHANNEL_MANAGER_PERSISTENCE_KEY.to_owned(),
	)
}

fn invalid(what: String) -> io::Error {
	io::Error::new(io::ErrorKind::InvalidData, what)
}

/// The manager read from `store` (`None`: there is none yet), and the writer's view of it.
pub struct Loaded {
	/// The manager's serialisation.
	pub bytes: Option<Vec<u8>>,
	/// What the barrier needs to go on writing it in chunks.
	pub chunks: ManagerChunks,
}

/// The list of chunks as the store holds it: the whole manifest and the edits after it.
struct StoredList {
	/// The sequence of the last record applied (0: version 1), the whole manifest's length
	/// (0 for version 1 too, so the next record is whole), and the list after the edits, with
	/// the manager's length.
	whole: Option<(u64, usize, u64, Vec<Entry>)>,
	/// The edits applied, by sequence, and their bytes together.
	edits: Vec<u64>,
	edit_bytes: usize,
	/// Edits that describe nothing (before the whole manifest, or after a gap).
	stale_edits: Vec<u64>,
	/// The highest sequence seen.
	max_seq: u64,
}

/// Reads the whole manifest and replays the edits that follow it, each checked against the
/// list it was made from.
fn read_list(store: &DynStore) -> io::Result<StoredList> {
	let whole = match KVStoreSync::read(store, NAMESPACE, "", MANIFEST_KEY) {
		Ok(bytes) => Some((manifest::parse_whole(&bytes)?, bytes.len())),
		Err(e) if e.kind() == io::ErrorKind::NotFound => None,
		Err(e) => return Err(e),
	};
	let mut edits = Vec::new();
	for (key, bytes) in store.read_namespace(NAMESPACE, EDITS)? {
		let seq = u64::from_str_radix(&key, 16)
			.map_err(|_| invalid(format!("a channel manager manifest edit named {key:?}")))?;
		edits.push((seq, bytes));
	}
	edits.sort_unstable_by_key(|(seq, _)| *seq);
	let max_seq = edits.iter().map(|(seq, _)| *seq).chain(whole.as_ref().map(|w| w.0.seq));
	let mut list = StoredList {
		whole: None,
		edits: Vec::new(),
		edit_bytes: 0,
		stale_edits: Vec::new(),
		max_seq: max_seq.max().unwrap_or(0),
	};
	let Some((whole, whole_len)) = whole else {
		list.stale_edits = edits.into_iter().map(|(seq, _)| seq).collect();
		return Ok(list);
	};
	// Version 1 had no edits: any there describe nothing.
	let whole_len = if whole.seq == 0 { 0 } else { whole_len };
	let mut seq = whole.seq;
	let (mut total, mut entries) = (whole.total, whole.entries);
	for (edit_seq, bytes) in edits {
		if whole_len > 0 && edit_seq == seq + 1 {
			let edit = manifest::parse_edit(&bytes)?;
			if edit.seq != edit_seq {
				return Err(invalid(format!(
					"manifest edit {edit_seq:016x} says {:016x}",
					edit.seq
				)));
			}
			(total, entries) = edit.apply(&entries)?;
			seq = edit_seq;
			list.edits.push(edit_seq);
			list.edit_bytes += bytes.len();
		} else {
			list.stale_edits.push(edit_seq);
		}
	}
	list.whole = Some((seq, whole_len, total, entries));
	Ok(list)
}

/// Reads the manager: the chunks the manifest (and its edits) name, each checked against its
/// length and checksum, or the whole manager of a store from before chunks. Removes chunks and
/// edits nothing names any more (left by a batch a crash cut short, or superseded), lazily.
pub fn load(store: &DynStore) -> io::Result<Loaded> {
	let stored = stored_chunks(store)?;
	let list = read_list(store)?;
	let legacy = {
		let (p, s, k) = legacy_key();
		match KVStoreSync::read(store, &p, &s, &k) {
			Ok(bytes) => Some(bytes),
			Err(e) if e.kind() == io::ErrorKind::NotFound => None,
			Err(e) => return Err(e),
		}
	};
	let (bytes, written, seq, whole_len) = match &list.whole {
		Some((seq, whole_len, total, entries)) => {
			let written = assemble(&stored, *total, entries)?;
			(Some(written.bytes.clone()), written, *seq, *whole_len)
		}
		None => (legacy.clone(), Written::default(), 0, 0),
	};
	let referenced = written.ids();
	for &id in stored.keys().filter(|id| !referenced.contains(id)) {
		KVStoreSync::remove(store, NAMESPACE, CHUNKS, &chunk_key(id), true)?;
	}
	for &seq in &list.stale_edits {
		KVStoreSync::remove(store, NAMESPACE, EDITS, &chunk_key(seq), true)?;
	}
	let next_id = stored.keys().chain(referenced.iter()).max().map_or(0, |id| id + 1);
	let index = written.index();
	Ok(Loaded {
		bytes,
		chunks: ManagerChunks {
			written,
			index,
			next_id,
			legacy_present: legacy.is_some(),
			uncertain: false,
			seq,
			next_seq: list.max_seq + 1,
			whole_len,
			edits: list.edits,
			edit_bytes: list.edit_bytes,
		},
	})
}

/// Whether `store` holds a channel manager, chunked or whole.
pub async fn exists(store: &DynStore) -> io::Result<bool> {
	for (p, s, k) in [(NAMESPACE.to_owned(), String::new(), MANIFEST_KEY.to_owned()), legacy_key()]
	{
		match lightning::util::persist::KVStore::read(store, &p, &s, &k).await {
			Ok(_) => return Ok(true),
			Err(e) if e.kind() == io::ErrorKind::NotFound => {}
			Err(e) => return Err(e),
		}
	}
	Ok(false)
}

/// Every chunk in `store` by id, read in one go (one query on PostgreSQL, not one per chunk).
fn stored_chunks(store: &DynStore) -> io::Result<HashMap<u64, Vec<u8>>> {
	store
		.read_namespace(NAMESPACE, CHUNKS)?
		.into_iter()
		.map(|(key, value)| {
			let id = u64::from_str_radix(&key, 16)
				.map_err(|_| invalid(format!("a channel manager chunk named {key:?}")))?;
			Ok((id, value))
		})
		.collect()
}

/// The manager a list of chunks describes, put together from the `stored` chunks.
fn assemble(stored: &HashMap<u64, Vec<u8>>, total: u64, entries: &[Entry]) -> io::Result<Written> {
	let mut bytes = Vec::with_capacity(total as usize);
	let mut chunks = Vec::with_capacity(entries.len());
	for &entry in entries {
		let piece = stored.get(&entry.id).ok_or_else(|| {
			io::Error::new(
				io::ErrorKind::NotFound,
				format!("channel manager chunk {:016x}: not in the store", entry.id),
			)
		})?;
		if piece.len() != entry.len as usize || checksum(piece) != entry.crc {
			return Err(invalid(format!(
				"channel manager chunk {:016x} is not what the manifest says ({} bytes, checksum \
				 {:08x}; the manifest: {} bytes, {:08x})",
				entry.id,
				piece.len(),
				checksum(piece),
				entry.len,
				entry.crc
			)));
		}
		let start = bytes.len();
		bytes.extend_from_slice(piece);
		chunks.push((entry, start..bytes.len()));
	}
	Ok(Written { bytes, chunks })
}

/// The manager the store holds now, read without removing anything (the barrier's tests
/// check each manifest record as it lands).
#[cfg(test)]
pub(crate) fn current_for_tests(store: &DynStore) -> io::Result<Vec<u8>> {
	let list = read_list(store)?;
	let (_, _, total, entries) = list.whole.ok_or_else(|| invalid("no manifest".into()))?;
	assemble(&stored_chunks(store)?, total, &entries).map(|written| written.bytes)
}

#[cfg(test)]
mod tests;
