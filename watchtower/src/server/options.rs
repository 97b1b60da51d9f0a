//! What a tower operator can tune, each default a named constant here. Registration is free
//! (teos clients do not sign it), so these caps are what bound what strangers can make the
//! tower hold: users, slots in total and per user, appointments per locator, registrations
//! per source address, HTTP connections (how many, how long idle, how many requests each).

/// Blob bytes per appointment slot (teos's `ENCRYPTED_BLOB_MAX_SIZE`): a blob takes one slot
/// per started 2,048 bytes.
pub const SLOT_SIZE: usize = 2048;

/// Slots a registration adds (teos's default).
pub const DEFAULT_SLOTS: u32 = 10_000;
/// Blocks a subscription lasts from its registration (about a month; teos's default).
pub const DEFAULT_SUBSCRIPTION_BLOCKS: u32 = 4_320;
/// Blocks after expiry before a user's appointments are deleted (teos's default).
pub const DEFAULT_EXPIRY_DELTA: u32 = 6;
/// Most users at once.
pub const DEFAULT_MAX_USERS: usize = 10_000;
/// Most slots one user holds, free and used (ten registrations' worth).
pub const DEFAULT_MAX_SLOTS_PER_USER: u32 = 100_000;
/// Most slots all users hold together, free and used: at 2 KiB per slot, about 4 GiB of
/// appointments at most.
pub const DEFAULT_MAX_TOTAL_SLOTS: u64 = 2_000_000;
/// Most `/register` calls per source address (IPv4, or IPv6 /64) per hour.
pub const DEFAULT_REGISTRATIONS_PER_HOUR: u32 = 20;
/// Most appointments (of different users) for one locator.
pub const DEFAULT_MAX_APPOINTMENTS_PER_LOCATOR: usize = 32;
/// Smallest blob: the 16-byte tag plus the smallest transaction (60 bytes).
pub const DEFAULT_MIN_BLOB_SIZE: usize = 16 + 60;
/// Largest blob (32 slots): a justice transaction sweeping every output of a full commitment
/// fits.
pub const DEFAULT_MAX_BLOB_SIZE: usize = 64 * 1024;
/// sled page cache: bounds the memory appointments take.
pub const DEFAULT_CACHE_BYTES: u64 = 64 * 1024 * 1024;
/// Group-commit flushes start at least this far apart: each sled flush seals and writes a log
/// buffer and fsyncs, which costs far more than the few appointments it would cover unpaced.
pub const DEFAULT_FLUSH_PACE: std::time::Duration = std::time::Duration::from_millis(5);
/// Most HTTP connections open at once (each is a file descriptor and a read buffer).
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;
/// A connection without a request in flight for this long is closed; a request head that
/// takes longer than this to arrive closes its connection too.
pub const DEFAULT_IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
/// A request not answered within this is dropped with its connection (a body trickled in,
/// say: answering takes milliseconds).
pub const DEFAULT_REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);
/// Requests one connection may carry before the tower closes it.
pub const DEFAULT_MAX_REQUESTS_PER_CONNECTION: u32 = 100_000;
/// Read buffer of a connection (hyper's least is 8 KiB): a request head has to fit (the body
/// is streamed through the API's cap).
pub const CONNECTION_BUFFER_BYTES: usize = 16 * 1024;

/// What a registration buys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SubscriptionConfig {
	/// Appointment slots per registration (each appointment takes one slot per started
	/// [`SLOT_SIZE`] bytes of blob).
	pub slots: u32,
	/// Blocks a subscription lasts from the registration.
	pub duration: u32,
	/// Blocks after expiry before the user's appointments are deleted (a grace period to
	/// renew).
	pub expiry_delta: u32,
}

impl Default for SubscriptionConfig {
	fn default() -> Self {
		SubscriptionConfig {
			slots: DEFAULT_SLOTS,
			duration: DEFAULT_SUBSCRIPTION_BLOCKS,
			expiry_delta: DEFAULT_EXPIRY_DELTA,
		}
	}
}

