//! What a benchmark measures: latency percentiles and a histogram, and a process's resource
//! use read from `/proc/self` or `/proc/<pid>` (CPU seconds, disk bytes written, resident
//! memory).
//!
//! Everything here is process-wide: when several nodes run in one process, their CPU time and
//! disk writes add up (which is why `bench payments` runs its hub in a process of its own).

use std::sync::OnceLock;
use std::time::Duration;

/// Clock ticks per second assumed when `getconf CLK_TCK` cannot be asked (Linux's usual value).
const DEFAULT_CLOCK_TICKS: u64 = 100;

/// Latencies of one run, in microseconds.
#[derive(Clone, Debug, Default)]
pub struct Latencies {
	micros: Vec<u64>,
	sorted: bool,
}

impl Latencies {
	/// Adds one observation.
	pub fn record(&mut self, latency: Duration) {
		self.micros.push(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX));
		self.sorted = false;
	}

	/// Adds every observation of `other`.
	pub fn merge(&mut self, other: Latencies) {
		self.micros.extend(other.micros);
		self.sorted = false;
	}

	/// How many observations.
	pub fn len(&self) -> usize {
		self.micros.len()
	}

	/// True without observations.
	pub fn is_empty(&self) -> bool {
		self.micros.is_empty()
	}

	fn sort(&mut self) {
		if !self.sorted {
			self.micros.sort_unstable();
			self.sorted = true;
		}
	}

	/// The `p`-th percentile (0 < p ≤ 100) in milliseconds, by nearest rank; `None` when empty.
	pub fn percentile_ms(&mut self, p: f64) -> Option<f64> {
		self.sort();
		percentile(&self.micros, p).map(|us| us as f64 / 1000.0)
	}

	/// The largest observation in milliseconds.
	pub fn max_ms(&mut self) -> Option<f64> {
		self.sort();
		self.micros.last().map(|&us| us as f64 / 1000.0)
	}

	/// A histogram with power-of-two buckets: `(upper bound in ms, count)` for each non-empty
	/// bucket, the bucket `(u/2, u]` holding the observations up to `u` ms (the first: ≤ 0.125).
	pub fn histogram_ms(&self) -> Vec<(f64, u64)> {
		histogram(&self.micros)
	}
}

/// Nearest-rank percentile of sorted values: the smallest value with at least `p`% of the
/// values at or below it.
pub fn percentile(sorted: &[u64], p: f64) -> Option<u64> {
	if sorted.is_empty() {
		return None;
	}
	let p = p.clamp(0.0, 100.0);
	let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
	Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Power-of-two histogram of microsecond values, reported in milliseconds.
pub fn histogram(micros: &[u64]) -> Vec<(f64, u64)> {
	// Bucket 0: ≤ 125 µs; bucket k: (125·2^(k-1), 125·2^k] µs.
	const FIRST_US: u64 = 125;
	let mut counts: Vec<u64> = Vec::new();
	for &us in micros {
		let mut bucket = 0;
		let mut bound = FIRST_US;
		while us > bound && bucket < 40 {
			bound = bound.saturating_mul(2);
			bucket += 1;
		}
		if counts.len() <= bucket {
			counts.resize(bucket + 1, 0);
		}
		counts[bucket] += 1;
	}
	counts
		.iter()
		.enumerate()
		.filter(|(_, &count)| count > 0)
		.map(|(bucket, &count)| ((FIRST_US << bucket) as f64 / 1000.0, count))
		.collect()
}

/// This process's resource counters at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ProcSample {
	/// User + system CPU seconds since the process started.
	pub cpu_s: f64,
	/// Bytes this process caused to be written to storage (`write_bytes` of `/proc/self/io`).
	pub write_bytes: u64,
	/// Resident memory now (`VmRSS`), kB.
	pub rss_kb: u64,
	/// Peak resident memory (`VmHWM`), kB, since start or the last [`reset_peak_rss`].
	pub peak_rss_kb: u64,
}

impl ProcSample {
	/// Reads `/proc/self`; counters that cannot be read are 0.
	pub fn read() -> ProcSample {
		ProcSample::read_dir("/proc/self")
	}

	/// Reads `/proc/<pid>` (a child of this process); counters that cannot be read are 0.
	pub fn read_pid(pid: u32) -> ProcSample {
		ProcSample::read_dir(&format!("/proc/{pid}"))
	}

	fn read_dir(dir: &str) -> ProcSample {
		let read = |name: &str| std::fs::read_to_string(format!("{dir}/{name}")).ok();
		let status = read("status").unwrap_or_default();
		let ticks = read("stat").and_then(|s| parse_stat_cpu_ticks(&s)).unwrap_or(0);
		ProcSample {
			cpu_s: ticks as f64 / clock_ticks() as f64,
			write_bytes: read("io").and_then(|s| parse_io_field(&s, "write_bytes")).unwrap_or(0),
			rss_kb: parse_status_kb(&status, "VmRSS").unwrap_or(0),
			peak_rss_kb: parse_status_kb(&status, "VmHWM").unwrap_or(0),
		}
	}
}

