//! Real-time text (RFC 8865) in a call room: T.140 data channels and their relay. Text must
//! arrive in the order it was typed, so each outgoing channel has one queue drained by one
//! task; what one participant may send is bounded by [`TextFlow`].

use super::{Member, Room, RoomCmd};
use crate::sfu::text_flow::{TextFlow, TextRefusal, MAX_CHUNK_BYTES};
use crate::sfu::SfuError;
use crate::signal::{ErrorCode, ServerMsg, SessionId};
use rtc::data_channel::RTCDataChannelInit;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use webrtc::data_channel::{DataChannel, DataChannelEvent};

/// Chunks waiting for one receiver's channel; with senders rate-limited, a full queue means
/// the receiver's connection is stuck, and its text is dropped rather than held without end.
const DOWN_QUEUE: usize = 512;

/// The channel that carries one other participant's typing to a member, and its single
/// writer.
pub(super) struct TextDown {
    dc: Arc<dyn DataChannel>,
    queue: mpsc::Sender<String>,
    writer: JoinHandle<()>,
}

impl TextDown {
    fn start(dc: Arc<dyn DataChannel>) -> Self {
        let (queue, mut rx) = mpsc::channel::<String>(DOWN_QUEUE);
        let out = dc.clone();
        let writer = tokio::spawn(async move {
            while let Some(chunk) = rx.recv().await {
                if let Err(e) = out.send_text(&chunk).await {
                    tracing::debug!(error = %e, "real-time text not delivered");
                }
            }
        });
        Self { dc, queue, writer }
    }

    /// Queues a chunk behind the ones before it.
    fn send(&self, chunk: String) -> bool {
        self.queue.try_send(chunk).is_ok()
    }

    /// Stops the writer and closes the channel.
    pub(super) async fn close(self) {
        self.writer.abort();
        let _ = self.dc.close().await;
    }
}

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
            member.rtt_down.insert(other, TextDown::start(down));
            match o
                .pc
                .create_data_channel(&format!("rtt:{pid}"), t140())
                .await
            {
                Ok(up) => {
                    o.tasks.push(drain_channel(up.clone(), None));
                    o.rtt_down.insert(session, TextDown::start(up));
                }
                Err(e) => tracing::warn!(error = %e, "no text channel to an existing participant"),
            }
        }
        Ok(())
    }

    /// Sends what one participant typed to everyone else in the call, in order.
    pub(super) fn relay_rtt(&self, session: SessionId, text: String) {
        for (s, m) in &self.members {
            if *s == session {
                continue;
            }
            if let Some(down) = m.rtt_down.get(&session) {
                if !down.send(text.clone()) {
                    tracing::warn!(participant = %m.pid, "real-time text queue full; text dropped");
                }
            }
        }
    }

    /// Tells a typist why their text was not relayed.
    pub(super) fn refuse_rtt(&self, session: SessionId, why: TextRefusal, retry_secs: u64) {
        let Some(m) = self.members.get(&session) else {
            return;
        };
        let message = match why {
            TextRefusal::TooFast => format!("{} (try again in {retry_secs} s)", why.message()),
            _ => why.message().to_owned(),
        };
        m.send(ServerMsg::error(None, ErrorCode::RateLimited, message));
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
/// carries text to relay; the others are read so their events never pile up. This one task
/// per typist checks the text budget, so a flood never reaches the room, and the room's
/// command queue keeps the order in which chunks arrived.
pub(super) fn drain_channel(
    dc: Arc<dyn DataChannel>,
    relay_to: Option<(mpsc::UnboundedSender<RoomCmd>, SessionId)>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut flow = TextFlow::new(Instant::now());
        // Told once per run of refusals of one kind, not once per chunk.
        let mut last_refusal: Option<TextRefusal> = None;
        while let Some(ev) = dc.poll().await {
            match ev {
                DataChannelEvent::OnMessage(msg) => {
                    let Some((room, session)) = &relay_to else {
                        continue;
                    };
                    let verdict = if !msg.is_string || msg.data.len() > MAX_CHUNK_BYTES {
                        Err(TextRefusal::TooLarge)
                    } else {
                        match std::str::from_utf8(&msg.data) {
                            Ok(text) => flow.admit(text, Instant::now()).map(|()| text),
                            Err(_) => Err(TextRefusal::TooLarge),
                        }
                    };
                    let cmd = match verdict {
                        Ok(text) => {
                            last_refusal = None;
                            RoomCmd::Rtt {
                                session: *session,
                                text: text.to_owned(),
                            }
                        }
                        Err(why) if last_refusal == Some(why) => continue,
                        Err(why) => {
                            last_refusal = Some(why);
                            RoomCmd::RttRefused {
                                session: *session,
                                why,
                                retry_secs: flow.wait_for(100).as_secs().max(1),
                            }
                        }
                    };
                    if room.send(cmd).is_err() {
                        break;
                    }
                }
                DataChannelEvent::OnClose => break,
                _ => {}
            }
        }
    })
}
