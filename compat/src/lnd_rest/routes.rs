//! The route table: every endpoint served, the permission it needs, and its handler. Paths are
//! matched exactly (a trailing slash aside); a path parameter is taken as it is written and
//! decoded by its handler by the route's rule (hex for `/v1/invoice/{r_hash_str}`, URL-safe
//! base64 for the v2 routes).

use std::collections::HashMap;

use super::macaroons::Permission;
use hyper::{Body, Method};

use super::encoding::{Code, LndError};
use super::server::Shared;
use super::{closed, info, invoices, payments, peers, router, streams};

/// What a handler answers: one JSON object, or a stream of JSON lines.
pub enum Reply {
	/// A 200 with this body.
	Json(serde_json::Value),
	/// A 200 whose body is a stream of `{"result":..}` lines.
	Stream(Body),
	/// A stream that fails before its first line: as grpc-gateway answers then, the error's
	/// HTTP status with `{"error":{"code","message","details":[]}}`.
	StreamError(LndError),
}

/// A request past authorization.
pub struct Call {
	/// The query string's parameters (the last one wins when a name repeats).
	pub query: HashMap<String, String>,
	/// The body, at most `MAX_BODY_BYTES`.
	pub body: Vec<u8>,
}

impl Call {
	/// A query parameter.
	pub fn get(&self, name: &str) -> Option<&str> {
		self.query.get(name).map(String::as_str)
	}
}

/// Every endpoint, with its path parameter where it has one.
#[derive(Debug, PartialEq, Eq)]
pub enum Endpoint {
	/// `GET /v1/getinfo`
	GetInfo,
	/// `GET /v1/balance/channels`
	ChannelBalance,
	/// `GET /v1/balance/blockchain`
	WalletBalance,
	/// `GET /v1/channels`
	ListChannels,
	/// `GET /v1/channels/pending`
	PendingChannels,
	/// `GET /v1/channels/closed`
	ClosedChannels,
	/// `POST /v1/channels`
	OpenChannel,
	/// `POST /v1/invoices`
	AddInvoice,
	/// `GET /v1/invoices`
	ListInvoices,
	/// `GET /v1/invoice/{r_hash_str}` (hex)
	LookupInvoiceHex(String),
	/// `GET /v1/invoice?r_hash=` (base64)
	LookupInvoiceQuery,
	/// `GET /v1/invoices/subscribe`
	SubscribeInvoices,
	/// `GET /v2/invoices/subscribe/{r_hash}` (URL-safe base64)
	SubscribeSingleInvoice(String),
	/// `POST /v2/invoices/hodl`
	AddHoldInvoice,
	/// `POST /v2/invoices/settle`
	SettleInvoice,
	/// `POST /v2/invoices/cancel`
	CancelInvoice,
	/// `GET /v1/payreq/{pay_req}`
	DecodePayReq(String),
	/// `POST /v2/router/send`
	SendPayment,
	/// `GET /v2/router/track/{payment_hash}` (URL-safe base64)
	TrackPayment(String),
	/// `GET /v1/payments`
	ListPayments,
	/// `GET /v1/newaddress`
	NewAddress,
	/// `POST /v1/peers`
	ConnectPeer,
}

/// An endpoint with the permission it needs.
pub struct Found {
	/// The endpoint.
	pub endpoint: Endpoint,
	/// What the macaroon must carry (LND's permission for the same RPC).
	pub needs: Permission,
}

/// The endpoint for a method and path; `None` when nothing is served there.
pub fn find(method: &Method, path: &str) -> Option<Found> {
	use Endpoint::*;
	use Permission::{Admin, InvoiceRead, InvoiceWrite, NodeRead};
	let path = path.strip_suffix('/').unwrap_or(path);
	let segments: Vec<&str> = path.split('/').skip(1).collect();
	let one = |s: &str| s.to_string();
	let (endpoint, needs) = match (method.as_str(), segments.as_slice()) {
		("GET", ["v1", "getinfo"]) => (GetInfo, NodeRead),
		("GET", ["v1", "balance", "channels"]) => (ChannelBalance, NodeRead),
		("GET", ["v1", "balance", "blockchain"]) => (WalletBalance, InvoiceRead),
		("GET", ["v1", "channels"]) => (ListChannels, NodeRead),
		("GET", ["v1", "channels", "pending"]) => (PendingChannels, NodeRead),
		("GET", ["v1", "channels", "closed"]) => (ClosedChannels, NodeRead),
		("POST", ["v1", "channels"]) => (OpenChannel, Admin),
		("POST", ["v1", "invoices"]) => (AddInvoice, InvoiceWrite),
		("GET", ["v1", "invoices"]) => (ListInvoices, InvoiceRead),
		("GET", ["v1", "invoice"]) => (LookupInvoiceQuery, InvoiceRead),
		("GET", ["v1", "invoice", hash]) => (LookupInvoiceHex(one(hash)), InvoiceRead),
		("GET", ["v1", "invoices", "subscribe"]) => (SubscribeInvoices, InvoiceRead),
		("GET", ["v2", "invoices", "subscribe", hash]) => {
			(SubscribeSingleInvoice(one(hash)), InvoiceRead)
		}
		("POST", ["v2", "invoices", "hodl"]) => (AddHoldInvoice, InvoiceWrite),
		("POST", ["v2", "invoices", "settle"]) => (SettleInvoice, InvoiceWrite),
		("POST", ["v2", "invoices", "cancel"]) => (CancelInvoice, InvoiceWrite),
		("GET", ["v1", "payreq", pay_req]) => (DecodePayReq(one(pay_req)), NodeRead),
		("POST", ["v2", "router", "send"]) => (SendPayment, Admin),
		("GET", ["v2", "router", "track", hash]) => (TrackPayment(one(hash)), NodeRead),
		("GET", ["v1", "payments"]) => (ListPayments, NodeRead),
		("GET", ["v1", "newaddress"]) => (NewAddress, InvoiceWrite),
		("POST", ["v1", "peers"]) => (ConnectPeer, Admin),
		_ => return None,
	};
	Some(Found { endpoint, needs })
}

