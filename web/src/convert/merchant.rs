//! API keys and their scopes, webhooks, watchtowers.

use fulgur_api::wire::keys::{ApiKeyInfo, ApiScope};
use fulgur_api::wire::towers::TowerStatus;
use fulgur_api::wire::webhooks::{DeliveryState, WebhookInfo};
use fulgur_node as node;

use super::{field_by_field, ToWire};

field_by_field! {
	node::ApiKeyInfo => ApiKeyInfo { id, scope, label, created_at }
	node::WebhookInfo => WebhookInfo { id, url, events, created_at, delivery }
	node::DeliveryState => DeliveryState {
		next_index, delivered, failed_attempts, last_error, next_attempt_at,
	}
	node::tower::TowerStatus => TowerStatus {
		url, tower_id, state, delivered, pending, rejected, last_error, last_delivery_at,
		available_slots, subscription_expiry,
	}
}

impl ToWire for node::ApiScope {
	type Wire = ApiScope;
	fn into_wire(self) -> ApiScope {
		wire_scope(self)
	}
}

/// A node scope as the API names it.
pub(crate) fn wire_scope(scope: node::ApiScope) -> ApiScope {
	match scope {
		node::ApiScope::Admin => ApiScope::Admin,
		node::ApiScope::Invoice => ApiScope::Invoice,
		node::ApiScope::Readonly => ApiScope::Readonly,
	}
}

/// The node's scope an API scope names.
pub(crate) fn node_scope(scope: ApiScope) -> node::ApiScope {
	match scope {
		ApiScope::Admin => node::ApiScope::Admin,
		ApiScope::Invoice => node::ApiScope::Invoice,
		ApiScope::Readonly => node::ApiScope::Readonly,
	}
}
