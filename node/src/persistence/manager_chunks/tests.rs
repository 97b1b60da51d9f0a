//! Chunking, reading back, and what a crash at any point of a write leaves.

use lightning::util::persist::KVStoreSync;

use super::*;
use crate::store::MemoryStore;

/// Bytes that look like a serialisation: no long repeats, deterministic.
fn manager_like(len: usize, seed: u32) -> Vec<u8> {
	let mut state = seed.wrapping_mul(0x9e37_79b9) | 1;
	(0..len)
		.map(|_| {
			state ^= state << 13;
			state ^= state >> 17;
			state ^= state << 5;
			(state >> 24) as u8
		})
		.collect()
}

fn apply(store: &MemoryStore, writes: &[KeyWrite]) {
	for (p, s, k, v) in writes {
		KVStoreSync::write(store, p, s, k, v.clone()).expect("write");
	}
}

fn remove(store: &MemoryStore, keys: Vec<(String, String, String)>) {
	for (p, s, k) in keys {
		KVStoreSync::remove(store, &p, &s, &k, false).expect("remove");
	}
}

/// Encodes `bytes`, applies every write, commits and removes what it superseded.
fn write(store: &MemoryStore, chunks: &mut ManagerChunks, bytes: Vec<u8>) -> usize {
	let encoded = chunks.encode(bytes);
	apply(store, &encoded.writes);
	let written = encoded.chunk_bytes;
	remove(store, chunks.committed(encoded.next));
	written
}

fn stored_chunks(store: &MemoryStore) -> usize {
	KVStoreSync::list(store, NAMESPACE, CHUNKS).expect("list").len()
}

#[test]
fn cuts_are_bounded_and_cover_everything() {
	let data = manager_like(1 << 20, 1);
	let ranges = cut(&data);
	assert_eq!(ranges.first().map(|r| r.start), Some(0));
	assert_eq!(ranges.last().map(|r| r.end), Some(data.len()));
	assert!(ranges.windows(2).all(|w| w[0].end == w[1].start));
	let (last, rest) = ranges.split_last().expect("chunks");
	assert!(rest.iter().all(|r| (MIN_CHUNK..=MAX_CHUNK).contains(&r.len())));
	assert!(last.len() <= MAX_CHUNK);
	let average = data.len() / ranges.len();
	assert!((768..2048).contains(&average), "average chunk {average} bytes");
	// Runs of one byte value (no content to cut on) still end at the maximum.
	assert!(cut(&vec![0u8; 200_000]).iter().all(|r| r.len() <= MAX_CHUNK));
	assert_eq!(cut(&[]), Vec::<Range<usize>>::new());
	assert_eq!(cut(&[7; 10]), vec![0..10]);
}

#[test]
fn a_manager_reads_back_as_written_and_an_edit_writes_only_around_it() {
	let store = MemoryStore::new();
	let mut chunks = load(&store).expect("load").chunks;
	let first = manager_like(1 << 20, 2);
	assert_eq!(write(&store, &mut chunks, first.clone()), first.len());
	assert_eq!(load(&store).expect("load").bytes.as_deref(), Some(&first[..]));

	// A few bytes changed in two places and some inserted in a third: what a payment does to
	// two channels and the manager's own state.
	let mut second = first.clone();
	second[100_000..100_040].copy_from_slice(&[9; 40]);
	second[700_000] ^= 0xff;
	second.splice(400_000..400_000, manager_like(300, 3));
	let written = write(&store, &mut chunks, second.clone());
	assert!(written <= 3 * 2 * MAX_CHUNK, "{written} bytes written for three edits");
	assert!(written < first.len() / 20, "{written} bytes written for three edits");
	let loaded = load(&store).expect("load");
	assert_eq!(loaded.bytes.as_deref(), Some(&second[..]));
	// Only what the manifest names is left.
	assert_eq!(stored_chunks(&store), loaded.chunks.chunk_count());

	// Unchanged: nothing to write at all.
	let encoded = chunks.encode(second.clone());
	assert_eq!(encoded.chunk_bytes, 0);
	assert!(encoded.writes.is_empty());
	assert!(chunks.committed(encoded.next).is_empty());
	assert_eq!(load(&store).expect("load").bytes.as_deref(), Some(&second[..]));
}

