// The node's HTTP API, as the dashboard calls it: every request carries
// `Authorization: Bearer <key>`; the key lives in sessionStorage (gone when the tab closes).

const KEY_ITEM = "fulgur.apiKey";

/** An API answer that is not a success: `{code, message}` from the body, and the status. */
export class ApiError extends Error {
	constructor(status, code, message) {
		super(message);
		this.status = status;
		this.code = code;
	}
}

let unauthorizedHandler = () => {};

/** Called when the node refuses the key (401), e.g. to go back to the sign-in form. */
export function onUnauthorized(handler) {
	unauthorizedHandler = handler;
}

export function apiKey() {
	return sessionStorage.getItem(KEY_ITEM);
}

export function setApiKey(key) {
	sessionStorage.setItem(KEY_ITEM, key);
}

export function clearApiKey() {
	sessionStorage.removeItem(KEY_ITEM);
}

/** The raw `fetch` with the key; the caller reads the response (the event stream does). */
export function rawRequest(method, path, headers = {}, signal = undefined) {
	return fetch(path, {
		method,
		headers: { Authorization: `Bearer ${apiKey() ?? ""}`, ...headers },
		signal,
		cache: "no-store",
	});
}

/** Calls an endpoint; resolves to the JSON answer, rejects with an `ApiError`. */
export async function api(method, path, body = undefined) {
	const headers = { Accept: "application/json" };
	if (body !== undefined) headers["Content-Type"] = "application/json";
	let res;
	try {
		res = await fetch(path, {
			method,
			headers: { ...headers, Authorization: `Bearer ${apiKey() ?? ""}` },
			body: body === undefined ? undefined : JSON.stringify(body),
			cache: "no-store",
		});
	} catch (e) {
		throw new ApiError(0, "connection_failed", `cannot reach the node (${e.message})`);
	}
	const text = await res.text();
	let json = null;
	try {
		json = text ? JSON.parse(text) : null;
	} catch {
		json = null;
	}
	if (!res.ok) {
		const code = json?.code ?? `http_${res.status}`;
		const error = new ApiError(res.status, code, json?.message ?? (text || res.statusText));
		if (res.status === 401) unauthorizedHandler(error);
		throw error;
	}
	return json;
}

/** `?limit=&cursor=` for list endpoints. */
export function pageQuery(limit, cursor, params = {}) {
	const q = new URLSearchParams({ ...params, limit: String(limit) });
	if (cursor) q.set("cursor", cursor);
	return `?${q}`;
}
