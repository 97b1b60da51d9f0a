//! The benchmark network: one regtest bitcoind for the whole run and, per store kind, a hub
//! (the node under test) with N payers and, for two hops, a merchant, each with channels the
//! hub funded and bitcoind confirmed.
//!
//! Funding does not mine coinbases to the hub (a fresh hub per store would need N coinbases each
//! time, and regtest's subsidy halves every 150 blocks): the run mines a few coinbases to the
//! anyone-can-spend address once, and each phase spends one per 500 outputs in a fan-out
//! transaction paying the hub one confirmed UTXO per channel.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use bitcoin::absolute::LockTime;
use bitcoin::transaction::Version;
use bitcoin::{Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Txid, Witness};
use fulgur_node::{Node, NodeConfig, StoreKind};
use serde_json::json;
use tokio::task::JoinSet;

use crate::bitcoind::{anyone_can_spend_address, anyone_can_spend_script, Bitcoind, BitcoindConfig};
use crate::regtest::launch::{parse_address, wait_until, RpcEndpoint};

/// Smallest payer channel.
const MIN_CHANNEL_SAT: u64 = 200_000;
/// LDK's largest channel without `option_support_large_channel`.
const MAX_CHANNEL_SAT: u64 = 16_777_215;
/// Each funding UTXO is the channel plus this, for the funding transaction's fee.
const UTXO_MARGIN_SAT: u64 = 30_000;
/// Outputs per fan-out transaction (well under the 100 kvB standardness limit).
const MAX_OUTPUTS_PER_TX: usize = 500;
/// Most a fan-out spends from one coinbase (a coinbase is 50 BTC below height 150, 25 below 300).
const FAN_OUT_BUDGET_SAT: u64 = 24 * 100_000_000;
/// Fee rate of the fan-out transactions, sat/vB.
const FAN_OUT_FEE_SAT_PER_VB: u64 = 5;
/// LDK accepts 50 HTLCs per channel by default; the merchant gets a channel per this many in
/// flight, and the hub forwards over whichever has room (LDK's non-strict forwarding).
const HTLCS_PER_MERCHANT_CHANNEL: usize = 40;
/// Confirmations before LDK calls a channel ready.
const CONFIRMATIONS: u64 = 6;

/// How big the channels are, so that every payment of a phase fits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
	/// Payer nodes.
	pub payers: usize,
	/// Each hub → payer channel.
	pub payer_capacity_sat: u64,
	/// Pushed to the payer at opening: what it pays with.
	pub payer_push_msat: u64,
	/// Hub → merchant channels (0 for one hop).
	pub merchant_channels: usize,
	/// Each hub → merchant channel (nothing pushed: the hub forwards with it).
	pub merchant_capacity_sat: u64,
}

impl Plan {
	/// Channel sizes for `payments` payments (warm-up included) of at most `amount_max_sat`,
	/// spread over `payers`, with up to `max_concurrency` in flight.
	pub fn new(
		payers: usize,
		payments: u64,
		amount_max_sat: u64,
		hops: u8,
		max_concurrency: usize,
	) -> Result<Plan, String> {
		// Routing fees are at most 10% + 1 sat (see `max_fee_msat`), paid by the payer.
		let per_payment = if hops == 2 { amount_max_sat + amount_max_sat / 10 + 1 } else { amount_max_sat };
		let per_payer = payments.div_ceil(payers as u64) * per_payment;
		let payer_capacity_sat = (per_payer * 2 + 20_000).max(MIN_CHANNEL_SAT);
		if payer_capacity_sat > MAX_CHANNEL_SAT {
			return Err(format!(
				"{per_payer} sat per payer needs channels above LDK's {MAX_CHANNEL_SAT} sat: \
				 raise --channels or lower --payments"
			));
		}
		let (merchant_channels, merchant_capacity_sat) = if hops == 2 {
			let total = payments * amount_max_sat * 6 / 5;
			let by_htlcs = max_concurrency.div_ceil(HTLCS_PER_MERCHANT_CHANNEL);
			let by_size = usize::try_from(total.div_ceil(MAX_CHANNEL_SAT * 4 / 5)).unwrap_or(1);
			let count = by_htlcs.max(by_size).max(1);
			let each = total.div_ceil(count as u64) * 102 / 100 + 20_000;
			(count, each.max(MIN_CHANNEL_SAT))
		} else {
			(0, 0)
		};
		Ok(Plan {
			payers,
			payer_capacity_sat,
			payer_push_msat: payer_capacity_sat * 3 / 4 * 1000,
			merchant_channels,
			merchant_capacity_sat,
		})
	}

