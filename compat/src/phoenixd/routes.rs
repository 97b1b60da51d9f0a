//! The routes and what each maps to on the node:
//!
//! | route | scope | node operation |
//! |---|---|---|
//! | `GET /getinfo` | limited | `Node::info`, `Node::list_channels` |
//! | `GET /getbalance` | limited | `Node::list_channels` (our balances) |
//! | `POST /createinvoice` | limited | `Node::create_invoice` (`_with_description_hash` with `descriptionHash`) |
//! | `POST /payinvoice` | full | `Node::pay` (waits until final) |
//! | `GET /payments/incoming/{hash}` | limited | `Node::get_invoice`, else `Node::get_payment` |
//! | `GET /payments/outgoingbyhash/{hash}` | limited | `Node::list_payments` (ours to that hash) |
//!
//! Invariant: the order is authorize, match the route, check its scope, read the bounded body,
//! parse, then touch the node; each refusal answers before the next step runs.

use std::sync::Arc;

use bytes::Buf;
use fulgur_node::{
	ApiScope, Node, NodeError, PayRequest, PaymentDirection, PaymentHash, PaymentId, PaymentStatus,
};
use futures_util::{Stream, StreamExt};
use warp::http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use warp::http::{HeaderMap, HeaderValue, Method, StatusCode};
use warp::path::FullPath;
use warp::reply::Response;

use super::wire::{self, Form, FormError};
use super::{Surface, MAX_BODY_BYTES};

/// A route of the surface, with what its path carries.
#[derive(Debug, PartialEq, Eq)]
enum Route<'a> {
	GetInfo,
	GetBalance,
	CreateInvoice,
	PayInvoice,
	Incoming(&'a str),
	OutgoingByHash(&'a str),
}

impl<'a> Route<'a> {
	fn of(method: &Method, path: &'a str) -> Option<Route<'a>> {
		let route = match path {
			"/getinfo" => Route::GetInfo,
			"/getbalance" => Route::GetBalance,
			"/createinvoice" => Route::CreateInvoice,
			"/payinvoice" => Route::PayInvoice,
			_ => {
				if let Some(hash) = path.strip_prefix("/payments/incoming/") {
					Route::Incoming(hash)
				} else if let Some(hash) = path.strip_prefix("/payments/outgoingbyhash/") {
					Route::OutgoingByHash(hash)
				} else {
					return None;
				}
			}
		};
		let expected = match route {
			Route::CreateInvoice | Route::PayInvoice => Method::POST,
			_ => Method::GET,
		};
		(*method == expected).then_some(route)
	}

	/// The limited password may read and create invoices; paying takes the full one.
	fn allowed(&self, scope: ApiScope) -> bool {
		match self {
			Route::PayInvoice => scope == ApiScope::Admin,
			_ => matches!(scope, ApiScope::Admin | ApiScope::Invoice),
		}
	}
}

/// A request's parameters, parsed.
enum Parsed {
	GetInfo,
	GetBalance,
	CreateInvoice(wire::CreateInvoice),
	PayInvoice(wire::PayInvoice),
	Incoming([u8; 32]),
	OutgoingByHash([u8; 32]),
}

fn parse(route: &Route<'_>, body: &[u8]) -> Result<Parsed, FormError> {
	Ok(match route {
		Route::GetInfo => Parsed::GetInfo,
		Route::GetBalance => Parsed::GetBalance,
		Route::CreateInvoice => {
			Parsed::CreateInvoice(wire::CreateInvoice::from_form(&Form::parse(body)?)?)
		}
		Route::PayInvoice => Parsed::PayInvoice(wire::PayInvoice::from_form(&Form::parse(body)?)?),
		Route::Incoming(hash) => Parsed::Incoming(wire::parse_payment_hash(hash)?),
		Route::OutgoingByHash(hash) => Parsed::OutgoingByHash(wire::parse_payment_hash(hash)?),
	})
}

/// A plain-text answer, as phoenixd gives its errors.
pub(crate) fn text(status: StatusCode, message: &str) -> Response {
	let mut response = Response::new(message.to_string().into());
	*response.status_mut() = status;
	response
		.headers_mut()
		.insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
	response
}

/// 401 with the Basic challenge.
pub(crate) fn unauthorized() -> Response {
	let mut response = text(StatusCode::UNAUTHORIZED, "Unauthorized");
	response
		.headers_mut()
		.insert(WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"phoenixd\""));
	response
}

fn json<T: serde::Serialize>(value: &T) -> Response {
	match serde_json::to_vec(value) {
		Ok(bytes) => {
			let mut response = Response::new(bytes.into());
			response
				.headers_mut()
				.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
			response
		}
		Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, &format!("cannot encode: {e}")),
	}
}

