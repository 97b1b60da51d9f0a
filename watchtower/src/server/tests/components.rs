use super::*;
use crate::api::{GetAppointmentRequest, GetSubscriptionInfoRequest};
use crate::appointment::AppointmentStatus;
use crate::errors::ErrorCode;
use crate::locator::Locator;

#[test]
fn breach_in_a_block_broadcasts_the_penalty() {
	let mut h = Harness::new();
	let sk = user_sk(1);
	h.register(&sk);
	let dispute = dispute_tx(1);
	let req = appointment_for(&dispute, &sk);
	let receipt = h.core.watcher.add_appointment(&req).unwrap();
	assert!(receipt.verify(&req.signature, &h.core.tower_id()));
	assert_eq!(receipt.available_slots, 2);

	h.connect(vec![dispute_tx(100), dispute_tx(101)]);
	assert!(h.recorder.take().is_empty(), "no breach, no broadcast");

	h.connect(vec![dispute_tx(102), dispute.clone()]);
	assert_eq!(h.recorder.take(), vec![penalty_tx(&dispute).compute_txid()]);
	let locator = Locator::from_txid(&dispute.compute_txid());
	let user = UserId::from_secret_key(&sk);
	assert!(h.core.db.appointment(&locator, &user).unwrap().is_none(), "left the watcher");
	let answer = h.core.watcher.get_appointment(&GetAppointmentRequest::new(locator, &sk)).unwrap();
	assert_eq!(answer.status, AppointmentStatus::DisputeResponded);

	// Updating a triggered appointment is refused.
	let e = h.core.watcher.add_appointment(&req).unwrap_err();
	assert_eq!(e.error_code, ErrorCode::AppointmentAlreadyTriggered);
}

#[test]
fn unconfirmed_penalty_is_rebroadcast_every_block_until_resolved() {
	let mut h = Harness::new();
	let sk = user_sk(1);
	h.register(&sk);
	let dispute = dispute_tx(1);
	let penalty = penalty_tx(&dispute).compute_txid();
	h.core.watcher.add_appointment(&appointment_for(&dispute, &sk)).unwrap();
	h.connect(vec![dispute.clone()]);
	assert_eq!(h.recorder.take(), vec![penalty]);
	for _ in 0..3 {
		h.connect(vec![]);
		assert_eq!(h.recorder.take(), vec![penalty], "re-broadcast while unconfirmed");
	}
	h.connect(vec![penalty_tx(&dispute)]);
	assert!(h.recorder.take().is_empty(), "confirmed in this block");
	for _ in 0..4 {
		h.connect(vec![]);
	}
	assert!(h.recorder.take().is_empty());
	assert_eq!(h.core.responder.tracker_count(), 1);
	h.connect(vec![]); // 6th confirmation: resolved_depth
	assert_eq!(h.core.responder.tracker_count(), 0);
}

#[test]
fn reorg_of_the_breach_block_resends_when_the_breach_confirms_again() {
	let mut h = Harness::new();
	let sk = user_sk(1);
	h.register(&sk);
	let dispute = dispute_tx(1);
	let penalty = penalty_tx(&dispute);
	h.core.watcher.add_appointment(&appointment_for(&dispute, &sk)).unwrap();
	h.connect(vec![]);
	let fork = h.height();
	h.connect(vec![dispute.clone()]);
	h.connect(vec![penalty.clone()]);
	assert_eq!(h.recorder.take(), vec![penalty.compute_txid()]);

	// Both blocks vanish.
	h.disconnect_to(fork);
	let tracker = h
		.core
		.responder
		.tracker(&Locator::from_txid(&dispute.compute_txid()), &UserId::from_secret_key(&sk))
		.unwrap();
	assert_eq!((tracker.dispute_height, tracker.penalty_height), (None, None));
	assert!(h.recorder.take().is_empty());

	// The breach confirms again on the new branch: the penalty goes out again.
	h.connect(vec![dispute_tx(50), dispute.clone()]);
	assert_eq!(h.recorder.take(), vec![penalty.compute_txid()]);
	h.connect(vec![penalty.clone()]);
	assert!(h.recorder.take().is_empty());
}

