//! Stopping the node: one ordered list of stages, each a signal and the tasks that end on it,
//! then a last step once the channel manager's final write is on disk.
//!
//! The order is a durability rule, not a convenience:
//! 1. [`Stage::Tasks`]: the peer listener, chain poller, chores, tower and webhook workers see
//!    the stop signal and end, so no new peer, block or chore can change a channel.
//! 2. [`Stage::Processor`]: peers are disconnected, then LDK's background processor handles
//!    what is left and persists the channel manager on its way out, after the last peer
//!    message, so the manager on disk is never behind its monitors.
//! 3. [`Stage::ManagerWriter`]: the manager barrier is closed and its writer ends, after the
//!    processor's final manager write went through it.
//! 4. Only if that writer ended in time: the last step (the monitors' checkpoint at the chain
//!    tip), when no channel can change any more.
//!
//! A stage whose tasks do not end within [`STOP_TIMEOUT`] is left behind with a log line;
//! the next stages still run.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::STOP_TIMEOUT;
use crate::logger::FulgurLogger;

/// A stage of stopping, in the order they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stage {
	/// Tasks that end on the stop signal ([`StopSignal`]).
	Tasks,
	/// LDK's background processor, told to stop once peers are gone.
	Processor,
	/// The manager barrier's writer, told to stop once the processor is done.
	ManagerWriter,
}

impl Stage {
	/// Every stage, in order.
	const ALL: [Stage; 3] = [Stage::Tasks, Stage::Processor, Stage::ManagerWriter];

	fn index(self) -> usize {
		self as usize
	}

	/// What the log says when the stage's tasks do not end in time.
	fn late(self) -> &'static str {
		match self {
			Stage::Tasks => "a background task did not stop in time",
			Stage::Processor => "the background processor did not stop in time",
			Stage::ManagerWriter => "the manager writer did not stop in time",
		}
	}
}

/// Tells a stage's tasks to stop.
type Signal = Box<dyn FnOnce() + Send>;
/// The step after the last stage.
type LastStep = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

#[derive(Default)]
struct StageState {
	signal: Option<Signal>,
	tasks: Vec<JoinHandle<()>>,
}

/// A flag tasks end on once it is raised; cheap to clone, every clone the same flag. The tasks'
/// clones keep it alive: a node whose every handle is dropped without stopping keeps running,
/// as it always did, rather than half-stopping out of order.
#[derive(Clone)]
pub(crate) struct StopSignal(Arc<watch::Sender<bool>>);

impl StopSignal {
	/// A flag not raised yet.
	pub(crate) fn new() -> StopSignal {
		StopSignal(Arc::new(watch::channel(false).0))
	}

	/// Raises the flag; returns whether it was raised already.
	fn raise(&self) -> bool {
		self.0.send_replace(true)
	}

	/// Resolves once the flag is raised (at once if it already is).
	pub(crate) async fn stopped(&self) {
		let mut rx = self.0.subscribe();
		// The sender lives as long as `self`: this only ends on the flag.
		let _ = rx.wait_for(|stop| *stop).await;
	}

	/// The flag as a watch receiver (for the tower client's workers).
	pub(crate) fn receiver(&self) -> watch::Receiver<bool> {
		self.0.subscribe()
	}
}

/// Tells the tasks of a stage other than [`Stage::Tasks`] to stop: `before` runs first (e.g.
/// disconnecting peers), then the stage's own flag is raised.
pub(crate) fn stage_signal(
	flag: &StopSignal, before: impl FnOnce() + Send + 'static,
) -> impl FnOnce() + Send + 'static {
	let flag = flag.clone();
	move || {
		before();
		flag.raise();
	}
}

/// The node's way to stop, built by the builder as it starts each task.
pub(crate) struct Shutdown {
	stop: StopSignal,
	stages: [Mutex<StageState>; 3],
	last: Mutex<Option<LastStep>>,
	logger: Arc<FulgurLogger>,
}

impl Shutdown {
	/// A shutdown whose first stage is the stop signal; the others get theirs with
	/// [`Shutdown::signal`].
	pub(crate) fn new(logger: Arc<FulgurLogger>) -> Shutdown {
		Shutdown {
			stop: StopSignal::new(),
			stages: Default::default(),
			last: Mutex::new(None),
			logger,
		}
	}

	/// The stop signal the tasks of [`Stage::Tasks`] end on.
	pub(crate) fn stop_signal(&self) -> StopSignal {
		self.stop.clone()
	}

	/// What tells the tasks of `stage` (not [`Stage::Tasks`]: the stop signal does) to stop.
	pub(crate) fn signal(&self, stage: Stage, signal: impl FnOnce() + Send + 'static) {
		self.stage(stage).signal = Some(Box::new(signal));
	}

	/// A task stopping waits for in `stage`.
	pub(crate) fn keep(&self, stage: Stage, task: JoinHandle<()>) {
		self.stage(stage).tasks.push(task);
	}

