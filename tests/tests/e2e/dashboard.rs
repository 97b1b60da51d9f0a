//! The dashboard in real headless Chromium: sign in with the API key, create an invoice
//! through the page, pay it from another node through the API, and watch the row turn paid
//! without a reload — by the event stream, and by polling when the stream is unavailable.
//! Screenshots go to `target/test-artifacts/`.

use std::path::PathBuf;
use std::time::Duration;

use fulgur::regtest::launch::RunningNode;
use fulgur_api::wire::invoices::{InvoiceRecord, InvoiceStatus};
use fulgur_api::wire::payments::{PayRequest, PaymentStatus};
use fulgur_api::wire::PageQuery;
use fulgur_tests::webdriver::{ChromeDriver, Session};
use fulgur_tests::TestNet;
use serde_json::json;

/// How long the page may take to show something (polling runs every 5 s).
pub(crate) const PAGE: Duration = Duration::from_secs(30);

/// `target/test-artifacts` (under `$CARGO_TARGET_DIR` when set), created.
fn artifact_dir() -> PathBuf {
	let target = std::env::var_os("CARGO_TARGET_DIR")
		.map(PathBuf::from)
		.unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join("target"));
	let dir = target.join("test-artifacts");
	std::fs::create_dir_all(&dir).expect("artifact dir");
	dir
}

pub(crate) async fn screenshot(session: &Session, name: &str) -> PathBuf {
	let png = session.screenshot().await.expect("screenshot");
	assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
	let path = artifact_dir().join(name);
	std::fs::write(&path, png).expect("write screenshot");
	println!("screenshot: {}", path.display());
	path
}

/// Text of the first element matching `css`, once it is displayed. Read in one script call:
/// a live update may replace the element between finding it and reading it.
pub(crate) async fn text_of(session: &Session, css: &str) -> String {
	session.wait_for(css, PAGE).await.expect(css);
	let script = "const e = document.querySelector(arguments[0]); return e ? e.innerText : null;";
	let text = session.execute(script, vec![json!(css)]).await.expect("text");
	text.as_str().map(|t| t.trim().to_string()).unwrap_or_else(|| panic!("{css} is gone"))
}

pub(crate) async fn click(session: &Session, css: &str) {
	session.wait_for(css, PAGE).await.expect(css).click().await.expect(css);
}

pub(crate) async fn type_into(session: &Session, css: &str, text: &str) {
	session.wait_for(css, PAGE).await.expect(css).send_keys(text).await.expect(css);
}

/// Waits until the element's text is `expected` (case-insensitive).
async fn wait_text(net: &TestNet, session: &Session, css: &str, expected: &str) {
	let script = "const e = document.querySelector(arguments[0]); \
		return !!e && e.textContent.trim().toLowerCase() === arguments[1];";
	let what = format!("{css} to read {expected}");
	if let Err(e) = session.wait_until(&what, script, vec![json!(css), json!(expected)], PAGE).await
	{
		panic!("{e}\n{}", net.log_tails());
	}
}

/// Opens `node`'s dashboard and signs in with its key; returns once the overview shows the
/// node id.
pub(crate) async fn sign_in(session: &Session, node: &RunningNode) {
	session.goto(&format!("http://{}/", node.api.local_addr())).await.expect("open the dashboard");
	type_into(session, "#signin-key", &node.api_key).await;
	click(session, "#signin-submit").await;
	assert_eq!(text_of(session, "#node-id").await, node.node.node_id().to_string());
}

/// Waits for the page's live-update mode (`live` or `polling`).
pub(crate) async fn wait_mode(session: &Session, mode: &str) {
	let script = "return document.body.dataset.live === arguments[0];";
	let what = format!("live status {mode}");
	session.wait_until(&what, script, vec![json!(mode)], PAGE).await.expect("live status");
}

/// Creates an invoice with the page's form; returns it as alice's node has it, after
/// checking the page shows its BOLT11 string, a QR code and an open row.
async fn create_invoice_on_page(
	net: &TestNet, session: &Session, amount_sat: u64, description: &str,
) -> InvoiceRecord {
	click(session, "a[data-nav=invoices]").await;
	type_into(session, "#invoice-amount", &amount_sat.to_string()).await;
	type_into(session, "#invoice-description", description).await;
	click(session, "#invoice-create").await;
	let bolt11 = text_of(session, "#invoice-bolt11").await;
	assert!(bolt11.starts_with("lnbcrt"), "{bolt11}");
	let qr = "return document.querySelector('#invoice-qr svg.qr')?.dataset.version;";
	let qr_version = session.execute(qr, vec![]).await.expect("QR code");
	assert!(qr_version.as_str().is_some(), "the invoice has a QR code: {qr_version}");

	let invoices = net.api("alice").list_invoices(&PageQuery::default()).await.expect("invoices");
	let invoice = invoices.invoices.into_iter().find(|i| i.bolt11 == bolt11).expect("on alice");
	assert_eq!(
		(invoice.amount_msat, invoice.status),
		(Some(amount_sat * 1000), InvoiceStatus::Open)
	);
	assert_eq!(invoice.description, description);
	wait_text(net, session, &status_cell(&invoice), "open").await;
	invoice
}

fn status_cell(invoice: &InvoiceRecord) -> String {
	format!("tr[data-hash='{}'] [data-field=status]", invoice.payment_hash)
}

