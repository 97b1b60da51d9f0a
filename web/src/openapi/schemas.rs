//! The JSON schemas of every request and answer body, by name, as OpenAPI 3.0 components.
//! Written by hand next to a tiny builder; the end-to-end tests check real answers against
//! them ([`super::check`]), so they cannot drift from what the API sends.

use serde_json::{json, Map, Value};

mod closed;
mod policy;

fn string() -> Value {
	json!({"type": "string"})
}
fn hex(what: &str) -> Value {
	json!({"type": "string", "description": format!("{what} (hex)")})
}
fn int() -> Value {
	json!({"type": "integer", "format": "int64", "minimum": 0})
}
fn number() -> Value {
	json!({"type": "number"})
}
fn boolean() -> Value {
	json!({"type": "boolean"})
}
fn nullable(mut schema: Value) -> Value {
	if let Some(object) = schema.as_object_mut() {
		object.insert("nullable".into(), Value::Bool(true));
	}
	schema
}
fn array(items: Value) -> Value {
	json!({"type": "array", "items": items})
}
fn reference(name: &str) -> Value {
	json!({"$ref": format!("#/components/schemas/{name}")})
}
fn one_of(values: &[&str]) -> Value {
	json!({"type": "string", "enum": values})
}
fn nullable_ref(name: &str) -> Value {
	// OpenAPI 3.0: a nullable reference needs a wrapper.
	json!({"allOf": [reference(name)], "nullable": true})
}

/// An object; fields named with a leading `?` are optional (may be absent).
fn object(fields: &[(&str, Value)]) -> Value {
	let mut properties = Map::new();
	let mut required = Vec::new();
	for (name, schema) in fields {
		match name.strip_prefix('?') {
			Some(optional) => {
				properties.insert(optional.to_string(), schema.clone());
			}
			None => {
				properties.insert(name.to_string(), schema.clone());
				required.push(Value::String(name.to_string()));
			}
		}
	}
	json!({"type": "object", "properties": properties, "required": required,
		"additionalProperties": false})
}

/// A page of a list: `{<items>: [...], total, next_cursor}`.
fn page(items: &str, item: &str) -> Value {
	object(&[
		(items, array(reference(item))),
		("total", int()),
		("next_cursor", nullable(string())),
	])
}

fn invoice() -> Value {
	object(&[
		("payment_hash", hex("payment hash")),
		("bolt11", string()),
		("description", string()),
		("amount_msat", nullable(int())),
		("amount_received_msat", nullable(int())),
		("created_at", int()),
		("expires_at", int()),
		("paid_at", nullable(int())),
		("preimage", nullable(hex("preimage"))),
		("status", one_of(&["open", "accepted", "paid", "expired", "canceled"])),
		("hold", boolean()),
		("claim_deadline", nullable(int())),
	])
}

fn payment() -> Value {
	object(&[
		("payment_id", hex("payment id")),
		("payment_hash", nullable(hex("payment hash"))),
		("kind", one_of(&["bolt11", "bolt12", "keysend", "rebalance"])),
		("direction", one_of(&["outbound", "inbound"])),
		("destination", nullable(string())),
		("invoice", nullable(string())),
		("description", nullable(string())),
		("amount_msat", nullable(int())),
		("fee_msat", nullable(int())),
		("max_fee_msat", nullable(int())),
		("preimage", nullable(hex("preimage"))),
		("status", one_of(&["pending", "succeeded", "failed"])),
		("failure_reason", nullable(string())),
		("created_at", int()),
		("completed_at", nullable(int())),
	])
}

/// Every event kind's fields in one object; `type` says which are present.
fn event() -> Value {
	object(&[
		("index", int()),
		("timestamp", int()),
		("type", one_of(fulgur_node::EVENT_KINDS)),
		("?invoice", reference("InvoiceRecord")),
		("?payment", reference("PaymentRecord")),
		("?channel_id", hex("channel id")),
		("?counterparty_node_id", nullable(string())),
		("?funding_txo", string()),
		("?reason", string()),
		("?node_id", string()),
		("?inbound", boolean()),
		("?txid", hex("transaction id")),
		("?amount_sat", int()),
		("?block_height", int()),
		("?forward", reference("ForwardRecord")),
	])
}

