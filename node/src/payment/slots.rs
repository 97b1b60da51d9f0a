//! Payments that wait for a free HTLC slot instead of failing.
//!
//! A channel carries at most as many HTLCs in flight as its peer accepts (LDK's
//! `max_accepted_htlcs`), and at most its in-flight value limit. When a burst fills that, LDK's
//! router skips the channel (its `next_outbound_htlc_limit_msat` drops below the amount) and a
//! new send fails at once with "route not found", although the channel has the balance and
//! will have a free slot as soon as an HTLC in flight resolves. Such a send is queued here
//! rather than failed: a send fails for lack of slots only if a usable channel has the balance
//! for it (so waiting can help), and otherwise fails as before.
//!
//! Our sends go to LDK one at a time ([`SlotWaiters::sending`]), so two of them never both take
//! the last free slot's route. A send LDK took can still come back (LDK's own retries race too): its route's slot was taken by a send racing it, and
//! LDK's own retry found no route and gave the payment up (`PaymentFailed`, no HTLC left in
//! flight). The payment event handler queues that one again too, under the same rule.
//!
//! Invariants: the queue is bounded ([`MAX_PAYMENTS_WAITING_FOR_SLOT`]) and every entry has a
//! deadline ([`PAYMENT_SLOT_WAIT`] from its payment's creation), after which its payment is
//! failed with the reason; sends
//! are retried in the order they were queued, one at a time, and a retry stops at the first
//! that still finds no slot (so a full channel costs one route search per tick, not one per
//! waiting payment); the payment's record stays `pending` while it waits, as it is for LDK.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use lightning::ln::channelmanager::RetryableSendFailure;
use tokio::time::Instant;

use super::{received::mark_failed, send_failure, Payments};
use crate::config::{MAX_PAYMENTS_WAITING_FOR_SLOT, PAYMENT_SLOT_RETRY_TICK, PAYMENT_SLOT_WAIT};
use crate::shutdown::StopSignal;
use crate::types::ChannelManager;
use crate::NodeError;

/// Hands the payment to LDK again; the same call as the first attempt.
pub(crate) type Resend = Box<dyn FnMut() -> Result<(), ResendError> + Send>;

/// Why LDK did not take a resend.
#[derive(Debug)]
pub(crate) enum ResendError {
	/// No route: maybe still no slot.
	NoRoute,
	/// Anything else: the payment fails with it.
	Failed(NodeError),
}

impl From<RetryableSendFailure> for ResendError {
	fn from(e: RetryableSendFailure) -> ResendError {
		match e {
			RetryableSendFailure::RouteNotFound => ResendError::NoRoute,
			e => ResendError::Failed(send_failure(e)),
		}
	}
}

/// A send waiting for a slot.
struct Waiting {
	/// The payment's record id.
	id: String,
	/// What the payment needs on one channel, at least.
	amount_msat: u64,
	/// When it stops waiting and fails.
	deadline: Instant,
	resend: Resend,
}

/// The queue of sends waiting for a slot, shared by the payments handle and its worker.
#[derive(Default)]
pub(crate) struct SlotWaiters {
	queue: Mutex<VecDeque<Waiting>>,
	/// Wakes the worker when the queue stops being empty.
	queued: tokio::sync::Notify,
	/// Held around each of our sends to LDK (see [`SlotWaiters::sending`]).
	send: Mutex<()>,
}

impl SlotWaiters {
	/// Runs one send to LDK while no other of ours runs: LDK finds a send's route from the
	/// channels as they are, then adds its HTLC; two sends at once can both find the last free
	/// slot, and the loser fails inside LDK (a route LDK gave up on) instead of waiting here.
	/// One at a time, the second finds the slot taken and waits. The sends are short (a route
	/// search and an HTLC added in memory).
	pub(crate) fn sending<T>(&self, send: impl FnOnce() -> T) -> T {
		let _one_at_a_time = self.send.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
		send()
	}

	/// How many sends wait now.
	pub(crate) fn waiting(&self) -> usize {
		self.queue.lock().map(|q| q.len()).unwrap_or(0)
	}