	/// The step after the last stage, run only when [`Stage::ManagerWriter`] ended in time.
	pub(crate) fn then<F>(&self, last: impl FnOnce() -> F + Send + 'static)
	where
		F: Future<Output = ()> + Send + 'static,
	{
		let step: LastStep = Box::new(move || Box::pin(last()));
		*self.last.lock().unwrap_or_else(|e| e.into_inner()) = Some(step);
	}

	/// Runs the stages in order, then the last step; a second call returns at once.
	pub(crate) async fn run(&self) {
		self.run_within(STOP_TIMEOUT).await
	}

	/// [`Shutdown::run`], giving each task `timeout` to end.
	async fn run_within(&self, timeout: Duration) {
		if self.stop.raise() {
			return;
		}
		crate::info!(self.logger, "stopping");
		let mut ended_in_time = true;
		for stage in Stage::ALL {
			let (signal, tasks) = {
				let mut state = self.stage(stage);
				(state.signal.take(), std::mem::take(&mut state.tasks))
			};
			if let Some(signal) = signal {
				signal();
			}
			ended_in_time = true;
			for task in tasks {
				if tokio::time::timeout(timeout, task).await.is_err() {
					match stage {
						Stage::Tasks => crate::warn!(self.logger, "{}", stage.late()),
						_ => crate::error!(self.logger, "{}", stage.late()),
					}
					ended_in_time = false;
				}
			}
		}
		// `ended_in_time` is the manager writer's now.
		let last = self.last.lock().unwrap_or_else(|e| e.into_inner()).take();
		if let (true, Some(last)) = (ended_in_time, last) {
			last().await;
		}
		crate::info!(self.logger, "stopped");
	}

	fn stage(&self, stage: Stage) -> std::sync::MutexGuard<'_, StageState> {
		self.stages[stage.index()].lock().unwrap_or_else(|e| e.into_inner())
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use std::sync::atomic::{AtomicBool, Ordering};

	fn logger(dir: &std::path::Path) -> Arc<FulgurLogger> {
		let level = crate::config::Level::Debug;
		Arc::new(FulgurLogger::new(&dir.join("log"), "test", level).expect("logger"))
	}

	/// Each stage's tasks end before the next stage's signal is given, the last step runs
	/// after the manager writer, and a task keeps the stop signal until the first stage.
	#[tokio::test]
	async fn stages_stop_in_order_and_the_last_step_follows_the_manager_writer() {
		let dir = tempfile::tempdir().expect("tempdir");
		let shutdown = Arc::new(Shutdown::new(logger(dir.path())));
		let order = Arc::new(Mutex::new(Vec::new()));
		let note = |what: &'static str| {
			let order = Arc::clone(&order);
			move || order.lock().expect("order").push(what)
		};
		let stop = shutdown.stop_signal();
		let task_done = note("task ended");
		shutdown.keep(
			Stage::Tasks,
			tokio::spawn(async move {
				stop.stopped().await;
				task_done();
			}),
		);
		let processor_stop = StopSignal::new();
		shutdown.signal(Stage::Processor, stage_signal(&processor_stop, note("processor told")));
		let processor_done = note("processor ended");
		shutdown.keep(
			Stage::Processor,
			tokio::spawn(async move {
				processor_stop.stopped().await;
				processor_done();
			}),
		);
		shutdown.signal(Stage::ManagerWriter, note("writer told"));
		let checkpoint = note("checkpoint");
		shutdown.then(move || async move { checkpoint() });
		shutdown.run().await;
		let seen = order.lock().expect("order").clone();
		assert_eq!(
			seen,
			["task ended", "processor told", "processor ended", "writer told", "checkpoint"]
		);
	}

	/// A stage whose task does not end in time does not hold up the next stages, but a manager
	/// writer that did not end means no checkpoint: its manager write may not be on disk, and
	/// monitors written at the tip could then be ahead of the manager.
	#[tokio::test]
	async fn a_late_manager_writer_means_no_checkpoint_and_late_tasks_hold_up_nothing() {
		let dir = tempfile::tempdir().expect("tempdir");
		let shutdown = Shutdown::new(logger(dir.path()));
		shutdown.keep(Stage::Tasks, tokio::spawn(std::future::pending()));
		let processor_told = Arc::new(AtomicBool::new(false));
		let told = Arc::clone(&processor_told);
		shutdown.signal(Stage::Processor, move || told.store(true, Ordering::SeqCst));
		shutdown.keep(Stage::ManagerWriter, tokio::spawn(std::future::pending()));
		let checkpointed = Arc::new(AtomicBool::new(false));
		let done = Arc::clone(&checkpointed);
		shutdown.then(move || async move { done.store(true, Ordering::SeqCst) });
		shutdown.run_within(Duration::from_millis(10)).await;
		assert!(processor_told.load(Ordering::SeqCst), "a late task held up the next stage");
		assert!(!checkpointed.load(Ordering::SeqCst), "checkpoint after a late manager writer");
	}

	/// A second stop does nothing, and the signal reads stopped to every later task.
	#[tokio::test]
	async fn stopping_twice_runs_the_stages_once() {
		let dir = tempfile::tempdir().expect("tempdir");
		let shutdown = Shutdown::new(logger(dir.path()));
		let ran = Arc::new(AtomicBool::new(false));
		let seen = Arc::clone(&ran);
		shutdown.then(move || async move {
			assert!(!seen.swap(true, Ordering::SeqCst), "the last step ran twice");
		});
		shutdown.run().await;
		shutdown.run().await;
		assert!(ran.load(Ordering::SeqCst));
		shutdown.stop_signal().stopped().await;
	}
}
