//! The tower's operations as async calls: the blocking part (signature checks, sled) on the
//! worker pool, then, for writes, the wait until the change is on disk. The HTTP API is a thin
//! layer over these; the benchmark's baseline calls them directly.

use std::sync::Arc;

use crate::api::{
	AddAppointmentRequest, AddAppointmentResponse, GetAppointmentRequest, GetAppointmentResponse,
	GetSubscriptionInfoRequest, GetSubscriptionInfoResponse, RegisterResponse,
};
use crate::crypto::UserId;
use crate::errors::{ApiError, ErrorCode};
use crate::server::gatekeeper::storage_error;
use crate::server::{log, TowerCore};

impl TowerCore {
	/// Runs `op` on a worker; once it succeeded, waits for durability if it `writes`.
	async fn call<T, F>(self: &Arc<Self>, writes: bool, op: F) -> Result<T, ApiError>
	where
		T: Send + 'static,
		F: FnOnce(&TowerCore) -> Result<T, ApiError> + Send + 'static,
	{
		let core = Arc::clone(self);
		let result = self.workers.run(move || op(&core)).await.unwrap_or_else(|| {
			log::error!("a request handler failed");
			Err(ApiError::new(ErrorCode::Unexpected, "internal error"))
		})?;
		if writes {
			self.db.durable().await.map_err(storage_error)?;
		}
		Ok(result)
	}

	/// `/register`: a new or renewed subscription, signed by the tower.
	pub async fn register(self: &Arc<Self>, user: UserId) -> Result<RegisterResponse, ApiError> {
		self.call(true, move |core| {
			let info = core.gatekeeper.register(user)?;
			log::info!("registered {user}: {} slots", info.available_slots);
			Ok(RegisterResponse::signed(
				user,
				info.available_slots,
				info.subscription_start,
				info.subscription_expiry,
				&core.tower_sk,
			))
		})
		.await
	}

	/// `/add_appointment`: answered once the appointment is on disk.
	pub async fn add_appointment(
		self: &Arc<Self>, req: AddAppointmentRequest,
	) -> Result<AddAppointmentResponse, ApiError> {
		self.call(true, move |core| core.watcher.add_appointment(&req)).await
	}

	/// `/get_appointment`.
	pub async fn get_appointment(
		self: &Arc<Self>, req: GetAppointmentRequest,
	) -> Result<GetAppointmentResponse, ApiError> {
		self.call(false, move |core| core.watcher.get_appointment(&req)).await
	}

	/// `/get_subscription_info`.
	pub async fn get_subscription_info(
		self: &Arc<Self>, req: GetSubscriptionInfoRequest,
	) -> Result<GetSubscriptionInfoResponse, ApiError> {
		self.call(false, move |core| core.watcher.get_subscription_info(&req)).await
	}
}
