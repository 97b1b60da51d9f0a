//! Putting appointments into the tower: through the HTTP API (the measured path) and straight
//! into the watcher (the baseline: the same checks, storage and group commit, no HTTP/JSON).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fulgur_watchtower::api::AddAppointmentRequest;
use fulgur_watchtower::client::{Method, TowerClient};
use fulgur_watchtower::server::TowerCore;

/// What one batch of requests did.
#[derive(Default, Debug)]
pub struct Sent {
	/// Accepted appointments.
	pub ok: u64,
	/// Refused or failed ones.
	pub failed: u64,
	/// The first error seen.
	pub first_error: Option<String>,
	/// Time spent sending (not generating).
	pub elapsed: Duration,
}

impl Sent {
	/// Adds another batch.
	pub fn add(&mut self, other: Sent) {
		self.ok += other.ok;
		self.failed += other.failed;
		self.first_error = self.first_error.take().or(other.first_error);
		self.elapsed += other.elapsed;
	}
}

/// Runs `work(i)` for every `i < count` on `concurrency` tasks; counts the outcomes.
async fn drive<F, Fut>(count: usize, concurrency: usize, work: F) -> Sent
where
	F: Fn(usize) -> Fut + Send + Sync + 'static,
	Fut: std::future::Future<Output = Result<(), String>> + Send,
{
	let next = Arc::new(AtomicUsize::new(0));
	let work = Arc::new(work);
	let start = Instant::now();
	let tasks: Vec<_> = (0..concurrency.max(1))
		.map(|_| {
			let (next, work) = (Arc::clone(&next), Arc::clone(&work));
			tokio::spawn(async move {
				let mut sent = Sent::default();
				loop {
					let i = next.fetch_add(1, Ordering::Relaxed);
					if i >= count {
						return sent;
					}
					match work(i).await {
						Ok(()) => sent.ok += 1,
						Err(e) => {
							sent.failed += 1;
							sent.first_error.get_or_insert(e);
						}
					}
				}
			})
		})
		.collect();
	let mut total = Sent::default();
	for task in tasks {
		match task.await {
			Ok(sent) => total.add(sent),
			Err(e) => {
				total.failed += 1;
				total.first_error.get_or_insert(format!("sender task failed: {e}"));
			}
		}
	}
	total.elapsed = start.elapsed();
	total
}

/// Posts every request's JSON to `/add_appointment`, `concurrency` in flight.
pub async fn via_api(
	client: &TowerClient, requests: Vec<AddAppointmentRequest>, concurrency: usize,
) -> Result<Sent, String> {
	let bodies = requests
		.iter()
		.map(serde_json::to_vec)
		.collect::<Result<Vec<_>, _>>()
		.map_err(|e| e.to_string())?;
	let bodies = Arc::new(bodies);
	let client = client.clone();
	Ok(drive(bodies.len(), concurrency, move |i| {
		let (client, bodies) = (client.clone(), Arc::clone(&bodies));
		async move {
			let body = bodies.get(i).cloned().unwrap_or_default();
			let (status, answer) = client
				.raw(Method::POST, "/add_appointment", body)
				.await
				.map_err(|e| e.to_string())?;
			if status.is_success() {
				Ok(())
			} else {
				Err(format!("{status}: {}", String::from_utf8_lossy(&answer)))
			}
		}
	})
	.await)
}

/// The same appointments straight into the tower's service (worker pool, checks, storage,
/// group commit), each acknowledged once durable: everything but HTTP and JSON.
pub async fn direct(
	core: &Arc<TowerCore>, requests: Vec<AddAppointmentRequest>, concurrency: usize,
) -> Sent {
	let requests = Arc::new(requests);
	let core = Arc::clone(core);
	drive(requests.len(), concurrency, move |i| {
		let (core, requests) = (Arc::clone(&core), Arc::clone(&requests));
		async move {
			let req = requests.get(i).cloned().ok_or("no such request")?;
			core.add_appointment(req).await.map(drop).map_err(|e| e.to_string())
		}
	})
	.await
}