	/// The hub's funding UTXOs, one per channel: merchant channels first, then payers.
	pub fn funding_outputs(&self) -> Vec<u64> {
		let merchant = std::iter::repeat_n(self.merchant_capacity_sat, self.merchant_channels);
		let payers = std::iter::repeat_n(self.payer_capacity_sat, self.payers);
		merchant.chain(payers).map(|sat| sat + UTXO_MARGIN_SAT).collect()
	}

	/// Fan-out transactions (so coinbases) one phase needs.
	pub fn fan_outs(&self) -> usize {
		pack(&self.funding_outputs(), MAX_OUTPUTS_PER_TX, FAN_OUT_BUDGET_SAT).len()
	}
}

/// Splits `outputs` in order into groups of at most `max_outputs` summing to at most `budget`
/// (an output larger than the budget gets a group of its own).
pub fn pack(outputs: &[u64], max_outputs: usize, budget: u64) -> Vec<Vec<u64>> {
	let mut groups: Vec<Vec<u64>> = Vec::new();
	let mut sum = 0;
	for &output in outputs {
		match groups.last_mut() {
			Some(group) if group.len() < max_outputs && sum + output <= budget => {
				group.push(output);
				sum += output;
			}
			_ => {
				groups.push(vec![output]);
				sum = output;
			}
		}
	}
	groups
}

/// The run's bitcoind and the coinbases it keeps for funding.
pub struct Chain {
	/// bitcoind.
	pub bitcoind: Bitcoind,
	/// How nodes reach it.
	pub rpc: RpcEndpoint,
	/// Mature anyone-can-spend coinbases not spent yet.
	coinbases: Vec<Txid>,
}

impl Chain {
	/// Starts bitcoind in `dir` and mines `coinbases` spendable coinbases (plus 100 blocks so
	/// they mature).
	pub async fn start(dir: &Path, coinbases: usize) -> Result<Chain, String> {
		let bitcoind =
			Bitcoind::start(BitcoindConfig::new(dir)).await.map_err(|e| format!("bitcoind: {e}"))?;
		let rpc = RpcEndpoint::of(&bitcoind);
		let mut chain = Chain { bitcoind, rpc, coinbases: Vec::new() };
		if let Err(e) = chain.mine_coinbases(coinbases).await {
			chain.stop().await;
			return Err(e);
		}
		Ok(chain)
	}

	async fn mine_coinbases(&mut self, count: usize) -> Result<(), String> {
		let client = self.bitcoind.client();
		let hashes = client.mine_empty(count as u64 + 100).await.map_err(s)?;
		for hash in hashes.iter().take(count) {
			let block = client.rpc("getblock", &[json!(hash.to_string()), json!(1)]).await;
			let txid = block.map_err(s)?["tx"][0]
				.as_str()
				.and_then(|t| Txid::from_str(t).ok())
				.ok_or_else(|| format!("block {hash} has no coinbase"))?;
			self.coinbases.push(txid);
		}
		self.coinbases.reverse();
		Ok(())
	}

	/// Pays `outputs` (sat each) to `address` in fan-out transactions and confirms them.
	pub async fn fund(&mut self, address: &str, outputs: &[u64]) -> Result<(), String> {
		let script = parse_address(address)?.script_pubkey();
		let client = self.bitcoind.client();
		for group in pack(outputs, MAX_OUTPUTS_PER_TX, FAN_OUT_BUDGET_SAT) {
			let coinbase = self.coinbases.pop().ok_or("no coinbase left to fund from")?;
			let utxo = client.rpc("gettxout", &[json!(coinbase.to_string()), json!(0)]).await;
			let value = utxo.map_err(s)?["value"]
				.as_f64()
				.and_then(|btc| Amount::from_btc(btc).ok())
				.ok_or_else(|| format!("coinbase {coinbase} is spent or unknown"))?;
			let tx = fan_out(OutPoint::new(coinbase, 0), value, &script, &group)?;
			client.send_raw_transaction(&tx).await.map_err(|e| format!("fan-out: {e}"))?;
		}
		client.mine_empty(1).await.map_err(s)?;
		Ok(())
	}

