//! Real-time text (RFC 8865) in a call room: T.140 data channels and their relay.

use super::{Member, Room, RoomCmd};
use crate::sfu::SfuError;
use crate::signal::SessionId;
use rtc::data_channel::RTCDataChannelInit;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use webrtc::data_channel::{DataChannel, DataChannelEvent};

/// Largest real-time-text chunk relayed; T.140 sends a few characters at a time.
const MAX_RTT_BYTES: usize = 4096;

impl Room {
    /// Real-time text channels between a new call participant and everyone already there.
    pub(super) async fn connect_text(&mut self, member: &mut Member) -> Result<(), SfuError> {
        let (session, pid, pc) = (member.session, member.pid.clone(), member.pc.clone());
        // RFC 8865: one T.140 channel per direction and party. `rtt:<own id>` carries what this
        // page types; `rtt:<other id>` carries what another participant types.
        let own = pc
            .create_data_channel(&format!("rtt:{pid}"), t140())
            .await?;
        member
            .tasks
            .push(drain_channel(own, Some((self.me.clone(), session))));
        let others: Vec<SessionId> = self.members.keys().copied().collect();
        for other in others {
            let Some(o) = self.members.get_mut(&other) else {
                continue;
            };
            let down = pc
                .create_data_channel(&format!("rtt:{}", o.pid), t140())
                .await?;
            member.tasks.push(drain_channel(down.clone(), None));
            member.rtt_down.insert(other, down);
            match o
                .pc
                .create_data_channel(&format!("rtt:{pid}"), t140())
                .await
            {
                Ok(up) => {
                    o.tasks.push(drain_channel(up.clone(), None));
                    o.rtt_down.insert(session, up);
                }
                Err(e) => tracing::warn!(error = %e, "no text channel to an existing participant"),
            }
        }
        Ok(())
    }

    /// Sends what one participant typed to everyone else in the call.
    pub(super) fn relay_rtt(&self, session: SessionId, text: String) {
        for (s, m) in &self.members {
            if *s == session {
                continue;
            }
            if let Some(dc) = m.rtt_down.get(&session) {
                let dc = dc.clone();
                let text = text.clone();
                tokio::spawn(async move {
                    let _ = dc.send_text(&text).await;
                });
            }
        }
    }
}

pub(super) fn t140() -> Option<RTCDataChannelInit> {
    Some(RTCDataChannelInit {
        ordered: true,
        protocol: "t140".to_owned(),
        ..Default::default()
    })
}

/// Reads a data channel until it closes. Only a participant's own channel (`relay_to` set)
/// carries text to relay; the others are read so their events never pile up.
pub(super) fn drain_channel(
    dc: Arc<dyn DataChannel>,
    relay_to: Option<(mpsc::UnboundedSender<RoomCmd>, SessionId)>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(ev) = dc.poll().await {
            match ev {
                DataChannelEvent::OnMessage(msg) => {
                    let Some((room, session)) = &relay_to else {
                        continue;
                    };
                    if !msg.is_string || msg.data.len() > MAX_RTT_BYTES {
                        continue;
                    }
                    if let Ok(text) = std::str::from_utf8(&msg.data) {
                        let _ = room.send(RoomCmd::Rtt {
                            session: *session,
                            text: text.to_owned(),
                        });
                    }
                }
                DataChannelEvent::OnClose => break,
                _ => {}
            }
        }
    })
}
