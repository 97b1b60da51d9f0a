//! `GET /v1/openapi.json`: the API described as OpenAPI 3.0, built from the route table
//! (`fulgur_api::routes`) and the body schemas (`schemas.rs`), so the description lists exactly the
//! routes the server has, with the scopes each one takes.

mod schemas;

use fulgur_node::ApiScope;
use serde_json::{json, Map, Value};

use fulgur_api::routes::{Endpoint, Reply};

/// The document.
pub fn document() -> Value {
	let mut paths = Map::new();
	for route in Endpoint::ALL {
		let spec = route.spec();
		let path = paths.entry(spec.path.to_string()).or_insert_with(|| json!({}));
		if let Some(path) = path.as_object_mut() {
			path.insert(spec.method.to_ascii_lowercase(), operation(*route));
		}
	}
	json!({
		"openapi": "3.0.3",
		"info": {
			"title": "fulgur",
			"version": env!("CARGO_PKG_VERSION"),
			"description": "The HTTP API of a fulgur Lightning node. Every request needs \
				`Authorization: Bearer <key>`; each operation lists the key scopes it accepts \
				(`x-fulgur-scopes`). Errors are `{code, message}` JSON: 401 for a missing or \
				unknown key, 403 for a key without the scope. Amounts carry their unit in the \
				field name. List endpoints page with `limit` and `cursor` and return `total`."
		},
		"security": [{"bearer": []}],
		"paths": paths,
		"components": {
			"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
			"schemas": schemas::all(),
			"responses": {
				"Error": {
					"description": "`{code, message}`",
					"content": {"application/json": {"schema": reference("Error")}}
				}
			}
		}
	})
}

fn reference(name: &str) -> Value {
	json!({"$ref": format!("#/components/schemas/{name}")})
}

fn operation(route: Endpoint) -> Value {
	let spec = route.spec();
	let mut parameters: Vec<Value> = path_parameters(spec.path)
		.map(
			|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}),
		)
		.collect();
	parameters.extend(spec.query.iter().map(|name| query_parameter(name)));
	if route == Endpoint::EventStream {
		parameters.push(json!({
			"name": "Last-Event-ID", "in": "header", "required": false,
			"description": "Resume after this index (sent by browsers on reconnect); wins over ?after=",
			"schema": {"type": "integer", "format": "int64", "minimum": 0}
		}));
	}
	let success = match spec.reply {
		Reply::Json(schema) => json!({
			"description": "OK",
			"content": {"application/json": {"schema": reference(schema)}}
		}),
		Reply::Metrics => json!({
			"description": "Prometheus text format 0.0.4",
			"content": {"text/plain": {"schema": {"type": "string"}}}
		}),
		Reply::EventStream => json!({
			"description": "Server-Sent Events: `id:` the index, `data:` an EventRecord as JSON",
			"content": {"text/event-stream": {"schema": reference("EventRecord")}}
		}),
	};
	let error = json!({"$ref": "#/components/responses/Error"});
	let mut responses = Map::new();
	responses.insert("200".into(), success);
	for status in ["400", "401", "403", "404", "422", "500", "503"] {
		responses.insert(status.into(), error.clone());
	}
	let mut operation = json!({
		"operationId": operation_id(route),
		"summary": spec.summary,
		"x-fulgur-scopes": spec.access.scopes(),
		"parameters": parameters,
		"responses": responses,
	});
	if matches!(route, Endpoint::ListEvents | Endpoint::EventStream) {
		if let Some(object) = operation.as_object_mut() {
			object.insert(
				"description".into(),
				"Only the event kinds the key's scope may read (`x-fulgur-event-kinds`): an \
				`invoice` key reads its invoices' events, `admin` and `readonly` keys every kind."
					.into(),
			);
			object.insert("x-fulgur-event-kinds".into(), event_kinds_by_scope());
		}
	}
	if let (Some(body), Some(object)) = (spec.body, operation.as_object_mut()) {
		let example: Value = serde_json::from_str(body.example).unwrap_or(Value::Null);
		object.insert(
			"requestBody".into(),
			json!({
				"required": body.example != "{}",
				"content": {"application/json": {"schema": reference(body.schema), "example": example}}
			}),
		);
	}
	operation
}