#[test]
fn reorg_without_the_breach_rebroadcasts_breach_then_penalty() {
	let mut h = Harness::new();
	let sk = user_sk(1);
	h.register(&sk);
	let dispute = dispute_tx(1);
	let penalty = penalty_tx(&dispute);
	h.core.watcher.add_appointment(&appointment_for(&dispute, &sk)).unwrap();
	let fork = h.height();
	h.connect(vec![dispute.clone()]);
	h.recorder.take();
	h.disconnect_to(fork);
	h.connect(vec![]);
	assert_eq!(h.recorder.take(), vec![dispute.compute_txid(), penalty.compute_txid()]);
}

#[test]
fn useless_blob_is_dropped_without_broadcast() {
	let mut h = Harness::new();
	let sk = user_sk(1);
	h.register(&sk);
	let dispute = dispute_tx(1);
	// Encrypted for another txid: authentication fails with the real one.
	let wrong = crate::crypto::encrypt(&penalty_tx(&dispute), &dispute_tx(2).compute_txid());
	let appointment = Appointment::new(Locator::from_txid(&dispute.compute_txid()), wrong, 144);
	h.core.watcher.add_appointment(&AddAppointmentRequest::new(appointment, &sk)).unwrap();
	h.connect(vec![dispute]);
	assert!(h.recorder.take().is_empty());
	assert_eq!(h.core.responder.tracker_count(), 0);
}

#[test]
fn two_users_same_locator_both_respond() {
	let mut h = Harness::new();
	let (a, b) = (user_sk(1), user_sk(2));
	h.register(&a);
	h.register(&b);
	let dispute = dispute_tx(1);
	h.core.watcher.add_appointment(&appointment_for(&dispute, &a)).unwrap();
	h.core.watcher.add_appointment(&appointment_for(&dispute, &b)).unwrap();
	h.connect(vec![dispute]);
	assert_eq!(h.recorder.take().len(), 2);
	assert_eq!(h.core.responder.tracker_count(), 2);
}

#[test]
fn update_replaces_the_blob_and_counts_slots_by_size() {
	let h = Harness::new();
	let sk = user_sk(1);
	h.register(&sk);
	let dispute = dispute_tx(1);
	let first = appointment_for(&dispute, &sk);
	assert_eq!(h.core.watcher.add_appointment(&first).unwrap().available_slots, 2);
	let locator = first.appointment.locator;
	let updated = AddAppointmentRequest::new(Appointment::new(locator, vec![7; 100], 144), &sk);
	assert_eq!(h.core.watcher.add_appointment(&updated).unwrap().available_slots, 2, "an update");
	let user = UserId::from_secret_key(&sk);
	assert_eq!(
		h.core.db.appointment(&locator, &user).unwrap().unwrap().encrypted_blob,
		vec![7; 100]
	);
	// 3 slots in all: a 2-slot blob in place of the 1-slot one fits, then nothing else does.
	let big = AddAppointmentRequest::new(Appointment::new(locator, vec![7; 2049], 144), &sk);
	assert_eq!(h.core.watcher.add_appointment(&big).unwrap().available_slots, 1);
	let other = appointment_for(&dispute_tx(2), &sk);
	assert_eq!(h.core.watcher.add_appointment(&other).unwrap().available_slots, 0);
	let e = h.core.watcher.add_appointment(&appointment_for(&dispute_tx(3), &sk)).unwrap_err();
	assert_eq!(e.error_code, ErrorCode::InvalidSignatureOrSubscription);
	assert!(e.error.contains("not enough slots"), "{e}");
	let info = h.core.watcher.get_subscription_info(&GetSubscriptionInfoRequest::new(&sk)).unwrap();
	assert_eq!(info.locators.len(), 2);
	assert_eq!(info.available_slots, 0);
}

