//! `fulgur bench hub-process` (internal): the hub of `bench payments` in a process of its own,
//! so the CPU, memory and disk the benchmark reads from `/proc/<pid>` are the hub's alone.
//!
//! Invariant: stdout carries only the protocol ([`super::protocol`]): the [`Ready`] line, then
//! one answer per request; each request runs in a task of its own, so a slow open does not hold
//! up a stats read. The end of stdin stops the node, as [`Call::Stop`] does.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use bitcoin::secp256k1::PublicKey;
use clap::Args;
use fulgur_node::{Node, NodeError, OpenChannelRequest, StoreKind};
use std::io::Write;

use tokio::sync::mpsc;

use super::protocol::{
	read_line_blocking, to_line, Answer, Call, ChannelOpen, Ready, Request, Response,
};
use crate::bench::setup::{child_node_config, ChildRpcArgs};

/// Answers waiting for stdout at most.
const ANSWERS_QUEUED: usize = 1024;
/// Request lines read ahead at most.
const REQUESTS_QUEUED: usize = 64;
/// Batch opens retried (100 ms apart) while the hub has not seen every peer's connection.
const OPEN_ATTEMPTS: u32 = 100;
/// Payers connect to the hub and the hub opens over that connection: never dialled.
const CONNECTED_PEER_ADDRESS: &str = "127.0.0.1:9";

/// `fulgur bench hub-process`.
#[derive(Args, Debug, Clone)]
pub struct HubProcessArgs {
	/// The node's data directory
	#[arg(long)]
	pub data_dir: PathBuf,
	/// Its store
	#[arg(long)]
	pub store: StoreKind,
	/// Port it accepts peers on
	#[arg(long)]
	pub port: u16,
	/// bitcoind
	#[command(flatten)]
	pub rpc: ChildRpcArgs,
	/// A watchtower to hand revoked states to (repeatable)
	#[arg(long)]
	pub tower: Vec<String>,
	/// The database of the `postgres` store
	#[arg(long)]
	pub postgres_url: Option<String>,
	/// As `fulgur node --receive-delay`
	#[arg(long, value_enum, default_value = "random")]
	pub receive_delay: crate::daemon::ReceiveDelayArg,
}

/// Runs the hub until told to stop (or stdin ends).
pub async fn run(args: HubProcessArgs) -> Result<(), String> {
	let mut config = child_node_config(&args.data_dir, args.store, &args.rpc, args.port)?;
	config.towers = args.tower.clone();
	config.postgres_url = args.postgres_url.clone();
	config.receive_delay = args.receive_delay.into();
	let node = Node::start(config).await.map_err(|e| format!("starting the hub: {e}"))?;
	let (answers, mut queued) = mpsc::channel::<String>(ANSWERS_QUEUED);
	// Blocking threads for stdin and stdout (the runtime's workers stay the node's).
	let writer = std::thread::spawn(move || {
		let mut stdout = std::io::stdout().lock();
		while let Some(line) = queued.blocking_recv() {
			if stdout.write_all(line.as_bytes()).is_err() || stdout.flush().is_err() {
				break;
			}
		}
	});
	let (lines, mut requests) = mpsc::channel::<std::io::Result<Option<String>>>(REQUESTS_QUEUED);
	std::thread::spawn(move || {
		let mut stdin = std::io::stdin().lock();
		loop {
			let line = read_line_blocking(&mut stdin);
			let end = matches!(line, Ok(None));
			if lines.blocking_send(line).is_err() || end {
				break;
			}
		}
	});
	let ready =
		Ready { node_id: node.node_id().to_string(), listen_addr: node.listen_addr().to_string() };
	let _ = answers.send(to_line(&ready)).await;
	let mut stop_id = None;
	loop {
		let line = match requests.recv().await {
			Some(Ok(Some(line))) => line,
			None | Some(Ok(None)) => break,
			Some(Err(e)) => {
				eprintln!("hub-process: {e}");
				continue;
			}
		};
		let request: Request = match serde_json::from_str(&line) {
			Ok(request) => request,
			Err(e) => {
				eprintln!("hub-process: a request that does not parse ({e})");
				continue;
			}
		};
		if request.call == Call::Stop {
			stop_id = Some(request.id);
			break;
		}
		let (node, answers) = (node.clone(), answers.clone());
		tokio::spawn(async move {
			let result = answer(&node, request.call).await;
			let _ = answers.send(to_line(&Response { id: request.id, result })).await;
		});
	}
	node.stop().await;
	if let Some(id) = stop_id {
		let _ = answers.send(to_line(&Response { id, result: Ok(Answer::Done) })).await;
	}
	drop(answers);
	let _ = writer.join();
	Ok(())
}

async fn answer(node: &Node, call: Call) -> Result<Answer, String> {
	match call {
		Call::NewAddress => node.new_onchain_address().map(Answer::Text).map_err(s),
		Call::ConfirmedBalance => {
			let _ = node.sync_wallet().await;
			Ok(Answer::Count(node.balance().onchain_confirmed_sat))
		}
		Call::OpenBatch(opens) => open_batch(node, opens).await.map(|()| Answer::Done),
		Call::UsableChannels => {
			Ok(Answer::Count(node.list_channels().iter().filter(|c| c.is_usable).count() as u64))
		}
		Call::BlockHeight => Ok(Answer::Count(u64::from(node.info().block_height))),
		Call::StoreStats => Ok(Answer::Stats(node.store_stats().into())),
		Call::Invoice(msat) => node
			.create_invoice(Some(msat), "bench", None)
			.await
			.map(|invoice| Answer::Text(invoice.bolt11))
			.map_err(s),
		Call::Towers => Ok(Answer::Towers(node.towers().unwrap_or_default())),
		Call::Stop => Ok(Answer::Done),
	}
}

/// Opens the batch, retrying while the hub has not yet registered a peer's connection.
async fn open_batch(node: &Node, opens: Vec<ChannelOpen>) -> Result<(), String> {
	let mut requests = Vec::with_capacity(opens.len());
	for open in opens {
		let node_id = PublicKey::from_str(&open.node_id).map_err(|e| format!("node id: {e}"))?;
		requests.push(OpenChannelRequest {
			node_id,
			address: CONNECTED_PEER_ADDRESS.to_string(),
			amount_sat: open.amount_sat,
			push_msat: Some(open.push_msat),
			announce: Some(false),
		});
	}
	let mut attempts = 0;
	loop {
		let opened = match requests.as_slice() {
			[one] => node.open_channel(one.clone()).await.map(drop),
			_ => node.open_channels(requests.clone()).await.map(drop),
		};
		match opened {
			Ok(()) => return Ok(()),
			Err(NodeError::PeerUnreachable(_)) if attempts < OPEN_ATTEMPTS => {
				attempts += 1;
				tokio::time::sleep(Duration::from_millis(100)).await;
			}
			Err(e) => return Err(e.to_string()),
		}
	}
}

fn s(e: impl std::fmt::Display) -> String {
	e.to_string()
}
