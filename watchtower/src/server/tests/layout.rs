//! The database a tower wrote before its store moved onto the shared sled core opens as it
//! was: the records below are built byte for byte as the key table of `dbm` says.

use bitcoin::hashes::Hash;
use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use bitcoin::BlockHash;

use crate::crypto::UserId;
use crate::locator::Locator;
use crate::server::dbm::{Dbm, StoredAppointment, UserInfo};

#[test]
fn a_database_in_the_earlier_layout_opens() {
	let dir = tempfile::tempdir().unwrap();
	let tower_sk = SecretKey::from_slice(&[7; 32]).unwrap();
	let user =
		PublicKey::from_secret_key(&Secp256k1::new(), &SecretKey::from_slice(&[9; 32]).unwrap());
	let locator = Locator::from_slice(&[0xab; 16]).unwrap();
	let tip = BlockHash::from_byte_array([3; 32]);
	{
		let db = sled::open(dir.path()).unwrap();
		let user_key = [&b"U"[..], &user.serialize()].concat();
		let info = [5u32.to_be_bytes(), 100u32.to_be_bytes(), 4420u32.to_be_bytes()].concat();
		db.insert(user_key, info).unwrap();
		let appointment_key = [&b"A"[..], &[0xab; 16], &user.serialize()].concat();
		let appointment = [&120u32.to_be_bytes()[..], &42u32.to_be_bytes(), &[1, 2, 3]].concat();
		db.insert(appointment_key, appointment).unwrap();
		db.insert([&b"I"[..], &user.serialize(), &[0xab; 16]].concat(), &[][..]).unwrap();
		db.insert(b"Mtip", [&tip.to_byte_array()[..], &130u32.to_be_bytes()].concat()).unwrap();
		db.insert(b"Mkey", &tower_sk.secret_bytes()[..]).unwrap();
		db.flush().unwrap();
	}

	let (db, _) = Dbm::open(dir.path(), 1 << 20, std::time::Duration::ZERO).unwrap();
	let user = UserId(user);
	let info = UserInfo { available_slots: 5, subscription_start: 100, subscription_expiry: 4420 };
	assert_eq!(db.users().unwrap(), vec![(user, info)]);
	let stored =
		StoredAppointment { start_block: 120, to_self_delay: 42, encrypted_blob: vec![1, 2, 3] };
	assert_eq!(db.appointment(&locator, &user).unwrap(), Some(stored.clone()));
	// The in-memory locator index is rebuilt from the stored appointments.
	assert_eq!(db.indexed_locators(), 1);
	assert_eq!(db.appointments_at(&locator).unwrap(), vec![(user, stored)]);
	assert_eq!(db.locators_of(&user).unwrap(), vec![locator]);
	assert_eq!(db.tip().unwrap(), Some((tip, 130)));
	assert_eq!(db.tower_key().unwrap(), tower_sk);
}
