//! Peers and on-chain: `GET /v1/newaddress`, `POST /v1/peers`, `POST /v1/channels`. A channel
//! is opened to a peer we are connected to (as LND requires), at the address we reach it on.

use bitcoin::hex::FromHex;
use fulgur_node::{ChannelId, Node, OpenChannelRequest, PublicKey};
use serde::Deserialize;
use serde_json::{json, Value};

use super::encoding::{parse_body, Bytes, Code, Flag, LndError, I64};
use super::routes::Call;

/// `GET /v1/newaddress` (`type` is ignored: the node's wallet picks its address kind).
pub fn new_address(node: &Node) -> Result<Value, LndError> {
	Ok(json!({ "address": node.new_onchain_address()? }))
}

fn pubkey(text: &str) -> Result<PublicKey, LndError> {
	text.trim().parse().map_err(|_| LndError::invalid(format!("{text:?} is not a node public key")))
}

/// `POST /v1/peers` `{addr: {pubkey, host}, perm, timeout}`.
pub async fn connect_peer(node: &Node, call: &Call) -> Result<Value, LndError> {
	#[derive(Deserialize, Default)]
	#[serde(default)]
	struct Address {
		pubkey: String,
		host: String,
	}
	#[derive(Deserialize, Default)]
	#[serde(default)]
	struct Connect {
		addr: Address,
		perm: Flag,
		timeout: I64,
	}
	let req: Connect = parse_body(&call.body)?;
	let _ = (req.perm, req.timeout);
	let key = pubkey(&req.addr.pubkey)?;
	if req.addr.host.trim().is_empty() {
		return Err(LndError::invalid("addr.host is required (host:port)"));
	}
	let id = key.to_string();
	if node.list_peers().iter().any(|p| p.node_id == id && p.connected) {
		return Err(LndError::new(Code::Unknown, format!("already connected to peer: {id}")));
	}
	let host = req.addr.host.trim();
	let address = if host.contains(':') { host.to_string() } else { format!("{host}:9735") };
	node.connect_peer(key, &address).await?;
	Ok(json!({ "status": format!("connection to {id} was successful") }))
}

/// `POST /v1/channels` (`node_pubkey_string` or `node_pubkey`, `local_funding_amount`,
/// `push_sat`, `private`; `sat_per_vbyte` is taken from the node's fee estimate instead) →
/// `ChannelPoint` (`funding_txid_bytes`: the txid's bytes in their internal order, base64).
pub async fn open_channel(node: &Node, call: &Call) -> Result<Value, LndError> {
	#[derive(Deserialize, Default)]
	#[serde(default)]
	struct Open {
		node_pubkey_string: String,
		node_pubkey: Bytes,
		local_funding_amount: I64,
		push_sat: I64,
		private: Flag,
		sat_per_vbyte: I64,
	}
	let req: Open = parse_body(&call.body)?;
	let _ = req.sat_per_vbyte;
	let key = if !req.node_pubkey_string.is_empty() {
		pubkey(&req.node_pubkey_string)?
	} else {
		PublicKey::from_slice(&req.node_pubkey.0)
			.map_err(|_| LndError::invalid("give node_pubkey_string (hex) or node_pubkey"))?
	};
	let (amount, push) = (req.local_funding_amount.0, req.push_sat.0);
	if amount <= 0 || push < 0 || push > amount {
		return Err(LndError::invalid("local_funding_amount must be positive, push_sat within it"));
	}
	let id = key.to_string();
	let Some(peer) = node.list_peers().into_iter().find(|p| p.node_id == id && p.connected) else {
		return Err(LndError::new(Code::Unknown, format!("peer {id} is not online")));
	};
	let address = peer.address.unwrap_or_default();
	let opened = node
		.open_channel(OpenChannelRequest {
			node_id: key,
			address,
			amount_sat: amount as u64,
			push_msat: Some(push as u64 * 1000),
			announce: Some(!req.private.0),
		})
		.await?;
	let txid_hex = opened.funding_txid.clone().unwrap_or_default();
	// The txid as written (hex) is its bytes reversed; LND's funding_txid_bytes are the
	// internal order.
	let mut txid = Vec::<u8>::from_hex(&txid_hex).unwrap_or_default();
	txid.reverse();
	let output_index = <[u8; 32]>::from_hex(&opened.channel_id)
		.ok()
		.and_then(|id| node.get_channel(&ChannelId(id)))
		.and_then(|c| c.funding_txo)
		.and_then(|txo| txo.rsplit_once(':').and_then(|(_, vout)| vout.parse::<u32>().ok()))
		.unwrap_or(0);
	Ok(json!({ "funding_txid_bytes": Bytes(txid), "output_index": output_index }))
}
