//! Who may call: the three macaroon files LND clients are given (`lnd/admin.macaroon`,
//! `lnd/invoice.macaroon`, `lnd/readonly.macaroon`), each mapped to one of the node's scopes
//! (admin, invoice, readonly). A request is authorized before anything of it is parsed: its
//! `Grpc-Metadata-macaroon` header (hex) must equal one of the three, compared in constant
//! time; anything else is refused.
//!
//! The files are real macaroons in the v2 binary format (location `fulgur`, an identifier
//! naming the scope and a random nonce, no caveats, the HMAC-SHA256 signature chain from a
//! random root key that is not kept), so tools that decode macaroons can read them. No
//! well-kept crate encodes macaroons, so the few lines of the format are here. We do not
//! verify caveats: clients treat the macaroon as opaque, and a macaroon is accepted only when
//! it is byte for byte one of the three files.

use std::io;
use std::path::Path;

use bitcoin::hashes::{hmac, sha256, Hash, HashEngine};
use bitcoin::hex::{DisplayHex, FromHex};
use fulgur_node::{constant_time_eq, ApiScope};
use rand::RngCore;

use super::encoding::{Code, LndError};
use super::files::write_private;

/// The header LND's REST clients send the macaroon in (HTTP header names are matched in any
/// letter case).
pub const MACAROON_HEADER: &str = "grpc-metadata-macaroon";

/// The three macaroons, by scope.
#[derive(Clone)]
pub struct Macaroons {
	files: Vec<(ApiScope, Vec<u8>)>,
}

/// The file name of each scope's macaroon.
pub fn file_name(scope: ApiScope) -> &'static str {
	match scope {
		ApiScope::Admin => "admin.macaroon",
		ApiScope::Invoice => "invoice.macaroon",
		ApiScope::Readonly => "readonly.macaroon",
	}
}

impl Macaroons {
	/// Reads the three files from `lnd_dir`, making any that is missing.
	pub fn load_or_create(lnd_dir: &Path) -> io::Result<Macaroons> {
		let mut files = Vec::new();
		for scope in [ApiScope::Admin, ApiScope::Invoice, ApiScope::Readonly] {
			let path = lnd_dir.join(file_name(scope));
			if !path.exists() {
				write_private(&path, &mint(scope))?;
			}
			let bytes = std::fs::read(&path)?;
			if bytes.len() < 40 {
				return Err(io::Error::other(format!("{}: too short", path.display())));
			}
			files.push((scope, bytes));
		}
		Ok(Macaroons { files })
	}

	/// A scope's macaroon in hex, as clients are configured with it.
	pub fn hex(&self, scope: ApiScope) -> String {
		self.files
			.iter()
			.find(|(s, _)| *s == scope)
			.map(|(_, bytes)| bytes.to_lower_hex_string())
			.unwrap_or_default()
	}

	/// The scope of the macaroon a request carries (the header's value, hex in any letter
	/// case); `Unauthenticated` when there is none or it is none of ours.
	pub fn authorize(&self, header: Option<&[u8]>) -> Result<ApiScope, LndError> {
		let Some(header) = header else {
			return Err(LndError::new(
				Code::Unauthenticated,
				"expected 1 macaroon, got 0: no Grpc-Metadata-macaroon header",
			));
		};
		let text = std::str::from_utf8(header).unwrap_or_default().trim();
		let presented = Vec::<u8>::from_hex(text)
			.map_err(|_| LndError::new(Code::Unauthenticated, "cannot decode macaroon: not hex"))?;
		// Every file is compared, so the time taken says nothing about which one matched.
		let mut found = None;
		for (scope, bytes) in &self.files {
			if constant_time_eq(bytes, &presented) {
				found = Some(*scope);
			}
		}
		found.ok_or_else(|| {
			LndError::new(
				Code::Unauthenticated,
				"verification failed: signature mismatch after caveat verification",
			)
		})
	}
}

/// What a route needs, as LND's permission table groups its `entity:action` pairs by which of
/// its three macaroons carries them (LND's invoice macaroon holds `invoices`, `address` and
/// `onchain:read` only; its readonly macaroon every `read`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
	/// Spending and the node's connections (`offchain:write`, `onchain:write`, `peers:write`):
	/// admin only.
	Admin,
	/// `invoices:write`, `address:write`: admin and invoice.
	InvoiceWrite,
	/// `invoices:read`, `onchain:read`: every macaroon.
	InvoiceRead,
	/// `info:read`, `offchain:read`: admin and readonly, not invoice.
	NodeRead,
}

