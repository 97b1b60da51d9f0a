//! The carrier: hands transactions to bitcoind (`sendrawtransaction`) and tells the responder
//! what bitcoind said about the ones it refused.
//!
//! Broadcasts are called from the chain listeners, which run inside the block poller and must
//! not wait on the network, so each call is a task on the tower's runtime. Transactions of
//! one call go out in order (a breach before its penalty). A refusal is sorted by what it
//! means ([`Refusal`]) and queued ([`Refusals`], bounded) for the responder, which acts on it
//! at the next block: an invalid penalty is dropped, one refused for now is sent again.

use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Mutex};

use bitcoin::consensus::encode::serialize_hex;
use bitcoin::{Transaction, Txid};
use lightning::chain::chaininterface::BroadcasterInterface;
use lightning_block_sync::rpc::{RpcClient, RpcError};
use serde_json::{json, Value};
use tokio::runtime::Handle;

use crate::server::log;

/// Refusals kept for the responder; older ones go first (the penalty is sent again anyway).
const MAX_QUEUED_REFUSALS: usize = 10_000;

/// What bitcoind's refusal of a transaction says about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
	/// It can never be accepted: a bad signature or script, malformed, non-standard.
	Invalid(String),
	/// Its inputs are missing or already spent.
	MissingInputs(String),
	/// Not now: its fee is too low for the mempool, it conflicts with a mempool transaction,
	/// a limit is hit, or bitcoind did not answer. It may go through later.
	ForNow(String),
}

/// Reject reasons (lower case) that can change with the mempool or the chain: fees, conflicts,
/// limits, timelocks.
const FOR_NOW: &[&str] = &[
	"fee",
	"mempool full",
	"mempool-conflict",
	"too-long-mempool-chain",
	"too-large-cluster",
	"replacement",
	"package",
	"non-final",
	"non-bip68-final",
];
/// Reject reasons of a transaction that is already known: no refusal at all.
const KNOWN: &[&str] = &["already in", "already-in", "already-known"];
/// Reject reasons of missing or spent inputs.
const MISSING: &[&str] = &["missingorspent", "missing inputs", "missing-inputs"];

impl Refusal {
	/// What a failed `sendrawtransaction` means; `None` when the transaction is known
	/// already (in the mempool or the chain).
	pub fn classify(error: &io::Error) -> Option<Refusal> {
		let Some(rpc) = error.get_ref().and_then(|e| e.downcast_ref::<RpcError>()) else {
			return Some(Refusal::ForNow(format!("bitcoind did not answer: {error}")));
		};
		let reason = rpc.message.to_ascii_lowercase();
		let has = |words: &[&str]| words.iter().any(|word| reason.contains(word));
		if has(KNOWN) {
			None
		} else if has(MISSING) {
			Some(Refusal::MissingInputs(rpc.message.clone()))
		} else if has(FOR_NOW) {
			Some(Refusal::ForNow(rpc.message.clone()))
		} else {
			Some(Refusal::Invalid(format!("{} (code {})", rpc.message, rpc.code)))
		}
	}
}

/// Refusals heard by the carrier, waiting for the responder.
#[derive(Default)]
pub struct Refusals(Mutex<VecDeque<(Txid, Refusal)>>);

impl Refusals {
	/// Queues a refusal.
	pub fn push(&self, txid: Txid, refusal: Refusal) {
		let mut queue = self.0.lock().unwrap_or_else(|e| e.into_inner());
		if queue.len() >= MAX_QUEUED_REFUSALS {
			queue.pop_front();
		}
		queue.push_back((txid, refusal));
	}

	/// Everything queued, oldest first.
	pub fn take(&self) -> Vec<(Txid, Refusal)> {
		let mut queue = self.0.lock().unwrap_or_else(|e| e.into_inner());
		queue.drain(..).collect()
	}
}

