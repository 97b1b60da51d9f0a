//! Record versions: every record fulgur stores is a JSON object tagged with the version of its
//! layout, `{"v": 2, ...its fields}`. A record without `"v"` is version 1: what fulgur wrote
//! before records were versioned (main up to `4253d99`), whose fields version 2 keeps.
//!
//! Invariants: a record is read in the layout of the version it says it has, never guessed;
//! one of a version newer than this binary knows is refused with an error naming both
//! versions (the store was written by a newer fulgur), never read as if it were current; a
//! write always writes [`StoredRecord::VERSION`]. The version is a field of the record
//! itself, not a wrapper around it, so a record stays one flat object (readable in a dump,
//! and version 2 reads under fulgur before versions, which ignores the unknown `"v"`).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The version of a record without `"v"`: fulgur before records were versioned.
pub(crate) const UNVERSIONED: u32 = 1;

/// The stored form of one record family, in the layout of the version this binary writes.
pub(crate) trait StoredRecord: Serialize + DeserializeOwned {
	/// The version this binary writes; it reads every version from [`UNVERSIONED`] to this.
	const VERSION: u32;

	/// Reads a record written at `version` (at least [`UNVERSIONED`], below
	/// [`StoredRecord::VERSION`]). Version 1 has version 2's fields (where a field is newer
	/// than some version 1 records, the stored struct gives its default); a family whose
	/// layout changes keeps the older layout's struct, frozen, and reads it here.
	fn read_older(version: u32, bytes: &[u8]) -> Result<Self, serde_json::Error> {
		let _ = version;
		serde_json::from_slice(bytes)
	}
}

/// A record as read, with the version it was stored at.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Read<S> {
	/// The record, in the current layout.
	pub(crate) record: S,
	/// The version it was stored at: below the current one, it is to be rewritten.
	pub(crate) version: u32,
}

/// Why a stored record cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RecordError {
	/// Written by a newer fulgur, in a layout this binary does not know.
	Newer {
		/// The record's version.
		version: u32,
		/// The newest version this binary reads.
		known: u32,
	},
	/// Not a record of any version this binary knows (damaged, or not JSON).
	Corrupt(String),
}

impl std::fmt::Display for RecordError {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		match self {
			RecordError::Newer { version, known } => write!(
				f,
				"record version {version} is newer than this fulgur reads (up to {known}): the \
				 store was written by a newer fulgur; run that version or a later one (a store \
				 is not downgraded)"
			),
			RecordError::Corrupt(why) => write!(f, "corrupt record: {why}"),
		}
	}
}

/// Only the version of a record; every other field is skipped.
#[derive(Deserialize)]
struct Tag {
	v: Option<u32>,
}

/// The version a record says it has. Cheap enough to check before reading it whole.
pub(crate) fn version_of(bytes: &[u8]) -> Result<u32, RecordError> {
	let tag: Tag =
		serde_json::from_slice(bytes).map_err(|e| RecordError::Corrupt(e.to_string()))?;
	match tag.v {
		None => Ok(UNVERSIONED),
		Some(v) if v >= UNVERSIONED => Ok(v),
		Some(v) => Err(RecordError::Corrupt(format!("no record version {v}"))),
	}
}

/// Reads a stored record of any version this binary knows.
pub(crate) fn decode<S: StoredRecord>(bytes: &[u8]) -> Result<Read<S>, RecordError> {
	let version = version_of(bytes)?;
	let record = if version == S::VERSION {
		serde_json::from_slice(bytes)
	} else if version < S::VERSION {
		S::read_older(version, bytes)
	} else {
		return Err(RecordError::Newer { version, known: S::VERSION });
	};
	let record = record.map_err(|e| RecordError::Corrupt(format!("version {version}: {e}")))?;
	Ok(Read { record, version })
}

/// A record with its version in front of its fields.
#[derive(Serialize)]
struct Tagged<'a, S> {
	v: u32,
	#[serde(flatten)]
	record: &'a S,
}

/// The bytes of a record in the current version.
pub(crate) fn encode<S: StoredRecord>(record: &S) -> Result<Vec<u8>, serde_json::Error> {
	serde_json::to_vec(&Tagged { v: S::VERSION, record })
}

#[cfg(test)]
mod tests {
	use super::*;

	#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
	struct Note {
		text: String,
		#[serde(default)]
		pinned: bool,
	}

	impl StoredRecord for Note {
		const VERSION: u32 = 2;
	}

	/// How a family changes its layout: version 3 renamed `text` to `body`; the layout of
	/// versions 1 and 2 stays, frozen, to read what they stored.
	#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
	struct RenamedNote {
		body: String,
	}

	impl StoredRecord for RenamedNote {
		const VERSION: u32 = 3;

		fn read_older(version: u32, bytes: &[u8]) -> Result<Self, serde_json::Error> {
			let _ = version;
			let old: Note = serde_json::from_slice(bytes)?;
			Ok(RenamedNote { body: old.text })
		}
	}

	#[test]
	fn a_changed_layout_reads_the_older_ones_through_their_frozen_form() {
		for old in [&br#"{"text":"a"}"#[..], br#"{"v":2,"text":"a","pinned":false}"#] {
			let read = decode::<RenamedNote>(old).expect("older");
			assert_eq!(read.record, RenamedNote { body: "a".into() });
			assert!(read.version < RenamedNote::VERSION);
		}
		let current = encode(&RenamedNote { body: "b".into() }).expect("encode");
		assert_eq!(current, br#"{"v":3,"body":"b"}"#);
		assert_eq!(decode::<RenamedNote>(&current).expect("current").version, 3);
	}

	#[test]
	fn versions_are_read_as_written_and_newer_ones_refused() {
		let current = encode(&Note { text: "a".into(), pinned: true }).expect("encode");
		assert_eq!(
			String::from_utf8(current.clone()).expect("utf8"),
			r#"{"v":2,"text":"a","pinned":true}"#
		);
		let read = decode::<Note>(&current).expect("current");
		assert_eq!(read, Read { record: Note { text: "a".into(), pinned: true }, version: 2 });
		// Unversioned: version 1, and a field it lacks takes its default.
		let old = decode::<Note>(br#"{"text":"b"}"#).expect("old");
		assert_eq!(old, Read { record: Note { text: "b".into(), pinned: false }, version: 1 });
		let newer = decode::<Note>(br#"{"v":3,"text":"c","color":"red"}"#);
		assert_eq!(newer, Err(RecordError::Newer { version: 3, known: 2 }));
		let message = newer.expect_err("newer").to_string();
		assert!(message.contains("version 3") && message.contains("up to 2"), "{message}");
		for bad in [&br#"{"v":0,"text":"d"}"#[..], b"{\"v\":\"2\"}", b"not json", br#"{"v":2}"#] {
			assert!(matches!(decode::<Note>(bad), Err(RecordError::Corrupt(_))), "{bad:?}");
		}
	}
}
