//! One peer in a room: its connection, what it publishes, what it receives and where its
//! negotiation stands.

use crate::sfu::forward::Fanout;
use crate::sfu::ids::{PeerId, Presence};
use crate::sfu::negotiation::{Negotiator, SubId};
use crate::sfu::text_channel::TextDown;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU8};
use std::sync::{Arc, Weak};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use webrtc::peer_connection::PeerConnection;
use webrtc::rtp_transceiver::RtpSender;

/// One forwarded track on one receiving peer's connection.
pub(crate) struct Subscription {
    pub(crate) id: SubId,
    pub(crate) publisher: PeerId,
    /// What the forwarded codec is called on this subscriber's leg.
    pub(crate) payload_type: Arc<AtomicU8>,
    /// Set when negotiation opens the subscription; the writer sends nothing before.
    pub(crate) ready: Arc<AtomicBool>,
    pub(crate) fanout: Weak<Fanout>,
    pub(crate) sender: Arc<dyn RtpSender>,
    pub(crate) writer: JoinHandle<()>,
    pub(crate) feedback: JoinHandle<()>,
}

impl Subscription {
    /// Stops its tasks (its transceiver is the connection's business).
    pub(crate) fn stop(&self) {
        self.writer.abort();
        self.feedback.abort();
    }
}

pub(crate) struct Member {
    pub(crate) peer: PeerId,
    pub(crate) presence: Presence,
    /// A page, which the room sends offers; an encoder or player that came by WHIP/WHEP
    /// offered itself once and cannot renegotiate.
    pub(crate) signaled: bool,
    pub(crate) pc: Arc<dyn PeerConnection>,
    pub(crate) port: u16,
    pub(crate) gathered: watch::Receiver<bool>,
    pub(crate) negotiation: Negotiator,
    next_sub: SubId,
    pub(crate) published: Vec<Arc<Fanout>>,
    pub(crate) subs: Vec<Subscription>,
    /// Other participants' typing, one ordered writer each.
    pub(crate) text_down: HashMap<PeerId, TextDown>,
    pub(crate) tasks: Vec<JoinHandle<()>>,
    /// ICE and DTLS are up.
    pub(crate) connected: bool,
    /// The deadline to connect is running.
    pub(crate) deadline_set: bool,
}

impl Member {
    pub(crate) fn new(
        peer: PeerId,
        presence: Presence,
        signaled: bool,
        pc: Arc<dyn PeerConnection>,
        port: u16,
        gathered: watch::Receiver<bool>,
    ) -> Self {
        Self {
            peer,
            presence,
            signaled,
            pc,
            port,
            gathered,
            negotiation: Negotiator::new(presence.publishes()),
            next_sub: 0,
            published: Vec::new(),
            subs: Vec::new(),
            text_down: HashMap::new(),
            tasks: Vec::new(),
            connected: false,
            deadline_set: false,
        }
    }

    /// A fresh subscription number.
    pub(crate) fn sub_id(&mut self) -> SubId {
        self.next_sub += 1;
        self.next_sub
    }

    /// Receives forwarded media: pages, and WHEP players at the start. An encoder publishing
    /// by WHIP cannot renegotiate, so it receives nothing.
    pub(crate) fn receives(&self) -> bool {
        self.signaled
    }

    /// Asks every publisher it receives for a keyframe.
    pub(crate) fn request_keyframes(&self) {
        for s in &self.subs {
            if let Some(f) = s.fanout.upgrade() {
                f.request_keyframe();
            }
        }
    }
}
