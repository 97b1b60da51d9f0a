//! Two facts a tower client needs that LDK keeps private, read from LDK's own serialization
//! (versioned and kept readable across releases, so its layout is a stable contract):
//!
//! - the per-commitment secrets a [`ChannelMonitorUpdate`] reveals: the revocation key of
//!   the counterparty's HTLC outputs is derived from them, and LDK signs only `to_local`;
//! - a monitor's `channel_keys_id` and revocation basepoint, to derive our revocation base
//!   key from the keys manager.
//!
//! Every result is checked against public data by the caller (the secret against the
//! commitment's per-commitment point, the key against the basepoint), so a layout change
//! shows up as a refused appointment, never as a wrong signature.

use bitcoin::secp256k1::PublicKey;
use lightning::chain::channelmonitor::{ChannelMonitor, ChannelMonitorUpdate};
use lightning::io;
use lightning::sign::ecdsa::EcdsaChannelSigner;
use lightning::util::ser::{BigSize, Readable, Writeable, Writer};

/// The `CommitmentSecret` variant of `ChannelMonitorUpdateStep`.
const COMMITMENT_SECRET_STEP: u8 = 3;
/// Its TLV fields.
const SECRET_IDX_TYPE: u64 = 0;
const SECRET_TYPE: u64 = 2;
/// How much of a serialized monitor holds everything up to the revocation basepoint.
const MONITOR_PREFIX_LIMIT: usize = 1024;

/// A per-commitment secret the counterparty revealed: its commitment number and the secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RevealedSecret {
	/// Commitment number (LDK's, counting down from 2^48 - 1).
	pub commitment_number: u64,
	/// The per-commitment secret.
	pub secret: [u8; 32],
}

/// The per-commitment secrets an update reveals, in order.
pub fn revealed_secrets(update: &ChannelMonitorUpdate) -> Result<Vec<RevealedSecret>, String> {
	let bytes = update.encode();
	let mut reader = io::Cursor::new(&bytes[..]);
	let err = |what: &str| format!("monitor update {}: unreadable {what}", update.update_id);
	let _versions: (u8, u8) = read_pair(&mut reader).ok_or_else(|| err("version"))?;
	let _update_id: u64 = Readable::read(&mut reader).map_err(|_| err("update id"))?;
	let steps: u64 = Readable::read(&mut reader).map_err(|_| err("step count"))?;
	let mut found = Vec::new();
	for _ in 0..steps {
		let variant: u8 = Readable::read(&mut reader).map_err(|_| err("step kind"))?;
		let BigSize(len) = Readable::read(&mut reader).map_err(|_| err("step length"))?;
		let start = reader.position() as usize;
		let end = start.checked_add(len as usize).filter(|end| *end <= bytes.len());
		let end = end.ok_or_else(|| err("step body"))?;
		if variant == COMMITMENT_SECRET_STEP {
			found.push(read_secret(&bytes[start..end]).ok_or_else(|| err("commitment secret"))?);
		}
		reader.set_position(end as u64);
	}
	Ok(found)
}

/// The fields of a `CommitmentSecret` step's TLV stream.
fn read_secret(mut tlvs: &[u8]) -> Option<RevealedSecret> {
	let (mut idx, mut secret) = (None, None);
	while !tlvs.is_empty() {
		let BigSize(kind) = Readable::read(&mut tlvs).ok()?;
		let BigSize(len) = Readable::read(&mut tlvs).ok()?;
		let len = usize::try_from(len).ok().filter(|len| *len <= tlvs.len())?;
		let (value, rest) = tlvs.split_at(len);
		match (kind, len) {
			(SECRET_IDX_TYPE, 8) => idx = Some(u64::from_be_bytes(value.try_into().ok()?)),
			(SECRET_TYPE, 32) => secret = Some(value.try_into().ok()?),
			_ => {}
		}
		tlvs = rest;
	}
	Some(RevealedSecret { commitment_number: idx?, secret: secret? })
}

/// Our side's key identity in a channel, as the monitor stores it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MonitorKeys {
	/// What the keys manager derives the channel signer from.
	pub channel_keys_id: [u8; 32],
	/// Our revocation basepoint in this channel.
	pub revocation_basepoint: PublicKey,
}