/// The scope `headers` grant, or `None`.
pub(crate) fn scope(surface: &Surface, headers: &HeaderMap) -> Option<ApiScope> {
	surface.passwords.scope_of(headers.get(AUTHORIZATION).map(|h| h.as_bytes()))
}

enum BodyError {
	TooLarge,
	Broken,
}

async fn read_bounded<S, B>(body: S) -> Result<Vec<u8>, BodyError>
where
	S: Stream<Item = Result<B, warp::Error>>,
	B: Buf,
{
	let mut body = std::pin::pin!(body);
	let mut bytes = Vec::new();
	while let Some(chunk) = body.next().await {
		let mut chunk = chunk.map_err(|_| BodyError::Broken)?;
		if bytes.len() + chunk.remaining() > MAX_BODY_BYTES {
			return Err(BodyError::TooLarge);
		}
		while chunk.has_remaining() {
			let part = chunk.chunk();
			bytes.extend_from_slice(part);
			let taken = part.len();
			chunk.advance(taken);
		}
	}
	Ok(bytes)
}

/// Every HTTP request of the surface (the WebSocket has its own route).
pub(crate) async fn dispatch<S, B>(
	method: Method, path: FullPath, headers: HeaderMap, body: S, surface: Arc<Surface>,
) -> Response
where
	S: Stream<Item = Result<B, warp::Error>>,
	B: Buf,
{
	let Some(scope) = scope(&surface, &headers) else { return unauthorized() };
	let Some(route) = Route::of(&method, path.as_str()) else {
		return text(StatusCode::NOT_FOUND, "Not Found");
	};
	if !route.allowed(scope) {
		return unauthorized();
	}
	let body = match read_bounded(body).await {
		Ok(body) => body,
		Err(BodyError::TooLarge) => {
			let message = format!("Request body larger than {MAX_BODY_BYTES} bytes");
			return text(StatusCode::PAYLOAD_TOO_LARGE, &message);
		}
		Err(BodyError::Broken) => return text(StatusCode::BAD_REQUEST, "Request body unreadable"),
	};
	let parsed = match parse(&route, &body) {
		Ok(parsed) => parsed,
		Err(e) => return text(StatusCode::BAD_REQUEST, &e.to_string()),
	};
	let Some(node) = surface.node.get() else {
		return text(StatusCode::SERVICE_UNAVAILABLE, "The node is starting");
	};
	answer(node, parsed).await
}

