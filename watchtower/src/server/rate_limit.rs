//! Registrations per source address: a token bucket per address (an IPv4 address, or the /64
//! of an IPv6 one, what one host usually has), refilled evenly over the hour. The map of
//! buckets is bounded: when full, buckets that have refilled completely (they hold nothing a
//! fresh one would not) are dropped; if none has, a new address is refused until one does, so
//! a stranger with many addresses cannot grow it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use fulgur_base::net::SourceGroup;

/// Addresses followed at once.
pub const MAX_TRACKED_ADDRESSES: usize = 100_000;
/// The period the allowance is spread over.
const PERIOD: Duration = Duration::from_secs(3600);
/// Least time between two sweeps of the full map (each is a pass over all of it).
const SWEEP_INTERVAL: Duration = Duration::from_secs(1);

/// Why a registration has to wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limited {
	/// This address used its allowance; one more comes after this long.
	Address(Duration),
	/// Too many addresses are registering at once.
	Busy,
}

#[derive(Clone, Copy)]
struct Bucket {
	tokens: f64,
	updated: Instant,
}

struct Buckets {
	/// Keyed by what addresses share a bucket: an IPv4 address, or an IPv6 /64.
	map: HashMap<SourceGroup, Bucket>,
	last_sweep: Option<Instant>,
}

/// The limiter.
pub struct RateLimiter {
	per_period: u32,
	max_tracked: usize,
	buckets: Mutex<Buckets>,
}

impl RateLimiter {
	/// At most `per_hour` registrations per address per hour (0: unlimited), following at
	/// most `max_tracked` addresses.
	pub fn new(per_hour: u32, max_tracked: usize) -> RateLimiter {
		let buckets = Buckets { map: HashMap::new(), last_sweep: None };
		RateLimiter { per_period: per_hour, max_tracked, buckets: Mutex::new(buckets) }
	}

	fn lock(&self) -> MutexGuard<'_, Buckets> {
		// Each critical section leaves the map consistent.
		self.buckets.lock().unwrap_or_else(|e| e.into_inner())
	}

	fn refill(&self, bucket: &mut Bucket, now: Instant) {
		let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
		let rate = f64::from(self.per_period) / PERIOD.as_secs_f64();
		bucket.tokens = (bucket.tokens + elapsed * rate).min(f64::from(self.per_period));
		bucket.updated = now;
	}

	/// Takes one registration from `ip`'s allowance at `now`.
	pub fn check(&self, ip: IpAddr, now: Instant) -> Result<(), Limited> {
		if self.per_period == 0 {
			return Ok(());
		}
		let key = SourceGroup::of(ip);
		let full = f64::from(self.per_period);
		let mut buckets = self.lock();
		if !buckets.map.contains_key(&key) && buckets.map.len() >= self.max_tracked {
			let swept =
				buckets.last_sweep.is_some_and(|at| now.duration_since(at) < SWEEP_INTERVAL);
			if !swept {
				buckets.last_sweep = Some(now);
				let mut map = std::mem::take(&mut buckets.map);
				map.retain(|_, bucket| {
					self.refill(bucket, now);
					bucket.tokens < full
				});
				buckets.map = map;
			}
			if buckets.map.len() >= self.max_tracked {
				return Err(Limited::Busy);
			}
		}
		let bucket = buckets.map.entry(key).or_insert(Bucket { tokens: full, updated: now });
		self.refill(bucket, now);
		if bucket.tokens < 1.0 {
			let rate = full / PERIOD.as_secs_f64();
			return Err(Limited::Address(Duration::from_secs_f64((1.0 - bucket.tokens) / rate)));
		}
		bucket.tokens -= 1.0;
		Ok(())
	}

	/// Addresses followed now.
	pub fn tracked(&self) -> usize {
		self.lock().map.len()
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn ip(s: &str) -> IpAddr {
		s.parse().unwrap()
	}

	#[test]
	fn an_address_gets_its_allowance_then_one_more_as_it_refills() {
		let limiter = RateLimiter::new(3, 10);
		let start = Instant::now();
		for _ in 0..3 {
			assert_eq!(limiter.check(ip("10.0.0.1"), start), Ok(()));
		}
		let Err(Limited::Address(wait)) = limiter.check(ip("10.0.0.1"), start) else {
			panic!("a fourth registration at once passed")
		};
		assert_eq!(wait.as_secs(), 1200, "one registration per 20 minutes");
		// Another address is not affected; an IPv4-mapped IPv6 address is the same one.
		assert_eq!(limiter.check(ip("10.0.0.2"), start), Ok(()));
		assert!(limiter.check(ip("::ffff:10.0.0.1"), start).is_err());
		// Twenty minutes later, one more.
		let later = start + Duration::from_secs(1200);
		assert_eq!(limiter.check(ip("10.0.0.1"), later), Ok(()));
		assert!(limiter.check(ip("10.0.0.1"), later).is_err());
	}

	#[test]
	fn an_ipv6_host_is_its_slash_64() {
		let limiter = RateLimiter::new(1, 10);
		let now = Instant::now();
		assert_eq!(limiter.check(ip("2001:db8:1:2::1"), now), Ok(()));
		assert!(limiter.check(ip("2001:db8:1:2:ffff::9"), now).is_err(), "same /64");
		assert_eq!(limiter.check(ip("2001:db8:1:3::1"), now), Ok(()), "another /64");
	}

	#[test]
	fn the_map_stays_bounded_and_forgets_idle_addresses() {
		let limiter = RateLimiter::new(2, 4);
		let start = Instant::now();
		for n in 0..4 {
			assert_eq!(limiter.check(ip(&format!("10.0.1.{n}")), start), Ok(()));
		}
		// Full of addresses still using their allowance: a fifth waits.
		assert_eq!(limiter.check(ip("10.0.2.1"), start), Err(Limited::Busy));
		assert_eq!(limiter.tracked(), 4);
		// Half an hour on, the four have refilled: they make room.
		let later = start + Duration::from_secs(1800);
		assert_eq!(limiter.check(ip("10.0.2.1"), later), Ok(()));
		assert_eq!(limiter.tracked(), 1);
	}

	#[test]
	fn zero_means_no_limit() {
		let limiter = RateLimiter::new(0, 1);
		let now = Instant::now();
		for n in 0..100 {
			assert_eq!(limiter.check(ip(&format!("10.1.0.{n}")), now), Ok(()));
		}
		assert_eq!(limiter.tracked(), 0);
	}
}
