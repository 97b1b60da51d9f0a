//! What strangers can make the tower hold is bounded: users, slots per user and in all,
//! appointments per locator, registrations per address; renewals never lock a user out;
//! trackers end with their user or their hopeless penalty.

use hyper::Method;

use super::*;
use crate::client::TowerClient;
use crate::errors::{ApiError, ErrorCode};
use crate::server::{Refusal, RegistrationCaps};

fn caps(max_users: usize, max_slots_per_user: u32, max_total_slots: u64) -> TowerOptions {
	TowerOptions {
		caps: RegistrationCaps {
			max_users,
			max_slots_per_user,
			max_total_slots,
			..RegistrationCaps::default()
		},
		..options()
	}
}

fn harness(options: TowerOptions) -> Harness {
	Harness::open(tempfile::tempdir().unwrap(), options)
}

fn register(h: &Harness, n: u8) -> Result<crate::server::dbm::UserInfo, ApiError> {
	h.core.gatekeeper.register(UserId::from_secret_key(&user_sk(n)))
}

#[test]
fn renewals_top_up_to_the_cap_and_never_fail() {
	// A registration worth more than a u32 can add twice: the old code overflowed.
	let mut options = options();
	options.subscription.slots = u32::MAX;
	let mut h = harness(options);
	let cap = h.options.caps.max_slots_per_user;
	let first = register(&h, 1).unwrap();
	assert_eq!(first.available_slots, cap);
	// Someone re-registers the victim's id over and over: the victim only gains time.
	for _ in 0..100 {
		h.connect(vec![]);
		let again = register(&h, 1).expect("a renewal never fails");
		assert_eq!(again.available_slots, cap);
	}
	let renewed = register(&h, 1).unwrap();
	assert_eq!(renewed.subscription_expiry, h.height() + h.options.subscription.duration);
	let req = appointment_for(&dispute_tx(1), &user_sk(1));
	assert_eq!(h.core.watcher.add_appointment(&req).unwrap().available_slots, cap - 1);
	// Used slots count toward the cap: a renewal tops up to it, not past it.
	assert_eq!(register(&h, 1).unwrap().available_slots, cap - 1);
}

#[test]
fn users_beyond_the_cap_are_refused_and_known_ones_renew() {
	let mut h = harness(caps(2, 100, 1000));
	register(&h, 1).unwrap();
	register(&h, 2).unwrap();
	let e = register(&h, 3).unwrap_err();
	assert_eq!(e.error_code, ErrorCode::RegistrationResourceExhausted, "{e}");
	assert!(register(&h, 1).is_ok(), "a known user renews");
	assert_eq!(h.core.gatekeeper.user_count(), 2);
	// Once user 2 expired and was deleted (10 blocks and 2 of grace), there is room again.
	for _ in 0..12 {
		h.connect(vec![]);
	}
	assert_eq!(h.core.gatekeeper.user_count(), 0, "both expired");
	register(&h, 3).unwrap();
}

#[test]
fn slots_in_all_are_capped() {
	let mut options = caps(10, 100, 8);
	options.subscription.slots = 3;
	let h = harness(options);
	assert_eq!(register(&h, 1).unwrap().available_slots, 3);
	assert_eq!(register(&h, 2).unwrap().available_slots, 3);
	assert_eq!(register(&h, 3).unwrap().available_slots, 2, "what is left");
	let e = register(&h, 4).unwrap_err();
	assert_eq!(e.error_code, ErrorCode::RegistrationResourceExhausted, "{e}");
	assert!(e.error.contains("slots"), "{e}");
	// A known user still renews, with no more slots.
	assert_eq!(register(&h, 1).unwrap().available_slots, 3);
	assert_eq!(h.core.gatekeeper.held_slots(), 8);
	// Appointments move slots from free to used: the total stays.
	h.core.watcher.add_appointment(&appointment_for(&dispute_tx(1), &user_sk(1))).unwrap();
	assert_eq!(h.core.gatekeeper.held_slots(), 8);
	// Reopened, the tower counts the used slots from the appointments stored.
	let h = h.reopen();
	assert_eq!(h.core.gatekeeper.held_slots(), 8);
	assert!(register(&h, 4).is_err());
}

#[test]
fn a_triggered_appointment_frees_its_slot_in_the_total() {
	let mut options = caps(10, 100, 6);
	options.subscription.slots = 3;
	let mut h = harness(options);
	register(&h, 1).unwrap();
	register(&h, 2).unwrap();
	assert!(register(&h, 3).is_err(), "full");
	let dispute = dispute_tx(1);
	h.core.watcher.add_appointment(&appointment_for(&dispute, &user_sk(1))).unwrap();
	h.connect(vec![dispute]);
	assert_eq!(h.core.gatekeeper.held_slots(), 5, "the appointment became a tracker");
	assert_eq!(register(&h, 3).unwrap().available_slots, 1);
}

#[test]
fn a_locator_takes_appointments_of_a_few_users_only() {
	let mut options = options();
	options.limits.max_appointments_per_locator = 2;
	let h = harness(options);
	let dispute = dispute_tx(1);
	for n in 1..=3 {
		register(&h, n).unwrap();
	}
	for n in 1..=2 {
		h.core.watcher.add_appointment(&appointment_for(&dispute, &user_sk(n))).unwrap();
	}
	let e = h.core.watcher.add_appointment(&appointment_for(&dispute, &user_sk(3))).unwrap_err();
	assert_eq!(e.error_code, ErrorCode::RegistrationResourceExhausted, "{e}");
	assert!(e.error.contains("most appointments"), "{e}");
	// An update by a user already there is fine; another locator too.
	h.core.watcher.add_appointment(&appointment_for(&dispute, &user_sk(1))).unwrap();
	h.core.watcher.add_appointment(&appointment_for(&dispute_tx(2), &user_sk(3))).unwrap();
}

