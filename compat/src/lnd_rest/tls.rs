//! The surface's TLS identity, as LND keeps it: a self-signed certificate for `localhost` and
//! `127.0.0.1` (`lnd/tls.cert`, PEM) and its key (`lnd/tls.key`, PEM), made on first start and
//! reused after, so a client that pinned the certificate keeps working. TLS is not optional.

use std::io;
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;

use super::files::write_private;

/// The names the certificate is valid for (what LND puts in its own, at least).
pub const CERT_NAMES: [&str; 2] = ["localhost", "127.0.0.1"];

/// Loads `lnd/tls.cert` and `lnd/tls.key` from `lnd_dir`, creating both when the certificate is
/// missing, and returns the server's TLS configuration (TLS 1.2 and 1.3, ring's ciphers).
pub fn load_or_create(lnd_dir: &Path) -> io::Result<Arc<ServerConfig>> {
	let cert_path = lnd_dir.join("tls.cert");
	let key_path = lnd_dir.join("tls.key");
	if !cert_path.exists() || !key_path.exists() {
		let names: Vec<String> = CERT_NAMES.iter().map(|n| n.to_string()).collect();
		let made = rcgen::generate_simple_self_signed(names).map_err(io::Error::other)?;
		// The key first: a certificate on disk always has its key.
		write_private(&key_path, made.key_pair.serialize_pem().as_bytes())?;
		write_private(&cert_path, made.cert.pem().as_bytes())?;
	}
	let certs = CertificateDer::pem_file_iter(&cert_path)
		.and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
		.map_err(|e| io::Error::other(format!("{}: {e}", cert_path.display())))?;
	let key = PrivateKeyDer::from_pem_file(&key_path)
		.map_err(|e| io::Error::other(format!("{}: {e}", key_path.display())))?;
	let provider = Arc::new(rustls::crypto::ring::default_provider());
	let mut config = ServerConfig::builder_with_provider(provider)
		.with_safe_default_protocol_versions()
		.map_err(io::Error::other)?
		.with_no_client_auth()
		.with_single_cert(certs, key)
		.map_err(io::Error::other)?;
	config.alpn_protocols = vec![b"http/1.1".to_vec()];
	Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn the_certificate_is_made_once_and_kept() {
		let dir = tempfile::tempdir().unwrap();
		load_or_create(dir.path()).expect("first start");
		let cert = std::fs::read(dir.path().join("tls.cert")).unwrap();
		assert!(String::from_utf8_lossy(&cert).starts_with("-----BEGIN CERTIFICATE-----"));
		load_or_create(dir.path()).expect("second start");
		assert_eq!(std::fs::read(dir.path().join("tls.cert")).unwrap(), cert);
	}
}
