//! The justice transaction for a revoked counterparty commitment: one transaction taking the
//! `to_local` output (signed by LDK's monitor) and every HTLC output (signed here with the
//! revocation key, since LDK signs only `to_local` for watchtowers) to our wallet.
//!
//! Its fee is fixed when it is signed: a tower cannot bump it. The caller picks a generous
//! rate; HTLC outputs worth less than the fee of spending them are left out. It stays within
//! [`MAX_JUSTICE_BYTES`], which a tower's appointment limit allows: a commitment with hundreds
//! of HTLCs in flight (a channel carries up to 483) would pass it, and a tower refusing the
//! appointment would leave the whole state unwatched; the HTLC outputs of least value are left
//! out first, `to_local` never.

use bitcoin::absolute::LockTime;
use bitcoin::blockdata::opcodes::all::OP_CSV;
use bitcoin::script::Instruction;
use bitcoin::secp256k1::{Message, PublicKey, Secp256k1, SecretKey};
use bitcoin::sighash::{EcdsaSighashType, SighashCache};
use bitcoin::transaction::Version;
use bitcoin::{Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Txid, Witness};
use lightning::chain::channelmonitor::ChannelMonitor;
use lightning::ln::chan_utils::{
	derive_private_revocation_key, get_htlc_redeemscript, CommitmentTransaction,
};
use lightning::sign::InMemorySigner;

/// Weight of a signature in a witness: DER up to 72 bytes, the sighash byte, a length byte.
const SIGNATURE_WEIGHT: u64 = 1 + 73;
/// Weight of the witness item count.
const ITEM_COUNT_WEIGHT: u64 = 1;
/// Segwit marker and flag.
const SEGWIT_MARKER_WEIGHT: u64 = 2;
/// Outpoint, empty script_sig and sequence of one input.
const INPUT_BASE_WEIGHT: u64 = (32 + 4 + 1 + 4) * 4;
/// Upper bound of a `to_local` script's length (the template is 77 to 79 bytes).
const TO_LOCAL_SCRIPT_MAX_LEN: u64 = 80;
/// Smallest output worth creating (P2WSH dust limit; also covers P2WPKH and P2TR).
const DUST_LIMIT_SAT: u64 = 330;
/// Largest justice transaction, serialised: an appointment's encrypted blob is this plus 16
/// bytes, within the 64 KiB our tower takes (`fulgur tower`'s default maximum blob size).
pub const MAX_JUSTICE_BYTES: u64 = 60_000;
/// Version, input and output counts, lock time, segwit marker and flag, and one P2WSH-sized
/// output, serialised (bytes, an upper bound).
const TX_OVERHEAD_BYTES: u64 = 4 + 3 + 3 + 4 + 2 + (8 + 1 + 34);

/// A signed justice transaction and what the appointment says about it.
#[derive(Clone, Debug)]
pub struct Justice {
	/// The revoked commitment it reacts to.
	pub commitment_txid: Txid,
	/// The signed transaction.
	pub tx: Transaction,
	/// CSV delay of the `to_local` output (0 when there is none).
	pub to_self_delay: u32,
	/// HTLC outputs it takes.
	pub htlc_outputs: usize,
}