fn channel() -> Value {
	object(&[
		("channel_id", hex("channel id")),
		("counterparty_node_id", string()),
		("funding_txo", nullable(string())),
		("short_channel_id", nullable(string())),
		("capacity_sat", int()),
		("local_balance_msat", int()),
		("outbound_capacity_msat", int()),
		("inbound_capacity_msat", int()),
		("confirmations", nullable(int())),
		("state", one_of(&["pending", "ready", "usable"])),
		("announced", boolean()),
		("is_outbound", boolean()),
		("is_usable", boolean()),
		("unusable_reason", nullable(string())),
		("commitment_feerate_sat_per_kw", nullable(int())),
		("anchors", boolean()),
		("updates_in_flight", int()),
		("updates_done", int()),
		("last_persist_latency_us", nullable(int())),
		("last_activity_at", nullable(int())),
		("policy", reference("ForwardingPolicy")),
	])
}

fn routes() -> Vec<(&'static str, Value)> {
	let hop = object(&[
		("node_id", string()),
		("short_channel_id", string()),
		("announced", boolean()),
		("amount_msat", int()),
		("fee_msat", int()),
		("cltv_expiry_delta", int()),
		("success_probability", nullable(number())),
	]);
	let path = object(&[
		("amount_msat", int()),
		("fee_msat", int()),
		("total_cltv_expiry_delta", int()),
		("success_probability", number()),
		("hops", array(hop)),
	]);
	let route = object(&[
		("amount_msat", int()),
		("fee_msat", int()),
		("total_cltv_expiry_delta", int()),
		("success_probability", number()),
		("paths", array(path)),
	]);
	let policy = object(&[
		("enabled", boolean()),
		("base_fee_msat", int()),
		("fee_ppm", int()),
		("cltv_expiry_delta", int()),
		("htlc_minimum_msat", int()),
		("htlc_maximum_msat", int()),
		("last_update", int()),
	]);
	vec![
		(
			"RoutesRequest",
			object(&[
				("?node_id", nullable(string())),
				("?invoice", nullable(string())),
				("?amount_msat", nullable(int())),
				("?max_fee_msat", nullable(int())),
				("?max_routes", nullable(int())),
			]),
		),
		("RoutesResponse", object(&[("destination", string()), ("routes", array(route))])),
		("ProbeResponse", object(&[("probes_sent", int())])),
		(
			"GraphSummary",
			object(&[
				("node_count", int()),
				("channel_count", int()),
				("channel_count_both_directions", int()),
				("total_capacity_sat", int()),
			]),
		),
		(
			"GraphNode",
			object(&[
				("node_id", string()),
				("alias", nullable(string())),
				("addresses", array(string())),
				("last_update", nullable(int())),
				("channels", array(string())),
			]),
		),
		(
			"GraphChannel",
			object(&[
				("short_channel_id", string()),
				("node_one", string()),
				("node_two", string()),
				("capacity_sat", nullable(int())),
				("one_to_two", nullable(policy.clone())),
				("two_to_one", nullable(policy)),
			]),
		),
	]
}

