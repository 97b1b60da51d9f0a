//! Strangers that connect and go away at will (a real Noise handshake from a throwaway key,
//! `init`, disconnect) leave the node's event log and memory as they were: nothing they can
//! repeat for free grows the node.
//!
//! The node runs in a child process (this test binary started again with
//! `FULGUR_CHURN_CHILD` set, running only [`node_process`]), so the resident memory measured
//! is the node's own.

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bitcoin::secp256k1::PublicKey;
use fulgur::regtest::launch::{RpcEndpoint, RunningNode};
use fulgur_api::ApiClient;
use fulgur_tests::TestNet;
use lightning::ln::msgs::{DecodeError, Init, LightningError};
use lightning::ln::peer_handler::{
	CustomMessageHandler, ErroringMessageHandler, IgnoringMessageHandler, MessageHandler,
	PeerManager,
};
use lightning::ln::wire::CustomMessageReader;
use lightning::sign::{KeysManager, NodeSigner, Recipient};
use lightning::types::features::{InitFeatures, NodeFeatures};
use lightning::util::config::UserConfig;
use lightning::util::logger::{Logger, Record};
use lightning_net_tokio::SocketDescriptor;
use tokio::io::{AsyncBufReadExt, BufReader};

const CHILD_ENV: &str = "FULGUR_CHURN_CHILD";
/// Connect-and-leave cycles measured.
const CYCLES: usize = 1_000;
/// Cycles before the first measurement, so caches and pools are warm.
const WARM_UP: usize = 100;
/// Events the log may gain meanwhile from other causes (none are expected: the node has no
/// funds, channels or invoices).
const EVENT_SLACK: u64 = 2;
/// Growth of the node process's resident memory over the measured cycles that still counts
/// as flat (allocator and sled cache noise).
const RSS_SLACK_KB: u64 = 16 * 1024;
/// How long one step of a cycle may take before the test fails.
const STEP: Duration = Duration::from_secs(30);

struct Quiet;

impl Logger for Quiet {
	fn log(&self, _record: Record) {}
}

/// The stranger's only handler of its own: no messages, but the `init` features a node
/// requires of a peer (LDK's channel manager refuses peers without them).
struct Features;

impl CustomMessageReader for Features {
	type CustomMessage = std::convert::Infallible;
	fn read<R: lightning::io::Read>(
		&self, _message_type: u16, _buffer: &mut R,
	) -> Result<Option<Self::CustomMessage>, DecodeError> {
		Ok(None)
	}
}

impl CustomMessageHandler for Features {
	fn handle_custom_message(
		&self, msg: Self::CustomMessage, _sender_node_id: PublicKey,
	) -> Result<(), LightningError> {
		match msg {}
	}
	fn get_and_clear_pending_msg(&self) -> Vec<(PublicKey, Self::CustomMessage)> {
		Vec::new()
	}
	fn peer_disconnected(&self, _their_node_id: PublicKey) {}
	fn peer_connected(
		&self, _their_node_id: PublicKey, _msg: &Init, _inbound: bool,
	) -> Result<(), ()> {
		Ok(())
	}
	fn provided_node_features(&self) -> NodeFeatures {
		NodeFeatures::empty()
	}
	fn provided_init_features(&self, _their_node_id: PublicKey) -> InitFeatures {
		lightning::ln::channelmanager::provided_init_features(&UserConfig::default())
	}
}

type Stranger = PeerManager<
	SocketDescriptor,
	ErroringMessageHandler,
	IgnoringMessageHandler,
	IgnoringMessageHandler,
	Arc<Quiet>,
	Arc<Features>,
	Arc<KeysManager>,
	IgnoringMessageHandler,
>;

/// A peer manager with a fresh random key: someone the node has never seen.
fn stranger() -> (Arc<Stranger>, PublicKey) {
	let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock");
	let keys = Arc::new(KeysManager::new(
		&rand::random::<[u8; 32]>(),
		now.as_secs(),
		now.subsec_nanos(),
		true,
	));
	let id = keys.get_node_id(Recipient::Node).expect("node id");
	let handlers = MessageHandler {
		chan_handler: ErroringMessageHandler::new(),
		route_handler: IgnoringMessageHandler {},
		onion_message_handler: IgnoringMessageHandler {},
		custom_message_handler: Arc::new(Features),
		send_only_message_handler: IgnoringMessageHandler {},
	};
	let peers = PeerManager::new(
		handlers,
		now.as_secs() as u32,
		&rand::random::<[u8; 32]>(),
		Arc::new(Quiet),
		keys,
	);
	(Arc::new(peers), id)
}

