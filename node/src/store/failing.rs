//! A store that fails on demand, for tests of what a failed or slow write does: a memory
//! store whose writes to one namespace fail while `failing` is set (a full disk) or, while
//! `deferred` is set, are applied only once their future is polled (a slow disk).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use lightning::io::Error as LdkIoError;
use lightning::util::async_poll::AsyncResult;
use lightning::util::persist::{KVStore, KVStoreSync};

use super::{MemoryStore, NodeStore, StoreStats};

/// A memory store whose writes to one namespace fail while `failing` is set (a full disk),
/// or, while `deferred` is set, are applied only once their future is polled (a slow disk).
pub(crate) struct FailingStore {
	inner: Arc<MemoryStore>,
	namespace: &'static str,
	pub failing: std::sync::atomic::AtomicBool,
	pub deferred: std::sync::atomic::AtomicBool,
}

impl FailingStore {
	pub(crate) fn new(namespace: &'static str) -> Arc<FailingStore> {
		Arc::new(FailingStore {
			inner: Arc::new(MemoryStore::new()),
			namespace,
			failing: std::sync::atomic::AtomicBool::new(false),
			deferred: std::sync::atomic::AtomicBool::new(false),
		})
	}
}

impl KVStoreSync for FailingStore {
	fn read(&self, primary: &str, secondary: &str, key: &str) -> Result<Vec<u8>, LdkIoError> {
		KVStoreSync::read(&*self.inner, primary, secondary, key)
	}

	fn write(
		&self, primary: &str, secondary: &str, key: &str, buf: Vec<u8>,
	) -> Result<(), LdkIoError> {
		if primary == self.namespace && self.failing.load(Ordering::SeqCst) {
			return Err(LdkIoError::new(lightning::io::ErrorKind::Other, "no space left"));
		}
		KVStoreSync::write(&*self.inner, primary, secondary, key, buf)
	}

	fn remove(
		&self, primary: &str, secondary: &str, key: &str, lazy: bool,
	) -> Result<(), LdkIoError> {
		KVStoreSync::remove(&*self.inner, primary, secondary, key, lazy)
	}

	fn list(&self, primary: &str, secondary: &str) -> Result<Vec<String>, LdkIoError> {
		KVStoreSync::list(&*self.inner, primary, secondary)
	}
}

impl KVStore for FailingStore {
	fn read(
		&self, primary: &str, secondary: &str, key: &str,
	) -> AsyncResult<'static, Vec<u8>, LdkIoError> {
		let result = KVStoreSync::read(self, primary, secondary, key);
		Box::pin(async move { result })
	}

	fn write(
		&self, primary: &str, secondary: &str, key: &str, buf: Vec<u8>,
	) -> AsyncResult<'static, (), LdkIoError> {
		if primary == self.namespace && self.deferred.load(Ordering::SeqCst) {
			let (inner, names) = (
				Arc::clone(&self.inner),
				(primary.to_string(), secondary.to_string(), key.to_string()),
			);
			return Box::pin(async move {
				tokio::task::yield_now().await;
				KVStoreSync::write(&*inner, &names.0, &names.1, &names.2, buf)
			});
		}
		let result = KVStoreSync::write(self, primary, secondary, key, buf);
		Box::pin(async move { result })
	}

	fn remove(
		&self, primary: &str, secondary: &str, key: &str, lazy: bool,
	) -> AsyncResult<'static, (), LdkIoError> {
		let result = KVStoreSync::remove(self, primary, secondary, key, lazy);
		Box::pin(async move { result })
	}

	fn list(
		&self, primary: &str, secondary: &str,
	) -> AsyncResult<'static, Vec<String>, LdkIoError> {
		let result = KVStoreSync::list(self, primary, secondary);
		Box::pin(async move { result })
	}
}

impl NodeStore for FailingStore {
	fn stats(&self) -> StoreStats {
		self.inner.stats()
	}
}
