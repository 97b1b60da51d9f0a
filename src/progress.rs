//! Progress of long work, on stderr only (stdout carries results): a bar (indicatif) while
//! stderr is a terminal, otherwise a plain line every fifteen seconds. Lines printed through
//! [`line`] meanwhile appear above the bar instead of breaking it. Counting is one atomic add,
//! so a measured run never waits on the display.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often a progress line is printed when stderr is not a terminal.
const LINE_INTERVAL: Duration = Duration::from_secs(15);

/// The bar on screen, if any, so that [`line`] can print above it.
static SHOWN: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Prints `message` on stderr, above the progress bar when one is shown.
pub fn line(message: &str) {
	let shown = SHOWN.lock().unwrap_or_else(PoisonError::into_inner).clone();
	match shown {
		Some(bar) => bar.println(message),
		None => eprintln!("{message}"),
	}
}

/// One phase's progress: `total` units of work, counted with [`Progress::add`]; the display
/// ends when it is dropped.
pub struct Progress {
	phase: String,
	unit: &'static str,
	total: u64,
	done: AtomicU64,
	started: Instant,
	bar: Option<ProgressBar>,
	next_line: Mutex<Instant>,
}

impl Progress {
	/// Starts showing `phase` (e.g. `[sled] C=64`), of `total` `unit`s (e.g. `payments`).
	pub fn start(phase: impl Into<String>, total: u64, unit: &'static str) -> Progress {
		let phase = phase.into();
		let bar = std::io::stderr().is_terminal().then(|| {
			// Drawn only once styled and named.
			let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden())
				.with_prefix(phase.clone())
				.with_message(unit);
			let template = "{prefix} [{bar:30}] {pos}/{len} {msg}, {elapsed} (eta {eta})";
			if let Ok(style) = ProgressStyle::with_template(template) {
				bar.set_style(style.progress_chars("=> "));
			}
			bar.set_draw_target(ProgressDrawTarget::stderr());
			*SHOWN.lock().unwrap_or_else(PoisonError::into_inner) = Some(bar.clone());
			bar
		});
		let started = Instant::now();
		Progress {
			phase,
			unit,
			total,
			done: AtomicU64::new(0),
			started,
			bar,
			next_line: Mutex::new(started + LINE_INTERVAL),
		}
	}

	/// Counts without showing anything: for work too short to report.
	pub fn silent() -> Progress {
		let started = Instant::now();
		Progress {
			phase: String::new(),
			unit: "",
			total: 0,
			done: AtomicU64::new(0),
			started,
			bar: None,
			// Far enough never to come.
			next_line: Mutex::new(started + Duration::from_secs(365 * 24 * 3600)),
		}
	}

	/// Counts `units` more done.
	pub fn add(&self, units: u64) {
		let done = self.done.fetch_add(units, Ordering::Relaxed) + units;
		if let Some(bar) = &self.bar {
			bar.inc(units);
			return;
		}
		// Whoever holds the lock prints; the others go on at once.
		let Ok(mut next_line) = self.next_line.try_lock() else { return };
		let now = Instant::now();
		if now >= *next_line {
			*next_line = now + LINE_INTERVAL;
			let percent = (done * 100).checked_div(self.total).unwrap_or(100);
			eprintln!(
				"{}: {done} of {} {} ({percent}%), {} s",
				self.phase,
				self.total,
				self.unit,
				self.started.elapsed().as_secs()
			);
		}
	}

	/// How many units are done.
	pub fn done(&self) -> u64 {
		self.done.load(Ordering::Relaxed)
	}
}

impl Drop for Progress {
	fn drop(&mut self) {
		if let Some(bar) = self.bar.take() {
			bar.finish_and_clear();
			*SHOWN.lock().unwrap_or_else(PoisonError::into_inner) = None;
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn counts_from_many_threads() {
		let progress = std::sync::Arc::new(Progress::start("test", 4_000, "items"));
		let threads: Vec<_> = (0..4)
			.map(|_| {
				let progress = std::sync::Arc::clone(&progress);
				std::thread::spawn(move || (0..1_000).for_each(|_| progress.add(1)))
			})
			.collect();
		threads.into_iter().for_each(|t| t.join().unwrap());
		assert_eq!(progress.done(), 4_000);
	}
}
