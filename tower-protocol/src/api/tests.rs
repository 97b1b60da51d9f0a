use bitcoin::consensus::encode;
use bitcoin::secp256k1::SecretKey;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use super::*;
use crate::crypto::tests::{commitment_txid, justice_tx};

fn user_sk() -> SecretKey {
	SecretKey::from_slice(&[0x44; 32]).unwrap()
}

fn tower_sk() -> SecretKey {
	SecretKey::from_slice(&[0x55; 32]).unwrap()
}

fn tower_id() -> PublicKey {
	UserId::from_secret_key(&tower_sk()).0
}

fn appointment() -> Appointment {
	let txid = commitment_txid(7);
	Appointment::for_justice_tx(&txid, &justice_tx(txid), 144)
}

/// Serializes, checks the JSON keys are exactly `keys`, and roundtrips.
fn roundtrip<T: Serialize + DeserializeOwned + PartialEq + core::fmt::Debug>(
	v: &T, keys: &[&str],
) -> Value {
	let json = serde_json::to_value(v).unwrap();
	let mut got: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
	got.sort_unstable();
	let mut want = keys.to_vec();
	want.sort_unstable();
	assert_eq!(got, want);
	assert_eq!(&serde_json::from_value::<T>(json.clone()).unwrap(), v);
	json
}

#[test]
fn endpoints() {
	let paths: Vec<_> = Endpoint::ALL.iter().map(|e| (e.method(), e.path())).collect();
	assert_eq!(
		paths,
		[
			("POST", "/register"),
			("POST", "/add_appointment"),
			("POST", "/get_appointment"),
			("POST", "/get_subscription_info"),
			("GET", "/ping"),
		]
	);
}

#[test]
fn register() {
	let user = UserId::from_secret_key(&user_sk());
	let req = RegisterRequest { user_id: user };
	let json = roundtrip(&req, &["user_id"]);
	assert_eq!(json["user_id"], json!(user.to_string()));

	let resp = RegisterResponse::signed(user, 10_000, 100, 4_132, &tower_sk());
	roundtrip(
		&resp,
		&[
			"user_id",
			"available_slots",
			"subscription_start",
			"subscription_expiry",
			"subscription_signature",
		],
	);
	assert_eq!(resp.receipt_to_vec().len(), 33 + 12);
	assert_eq!(&resp.receipt_to_vec()[33..37], &10_000u32.to_be_bytes());
	assert!(resp.verify(&tower_id()));
	assert!(!resp.verify(&user.0));
	let mut forged = resp.clone();
	forged.available_slots += 1;
	assert!(!forged.verify(&tower_id()));
	forged.subscription_signature = None;
	assert!(!forged.verify(&tower_id()));
	// Older towers send no signature.
	let old: RegisterResponse = serde_json::from_value(json!({
		"user_id": user.to_string(), "available_slots": 1,
		"subscription_start": 2, "subscription_expiry": 3,
	}))
	.unwrap();
	assert_eq!(old.subscription_signature, None);
}

#[test]
fn add_appointment() {
	let user = UserId::from_secret_key(&user_sk());
	let req = AddAppointmentRequest::new(appointment(), &user_sk());
	let json = roundtrip(&req, &["appointment", "signature"]);
	assert_eq!(json["appointment"]["to_self_delay"], json!(144));
	assert_eq!(req.appointment.recover_signer(&req.signature).unwrap(), user);

	let start_block = 812_345;
	let receipt = AddAppointmentResponse::receipt_to_vec(&req.signature, start_block);
	let resp = AddAppointmentResponse {
		locator: req.appointment.locator,
		start_block,
		signature: crypto::sign(&receipt, &tower_sk()),
		available_slots: 9_999,
		subscription_expiry: 4_132,
	};
	let json = roundtrip(
		&resp,
		&["locator", "start_block", "signature", "available_slots", "subscription_expiry"],
	);
	assert_eq!(json["locator"], json!(req.appointment.locator.to_string()));
	assert!(resp.verify(&req.signature, &tower_id()));
	assert!(!resp.verify("another user signature", &tower_id()));
	assert!(!resp.verify(&req.signature, &user.0));
}

#[test]
fn get_appointment() {
	let user = UserId::from_secret_key(&user_sk());
	let a = appointment();
	let req = GetAppointmentRequest::new(a.locator, &user_sk());
	roundtrip(&req, &["locator", "signature"]);
	assert_eq!(
		GetAppointmentRequest::message(&a.locator),
		format!("get appointment {}", a.locator)
	);
	let msg = GetAppointmentRequest::message(&req.locator);
	assert_eq!(crypto::recover_pk(msg.as_bytes(), &req.signature).unwrap(), user.0);

	let watched = GetAppointmentResponse {
		appointment: Some(AppointmentData::Appointment(a.clone())),
		status: AppointmentStatus::BeingWatched,
	};
	let json = roundtrip(&watched, &["appointment", "status"]);
	assert_eq!(json["status"], json!("being_watched"));
	assert_eq!(json["appointment"], serde_json::to_value(&a).unwrap());

	let txid = commitment_txid(7);
	let penalty = justice_tx(txid);
	let responded = GetAppointmentResponse {
		appointment: Some(AppointmentData::Tracker(Tracker {
			dispute_txid: txid,
			penalty_txid: penalty.compute_txid(),
			penalty_rawtx: encode::serialize(&penalty),
		})),
		status: AppointmentStatus::DisputeResponded,
	};
	let json = roundtrip(&responded, &["appointment", "status"]);
	assert_eq!(json["appointment"]["penalty_txid"], json!(penalty.compute_txid().to_string()));
	assert_eq!(json["appointment"]["dispute_txid"], json!(txid.to_string()));

	let not_found =
		GetAppointmentResponse { appointment: None, status: AppointmentStatus::NotFound };
	roundtrip(&not_found, &["status"]);
}

#[test]
fn get_subscription_info() {
	let req = GetSubscriptionInfoRequest::new(&user_sk());
	roundtrip(&req, &["signature"]);
	let signer = crypto::recover_pk(b"get subscription info", &req.signature).unwrap();
	assert_eq!(signer, UserId::from_secret_key(&user_sk()).0);

	let resp = GetSubscriptionInfoResponse {
		available_slots: 3,
		subscription_expiry: 4_132,
		locators: vec![appointment().locator, Locator::from([1; 16])],
	};
	let json = roundtrip(&resp, &["available_slots", "subscription_expiry", "locators"]);
	assert_eq!(json["locators"][1], json!("01010101010101010101010101010101"));
}

#[test]
fn rejects_malformed_fields() {
	let bad =
		[json!({"user_id": "aa"}), json!({"user_id": 1}), json!({}), json!({"user_id": "02zz"})];
	for v in bad {
		assert!(serde_json::from_value::<RegisterRequest>(v).is_err());
	}
	let short_locator = json!({"locator": "00", "signature": "x"});
	assert!(serde_json::from_value::<GetAppointmentRequest>(short_locator).is_err());
	let odd_blob = json!({
		"appointment": {"locator": "00000000000000000000000000000000", "encrypted_blob": "abc", "to_self_delay": 1},
		"signature": "x",
	});
	assert!(serde_json::from_value::<AddAppointmentRequest>(odd_blob).is_err());
}