fn node_state() -> Vec<(&'static str, Value)> {
	vec![
		(
			"NodeInfo",
			object(&[
				("node_id", string()),
				("network", string()),
				("block_height", int()),
				("block_hash", string()),
				("synced", boolean()),
				("sync_status", string()),
				("num_peers", int()),
				("num_channels", int()),
				("num_usable_channels", int()),
				("listening_addresses", array(string())),
				("graph_nodes", int()),
				("graph_channels", int()),
				("monitor_updates_in_flight", int()),
				("monitor_updates_done", int()),
				("last_persist_latency_us", nullable(int())),
			]),
		),
		(
			"Balance",
			object(&[
				("onchain_confirmed_sat", int()),
				("onchain_unconfirmed_sat", int()),
				("lightning_outbound_msat", int()),
				("lightning_inbound_msat", int()),
				("lightning_claimable_sat", int()),
				("onchain_claimable_sat", int()),
			]),
		),
		("NewAddressRequest", object(&[])),
		("NewAddressResponse", object(&[("address", string())])),
		("SendOnchainRequest", object(&[("address", string()), ("amount_sat", int())])),
		("SendOnchainResponse", object(&[("txid", hex("transaction id"))])),
		(
			"PeerInfo",
			object(&[
				("node_id", string()),
				("address", nullable(string())),
				("connected", boolean()),
				("persisted", boolean()),
			]),
		),
		("ListPeersResponse", page("peers", "PeerInfo")),
		(
			"ConnectPeerResponse",
			object(&[
				("?node_id", string()),
				("?address", nullable(string())),
				("?connected", boolean()),
				("?persisted", boolean()),
			]),
		),
		("ConnectPeerRequest", object(&[("node_id", string()), ("address", string())])),
		("DisconnectPeerResponse", object(&[("node_id", string())])),
		("ChannelInfo", channel()),
		(
			"ListChannelsResponse",
			object(&[
				("channels", array(reference("ChannelInfo"))),
				("closed_channels", array(reference("ClosedChannelInfo"))),
				("total", int()),
				("next_cursor", nullable(string())),
			]),
		),
		(
			"OpenChannelRequest",
			object(&[
				("node_id", string()),
				("address", string()),
				("amount_sat", int()),
				("?push_msat", nullable(int())),
				("?announce", nullable(boolean())),
			]),
		),
		(
			"OpenedChannel",
			object(&[
				("channel_id", hex("channel id")),
				("counterparty_node_id", string()),
				("funding_txid", nullable(string())),
			]),
		),
		("CloseChannelBody", object(&[("?force", boolean())])),
		("CloseChannelResponse", object(&[("channel_id", string()), ("force", boolean())])),
	]
}

fn money() -> Vec<(&'static str, Value)> {
	vec![
		(
			"CreateInvoiceRequest",
			object(&[
				("?amount_msat", nullable(int())),
				("description", string()),
				("?expiry_secs", nullable(int())),
				("?payment_hash", nullable(hex("payment hash of a hold invoice"))),
			]),
		),
		("InvoiceRecord", invoice()),
		("SettleInvoiceBody", object(&[("preimage", hex("preimage"))])),
		("CancelInvoiceBody", object(&[])),
		("ListInvoicesResponse", page("invoices", "InvoiceRecord")),
		(
			"PayRequest",
			object(&[
				("invoice", string()),
				("?amount_msat", nullable(int())),
				("?max_fee_msat", nullable(int())),
				("?wait", boolean()),
			]),
		),
		(
			"KeysendRequest",
			object(&[
				("node_id", string()),
				("amount_msat", int()),
				("?payment_id", nullable(hex("client-chosen payment id, 32 bytes"))),
				("?wait", boolean()),
			]),
		),
		("PaymentRecord", payment()),
		("ListPaymentsResponse", page("payments", "PaymentRecord")),
		(
			"CreateOfferRequest",
			object(&[("?amount_msat", nullable(int())), ("description", string())]),
		),
		("CreateOfferResponse", object(&[("offer", string())])),
	]
}