async fn answer(node: &Node, parsed: Parsed) -> Response {
	match parsed {
		Parsed::GetInfo => {
			let info = node.info();
			let channels = node.list_channels();
			json(&wire::NodeInfo {
				node_id: info.node_id,
				channels: channels.iter().map(wire::Channel::from).collect(),
				chain: wire::chain_name(&info.network),
				block_height: info.block_height,
				version: format!("fulgur-{}", env!("CARGO_PKG_VERSION")),
			})
		}
		Parsed::GetBalance => {
			let msat: u64 = node.list_channels().iter().map(|c| c.local_balance_msat).sum();
			json(&wire::Balance { balance_sat: msat / 1000, fee_credit_sat: 0 })
		}
		Parsed::CreateInvoice(request) => {
			let amount_msat = request.amount_sat.map(|sat| sat.saturating_mul(1000));
			let created = match request.description_hash {
				Some(hash) => {
					node.create_invoice_with_description_hash(
						hash,
						&request.description,
						amount_msat,
						request.expiry_seconds,
						None,
					)
					.await
				}
				None => {
					node.create_invoice(amount_msat, &request.description, request.expiry_seconds)
						.await
				}
			};
			match created {
				Ok(invoice) => json(&wire::CreatedInvoice {
					amount_sat: invoice.amount_msat.unwrap_or(0) / 1000,
					payment_hash: invoice.payment_hash,
					serialized: invoice.bolt11,
				}),
				Err(e) => node_error(&e),
			}
		}
		Parsed::PayInvoice(request) => pay(node, request).await,
		Parsed::Incoming(hash) => {
			if let Some(invoice) = node.get_invoice(&PaymentHash(hash)) {
				return json(&wire::IncomingPayment::from(&invoice));
			}
			match node.get_payment(&PaymentId(hash)) {
				Some(payment) if payment.direction == PaymentDirection::Inbound => {
					json(&wire::IncomingPayment::from(&payment))
				}
				_ => text(StatusCode::NOT_FOUND, "Not Found"),
			}
		}
		Parsed::OutgoingByHash(hash) => {
			let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
			let ours: Vec<_> = node
				.list_payments()
				.into_iter()
				.filter(|p| p.direction == PaymentDirection::Outbound)
				.filter(|p| p.payment_hash.as_deref() == Some(hex.as_str()))
				.collect();
			// The one that arrived if any, else the newest attempt (the list is newest first).
			let chosen =
				ours.iter().find(|p| p.status == PaymentStatus::Succeeded).or_else(|| ours.first());
			match chosen {
				Some(payment) => json(&wire::OutgoingPayment::from(payment)),
				None => text(StatusCode::NOT_FOUND, "Not Found"),
			}
		}
	}
}

async fn pay(node: &Node, request: wire::PayInvoice) -> Response {
	let amount_msat = request.amount_sat.map(|sat| sat.saturating_mul(1000));
	let pay_request = PayRequest { invoice: request.invoice, amount_msat, max_fee_msat: None };
	match node.pay(pay_request, true).await {
		Ok(payment) => match payment.status {
			PaymentStatus::Succeeded => json(&wire::PaidInvoice {
				recipient_amount_sat: payment.amount_msat.unwrap_or(0) / 1000,
				routing_fee_sat: wire::sat_rounded_up(payment.fee_msat.unwrap_or(0)),
				payment_id: payment.payment_id,
				payment_hash: payment.payment_hash.unwrap_or_default(),
				payment_preimage: payment.preimage.unwrap_or_default(),
			}),
			PaymentStatus::Failed => json(&wire::PaymentFailed {
				payment_id: Some(payment.payment_id),
				payment_hash: payment.payment_hash,
				reason: payment.failure_reason.unwrap_or_else(|| "payment failed".to_string()),
			}),
			// Not final: a 5xx, so that a client keeps it pending and asks again by hash
			// rather than taking it for failed.
			PaymentStatus::Pending => {
				text(StatusCode::INTERNAL_SERVER_ERROR, "Payment still pending")
			}
		},
		// Refused before anything was sent: a failed payment, as phoenixd reports it.
		Err(
			e @ (NodeError::RouteNotFound(_)
			| NodeError::InsufficientFunds(_)
			| NodeError::PaymentFailed(_)),
		) => json(&wire::PaymentFailed {
			payment_id: None,
			payment_hash: None,
			reason: e.message().to_string(),
		}),
		Err(e) => node_error(&e),
	}
}

/// A node error as phoenixd answers one: bad input 400, the rest 5xx (so a client never takes
/// an error it cannot judge for a definite failure).
fn node_error(e: &NodeError) -> Response {
	let status = match e {
		NodeError::InvalidRequest(_)
		| NodeError::InvalidAmount(_)
		| NodeError::InvalidInvoice(_)
		| NodeError::InvalidAddress(_)
		| NodeError::InvoiceExpired(_)
		| NodeError::DuplicatePayment(_)
		| NodeError::InvoiceConflict(_) => StatusCode::BAD_REQUEST,
		NodeError::NotFound(_) => StatusCode::NOT_FOUND,
		NodeError::Busy(_) | NodeError::NotSynced(_) => StatusCode::SERVICE_UNAVAILABLE,
		_ => StatusCode::INTERNAL_SERVER_ERROR,
	};
	text(status, e.message())
}

/// What no route matched (a rejection warp raised itself).
pub(crate) async fn recover(_: warp::Rejection) -> Result<Response, std::convert::Infallible> {
	Ok(text(StatusCode::NOT_FOUND, "Not Found"))
}
