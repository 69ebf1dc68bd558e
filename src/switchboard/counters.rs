//! Service points on the switchboard: a counter's device signs in with its secret, and a call
//! placed from a counter's QR code takes its purpose and sign language from the counter.

use super::{lock, refuse, store_down, RequestError, Switchboard};
use crate::signal::{ErrorCode, Purpose, Role, SessionId};
use crate::store::ServicePoint;
use std::time::Instant;

/// Longest device secret or code looked up (real ones are far shorter).
const MAX_SECRET_CHARS: usize = 128;

impl Switchboard {
    /// A counter's tablet signs in: it is a guest named after its service point and joins
    /// that counter's calls by itself.
    pub(super) async fn counter_sign_in(
        &self,
        session: SessionId,
        device: &str,
    ) -> Result<(), RequestError> {
        let unknown = || {
            refuse(
                ErrorCode::NoSuchCounter,
                "this device is not registered for a service point (or was replaced); \
                 ask an administrator for a new device link",
            )
        };
        if device.is_empty() || device.len() > MAX_SECRET_CHARS {
            return Err(unknown());
        }
        let point = self
            .store
            .service_point_by_device(device)
            .await
            .map_err(store_down)?
            .ok_or_else(unknown)?;
        let fx =
            lock(&self.relay).attach_counter(session, &point.code, &point.name, Instant::now())?;
        self.identify(session, Role::Guest, &point.name);
        tracing::info!(%session, counter = %point.code, "service point device signed in");
        self.deliver(session, self.welcome(session, Role::Guest, &point.name));
        self.apply(fx);
        Ok(())
    }

    /// The live service point a call is placed from, or why it cannot be used.
    pub(super) async fn counter_for_call(&self, code: &str) -> Result<ServicePoint, RequestError> {
        let unknown = || {
            refuse(
                ErrorCode::NoSuchCounter,
                "this counter's code is unknown; please ask the staff at the counter",
            )
        };
        if code.is_empty() || code.len() > MAX_SECRET_CHARS {
            return Err(unknown());
        }
        let point = self
            .store
            .service_point(code)
            .await
            .map_err(store_down)?
            .ok_or_else(unknown)?;
        if point.revoked_at_ms.is_some() {
            return Err(refuse(
                ErrorCode::NoSuchCounter,
                "this counter's code is no longer in use; please ask the staff at the counter",
            ));
        }
        Ok(point)
    }

    /// A service point was revoked (or given a new device secret): its signed-in device stops
    /// joining calls and leaves the one it is in.
    pub fn revoke_counter(&self, code: &str, revoked: bool) {
        let fx = lock(&self.relay).revoke_counter(code, revoked, Instant::now());
        self.apply(fx);
    }
}

/// The purpose a counter's call is queued with: the counter's, unless the caller chose an
/// emergency (which always keeps its own lane).
pub(super) fn counter_purpose(point: &ServicePoint, asked: Purpose) -> Purpose {
    if asked == Purpose::Emergency {
        return asked;
    }
    crate::signal::from_wire(&point.purpose).unwrap_or(asked)
}
