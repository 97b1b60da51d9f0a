//! At start, every outbound payment our records still call `pending` is held against what LDK
//! and the journal know, so none stays pending forever.
//!
//! A payment's record is written (durably) before LDK is asked to send it, so a node that
//! dies in between leaves a pending record of a payment LDK never heard of. LDK knows every
//! payment that could have an HTLC out: it lists them in `list_recent_payments` from the moment
//! it accepts the send until a while after the outcome was handled, and the channel manager on
//! disk is never older than a channel monitor (the manager barrier), so an HTLC that reached a
//! monitor has its payment in the manager read at start. A pending record LDK does not list is
//! therefore one of two things:
//! - its outcome is in the journal (the event was recorded and the record update then lost):
//!   the record takes the outcome the journal holds;
//! - nothing left: it becomes `failed` with reason [`LOST_BEFORE_SEND`] (a `payment_failed`
//!   event goes out first, so a lost record update is repaired from the journal next start),
//!   and paying again is allowed.
//!
//! Payments LDK lists are left alone: LDK's own events settle them.

use std::collections::HashSet;

use bitcoin::hex::DisplayHex;
use lightning::ln::channelmanager::RecentPaymentDetails;

use super::unix_now;
use super::Payments;
use crate::journal::{Journal, NodeEvent};
use crate::model::{PaymentRecord, PaymentStatus};
use crate::records::RecordStore;
use crate::NodeError;

/// The failure reason of a payment whose record was written but that LDK never heard of.
pub const LOST_BEFORE_SEND: &str = "lost_before_send";

/// What reconciling changed, by payment id.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Reconciled {
	/// Pending records LDK never heard of, now failed with [`LOST_BEFORE_SEND`].
	pub lost: Vec<String>,
	/// Pending records whose outcome the journal held, now showing it.
	pub restored: Vec<String>,
}

/// Reconciles the node's pending payments with its channel manager and journal. Runs at
/// start, after the channel manager is read and before events are processed or the API takes
/// requests. A record that cannot be settled now (a failed write) stays pending and is tried
/// again next start.
pub(crate) async fn reconcile_pending(pay: &Payments) {
	let known: HashSet<String> = pay
		.channel_manager
		.list_recent_payments()
		.into_iter()
		.map(|payment| {
			let id = match payment {
				RecentPaymentDetails::AwaitingInvoice { payment_id }
				| RecentPaymentDetails::Pending { payment_id, .. }
				| RecentPaymentDetails::Fulfilled { payment_id, .. }
				| RecentPaymentDetails::Abandoned { payment_id, .. } => payment_id,
			};
			id.0.to_lower_hex_string()
		})
		.collect();
	let outcome = reconcile(&pay.payments, &pay.journal, &known, |id, e| {
		crate::error!(pay.logger, "payment {id} stays pending until the next start: {e}");
	})
	.await;
	for id in &outcome.lost {
		crate::warn!(pay.logger, "payment {id} was recorded but never sent: failed");
	}
	for id in &outcome.restored {
		crate::warn!(pay.logger, "payment {id} reads as the journal recorded its outcome");
	}
}

/// [`reconcile_pending`] against the ids of the payments LDK knows (`known`); `on_error`
/// hears of a record left pending because a read or write failed.
pub(crate) async fn reconcile(
	payments: &RecordStore<PaymentRecord>, journal: &Journal, known: &HashSet<String>,
	on_error: impl Fn(&str, NodeError),
) -> Reconciled {
	let mut outcome = Reconciled::default();
	for (id, record) in payments.entries() {
		if record.status != PaymentStatus::Pending || known.contains(&id) {
			continue;
		}
		match settle(payments, journal, &id, record).await {
			Ok(Settled::Lost) => outcome.lost.push(id),
			Ok(Settled::Restored) => outcome.restored.push(id),
			Err(e) => on_error(&id, e),
		}
	}
	outcome.lost.sort();
	outcome.restored.sort();
	outcome
}

enum Settled {
	Lost,
	Restored,
}

async fn settle(
	payments: &RecordStore<PaymentRecord>, journal: &Journal, id: &str, pending: PaymentRecord,
) -> Result<Settled, NodeError> {
	// The journal keys an outcome by payment id and start time: this attempt's outcome only.
	let candidates = [
		NodeEvent::PaymentSucceeded { payment: pending.clone() },
		NodeEvent::PaymentFailed { payment: pending.clone() },
	];
	for candidate in &candidates {
		let recorded = journal.recorded(candidate)?.map(|entry| entry.event);
		if let Some(
			NodeEvent::PaymentSucceeded { payment } | NodeEvent::PaymentFailed { payment },
		) = recorded
		{
			replace_pending(payments, id, &pending, payment).await?;
			return Ok(Settled::Restored);
		}
	}
	let failed = PaymentRecord {
		status: PaymentStatus::Failed,
		failure_reason: Some(LOST_BEFORE_SEND.to_string()),
		completed_at: Some(unix_now()),
		..pending.clone()
	};
	journal.append(NodeEvent::PaymentFailed { payment: failed.clone() }).await?;
	replace_pending(payments, id, &pending, failed).await?;
	Ok(Settled::Lost)
}

/// Replaces the record if it is still the pending attempt that was looked at.
async fn replace_pending(
	payments: &RecordStore<PaymentRecord>, id: &str, pending: &PaymentRecord,
	settled: PaymentRecord,
) -> Result<(), NodeError> {
	payments
		.update(id, |record| {
			let same_attempt = record == pending;
			if same_attempt {
				*record = settled;
			}
			same_attempt
		})
		.await
		.map(|_| ())
}

