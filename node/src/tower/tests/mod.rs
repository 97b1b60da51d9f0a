//! Tests of the tower client against towers that misbehave: a fake tower (a few lines of
//! HTTP over a real socket) whose signatures a test chooses, and stores that fail on demand.

mod outbox;
mod receipts;
mod retention;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bitcoin::secp256k1::SecretKey;
use fulgur_tower_protocol::api::{
	AddAppointmentRequest, AddAppointmentResponse, RegisterRequest, RegisterResponse,
};
use fulgur_tower_protocol::{sign, Appointment, Locator};
use lightning::ln::types::ChannelId;
use lightning::util::logger::Level;
use lightning::util::persist::KVStoreSync;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::outbox::{Outbox, RevokedRecord};
use crate::logger::FulgurLogger;
pub(super) use crate::store::failing::FailingStore;
use crate::store::{DynStore, MemoryStore};

/// How the fake tower signs what it answers.
#[derive(Clone, Copy, Debug)]
pub(super) enum Signing {
	/// No signature (a registration receipt of an older tower).
	Unsigned,
	/// Something that is no signature.
	Garbage,
	/// A real signature by this key.
	By(SecretKey),
}

/// A tower that accepts everything and signs its answers as told.
pub(super) struct FakeTower {
	pub url: String,
	pub registration: Mutex<Signing>,
	pub receipts: Mutex<Signing>,
	/// `/add_appointment` requests answered.
	pub appointments: AtomicU64,
}

impl FakeTower {
	/// Listens on a free port of 127.0.0.1.
	pub(super) async fn start(registration: Signing, receipts: Signing) -> Arc<FakeTower> {
		let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
		let tower = Arc::new(FakeTower {
			url: format!("127.0.0.1:{}", listener.local_addr().unwrap().port()),
			registration: Mutex::new(registration),
			receipts: Mutex::new(receipts),
			appointments: AtomicU64::new(0),
		});
		let serving = Arc::clone(&tower);
		tokio::spawn(async move {
			while let Ok((socket, _)) = listener.accept().await {
				tokio::spawn(Arc::clone(&serving).answer(socket));
			}
		});
		tower
	}

	/// Answers one request and closes the connection.
	async fn answer(self: Arc<Self>, mut socket: TcpStream) {
		let Some((path, body)) = read_request(&mut socket).await else { return };
		let json = match path.as_str() {
			"/register" => {
				let user_id = serde_json::from_slice::<RegisterRequest>(&body).unwrap().user_id;
				let signing = *self.registration.lock().unwrap();
				let response = match signing {
					Signing::By(key) => RegisterResponse::signed(user_id, 100, 1, 1000, &key),
					other => RegisterResponse {
						user_id,
						available_slots: 100,
						subscription_start: 1,
						subscription_expiry: 1000,
						subscription_signature: match other {
							Signing::Garbage => Some("garbage".into()),
							_ => None,
						},
					},
				};
				serde_json::to_vec(&response).unwrap()
			}
			"/add_appointment" => {
				let request: AddAppointmentRequest = serde_json::from_slice(&body).unwrap();
				self.appointments.fetch_add(1, Ordering::SeqCst);
				let start_block = 5;
				let receipt =
					AddAppointmentResponse::receipt_to_vec(&request.signature, start_block);
				let signature = match *self.receipts.lock().unwrap() {
					Signing::By(key) => sign(&receipt, &key),
					Signing::Garbage | Signing::Unsigned => "garbage".into(),
				};
				let response = AddAppointmentResponse {
					locator: request.appointment.locator,
					start_block,
					signature,
					available_slots: 99,
					subscription_expiry: 1000,
				};
				serde_json::to_vec(&response).unwrap()
			}
			_ => b"{}".to_vec(),
		};
		let head = format!(
			"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
			json.len()
		);
		let _ = socket.write_all(head.as_bytes()).await;
		let _ = socket.write_all(&json).await;
	}
}

/// The path and body of one HTTP/1.1 request.
async fn read_request(socket: &mut TcpStream) -> Option<(String, Vec<u8>)> {
	let mut bytes = Vec::new();
	let mut buf = [0u8; 4096];
	let header_end = loop {
		let n = socket.read(&mut buf).await.ok()?;
		if n == 0 {
			return None;
		}
		bytes.extend_from_slice(&buf[..n]);
		if let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
			break end + 4;
		}
	};
	let head = String::from_utf8_lossy(&bytes[..header_end]).to_string();
	let path = head.split_whitespace().nth(1)?.to_string();
	let length = head
		.lines()
		.find_map(|line| {
			let (name, value) = line.split_once(':')?;
			name.eq_ignore_ascii_case("content-length").then(|| value.trim().parse().ok())?
		})
		.unwrap_or(0usize);
	while bytes.len() < header_end + length {
		let n = socket.read(&mut buf).await.ok()?;
		if n == 0 {
			return None;
		}
		bytes.extend_from_slice(&buf[..n]);
	}
	Some((path, bytes[header_end..header_end + length].to_vec()))
}

pub(super) fn key(n: u8) -> SecretKey {
	SecretKey::from_slice(&[n; 32]).unwrap()
}

/// A logger writing into `dir`.
pub(super) fn logger(dir: &tempfile::TempDir) -> Arc<FulgurLogger> {
	Arc::new(FulgurLogger::new(&dir.path().join("test.log"), "test", Level::Debug).unwrap())
}

pub(super) fn memory_store() -> Arc<DynStore> {
	Arc::new(MemoryStore::new())
}

/// Appends an appointment for a made-up revoked commitment `n` of channel `channel`.
pub(super) async fn append(outbox: &Outbox, channel: u8, n: u64) {
	let locator = Locator::from([n as u8; 16]);
	let appointment = Appointment::new(locator, vec![n as u8; 100], 144);
	let revoked = RevokedRecord {
		channel_id: format!("{channel:02x}").repeat(32),
		commitment_txid: format!("{n:064x}"),
		justice_txid: format!("{:064x}", n + 1000),
		justice_value_sat: 1000,
		htlc_outputs: 0,
	};
	for write in outbox.append(&ChannelId([channel; 32]), n, appointment, &revoked).unwrap() {
		write.await.unwrap();
	}
}
