//! Closed channels on the dashboard, in real headless Chromium: after a force-close the
//! channels page lists the channel as a local force-close with its claimable funds, and the
//! overview shows them as claimable on-chain.

use std::time::Duration;

use fulgur_tests::webdriver::{ChromeDriver, Session};
use fulgur_tests::TestNet;
use serde_json::json;

/// How long the page may take to show something (polling runs every 5 s).
const PAGE: Duration = Duration::from_secs(30);

async fn click(session: &Session, css: &str) {
	session.wait_for(css, PAGE).await.expect(css).click().await.expect(css);
}

/// Waits until the element's text satisfies the script's test, and returns it.
async fn text_when(net: &TestNet, session: &Session, css: &str, test: &str) -> String {
	let script = format!(
		"const e = document.querySelector(arguments[0]); if (!e) return false; \
		 const t = e.textContent.trim(); return {test};"
	);
	let what = format!("{css} where {test}");
	if let Err(e) = session.wait_until(&what, &script, vec![json!(css)], PAGE).await {
		panic!("{e}\n{}", net.log_tails());
	}
	let read = "return document.querySelector(arguments[0]).textContent.trim();";
	let text = session.execute(read, vec![json!(css)]).await.expect("text");
	text.as_str().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_channels_page_shows_a_force_closed_channel_with_its_claimable_funds() {
	let driver = ChromeDriver::start().await.unwrap_or_else(|e| panic!("{e}"));
	let net = TestNet::new(&["alice", "bob"]).await;
	let channel = net.open_channel("alice", "bob", 400_000, 100_000_000).await;
	net.api("alice").close_channel(&channel, true).await.expect("force close");
	net.wait_for("alice records the close", || async {
		let closed = net.api("alice").list_closed_channels().await.unwrap_or_default();
		closed.iter().any(|c| c.channel_id == channel && c.claimable_sat > 0)
	})
	.await;

	let session = driver.new_session().await.expect("browser session");
	let alice = net.node("alice");
	session.goto(&format!("http://{}/", alice.api.local_addr())).await.expect("open");
	session
		.wait_for("#signin-key", PAGE)
		.await
		.expect("sign-in")
		.send_keys(&alice.api_key)
		.await
		.expect("key");
	click(&session, "#signin-submit").await;
	let claimable = text_when(&net, &session, "#onchain-claimable", "/[1-9]/.test(t)").await;
	println!("overview claimable: {claimable}");

	click(&session, "a[data-nav=channels]").await;
	let row = format!("tr[data-closed-channel='{channel}']");
	let closing_type =
		text_when(&net, &session, &format!("{row} [data-closing-type]"), "t.length > 0").await;
	assert_eq!(closing_type, "local force");
	let funds = text_when(&net, &session, &format!("{row} .claimable"), "/[1-9]/.test(t)").await;
	assert_ne!(funds, "swept");

	let console = session.console().await.expect("browser console");
	let problems: Vec<&String> = console.iter().filter(|l| l.starts_with("SEVERE")).collect();
	assert!(problems.is_empty(), "browser console: {problems:#?}");
	session.quit().await.expect("close the browser");
	driver.stop().await;
	net.shutdown().await;
}
