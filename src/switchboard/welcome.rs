//! What a page is told when it arrives and may ask again later: the ICE servers (with a TURN
//! credential of its own), whether the service is open, the sign languages and the emergency
//! contacts.

use super::Switchboard;
use crate::signal::{IceServerInfo, Role, ServerMsg, ServiceHours, SessionId, SignLanguageInfo};

impl Switchboard {
    /// The ICE servers for one session: the configured ones, and TURN with a credential of
    /// its own when `[media.turn]` is set; with the seconds until it should be refreshed.
    pub(super) fn ice_servers(&self, session: SessionId) -> (Vec<IceServerInfo>, u32) {
        let mut out: Vec<IceServerInfo> = self
            .cfg
            .media
            .ice_servers
            .iter()
            .map(|s| IceServerInfo {
                urls: s.urls.clone(),
                username: s.username.clone(),
                credential: s.credential.clone(),
            })
            .collect();
        let Some(turn) = &self.cfg.media.turn else {
            return (out, 0);
        };
        let now = crate::store::now_ms().max(0) as u64 / 1000;
        let cred = crate::turn::issue(turn, &session.to_string(), now);
        out.push(crate::turn::ice_server(turn, cred));
        // The lifetime is at most a week (checked at start), so this fits.
        let refresh = u32::try_from(crate::turn::refresh_after_secs(turn)).unwrap_or(u32::MAX);
        (out, refresh)
    }

    /// Open or closed now; `None` for a service that never closes.
    pub fn service_hours(&self) -> Option<ServiceHours> {
        let h = self.hours.as_ref()?;
        let state = h.state(crate::store::now_ms());
        let (open, closes_at_ms, opens_at_ms) = match state {
            crate::hours::HoursState::Open { closes_at_ms } => (true, Some(closes_at_ms), None),
            crate::hours::HoursState::Closed { opens_at_ms } => (false, None, opens_at_ms),
        };
        Some(ServiceHours {
            open,
            closes_at_ms,
            opens_at_ms,
            utc_offset_minutes: self
                .cfg
                .service
                .hours
                .as_ref()
                .map_or(0, |c| c.utc_offset_minutes),
        })
    }

    pub(super) fn welcome(&self, session: SessionId, role: Role, name: &str) -> ServerMsg {
        let (ice_servers, ice_refresh_secs) = self.ice_servers(session);
        ServerMsg::Welcome {
            session,
            role,
            name: name.to_owned(),
            ice_servers,
            ice_refresh_secs,
            sign_languages: self
                .cfg
                .service
                .sign_languages
                .iter()
                .map(|s| SignLanguageInfo {
                    code: s.code.clone(),
                    name_zh: s.name_zh.clone(),
                    name_en: s.name_en.clone(),
                })
                .collect(),
            captions: self.captions.is_some(),
            emergency_contacts: self.cfg.service.emergency_contacts.clone(),
            service_hours: self.service_hours().map(Box::new),
            handover_suggest_secs: if role == Role::Interpreter {
                self.cfg.service.handover_suggest_secs
            } else {
                0
            },
            videomail_offer_after_secs: (role == Role::Caller && self.videomail.is_some())
                .then_some(u16::try_from(self.cfg.videomail.offer_after_secs).unwrap_or(u16::MAX)),
        }
    }
}