	/// Queues a send whose first attempt found no route, when a slot freeing up would let it
	/// go (see [`slots_explain`]: the caller checked); answers how many wait now, or the error
	/// to fail it with when the queue is full.
	pub(crate) fn queue(
		&self, id: &str, amount_msat: u64, deadline: Instant, resend: Resend,
	) -> Result<usize, NodeError> {
		let mut queue = self
			.queue
			.lock()
			.map_err(|_| NodeError::Internal("slot queue lock poisoned".into()))?;
		if queue.len() >= MAX_PAYMENTS_WAITING_FOR_SLOT {
			return Err(NodeError::RouteNotFound(format!(
				"every HTLC slot of the channels that could carry this payment is taken, and \
				 {MAX_PAYMENTS_WAITING_FOR_SLOT} payments wait for one already"
			)));
		}
		queue.push_back(Waiting { id: id.to_string(), amount_msat, deadline, resend });
		let waiting = queue.len();
		drop(queue);
		self.queued.notify_one();
		Ok(waiting)
	}

	fn pop(&self) -> Option<Waiting> {
		self.queue.lock().ok()?.pop_front()
	}

	fn put_back(&self, waiting: Waiting) {
		if let Ok(mut queue) = self.queue.lock() {
			queue.push_front(waiting);
		}
	}
}

/// Whether the lack of a free slot (or of in-flight room) is why no route was found: a usable
/// channel has the balance for `amount_msat` but cannot take one more HTLC of it now.
pub(crate) fn slots_explain(channel_manager: &ChannelManager, amount_msat: u64) -> bool {
	channel_manager.list_usable_channels().iter().any(|channel| {
		channel.outbound_capacity_msat >= amount_msat
			&& channel.next_outbound_htlc_limit_msat < amount_msat
	})
}

/// Whether a send that waits already should go on waiting: a channel that is open (its peer
/// may be disconnected for a moment, as happens when a burst keeps it busy past a ping) has the
/// balance for it. Stricter [`slots_explain`] decides whether a send starts waiting.
pub(crate) fn worth_waiting(channel_manager: &ChannelManager, amount_msat: u64) -> bool {
	channel_manager
		.list_channels()
		.iter()
		.any(|channel| channel.is_channel_ready && channel.outbound_capacity_msat >= amount_msat)
}

/// What became of a retry of the queue's head.
#[derive(Debug, PartialEq, Eq)]
enum Retried {
	/// LDK took it; the next one may go too.
	Sent,
	/// Still no slot: wait for the next tick.
	StillFull,
	/// It failed for good, with this reason.
	Failed(String),
}

/// Tries `waiting` again; `worth_waiting` is [`worth_waiting`] on the node's channels.
fn retry(waiting: &mut Waiting, now: Instant, worth_waiting: impl Fn(u64) -> bool) -> Retried {
	match (waiting.resend)() {
		Ok(()) => Retried::Sent,
		Err(ResendError::NoRoute) if worth_waiting(waiting.amount_msat) => {
			if now >= waiting.deadline {
				Retried::Failed(format!(
					"no HTLC slot freed up within {} s",
					PAYMENT_SLOT_WAIT.as_secs()
				))
			} else {
				Retried::StillFull
			}
		}
		Err(ResendError::NoRoute) => {
			Retried::Failed(send_failure(RetryableSendFailure::RouteNotFound).message().to_string())
		}
		Err(ResendError::Failed(e)) => Retried::Failed(e.message().to_string()),
	}
}

/// Retries waiting sends, oldest first, every [`PAYMENT_SLOT_RETRY_TICK`] while any wait,
/// until stop. Sends still waiting at stop are failed by the next start's reconciliation
/// (their records are pending and LDK never heard of them).
pub(crate) async fn run_slot_worker(pay: Payments, stop: StopSignal) {
	let waiters = Arc::clone(&pay.slots);
	loop {
		if waiters.waiting() == 0 {
			tokio::select! {
				_ = stop.stopped() => return,
				_ = waiters.queued.notified() => {},
			}
		}
		tokio::select! {
			_ = stop.stopped() => return,
			_ = tokio::time::sleep(PAYMENT_SLOT_RETRY_TICK) => {},
		}
		retry_round(&pay, &waiters).await;
	}
}