#[test]
fn chunks_found_by_comparison_are_cut_where_hashing_would_cut() {
	let store = MemoryStore::new();
	let mut chunks = load(&store).expect("load").chunks;
	let mut bytes = manager_like(600_000, 4);
	type Edit = Box<dyn Fn(&mut Vec<u8>)>;
	let mut edits: Vec<Edit> = vec![
		Box::new(|b| b[250_000] ^= 1),
		Box::new(|b| b.splice(10..10, manager_like(5_000, 5)).for_each(drop)),
		Box::new(|b| b.truncate(b.len() - 7_000)),
		Box::new(|b| b.extend(manager_like(40_000, 6))),
		Box::new(|b| {
			// The same content twice: both copies refer to the same chunks.
			let copy = b[100_000..200_000].to_vec();
			b.splice(300_000..300_000, copy).for_each(drop);
		}),
		Box::new(|b| b.drain(..3_000).for_each(drop)),
		Box::new(|b| b.truncate(500)),
	];
	edits.insert(0, Box::new(|_| {}));
	for (round, edit) in edits.iter().enumerate() {
		edit(&mut bytes);
		let encoded = chunks.encode(bytes.clone());
		let ranges: Vec<_> = encoded.next.0.chunks.iter().map(|(_, r)| r.clone()).collect();
		assert_eq!(ranges, cut(&bytes), "round {round}");
		apply(&store, &encoded.writes);
		remove(&store, chunks.committed(encoded.next));
		assert_eq!(load(&store).expect("load").bytes.as_deref(), Some(&bytes[..]), "round {round}");
	}
}

#[test]
fn whatever_prefix_of_a_write_a_crash_keeps_reads_as_one_whole_manager() {
	let first = manager_like(300_000, 4);
	let mut second = first.clone();
	second[150_000..150_100].copy_from_slice(&[1; 100]);
	second.extend_from_slice(&manager_like(20_000, 5));

	let base = MemoryStore::new();
	let mut chunks = load(&base).expect("load").chunks;
	write(&base, &mut chunks, first.clone());
	let encoded = chunks.encode(second.clone());
	assert!(encoded.writes.len() > 2);
	assert_eq!(list_record(&encoded).0, EDITS, "the second write's list is an edit");
	for kept in 0..=encoded.writes.len() {
		let store = MemoryStore::new();
		write(&store, &mut load(&store).expect("load").chunks, first.clone());
		apply(&store, &encoded.writes[..kept]);
		let loaded = load(&store).expect("load after a crash");
		let expected = if kept == encoded.writes.len() { &second } else { &first };
		assert_eq!(loaded.bytes.as_deref(), Some(&expected[..]), "{kept} writes kept");
		// The chunks of the cut-short write are gone again at start.
		assert_eq!(stored_chunks(&store), loaded.chunks.chunk_count(), "{kept} writes kept");
	}
}

