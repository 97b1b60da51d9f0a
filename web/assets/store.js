// What several views show (node info, balances, channels, peers, recent events), loaded
// once and reloaded when an event or a poll says it changed. Views subscribe to topics.

import { api } from "./api.js";

const LOADERS = {
	info: () => api("GET", "/v1/info"),
	balance: () => api("GET", "/v1/balance"),
	channels: async () => (await api("GET", "/v1/channels")).channels,
	peers: async () => (await api("GET", "/v1/peers")).peers,
};

/** Reloads asked for within this window are merged into one round of requests. */
const RELOAD_DEBOUNCE_MS = 200;
/** Events kept for the activity feed. */
const RECENT_EVENTS = 30;

export class Store {
	constructor() {
		this.data = { info: null, balance: null, channels: null, peers: null };
		this.events = [];
		this.topics = new Map();
		this.pending = new Set();
		this.timer = null;
	}

	/** Calls `handler(value)` on each publication of `topic`; returns the unsubscribe function. */
	on(topic, handler) {
		if (!this.topics.has(topic)) this.topics.set(topic, new Set());
		this.topics.get(topic).add(handler);
		return () => this.topics.get(topic)?.delete(handler);
	}

	publish(topic, value) {
		for (const handler of this.topics.get(topic) ?? []) {
			try {
				handler(value);
			} catch (e) {
				console.error(`handler of ${topic} failed`, e);
			}
		}
	}

	/** Loads these now and publishes each under its name. */
	async load(...names) {
		await Promise.all(names.map(async (name) => {
			try {
				this.data[name] = await LOADERS[name]();
				this.publish(name, this.data[name]);
			} catch (e) {
				this.publish("error", e);
			}
		}));
	}

	/** Loads these soon, once, however often it is asked meanwhile. */
	reload(...names) {
		names.forEach((n) => this.pending.add(n));
		if (this.timer !== null) return;
		this.timer = setTimeout(() => {
			this.timer = null;
			const names = [...this.pending];
			this.pending.clear();
			this.load(...names);
		}, RELOAD_DEBOUNCE_MS);
	}

	/** An event from the node: updates what it touches and tells the views. */
	handleEvent(event) {
		if (this.events.some((e) => e.index !== undefined && e.index === event.index)) return;
		this.events.unshift(event);
		this.events.length = Math.min(this.events.length, RECENT_EVENTS);
		const type = event.type ?? "";
		if (type === "payment_forwarded" || type === "forward_failed") {
			this.publish("forward", event.forward);
			this.reload("balance", "channels");
		} else if (type.startsWith("invoice_")) {
			this.publish("invoice", event.invoice);
			this.reload("balance", "info");
		} else if (type.startsWith("payment_")) {
			this.publish("payment", event.payment);
			this.reload("balance", "info", "channels");
		} else if (type.startsWith("channel_")) {
			this.reload("channels", "balance", "info");
		} else if (type.startsWith("peer_")) {
			this.reload("peers", "info", "channels");
		} else {
			this.reload("balance", "info");
		}
		this.publish("event", event);
	}

	/**
	 * Fills the activity feed with the newest events of the log and returns the newest
	 * index (where the stream should resume), or `null` when the node keeps no log.
	 */
	async loadRecentEvents() {
		try {
			const head = await api("GET", "/v1/events?limit=1");
			const latest = head.latest_index ?? 0;
			if (latest > 0) {
				const after = Math.max(0, latest - RECENT_EVENTS);
				const page = await api("GET", `/v1/events?after=${after}&limit=${RECENT_EVENTS}`);
				const known = new Set(this.events.map((e) => e.index));
				const older = page.events.filter((e) => !known.has(e.index)).reverse();
				this.events = [...this.events, ...older].slice(0, RECENT_EVENTS);
				this.publish("event", null);
			}
			return latest;
		} catch {
			return null;
		}
	}

	/** A poll: everything may have changed. */
	poll() {
		this.reload("info", "balance", "channels", "peers");
		this.publish("poll");
	}
}
