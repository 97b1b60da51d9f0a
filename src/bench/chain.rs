//! The run's regtest bitcoind and how the hubs get their coins.
//!
//! Funding does not mine coinbases to each hub (a fresh hub per store would need N coinbases
//! each time, and regtest's subsidy halves every 150 blocks): the run mines a few coinbases to
//! the anyone-can-spend address once, and each phase spends one per 500 outputs in a fan-out
//! transaction paying the hub one confirmed UTXO per channel.

use std::path::Path;
use std::str::FromStr;

use bitcoin::absolute::LockTime;
use bitcoin::transaction::Version;
use bitcoin::{Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Txid, Witness};
use serde_json::json;

use crate::bitcoind::{
	anyone_can_spend_address, anyone_can_spend_script, Bitcoind, BitcoindConfig,
};
use crate::regtest::launch::{parse_address, RpcEndpoint};

/// Outputs per fan-out transaction (well under the 100 kvB standardness limit).
const MAX_OUTPUTS_PER_TX: usize = 500;
/// Most a fan-out spends from one coinbase (a coinbase is 50 BTC below height 150, 25 below 300).
const FAN_OUT_BUDGET_SAT: u64 = 24 * 100_000_000;
/// Fee rate of the fan-out transactions, sat/vB.
const FAN_OUT_FEE_SAT_PER_VB: u64 = 5;
/// Confirmations before LDK calls a channel ready.
const CONFIRMATIONS: u64 = 6;

/// Fan-out transactions (so coinbases) needed to pay `outputs`.
pub fn fan_outs(outputs: &[u64]) -> usize {
	pack(outputs, MAX_OUTPUTS_PER_TX, FAN_OUT_BUDGET_SAT).len()
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
		let bitcoind = Bitcoind::start(BitcoindConfig::new(dir))
			.await
			.map_err(|e| format!("bitcoind: {e}"))?;
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
pub fn fan_out(
	coinbase: OutPoint, value: Amount, script: &ScriptBuf, outputs: &[u64],
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

fn s(e: impl std::fmt::Display) -> String {
	e.to_string()
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn pack_respects_count_and_budget() {
		assert_eq!(pack(&[1, 1, 1, 1, 1], 2, 100), vec![vec![1, 1], vec![1, 1], vec![1]]);
		assert_eq!(
			pack(&[60, 30, 20, 150, 5], 10, 100),
			vec![vec![60, 30], vec![20], vec![150], vec![5]]
		);
		assert!(pack(&[], 10, 100).is_empty());
	}

	#[test]
	fn fan_out_pays_every_output_and_keeps_change() {
		let script = anyone_can_spend_address().script_pubkey();
		let coinbase = OutPoint::null();
		let tx =
			fan_out(coinbase, Amount::from_btc(50.0).unwrap(), &script, &[1_000, 2_000]).unwrap();
		assert_eq!(tx.output.len(), 3);
		let paid: u64 = tx.output.iter().map(|o| o.value.to_sat()).sum();
		assert_eq!(5_000_000_000 - paid, (120 + 86) * FAN_OUT_FEE_SAT_PER_VB);
		assert!(fan_out(coinbase, Amount::from_sat(2_000), &script, &[1_500]).is_err());
	}
}
