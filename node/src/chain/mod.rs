//! The chain backend: bitcoind over JSON-RPC.
//!
//! One [`BitcoindClient`] serves LDK as block source (headers and blocks for
//! `lightning-block-sync`), fee estimator and broadcaster; its connection and the network
//! check are fulgur's one set-up, [`fulgur_base::bitcoind`]. The on-chain wallet syncs through
//! its own RPC connection (see `wallet`).

pub mod catch_up;
mod fees;
pub mod headers;

pub use fees::FeeCache;
pub use headers::StoredHeaders;

use std::sync::Arc;

use bitcoin::consensus::encode::serialize_hex;
use bitcoin::{BlockHash, OutPoint, Transaction, Txid};
use fulgur_base::bitcoind::{self, NetworkCheckError};
use lightning::chain::chaininterface::{BroadcasterInterface, ConfirmationTarget, FeeEstimator};
use lightning_block_sync::gossip::UtxoSource;
use lightning_block_sync::rpc::RpcClient;
use lightning_block_sync::{AsyncBlockSourceResult, BlockData, BlockHeaderData, BlockSource};
use serde_json::json;

use crate::fee_policy::FeePolicy;
use crate::logger::FulgurLogger;
use crate::NodeError;

/// bitcoind, as LDK sees it.
pub struct BitcoindClient {
	rpc: Arc<RpcClient>,
	fees: FeeCache,
	runtime: tokio::runtime::Handle,
	logger: Arc<FulgurLogger>,
	/// Once raised, nothing is broadcast: this process no longer acts as the node.
	fence: crate::fence::Fence,
}

impl BitcoindClient {
	/// Connects to `host:port` with the given credentials; checks that bitcoind answers and is
	/// on `network`.
	pub async fn connect(
		rpc_addr: &str, user: &str, password: &str, network: bitcoin::Network,
		fee_floor_sat_per_kw: u32, fee_policy: FeePolicy, logger: Arc<FulgurLogger>,
	) -> Result<BitcoindClient, NodeError> {
		let rpc = bitcoind::rpc_client(rpc_addr, user, password)
			.map_err(|e| NodeError::InvalidRequest(e.to_string()))?;
		let rpc = Arc::new(rpc);
		bitcoind::check_network(&rpc, network, "node").await.map_err(|e| match e {
			NetworkCheckError::NoAnswer(e) => {
				NodeError::ChainSource(format!("bitcoind at {rpc_addr} does not answer: {e}"))
			}
			wrong_chain => NodeError::ChainSource(wrong_chain.to_string()),
		})?;
		let client = BitcoindClient {
			rpc,
			fees: FeeCache::new(fee_floor_sat_per_kw, network, fee_policy),
			runtime: tokio::runtime::Handle::current(),
			logger,
			fence: crate::fence::Fence::new(),
		};
		client.refresh_fees().await;
		Ok(client)
	}

	/// This client, broadcasting nothing once `fence` is raised.
	pub fn fenced_by(mut self, fence: crate::fence::Fence) -> BitcoindClient {
		self.fence = fence;
		self
	}

	/// The highest commitment fee rate we treat as honest from a peer (see [`FeePolicy`]).
	pub fn peer_fee_rate_ceiling(&self) -> u32 {
		self.fees.peer_fee_rate_ceiling()
	}

	/// Calls any RPC method.
	pub async fn call(
		&self, method: &str, params: &[serde_json::Value],
	) -> Result<serde_json::Value, NodeError> {
		self.rpc
			.call_method::<serde_json::Value>(method, params)
			.await
			.map_err(|e| NodeError::ChainSource(format!("{method}: {e}")))
	}

	/// Whether `outpoint` exists as far as bitcoind can tell without a transaction index:
	/// unspent (in a block or the mempool), or spent by a mempool transaction (which bitcoind
	/// only accepts for an output that exists). An output spent in a block reads `false`: the
	/// caller knows those from the blocks it scanned.
	pub async fn outpoint_seen(&self, outpoint: &OutPoint) -> Result<bool, NodeError> {
		let (txid, vout) = (outpoint.txid.to_string(), outpoint.vout);
		let unspent = self.call("gettxout", &[json!(txid), json!(vout), json!(true)]).await?;
		if !unspent.is_null() {
			return Ok(true);
		}
		let spends =
			self.call("gettxspendingprevout", &[json!([{ "txid": txid, "vout": vout }])]).await?;
		let spent_in_mempool = spends
			.as_array()
			.is_some_and(|all| all.iter().any(|s| s.get("spendingtxid").is_some()));
		Ok(spent_in_mempool)
	}

	/// The best block bitcoind knows.
	pub async fn tip(&self) -> Result<(BlockHash, u32), NodeError> {
		let (hash, height) = self
			.rpc
			.get_best_block()
			.await
			.map_err(|e| NodeError::ChainSource(format!("getbestblock: {e:?}")))?;
		Ok((hash, height.unwrap_or_default()))
	}