/// The keys id and revocation basepoint from the head of a monitor's serialization (only the
/// first bytes are produced: the writer stops the serialization once it has them).
pub fn monitor_keys<S: EcdsaChannelSigner>(
	monitor: &ChannelMonitor<S>,
) -> Result<MonitorKeys, String> {
	let mut head = PrefixWriter(Vec::with_capacity(MONITOR_PREFIX_LIMIT));
	// The writer refuses bytes past the limit, which ends the serialization early.
	let _ = monitor.write(&mut head);
	parse_monitor_head(&head.0).ok_or_else(|| "monitor serialization unreadable".to_string())
}

fn parse_monitor_head(mut bytes: &[u8]) -> Option<MonitorKeys> {
	let r = &mut bytes;
	let _versions = read_pair(r)?;
	let _latest_update_id: u64 = Readable::read(r).ok()?;
	let _obscure_factor: ([u8; 4], u16) = (Readable::read(r).ok()?, Readable::read(r).ok()?);
	let _destination_script: bitcoin::ScriptBuf = Readable::read(r).ok()?;
	let has_broadcast_revokable: u8 = Readable::read(r).ok()?;
	if has_broadcast_revokable == 0 {
		let _script: bitcoin::ScriptBuf = Readable::read(r).ok()?;
		let _key: PublicKey = Readable::read(r).ok()?;
		let _revocation_key: PublicKey = Readable::read(r).ok()?;
	}
	let _counterparty_payment_script: bitcoin::ScriptBuf = Readable::read(r).ok()?;
	let _shutdown_script: bitcoin::ScriptBuf = Readable::read(r).ok()?;
	let channel_keys_id: [u8; 32] = Readable::read(r).ok()?;
	let revocation_basepoint: PublicKey = Readable::read(r).ok()?;
	Some(MonitorKeys { channel_keys_id, revocation_basepoint })
}

/// Two single bytes (a serialization version prefix).
fn read_pair<R: io::Read>(r: &mut R) -> Option<(u8, u8)> {
	Some((Readable::read(r).ok()?, Readable::read(r).ok()?))
}

/// Collects at most [`MONITOR_PREFIX_LIMIT`] bytes, then refuses more.
struct PrefixWriter(Vec<u8>);

impl Writer for PrefixWriter {
	fn write_all(&mut self, buf: &[u8]) -> Result<(), io::Error> {
		let room = MONITOR_PREFIX_LIMIT - self.0.len();
		self.0.extend_from_slice(&buf[..buf.len().min(room)]);
		if buf.len() > room {
			return Err(io::Error::new(io::ErrorKind::Other, "prefix collected"));
		}
		Ok(())
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_secret_step_is_read_from_its_tlv_stream() {
		let secret = [7u8; 32];
		let mut tlvs = vec![0u8, 8];
		tlvs.extend_from_slice(&0xffff_ffff_fffeu64.to_be_bytes());
		tlvs.extend_from_slice(&[2u8, 32]);
		tlvs.extend_from_slice(&secret);
		let read = read_secret(&tlvs).expect("readable");
		assert_eq!(read, RevealedSecret { commitment_number: 0xffff_ffff_fffe, secret });
		assert_eq!(read_secret(&tlvs[..tlvs.len() - 1]), None, "truncated stream");
	}

	#[test]
	fn secrets_come_out_of_an_update_ldk_itself_decoded() {
		let secret = [9u8; 32];
		let mut step = vec![0u8, 8];
		step.extend_from_slice(&42u64.to_be_bytes());
		step.extend_from_slice(&[2u8, 32]);
		step.extend_from_slice(&secret);
		let mut bytes = vec![1u8, 1];
		bytes.extend_from_slice(&17u64.to_be_bytes());
		bytes.extend_from_slice(&1u64.to_be_bytes());
		bytes.push(COMMITMENT_SECRET_STEP);
		bytes.push(step.len() as u8);
		bytes.extend_from_slice(&step);
		bytes.push(0);
		let update: ChannelMonitorUpdate =
			Readable::read(&mut &bytes[..]).expect("LDK reads the update");
		assert_eq!(update.update_id, 17);
		let found = revealed_secrets(&update).expect("readable");
		assert_eq!(found, vec![RevealedSecret { commitment_number: 42, secret }]);
	}
}