/// Resets the peak resident memory (`VmHWM`) to the current one, so the next peak is that of
/// what follows. Returns false when the kernel does not allow it (the peak then stays
/// cumulative over the process's life).
pub fn reset_peak_rss() -> bool {
	std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// A `kB` field of `/proc/self/status`, e.g. `VmHWM:   12345 kB`.
pub fn parse_status_kb(status: &str, field: &str) -> Option<u64> {
	status.lines().find_map(|line| {
		let (name, value) = line.split_once(':')?;
		if name.trim() != field {
			return None;
		}
		value.split_whitespace().next()?.parse().ok()
	})
}

/// utime + stime (fields 14 and 15) of `/proc/self/stat`, in clock ticks. The command name
/// (field 2) is in parentheses and may hold spaces, so fields are counted after its `)`.
pub fn parse_stat_cpu_ticks(stat: &str) -> Option<u64> {
	let after_name = &stat[stat.rfind(')')? + 1..];
	let fields: Vec<&str> = after_name.split_whitespace().collect();
	// `fields[0]` is field 3 (state), so field n is `fields[n - 3]`.
	let utime: u64 = fields.get(11)?.parse().ok()?;
	let stime: u64 = fields.get(12)?.parse().ok()?;
	Some(utime + stime)
}

/// A field of `/proc/self/io`, e.g. `write_bytes: 4096`.
pub fn parse_io_field(io: &str, field: &str) -> Option<u64> {
	io.lines().find_map(|line| {
		let (name, value) = line.split_once(':')?;
		(name.trim() == field).then(|| value.trim().parse().ok()).flatten()
	})
}

/// Clock ticks per second (`getconf CLK_TCK`, asked once; 100 if that fails).
pub fn clock_ticks() -> u64 {
	static TICKS: OnceLock<u64> = OnceLock::new();
	*TICKS.get_or_init(|| {
		std::process::Command::new("getconf")
			.arg("CLK_TCK")
			.output()
			.ok()
			.and_then(|out| String::from_utf8(out.stdout).ok())
			.and_then(|text| text.trim().parse().ok())
			.filter(|&ticks| ticks > 0)
			.unwrap_or(DEFAULT_CLOCK_TICKS)
	})
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn percentiles_by_nearest_rank() {
		let values: Vec<u64> = (1..=100).collect();
		assert_eq!(percentile(&values, 50.0), Some(50));
		assert_eq!(percentile(&values, 90.0), Some(90));
		assert_eq!(percentile(&values, 99.0), Some(99));
		assert_eq!(percentile(&values, 100.0), Some(100));
		assert_eq!(percentile(&values, 0.0), Some(1));
		assert_eq!(percentile(&[7], 99.0), Some(7));
		assert_eq!(percentile(&[1, 2, 3, 4], 50.0), Some(2));
		assert_eq!(percentile(&[1, 2, 3, 4], 51.0), Some(3));
		assert_eq!(percentile(&[], 50.0), None);
	}

	#[test]
	fn latencies_sort_before_answering() {
		let mut latencies = Latencies::default();
		for ms in [30, 10, 20] {
			latencies.record(Duration::from_millis(ms));
		}
		let mut more = Latencies::default();
		more.record(Duration::from_micros(40_500));
		latencies.merge(more);
		assert_eq!(latencies.len(), 4);
		assert_eq!(latencies.percentile_ms(50.0), Some(20.0));
		assert_eq!(latencies.percentile_ms(100.0), Some(40.5));
		assert_eq!(latencies.max_ms(), Some(40.5));
		assert_eq!(Latencies::default().percentile_ms(50.0), None);
	}

	#[test]
	fn histogram_buckets_double() {
		let hist = histogram(&[0, 125, 126, 250, 251, 1_000, 1_001]);
		assert_eq!(hist, vec![(0.125, 2), (0.25, 2), (0.5, 1), (1.0, 1), (2.0, 1)]);
		assert!(histogram(&[]).is_empty());
	}

	#[test]
	fn status_fields_in_kb() {
		let status = "Name:\tfulgur\nVmPeak:\t  200 kB\nVmHWM:\t   12345 kB\nVmRSS:\t    9876 kB\n";
		assert_eq!(parse_status_kb(status, "VmHWM"), Some(12345));
		assert_eq!(parse_status_kb(status, "VmRSS"), Some(9876));
		assert_eq!(parse_status_kb(status, "VmSwap"), None);
	}

	#[test]
	fn stat_cpu_ticks_skip_the_command_name() {
		// A command name with spaces and a parenthesis must not shift the fields.
		let stat = "4242 (tokio (rt) worker) S 1 4242 4242 0 -1 4194304 100 0 0 0 \
		            250 50 0 0 20 0 8 0 12345 1000000 500 18446744073709551615";
		assert_eq!(parse_stat_cpu_ticks(stat), Some(300));
		assert_eq!(parse_stat_cpu_ticks("garbage"), None);
		assert_eq!(parse_stat_cpu_ticks("1 (x) S 1 2"), None);
	}

	#[test]
	fn io_fields() {
		let io = "rchar: 6976\nwchar: 10\nread_bytes: 12288\nwrite_bytes: 4096\n\
		          cancelled_write_bytes: 0\n";
		assert_eq!(parse_io_field(io, "write_bytes"), Some(4096));
		assert_eq!(parse_io_field(io, "cancelled_write_bytes"), Some(0));
		assert_eq!(parse_io_field(io, "syscw"), None);
	}

	#[test]
	fn reading_this_process_works() {
		let sample = ProcSample::read();
		assert!(sample.rss_kb > 0 && sample.peak_rss_kb >= sample.rss_kb);
		let by_pid = ProcSample::read_pid(std::process::id());
		assert!(by_pid.rss_kb > 0 && by_pid.cpu_s >= sample.cpu_s);
		assert!(clock_ticks() > 0);
	}
}
