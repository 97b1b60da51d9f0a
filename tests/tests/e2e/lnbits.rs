//! LNbits, installed from PyPI and run for real, on fulgur's compatibility surfaces: the
//! Phoenixd surface as LNbits' `PhoenixdWallet` funding source receives and pays.

use std::collections::BTreeMap;

use fulgur_tests::lnbits::Lnbits;

/// The harness itself: LNbits installs, starts, answers and makes wallets (on its void
/// funding source, which needs no node).
#[tokio::test(flavor = "multi_thread")]
async fn lnbits_starts_and_creates_wallets() {
	let dir = fulgur_tests::test_dir();
	let funding =
		BTreeMap::from([("LNBITS_BACKEND_WALLET_CLASS".to_string(), "VoidWallet".to_string())]);
	let lnbits = Lnbits::start(&dir.path().join("lnbits"), &funding).await.expect("LNbits starts");
	let wallet = lnbits.create_wallet("shop").await.expect("wallet");
	assert_eq!(wallet.admin_key.len(), 32, "{wallet:?}");
	assert_ne!(wallet.admin_key, wallet.invoice_key);
	assert_eq!(lnbits.balance_msat(&wallet).await.expect("balance"), 0);
}