#[test]
fn a_write_that_failed_never_has_its_ids_used_again() {
	let store = MemoryStore::new();
	let mut chunks = load(&store).expect("load").chunks;
	let first = manager_like(200_000, 6);
	write(&store, &mut chunks, first.clone());
	// The second write lands whole (manifest too) but the batch is reported failed: the writer
	// still believes the first manifest is on disk.
	let mut second = first.clone();
	second[10] ^= 1;
	let failed = chunks.encode(second);
	apply(&store, &failed.writes);
	chunks.write_failed();
	// The third, based on the first, must not overwrite a chunk the second's manifest names...
	let mut third = first.clone();
	third[190_000] ^= 1;
	write(&store, &mut chunks, third.clone());
	// ...and reads back whole, whatever the failed write left behind.
	let loaded = load(&store).expect("load");
	assert_eq!(loaded.bytes.as_deref(), Some(&third[..]));
	assert_eq!(stored_chunks(&store), loaded.chunks.chunk_count());

	// After a failure even an unchanged manager writes its manifest: the failed write's may be
	// the one on disk.
	let failed = chunks.encode(first.clone());
	apply(&store, &failed.writes);
	chunks.write_failed();
	let again = chunks.encode(third.clone());
	assert_eq!(again.chunk_bytes, 0);
	assert_eq!(again.writes.len(), 1, "the manifest");
	apply(&store, &again.writes);
	remove(&store, chunks.committed(again.next));
	assert_eq!(load(&store).expect("load").bytes.as_deref(), Some(&third[..]));
}

#[test]
fn a_damaged_or_missing_chunk_is_an_error_never_another_manager() {
	let store = MemoryStore::new();
	let mut chunks = load(&store).expect("load").chunks;
	write(&store, &mut chunks, manager_like(100_000, 7));
	let names = KVStoreSync::list(&store, NAMESPACE, CHUNKS).expect("list");
	let victim = &names[names.len() / 2];
	let mut bytes = KVStoreSync::read(&store, NAMESPACE, CHUNKS, victim).expect("read");
	bytes[0] ^= 1;
	KVStoreSync::write(&store, NAMESPACE, CHUNKS, victim, bytes).expect("write");
	let damaged = load(&store).err().expect("a damaged chunk is refused");
	assert!(damaged.to_string().contains(victim.as_str()), "{damaged}");

	KVStoreSync::remove(&store, NAMESPACE, CHUNKS, victim, false).expect("remove");
	let missing = load(&store).err().expect("a missing chunk is refused");
	assert_eq!(missing.kind(), io::ErrorKind::NotFound, "{missing}");

	KVStoreSync::write(&store, NAMESPACE, "", MANIFEST_KEY, vec![2, 0, 0]).expect("write");
	assert_eq!(load(&store).err().map(|e| e.kind()), Some(io::ErrorKind::InvalidData));
}

#[tokio::test]
async fn a_whole_manager_from_before_chunks_is_read_then_replaced() {
	let store = MemoryStore::new();
	let (p, s, k) = legacy_key();
	let whole = manager_like(50_000, 8);
	KVStoreSync::write(&store, &p, &s, &k, whole.clone()).expect("write");
	assert!(exists(&store).await.expect("exists"));
	let loaded = load(&store).expect("load");
	assert_eq!(loaded.bytes.as_deref(), Some(&whole[..]));
	let mut chunks = loaded.chunks;
	write(&store, &mut chunks, whole.clone());
	let err = KVStoreSync::read(&store, &p, &s, &k).expect_err("the whole manager is removed");
	assert_eq!(err.kind(), io::ErrorKind::NotFound);
	assert_eq!(load(&store).expect("load").bytes.as_deref(), Some(&whole[..]));
	assert!(exists(&store).await.expect("exists"));
	assert!(!exists(&MemoryStore::new()).await.expect("exists"));
}

fn edit_keys(store: &MemoryStore) -> Vec<String> {
	KVStoreSync::list(store, NAMESPACE, EDITS).expect("list")
}

/// The list record of an encode: (secondary namespace, bytes).
fn list_record(encoded: &Encoded) -> (String, usize) {
	let (_, s, _, v) = encoded.writes.last().expect("a list record");
	(s.clone(), v.len())
}

