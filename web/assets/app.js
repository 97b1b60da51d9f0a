// The dashboard's shell: sign-in with the API key, the sidebar and hash routes, the top bar
// (chain state, live status), and the wiring of the event stream to the views.

import { api, apiKey, clearApiKey, onUnauthorized, setApiKey } from "./api.js";
import * as channels from "./channels.js";
import * as forwards from "./forwards.js";
import * as invoices from "./invoices.js";
import * as overview from "./overview.js";
import * as payments from "./payments.js";
import * as peers from "./peers.js";
import { Store } from "./store.js";
import { forgetStreamPosition, startLive } from "./stream.js";
import * as towers from "./towers.js";
import { closeDrawer, fill, h, toast } from "./ui.js";

const VIEWS = {
	overview: { title: "Overview", module: overview },
	channels: { title: "Channels", module: channels },
	invoices: { title: "Invoices", module: invoices },
	payments: { title: "Payments", module: payments },
	forwards: { title: "Forwarding", module: forwards },
	peers: { title: "Peers", module: peers },
	towers: { title: "Watchtowers", module: towers },
};

const LIVE_LABELS = { connecting: "Connecting…", live: "Live", polling: "Polling every 5 s" };

let store = null;
let stopLive = null;
let current = null;

const $ = (id) => document.getElementById(id);

function showSignIn(message = "") {
	stopSession();
	$("app").hidden = true;
	$("signin").hidden = false;
	fill($("signin-error"), message);
	$("signin-key").focus();
}

async function signIn(key) {
	setApiKey(key);
	try {
		await api("GET", "/v1/info");
	} catch (e) {
		clearApiKey();
		showSignIn(e.status === 401 ? "This key is not valid for this node." : e.message);
		return;
	}
	startSession();
}

function startSession() {
	$("signin").hidden = true;
	$("app").hidden = false;
	store = new Store();
	store.on("info", renderChainState);
	store.on("error", (e) => {
		if (e.status !== 401) toast(e.message, "error");
	});
	store.load("info", "balance", "channels", "peers");
	route();
	const session = store;
	session.loadRecentEvents().then((latest) => {
		if (store !== session) return;
		stopLive = startLive({
			onEvent: (event) => session.handleEvent(event),
			onMode: (mode) => {
				document.body.dataset.live = mode;
				fill($("live-status"), LIVE_LABELS[mode] ?? mode);
			},
			poll: () => session.poll(),
			resumeAfter: latest,
		});
	});
}

function stopSession() {
	stopLive?.();
	stopLive = null;
	current?.unmount?.();
	current = null;
	store = null;
	delete document.body.dataset.live;
}

function renderChainState(info) {
	if (!info) return;
	fill($("chain-state"),
		h("span", { class: "badge badge-network" }, info.network),
		h("span", { class: info.synced ? "chain chain-synced" : "chain chain-syncing" },
			info.synced ? "Synced" : "Syncing", ` · block ${info.block_height.toLocaleString("en-US")}`));
}

function route() {
	if (!store) return;
	const name = location.hash.replace(/^#\/?/, "") || "overview";
	const view = VIEWS[name] ?? VIEWS.overview;
	const key = VIEWS[name] ? name : "overview";
	current?.unmount?.();
	closeDrawer();
	for (const link of document.querySelectorAll("[data-nav]")) {
		link.classList.toggle("active", link.dataset.nav === key);
	}
	fill($("page-title"), view.title);
	const root = h("div", { class: "view", dataset: { view: key } });
	fill($("view"), root);
	current = view.module.mount(root, { store });
}

function init() {
	onUnauthorized(() => {
		clearApiKey();
		showSignIn("The node refused the API key; sign in again.");
	});
	$("signin-form").addEventListener("submit", (e) => {
		e.preventDefault();
		const key = $("signin-key").value.trim();
		if (!key) return fill($("signin-error"), "Enter the API key.");
		$("signin-key").value = "";
		signIn(key);
	});
	$("signout").addEventListener("click", () => {
		clearApiKey();
		forgetStreamPosition();
		showSignIn();
	});
	$("drawer-close").addEventListener("click", closeDrawer);
	document.addEventListener("keydown", (e) => {
		if (e.key === "Escape") closeDrawer();
	});
	window.addEventListener("hashchange", route);
	if (apiKey()) startSession();
	else showSignIn();
}

init();
