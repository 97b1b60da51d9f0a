use bitcoin::absolute::LockTime;
use bitcoin::hashes::Hash;
use bitcoin::hex::FromHex;
use bitcoin::secp256k1::{PublicKey, SecretKey};
use bitcoin::transaction::Version;
use bitcoin::{
	Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Txid, WPubkeyHash, Witness,
};
use chacha20poly1305::aead::Aead;

use super::*;

// Known-answer vector from rust-teos, teos-common/src/cryptography.rs tests: a segwit
// coinbase encrypted under this txid (given in display order, as bitcoind prints it).
const TEOS_TX: &str = "010000000001010000000000000000000000000000000000000000000000000000000000000000ffffffff54038e830a1b4d696e656420627920416e74506f6f6c373432c2005b005e7a0ae3fabe6d6d7841cd582ead8ea5dd8e3de1173cae6fcd2a53c7362ebb7fb6f815604fe07cbe0200000000000000ac0e060005f90000ffffffff04d9476026000000001976a91411dbe48cc6b617f9c6adaf4d9ed5f625b1c7cb5988ac0000000000000000266a24aa21a9ed7248c6efddd8d99bfddd7f499f0b915bffa8253003cc934df1ff14a81301e2340000000000000000266a24b9e11b6d7054937e13f39529d6ad7e685e9dd4efa426f247d5f5a5bed58cdddb2d0fa60100000000000000002b6a2952534b424c4f434b3a054a68aa5368740e8b3e3c67bce45619c2cfd07d4d4f0936a5612d2d0034fa0a0120000000000000000000000000000000000000000000000000000000000000000000000000";
const TEOS_TXID: &str = "d6ac4a5e61657c4c604dcde855a1db74ec6b3e54f32695d72c5e11c7761ea1b4";
const TEOS_BLOB: &str = "f64d730654738fdbcd9e65068be17bc1abb44e74f8977985cce48e77209cf97292c862e4eb7190aedc6c53ceddda6871a3988d1d9608e2d0dd7a1f59769e410618a7029001479ac3b9d699b11a08b0ccb04e56bfee88461d9cd3207623a4a543996dd3805323c93cd62069636305aaf159e9cca1063ad1f097c16fb3c2ebbcf09be96512c5d7c195c684569cbe8b7979870b04cada9806b7610569c66021afcc63f46dd4af75716950c4de094334cdf7d9e532820afe29d2621dd79920c7e0ecc10853517dd84ca9d699f712c229e86954c227cba1d0fc87c8d48ac05e2de8a6bc980afdfafcd7064e411c8d76065c06cc7f233e869eaff5bd8ccb5d8f0090d91a8f017355cc115863356ecf06cdda9b309096ea766d033dbd4f70a789a5b03138cfc7e2900a79bb465abf07a7ac45c41b4b30c008d4b299aad9d001cf45acd07e47cdd63c3b13d4b0788b041735225b5db1a43a2142311f695478168e31deb260702976fd70d0724ded84a7c3f89b";

/// A transaction shaped like a justice tx: one input spending a revoked `to_local`
/// output through the revocation path (sig, 1, witness script), one P2WPKH output.
pub(crate) fn justice_tx(commitment_txid: Txid) -> Transaction {
	let witness_script = [0x63; 77]; // OP_IF <revocationpubkey> OP_ELSE ... -shaped filler
	let witness = Witness::from_slice(&[&[0x30; 72][..], &[0x01][..], &witness_script[..]]);
	Transaction {
		version: Version::TWO,
		lock_time: LockTime::ZERO,
		input: vec![TxIn {
			previous_output: OutPoint { txid: commitment_txid, vout: 1 },
			script_sig: ScriptBuf::new(),
			sequence: Sequence::MAX,
			witness,
		}],
		output: vec![TxOut {
			value: Amount::from_sat(98_765),
			script_pubkey: ScriptBuf::new_p2wpkh(&WPubkeyHash::from_byte_array([7; 20])),
		}],
	}
}

pub(crate) fn commitment_txid(n: u8) -> Txid {
	Txid::from_byte_array([n; 32])
}

