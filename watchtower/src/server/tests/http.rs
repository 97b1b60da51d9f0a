//! The API on a real port, through the real client: every kind of bad input gets its code and
//! the tower keeps serving.

use hyper::{Method, StatusCode};
use serde_json::{json, Value};

use super::*;
use crate::api::{GetAppointmentRequest, GetSubscriptionInfoRequest};
use crate::appointment::AppointmentStatus;
use crate::client::{ClientError, TowerClient};
use crate::errors::{ApiError, ErrorCode};
use crate::server::HttpServer;

fn serve(h: &Harness) -> (HttpServer, TowerClient) {
	let server = h.core.serve("127.0.0.1:0".parse().unwrap()).unwrap();
	let client = TowerClient::new(&format!("http://{}", server.local_addr()));
	(server, client)
}

/// Posts raw bytes; returns the status and the teos error (the body must be one).
async fn post_error(client: &TowerClient, path: &str, body: impl Into<Vec<u8>>) -> (u16, ApiError) {
	let (status, body) = client.raw(Method::POST, path, body.into()).await.unwrap();
	let error: ApiError = serde_json::from_slice(&body).unwrap_or_else(|e| {
		panic!("{path}: not an error body ({e}): {}", String::from_utf8_lossy(&body))
	});
	(status.as_u16(), error)
}

fn code(e: &ClientError) -> ErrorCode {
	e.error_code().unwrap_or_else(|| panic!("not an API error: {e}"))
}

#[tokio::test]
async fn happy_path_and_signed_receipts() {
	let h = Harness::new();
	let (_server, client) = serve(&h);
	client.ping().await.unwrap();
	let sk = user_sk(1);
	let user = UserId::from_secret_key(&sk);
	let registered = client.register(user).await.unwrap();
	assert!(registered.verify(&h.core.tower_id()));
	assert_eq!(registered.available_slots, 3);

	let req = appointment_for(&dispute_tx(1), &sk);
	let receipt = client.add_appointment(&req).await.unwrap();
	assert!(receipt.verify(&req.signature, &h.core.tower_id()));
	let got = client
		.get_appointment(&GetAppointmentRequest::new(req.appointment.locator, &sk))
		.await
		.unwrap();
	assert_eq!(got.status, AppointmentStatus::BeingWatched);
	let missing = client
		.get_appointment(&GetAppointmentRequest::new(crate::Locator::from([9; 16]), &sk))
		.await
		.unwrap();
	assert_eq!(missing.status, AppointmentStatus::NotFound);
	let info = client.get_subscription_info(&GetSubscriptionInfoRequest::new(&sk)).await.unwrap();
	assert_eq!(info.locators, vec![req.appointment.locator]);
	assert_eq!(info.available_slots, 2);
}

