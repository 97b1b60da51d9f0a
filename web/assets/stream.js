// Live updates: the node's Server-Sent Events stream, read with `fetch()` (EventSource cannot
// send the Authorization header) and parsed here, resuming with `Last-Event-ID`. While the
// stream is unavailable (an older node without it, or a broken connection) the page polls.

import { rawRequest } from "./api.js";

const STREAM_PATH = "/v1/events/stream";
const LAST_ID_ITEM = "fulgur.lastEventId";
/** Polling interval while there is no stream. */
const POLL_MS = 5000;
/** How soon to retry the stream after a failure, growing up to the maximum. */
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 30000;
/** A node without the stream endpoint is asked again this rarely. */
const MISSING_RETRY_MS = 60000;

/**
 * Splits an SSE byte stream into events: `id:`, `event:`, `data:` lines (data lines joined
 * with newlines), a blank line ends an event, lines starting with `:` are comments.
 */
export class SseParser {
	constructor(onEvent) {
		this.onEvent = onEvent;
		this.buffer = "";
		this.reset();
	}

	reset() {
		this.id = null;
		this.type = "";
		this.data = [];
	}

	push(text) {
		this.buffer += text;
		let newline;
		while ((newline = this.buffer.search(/\r\n|\r|\n/)) >= 0) {
			const line = this.buffer.slice(0, newline);
			const skip = this.buffer.startsWith("\r\n", newline) ? 2 : 1;
			this.buffer = this.buffer.slice(newline + skip);
			this.line(line);
		}
	}

	line(line) {
		if (line === "") {
			if (this.data.length || this.id !== null) {
				this.onEvent({ id: this.id, type: this.type || "message", data: this.data.join("\n") });
			}
			this.reset();
			return;
		}
		if (line.startsWith(":")) return;
		const colon = line.indexOf(":");
		const field = colon < 0 ? line : line.slice(0, colon);
		let value = colon < 0 ? "" : line.slice(colon + 1);
		if (value.startsWith(" ")) value = value.slice(1);
		if (field === "data") this.data.push(value);
		else if (field === "id") this.id = value;
		else if (field === "event") this.type = value;
	}
}

const sleep = (ms, signal) => new Promise((resolve) => {
	const timer = setTimeout(resolve, ms);
	signal.addEventListener("abort", () => {
		clearTimeout(timer);
		resolve();
	}, { once: true });
});

/**
 * Starts live updates. `onEvent(record)` gets each event's JSON (`{index, timestamp, type,
 * ...}`); `onMode(mode)` hears `connecting`, `live` or `polling`; `poll()` is called every
 * few seconds while polling and once whenever the stream (re)connects, to catch up.
 * `resumeAfter`: the index to resume after when this tab has not seen the stream yet.
 * Returns a function that stops everything.
 */
export function startLive({ onEvent, onMode, poll, resumeAfter = null }) {
	if (resumeAfter !== null && !sessionStorage.getItem(LAST_ID_ITEM)) {
		sessionStorage.setItem(LAST_ID_ITEM, String(resumeAfter));
	}
	const stop = new AbortController();
	let pollTimer = null;
	let mode = null;

	const setMode = (next) => {
		if (next === mode) return;
		mode = next;
		onMode(next);
		if (next === "polling" && pollTimer === null) {
			pollTimer = setInterval(poll, POLL_MS);
		} else if (next !== "polling" && pollTimer !== null) {
			clearInterval(pollTimer);
			pollTimer = null;
		}
	};

	const deliver = (frame) => {
		if (frame.id !== null && frame.id !== "") sessionStorage.setItem(LAST_ID_ITEM, frame.id);
		if (!frame.data) return;
		let record;
		try {
			record = JSON.parse(frame.data);
		} catch {
			return;
		}
		if (record && typeof record === "object") {
			if (!record.type && frame.type !== "message") record.type = frame.type;
			onEvent(record);
		}
	};

	const readAll = async (body) => {
		const reader = body.getReader();
		const decoder = new TextDecoder();
		const parser = new SseParser(deliver);
		stop.signal.addEventListener("abort", () => reader.cancel().catch(() => {}), { once: true });
		for (;;) {
			const { value, done } = await reader.read();
			if (done) return;
			parser.push(decoder.decode(value, { stream: true }));
		}
	};

	const run = async () => {
		let retry = RETRY_MIN_MS;
		setMode("connecting");
		while (!stop.signal.aborted) {
			let wait = retry;
			try {
				const headers = { Accept: "text/event-stream" };
				const lastId = sessionStorage.getItem(LAST_ID_ITEM);
				if (lastId) headers["Last-Event-ID"] = lastId;
				const res = await rawRequest("GET", STREAM_PATH, headers, stop.signal);
				if (res.status === 401) {
					setMode("polling");
					return;
				}
				if (res.ok && res.body) {
					setMode("live");
					retry = RETRY_MIN_MS;
					wait = RETRY_MIN_MS;
					// Whatever happened before the stream was up is in the lists, not the stream.
					poll();
					await readAll(res.body);
				} else {
					await res.body?.cancel();
					if (res.status === 404 || res.status === 405) wait = MISSING_RETRY_MS;
				}
			} catch {
				// A network error or the stream breaking: poll meanwhile, then retry.
			}
			if (stop.signal.aborted) break;
			setMode("polling");
			await sleep(wait, stop.signal);
			retry = Math.min(retry * 2, RETRY_MAX_MS);
		}
	};

	run();
	return () => {
		stop.abort();
		if (pollTimer !== null) clearInterval(pollTimer);
		pollTimer = null;
	};
}

/** Forgets where the stream was (on sign-out: another key may see another node). */
export function forgetStreamPosition() {
	sessionStorage.removeItem(LAST_ID_ITEM);
}
