//! TLS for `https://` receivers, with rustls (ring provider): the receiver's certificate must
//! chain to the webhook's trust anchors — the CA certificate given with the webhook
//! (`ca_cert_pem`, e.g. a self-signed receiver's own certificate), or Mozilla's roots
//! (`webpki-roots`) without one — and name the URL's host.
//!
//! Invariant: nothing of a delivery (headers, body, signature) is written to an `https://`
//! receiver before rustls has verified its certificate that way; a refused handshake is a
//! failed attempt, retried like any other.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use hyper::client::connect::{Connected, Connection, HttpConnector};
use hyper::service::Service;
use hyper::Uri;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{CertificateError, ClientConfig, RootCertStore};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// Longest `ca_cert_pem` accepted (a few certificates of a chain fit easily).
pub const MAX_CA_CERT_PEM: usize = 32 * 1024;

/// The TLS client configuration of a webhook: trusting only the certificates of
/// `ca_cert_pem` when given, Mozilla's roots otherwise. The error says what is wrong with the
/// PEM text.
pub(crate) fn client_config(ca_cert_pem: Option<&str>) -> Result<Arc<ClientConfig>, String> {
	let mut roots = RootCertStore::empty();
	match ca_cert_pem {
		None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
		Some(pem) => {
			if pem.len() > MAX_CA_CERT_PEM {
				return Err(format!("longer than {MAX_CA_CERT_PEM} bytes"));
			}
			for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
				let cert = cert.map_err(|e| format!("not PEM: {e}"))?;
				roots.add(cert).map_err(|e| format!("not a usable certificate: {e}"))?;
			}
			if roots.is_empty() {
				return Err("no \"BEGIN CERTIFICATE\" section".into());
			}
		}
	}
	let provider = Arc::new(rustls::crypto::ring::default_provider());
	let config = ClientConfig::builder_with_provider(provider)
		.with_safe_default_protocol_versions()
		.map_err(|e| format!("TLS versions: {e}"))?
		.with_root_certificates(roots)
		.with_no_client_auth();
	Ok(Arc::new(config))
}

/// Connects to `https://` URLs: TCP (hyper's connector, so the same resolution and address
/// fallback as plain HTTP), then a verified TLS handshake with the URL's host as the name.
#[derive(Clone)]
pub(crate) struct HttpsConnector {
	tcp: HttpConnector,
	tls: TlsConnector,
}

impl HttpsConnector {
	/// A connector verifying receivers with `config`.
	pub(crate) fn new(config: Arc<ClientConfig>) -> HttpsConnector {
		let mut tcp = HttpConnector::new();
		// The scheme is https; the TCP part does not care.
		tcp.enforce_http(false);
		HttpsConnector { tcp, tls: TlsConnector::from(config) }
	}
}

/// Why a connection was not made.
type ConnectError = Box<dyn std::error::Error + Send + Sync>;

impl Service<Uri> for HttpsConnector {
	type Response = TlsConnection;
	type Error = ConnectError;
	type Future = Pin<Box<dyn Future<Output = Result<TlsConnection, ConnectError>> + Send>>;

	fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ConnectError>> {
		self.tcp.poll_ready(cx).map_err(Into::into)
	}

	fn call(&mut self, uri: Uri) -> Self::Future {
		let mut tcp = self.tcp.clone();
		let tls = self.tls.clone();
		Box::pin(async move {
			if uri.scheme_str() != Some("https") {
				return Err("not an https:// url".into());
			}
			// An IPv6 literal comes in brackets; the certificate names the address itself.
			let host = uri.host().unwrap_or_default().trim_start_matches('[').trim_end_matches(']');
			let name = ServerName::try_from(host.to_string())
				.map_err(|e| format!("host {host:?} is not a TLS server name: {e}"))?;
			let stream = tcp.call(uri).await?;
			let stream = tls.connect(name, stream).await?;
			Ok(TlsConnection(stream))
		})
	}
}

/// A verified TLS connection to a receiver.
pub(crate) struct TlsConnection(TlsStream<TcpStream>);

impl Connection for TlsConnection {
	fn connected(&self) -> Connected {
		self.0.get_ref().0.connected()
	}
}

impl AsyncRead for TlsConnection {
	fn poll_read(
		mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>,
	) -> Poll<std::io::Result<()>> {
		Pin::new(&mut self.0).poll_read(cx, buf)
	}
}

impl AsyncWrite for TlsConnection {
	fn poll_write(
		mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8],
	) -> Poll<std::io::Result<usize>> {
		Pin::new(&mut self.0).poll_write(cx, buf)
	}

	fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
		Pin::new(&mut self.0).poll_flush(cx)
	}

	fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
		Pin::new(&mut self.0).poll_shutdown(cx)
	}
}

/// A failed exchange in words: a refused TLS handshake says why rustls refused, and what a
/// self-signed receiver needs.
pub(crate) fn describe(error: &hyper::Error) -> String {
	let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(error);
	while let Some(cause) = source {
		let tls = cause.downcast_ref::<rustls::Error>().or_else(|| {
			let io = cause.downcast_ref::<std::io::Error>()?;
			io.get_ref()?.downcast_ref::<rustls::Error>()
		});
		if let Some(tls) = tls {
			let hint = match tls {
				rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
					" (the certificate is not from a trusted CA: a receiver with a self-signed \
					 certificate needs it as the webhook's ca_cert_pem)"
				}
				rustls::Error::InvalidCertificate(
					CertificateError::NotValidForName
					| CertificateError::NotValidForNameContext { .. },
				) => " (the certificate does not name the url's host)",
				_ => "",
			};
			return format!("TLS handshake refused: {tls}{hint}");
		}
		source = cause.source();
	}
	error.to_string()
}
