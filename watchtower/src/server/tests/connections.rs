//! HTTP connections on a real port: kept alive across requests, and bounded (how many at
//! once, how long idle, how slow a request head, how many requests each), with the source
//! address still reaching the registration limit.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use super::*;
use crate::client::TowerClient;
use crate::server::options::ConnectionLimits;

/// Long enough for anything that should happen to happen on a loaded machine.
const GENEROUS: Duration = Duration::from_secs(30);

fn harness_with(connections: ConnectionLimits) -> Harness {
	let mut options = options();
	options.subscription.slots = 1_000;
	options.connections = connections;
	Harness::open(tempfile::tempdir().unwrap(), options)
}

fn limits() -> ConnectionLimits {
	ConnectionLimits::default()
}

/// One HTTP/1.1 connection spoken by hand.
struct Raw {
	stream: TcpStream,
	buf: Vec<u8>,
}

/// An answer: status, head (lowercased), body.
struct Answer {
	status: u16,
	head: String,
	body: Vec<u8>,
}

impl Raw {
	async fn connect(addr: SocketAddr) -> Raw {
		Raw { stream: TcpStream::connect(addr).await.unwrap(), buf: Vec::new() }
	}

	/// A connection from another loopback address.
	async fn connect_from(local: IpAddr, addr: SocketAddr) -> Raw {
		let socket = TcpSocket::new_v4().unwrap();
		socket.bind(SocketAddr::new(local, 0)).unwrap();
		Raw { stream: socket.connect(addr).await.unwrap(), buf: Vec::new() }
	}

	async fn send(&mut self, method: &str, path: &str, body: &[u8]) {
		let head = format!(
			"{method} {path} HTTP/1.1\r\nhost: tower\r\ncontent-type: application/json\r\n\
			 content-length: {}\r\n\r\n",
			body.len()
		);
		self.stream.write_all(head.as_bytes()).await.unwrap();
		self.stream.write_all(body).await.unwrap();
	}

	async fn request(&mut self, method: &str, path: &str, body: &[u8]) -> Answer {
		self.send(method, path, body).await;
		self.answer().await.expect("the connection closed without an answer")
	}

	/// Reads more bytes; false at the end of the stream (or a reset).
	async fn fill(&mut self) -> bool {
		let mut chunk = [0u8; 4096];
		match self.stream.read(&mut chunk).await {
			Ok(0) | Err(_) => false,
			Ok(n) => {
				self.buf.extend_from_slice(&chunk[..n]);
				true
			}
		}
	}

	/// The next answer; `None` if the connection ends first.
	async fn answer(&mut self) -> Option<Answer> {
		let end = loop {
			if let Some(at) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
				break at + 4;
			}
			if !self.fill().await {
				return None;
			}
		};
		let head = String::from_utf8_lossy(&self.buf[..end]).to_ascii_lowercase();
		let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap();
		let length: usize = head
			.lines()
			.find_map(|l| l.strip_prefix("content-length:"))
			.map_or(0, |n| n.trim().parse().unwrap());
		while self.buf.len() < end + length {
			if !self.fill().await {
				return None;
			}
		}
		let body = self.buf[end..end + length].to_vec();
		self.buf.drain(..end + length);
		Some(Answer { status, head, body })
	}

	/// Whether the tower closes this connection (within a generous wait).
	async fn closed_by_tower(&mut self) -> bool {
		let closed = async { while self.fill().await {} };
		tokio::time::timeout(GENEROUS, closed).await.is_ok()
	}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_sends_every_request_on_one_kept_alive_connection() {
	let h = harness_with(limits());
	let server = h.core.serve("127.0.0.1:0".parse().unwrap()).unwrap();
	let client = TowerClient::new(&format!("http://{}", server.local_addr()));
	client.register(UserId::from_secret_key(&user_sk(1))).await.unwrap();
	for n in 0..50 {
		client.add_appointment(&appointment_for(&dispute_tx(n), &user_sk(1))).await.unwrap();
	}
	assert_eq!(server.connections().requests(), 51);
	assert_eq!(server.connections().accepted(), 1, "one connection for all the requests");
}

#[tokio::test]
async fn a_connection_closes_after_its_allowance_of_requests() {
	let h = harness_with(ConnectionLimits { max_requests_per_connection: 3, ..limits() });
	let server = h.core.serve("127.0.0.1:0".parse().unwrap()).unwrap();
	let mut raw = Raw::connect(server.local_addr()).await;
	for n in 1..=3 {
		let answer = raw.request("GET", "/ping", b"").await;
		assert_eq!(answer.status, 200);
		assert_eq!(
			answer.head.contains("connection: close"),
			n == 3,
			"answer {n}: {}",
			answer.head
		);
	}
	assert!(raw.closed_by_tower().await, "the connection stayed open after its last request");
	// The next connection is served again.
	let mut raw = Raw::connect(server.local_addr()).await;
	assert_eq!(raw.request("GET", "/ping", b"").await.status, 200);
}