#[test]
fn expired_users_are_refused_then_deleted() {
	let mut h = Harness::new();
	let sk = user_sk(1);
	h.register(&sk); // at height 0: expires at 10, deleted at 12
	let dispute = dispute_tx(1);
	h.core.watcher.add_appointment(&appointment_for(&dispute, &sk)).unwrap();
	for _ in 0..10 {
		h.connect(vec![]);
	}
	let e = h.core.watcher.add_appointment(&appointment_for(&dispute_tx(2), &sk)).unwrap_err();
	assert_eq!(e.error_code, ErrorCode::InvalidSignatureOrSubscription);
	assert!(e.error.contains("expired"), "{e}");
	let user = UserId::from_secret_key(&sk);
	let locator = Locator::from_txid(&dispute.compute_txid());
	assert!(h.core.db.appointment(&locator, &user).unwrap().is_some(), "grace period");
	h.connect(vec![]);
	h.connect(vec![]);
	assert!(h.core.db.appointment(&locator, &user).unwrap().is_none());
	assert_eq!(h.core.gatekeeper.user_count(), 0);
	// Renewing brings the user back with fresh slots.
	h.register(&sk);
	assert!(h.core.watcher.add_appointment(&appointment_for(&dispute, &sk)).is_ok());
}

#[test]
fn everything_survives_a_restart() {
	let mut h = Harness::new();
	let sk = user_sk(1);
	h.register(&sk);
	let tower_id = h.core.tower_id();
	let (watched, breached) = (dispute_tx(1), dispute_tx(2));
	h.core.watcher.add_appointment(&appointment_for(&watched, &sk)).unwrap();
	h.core.watcher.add_appointment(&appointment_for(&breached, &sk)).unwrap();
	h.connect(vec![breached.clone()]);
	h.recorder.take();
	let tip = *h.chain.last().unwrap();

	let mut h = h.reopen();
	assert_eq!(h.core.tower_id(), tower_id);
	assert_eq!(h.core.db.tip().unwrap(), Some((tip, 1)));
	assert_eq!(h.core.gatekeeper.height(), 1);
	assert_eq!(h.core.responder.tracker_count(), 1);
	let info = h.core.watcher.get_subscription_info(&GetSubscriptionInfoRequest::new(&sk)).unwrap();
	assert_eq!(info.available_slots, 1);
	h.connect(vec![watched.clone()]);
	let mut sent = h.recorder.take();
	sent.sort();
	let mut expected =
		vec![penalty_tx(&watched).compute_txid(), penalty_tx(&breached).compute_txid()];
	expected.sort();
	assert_eq!(sent, expected, "the new breach, and the old penalty re-broadcast");
}

#[test]
fn locator_index_follows_the_store() {
	let mut h = Harness::new();
	let (a, b) = (user_sk(1), user_sk(2));
	h.register(&a);
	h.register(&b);
	let (shared, own) = (dispute_tx(1), dispute_tx(2));
	h.core.watcher.add_appointment(&appointment_for(&shared, &a)).unwrap();
	h.core.watcher.add_appointment(&appointment_for(&shared, &b)).unwrap();
	h.core.watcher.add_appointment(&appointment_for(&own, &a)).unwrap();
	assert_eq!(h.core.db.indexed_locators(), 2);
	h.core
		.db
		.remove_appointment(
			&Locator::from_txid(&shared.compute_txid()),
			&UserId::from_secret_key(&a),
		)
		.unwrap();
	assert_eq!(h.core.db.indexed_locators(), 2, "b still watches the shared locator");
	let h2 = h.reopen();
	assert_eq!(h2.core.db.indexed_locators(), 2, "rebuilt from sled at start");
	h = h2;
	h.connect(vec![shared.clone(), own.clone()]);
	assert_eq!(h.recorder.take().len(), 2, "both found through the index");
	assert_eq!(h.core.db.indexed_locators(), 0);
}