/// Waits until `check` holds, failing the test after [`STEP`].
async fn wait(what: &str, mut check: impl FnMut() -> bool) {
	let deadline = tokio::time::Instant::now() + STEP;
	while !check() {
		assert!(tokio::time::Instant::now() < deadline, "{what}: not within {STEP:?}");
		tokio::time::sleep(Duration::from_millis(1)).await;
	}
}

/// The child: starts the node from the description in the environment, says READY, waits to
/// be killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "entry point of the child process of stranger_churn_leaves_journal_and_memory_flat"]
async fn node_process() {
	let Ok(spec) = std::env::var(CHILD_ENV) else { return };
	let parts: Vec<&str> = spec.split('|').collect();
	let [dir, p2p, api, addr, user, password] = parts[..] else { panic!("bad spec {spec}") };
	let rpc = RpcEndpoint { addr: addr.into(), user: user.into(), password: password.into() };
	let (p2p, api) = (p2p.parse().expect("port"), api.parse().expect("port"));
	let node = RunningNode::start("alice", dir.as_ref(), &rpc, p2p, api).await.expect("starts");
	println!("READY {}", node.node.node_id());
	tokio::time::sleep(Duration::from_secs(600)).await;
}

/// The node in its child process.
struct Child {
	process: tokio::process::Child,
	pid: u32,
	node_id: PublicKey,
	addr: SocketAddr,
	api: ApiClient,
}

async fn start_child(net: &TestNet) -> Child {
	let dir = net.dir.path().join("alice");
	let (p2p, api_port) = (
		fulgur::bitcoind::free_port().expect("port"),
		fulgur::bitcoind::free_port().expect("port"),
	);
	let rpc = RpcEndpoint::of(&net.bitcoind);
	let spec =
		format!("{}|{p2p}|{api_port}|{}|{}|{}", dir.display(), rpc.addr, rpc.user, rpc.password);
	let exe = std::env::current_exe().expect("test binary");
	let mut process = tokio::process::Command::new(exe)
		.args(["peer_churn::node_process", "--exact", "--ignored", "--nocapture"])
		.env(CHILD_ENV, spec)
		.stdout(Stdio::piped())
		.stderr(Stdio::null())
		.kill_on_drop(true)
		.spawn()
		.expect("spawn the node");
	let pid = process.id().expect("pid");
	let stdout = process.stdout.take().expect("stdout");
	let mut lines = BufReader::new(stdout).lines();
	let node_id = tokio::time::timeout(fulgur_tests::STEP, async {
		while let Ok(Some(line)) = lines.next_line().await {
			// libtest may have printed `test peer_churn::node_process ... ` on the same line.
			if let Some((_, id)) = line.split_once("READY ") {
				return id.trim().parse::<PublicKey>().expect("node id");
			}
		}
		panic!("the node exited before READY");
	})
	.await
	.expect("the node ready in time");
	// Keep draining its output so it never blocks on a full pipe.
	tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
	let key = std::fs::read_to_string(dir.join("api_key")).expect("the node's api key");
	let api = ApiClient::new(&format!("http://127.0.0.1:{api_port}"), key.trim()).expect("client");
	Child { process, pid, node_id, addr: ([127, 0, 0, 1], p2p).into(), api }
}

/// Whether the node lists `id` as a connected peer.
async fn connected(api: &ApiClient, id: &PublicKey) -> bool {
	let id = id.to_string();
	let peers = api.list_peers().await.expect("peers");
	peers.iter().any(|p| p.node_id == id && p.connected)
}

/// Waits until the node's answer about `id` is `expected`, failing the test after [`STEP`].
async fn wait_connected(api: &ApiClient, id: &PublicKey, expected: bool) {
	let deadline = tokio::time::Instant::now() + STEP;
	while connected(api, id).await != expected {
		assert!(
			tokio::time::Instant::now() < deadline,
			"stranger {id} connected={expected} at the node: not within {STEP:?}"
		);
		tokio::time::sleep(Duration::from_millis(1)).await;
	}
}