#[tokio::test]
async fn registrations_are_rate_limited_per_address() {
	let mut options = options();
	options.caps.registrations_per_hour = 2;
	let h = harness(options);
	let server = h.core.serve("127.0.0.1:0".parse().unwrap()).unwrap();
	let client = TowerClient::new(&format!("http://{}", server.local_addr()));
	for n in 1..=2 {
		client.register(UserId::from_secret_key(&user_sk(n))).await.unwrap();
	}
	let e = client.register(UserId::from_secret_key(&user_sk(3))).await.unwrap_err();
	assert_eq!(e.error_code(), Some(ErrorCode::RegistrationResourceExhausted), "{e}");
	assert!(e.to_string().contains("429"), "{e}");
	// Refused before the body is read: even a malformed one counts.
	let (status, _) = client.raw(Method::POST, "/register", b"{".to_vec()).await.unwrap();
	assert_eq!(status.as_u16(), 429);
	// The rest of the API is not limited.
	client.ping().await.unwrap();
	let req = appointment_for(&dispute_tx(1), &user_sk(1));
	client.add_appointment(&req).await.unwrap();
	assert_eq!(h.core.gatekeeper.user_count(), 2);
}

#[test]
fn trackers_of_expired_users_are_dropped() {
	let mut h = Harness::new();
	let sk = user_sk(1);
	h.register(&sk); // at height 0: expires at 10, deleted at 12
	let dispute = dispute_tx(1);
	h.core.watcher.add_appointment(&appointment_for(&dispute, &sk)).unwrap();
	h.connect(vec![dispute.clone()]);
	assert_eq!(h.recorder.take(), vec![penalty_tx(&dispute).compute_txid()]);
	// The penalty never confirms: sent again every block while the user is there.
	for _ in 2..=12 {
		h.connect(vec![]);
	}
	assert_eq!(h.core.gatekeeper.user_count(), 0, "deleted at block 12");
	h.recorder.take();
	h.connect(vec![]);
	assert_eq!(h.core.responder.tracker_count(), 0, "the tracker went with its user");
	assert!(h.recorder.take().is_empty(), "nothing sent for a user who is gone");
	let h = h.reopen();
	assert_eq!(h.core.responder.tracker_count(), 0, "and it is gone from the disk");
}

#[test]
fn refused_penalties_are_dropped_when_invalid_and_kept_when_refused_for_now() {
	let refusals = Arc::new(crate::server::Refusals::default());
	let mut options = options();
	options.subscription.slots = 10;
	let dir = tempfile::tempdir().unwrap();
	let mut h = Harness::reporting_to(dir, options, Arc::clone(&refusals));
	let sk = user_sk(1);
	h.register(&sk);
	let (invalid, low_fee, spent, reorged) =
		(dispute_tx(1), dispute_tx(2), dispute_tx(3), dispute_tx(4));
	for dispute in [&invalid, &low_fee, &spent, &reorged] {
		h.core.watcher.add_appointment(&appointment_for(dispute, &sk)).unwrap();
	}
	h.connect(vec![invalid.clone(), low_fee.clone(), spent.clone(), reorged.clone()]);
	assert_eq!(h.core.responder.tracker_count(), 4);
	// The breach of the last one is reorged out: its penalty's inputs are missing for now.
	h.disconnect_to(0);
	h.connect(vec![invalid.clone(), low_fee.clone(), spent.clone()]);
	h.recorder.take();
	// What bitcoind answered (as the carrier reports it).
	let refuse = |tx: &Transaction, refusal: Refusal| {
		refusals.push(penalty_tx(tx).compute_txid(), refusal);
	};
	refuse(&invalid, Refusal::Invalid("mandatory-script-verify-flag-failed".into()));
	refuse(&low_fee, Refusal::ForNow("min relay fee not met".into()));
	refuse(&spent, Refusal::MissingInputs("bad-txns-inputs-missingorspent".into()));
	refuse(&reorged, Refusal::MissingInputs("bad-txns-inputs-missingorspent".into()));
	h.connect(vec![]);
	let kept = |tx: &Transaction| {
		let locator = crate::Locator::from_txid(&tx.compute_txid());
		h.core.responder.has_tracker(&locator, &UserId::from_secret_key(&sk))
	};
	assert!(!kept(&invalid), "invalid: dropped");
	assert!(kept(&low_fee), "refused for its fee: kept");
	assert!(!kept(&spent), "inputs spent while the breach is confirmed: dropped");
	assert!(kept(&reorged), "inputs missing because the breach is not in the chain: kept");
	let mut sent = h.recorder.take();
	sent.sort();
	let mut expected = vec![
		reorged.compute_txid(),
		penalty_tx(&low_fee).compute_txid(),
		penalty_tx(&reorged).compute_txid(),
	];
	expected.sort();
	assert_eq!(sent, expected, "only the kept ones are sent again");
	let h = h.reopen();
	assert_eq!(h.core.responder.tracker_count(), 2);
}