/// Runs the endpoint's handler.
pub async fn dispatch(shared: &Shared, endpoint: Endpoint, call: Call) -> Result<Reply, LndError> {
	use Endpoint::*;
	let node = &shared.node;
	let json = |v: serde_json::Value| Ok(Reply::Json(v));
	match endpoint {
		GetInfo => json(info::get_info(node, &shared.alias)),
		ChannelBalance => json(info::channel_balance(node)),
		WalletBalance => json(info::wallet_balance(node)),
		ListChannels => json(info::list_channels(node, &call)?),
		PendingChannels => json(info::pending_channels(node)),
		ClosedChannels => json(closed::closed_channels(node, &call).await?),
		OpenChannel => json(peers::open_channel(node, &call).await?),
		AddInvoice => json(invoices::add_invoice(node, &call).await?),
		ListInvoices => json(invoices::list_invoices(node, &call)?),
		LookupInvoiceHex(hash) => json(invoices::lookup_hex(node, &hash)?),
		LookupInvoiceQuery => json(invoices::lookup_query(node, &call)?),
		SubscribeInvoices => streams::subscribe_invoices(shared, &call),
		SubscribeSingleInvoice(hash) => streams::subscribe_single(shared, &hash),
		AddHoldInvoice => json(invoices::add_hold_invoice(node, &call).await?),
		SettleInvoice => json(invoices::settle(node, &call).await?),
		CancelInvoice => json(invoices::cancel(node, &call).await?),
		DecodePayReq(pay_req) => json(invoices::decode_pay_req(node, &pay_req)?),
		SendPayment => router::send(shared, &call).await,
		TrackPayment(hash) => router::track(shared, &hash, &call),
		ListPayments => json(payments::list_payments(node, &call)?),
		NewAddress => json(peers::new_address(node)?),
		ConnectPeer => json(peers::connect_peer(node, &call).await?),
	}
}

/// A query string's parameters, percent-decoded (`+` is a space).
pub fn parse_query(query: &str) -> Result<HashMap<String, String>, LndError> {
	let mut out = HashMap::new();
	for pair in query.split('&').filter(|p| !p.is_empty()) {
		let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
		out.insert(percent_decode(name)?, percent_decode(value)?);
	}
	Ok(out)
}

fn percent_decode(text: &str) -> Result<String, LndError> {
	let bad = || LndError::new(Code::InvalidArgument, format!("bad query string: {text:?}"));
	let bytes = text.as_bytes();
	let mut out = Vec::with_capacity(bytes.len());
	let mut i = 0;
	while i < bytes.len() {
		match bytes[i] {
			b'%' => {
				let hex = text.get(i + 1..i + 3).ok_or_else(bad)?;
				out.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
				i += 3;
			}
			b'+' => {
				out.push(b' ');
				i += 1;
			}
			b => {
				out.push(b);
				i += 1;
			}
		}
	}
	String::from_utf8(out).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn routes_and_their_scopes() {
		let get = Method::GET;
		let found = find(&get, "/v1/invoice/abcd").unwrap();
		assert_eq!(found.endpoint, Endpoint::LookupInvoiceHex("abcd".into()));
		assert_eq!(find(&get, "/v1/invoice/").unwrap().endpoint, Endpoint::LookupInvoiceQuery);
		assert_eq!(find(&Method::POST, "/v2/router/send").unwrap().needs, Permission::Admin);
		assert_eq!(find(&Method::POST, "/v1/invoices").unwrap().needs, Permission::InvoiceWrite);
		// As LND's permission table: the invoice macaroon reads invoices and the on-chain
		// balance, not the node, its channels or its payments.
		for (path, needs) in [
			("/v1/getinfo", Permission::NodeRead),
			("/v1/balance/channels", Permission::NodeRead),
			("/v1/balance/blockchain", Permission::InvoiceRead),
			("/v1/channels", Permission::NodeRead),
			("/v1/invoices", Permission::InvoiceRead),
			("/v1/invoices/subscribe", Permission::InvoiceRead),
			("/v1/payments", Permission::NodeRead),
			("/v1/payreq/lnbcrt1", Permission::NodeRead),
			("/v1/newaddress", Permission::InvoiceWrite),
		] {
			assert_eq!(find(&get, path).unwrap().needs, needs, "{path}");
		}
		assert!(find(&Method::DELETE, "/v1/invoices").is_none());
		assert!(find(&get, "/v1/invoice/a/b").is_none());
	}

	#[test]
	fn query_strings_are_percent_decoded() {
		let q = parse_query("r_hash=ab%2Bc%3D&reversed=True&x").unwrap();
		assert_eq!(q["r_hash"], "ab+c=");
		assert_eq!(q["reversed"], "True");
		assert_eq!(q["x"], "");
		assert!(parse_query("a=%zz").is_err());
		assert!(parse_query("a=%2").is_err());
		assert!(parse_query("a=%ff").is_err());
	}
}