/// Why no justice transaction was made.
#[derive(Debug, PartialEq, Eq)]
pub enum JusticeError {
	/// Nothing on the commitment is worth taking at this fee rate.
	NothingToClaim,
	/// The secret or our key does not fit the commitment (a bug or a layout change).
	KeyMismatch(&'static str),
	/// LDK refused to sign `to_local`.
	Signing,
}

/// One output of the revoked commitment we take.
struct Claim {
	vout: u32,
	value: u64,
	/// The HTLC's witness script; `None` for `to_local`, which LDK signs.
	htlc_script: Option<ScriptBuf>,
}

/// Builds and signs the justice transaction for `commitment`, now revoked by `secret`.
pub fn build(
	monitor: &ChannelMonitor<InMemorySigner>, signer: &InMemorySigner,
	commitment: &CommitmentTransaction, secret: &[u8; 32], destination: &ScriptBuf,
	feerate_per_kw: u32,
) -> Result<Justice, JusticeError> {
	let secp = Secp256k1::new();
	let trusted = commitment.trust();
	let keys = trusted.keys();
	let commitment_tx = &trusted.built_transaction().transaction;
	let commitment_txid = trusted.txid();

	let per_commitment_key = SecretKey::from_slice(secret)
		.map_err(|_| JusticeError::KeyMismatch("secret is not a key"))?;
	if PublicKey::from_secret_key(&secp, &per_commitment_key) != keys.per_commitment_point {
		return Err(JusticeError::KeyMismatch("secret does not open this commitment"));
	}
	let revocation_key =
		derive_private_revocation_key(&secp, &per_commitment_key, &signer.revocation_base_key);
	let revocation_pubkey = PublicKey::from_secret_key(&secp, &revocation_key);
	if revocation_pubkey != keys.revocation_key.to_public_key() {
		return Err(JusticeError::KeyMismatch("our revocation key does not fit this commitment"));
	}

	let mut claims = Vec::new();
	if let Some(vout) = trusted.revokeable_output_index() {
		let value = commitment_tx.output.get(vout).map(|o| o.value.to_sat());
		let value = value.ok_or(JusticeError::KeyMismatch("to_local index out of range"))?;
		claims.push(Claim { vout: vout as u32, value, htlc_script: None });
	}
	for htlc in commitment.nondust_htlcs() {
		let Some(vout) = htlc.transaction_output_index else { continue };
		let script = get_htlc_redeemscript(htlc, trusted.channel_type_features(), keys);
		let output = commitment_tx.output.get(vout as usize);
		let output = output.ok_or(JusticeError::KeyMismatch("HTLC index out of range"))?;
		if output.script_pubkey != script.to_p2wsh() {
			return Err(JusticeError::KeyMismatch("HTLC script does not match its output"));
		}
		let claim = Claim { vout, value: output.value.to_sat(), htlc_script: Some(script) };
		// An HTLC worth less than its own input's fee only lowers what the others bring.
		if claim.value > fee(feerate_per_kw, INPUT_BASE_WEIGHT + witness_weight(&claim)) {
			claims.push(claim);
		}
	}
	keep_within_size(&mut claims);
	let mut tx = Transaction {
		version: Version::TWO,
		lock_time: LockTime::ZERO,
		input: claims
			.iter()
			.map(|claim| TxIn {
				previous_output: OutPoint::new(commitment_txid, claim.vout),
				script_sig: ScriptBuf::new(),
				sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
				witness: Witness::new(),
			})
			.collect(),
		output: vec![TxOut { value: Amount::ZERO, script_pubkey: destination.clone() }],
	};
	let witnesses: u64 = claims.iter().map(witness_weight).sum();
	let weight = tx.weight().to_wu() + SEGWIT_MARKER_WEIGHT + witnesses;
	let total: u64 = claims.iter().map(|claim| claim.value).sum();
	let value = total.saturating_sub(fee(feerate_per_kw, weight));
	if claims.is_empty() || value < DUST_LIMIT_SAT {
		return Err(JusticeError::NothingToClaim);
	}
	tx.output[0].value = Amount::from_sat(value);

	let mut to_local = None;
	let mut htlc_witnesses = Vec::new();
	{
		let mut sighashes = SighashCache::new(&tx);
		for (index, claim) in claims.iter().enumerate() {
			let Some(script) = &claim.htlc_script else {
				to_local = Some((index, claim.value));
				continue;
			};
			let sighash = sighashes
				.p2wsh_signature_hash(
					index,
					script,
					Amount::from_sat(claim.value),
					EcdsaSighashType::All,
				)
				.map_err(|_| JusticeError::Signing)?;
			let signature = secp.sign_ecdsa(&Message::from(sighash), &revocation_key);
			let mut witness = Witness::new();
			witness.push_ecdsa_signature(&bitcoin::ecdsa::Signature::sighash_all(signature));
			witness.push(revocation_pubkey.serialize());
			witness.push(script.as_bytes());
			htlc_witnesses.push((index, witness));
		}
	}
	for (index, witness) in htlc_witnesses {
		tx.input[index].witness = witness;
	}
	let mut to_self_delay = 0;
	if let Some((index, value)) = to_local {
		tx = monitor
			.sign_to_local_justice_tx(tx, index, value, commitment.commitment_number())
			.map_err(|()| JusticeError::Signing)?;
		to_self_delay = tx.input[index].witness.last().and_then(csv_delay).unwrap_or(0);
	}
	Ok(Justice {
		commitment_txid,
		tx,
		to_self_delay,
		htlc_outputs: claims.iter().filter(|c| c.htlc_script.is_some()).count(),
	})
}

/// Leaves out the HTLC claims of least value until the transaction fits [`MAX_JUSTICE_BYTES`]
/// (`to_local` first, then HTLCs by value, when it must); claims that fit stay as they are.
fn keep_within_size(claims: &mut Vec<Claim>) {
	// A witness weighs one unit per byte; the rest of an input four.
	let input_bytes = |claim: &Claim| INPUT_BASE_WEIGHT / 4 + witness_weight(claim);
	let size = |claims: &[Claim]| TX_OVERHEAD_BYTES + claims.iter().map(input_bytes).sum::<u64>();
	if size(claims) <= MAX_JUSTICE_BYTES {
		return;
	}
	claims.sort_by_key(|claim| (claim.htlc_script.is_some(), std::cmp::Reverse(claim.value)));
	while size(claims) > MAX_JUSTICE_BYTES && claims.last().is_some_and(|c| c.htlc_script.is_some())
	{
		claims.pop();
	}
}

/// Witness weight of spending one claim on its revocation path.
fn witness_weight(claim: &Claim) -> u64 {
	match &claim.htlc_script {
		// <sig> <revocation pubkey> <script>
		Some(script) => ITEM_COUNT_WEIGHT + SIGNATURE_WEIGHT + (1 + 33) + (1 + script.len() as u64),
		// <sig> <1> <script>
		None => ITEM_COUNT_WEIGHT + SIGNATURE_WEIGHT + (1 + 1) + (1 + TO_LOCAL_SCRIPT_MAX_LEN),
	}
}

fn fee(feerate_per_kw: u32, weight: u64) -> u64 {
	(feerate_per_kw as u64 * weight).div_ceil(1000)
}

/// The CSV delay in a `to_local` script (`OP_IF <rev> OP_ELSE <delay> OP_CSV ...`).
fn csv_delay(script: &[u8]) -> Option<u32> {
	let script = bitcoin::Script::from_bytes(script);
	let instructions: Vec<_> = script.instructions().collect::<Result<_, _>>().ok()?;
	let csv = instructions.iter().position(|i| *i == Instruction::Op(OP_CSV))?;
	let delay = instructions.get(csv.checked_sub(1)?)?;
	match delay {
		Instruction::PushBytes(bytes) => bitcoin::script::read_scriptint(bytes.as_bytes())
			.ok()
			.and_then(|d| u32::try_from(d).ok()),
		Instruction::Op(op) => {
			let code = op.to_u8();
			// OP_1..OP_16
			(0x51..=0x60).contains(&code).then(|| u32::from(code - 0x50))
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use lightning::ln::chan_utils::get_revokeable_redeemscript;
	use lightning::ln::channel_keys::{DelayedPaymentKey, RevocationKey};

	fn htlc(vout: u32, value: u64) -> Claim {
		// An offered/accepted HTLC script on anchor channels is 136 to 142 bytes.
		Claim { vout, value, htlc_script: Some(ScriptBuf::from_bytes(vec![0x51; 140])) }
	}

	#[test]
	fn a_justice_transaction_for_483_htlcs_keeps_to_local_and_the_most_valuable_that_fit() {
		let mut claims: Vec<Claim> = (0..483).map(|i| htlc(i + 1, 1_000 + u64::from(i))).collect();
		claims.insert(100, Claim { vout: 0, value: 500, htlc_script: None });
		keep_within_size(&mut claims);
		let bytes: u64 = TX_OVERHEAD_BYTES
			+ claims.iter().map(|c| INPUT_BASE_WEIGHT / 4 + witness_weight(c)).sum::<u64>();
		assert!(bytes <= MAX_JUSTICE_BYTES, "{bytes} bytes");
		assert!(claims.len() > 100 && claims.len() < 484, "{} claims", claims.len());
		assert!(claims.iter().any(|c| c.htlc_script.is_none()), "to_local is kept");
		let kept_htlcs: Vec<u64> =
			claims.iter().filter(|c| c.htlc_script.is_some()).map(|c| c.value).collect();
		let smallest_kept = kept_htlcs.iter().min().copied().unwrap_or_default();
		assert_eq!(smallest_kept, 1_000 + 483 - kept_htlcs.len() as u64, "the largest are kept");

		// Fifty HTLCs fit as they are, in their order.
		let mut few: Vec<Claim> = (0..50).map(|i| htlc(i, 2_000 - u64::from(i) * 7)).collect();
		keep_within_size(&mut few);
		assert_eq!(few.iter().map(|c| c.vout).collect::<Vec<_>>(), (0..50).collect::<Vec<_>>());
	}

	#[test]
	fn the_csv_delay_is_read_back_from_a_to_local_script() {
		let secp = Secp256k1::new();
		let key = PublicKey::from_secret_key(&secp, &SecretKey::from_slice(&[3; 32]).unwrap());
		for delay in [6u16, 144, 2016] {
			let script =
				get_revokeable_redeemscript(&RevocationKey(key), delay, &DelayedPaymentKey(key));
			assert_eq!(csv_delay(script.as_bytes()), Some(delay as u32));
		}
	}
}
