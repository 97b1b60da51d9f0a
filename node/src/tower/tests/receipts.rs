//! A receipt that does not verify advances nothing: not the cursor, not the pruning, not the
//! tower's state; a key learned on first use is stored and a later different key refused.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bitcoin::hex::DisplayHex;
use bitcoin::secp256k1::{PublicKey, Secp256k1};

use super::*;
use crate::tower::delivery::{deliver_once, Courier, TowerLink};

fn hex_key(n: u8) -> String {
	PublicKey::from_secret_key(&Secp256k1::new(), &key(n)).serialize().to_lower_hex_string()
}

/// The outbox on `store` and a courier to the fake tower, as after a (re)start.
fn courier(store: &Arc<DynStore>, tower: &FakeTower, dir: &tempfile::TempDir) -> Courier {
	let outbox = Outbox::open(Arc::clone(store)).unwrap();
	let link = TowerLink::load(&tower.url, store, outbox.head()).unwrap();
	Courier::new(outbox, key(1), vec![Arc::new(link)], logger(dir))
}

#[tokio::test]
async fn garbage_receipts_advance_nothing_and_a_changed_key_is_refused() {
	let dir = tempfile::tempdir().unwrap();
	let store = memory_store();
	// An older tower: the registration is unsigned, so the key can only come from a receipt.
	let tower = FakeTower::start(Signing::Unsigned, Signing::Garbage).await;
	let courier = courier(&store, &tower, &dir);
	for n in 0..3 {
		append(&courier.outbox, 7, n).await;
	}
	let link = Arc::clone(&courier.links[0]);

	let e = deliver_once(&link, &courier).await.expect_err("garbage receipts are refused");
	assert!(tower.appointments.load(Ordering::SeqCst) >= 1, "the tower was asked");
	let status = link.status(courier.outbox.head());
	assert_eq!(link.cursor(), 0, "the cursor stays: {status:?}");
	assert_eq!((status.state.as_str(), status.delivered, status.pending), ("misbehaving", 0, 3));
	assert_eq!(status.last_error.as_deref(), Some(e.as_str()));
	assert!(e.contains("signature"), "{e}");
	assert_eq!(courier.outbox.read_from(0, 10).unwrap().0.len(), 3, "nothing pruned");

	// The tower signs properly now: its key is learned, pinned, and the backlog goes through.
	*tower.receipts.lock().unwrap() = Signing::By(key(2));
	assert_eq!(deliver_once(&link, &courier).await, Ok(3));
	let status = link.status(courier.outbox.head());
	assert_eq!((status.state.as_str(), status.delivered, status.pending), ("active", 3, 0));
	assert_eq!(status.last_error, None);
	assert_eq!(status.tower_id, Some(hex_key(2)));

	// Another key signs the next receipt: refused, the cursor stays.
	*tower.receipts.lock().unwrap() = Signing::By(key(3));
	append(&courier.outbox, 7, 3).await;
	let e = deliver_once(&link, &courier).await.expect_err("a different key is refused");
	assert!(e.contains(&hex_key(3)) && e.contains(&hex_key(2)), "{e}");
	let status = link.status(courier.outbox.head());
	assert_eq!((link.cursor(), status.state.as_str()), (3, "misbehaving"));

	// After a restart the pinned key is still the one learned first.
	drop(courier);
	let courier = self::courier(&store, &tower, &dir);
	let link = Arc::clone(&courier.links[0]);
	assert_eq!(link.status(courier.outbox.head()).tower_id, Some(hex_key(2)));
	let e = deliver_once(&link, &courier).await.expect_err("still refused after a restart");
	assert!(e.contains(&hex_key(3)), "{e}");
	assert_eq!((link.cursor(), link.status(4).state.as_str()), (3, "misbehaving"));
}

#[tokio::test]
async fn a_registration_receipt_pins_the_key_at_once() {
	let dir = tempfile::tempdir().unwrap();
	let store = memory_store();
	let tower = FakeTower::start(Signing::By(key(2)), Signing::Garbage).await;
	let courier = courier(&store, &tower, &dir);
	append(&courier.outbox, 7, 0).await;
	let link = Arc::clone(&courier.links[0]);
	deliver_once(&link, &courier).await.expect_err("garbage receipt");
	assert_eq!(link.cursor(), 0);

	// Restarted, the node still knows the key (stored when learned), and a tower that now
	// registers under another key is refused.
	*tower.registration.lock().unwrap() = Signing::By(key(3));
	*tower.receipts.lock().unwrap() = Signing::By(key(3));
	drop(courier);
	let courier = self::courier(&store, &tower, &dir);
	let link = Arc::clone(&courier.links[0]);
	assert_eq!(link.status(1).tower_id, Some(hex_key(2)));
	let e = deliver_once(&link, &courier).await.expect_err("registration by another key");
	assert!(e.contains(&hex_key(3)), "{e}");
	let status = link.status(1);
	assert_eq!((link.cursor(), status.state.as_str(), status.delivered), (0, "misbehaving", 0));
}
