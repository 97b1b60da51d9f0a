//! What `fulgur bench tower` feeds the tower: appointments for made-up commitments, signed by
//! a set of users, and blocks of filler transactions with a few of those commitments in them.
//!
//! Everything is derived from the appointment index, so a block can put the commitment of any
//! stored appointment in it without keeping the commitments around.

use bitcoin::absolute::LockTime;
use bitcoin::block::{Header, Version as BlockVersion};
use bitcoin::hashes::{sha256, Hash};
use bitcoin::secp256k1::SecretKey;
use bitcoin::transaction::Version;
use bitcoin::{
	Amount, Block, BlockHash, CompactTarget, OutPoint, ScriptBuf, Sequence, Transaction, TxIn,
	TxMerkleNode, TxOut, Txid, WPubkeyHash, WScriptHash, Witness,
};
use fulgur_watchtower::api::AddAppointmentRequest;
use fulgur_watchtower::Appointment;

/// Appointments and blocks of one benchmark run.
pub struct Workload {
	users: Vec<SecretKey>,
}

/// A 32-byte value derived from a domain tag and an index.
fn derive(domain: &[u8], index: u64) -> [u8; 32] {
	let mut data = domain.to_vec();
	data.extend_from_slice(&index.to_le_bytes());
	sha256::Hash::hash(&data).to_byte_array()
}

fn tx(prev: [u8; 32], witness: Witness, output: TxOut) -> Transaction {
	Transaction {
		version: Version::TWO,
		lock_time: LockTime::ZERO,
		input: vec![TxIn {
			previous_output: OutPoint { txid: Txid::from_byte_array(prev), vout: 0 },
			script_sig: ScriptBuf::new(),
			sequence: Sequence::MAX,
			witness,
		}],
		output: vec![output],
	}
}

impl Workload {
	/// `users` users with deterministic keys.
	pub fn new(users: usize) -> Workload {
		let users = (0..users as u64)
			.map(|i| {
				let mut n = i;
				loop {
					if let Ok(sk) = SecretKey::from_slice(&derive(b"user", n)) {
						break sk;
					}
					n += 1 << 40;
				}
			})
			.collect();
		Workload { users }
	}

	/// The users' keys.
	pub fn users(&self) -> &[SecretKey] {
		&self.users
	}

	/// The commitment (dispute) transaction of appointment `i`: a 2-of-2 funding spend
	/// paying a P2WSH `to_local`, shaped like a real one.
	pub fn dispute(&self, i: u64) -> Transaction {
		let witness =
			Witness::from_slice(&[&[][..], &[0x30; 72][..], &[0x30; 72][..], &[0x52; 71][..]]);
		let script = ScriptBuf::new_p2wsh(&WScriptHash::from_byte_array(derive(b"to_local", i)));
		tx(
			derive(b"funding", i),
			witness,
			TxOut { value: Amount::from_sat(1_000_000), script_pubkey: script },
		)
	}

	/// The justice transaction of appointment `i`: spends the `to_local` through the
	/// revocation path to a P2WPKH.
	fn justice(&self, dispute: &Transaction) -> Transaction {
		let witness = Witness::from_slice(&[&[0x30; 72][..], &[1][..], &[0x63; 77][..]]);
		let script = ScriptBuf::new_p2wpkh(&WPubkeyHash::from_byte_array([7; 20]));
		let prev = dispute.compute_txid().to_byte_array();
		tx(prev, witness, TxOut { value: Amount::from_sat(990_000), script_pubkey: script })
	}

	/// The signed `add_appointment` request of appointment `i`.
	pub fn request(&self, i: u64) -> AddAppointmentRequest {
		let dispute = self.dispute(i);
		let appointment =
			Appointment::for_justice_tx(&dispute.compute_txid(), &self.justice(&dispute), 144);
		AddAppointmentRequest::new(appointment, &self.users[(i % self.users.len() as u64) as usize])
	}

	/// Requests `from..to` made on `threads` threads (signing dominates).
	pub fn requests(&self, from: u64, to: u64, threads: usize) -> Vec<AddAppointmentRequest> {
		let per = (to - from).div_ceil(threads.max(1) as u64).max(1);
		std::thread::scope(|scope| {
			let parts: Vec<_> = (from..to)
				.step_by(per as usize)
				.map(|start| {
					scope.spawn(move || {
						(start..(start + per).min(to)).map(|i| self.request(i)).collect::<Vec<_>>()
					})
				})
				.collect();
			parts.into_iter().flat_map(|p| p.join().unwrap_or_default()).collect()
		})
	}

	/// A block at `height` on `prev` with `size` transactions: the commitments of the
	/// appointments in `breaches`, the rest filler that matches nothing.
	pub fn block(&self, prev: BlockHash, height: u32, size: usize, breaches: &[u64]) -> Block {
		let mut txdata: Vec<Transaction> = breaches.iter().map(|i| self.dispute(*i)).collect();
		let filler_witness = Witness::from_slice(&[&[0x30; 72][..], &[0x02; 33][..]]);
		while txdata.len() < size {
			let n = (u64::from(height) << 32) | txdata.len() as u64;
			let script = ScriptBuf::new_p2wpkh(&WPubkeyHash::from_byte_array([9; 20]));
			txdata.push(tx(
				derive(b"filler", n),
				filler_witness.clone(),
				TxOut { value: Amount::from_sat(50_000), script_pubkey: script },
			));
		}
		let header = Header {
			version: BlockVersion::TWO,
			prev_blockhash: prev,
			merkle_root: TxMerkleNode::from_byte_array(derive(b"merkle", u64::from(height))),
			time: 1_700_000_000 + height,
			bits: CompactTarget::from_consensus(0x207fffff),
			nonce: height,
		};
		Block { header, txdata }
	}
}
