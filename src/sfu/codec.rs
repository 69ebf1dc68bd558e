//! Codec facts every part of the media plane shares: what is forwarded, under which payload
//! type, and the media engine that offers exactly that.

use crate::sfu::error::SfuError;
use rtc::peer_connection::configuration::media_engine::{
    MIME_TYPE_H264, MIME_TYPE_OPUS, MIME_TYPE_VP8,
};
use rtc::rtp_transceiver::rtp_sender::{
    RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RtpCodecKind,
};
use webrtc::peer_connection::MediaEngine;

/// Payload type of Opus in every offer we make.
pub const OPUS_PT: u8 = 111;
/// Payload type of VP8 in every offer we make.
pub const VP8_PT: u8 = 96;
/// Payload type of H.264 (constrained baseline, packetization mode 1) in every offer we make.
pub const H264_PT: u8 = 102;

/// The codecs this SFU forwards, with fixed payload types. Because the server makes every
/// offer, every leg it offers uses these numbers and forwarded packets only need their payload
/// type set. Browsers publish VP8; H.264 is there for encoders such as OBS, whose WHIP output is
/// H.264 only, and is passed through untouched to viewers whose browsers decode it. No RTX:
/// Chromium then retransmits NACKed packets on the main SSRC, which the forwarder passes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// Opus audio.
    Opus,
    /// VP8 video.
    Vp8,
    /// H.264 video.
    H264,
}

impl Codec {
    /// All of them, in order of preference within a kind.
    pub const ALL: [Codec; 3] = [Codec::Opus, Codec::Vp8, Codec::H264];

    /// By MIME type (case-insensitive), if forwarded.
    pub fn from_mime(mime: &str) -> Option<Codec> {
        Codec::ALL
            .into_iter()
            .find(|c| c.params().rtp_codec.mime_type.eq_ignore_ascii_case(mime))
    }

    /// Audio or video.
    pub fn kind(self) -> RtpCodecKind {
        match self {
            Codec::Opus => RtpCodecKind::Audio,
            _ => RtpCodecKind::Video,
        }
    }

    /// Payload type in our offers.
    pub fn payload_type(self) -> u8 {
        self.params().payload_type
    }

    /// Full codec parameters.
    pub fn params(self) -> RTCRtpCodecParameters {
        let fb = |typ: &str, parameter: &str| RTCPFeedback {
            typ: typ.to_owned(),
            parameter: parameter.to_owned(),
        };
        let video_fb = vec![fb("ccm", "fir"), fb("nack", ""), fb("nack", "pli")];
        let (mime, clock_rate, channels, fmtp, rtcp_feedback, payload_type) = match self {
            Codec::Opus => (
                MIME_TYPE_OPUS,
                48000,
                2,
                "minptime=10;useinbandfec=1",
                vec![],
                OPUS_PT,
            ),
            Codec::Vp8 => (MIME_TYPE_VP8, 90000, 0, "", video_fb, VP8_PT),
            Codec::H264 => (
                MIME_TYPE_H264,
                90000,
                0,
                "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
                video_fb,
                H264_PT,
            ),
        };
        RTCRtpCodecParameters {
            rtp_codec: RTCRtpCodec {
                mime_type: mime.to_owned(),
                clock_rate,
                channels,
                sdp_fmtp_line: fmtp.to_owned(),
                rtcp_feedback,
            },
            payload_type,
        }
    }
}

/// A media engine with exactly the forwarded codecs.
pub fn media_engine() -> Result<MediaEngine, SfuError> {
    let mut me = MediaEngine::default();
    for c in Codec::ALL {
        me.register_codec(c.params(), c.kind())?;
    }
    Ok(me)
}

/// Codec description of a forwarded track (as our outgoing tracks declare it).
pub fn codec_for(codec: Codec) -> RTCRtpCodec {
    let mut c = codec.params().rtp_codec;
    // Feedback is negotiated per leg; the track itself declares none.
    c.rtcp_feedback.clear();
    c
}