/// How much the tower hands out, whoever asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegistrationCaps {
	/// Most users at once; a new user beyond it is refused, a known one always renews.
	pub max_users: usize,
	/// Most slots one user holds (free plus used); a renewal tops up to it, never past it
	/// and never failing.
	pub max_slots_per_user: u32,
	/// Most slots all users hold together (free plus used).
	pub max_total_slots: u64,
	/// `/register` calls per source address per hour (0: no limit).
	pub registrations_per_hour: u32,
}

impl Default for RegistrationCaps {
	fn default() -> Self {
		RegistrationCaps {
			max_users: DEFAULT_MAX_USERS,
			max_slots_per_user: DEFAULT_MAX_SLOTS_PER_USER,
			max_total_slots: DEFAULT_MAX_TOTAL_SLOTS,
			registrations_per_hour: DEFAULT_REGISTRATIONS_PER_HOUR,
		}
	}
}

/// Limits of appointments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
	/// Smallest blob.
	pub min_blob_size: usize,
	/// Largest blob.
	pub max_blob_size: usize,
	/// Most appointments for one locator (each of another user).
	pub max_appointments_per_locator: usize,
}

impl Default for Limits {
	fn default() -> Self {
		Limits {
			min_blob_size: DEFAULT_MIN_BLOB_SIZE,
			max_blob_size: DEFAULT_MAX_BLOB_SIZE,
			max_appointments_per_locator: DEFAULT_MAX_APPOINTMENTS_PER_LOCATOR,
		}
	}
}

impl Limits {
	/// Largest request body: the blob in hex plus room for the other fields.
	pub fn body_limit(&self) -> u64 {
		(self.max_blob_size as u64) * 2 + 4096
	}
}

/// How far HTTP connections go: they are kept alive, within these bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
	/// Most connections open at once; the tower accepts no more until one closes.
	pub max_connections: usize,
	/// A connection idle this long, or whose request head takes this long, is closed.
	pub idle_timeout: std::time::Duration,
	/// A request not answered within this ends its connection.
	pub request_timeout: std::time::Duration,
	/// Requests one connection carries; the last answer says `connection: close`.
	pub max_requests_per_connection: u32,
}

impl Default for ConnectionLimits {
	fn default() -> Self {
		ConnectionLimits {
			max_connections: DEFAULT_MAX_CONNECTIONS,
			idle_timeout: DEFAULT_IDLE_TIMEOUT,
			request_timeout: DEFAULT_REQUEST_TIMEOUT,
			max_requests_per_connection: DEFAULT_MAX_REQUESTS_PER_CONNECTION,
		}
	}
}

/// How the tower behaves, apart from where it runs.
#[derive(Clone, Debug)]
pub struct TowerOptions {
	/// What a registration buys.
	pub subscription: SubscriptionConfig,
	/// How much the tower hands out in all.
	pub caps: RegistrationCaps,
	/// Appointment limits.
	pub limits: Limits,
	/// sled page cache, bytes: bounds the memory used by appointments.
	pub cache_bytes: u64,
	/// Group-commit flushes start at least this far apart (an idle tower flushes at once).
	pub flush_pace: std::time::Duration,
	/// Confirmations after which a penalty is final.
	pub resolved_depth: u32,
	/// HTTP connections.
	pub connections: ConnectionLimits,
}

impl Default for TowerOptions {
	fn default() -> Self {
		TowerOptions {
			subscription: SubscriptionConfig::default(),
			caps: RegistrationCaps::default(),
			limits: Limits::default(),
			cache_bytes: DEFAULT_CACHE_BYTES,
			flush_pace: DEFAULT_FLUSH_PACE,
			resolved_depth: crate::server::responder::IRREVOCABLY_RESOLVED,
			connections: ConnectionLimits::default(),
		}
	}
}
