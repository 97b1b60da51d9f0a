//! `key ...`, `webhook ...` and `events`: the merchant commands.

use clap::Subcommand;
use fulgur_api::wire::keys::ApiScope;
use fulgur_api::wire::webhooks::CreateWebhookRequest;
use fulgur_api::{ApiClient, ClientError};

use super::{page_query, Output, PageArgs};

/// `key ...` (needs the admin key)
#[derive(Subcommand, Clone, Debug, PartialEq, Eq)]
pub enum KeyCommand {
	/// Create a scoped API key; its secret is printed this once
	Create {
		/// admin, invoice (create and read invoices, read events) or readonly
		#[arg(long, value_parser = parse_scope)]
		scope: ApiScope,
		/// A name to recognise the key by
		#[arg(long)]
		label: Option<String>,
	},
	/// List API keys (not the admin key file), newest first
	List(PageArgs),
	/// Revoke an API key at once
	Revoke {
		/// The key's id
		id: String,
	},
}

/// `webhook ...` (needs the admin key)
#[derive(Subcommand, Clone, Debug, PartialEq, Eq)]
pub enum WebhookCommand {
	/// Register a URL that gets events POSTed, signed; its secret is printed this once
	Create {
		/// http://host:port/path or https://host:port/path
		url: String,
		/// An event kind to deliver (repeat for several; all kinds when left out)
		#[arg(long = "event", value_name = "KIND")]
		events: Vec<String>,
		/// A PEM file with the CA (or self-signed) certificate of an https:// receiver,
		/// trusted instead of Mozilla's roots
		#[arg(long, value_name = "FILE")]
		ca_cert: Option<std::path::PathBuf>,
	},
	/// List webhooks with their delivery state
	List(PageArgs),
	/// Remove a webhook
	Delete {
		/// The webhook's id
		id: String,
	},
}

/// `admin`, `invoice` or `readonly`.
pub fn parse_scope(s: &str) -> Result<ApiScope, String> {
	s.parse()
}

pub(super) async fn key(client: &ApiClient, cmd: KeyCommand) -> Result<Output, ClientError> {
	match cmd {
		KeyCommand::Create { scope, label } => {
			Output::of(&client.create_api_key(scope, label.as_deref()).await?)
		}
		KeyCommand::List(page) => Output::of(&client.list_api_keys(&page_query(page)).await?),
		KeyCommand::Revoke { id } => Output::of(&client.revoke_api_key(&id).await?),
	}
}

pub(super) async fn webhook(
	client: &ApiClient, cmd: WebhookCommand,
) -> Result<Output, ClientError> {
	match cmd {
		WebhookCommand::Create { url, events, ca_cert: None } => {
			Output::of(&client.create_webhook(&url, &events).await?)
		}
		WebhookCommand::Create { url, events, ca_cert: Some(path) } => {
			let ca_cert_pem = std::fs::read_to_string(&path).map_err(|e| {
				ClientError::InvalidInput(format!("reading {}: {e}", path.display()))
			})?;
			let req = CreateWebhookRequest { url, events, ca_cert_pem: Some(ca_cert_pem) };
			Output::of(&client.create_webhook_with(&req).await?)
		}
		WebhookCommand::List(page) => Output::of(&client.list_webhooks(&page_query(page)).await?),
		WebhookCommand::Delete { id } => Output::of(&client.delete_webhook(&id).await?),
	}
}