#[tokio::test]
async fn malformed_requests_get_their_codes() {
	let h = Harness::new();
	let (_server, client) = serve(&h);
	let cases: Vec<(&str, Vec<u8>, ErrorCode)> = vec![
		("/register", b"{not json".to_vec(), ErrorCode::InvalidRequestFormat),
		("/register", b"".to_vec(), ErrorCode::InvalidRequestFormat),
		("/register", b"{}".to_vec(), ErrorCode::MissingField),
		("/register", br#"{"user_id": 5}"#.to_vec(), ErrorCode::WrongFieldType),
		("/register", br#"{"user_id": "02aa"}"#.to_vec(), ErrorCode::WrongFieldSize),
		("/register", br#"{"user_id": "zz"}"#.to_vec(), ErrorCode::WrongFieldFormat),
		("/add_appointment", br#"{"signature": "x"}"#.to_vec(), ErrorCode::MissingField),
		(
			"/add_appointment",
			br#"{"appointment": {"locator": "00", "encrypted_blob": "00", "to_self_delay": 1}, "signature": "x"}"#.to_vec(),
			ErrorCode::WrongFieldSize,
		),
		("/get_appointment", br#"{"locator": "0011", "signature": "x"}"#.to_vec(), ErrorCode::WrongFieldSize),
		("/get_subscription_info", b"[]".to_vec(), ErrorCode::InvalidRequestFormat),
		("/get_subscription_info", br#"{"signature": 1}"#.to_vec(), ErrorCode::WrongFieldType),
	];
	for (path, body, expected) in cases {
		let shown = String::from_utf8_lossy(&body).into_owned();
		let (status, error) = post_error(&client, path, body).await;
		assert_eq!((status, error.error_code), (400, expected), "{path} {shown}: {error}");
	}
	let (status, error) = post_error(&client, "/nowhere", b"{}".to_vec()).await;
	assert_eq!((status, error.error_code), (404, ErrorCode::InvalidRequestFormat));
	let (status, _) = client.raw(Method::GET, "/register", vec![]).await.unwrap();
	assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
	client.ping().await.unwrap();
}

#[tokio::test]
async fn blob_size_limits() {
	let h = Harness::new();
	let (_server, client) = serve(&h);
	let sk = user_sk(1);
	client.register(UserId::from_secret_key(&sk)).await.unwrap();
	let locator = crate::Locator::from([1; 16]);
	let max = h.options.limits.max_blob_size;
	for (len, expected) in [
		(max + 1, ErrorCode::AppointmentFieldTooBig),
		(10, ErrorCode::AppointmentFieldTooSmall),
		(0, ErrorCode::EmptyField),
	] {
		let req = AddAppointmentRequest::new(Appointment::new(locator, vec![1; len], 1), &sk);
		let e = client.add_appointment(&req).await.unwrap_err();
		assert_eq!(code(&e), expected, "{len} bytes: {e}");
	}
	// A body over the limit is refused before it is read.
	let huge = json!({"appointment": {"locator": locator.to_string(), "encrypted_blob": "00".repeat(max * 2), "to_self_delay": 1}, "signature": "x"});
	let (status, error) =
		post_error(&client, "/add_appointment", serde_json::to_vec(&huge).unwrap()).await;
	assert_eq!((status, error.error_code), (413, ErrorCode::AppointmentFieldTooBig));
	// The maximum itself is fine (32 slots: more than this user has).
	let req = AddAppointmentRequest::new(Appointment::new(locator, vec![1; max], 1), &sk);
	let e = client.add_appointment(&req).await.unwrap_err();
	assert!(e.to_string().contains("not enough slots"), "{e}");
}

#[tokio::test]
async fn bad_signature_unknown_user_expired_subscription() {
	let mut h = Harness::new();
	let (server, client) = serve(&h);
	let sk = user_sk(1);
	client.register(UserId::from_secret_key(&sk)).await.unwrap();
	let mut req = appointment_for(&dispute_tx(1), &sk);

	req.signature = "not a signature".into();
	let e = client.add_appointment(&req).await.unwrap_err();
	assert_eq!(code(&e), ErrorCode::InvalidSignatureOrSubscription);
	assert!(matches!(e, ClientError::Api { status: 401, .. }));

	// Signed by someone else: the signature is valid but recovers to a stranger.
	let stranger = appointment_for(&dispute_tx(1), &user_sk(2));
	let e = client.add_appointment(&stranger).await.unwrap_err();
	assert_eq!(code(&e), ErrorCode::InvalidSignatureOrSubscription);
	let e = client
		.get_subscription_info(&GetSubscriptionInfoRequest::new(&user_sk(2)))
		.await
		.unwrap_err();
	assert_eq!(code(&e), ErrorCode::InvalidSignatureOrSubscription);

	// A signature over other data (the appointment was changed after signing).
	let mut tampered = appointment_for(&dispute_tx(1), &sk);
	tampered.appointment.to_self_delay += 1;
	let e = client.add_appointment(&tampered).await.unwrap_err();
	assert_eq!(code(&e), ErrorCode::InvalidSignatureOrSubscription);

	drop(server);
	for _ in 0..10 {
		h.connect(vec![]);
	}
	let (_server, client) = serve(&h);
	let e = client.add_appointment(&appointment_for(&dispute_tx(1), &sk)).await.unwrap_err();
	assert_eq!(code(&e), ErrorCode::InvalidSignatureOrSubscription);
	assert!(e.to_string().contains("expired"), "{e}");
	let e = client
		.get_appointment(&GetAppointmentRequest::new(crate::Locator::from([0; 16]), &sk))
		.await
		.unwrap_err();
	assert_eq!(code(&e), ErrorCode::InvalidSignatureOrSubscription);
	client.ping().await.unwrap();
}

#[tokio::test]
async fn repeated_locator_is_an_update() {
	let h = Harness::new();
	let (_server, client) = serve(&h);
	let sk = user_sk(1);
	client.register(UserId::from_secret_key(&sk)).await.unwrap();
	let first = appointment_for(&dispute_tx(1), &sk);
	assert_eq!(client.add_appointment(&first).await.unwrap().available_slots, 2);
	let locator = first.appointment.locator;
	let second = AddAppointmentRequest::new(Appointment::new(locator, vec![5; 200], 7), &sk);
	let receipt = client.add_appointment(&second).await.unwrap();
	assert_eq!(receipt.available_slots, 2, "no new slot for an update");
	let got = client.get_appointment(&GetAppointmentRequest::new(locator, &sk)).await.unwrap();
	let json: Value = serde_json::to_value(&got).unwrap();
	assert_eq!(json["appointment"]["encrypted_blob"], json!("05".repeat(200)));
	assert_eq!(json["appointment"]["to_self_delay"], json!(7));
}