/// `{"admin": [kinds], "invoice": [...], "readonly": [...]}`: what each scope reads of the
/// event log, as the node decides it.
fn event_kinds_by_scope() -> Value {
	let mut scopes = Map::new();
	for scope in [ApiScope::Admin, ApiScope::Invoice, ApiScope::Readonly] {
		let kinds: Vec<&str> = fulgur_node::EVENT_KINDS
			.iter()
			.copied()
			.filter(|kind| fulgur_node::kind_readable_by(kind, scope))
			.collect();
		scopes.insert(scope.as_str().into(), json!(kinds));
	}
	Value::Object(scopes)
}

/// `{name}` segments of a path template.
fn path_parameters(path: &str) -> impl Iterator<Item = &str> {
	path.split('/').filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
}

fn query_parameter(name: &str) -> Value {
	let (description, schema) = match name {
		"limit" => ("Items per page, 1 to 1000 (100 by default)", json!({"type": "integer"})),
		"cursor" => ("`next_cursor` of the previous page", json!({"type": "string"})),
		"after" => {
			("Only events with a greater index", json!({"type": "integer", "format": "int64"}))
		}
		"state" => (
			"`open` (the default) or `closed` (closed channels, in `closed_channels`)",
			json!({"type": "string", "enum": ["open", "closed"]}),
		),
		// Forwarding records (issue 13).
		"since" => {
			("Not before this UNIX time (seconds)", json!({"type": "integer", "format": "int64"}))
		}
		"until" => {
			("Not after this UNIX time (seconds)", json!({"type": "integer", "format": "int64"}))
		}
		"channel_id" => {
			("Only forwards in or out on this channel (64 hex digits)", json!({"type": "string"}))
		}
		"status" => ("settled or failed", json!({"type": "string", "enum": ["settled", "failed"]})),
		"group_by" => (
			"day (UTC, the default) or channel (outgoing)",
			json!({"type": "string", "enum": ["day", "channel"]}),
		),
		_ => ("", json!({"type": "string"})),
	};
	json!({"name": name, "in": "query", "required": false, "description": description,
		"schema": schema})
}

/// `ListInvoices` → `list_invoices`.
fn operation_id(route: Endpoint) -> String {
	let mut id = String::new();
	for (i, c) in format!("{route:?}").chars().enumerate() {
		if c.is_ascii_uppercase() && i > 0 {
			id.push('_');
		}
		id.push(c.to_ascii_lowercase());
	}
	id
}

/// Checks `value` against the document's schema `name`: types, required fields, no
/// undeclared fields, enums, `nullable`, references. Enough for the schemas this API uses;
/// what the tests use to hold real answers against the description.
pub fn check(document: &Value, name: &str, value: &Value) -> Result<(), String> {
	check_schema(document, &reference(name), value, name)
}

fn check_schema(document: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
	if let Some(target) = schema.get("$ref").and_then(Value::as_str) {
		let name = target.trim_start_matches("#/components/schemas/");
		let resolved = document
			.pointer(&format!("/components/schemas/{name}"))
			.ok_or_else(|| format!("{at}: no schema {name}"))?;
		return check_schema(document, resolved, value, at);
	}
	if value.is_null() {
		return match schema.get("nullable").and_then(Value::as_bool) {
			Some(true) => Ok(()),
			_ => Err(format!("{at}: null where the schema does not allow it")),
		};
	}
	if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
		return all.iter().try_for_each(|s| check_schema(document, s, value, at));
	}
	if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
		if !allowed.contains(value) {
			return Err(format!("{at}: {value} is not one of {allowed:?}"));
		}
	}
	let kind = schema.get("type").and_then(Value::as_str).unwrap_or("");
	let fits = match kind {
		"object" => value.is_object(),
		"array" => value.is_array(),
		"string" => value.is_string(),
		"integer" => value.is_u64() || value.is_i64(),
		"number" => value.is_number(),
		"boolean" => value.is_boolean(),
		_ => true,
	};
	if !fits {
		return Err(format!("{at}: {value} is not {kind}"));
	}
	if let (Some(items), Some(values)) = (schema.get("items"), value.as_array()) {
		for (i, item) in values.iter().enumerate() {
			check_schema(document, items, item, &format!("{at}[{i}]"))?;
		}
	}
	if let Some(object) = value.as_object() {
		let properties = schema.get("properties").and_then(Value::as_object);
		for required in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
			let field = required.as_str().unwrap_or_default();
			if !object.contains_key(field) {
				return Err(format!("{at}: missing {field}"));
			}
		}
		let open = schema.get("additionalProperties") != Some(&Value::Bool(false));
		for (field, field_value) in object {
			match properties.and_then(|p| p.get(field)) {
				Some(field_schema) => {
					check_schema(document, field_schema, field_value, &format!("{at}.{field}"))?
				}
				None if open => {}
				None => return Err(format!("{at}: undeclared field {field}")),
			}
		}
	}
	Ok(())
}

