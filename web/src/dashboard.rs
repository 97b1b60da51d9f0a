//! The dashboard: a plain HTML + CSS + JavaScript page (`web/assets/`) built into the
//! binary and served by the node at `/` and `/assets/<name>`.
//!
//! The page itself is public (it holds no data); it asks for the API key and sends it as
//! `Authorization: Bearer` on every API call, so these routes sit in front of the key check.
//! A Content-Security-Policy allows this origin only: no CDN, no inline script, and the API
//! is the only thing the page may connect to.

use warp::filters::BoxedFilter;
use warp::http::header::{
	HeaderName, HeaderValue, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY,
	X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use warp::reply::Response;
use warp::Filter;

use crate::error::ApiError;

/// Same origin only, for everything. QR codes are inline SVG elements and the balance bars
/// are sized through the CSS object model, so neither needs `data:` or inline styles.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
	connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const SVG: &str = "image/svg+xml";

/// One embedded file.
struct Asset {
	name: &'static str,
	content_type: &'static str,
	body: &'static [u8],
}

macro_rules! asset {
	($name:literal, $content_type:expr) => {
		Asset {
			name: $name,
			content_type: $content_type,
			body: include_bytes!(concat!("../assets/", $name)),
		}
	};
}

/// Every file of the page. The JavaScript files are ES modules importing each other by
/// relative name, so they all live flat under `/assets/`.
const ASSETS: &[Asset] = &[
	asset!("index.html", HTML),
	asset!("style.css", CSS),
	asset!("icon.svg", SVG),
	asset!("app.js", JS),
	asset!("api.js", JS),
	asset!("stream.js", JS),
	asset!("store.js", JS),
	asset!("paging.js", JS),
	asset!("ui.js", JS),
	asset!("qr.js", JS),
	asset!("overview.js", JS),
	asset!("channels.js", JS),
	asset!("invoices.js", JS),
	asset!("payments.js", JS),
	asset!("peers.js", JS),
	asset!("towers.js", JS),
	asset!("closed_channels.js", JS),
	asset!("forwards.js", JS),
	asset!("policy.js", JS),
];

/// `GET /` (the page) and `GET /assets/<name>`; an unknown asset is a 404 JSON error. Other
/// paths are rejected so the API routes see them.
pub(crate) fn routes() -> BoxedFilter<(Response,)> {
	let index = warp::path::end().and(warp::get()).map(|| respond("index.html"));
	let asset = warp::path!("assets" / String).and(warp::get()).map(|name: String| respond(&name));
	index.or(asset).unify().boxed()
}

fn respond(name: &str) -> Response {
	let Some(asset) = ASSETS.iter().find(|a| a.name == name) else {
		return ApiError::not_found(format!("no asset {name:?}")).into_response();
	};
	let mut response = Response::new(asset.body.into());
	let headers = response.headers_mut();
	let fixed: [(HeaderName, &'static str); 6] = [
		(CONTENT_TYPE, asset.content_type),
		(CONTENT_SECURITY_POLICY, CSP),
		(X_CONTENT_TYPE_OPTIONS, "nosniff"),
		(X_FRAME_OPTIONS, "DENY"),
		(REFERRER_POLICY, "no-referrer"),
		// Small files that change with the binary: always revalidate.
		(CACHE_CONTROL, "no-cache"),
	];
	for (name, value) in fixed {
		headers.insert(name, HeaderValue::from_static(value));
	}
	response
}

#[cfg(test)]
mod tests {
	use super::*;
	use warp::http::StatusCode;

	fn text(asset: &Asset) -> &'static str {
		std::str::from_utf8(asset.body).expect("assets are UTF-8")
	}

	#[tokio::test]
	async fn serves_the_page_without_a_key() {
		let res = warp::test::request().path("/").reply(&routes()).await;
		assert_eq!(res.status(), StatusCode::OK);
		assert_eq!(res.headers()["content-type"], HTML);
		assert_eq!(res.headers()["content-security-policy"], CSP);
		assert_eq!(res.headers()["x-content-type-options"], "nosniff");
		let body = std::str::from_utf8(res.body()).unwrap();
		assert!(body.contains(r#"<script type="module" src="/assets/app.js">"#), "{body}");
	}

	#[tokio::test]
	async fn serves_every_asset_with_its_type() {
		for asset in ASSETS {
			let res = warp::test::request()
				.path(&format!("/assets/{}", asset.name))
				.reply(&routes())
				.await;
			assert_eq!(res.status(), StatusCode::OK, "{}", asset.name);
			assert_eq!(res.headers()["content-type"], asset.content_type, "{}", asset.name);
			assert_eq!(res.body().as_ref(), asset.body, "{}", asset.name);
			let expected = match asset.name.rsplit_once('.').map(|(_, ext)| ext) {
				Some("js") => JS,
				Some("css") => CSS,
				Some("html") => HTML,
				Some("svg") => SVG,
				other => panic!("unexpected asset type {other:?}"),
			};
			assert_eq!(asset.content_type, expected, "{}", asset.name);
		}
	}

	#[tokio::test]
	async fn unknown_assets_and_other_methods() {
		for path in ["/assets/nope.js", "/assets/..%2Fsrc%2Flib.rs"] {
			let res = warp::test::request().path(path).reply(&routes()).await;
			assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
			let body: serde_json::Value = serde_json::from_slice(res.body()).unwrap();
			assert_eq!(body["code"], "not_found");
		}
		// Not ours: left to the API routes.
		for (method, path) in
			[("POST", "/"), ("GET", "/v1/info"), ("GET", "/assets/"), ("GET", "/assets/a/b")]
		{
			let matched = warp::test::request().method(method).path(path).matches(&routes()).await;
			assert!(!matched, "{method} {path}");
		}
	}

	/// Every file the page loads (`/assets/x` in the HTML and CSS, `./x.js` imports) is
	/// embedded, so a forgotten `asset!` line fails here and not in a browser.
	#[test]
	fn every_reference_is_embedded() {
		let names: Vec<&str> = ASSETS.iter().map(|a| a.name).collect();
		let mut references = 0;
		for asset in ASSETS {
			let body = text(asset);
			for (prefix, end) in [("/assets/", '"'), ("from \"./", '"')] {
				for (at, _) in body.match_indices(prefix) {
					let rest = &body[at + prefix.len()..];
					let name = &rest[..rest.find(end).unwrap_or(rest.len())];
					assert!(
						names.contains(&name),
						"{} refers to {name:?}, not embedded",
						asset.name
					);
					references += 1;
				}
			}
		}
		assert!(references >= ASSETS.len() - 1, "only {references} references found");
	}

	/// No CDN, no external font or script: the only absolute URL is the SVG namespace.
	#[test]
	fn nothing_external() {
		for asset in ASSETS {
			let body = text(asset).replace("http://www.w3.org/2000/svg", "");
			for scheme in ["http://", "https://", "//cdn", "@import"] {
				assert!(!body.contains(scheme), "{} contains {scheme}", asset.name);
			}
		}
	}
}