/// One round: sends go until one finds no slot yet.
async fn retry_round(pay: &Payments, waiters: &SlotWaiters) {
	while let Some(mut waiting) = waiters.pop() {
		let worth = |amount_msat| worth_waiting(&pay.channel_manager, amount_msat);
		let retried = waiters.sending(|| retry(&mut waiting, Instant::now(), worth));
		match retried {
			Retried::Sent => {
				crate::debug!(pay.logger, "payment {} found a free HTLC slot", waiting.id)
			}
			Retried::StillFull => {
				waiters.put_back(waiting);
				return;
			}
			Retried::Failed(reason) => {
				let channels: Vec<String> = pay
					.channel_manager
					.list_channels()
					.iter()
					.map(|c| {
						format!(
							"{} usable {} outbound {} next HTLC limit {}",
							c.channel_id,
							c.is_usable,
							c.outbound_capacity_msat,
							c.next_outbound_htlc_limit_msat
						)
					})
					.collect();
				crate::warn!(
					pay.logger,
					"payment {} failed waiting for a slot: {reason} (channels: {})",
					waiting.id,
					channels.join("; ")
				);
				mark_failed(pay, &waiting.id, reason).await;
			}
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn resend_with(answer: fn() -> Result<(), ResendError>) -> Resend {
		Box::new(answer)
	}

	fn waiting(deadline: Instant) -> Waiting {
		Waiting { id: "p".into(), amount_msat: 1_000, deadline, resend: resend_with(|| Ok(())) }
	}

	#[test]
	fn the_queue_is_bounded_and_first_in_first_out() {
		let waiters = SlotWaiters::default();
		for i in 0..MAX_PAYMENTS_WAITING_FOR_SLOT {
			let deadline = Instant::now() + PAYMENT_SLOT_WAIT;
			let queued = waiters.queue(&i.to_string(), 1_000, deadline, resend_with(|| Ok(())));
			assert_eq!(queued.expect("room"), i + 1);
		}
		let refused = waiters.queue("one too many", 1_000, Instant::now(), resend_with(|| Ok(())));
		assert!(matches!(refused, Err(NodeError::RouteNotFound(_))), "{refused:?}");
		assert_eq!(waiters.pop().map(|w| w.id), Some("0".to_string()));
		let second = waiters.pop().expect("second");
		assert_eq!(second.id, "1");
		waiters.put_back(second);
		assert_eq!(waiters.pop().map(|w| w.id), Some("1".to_string()));
		assert_eq!(waiters.waiting(), MAX_PAYMENTS_WAITING_FOR_SLOT - 2);
	}

	#[tokio::test]
	async fn a_retry_waits_while_slots_explain_it_and_fails_past_its_deadline() {
		let now = Instant::now();
		let mut sent = waiting(now);
		assert_eq!(retry(&mut sent, now, |_| true), Retried::Sent);

		let mut full = Waiting {
			resend: resend_with(|| Err(ResendError::NoRoute)),
			..waiting(now + PAYMENT_SLOT_WAIT)
		};
		assert_eq!(retry(&mut full, now, |_| true), Retried::StillFull);
		let late = retry(&mut full, now + PAYMENT_SLOT_WAIT, |_| true);
		assert!(matches!(&late, Retried::Failed(r) if r.contains("no HTLC slot")), "{late:?}");
		// No open channel has the balance any more: waiting cannot help.
		let hopeless = retry(&mut full, now, |_| false);
		assert!(matches!(&hopeless, Retried::Failed(r) if r.contains("no route")), "{hopeless:?}");

		let mut refused = Waiting {
			resend: resend_with(|| Err(RetryableSendFailure::PaymentExpired.into())),
			..waiting(now + PAYMENT_SLOT_WAIT)
		};
		let expired = retry(&mut refused, now, |_| true);
		assert!(matches!(&expired, Retried::Failed(r) if r.contains("expired")), "{expired:?}");
	}
}
