use super::*;

#[test]
fn rpc_addresses_parse() {
	let e = RpcAddress::parse("http://127.0.0.1:18443").unwrap();
	assert_eq!((e.host(), e.port(), e.path()), ("127.0.0.1", 18443, "/"));
	let e = RpcAddress::parse("localhost:1/wallet/x").unwrap();
	assert_eq!((e.host(), e.port(), e.path()), ("localhost", 1, "/wallet/x"));
	let e = RpcAddress::parse("http://[::1]:8332").unwrap();
	assert_eq!((e.host(), e.port()), ("::1", 8332));
	assert!(RpcAddress::parse("http://127.0.0.1").is_err());
	assert!(RpcAddress::parse("https://127.0.0.1:1").is_err());
	assert!(RpcAddress::parse("http://:1").is_err());
	// What the node and the tower have always taken: `host:port`, a scheme, a final slash.
	for (address, url) in [
		("127.0.0.1:18443", "http://127.0.0.1:18443/"),
		("http://127.0.0.1:18443/", "http://127.0.0.1:18443/"),
		("[::1]:8332", "http://[::1]:8332/"),
		("node.example:8332/wallet/w", "http://node.example:8332/wallet/w"),
	] {
		assert_eq!(RpcAddress::parse(address).unwrap().url(), url, "{address}");
	}
	let e = RpcAddress::parse("127.0.0.1").unwrap_err();
	assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
	assert_eq!(e.to_string(), "bitcoind RPC address \"127.0.0.1\" is not host:port: missing port");
	let endpoint = RpcAddress::parse("localhost:1/wallet/x").unwrap().endpoint();
	assert_eq!((endpoint.host(), endpoint.port(), endpoint.path()), ("localhost", 1, "/wallet/x"));
}

#[test]
fn a_cookie_file_gives_the_credentials() {
	let dir = tempfile::tempdir().unwrap();
	let cookie = dir.path().join(".cookie");
	std::fs::write(&cookie, "__cookie__:secret\n").unwrap();
	let auth = RpcAuth::Cookie(cookie.clone());
	assert_eq!(auth.credentials().unwrap(), ("__cookie__".to_string(), "secret".to_string()));
	// bitcoind writes a new cookie at each start: it is read when asked for, not before.
	std::fs::write(&cookie, "__cookie__:renewed").unwrap();
	assert_eq!(auth.credentials().unwrap().1, "renewed");
	assert!(connect("127.0.0.1:18443", &auth).is_ok());

	std::fs::write(&cookie, "no colon").unwrap();
	let e = auth.credentials().unwrap_err();
	assert_eq!(e.kind(), io::ErrorKind::InvalidData);
	assert!(e.to_string().contains("is not a `user:password` cookie"), "{e}");
	let missing = RpcAuth::Cookie(dir.path().join("absent"));
	let e = missing.credentials().unwrap_err();
	assert_eq!(e.kind(), io::ErrorKind::NotFound);
	assert!(e.to_string().contains("absent"), "{e}");
	assert!(connect("127.0.0.1:18443", &missing).is_err());

	let password = RpcAuth::UserPassword { user: "fulgur".into(), password: "hunter2".into() };
	assert_eq!(password.credentials().unwrap(), ("fulgur".to_string(), "hunter2".to_string()));
	assert!(!format!("{password:?}").contains("hunter2"), "{password:?}");
}

#[test]
fn chain_names_are_bitcoinds() {
	assert_eq!(chain_name(Network::Bitcoin), "main");
	assert_eq!(chain_name(Network::Regtest), "regtest");
	let wrong = NetworkCheckError::WrongChain {
		chain: "regtest".into(),
		expected: "main",
		configured: "node",
	};
	assert_eq!(wrong.to_string(), "bitcoind is on regtest, the node is configured for main");
}