/// One stranger: handshake, `init` both ways, then gone.
async fn come_and_go(node: &Child) {
	let (peers, stranger_id) = stranger();
	let connection =
		lightning_net_tokio::connect_outbound(Arc::clone(&peers), node.node_id, node.addr)
			.await
			.expect("TCP connection to the node");
	let connection = tokio::spawn(connection);
	wait("the node's init at the stranger", || peers.peer_by_node_id(&node.node_id).is_some())
		.await;
	wait_connected(&node.api, &stranger_id, true).await;
	peers.disconnect_by_node_id(node.node_id);
	connection.await.expect("connection task");
	wait_connected(&node.api, &stranger_id, false).await;
}

/// Resident memory of process `pid`, kB.
fn rss_kb(pid: u32) -> u64 {
	let path = format!("/proc/{pid}/status");
	let status = std::fs::read_to_string(&path).expect("the node's /proc status");
	status
		.lines()
		.find_map(|l| l.strip_prefix("VmRSS:"))
		.and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
		.expect("VmRSS")
}

async fn event_count(api: &ApiClient) -> u64 {
	api.events(0, Some(1)).await.expect("events").total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stranger_churn_leaves_journal_and_memory_flat() {
	let net = TestNet::new(&[]).await;
	let mut node = start_child(&net).await;
	for _ in 0..WARM_UP {
		come_and_go(&node).await;
	}
	let (events_before, rss_before) = (event_count(&node.api).await, rss_kb(node.pid));
	let started = std::time::Instant::now();
	for _ in 0..CYCLES {
		come_and_go(&node).await;
	}
	let elapsed = started.elapsed();
	let (events_after, rss_after) = (event_count(&node.api).await, rss_kb(node.pid));
	println!(
		"{CYCLES} stranger cycles in {elapsed:?}: events {events_before} -> {events_after}, \
		node RSS {rss_before} kB -> {rss_after} kB"
	);
	node.process.kill().await.expect("kill the node");
	assert!(
		events_after <= events_before + EVENT_SLACK,
		"{CYCLES} strangers grew the event log from {events_before} to {events_after}"
	);
	assert!(
		rss_after <= rss_before + RSS_SLACK_KB,
		"{CYCLES} strangers grew the node's resident memory from {rss_before} kB to {rss_after} kB"
	);
	net.shutdown().await;
}

/// Raw connections opened by one stranger and left hanging before any handshake.
const FLOOD: usize = 1_000;
/// What the node may keep open of them: its per-address limit
/// (`fulgur_node::config::MAX_INBOUND_PER_ADDRESS`), plus a few of its own descriptors that
/// come and go meanwhile (bitcoind RPC, store files).
const FLOOD_FD_SLACK: usize = fulgur_node::config::MAX_INBOUND_PER_ADDRESS + 8;

/// Open file descriptors of process `pid`.
fn fd_count(pid: u32) -> usize {
	std::fs::read_dir(format!("/proc/{pid}/fd")).expect("the node's fds").count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flood_of_raw_connections_cannot_exhaust_the_node() {
	let net = TestNet::new(&[]).await;
	let mut node = start_child(&net).await;
	come_and_go(&node).await;
	let baseline = fd_count(node.pid);
	let mut sockets = Vec::with_capacity(FLOOD);
	let mut most = baseline;
	for _ in 0..FLOOD {
		let socket = tokio::net::TcpStream::connect(node.addr).await.expect("TCP connect");
		sockets.push(socket);
		most = most.max(fd_count(node.pid));
	}
	// The node closes what it does not admit: every socket but its per-address share sees
	// the end of its stream.
	let mut closed = 0;
	for socket in &sockets {
		let mut byte = [0u8; 1];
		let read = tokio::time::timeout(Duration::from_millis(50), socket.readable()).await;
		if read.is_ok() && matches!(socket.try_read(&mut byte), Ok(0)) {
			closed += 1;
		}
		most = most.max(fd_count(node.pid));
	}
	println!(
		"{FLOOD} raw connections: node fds {baseline} before, at most {most}; {closed} closed by \
		 the node"
	);
	assert!(
		most <= baseline + FLOOD_FD_SLACK,
		"{FLOOD} raw connections took the node from {baseline} to {most} open descriptors"
	);
	// Once they are gone, a stranger from the same address gets in as before.
	drop(sockets);
	wait("the node let go of the flood", || fd_count(node.pid) <= baseline + 4).await;
	come_and_go(&node).await;
	node.process.kill().await.expect("kill the node");
	net.shutdown().await;
}