/// Whether `scope`'s macaroon carries what `needed` asks for.
pub fn allows(scope: ApiScope, needed: Permission) -> bool {
	use Permission::*;
	matches!(
		(scope, needed),
		(ApiScope::Admin, _)
			| (ApiScope::Invoice, InvoiceWrite | InvoiceRead)
			| (ApiScope::Readonly, InvoiceRead | NodeRead)
	)
}

/// The refusal LND gives when a macaroon lacks a permission (clients match "permission
/// denied").
pub fn permission_denied() -> LndError {
	LndError::new(Code::PermissionDenied, "permission denied")
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
	let mut engine = hmac::HmacEngine::<sha256::Hash>::new(key);
	engine.input(data);
	hmac::Hmac::<sha256::Hash>::from_engine(engine).to_byte_array()
}

fn push_field(out: &mut Vec<u8>, kind: u8, data: &[u8]) {
	out.push(kind);
	// A varint; every field here is shorter than 128 bytes.
	out.push(data.len() as u8);
	out.extend_from_slice(data);
}

/// A new macaroon (v2 binary) for `scope`, signed with a fresh random root key.
fn mint(scope: ApiScope) -> Vec<u8> {
	let mut rng = rand::thread_rng();
	let mut root_key = [0u8; 32];
	rng.fill_bytes(&mut root_key);
	let mut nonce = [0u8; 16];
	rng.fill_bytes(&mut nonce);
	let identifier = format!("fulgur:{}:{}", scope.as_str(), nonce.to_lower_hex_string());
	let key = hmac_sha256(b"macaroons-key-generator", &root_key);
	let signature = hmac_sha256(&key, identifier.as_bytes());
	let mut out = vec![2u8];
	push_field(&mut out, 1, b"fulgur");
	push_field(&mut out, 2, identifier.as_bytes());
	out.push(0); // end of the header section
	out.push(0); // end of the (empty) caveat list
	push_field(&mut out, 6, &signature);
	out
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn each_file_maps_to_its_scope_and_nothing_else_passes() {
		let dir = tempfile::tempdir().unwrap();
		let macaroons = Macaroons::load_or_create(dir.path()).unwrap();
		for scope in [ApiScope::Admin, ApiScope::Invoice, ApiScope::Readonly] {
			let hex = macaroons.hex(scope);
			assert_eq!(macaroons.authorize(Some(hex.as_bytes())), Ok(scope));
			let upper = hex.to_uppercase();
			assert_eq!(macaroons.authorize(Some(upper.as_bytes())), Ok(scope), "any case");
			let bytes = std::fs::read(dir.path().join(file_name(scope))).unwrap();
			assert_eq!(bytes[0], 2, "macaroon v2");
		}
		let again = Macaroons::load_or_create(dir.path()).unwrap();
		assert_eq!(again.hex(ApiScope::Admin), macaroons.hex(ApiScope::Admin), "kept");
		let mut forged = macaroons.hex(ApiScope::Readonly);
		forged.replace_range(forged.len() - 2.., "00");
		for bad in [None, Some(b"zz".as_slice()), Some(b"".as_slice()), Some(forged.as_bytes())] {
			assert_eq!(macaroons.authorize(bad).unwrap_err().code, Code::Unauthenticated);
		}
	}

	#[test]
	fn each_macaroon_carries_what_lnds_does() {
		use Permission::*;
		let carried = |scope| {
			[Admin, InvoiceWrite, InvoiceRead, NodeRead]
				.into_iter()
				.filter(|needed| allows(scope, *needed))
				.collect::<Vec<_>>()
		};
		assert_eq!(carried(ApiScope::Admin), vec![Admin, InvoiceWrite, InvoiceRead, NodeRead]);
		assert_eq!(carried(ApiScope::Invoice), vec![InvoiceWrite, InvoiceRead]);
		assert_eq!(carried(ApiScope::Readonly), vec![InvoiceRead, NodeRead]);
	}
}
