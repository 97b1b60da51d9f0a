//! Blocking work (an fsync, a store read) called from code that may run on the async
//! runtime's worker threads: taken off the worker so the other tasks on it keep running.

/// Runs `f`; on a worker of a multi-threaded tokio runtime, inside `block_in_place`, which
/// first moves the worker's other tasks to another thread. Elsewhere (a blocking thread, a
/// plain thread, a current-thread runtime, where `block_in_place` is not allowed) it simply
/// runs.
pub fn off_runtime<T>(f: impl FnOnce() -> T) -> T {
	match tokio::runtime::Handle::try_current() {
		Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
			tokio::task::block_in_place(f)
		}
		_ => f(),
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn runs_anywhere() {
		assert_eq!(off_runtime(|| 1), 1);
		let current = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
		assert_eq!(current.block_on(async { off_runtime(|| 2) }), 2);
		let multi = tokio::runtime::Builder::new_multi_thread().build().expect("runtime");
		assert_eq!(
			multi.block_on(async { tokio::spawn(async { off_runtime(|| 3) }).await }).ok(),
			Some(3)
		);
	}
}
