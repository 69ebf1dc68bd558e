//! Ingest by WHIP (RFC 9725) and playback by WHEP: here the client offers and the server
//! answers, once, with all its candidates (no trickle). An encoder's tracks are then published
//! like a page's; a player receives the featured publisher's audio and video.

use super::member::Member;
use super::{Room, GATHER_TIMEOUT};
use crate::sfu::error::SfuError;
use crate::sfu::ids::{PeerId, Presence};
use crate::sfu::sdp;
use std::sync::atomic::Ordering;
use webrtc::peer_connection::RTCSessionDescription;

impl Room {
    pub(super) async fn whip(&mut self, peer: PeerId, offer: String) -> Result<String, SfuError> {
        if self.members.contains_key(&peer) {
            return Err(SfuError::BadOffer("this session already publishes".into()));
        }
        let offer = self.candidate_policy().filter_sdp(&offer);
        let desc =
            RTCSessionDescription::offer(offer).map_err(|e| SfuError::BadOffer(e.to_string()))?;
        let mut member = self
            .new_member(peer, Presence::Publisher { featured: true }, false)
            .await?;
        match self.answer_offer(&member, desc).await {
            Ok(answer) => {
                member.negotiation.client_offer_answered();
                tracing::info!(room = %self.id, %peer, "WHIP encoder connected");
                self.members.insert(peer, member);
                self.start_deadline(peer);
                Ok(answer)
            }
            Err(e) => {
                self.close_member(member).await;
                Err(e)
            }
        }
    }

    pub(super) async fn whep(&mut self, peer: PeerId, offer: String) -> Result<String, SfuError> {
        if self.members.contains_key(&peer) {
            return Err(SfuError::BadOffer("this session already plays".into()));
        }
        let fanouts: Vec<_> = self
            .members
            .values()
            .filter(|m| m.presence.featured())
            .flat_map(|m| m.published.iter().cloned())
            .collect();
        if fanouts.is_empty() {
            return Err(SfuError::NotLive);
        }
        let offer = self.candidate_policy().filter_sdp(&offer);
        let desc =
            RTCSessionDescription::offer(offer).map_err(|e| SfuError::BadOffer(e.to_string()))?;
        let mut member = self.new_member(peer, Presence::Viewer, false).await?;
        // The tracks exist before the offer is applied, so its recvonly lines pair with them.
        let mut res = Ok(String::new());
        for f in &fanouts {
            if let Err(e) = self.subscribe(&mut member, f).await {
                res = Err(e);
            }
        }
        if res.is_ok() {
            res = self.answer_offer(&member, desc).await;
        }
        match res {
            Ok(answer) => {
                let opened = member.negotiation.client_offer_answered();
                for (s, f) in member.subs.iter().zip(&fanouts) {
                    // The player's offer chose the payload type numbers on this leg.
                    if let Ok(params) = s.sender.get_parameters().await {
                        let want = f.codec.params().rtp_codec.mime_type;
                        if let Some(c) = params
                            .rtp_parameters
                            .codecs
                            .iter()
                            .find(|c| c.rtp_codec.mime_type.eq_ignore_ascii_case(&want))
                        {
                            s.payload_type.store(c.payload_type, Ordering::Relaxed);
                        }
                    }
                    if opened.contains(&s.id) {
                        s.ready.store(true, Ordering::Release);
                    }
                    f.request_keyframe();
                }
                tracing::info!(room = %self.id, %peer, "WHEP player connected");
                self.members.insert(peer, member);
                self.start_deadline(peer);
                Ok(answer)
            }
            Err(e) => {
                self.close_member(member).await;
                Err(e)
            }
        }
    }

    async fn answer_offer(
        &self,
        m: &Member,
        offer: RTCSessionDescription,
    ) -> Result<String, SfuError> {
        let bad = |e: webrtc::error::Error| SfuError::BadOffer(e.to_string());
        m.pc.set_remote_description(offer).await.map_err(bad)?;
        let answer = m.pc.create_answer(None).await.map_err(bad)?;
        m.pc.set_local_description(answer).await?;
        let mut g = m.gathered.clone();
        let _ = tokio::time::timeout(GATHER_TIMEOUT, g.wait_for(|done| *done)).await;
        let local =
            m.pc.local_description()
                .await
                .ok_or_else(|| SfuError::BadOffer("no local description".into()))?;
        Ok(match self.shared.media.public_ip {
            Some(ip) => sdp::rewrite_candidates(&local.sdp, ip),
            None => local.sdp,
        })
    }
}
