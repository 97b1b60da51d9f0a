//! `closed-channels`, `decode`, `sign` and `verify`: what a node runner checks by hand.

use clap::Subcommand;
use fulgur_api::wire::utilities::DecodeRequest;
use fulgur_api::{ApiClient, ClientError};

use super::{page_query, Output, PageArgs};

/// The node runner's utilities (flattened into the client commands).
#[derive(Subcommand, Clone, Debug, PartialEq, Eq)]
pub enum UtilityCommand {
	/// List closed channels, newest first, with what they still hold on-chain
	ClosedChannels(PageArgs),
	/// What a BOLT11 invoice or a BOLT12 offer says
	Decode {
		/// The invoice (lnbc...) or offer (lno...)
		invoice: String,
	},
	/// Sign a message with the node's key (zbase32, as LND and Core Lightning); admin key
	Sign {
		/// The message
		message: String,
	},
	/// Check a message's signature: whether it is good and by a known node, and its signer
	Verify {
		/// The message as it was signed
		message: String,
		/// Its zbase32 signature
		signature: String,
	},
}

/// Runs a utility command.
pub(super) async fn run(client: &ApiClient, cmd: UtilityCommand) -> Result<Output, ClientError> {
	match cmd {
		UtilityCommand::ClosedChannels(page) => {
			Output::of(&client.list_closed_channels_page(&page_query(page)).await?)
		}
		UtilityCommand::Decode { invoice } => {
			Output::of(&client.decode(&DecodeRequest { invoice }).await?)
		}
		UtilityCommand::Sign { message } => {
			Output::of(&serde_json::json!({ "signature": client.sign_message(&message).await? }))
		}
		UtilityCommand::Verify { message, signature } => {
			Output::of(&client.verify_message(&message, &signature).await?)
		}
	}
}
