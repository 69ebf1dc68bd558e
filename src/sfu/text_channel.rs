//! Real-time text (RFC 8865) channels: T.140 data channels, one ordered writer per receiving
//! channel, and one reader per typist that admits text within its [`TextFlow`] budget.

use crate::sfu::text_flow::{TextFlow, TextRefusal, MAX_CHUNK_BYTES};
use rtc::data_channel::RTCDataChannelInit;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use webrtc::data_channel::{DataChannel, DataChannelEvent};

/// Chunks waiting for one receiver's channel; with senders rate-limited, a full queue means
/// the receiver's connection is stuck, and its text is dropped rather than held without end.
const DOWN_QUEUE: usize = 512;

/// What a typist's channel produced: text to relay, or a refusal to report.
pub type Typed = Result<String, (TextRefusal, u64)>;

/// Where a typist's text goes; returns false once nobody listens (the room is gone).
pub type TypedTo = Box<dyn Fn(Typed) -> bool + Send + Sync>;

/// The channel that carries one other participant's typing to a peer, and its single writer.
pub struct TextDown {
    dc: Arc<dyn DataChannel>,
    queue: mpsc::Sender<String>,
    writer: JoinHandle<()>,
}

impl TextDown {
    /// Starts the writer of `dc`.
    pub fn start(dc: Arc<dyn DataChannel>) -> Self {
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

    /// Queues a chunk behind the ones before it; false if the queue is full.
    pub fn send(&self, chunk: String) -> bool {
        self.queue.try_send(chunk).is_ok()
    }

    /// Stops the writer and closes the channel.
    pub async fn close(self) {
        self.writer.abort();
        let _ = self.dc.close().await;
    }
}

/// Options of a T.140 channel.
pub fn t140() -> Option<RTCDataChannelInit> {
    Some(RTCDataChannelInit {
        ordered: true,
        protocol: "t140".to_owned(),
        ..Default::default()
    })
}

/// Reads a data channel until it closes. Only a participant's own channel (`typed_to` set)
/// carries text to relay; the others are read so their events never pile up. This one task
/// per typist checks the text budget, so a flood never reaches the room, and the order in
/// which chunks arrived is the order they are handed on.
pub fn drain_channel(dc: Arc<dyn DataChannel>, typed_to: Option<TypedTo>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut flow = TextFlow::new(Instant::now());
        // Told once per run of refusals of one kind, not once per chunk.
        let mut last_refusal: Option<TextRefusal> = None;
        while let Some(ev) = dc.poll().await {
            match ev {
                DataChannelEvent::OnMessage(msg) => {
                    let Some(typed_to) = &typed_to else {
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
                    let typed = match verdict {
                        Ok(text) => {
                            last_refusal = None;
                            Ok(text.to_owned())
                        }
                        Err(why) if last_refusal == Some(why) => continue,
                        Err(why) => {
                            last_refusal = Some(why);
                            Err((why, flow.wait_for(100).as_secs().max(1)))
                        }
                    };
                    if !typed_to(typed) {
                        break;
                    }
                }
                DataChannelEvent::OnClose => break,
                _ => {}
            }
        }
    })
}
