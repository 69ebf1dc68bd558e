//! Real-time text in a call room: a T.140 channel per direction and pair of participants,
//! and the relay of what each one types to everyone else, in order.

use super::member::Member;
use super::{Room, RoomCmd};
use crate::sfu::error::SfuError;
use crate::sfu::ids::PeerId;
use crate::sfu::text_channel::{drain_channel, t140, TextDown, Typed, TypedTo};

impl Room {
    /// Real-time text channels between a new call participant and everyone already there.
    pub(super) async fn connect_text(&mut self, member: &mut Member) -> Result<(), SfuError> {
        let (peer, pc) = (member.peer, member.pc.clone());
        // RFC 8865: one T.140 channel per direction and party. `rtt:<own id>` carries what this
        // page types; `rtt:<other id>` carries what another participant types.
        let own = pc
            .create_data_channel(&format!("rtt:{peer}"), t140())
            .await?;
        let room = self.me.clone();
        let typed_to: TypedTo = Box::new(move |typed: Typed| {
            let cmd = match typed {
                Ok(text) => RoomCmd::Rtt { peer, text },
                Err((why, retry_secs)) => RoomCmd::RttRefused {
                    peer,
                    why,
                    retry_secs,
                },
            };
            room.send(cmd).is_ok()
        });
        member.tasks.push(drain_channel(own, Some(typed_to)));
        let others: Vec<PeerId> = self.members.keys().copied().collect();
        for other in others {
            let Some(o) = self.members.get_mut(&other) else {
                continue;
            };
            let down = pc
                .create_data_channel(&format!("rtt:{other}"), t140())
                .await?;
            member.tasks.push(drain_channel(down.clone(), None));
            member.text_down.insert(other, TextDown::start(down));
            match o
                .pc
                .create_data_channel(&format!("rtt:{peer}"), t140())
                .await
            {
                Ok(up) => {
                    o.tasks.push(drain_channel(up.clone(), None));
                    o.text_down.insert(peer, TextDown::start(up));
                }
                Err(e) => tracing::warn!(error = %e, "no text channel to an existing participant"),
            }
        }
        Ok(())
    }

    /// Sends what one participant typed to everyone else in the call, in order.
    pub(super) fn relay_text(&self, from: PeerId, text: String) {
        for (peer, m) in &self.members {
            if *peer == from {
                continue;
            }
            if let Some(down) = m.text_down.get(&from) {
                if !down.send(text.clone()) {
                    tracing::warn!(%peer, "real-time text queue full; text dropped");
                }
            }
        }
    }
}
