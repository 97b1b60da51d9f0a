//! The channels page in real headless Chromium: a channel's forwarding policy shows in its
//! drawer, an edit there reaches the node (its `GET /v1/channels/{id}` has the new policy),
//! and the rebalance form is on the page.

use fulgur_api::wire::policy::ForwardingPolicy;
use fulgur_tests::webdriver::{ChromeDriver, Session};
use fulgur_tests::TestNet;
use serde_json::json;

use crate::dashboard::{click, screenshot, sign_in, text_of, type_into, PAGE};

/// `1234567` as the page writes it: `1,234,567`.
fn grouped(n: u32) -> String {
	let digits = n.to_string();
	let mut out = String::new();
	for (i, digit) in digits.chars().enumerate() {
		if i > 0 && (digits.len() - i).is_multiple_of(3) {
			out.push(',');
		}
		out.push(digit);
	}
	out
}

/// Empties an input and types `text` into it.
async fn replace_text(session: &Session, css: &str, text: &str) {
	let clear = "const e = document.querySelector(arguments[0]); e.value = ''; return true;";
	session.wait_for(css, PAGE).await.expect(css);
	session.execute(clear, vec![json!(css)]).await.expect("clear");
	type_into(session, css, text).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_fee_edited_on_the_channels_page_is_the_channels_policy() {
	let driver = ChromeDriver::start().await.unwrap_or_else(|e| panic!("{e}"));
	let net = TestNet::new(&["alice", "bob"]).await;
	let id = net.open_channel("alice", "bob", 1_000_000, 400_000_000).await;
	let alice = net.api("alice");
	let before = alice.get_channel(&id).await.expect("channel").policy;
	assert_ne!((before.fee_base_msat, before.fee_ppm), (0, 250), "the edit must change it");
	let session = driver.new_session().await.expect("browser session");
	sign_in(&session, net.node("alice")).await;

	// The row shows the fee; its drawer the whole policy, with the form.
	click(&session, "a[data-nav=channels]").await;
	let fee = text_of(&session, &format!("tr[data-channel='{id}'] .policy-fee")).await;
	assert_eq!(
		fee,
		format!("{} msat + {} ppm", grouped(before.fee_base_msat), grouped(before.fee_ppm))
	);
	click(&session, "#rebalance-toggle").await;
	session.wait_for("#rebalance-form #rebalance-out", PAGE).await.expect("rebalance form");
	click(&session, &format!("tr[data-channel='{id}']")).await;
	let shown = text_of(&session, "#channel-policy").await;
	assert!(shown.contains(&format!("{} blocks", before.cltv_expiry_delta)), "{shown}");

	// Edit the fee in the drawer and save.
	replace_text(&session, "#policy-base", "0").await;
	replace_text(&session, "#policy-ppm", "250").await;
	click(&session, "#policy-submit").await;
	let expected = ForwardingPolicy { fee_base_msat: 0, fee_ppm: 250, ..before };
	net.wait_for("the node's channel to have the policy set on the page", || async {
		alice.get_channel(&id).await.is_ok_and(|c| c.policy == expected)
	})
	.await;
	let drawer = "const e = document.querySelector('#channel-policy'); \
		return !!e && e.textContent.includes('0 msat + 250 ppm');";
	session
		.wait_until("the drawer shows the new policy", drawer, vec![], PAGE)
		.await
		.expect("drawer");
	screenshot(&session, "dashboard-channel-policy.png").await;

	// No script error, no CSP violation, no failed load.
	let console = session.console().await.expect("browser console");
	let severe: Vec<&String> = console.iter().filter(|l| l.starts_with("SEVERE")).collect();
	assert!(severe.is_empty(), "browser console: {severe:#?}");
	session.quit().await.expect("close the browser");
	driver.stop().await;
	net.shutdown().await;
}