/// bitcoind as a broadcaster.
pub struct Carrier {
	rpc: Arc<RpcClient>,
	runtime: Handle,
	refusals: Arc<Refusals>,
}

impl Carrier {
	/// Broadcasts through `rpc`, on `runtime`, reporting refusals to `refusals`.
	pub fn new(rpc: Arc<RpcClient>, runtime: Handle, refusals: Arc<Refusals>) -> Self {
		Carrier { rpc, runtime, refusals }
	}
}

impl BroadcasterInterface for Carrier {
	fn broadcast_transactions(&self, txs: &[&Transaction]) {
		let rpc = Arc::clone(&self.rpc);
		let refusals = Arc::clone(&self.refusals);
		let txs: Vec<(String, Txid)> =
			txs.iter().map(|tx| (serialize_hex(*tx), tx.compute_txid())).collect();
		self.runtime.spawn(async move {
			for (hex, txid) in txs {
				// `maxfeerate` 0: a penalty's fee is fixed when it is signed; whatever it is,
				// bitcoind's own ceiling must not keep it out.
				let params = [json!(hex), json!(0)];
				match rpc.call_method::<Value>("sendrawtransaction", &params).await {
					Ok(_) => log::info!("bitcoind accepted {txid}"),
					Err(e) => match Refusal::classify(&e) {
						None => log::debug!("bitcoind already has {txid}"),
						Some(refusal) => {
							log::debug!("bitcoind refused {txid}: {e}");
							refusals.push(txid, refusal);
						}
					},
				}
			}
		});
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn rpc_error(code: i64, message: &str) -> io::Error {
		io::Error::other(RpcError { code, message: message.to_string() })
	}

	#[test]
	fn bitcoind_refusals_are_sorted_by_what_they_mean() {
		let cases = [
			(-26, "min relay fee not met, 0 < 110", Some("for now")),
			(-26, "mempool min fee not met, 100 < 200", Some("for now")),
			(-26, "insufficient fee, rejecting replacement", Some("for now")),
			(-26, "txn-mempool-conflict", Some("for now")),
			(-26, "too-long-mempool-chain, too many descendants", Some("for now")),
			(-26, "non-BIP68-final", Some("for now")),
			(-26, "mandatory-script-verify-flag-failed (Witness program hash mismatch)", Some("invalid")),
			(-26, "non-mandatory-script-verify-flag (Signature must be zero for failed CHECK(MULTI)SIG operation)", Some("invalid")),
			(-26, "bad-txns-in-belowout", Some("invalid")),
			(-26, "dust", Some("invalid")),
			(-22, "TX decode failed", Some("invalid")),
			(-25, "bad-txns-inputs-missingorspent", Some("missing")),
			(-27, "Transaction outputs already in utxo set", None),
			(-27, "Transaction already in block chain", None),
			(-26, "txn-already-known", None),
		];
		for (code, message, expected) in cases {
			let got = Refusal::classify(&rpc_error(code, message)).map(|r| match r {
				Refusal::Invalid(_) => "invalid",
				Refusal::MissingInputs(_) => "missing",
				Refusal::ForNow(_) => "for now",
			});
			assert_eq!(got, expected, "{code} {message}");
		}
		let unreachable = io::Error::new(io::ErrorKind::ConnectionRefused, "refused");
		assert!(matches!(Refusal::classify(&unreachable), Some(Refusal::ForNow(_))));
	}

	#[test]
	fn the_queue_is_bounded() {
		let refusals = Refusals::default();
		for n in 0..MAX_QUEUED_REFUSALS + 5 {
			let txid = bitcoin::hashes::Hash::from_byte_array([n as u8; 32]);
			refusals.push(txid, Refusal::ForNow(n.to_string()));
		}
		let taken = refusals.take();
		assert_eq!(taken.len(), MAX_QUEUED_REFUSALS);
		assert_eq!(taken[0].1, Refusal::ForNow("5".into()), "the oldest went first");
		assert!(refusals.take().is_empty());
	}
}