#[cfg(test)]
mod tests {
	use std::sync::Arc;

	use super::*;
	use crate::model::{PaymentDirection, PaymentKind};
	use crate::store::{DynStore, SledStore};

	fn pending(id_byte: u8) -> PaymentRecord {
		let id = [id_byte; 32].to_lower_hex_string();
		PaymentRecord {
			payment_id: id.clone(),
			payment_hash: Some(id),
			kind: PaymentKind::Bolt11,
			direction: PaymentDirection::Outbound,
			destination: None,
			invoice: Some("lnbcrt1".into()),
			description: None,
			amount_msat: Some(1000),
			fee_msat: None,
			max_fee_msat: None,
			preimage: None,
			status: PaymentStatus::Pending,
			failure_reason: None,
			created_at: 100,
			completed_at: None,
		}
	}

	fn kinds_for(journal: &Journal, id: &str) -> Vec<String> {
		let events = journal.read(0, 100).expect("read");
		events
			.into_iter()
			.filter_map(|e| match e.event {
				NodeEvent::PaymentSucceeded { payment } | NodeEvent::PaymentFailed { payment }
					if payment.payment_id == id =>
				{
					Some(format!("{:?}", payment.status))
				}
				_ => None,
			})
			.collect()
	}

	#[tokio::test]
	async fn only_payments_nobody_knows_turn_lost_before_send() {
		let dir = tempfile::tempdir().expect("tempdir");
		let store: Arc<DynStore> = Arc::new(SledStore::open(dir.path()).expect("open"));
		let payments = RecordStore::load(Arc::clone(&store), "payments").await.expect("load");
		let journal = Journal::open(Arc::clone(&store)).expect("journal");
		let (lost, in_flight, journaled, done) = (pending(1), pending(2), pending(3), pending(4));
		let done = PaymentRecord { status: PaymentStatus::Succeeded, ..done };
		for record in [&lost, &in_flight, &journaled, &done] {
			payments.put(&record.payment_id, record.clone()).await.expect("put");
		}
		// `journaled` succeeded and its event was recorded, but the record update was lost.
		let outcome = PaymentRecord {
			status: PaymentStatus::Succeeded,
			preimage: Some("ab".repeat(32)),
			fee_msat: Some(7),
			completed_at: Some(120),
			..journaled.clone()
		};
		journal
			.append(NodeEvent::PaymentSucceeded { payment: outcome.clone() })
			.await
			.expect("append");
		// An earlier attempt of `lost` that failed does not count for this one.
		let earlier =
			PaymentRecord { created_at: 50, status: PaymentStatus::Failed, ..lost.clone() };
		journal.append(NodeEvent::PaymentFailed { payment: earlier }).await.expect("append");
		let known: HashSet<String> = [in_flight.payment_id.clone()].into();

		let errors = std::sync::Mutex::new(Vec::new());
		let result = reconcile(&payments, &journal, &known, |id, e| {
			errors.lock().expect("lock").push(format!("{id}: {e}"))
		})
		.await;
		assert!(errors.lock().expect("lock").is_empty());
		assert_eq!(result.lost, vec![lost.payment_id.clone()]);
		assert_eq!(result.restored, vec![journaled.payment_id.clone()]);

		let now_lost = payments.get(&lost.payment_id).expect("record");
		assert_eq!(now_lost.status, PaymentStatus::Failed);
		assert_eq!(now_lost.failure_reason.as_deref(), Some(LOST_BEFORE_SEND));
		assert!(now_lost.completed_at.is_some());
		assert_eq!(kinds_for(&journal, &lost.payment_id), vec!["Failed", "Failed"]);
		assert_eq!(payments.get(&in_flight.payment_id), Some(in_flight.clone()));
		assert_eq!(payments.get(&journaled.payment_id), Some(outcome));
		assert_eq!(payments.get(&done.payment_id), Some(done));

		// Settled once: a second start changes nothing and records nothing.
		let events = journal.total();
		let again = reconcile(&payments, &journal, &known, |_, e| panic!("{e}")).await;
		assert_eq!(again, Reconciled::default());
		assert_eq!(journal.total(), events);
	}

	#[tokio::test]
	async fn a_lost_payment_whose_record_update_failed_is_repaired_from_the_journal() {
		let dir = tempfile::tempdir().expect("tempdir");
		let store: Arc<DynStore> = Arc::new(SledStore::open(dir.path()).expect("open"));
		let payments = RecordStore::load(Arc::clone(&store), "payments").await.expect("load");
		let journal = Journal::open(Arc::clone(&store)).expect("journal");
		let lost = pending(9);
		payments.put(&lost.payment_id, lost.clone()).await.expect("put");
		// The previous start recorded the failure, then died before the record was written.
		let failed = PaymentRecord {
			status: PaymentStatus::Failed,
			failure_reason: Some(LOST_BEFORE_SEND.into()),
			completed_at: Some(130),
			..lost.clone()
		};
		journal.append(NodeEvent::PaymentFailed { payment: failed.clone() }).await.expect("append");
		let result = reconcile(&payments, &journal, &HashSet::new(), |_, e| panic!("{e}")).await;
		assert_eq!(result.restored, vec![lost.payment_id.clone()]);
		assert_eq!(payments.get(&lost.payment_id), Some(failed));
		assert_eq!(journal.total(), 1);
	}
}
