//! The route table's own checks: one entry per method and path, `find` reads the table, scopes nest.

use super::*;
use std::collections::HashSet;

#[test]
fn each_method_and_path_once() {
	let mut seen = HashSet::new();
	for route in Endpoint::ALL {
		let spec = route.spec();
		assert_eq!(spec.route, *route);
		assert!(seen.insert((spec.method, spec.path)), "{spec:?} twice");
		assert!(spec.path.starts_with('/'));
		assert_eq!(spec.body.is_some(), spec.method == "POST", "{spec:?}");
	}
}

#[test]
fn find_reads_the_table() {
	assert_eq!(Endpoint::find("GET", "/v1/payments/keysend"), Some(Endpoint::GetPayment));
	assert_eq!(Endpoint::find("POST", "/v1/payments/keysend"), Some(Endpoint::Keysend));
	assert_eq!(Endpoint::find("post", "/v1/payments"), Some(Endpoint::Pay));
	assert_eq!(Endpoint::find("GET", "/v1/events/stream"), Some(Endpoint::EventStream));
	assert_eq!(Endpoint::find("POST", "/v1/channels/ab/close"), Some(Endpoint::CloseChannel));
	assert_eq!(Endpoint::find("GET", "/metrics"), Some(Endpoint::Metrics));
	for path in ["/v1/channels/", "//v1/channels", "/v1//channels//"] {
		assert_eq!(Endpoint::find("GET", path), Some(Endpoint::ListChannels), "{path}");
	}
	for (method, path) in [
		("GET", "/v1/nope"),
		("PUT", "/v1/info"),
		("GET", "v1/info"),
		("GET", ""),
		("POST", "/v1/channels//close"),
	] {
		assert_eq!(Endpoint::find(method, path), None, "{method} {path}");
	}
}

#[test]
fn scopes_nest() {
	for route in Endpoint::ALL {
		let access = route.spec().access;
		assert!(access.allows(ApiScope::Admin), "{route:?}");
		let listed: Vec<&str> = [ApiScope::Admin, ApiScope::Invoice, ApiScope::Readonly]
			.into_iter()
			.filter(|s| access.allows(*s))
			.map(|s| s.as_str())
			.collect();
		assert_eq!(listed, access.scopes(), "{route:?}");
	}
	assert!(!Access::Shop.allows(ApiScope::Readonly));
	assert!(!Access::Read.allows(ApiScope::Invoice));
}

/// Every route's parameters, as the table declares them, are the path's: a concrete path of
/// each route parses, with its example body, into a call for that route.
#[test]
fn each_route_parses_its_own_path_and_example() {
	for route in Endpoint::ALL {
		let spec = route.spec();
		let path =
			spec.path
				.replace('{', "x{")
				.split('/')
				.map(|segment| {
					if segment.starts_with("x{") {
						"ab%20c".to_string()
					} else {
						segment.to_string()
					}
				})
				.collect::<Vec<_>>()
				.join("/");
		let params = route.path_params(&path).expect("its own path");
		assert_eq!(params.len(), spec.path.matches('{').count(), "{spec:?}");
		assert!(params.iter().all(|p| p == "ab%20c"), "{params:?}");
		let body = spec.body.map_or("", |b| b.example);
		let call = Call::parse(*route, params, "", body.as_bytes()).expect("parses");
		assert_eq!(call.route(), *route);
		assert!(Endpoint::path_exists(&path), "{path}");
	}
	assert!(!Endpoint::path_exists("/v1/nope"));
	assert_eq!(Endpoint::GetPayment.path_params("/v1/info"), None);
}