	/// Mines `CONFIRMATIONS` blocks.
	pub async fn confirm(&self) -> Result<(), String> {
		self.bitcoind.client().mine_empty(CONFIRMATIONS).await.map(drop).map_err(s)
	}

	/// Transactions in bitcoind's mempool.
	pub async fn mempool_size(&self) -> usize {
		let mempool = self.bitcoind.client().rpc("getrawmempool", &[]).await;
		mempool.ok().and_then(|m| m.as_array().map(Vec::len)).unwrap_or(0)
	}

	/// Stops bitcoind.
	pub async fn stop(self) {
		if let Err(e) = self.bitcoind.stop().await {
			eprintln!("stopping bitcoind: {e}");
		}
	}
}

/// Spends an anyone-can-spend `coinbase` worth `value` into one output per entry of `outputs`
/// (sat) to `script`, the rest (less the fee) back to the anyone-can-spend address.
fn fan_out(
	coinbase: OutPoint,
	value: Amount,
	script: &ScriptBuf,
	outputs: &[u64],
) -> Result<Transaction, String> {
	let vsize = 120 + 43 * outputs.len() as u64;
	let spent: u64 = outputs.iter().sum::<u64>() + vsize * FAN_OUT_FEE_SAT_PER_VB;
	let change = value
		.to_sat()
		.checked_sub(spent)
		.filter(|&change| change >= 1_000)
		.ok_or_else(|| format!("a coinbase of {value} cannot fund {spent} sat"))?;
	let mut output: Vec<TxOut> = outputs
		.iter()
		.map(|&sat| TxOut { value: Amount::from_sat(sat), script_pubkey: script.clone() })
		.collect();
	output.push(TxOut {
		value: Amount::from_sat(change),
		script_pubkey: anyone_can_spend_address().script_pubkey(),
	});
	Ok(Transaction {
		version: Version::TWO,
		lock_time: LockTime::ZERO,
		input: vec![TxIn {
			previous_output: coinbase,
			script_sig: ScriptBuf::new(),
			sequence: Sequence::MAX,
			witness: Witness::from_slice(&[anyone_can_spend_script().into_bytes()]),
		}],
		output,
	})
}

/// How a benchmark node is configured.
pub struct NodeSpec<'a> {
	/// Its name (alias and data directory).
	pub name: String,
	/// Parent of its data directory.
	pub dir: &'a Path,
	/// bitcoind.
	pub rpc: &'a RpcEndpoint,
	/// Its store.
	pub store: StoreKind,
	/// `Some(port)` to accept peers there (the hub), `None` for nodes that only connect out.
	pub listen_port: Option<u16>,
}

impl NodeSpec<'_> {
	/// The node's configuration. Nodes that only connect out (payers, merchant) are load
	/// generators: they poll bitcoind every 2 s and sync their wallet every 10 minutes, so a
	/// thousand of them do not hammer bitcoind.
	pub fn config(&self) -> NodeConfig {
		let port = self.listen_port.unwrap_or(0);
		let mut config = NodeConfig::new(
			self.dir.join(&self.name),
			bitcoin::Network::Regtest,
			SocketAddr::from(([127, 0, 0, 1], port)),
			self.rpc.addr.clone(),
			self.rpc.user.clone(),
			self.rpc.password.clone(),
		);
		config.alias = self.name.clone();
		config.store = self.store;
		config.accept_peers = self.listen_port.is_some();
		if self.listen_port.is_none() {
			config.chain_poll_interval = Duration::from_secs(2);
			config.wallet_sync_interval = Duration::from_secs(600);
		}
		config
	}
}

/// Starts nodes, `batch` at a time; on any failure stops those that started.
pub async fn start_nodes(configs: Vec<NodeConfig>, batch: usize) -> Result<Vec<Node>, String> {
	let results = bounded(configs, batch, |config| async move {
		let name = config.alias.clone();
		Node::start(config).await.map_err(|e| format!("{name}: {e}"))
	})
	.await;
	let mut nodes = Vec::with_capacity(results.len());
	let mut error = None;
	for result in results {
		match result {
			Ok(node) => nodes.push(node),
			Err(e) => error = error.or(Some(e)),
		}
	}
	match error {
		None => Ok(nodes),
		Some(e) => {
			stop_nodes(nodes, batch).await;
			Err(e)
		}
	}
}