fn merchant() -> Vec<(&'static str, Value)> {
	let key = [
		("id", hex("key id")),
		("scope", one_of(&["admin", "invoice", "readonly"])),
		("label", nullable(string())),
		("created_at", int()),
	];
	let mut created_key = key.to_vec();
	created_key.push(("secret", string()));
	let webhook = [
		("id", hex("webhook id")),
		("url", string()),
		("events", array(one_of(fulgur_node::EVENT_KINDS))),
		("created_at", int()),
		("delivery", reference("DeliveryState")),
	];
	let mut created_webhook = webhook.to_vec();
	created_webhook.push(("secret", string()));
	vec![
		("EventRecord", event()),
		(
			"ListEventsResponse",
			object(&[
				("events", array(reference("EventRecord"))),
				("total", int()),
				("first_index", int()),
				("latest_index", int()),
				("next_cursor", nullable(string())),
			]),
		),
		(
			"CreateWebhookRequest",
			object(&[("url", string()), ("?events", array(string())), ("?ca_cert_pem", string())]),
		),
		(
			"DeliveryState",
			object(&[
				("next_index", int()),
				("delivered", int()),
				("failed_attempts", int()),
				("last_error", nullable(string())),
				("next_attempt_at", nullable(int())),
			]),
		),
		("WebhookInfo", object(&webhook)),
		("CreatedWebhook", object(&created_webhook)),
		("ListWebhooksResponse", page("webhooks", "WebhookInfo")),
		(
			"CreateKeyRequest",
			object(&[
				("scope", one_of(&["admin", "invoice", "readonly"])),
				("?label", nullable(string())),
			]),
		),
		("ApiKeyInfo", object(&key)),
		("CreatedKey", object(&created_key)),
		("ListKeysResponse", page("keys", "ApiKeyInfo")),
		(
			"TowerStatus",
			object(&[
				("url", string()),
				("tower_id", nullable(string())),
				("state", one_of(&["active", "unreachable", "registering", "misbehaving"])),
				("delivered", int()),
				("pending", int()),
				("rejected", int()),
				("last_error", nullable(string())),
				("last_delivery_at", nullable(int())),
				("available_slots", nullable(int())),
				("subscription_expiry", nullable(int())),
			]),
		),
		(
			"ListTowersResponse",
			object(&[("towers", array(reference("TowerStatus"))), ("outbox", int())]),
		),
		(
			"OpenApiDocument",
			json!({"type": "object", "description": "This document", "additionalProperties": true}),
		),
		(
			"Error",
			object(&[
				("code", string()),
				("message", string()),
				("?payment", nullable_ref("PaymentRecord")),
			]),
		),
	]
}

/// Forwarding records (issue 13).
fn forwards() -> Vec<(&'static str, Value)> {
	let totals = [("count", int()), ("volume_msat", int()), ("fees_msat", int())];
	let mut bucket = vec![("?day", string()), ("?channel_id", hex("outgoing channel id"))];
	bucket.extend(totals.iter().cloned());
	vec![
		(
			"ForwardRecord",
			object(&[
				("id", string()),
				("timestamp", int()),
				("in_channel_id", nullable(hex("channel id"))),
				("out_channel_id", nullable(hex("channel id"))),
				("in_peer_node_id", nullable(string())),
				("out_peer_node_id", nullable(string())),
				("in_amount_msat", nullable(int())),
				("out_amount_msat", nullable(int())),
				("fee_msat", nullable(int())),
				("status", one_of(&["settled", "failed"])),
				("failure_reason", nullable(string())),
			]),
		),
		("ListForwardsResponse", page("forwards", "ForwardRecord")),
		("ForwardTotals", object(&totals)),
		("ForwardBucket", object(&bucket)),
		(
			"ForwardsSummaryResponse",
			object(&[
				("group_by", one_of(&["day", "channel"])),
				("buckets", array(reference("ForwardBucket"))),
				("totals", reference("ForwardTotals")),
			]),
		),
	]
}

/// Every schema, by name.
pub(super) fn all() -> Map<String, Value> {
	let mut schemas = Map::new();
	let groups = node_state().into_iter().chain(money()).chain(merchant()).chain(routes());
	let groups = groups.chain(closed::schemas()).chain(forwards()).chain(policy::schemas());
	for (name, schema) in groups {
		schemas.insert(name.to_string(), schema);
	}
	schemas
}
