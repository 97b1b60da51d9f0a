//! JSON-RPC to bitcoind through `lightning-block-sync`'s client, set up as everywhere in
//! fulgur ([`fulgur_base::bitcoind`]).

use std::io;
use std::str::FromStr;

use bitcoin::address::KnownHrp;
use bitcoin::consensus::encode::serialize_hex;
use bitcoin::opcodes::OP_TRUE;
use bitcoin::{Address, BlockHash, ScriptBuf, Transaction, Txid};
use lightning_block_sync::rpc::RpcClient;
use serde_json::{json, Value};

/// Blocks per `generatetoaddress` call, so long mining runs stay under the RPC timeout.
const MINE_CHUNK: u64 = 100;

/// A JSON-RPC client for an already running bitcoind, e.g. the one in `network.json`.
pub struct BitcoindRpc {
	client: RpcClient,
}

impl BitcoindRpc {
	/// A client for `rpc_url` (`http://HOST:PORT[/path]`; the scheme may be omitted).
	///
	/// Nothing is sent until the first call.
	pub fn new(rpc_url: &str, user: &str, password: &str) -> io::Result<Self> {
		Ok(Self { client: fulgur_base::bitcoind::rpc_client(rpc_url, user, password)? })
	}

	/// Calls a JSON-RPC method and returns its `result`.
	///
	/// A JSON-RPC error keeps bitcoind's code and message in the error text, e.g.
	/// `bitcoind RPC getblockhash failed: RPC error -8: Block height out of range`.
	pub async fn rpc(&self, method: &str, params: &[Value]) -> io::Result<Value> {
		self.client
			.call_method::<Value>(method, params)
			.await
			.map_err(|e| io::Error::new(e.kind(), format!("bitcoind RPC {method} failed: {e}")))
	}

	/// How many transactions are in the mempool.
	pub async fn mempool_size(&self) -> io::Result<usize> {
		let mempool = self.rpc("getrawmempool", &[]).await?;
		mempool.as_array().map(Vec::len).ok_or_else(|| invalid_data("getrawmempool", &mempool))
	}

	/// The current chain height.
	pub async fn block_count(&self) -> io::Result<u64> {
		let count = self.rpc("getblockcount", &[]).await?;
		count.as_u64().ok_or_else(|| invalid_data("getblockcount", &count))
	}

	/// Mines `blocks` blocks paying `address` with `generatetoaddress` (no wallet needed) and
	/// returns their hashes in chain order.
	pub async fn mine(&self, blocks: u64, address: &Address) -> io::Result<Vec<BlockHash>> {
		let address = address.to_string();
		let mut hashes = Vec::with_capacity(usize::try_from(blocks).unwrap_or(0));
		let mut left = blocks;
		while left > 0 {
			let chunk = left.min(MINE_CHUNK);
			let result = self.rpc("generatetoaddress", &[json!(chunk), json!(address)]).await?;
			let mined =
				result.as_array().ok_or_else(|| invalid_data("generatetoaddress", &result))?;
			for hash in mined {
				let hash = hash
					.as_str()
					.and_then(|hash| BlockHash::from_str(hash).ok())
					.ok_or_else(|| invalid_data("generatetoaddress", hash))?;
				hashes.push(hash);
			}
			left -= chunk;
		}
		Ok(hashes)
	}

	/// Mines `blocks` blocks to [`anyone_can_spend_address`], for callers that only need the
	/// chain to advance.
	pub async fn mine_empty(&self, blocks: u64) -> io::Result<Vec<BlockHash>> {
		self.mine(blocks, &anyone_can_spend_address()).await
	}

	/// Broadcasts a transaction with `sendrawtransaction`.
	pub async fn send_raw_transaction(&self, tx: &Transaction) -> io::Result<Txid> {
		let result = self.rpc("sendrawtransaction", &[json!(serialize_hex(tx))]).await?;
		result
			.as_str()
			.and_then(|txid| Txid::from_str(txid).ok())
			.ok_or_else(|| invalid_data("sendrawtransaction", &result))
	}

	/// Marks a block invalid, disconnecting it and its descendants (for reorg tests).
	pub async fn invalidate_block(&self, hash: &BlockHash) -> io::Result<()> {
		self.rpc("invalidateblock", &[json!(hash.to_string())]).await.map(drop)
	}

	/// Undoes [`BitcoindRpc::invalidate_block`], letting the chain reconnect that block.
	pub async fn reconsider_block(&self, hash: &BlockHash) -> io::Result<()> {
		self.rpc("reconsiderblock", &[json!(hash.to_string())]).await.map(drop)
	}
}

/// The regtest P2WSH address of the script `OP_TRUE`: anyone can spend its coins with the
/// witness `[OP_TRUE]`, which makes mined-away coinbases reusable by tests that need funds.
pub fn anyone_can_spend_address() -> Address {
	Address::p2wsh(&anyone_can_spend_script(), KnownHrp::Regtest)
}

/// The witness script behind [`anyone_can_spend_address`].
pub fn anyone_can_spend_script() -> ScriptBuf {
	ScriptBuf::from_bytes(vec![OP_TRUE.to_u8()])
}

pub(crate) fn invalid_data(method: &str, value: &Value) -> io::Error {
	io::Error::new(io::ErrorKind::InvalidData, format!("unexpected {method} result: {value}"))
}