#[test]
fn teos_known_answer() {
	let tx: Transaction = encode::deserialize(&Vec::from_hex(TEOS_TX).unwrap()).unwrap();
	let txid: Txid = TEOS_TXID.parse().unwrap();
	let blob = Vec::from_hex(TEOS_BLOB).unwrap();
	assert_eq!(encrypt(&tx, &txid), blob);
	assert_eq!(decrypt(&blob, &txid).unwrap(), tx);
}

#[test]
fn roundtrip() {
	let txid = commitment_txid(1);
	let tx = justice_tx(txid);
	let blob = encrypt(&tx, &txid);
	assert_eq!(blob.len(), encode::serialize(&tx).len() + 16);
	assert_eq!(decrypt(&blob, &txid).unwrap(), tx);
}

#[test]
fn wrong_txid_fails() {
	let tx = justice_tx(commitment_txid(1));
	let blob = encrypt(&tx, &commitment_txid(1));
	assert!(matches!(decrypt(&blob, &commitment_txid(2)), Err(DecryptError::Aead)));
}

#[test]
fn tampered_or_truncated_blob_fails() {
	let txid = commitment_txid(1);
	let blob = encrypt(&justice_tx(txid), &txid);
	for i in [0, blob.len() / 2, blob.len() - 1] {
		let mut bad = blob.clone();
		bad[i] ^= 0x01;
		assert!(matches!(decrypt(&bad, &txid), Err(DecryptError::Aead)), "flipped byte {i}");
	}
	assert!(matches!(decrypt(&blob[..blob.len() - 1], &txid), Err(DecryptError::Aead)));
	assert!(matches!(decrypt(&[], &txid), Err(DecryptError::Aead)));
}

#[test]
fn authentic_non_transaction_fails_to_decode() {
	let txid = commitment_txid(3);
	let blob = cipher(&txid).encrypt(&nonce(), &b"not a transaction"[..]).unwrap();
	assert!(matches!(decrypt(&blob, &txid), Err(DecryptError::Decode(_))));
}

#[test]
fn sign_recover_verify() {
	let sk = SecretKey::from_slice(&[0x11; 32]).unwrap();
	let user = UserId::from_secret_key(&sk);
	let sig = sign(b"get subscription info", &sk);
	assert_eq!(recover_pk(b"get subscription info", &sig).unwrap(), user.0);
	assert!(verify(b"get subscription info", &sig, &user.0));
	assert!(!verify(b"get subscription info!", &sig, &user.0));
	assert!(recover_pk(b"x", "not zbase32 at all").is_err());
}

#[test]
fn ln_signature_known_answer() {
	// c-lightning `signmessage` vector (also in LDK's message_signing tests).
	let pk: PublicKey =
		"02b80cabdf82638aac86948e4c06e82064f547768dcef977677b9ea931ea75bab5".parse().unwrap();
	let sig = "rbgfioj114mh48d8egqx8o9qxqw4fmhe8jbeeabdioxnjk8z3t1ma1hu1fiswpakgucwwzwo6ofycffbsqusqdimugbh41n1g698hr9t";
	assert!(verify(b"is this compatible?", sig, &pk));
	assert_eq!(recover_pk(b"is this compatible?", sig).unwrap(), pk);
}

#[test]
fn user_id_hex_and_serde() {
	let user = UserId::from_secret_key(&SecretKey::from_slice(&[0x22; 32]).unwrap());
	let hex = user.to_string();
	assert_eq!(hex.len(), 66);
	assert_eq!(hex.parse::<UserId>().unwrap(), user);
	let json = serde_json::to_string(&user).unwrap();
	assert_eq!(json, format!("\"{hex}\""));
	assert_eq!(serde_json::from_str::<UserId>(&json).unwrap(), user);

	assert_eq!("aa".parse::<UserId>(), Err(ParseError::WrongLength { expected: 33, actual: 1 }));
	assert_eq!(format!("05{}", &hex[2..]).parse::<UserId>(), Err(ParseError::InvalidPublicKey));
	assert_eq!("0g".parse::<UserId>(), Err(ParseError::InvalidHex));
}
