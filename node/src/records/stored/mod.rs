//! The stored forms of the node's records, one module per record family: the layout each
//! family has on disk, apart from the node's domain types (`model`, and the handles' own
//! types), which may change names and shapes without touching the disk.
//!
//! Invariant: a stored struct's field names, enum spellings and defaults are the disk format
//! of its family's current version ([`super::version::StoredRecord::VERSION`]); changing one
//! is a new version (the old layout is kept, frozen, to read what is stored), and the golden
//! tests (`records/tests/`) fail until it is. Conversions to and from the domain types match
//! every field and every enum variant exhaustively, so a new domain variant or field does not
//! compile until it has a stored form. Conversions for domain types of layers above storage
//! (peers, webhooks, API keys) live with those types.

pub(crate) mod api_key;
pub(crate) mod closed_channel;
pub(crate) mod forward;
pub(crate) mod invoice;
pub(crate) mod payment;
pub(crate) mod peer;
pub(crate) mod webhook;