#[test]
fn small_changes_write_edits_and_a_whole_manifest_replaces_them_once_they_add_up() {
	let store = MemoryStore::new();
	let mut chunks = load(&store).expect("load").chunks;
	let mut bytes = manager_like(400_000, 9);
	let first = chunks.encode(bytes.clone());
	let (kind, whole_len) = list_record(&first);
	assert_eq!(kind, "", "the first record is a whole manifest");
	apply(&store, &first.writes);
	remove(&store, chunks.committed(first.next));
	let (mut edits, mut wholes) = (0, 0);
	for round in 0..200usize {
		bytes[(round * 7_919) % 390_000] ^= 0x5a;
		let encoded = chunks.encode(bytes.clone());
		let (kind, len) = list_record(&encoded);
		if kind == EDITS {
			edits += 1;
			assert!(len < whole_len / 20, "an edit of {len} bytes, the manifest {whole_len}");
		} else {
			wholes += 1;
		}
		apply(&store, &encoded.writes);
		remove(&store, chunks.committed(encoded.next));
		let loaded = load(&store).expect("load");
		assert_eq!(loaded.bytes.as_deref(), Some(&bytes[..]), "round {round}");
		assert_eq!(stored_chunks(&store), loaded.chunks.chunk_count(), "round {round}");
		if kind != EDITS {
			assert!(edit_keys(&store).is_empty(), "a whole manifest leaves no edit behind");
		}
	}
	assert!(edits > 100 && wholes >= 1, "{edits} edits, {wholes} whole manifests");
}

#[test]
fn a_damaged_edit_is_an_error_and_an_edit_before_the_manifest_is_dropped() {
	let store = MemoryStore::new();
	let mut chunks = load(&store).expect("load").chunks;
	let mut bytes = manager_like(100_000, 10);
	write(&store, &mut chunks, bytes.clone());
	bytes[5_000] ^= 1;
	write(&store, &mut chunks, bytes.clone());
	let names = edit_keys(&store);
	assert_eq!(names.len(), 1, "{names:?}");
	let good = KVStoreSync::read(&store, NAMESPACE, EDITS, &names[0]).expect("read");
	// Any byte changed: refused, never another manager.
	for at in [9, 13, good.len() - 1] {
		let mut damaged = good.clone();
		damaged[at] ^= 1;
		KVStoreSync::write(&store, NAMESPACE, EDITS, &names[0], damaged).expect("write");
		let e = load(&store).err().expect("a damaged edit is refused");
		assert_eq!(e.kind(), io::ErrorKind::InvalidData, "byte {at}: {e}");
	}
	KVStoreSync::write(&store, NAMESPACE, EDITS, &names[0], good).expect("write");
	assert_eq!(load(&store).expect("load").bytes.as_deref(), Some(&bytes[..]));
	// An edit older than the whole manifest (its removal cut short by a crash) is ignored,
	// then removed.
	KVStoreSync::write(&store, NAMESPACE, EDITS, &chunk_key(0), vec![1; 40]).expect("write");
	assert_eq!(load(&store).expect("load").bytes.as_deref(), Some(&bytes[..]));
	assert_eq!(edit_keys(&store), names);
}

#[test]
fn an_edit_after_a_gap_is_dropped_and_never_written_after_one() {
	let store = MemoryStore::new();
	let mut chunks = load(&store).expect("load").chunks;
	let mut bytes = manager_like(100_000, 11);
	write(&store, &mut chunks, bytes.clone());
	bytes[1_000] ^= 1;
	write(&store, &mut chunks, bytes.clone());
	// An edit further on than the run from the manifest (none is ever written so; a store
	// damaged or edited by hand): dropped at start, and the next write continues the run.
	KVStoreSync::write(&store, NAMESPACE, EDITS, &chunk_key(9), vec![1; 40]).expect("write");
	let mut chunks = load(&store).expect("load").chunks;
	assert_eq!(edit_keys(&store).len(), 1, "the stray edit is gone");
	bytes[50_000] ^= 1;
	write(&store, &mut chunks, bytes.clone());
	assert_eq!(load(&store).expect("load").bytes.as_deref(), Some(&bytes[..]));
}