#[cfg(test)]
mod tests {
	use super::*;
	use fulgur_node::{EventRecord, InvoiceRecord, InvoiceStatus, NodeEvent};

	#[test]
	fn every_route_is_documented_and_nothing_else() {
		let doc = document();
		let paths = doc["paths"].as_object().expect("paths");
		let mut documented = 0;
		for (path, operations) in paths {
			for (method, operation) in operations.as_object().expect("operations") {
				documented += 1;
				let route = Endpoint::ALL.iter().find(|r| {
					r.spec().path == path && r.spec().method.eq_ignore_ascii_case(method)
				});
				assert!(route.is_some(), "{method} {path} documented but not in the table");
				assert!(operation["x-fulgur-scopes"].as_array().is_some_and(|s| !s.is_empty()));
			}
		}
		assert_eq!(documented, Endpoint::ALL.len());
		for route in Endpoint::ALL {
			let spec = route.spec();
			let operation = &doc["paths"][spec.path][spec.method.to_ascii_lowercase()];
			assert!(operation.is_object(), "{route:?} missing from the document");
			for name in path_parameters(spec.path) {
				let declared = operation["parameters"]
					.as_array()
					.into_iter()
					.flatten()
					.any(|p| p["name"] == name && p["in"] == "path");
				assert!(declared, "{route:?}: path parameter {name}");
			}
		}
	}

	#[test]
	fn every_reference_resolves_and_examples_fit() {
		let doc = document();
		let mut refs = Vec::new();
		collect_refs(&doc, &mut refs);
		assert!(refs.len() > 40);
		for target in refs {
			assert!(doc.pointer(target.trim_start_matches('#')).is_some(), "dangling {target}");
		}
		for route in Endpoint::ALL {
			if let Some(body) = route.spec().body {
				let example: Value = serde_json::from_str(body.example).expect("example JSON");
				check(&doc, body.schema, &example).unwrap_or_else(|e| panic!("{route:?}: {e}"));
			}
		}
	}

	fn collect_refs(value: &Value, out: &mut Vec<String>) {
		match value {
			Value::Object(map) => {
				if let Some(Value::String(target)) = map.get("$ref") {
					out.push(target.clone());
				}
				map.values().for_each(|v| collect_refs(v, out));
			}
			Value::Array(values) => values.iter().for_each(|v| collect_refs(v, out)),
			_ => {}
		}
	}

	#[test]
	fn check_holds_values_to_the_schemas() {
		let doc = document();
		let invoice = InvoiceRecord {
			payment_hash: "ab".repeat(32),
			bolt11: "lnbcrt1".into(),
			description: "coffee".into(),
			amount_msat: None,
			amount_received_msat: Some(5),
			created_at: 1,
			expires_at: 2,
			paid_at: Some(2),
			preimage: None,
			status: InvoiceStatus::Paid,
			hold: false,
			claim_deadline: None,
			add_index: 0,
			settle_index: None,
		};
		let event =
			EventRecord { index: 1, timestamp: 2, event: NodeEvent::InvoicePaid { invoice } };
		let value = serde_json::to_value(&event).expect("json");
		check(&doc, "EventRecord", &value).expect("fits");
		let mut extra = value.clone();
		extra["surprise"] = json!(1);
		assert!(check(&doc, "EventRecord", &extra).unwrap_err().contains("undeclared"));
		let mut wrong = value.clone();
		wrong["invoice"]["status"] = json!("lost");
		assert!(check(&doc, "EventRecord", &wrong).is_err());
		let mut missing = value;
		missing.as_object_mut().expect("object").remove("index");
		assert!(check(&doc, "EventRecord", &missing).unwrap_err().contains("missing index"));
		assert_eq!(operation_id(Endpoint::ListInvoices), "list_invoices");
	}

	#[test]
	fn event_routes_say_what_each_scope_reads() {
		let doc = document();
		for path in ["/v1/events", "/v1/events/stream"] {
			let kinds = &doc["paths"][path]["get"]["x-fulgur-event-kinds"];
			assert_eq!(kinds["admin"], json!(fulgur_node::EVENT_KINDS), "{path}");
			assert_eq!(kinds["readonly"], json!(fulgur_node::EVENT_KINDS), "{path}");
			assert_eq!(kinds["invoice"], json!(fulgur_node::INVOICE_SCOPE_KINDS), "{path}");
		}
	}
}
