//! The Forwarding page in real headless Chromium: bob's dashboard on the page, alice pays
//! carol through bob through the API, and the forward appears in the table from the event
//! stream, without a reload, with the fee alice paid; the fee chart has today's bar and the
//! overview shows the fees earned today.

use fulgur_api::wire::payments::{PayRequest, PaymentStatus};
use fulgur_tests::webdriver::ChromeDriver;
use fulgur_tests::TestNet;
use serde_json::json;

use super::dashboard::{click, screenshot, sign_in, wait_mode, PAGE};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_forward_appears_live_on_the_forwarding_page() {
	let driver = ChromeDriver::start().await.unwrap_or_else(|e| panic!("{e}"));
	let net = TestNet::new(&["alice", "bob", "carol"]).await;
	net.open_channel("alice", "bob", 1_000_000, 0).await;
	net.open_channel("bob", "carol", 1_000_000, 0).await;
	let session = driver.new_session().await.expect("browser session");

	sign_in(&session, net.node("bob")).await;
	wait_mode(&session, "live").await;
	click(&session, "a[data-nav=forwards]").await;
	let empty = "const l = document.querySelector('#forward-list'); \
		return !!l && l.textContent.includes('No forwards yet') && !!document.querySelector('#fee-chart');";
	session.wait_until("the empty forwarding page", empty, vec![], PAGE).await.expect("page");
	let bars = "return document.querySelectorAll('#fee-chart rect.fee-bar').length;";
	assert_eq!(session.execute(bars, vec![]).await.expect("bars"), json!(0));
	// Marks this page load: a reload would lose it.
	session.execute("window.__sameLoad = true; return true;", vec![]).await.expect("mark");

	let invoice =
		net.api("carol").create_invoice(Some(30_000_000), "via bob", None).await.expect("invoice");
	let req = PayRequest { invoice: invoice.bolt11, amount_msat: None, max_fee_msat: None };
	let paid = net.api("alice").pay(&req, true).await.expect("pay");
	assert_eq!(paid.status, PaymentStatus::Succeeded, "{paid:?}");
	let fee = paid.fee_msat.expect("fee");

	let row = "const r = document.querySelector('#forward-table tbody tr[data-forward]'); \
		return !!r && r.querySelector('[data-field=status]').textContent.trim() === 'settled';";
	if let Err(e) = session.wait_until("the forward's row", row, vec![], PAGE).await {
		panic!("{e}\n{}", net.log_tails());
	}
	let shown_fee = "return document.querySelector('#forward-table [data-field=fee]').textContent;";
	let shown_fee = session.execute(shown_fee, vec![]).await.expect("fee cell");
	let expected = format_msat(fee);
	assert_eq!(shown_fee, json!(expected), "alice paid {fee} msat");
	let bar = "const b = document.querySelector('#fee-chart rect.fee-bar'); \
		return !!b && Number(b.dataset.feesMsat) === arguments[0] && Number(b.getAttribute('height')) > 0;";
	session.wait_until("today's bar", bar, vec![json!(fee)], PAGE).await.expect("a bar");
	let same_load = session.execute("return window.__sameLoad === true;", vec![]).await.unwrap();
	assert_eq!(same_load, json!(true), "the page was reloaded");
	screenshot(&session, "dashboard-forwards.png").await;

	// The status filter: no failed forwards.
	let select = "const s = document.querySelector('#forward-status'); s.value = 'failed'; \
		s.dispatchEvent(new Event('change')); return true;";
	session.execute(select, vec![]).await.expect("filter");
	let none = "const l = document.querySelector('#forward-list'); \
		return !!l && l.textContent.includes('No forwards yet');";
	session.wait_until("no failed forwards", none, vec![], PAGE).await.expect("filtered");

	// The overview: fees earned today.
	click(&session, "a[data-nav=overview]").await;
	let today = "const s = document.querySelector('#stat-fees-today'); \
		return !!s && s.textContent === arguments[0];";
	session
		.wait_until("fees earned today", today, vec![json!(expected)], PAGE)
		.await
		.expect("fees");

	// No script error, no CSP violation, no failed load.
	let console = session.console().await.expect("browser console");
	let severe: Vec<&String> = console.iter().filter(|l| l.starts_with("SEVERE")).collect();
	assert!(severe.is_empty(), "browser console: {severe:#?}");
	session.quit().await.expect("close the browser");
	driver.stop().await;
	net.shutdown().await;
}

/// What the page's `msat()` shows: whole sat with thousands separators, the msat fraction
/// when there is one.
fn format_msat(msat: u64) -> String {
	let whole = msat / 1000;
	let digits = whole.to_string();
	let mut grouped = String::new();
	for (i, c) in digits.chars().enumerate() {
		if i > 0 && (digits.len() - i).is_multiple_of(3) {
			grouped.push(',');
		}
		grouped.push(c);
	}
	match msat % 1000 {
		0 => format!("{grouped} sat"),
		rest => format!("{grouped}.{rest:03} sat"),
	}
}