/// Bob pays `invoice` through the API; the page, not reloaded, shows it paid.
async fn pay_and_see_paid(net: &TestNet, session: &Session, invoice: &InvoiceRecord) {
	// Marks this page load: a reload would lose it.
	session.execute("window.__sameLoad = true; return true;", vec![]).await.expect("mark");
	let request =
		PayRequest { invoice: invoice.bolt11.clone(), amount_msat: None, max_fee_msat: None };
	let paid = net.api("bob").pay(&request, true).await.expect("bob pays");
	assert_eq!(paid.status, PaymentStatus::Succeeded, "{paid:?}");
	wait_text(net, session, &status_cell(invoice), "paid").await;
	wait_text(net, session, "#invoice-status", "paid").await;
	let same_load = session.execute("return window.__sameLoad === true;", vec![]).await.unwrap();
	assert_eq!(same_load, json!(true), "the page was reloaded");
}

/// No script error, no CSP violation, no failed load but the one whose message holds all of
/// `allowed` (nothing is allowed when `allowed` is empty).
async fn assert_clean_console(session: &Session, allowed: &[&str]) {
	let console = session.console().await.expect("browser console");
	println!("browser console: {console:#?}");
	let is_allowed = |line: &str| !allowed.is_empty() && allowed.iter().all(|a| line.contains(a));
	let problems: Vec<&String> =
		console.iter().filter(|line| line.starts_with("SEVERE") && !is_allowed(line)).collect();
	assert!(problems.is_empty(), "browser console: {problems:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dashboard_shows_an_invoice_paid_live() {
	// Fail at once, with the packages to install, rather than after starting the nodes.
	let driver = ChromeDriver::start().await.unwrap_or_else(|e| panic!("{e}"));
	let net = TestNet::new(&["alice", "bob"]).await;
	net.open_channel("alice", "bob", 1_000_000, 400_000_000).await;
	let alice = net.node("alice");
	let session = driver.new_session().await.expect("browser session");

	// A wrong key is refused on the page; the right one opens the overview.
	session.goto(&format!("http://{}/", alice.api.local_addr())).await.expect("open");
	type_into(&session, "#signin-key", "wrong").await;
	click(&session, "#signin-submit").await;
	let error = "return document.querySelector('#signin-error').textContent;";
	let refused = session.wait_until("sign-in error", error, vec![], PAGE).await.expect("error");
	assert!(refused.as_str().is_some_and(|t| t.contains("not valid")), "{refused}");
	sign_in(&session, alice).await;
	let overview = "return document.querySelector('#stat-outbound').textContent.endsWith('sat') \
		&& !!document.querySelector('.node-card svg.qr');";
	session.wait_until("balances and QR code", overview, vec![], PAGE).await.expect("overview");
	// The node has the event stream: the page must be on it, not polling.
	wait_mode(&session, "live").await;

	let invoice = create_invoice_on_page(&net, &session, 12_345, "dashboard test").await;
	screenshot(&session, "dashboard-invoice.png").await;
	pay_and_see_paid(&net, &session, &invoice).await;
	screenshot(&session, "dashboard.png").await;

	// The pay form: alice pays an invoice of bob's; the row turns succeeded.
	let bobs = net.api("bob").create_invoice(Some(4_321_000), "from the page", None).await;
	let bobs = bobs.expect("bob's invoice");
	click(&session, "a[data-nav=payments]").await;
	type_into(&session, "#pay-invoice", &bobs.bolt11).await;
	click(&session, "#pay-submit").await;
	let payment = format!("tr[data-payment='{}'] [data-field=status]", bobs.payment_hash);
	wait_text(&net, &session, &payment, "succeeded").await;
	let seen = net.invoice_paid("bob", &bobs.payment_hash).await;
	assert_eq!(seen.status, InvoiceStatus::Paid);
	screenshot(&session, "dashboard-payments.png").await;

	// The channels page lists the channel with its balance bar.
	click(&session, "a[data-nav=channels]").await;
	session.wait_for("tr[data-channel] .balance-bar", PAGE).await.expect("channel row");
	screenshot(&session, "dashboard-channels.png").await;

	// The overview's activity feed heard of both payments from the stream.
	click(&session, "a[data-nav=overview]").await;
	let feed = "const f = document.querySelector('#activity'); \
		return !!f && f.textContent.includes('Invoice paid') && f.textContent.includes('Sent');";
	session.wait_until("the activity feed", feed, vec![], PAGE).await.expect("events in the feed");
	screenshot(&session, "dashboard-overview.png").await;

	// The wrong key's 401 is the only failed load.
	assert_clean_console(&session, &["/v1/info - Failed to load resource", "status of 401"]).await;
	session.quit().await.expect("close the browser");
	driver.stop().await;
	net.shutdown().await;
}

/// With the event stream out of reach (blocked in the browser), the page falls back to
/// polling and still shows the invoice paid without a reload.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dashboard_polls_without_the_event_stream() {
	let driver = ChromeDriver::start().await.unwrap_or_else(|e| panic!("{e}"));
	let net = TestNet::new(&["alice", "bob"]).await;
	net.open_channel("alice", "bob", 1_000_000, 400_000_000).await;
	let session = driver.new_session().await.expect("browser session");
	session.block_urls(&["*/v1/events/stream*"]).await.expect("block the stream");

	sign_in(&session, net.node("alice")).await;
	wait_mode(&session, "polling").await;
	let invoice = create_invoice_on_page(&net, &session, 2_500, "polled").await;
	pay_and_see_paid(&net, &session, &invoice).await;
	let mode = session.execute("return document.body.dataset.live;", vec![]).await.unwrap();
	assert_eq!(mode, json!("polling"));

	assert_clean_console(&session, &["/v1/events/stream", "ERR_BLOCKED_BY_CLIENT"]).await;
	session.quit().await.expect("close the browser");
	driver.stop().await;
	net.shutdown().await;
}
