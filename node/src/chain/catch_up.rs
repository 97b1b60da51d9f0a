//! Start-up against a bitcoind that does not have the node's best block.
//!
//! bitcoind may be *behind* (it lost blocks it had not flushed when it crashed, or it is
//! still catching up from its peers): the node then waits, saying so in its sync status and
//! in its log every few seconds, and goes on once bitcoind has the block. Or bitcoind's chain
//! *replaced* the block (a reorg while the node was stopped): bitcoind's chain then has more
//! work than the node's best block, and the start-up sync rolls every listener back to the
//! fork point from the node's stored headers (`headers`), as a live reorg would.
//!
//! Never does the node sync to a chain with less work than its own: that would undo
//! confirmations bitcoind merely has not seen yet.

use bitcoin::pow::Work;
use bitcoin::BlockHash;
use serde_json::json;

use super::{BitcoindClient, SyncStatus};
use crate::config::{CATCH_UP_LOG_INTERVAL, CATCH_UP_RETRY_INTERVAL};
use crate::logger::FulgurLogger;
use crate::NodeError;

/// The node's best block, as far as it knows it.
#[derive(Clone, Copy, Debug)]
pub struct OurTip {
	/// Its hash.
	pub hash: BlockHash,
	/// Its height.
	pub height: u32,
	/// The chain work up to it, when its header is stored.
	pub chainwork: Option<Work>,
}

/// What bitcoind's chain is to the node's best block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
	/// The block is on bitcoind's best chain: sync.
	Known,
	/// bitcoind's chain has more work and not the block: it was reorged out; sync rolls back.
	Replaced,
	/// bitcoind is behind the block: wait.
	Behind,
}

/// Decides from bitcoind's answers (pure, for tests): whether our block is on bitcoind's
/// best chain, the work up to it (bitcoind's figure or our stored one) and the work of
/// bitcoind's best chain. A block bitcoind knows only on a side branch (its header arrived
/// before the block, or a reorg) counts by work like an unknown one.
pub fn verdict(on_best_chain: bool, our_work: Option<Work>, bitcoind_work: Work) -> Verdict {
	if on_best_chain {
		return Verdict::Known;
	}
	match our_work {
		Some(ours) if bitcoind_work > ours => Verdict::Replaced,
		_ => Verdict::Behind,
	}
}

/// Waits until bitcoind has `ours` or has replaced it; returns which.
pub async fn wait_for_bitcoind(
	bitcoind: &BitcoindClient, ours: OurTip, status: &SyncStatus, logger: &FulgurLogger,
) -> Verdict {
	let mut last_log: Option<tokio::time::Instant> = None;
	loop {
		let why = match ask(bitcoind, &ours).await {
			Ok((Verdict::Behind, height)) => format!(
				"waiting for bitcoind to reach the node's best block {} at height {} \
				 (bitcoind is at height {height})",
				ours.hash, ours.height
			),
			Ok((verdict, _)) => {
				if verdict == Verdict::Replaced {
					crate::warn!(
						logger,
						"bitcoind's chain replaced the node's best block {} (height {}) while \
						 the node was stopped: rolling back to the fork point",
						ours.hash,
						ours.height
					);
				}
				return verdict;
			}
			Err(e) => format!("waiting for bitcoind: {e}"),
		};
		status.set(&why);
		if last_log.is_none_or(|at| at.elapsed() >= CATCH_UP_LOG_INTERVAL) {
			crate::warn!(logger, "{why}");
			last_log = Some(tokio::time::Instant::now());
		}
		tokio::time::sleep(CATCH_UP_RETRY_INTERVAL).await;
	}
}

/// One look at bitcoind: the verdict and bitcoind's height.
async fn ask(bitcoind: &BitcoindClient, ours: &OurTip) -> Result<(Verdict, u64), NodeError> {
	let info = bitcoind.call("getblockchaininfo", &[]).await?;
	let height = info["blocks"].as_u64().unwrap_or_default();
	let work = info["chainwork"].as_str().and_then(parse_work).ok_or_else(|| {
		NodeError::ChainSource(format!("getblockchaininfo: no chainwork in {info}"))
	})?;
	// An error here is "not found" as far as we can act on it: bitcoind answered just now.
	let header = bitcoind.call("getblockheader", &[json!(ours.hash.to_string())]).await.ok();
	let on_best_chain =
		header.as_ref().and_then(|h| h["confirmations"].as_i64()).is_some_and(|c| c > 0);
	let our_work = header
		.as_ref()
		.and_then(|h| h["chainwork"].as_str())
		.and_then(parse_work)
		.or(ours.chainwork);
	Ok((verdict(on_best_chain, our_work, work), height))
}

fn parse_work(hex: &str) -> Option<Work> {
	let bytes: Vec<u8> = bitcoin::hex::FromHex::from_hex(hex).ok()?;
	let mut padded = [0u8; 32];
	let start = 32usize.checked_sub(bytes.len())?;
	padded[start..].copy_from_slice(&bytes);
	Some(Work::from_be_bytes(padded))
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn waits_unless_bitcoind_knows_the_block_or_has_more_work() {
		let work = |n: u8| {
			let mut bytes = [0u8; 32];
			bytes[31] = n;
			Work::from_be_bytes(bytes)
		};
		assert_eq!(verdict(true, Some(work(9)), work(1)), Verdict::Known);
		assert_eq!(verdict(false, Some(work(9)), work(5)), Verdict::Behind);
		assert_eq!(verdict(false, Some(work(9)), work(9)), Verdict::Behind);
		assert_eq!(verdict(false, Some(work(9)), work(10)), Verdict::Replaced);
		// Without our header we cannot tell a reorg from a lag: wait.
		assert_eq!(verdict(false, None, work(200)), Verdict::Behind);
	}

	#[test]
	fn parses_bitcoinds_chainwork() {
		let work = parse_work("00000000000000000000000000000000000000000000000000000000000000ca");
		assert_eq!(work.map(|w| w.to_be_bytes()[31]), Some(0xca));
		assert_eq!(parse_work("ca").map(|w| w.to_be_bytes()[31]), Some(0xca));
		assert!(parse_work("zz").is_none());
	}
}
