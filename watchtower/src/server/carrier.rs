//! The carrier: hands transactions to bitcoind (`sendrawtransaction`).
//!
//! Broadcasts are called from the chain listeners, which run inside the block poller and must
//! not wait on the network, so each call is a task on the tower's runtime. Transactions of
//! one call go out in order (a breach before its penalty). A refused broadcast is only
//! logged: the responder sends again every block until the penalty confirms.

use std::sync::Arc;

use bitcoin::consensus::encode::serialize_hex;
use bitcoin::Transaction;
use lightning::chain::chaininterface::BroadcasterInterface;
use lightning_block_sync::rpc::RpcClient;
use serde_json::{json, Value};
use tokio::runtime::Handle;

use crate::server::log;

/// bitcoind as a broadcaster.
pub struct Carrier {
	rpc: Arc<RpcClient>,
	runtime: Handle,
}

impl Carrier {
	/// Broadcasts through `rpc`, on `runtime`.
	pub fn new(rpc: Arc<RpcClient>, runtime: Handle) -> Self {
		Carrier { rpc, runtime }
	}
}

impl BroadcasterInterface for Carrier {
	fn broadcast_transactions(&self, txs: &[&Transaction]) {
		let rpc = Arc::clone(&self.rpc);
		let txs: Vec<(String, bitcoin::Txid)> =
			txs.iter().map(|tx| (serialize_hex(*tx), tx.compute_txid())).collect();
		self.runtime.spawn(async move {
			for (hex, txid) in txs {
				match rpc.call_method::<Value>("sendrawtransaction", &[json!(hex)]).await {
					Ok(_) => log::info(format_args!("bitcoind accepted {txid}")),
					Err(e) => log::debug(format_args!("bitcoind refused {txid}: {e}")),
				}
			}
		});
	}
}
