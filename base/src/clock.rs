//! The wall clock, read in one place: seconds (or milliseconds) since the UNIX epoch.
//!
//! A clock set before 1970 reads as the epoch itself rather than failing: every caller uses
//! these values as timestamps or for ages, where a zero is harmless and an error is not
//! actionable.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Time since the UNIX epoch (zero if the clock is set before it).
pub fn since_epoch() -> Duration {
	SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default()
}

/// Seconds since the UNIX epoch.
pub fn unix_now() -> u64 {
	since_epoch().as_secs()
}

/// Seconds since the UNIX epoch as LDK's `u32` timestamps (saturating in 2106).
pub fn unix_now_u32() -> u32 {
	u32::try_from(unix_now()).unwrap_or(u32::MAX)
}

/// Milliseconds since the UNIX epoch.
pub fn unix_now_millis() -> u64 {
	u64::try_from(since_epoch().as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn the_readings_agree() {
		let secs = unix_now();
		let millis = unix_now_millis();
		// Taken one after the other: the later millisecond reading is at least the seconds'.
		assert!(millis / 1000 >= secs, "{millis} ms before {secs} s");
		assert!(millis / 1000 - secs <= 1);
		assert!(u64::from(unix_now_u32()) >= secs);
		// 2020-01-01: a clock this test runs under is past it, so nothing read as zero.
		assert!(secs > 1_577_836_800, "{secs}");
	}
}