	/// Broadcasts one transaction and waits for bitcoind to accept it.
	pub async fn send_transaction(&self, tx: &Transaction) -> Result<Txid, NodeError> {
		let txid = tx.compute_txid();
		self.call("sendrawtransaction", &[json!(serialize_hex(tx))]).await.map_err(|e| {
			NodeError::ChainSource(format!("bitcoind rejected transaction {txid}: {e}"))
		})?;
		Ok(txid)
	}

	/// Refreshes the fee estimates from `estimatesmartfee`; targets without an estimate (all of
	/// them on regtest) stay at the configured floor.
	pub async fn refresh_fees(&self) {
		for (target, blocks, mode) in fees::ESTIMATE_TARGETS {
			let params = [json!(blocks), json!(mode)];
			let estimate = match self
				.rpc
				.call_method::<serde_json::Value>("estimatesmartfee", &params)
				.await
			{
				Ok(answer) => answer["feerate"].as_f64(),
				Err(e) => {
					crate::debug!(self.logger, "estimatesmartfee {blocks} failed: {e}");
					None
				}
			};
			self.fees.set(*target, estimate.map(fees::btc_per_kvb_to_sat_per_kw));
		}
	}
}

/// Where the node stands with the chain, in words (`GET /v1/info`'s `sync_status`): "synced",
/// or what it is waiting for.
pub struct SyncStatus(std::sync::Mutex<String>);

impl SyncStatus {
	/// Starting, not synced yet.
	pub fn new() -> SyncStatus {
		SyncStatus(std::sync::Mutex::new("starting".to_string()))
	}

	/// Replaces the status.
	pub fn set(&self, status: &str) {
		let mut current = self.0.lock().unwrap_or_else(|e| e.into_inner());
		if *current != status {
			status.clone_into(&mut current);
		}
	}

	/// The status now.
	pub fn get(&self) -> String {
		self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
	}
}

impl Default for SyncStatus {
	fn default() -> Self {
		SyncStatus::new()
	}
}

impl BlockSource for BitcoindClient {
	fn get_header<'a>(
		&'a self, header_hash: &'a BlockHash, height_hint: Option<u32>,
	) -> AsyncBlockSourceResult<'a, BlockHeaderData> {
		self.rpc.get_header(header_hash, height_hint)
	}

	fn get_block<'a>(
		&'a self, header_hash: &'a BlockHash,
	) -> AsyncBlockSourceResult<'a, BlockData> {
		self.rpc.get_block(header_hash)
	}

	fn get_best_block(&self) -> AsyncBlockSourceResult<'_, (BlockHash, Option<u32>)> {
		self.rpc.get_best_block()
	}
}

impl UtxoSource for BitcoindClient {
	fn get_block_hash_by_height(&self, block_height: u32) -> AsyncBlockSourceResult<'_, BlockHash> {
		self.rpc.get_block_hash_by_height(block_height)
	}

	fn is_output_unspent(&self, outpoint: OutPoint) -> AsyncBlockSourceResult<'_, bool> {
		self.rpc.is_output_unspent(outpoint)
	}
}

impl FeeEstimator for BitcoindClient {
	fn get_est_sat_per_1000_weight(&self, target: ConfirmationTarget) -> u32 {
		self.fees.get(target)
	}
}

impl BroadcasterInterface for BitcoindClient {
	fn broadcast_transactions(&self, txs: &[&Transaction]) {
		if txs.is_empty() {
			return;
		}
		let rpc = Arc::clone(&self.rpc);
		let logger = Arc::clone(&self.logger);
		let hexes: Vec<String> = txs.iter().map(|tx| serialize_hex(*tx)).collect();
		let txids: Vec<Txid> = txs.iter().map(|tx| tx.compute_txid()).collect();
		// The node that took over may have moved the channels on: what a fenced one would
		// broadcast could be a revoked commitment, which costs the channel's funds.
		let fence = self.fence.clone();
		if let Some(reason) = fence.reason() {
			crate::warn!(logger, "not broadcasting {txids:?}: this node is fenced: {reason}");
			return;
		}
		// LDK calls this from inside its locks: never block here. A lost broadcast is not
		// fatal, LDK rebroadcasts what still matters on every block.
		self.runtime.spawn(async move {
			if fence.is_raised() {
				return;
			}
			if hexes.len() > 1 {
				// Parent and CPFP child (anchor bumps) go together as a package.
				match rpc.call_method::<serde_json::Value>("submitpackage", &[json!(hexes)]).await {
					Ok(answer) => {
						crate::debug!(logger, "submitpackage {:?}: {}", txids, answer);
						return;
					}
					Err(e) => crate::warn!(logger, "submitpackage {:?} failed: {e}", txids),
				}
			}
			for (hex, txid) in hexes.iter().zip(txids.iter()) {
				match rpc
					.call_method::<serde_json::Value>("sendrawtransaction", &[json!(hex)])
					.await
				{
					Ok(_) => crate::info!(logger, "broadcast transaction {txid}"),
					Err(e) => crate::debug!(logger, "broadcast of {txid} refused: {e}"),
				}
			}
		});
	}
}