/// Stops nodes, `batch` at a time.
pub async fn stop_nodes(nodes: Vec<Node>, batch: usize) {
	bounded(nodes, batch, |node| async move {
		node.stop().await;
		Ok(())
	})
	.await;
}

/// Runs `task` on every item, at most `limit` at once, each on the runtime's threads; the
/// results come back in the items' order (a task that panicked gives an error).
pub async fn bounded<T, R, F, Fut>(items: Vec<T>, limit: usize, task: F) -> Vec<Result<R, String>>
where
	F: Fn(T) -> Fut,
	Fut: Future<Output = Result<R, String>> + Send + 'static,
	R: Send + 'static,
{
	let mut results: Vec<Option<Result<R, String>>> = items.iter().map(|_| None).collect();
	let mut set = JoinSet::new();
	let mut collect = |joined: Result<(usize, Result<R, String>), tokio::task::JoinError>| {
		if let Ok((index, result)) = joined {
			results[index] = Some(result);
		}
	};
	for (index, item) in items.into_iter().enumerate() {
		while set.len() >= limit.max(1) {
			match set.join_next().await {
				Some(joined) => collect(joined),
				None => break,
			}
		}
		let future = task(item);
		set.spawn(async move { (index, future.await) });
	}
	while let Some(joined) = set.join_next().await {
		collect(joined);
	}
	results.into_iter().map(|r| r.unwrap_or_else(|| Err("task panicked".to_string()))).collect()
}

/// Waits until `hub`'s wallet has `sat` confirmed.
pub async fn wait_funded(hub: &Node, sat: u64) -> Result<(), String> {
	wait_until("the hub's wallet sees its funding", Duration::from_secs(120), || async {
		let _ = hub.sync_wallet().await;
		hub.balance().onchain_confirmed_sat >= sat
	})
	.await
}

fn s(e: impl std::fmt::Display) -> String {
	e.to_string()
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn pack_respects_count_and_budget() {
		assert_eq!(pack(&[1, 1, 1, 1, 1], 2, 100), vec![vec![1, 1], vec![1, 1], vec![1]]);
		assert_eq!(pack(&[60, 30, 20, 150, 5], 10, 100), vec![vec![60, 30], vec![20], vec![150], vec![5]]);
		assert!(pack(&[], 10, 100).is_empty());
	}

	#[test]
	fn plans_fit_the_payments() {
		let plan = Plan::new(1000, 101_001, 10, 1, 64).unwrap();
		assert_eq!(plan.payer_capacity_sat, MIN_CHANNEL_SAT);
		assert_eq!(plan.merchant_channels, 0);
		assert_eq!(plan.funding_outputs().len(), 1000);
		assert_eq!(plan.fan_outs(), 2);
		// Few payers, many payments: bigger channels, the push covering what each pays.
		let plan = Plan::new(10, 100_000, 10, 1, 64).unwrap();
		assert!(plan.payer_push_msat / 1000 > 10_000 * 10 + plan.payer_capacity_sat / 100);
		assert!(Plan::new(1, 10_000_000, 10, 1, 64).is_err());
		// Two hops: a merchant channel per 40 HTLCs in flight, together carrying every payment.
		let plan = Plan::new(100, 100_000, 10, 2, 256).unwrap();
		assert_eq!(plan.merchant_channels, 7);
		assert!(plan.merchant_capacity_sat * 7 >= 100_000 * 10);
		assert_eq!(plan.funding_outputs()[0], plan.merchant_capacity_sat + UTXO_MARGIN_SAT);
	}

	#[test]
	fn fan_out_pays_every_output_and_keeps_change() {
		let script = anyone_can_spend_address().script_pubkey();
		let coinbase = OutPoint::null();
		let tx = fan_out(coinbase, Amount::from_btc(50.0).unwrap(), &script, &[1_000, 2_000]).unwrap();
		assert_eq!(tx.output.len(), 3);
		let paid: u64 = tx.output.iter().map(|o| o.value.to_sat()).sum();
		assert_eq!(5_000_000_000 - paid, (120 + 86) * FAN_OUT_FEE_SAT_PER_VB);
		assert!(fan_out(coinbase, Amount::from_sat(2_000), &script, &[1_500]).is_err());
	}
}