#[tokio::test]
async fn an_idle_connection_is_closed() {
	let idle = Duration::from_millis(300);
	let h = harness_with(ConnectionLimits { idle_timeout: idle, ..limits() });
	let server = h.core.serve("127.0.0.1:0".parse().unwrap()).unwrap();
	// After an answer.
	let mut used = Raw::connect(server.local_addr()).await;
	assert_eq!(used.request("GET", "/ping", b"").await.status, 200);
	// And one that never sent anything.
	let mut silent = Raw::connect(server.local_addr()).await;
	assert!(used.closed_by_tower().await, "an idle connection stayed open after its answer");
	assert!(silent.closed_by_tower().await, "a connection that sent nothing stayed open");
}

#[tokio::test]
async fn a_request_head_sent_byte_by_byte_closes_the_connection() {
	let idle = Duration::from_millis(300);
	let h = harness_with(ConnectionLimits { idle_timeout: idle, ..limits() });
	let server = h.core.serve("127.0.0.1:0".parse().unwrap()).unwrap();
	let mut raw = Raw::connect(server.local_addr()).await;
	raw.stream.write_all(b"GET /ping HTTP/1.1\r\n").await.unwrap();
	// A header byte every 50 ms, for far longer than the idle timeout, until the tower cuts it.
	let trickle = async {
		for _ in 0..600 {
			if raw.stream.write_all(b"x").await.is_err() {
				return true;
			}
			tokio::time::sleep(Duration::from_millis(50)).await;
		}
		false
	};
	assert!(trickle.await, "a request head trickled in for 30 s and the connection stayed open");
}

#[tokio::test]
async fn a_body_sent_byte_by_byte_ends_its_connection() {
	let timeout = Duration::from_millis(300);
	let h = harness_with(ConnectionLimits { request_timeout: timeout, ..limits() });
	let server = h.core.serve("127.0.0.1:0".parse().unwrap()).unwrap();
	let mut raw = Raw::connect(server.local_addr()).await;
	let head = "POST /register HTTP/1.1\r\nhost: tower\r\ncontent-length: 10000\r\n\r\n";
	raw.stream.write_all(head.as_bytes()).await.unwrap();
	let trickle = async {
		for _ in 0..600 {
			if raw.stream.write_all(b" ").await.is_err() {
				return true;
			}
			tokio::time::sleep(Duration::from_millis(50)).await;
		}
		false
	};
	assert!(trickle.await, "a body trickled in for 30 s and the connection stayed open");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_wait_for_a_place() {
	let h = harness_with(ConnectionLimits { max_connections: 2, ..limits() });
	let server = h.core.serve("127.0.0.1:0".parse().unwrap()).unwrap();
	let mut first = Raw::connect(server.local_addr()).await;
	let mut second = Raw::connect(server.local_addr()).await;
	assert_eq!(first.request("GET", "/ping", b"").await.status, 200);
	assert_eq!(second.request("GET", "/ping", b"").await.status, 200);
	let addr = server.local_addr();
	let third = tokio::spawn(async move {
		// The kernel completes the handshake; the tower reads nothing until a place frees.
		let mut third = Raw::connect(addr).await;
		third.request("GET", "/ping", b"").await.status
	});
	tokio::time::sleep(Duration::from_millis(300)).await;
	assert!(!third.is_finished(), "a third connection was served while two were open");
	assert_eq!(server.connections().accepted(), 2);
	assert_eq!(server.connections().open(), 2);
	drop(first);
	let status = tokio::time::timeout(GENEROUS, third).await.expect("never served").unwrap();
	assert_eq!(status, 200);
	drop(second);
}

#[tokio::test]
async fn registrations_are_limited_per_source_address() {
	let mut options = options();
	options.caps.registrations_per_hour = 1;
	let h = Harness::open(tempfile::tempdir().unwrap(), options);
	let server = h.core.serve("127.0.0.1:0".parse().unwrap()).unwrap();
	let body = |n: u8| {
		let user = UserId::from_secret_key(&user_sk(n));
		serde_json::to_vec(&crate::api::RegisterRequest { user_id: user }).unwrap()
	};
	let mut one = Raw::connect_from("127.0.0.1".parse().unwrap(), server.local_addr()).await;
	assert_eq!(one.request("POST", "/register", &body(1)).await.status, 200);
	let refused = one.request("POST", "/register", &body(2)).await;
	assert_eq!(refused.status, 429, "{}", String::from_utf8_lossy(&refused.body));
	// Another address has its own allowance, on a connection of its own.
	let mut other = Raw::connect_from("127.0.0.2".parse().unwrap(), server.local_addr()).await;
	let answer = other.request("POST", "/register", &body(3)).await;
	assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
	// The first address stays limited on a new connection too.
	let mut again = Raw::connect_from("127.0.0.1".parse().unwrap(), server.local_addr()).await;
	assert_eq!(again.request("POST", "/register", &body(4)).await.status, 429);
}
