//! Turns one caller's published RTP (VP8 video, Opus audio) into a WebM file as sent: VP8
//! frames are reassembled from their packets (RFC 7741), Opus packets are frames already, and
//! libwebm muxes them. Frames are kept in memory until the end (a message is minutes long and
//! bounded in bytes), so both tracks can be written in one timestamp order.

use std::io::Cursor;
use std::time::{Duration, Instant};
use thiserror::Error;
use webm::mux::{AudioCodecId, SegmentBuilder, VideoCodecId, Writer};

/// Why a recording could not be written.
#[derive(Debug, Error, PartialEq)]
pub enum RecordError {
    /// No complete frame arrived (camera and microphone both off, or nothing connected).
    #[error("nothing was recorded")]
    Empty,
    /// libwebm refused.
    #[error("the recording could not be written: {0}")]
    Mux(String),
}

#[derive(Debug, Clone)]
struct Frame {
    at_ns: u64,
    data: Vec<u8>,
    key: bool,
    video: bool,
}

/// One track's clock: RTP timestamps counted from the track's first packet, placed on the
/// recording's time line where that packet arrived.
#[derive(Debug, Clone, Copy)]
struct Clock {
    first_ts: u32,
    offset_ns: u64,
    rate: u64,
}

impl Clock {
    fn start(ts: u32, arrived: Duration, rate: u64) -> Self {
        Self {
            first_ts: ts,
            offset_ns: arrived.as_nanos() as u64,
            rate,
        }
    }

    fn ns(&self, ts: u32) -> u64 {
        // Wrapping: an RTP clock may roll over mid-message.
        let ticks = u64::from(ts.wrapping_sub(self.first_ts));
        self.offset_ns + ticks * 1_000_000_000 / self.rate
    }
}

/// A VP8 frame being put together from its packets.
#[derive(Debug)]
struct Partial {
    ts: u32,
    next_seq: u16,
    data: Vec<u8>,
}

/// The recorder of one message.
#[derive(Debug)]
pub struct Recorder {
    started: Instant,
    max_bytes: usize,
    bytes: usize,
    frames: Vec<Frame>,
    video_clock: Option<Clock>,
    audio_clock: Option<Clock>,
    partial: Option<Partial>,
    /// Until a keyframe arrives, frames cannot be decoded and are not kept.
    need_keyframe: bool,
    size: Option<(u32, u32)>,
    full: bool,
}

/// What a VP8 payload descriptor says (RFC 7741 §4.2): where the frame data starts and
/// whether this packet starts a frame.
fn vp8_descriptor(payload: &[u8]) -> Option<(usize, bool)> {
    let b0 = *payload.first()?;
    let mut i = 1;
    if b0 & 0x80 != 0 {
        let x = *payload.get(i)?;
        i += 1;
        if x & 0x80 != 0 {
            // Picture id: 7 or 15 bits.
            let m = *payload.get(i)?;
            i += if m & 0x80 != 0 { 2 } else { 1 };
        }
        if x & 0x40 != 0 {
            i += 1;
        }
        if x & 0x30 != 0 {
            i += 1;
        }
    }
    let start = b0 & 0x10 != 0 && b0 & 0x07 == 0;
    (i < payload.len()).then_some((i, start))
}

/// Width and height of a VP8 keyframe (RFC 6386 §9.1).
fn vp8_size(frame: &[u8]) -> Option<(u32, u32)> {
    if frame.len() < 10 || frame[3..6] != [0x9d, 0x01, 0x2a] {
        return None;
    }
    let w = u32::from(u16::from_le_bytes([frame[6], frame[7]]) & 0x3fff);
    let h = u32::from(u16::from_le_bytes([frame[8], frame[9]]) & 0x3fff);
    (w > 0 && h > 0).then_some((w, h))
}

/// The Opus identification header WebM players expect as the track's CodecPrivate
/// (RFC 7845 §5.1): version 1, stereo, 80 ms pre-skip at 48 kHz, no gain, mapping 0.
fn opus_head() -> Vec<u8> {
    let mut h = b"OpusHead".to_vec();
    h.push(1);
    h.push(2);
    h.extend_from_slice(&3840u16.to_le_bytes());
    h.extend_from_slice(&48_000u32.to_le_bytes());
    h.extend_from_slice(&0i16.to_le_bytes());
    h.push(0);
    h
}

impl Recorder {
    /// A recorder that keeps at most `max_bytes` of media.
    pub fn new(started: Instant, max_bytes: usize) -> Self {
        Self {
            started,
            max_bytes,
            bytes: 0,
            frames: Vec::new(),
            video_clock: None,
            audio_clock: None,
            partial: None,
            need_keyframe: true,
            size: None,
            full: false,
        }
    }

    /// The byte limit was reached: nothing more is kept, and the recording should end.
    pub fn is_full(&self) -> bool {
        self.full
    }

    /// Video cannot go on without a keyframe (at the start, or after a lost packet).
    pub fn needs_keyframe(&self) -> bool {
        self.need_keyframe
    }

    /// Seconds of media so far.
    pub fn duration(&self) -> Duration {
        Duration::from_nanos(self.frames.iter().map(|f| f.at_ns).max().unwrap_or(0))
    }

    fn keep(&mut self, frame: Frame) {
        if self.bytes + frame.data.len() > self.max_bytes {
            self.full = true;
            return;
        }
        self.bytes += frame.data.len();
        self.frames.push(frame);
    }

    /// One Opus RTP packet.
    pub fn audio(&mut self, ts: u32, payload: &[u8], now: Instant) {
        if payload.is_empty() || self.full {
            return;
        }
        let started = self.started;
        let clock = *self
            .audio_clock
            .get_or_insert_with(|| Clock::start(ts, now.duration_since(started), 48_000));
        self.keep(Frame {
            at_ns: clock.ns(ts),
            data: payload.to_vec(),
            key: true,
            video: false,
        });
    }

    /// One VP8 RTP packet.
    pub fn video(&mut self, seq: u16, ts: u32, marker: bool, payload: &[u8], now: Instant) {
        if self.full {
            return;
        }
        let Some((at, start)) = vp8_descriptor(payload) else {
            return;
        };
        let data = &payload[at..];
        if start {
            // A new frame: an unfinished one before it lost its end.
            if self.partial.is_some() {
                self.need_keyframe = true;
            }
            self.partial = Some(Partial {
                ts,
                next_seq: seq.wrapping_add(1),
                data: data.to_vec(),
            });
        } else {
            match self.partial.as_mut() {
                Some(p) if p.ts == ts && p.next_seq == seq => {
                    p.data.extend_from_slice(data);
                    p.next_seq = seq.wrapping_add(1);
                }
                _ => {
                    // A packet was lost or came out of order: this frame is gone.
                    self.partial = None;
                    self.need_keyframe = true;
                    return;
                }
            }
        }
        if !marker {
            return;
        }
        let Some(p) = self.partial.take() else {
            return;
        };
        let key = p.data.first().is_some_and(|b| b & 0x01 == 0);
        if self.need_keyframe && !key {
            return;
        }
        if key {
            self.need_keyframe = false;
            if self.size.is_none() {
                self.size = vp8_size(&p.data);
            }
        }
        let started = self.started;
        let clock = *self
            .video_clock
            .get_or_insert_with(|| Clock::start(p.ts, now.duration_since(started), 90_000));
        self.keep(Frame {
            at_ns: clock.ns(p.ts),
            data: p.data,
            key,
            video: true,
        });
    }

    /// The WebM file of everything kept.
    pub fn finish(mut self) -> Result<Vec<u8>, RecordError> {
        if self.frames.is_empty() {
            return Err(RecordError::Empty);
        }
        let mux = |e: webm::mux::Error| RecordError::Mux(format!("{e:?}"));
        // libwebm wants one non-decreasing time line across tracks.
        self.frames.sort_by_key(|f| f.at_ns);
        let has_video = self.frames.iter().any(|f| f.video);
        let has_audio = self.frames.iter().any(|f| !f.video);
        let mut b = SegmentBuilder::new(Writer::new(Cursor::new(Vec::new())))
            .map_err(mux)?
            .set_writing_app("signrelay")
            .map_err(mux)?;
        let mut video_track = None;
        if has_video {
            let (w, h) = self.size.unwrap_or((640, 480));
            let (nb, t) = b
                .add_video_track(w, h, VideoCodecId::VP8, None)
                .map_err(mux)?;
            b = nb;
            video_track = Some(t);
        }
        let mut audio_track = None;
        if has_audio {
            let (nb, t) = b
                .add_audio_track(48_000, 2, AudioCodecId::Opus, None)
                .map_err(mux)?;
            b = nb.set_codec_private(t, &opus_head()).map_err(mux)?;
            audio_track = Some(t);
        }
        let mut seg = b.build();
        for f in &self.frames {
            let added = match (f.video, video_track, audio_track) {
                (true, Some(t), _) => seg.add_frame(t, &f.data, f.at_ns, f.key),
                (false, _, Some(t)) => seg.add_frame(t, &f.data, f.at_ns, f.key),
                _ => Ok(()),
            };
            added.map_err(mux)?;
        }
        let end = self.frames.last().map(|f| f.at_ns).unwrap_or(0);
        let writer = seg
            .finalize(Some(end / 1_000_000))
            .map_err(|_| RecordError::Mux("finalize failed".into()))?;
        Ok(writer.into_inner().into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A VP8 frame's first bytes: keyframe bit, then the start code and a 320×240 size.
    fn vp8_frame(key: bool, len: usize) -> Vec<u8> {
        let mut f = vec![if key { 0x10 } else { 0x11 }, 0, 0, 0x9d, 0x01, 0x2a];
        f.extend_from_slice(&320u16.to_le_bytes());
        f.extend_from_slice(&240u16.to_le_bytes());
        f.resize(len, 0xab);
        f
    }

    /// Splits a frame into RTP payloads with a one-byte descriptor (S bit on the first).
    fn packets(frame: &[u8], mtu: usize) -> Vec<Vec<u8>> {
        frame
            .chunks(mtu)
            .enumerate()
            .map(|(i, c)| {
                let mut p = vec![if i == 0 { 0x10 } else { 0x00 }];
                p.extend_from_slice(c);
                p
            })
            .collect()
    }

    fn send(r: &mut Recorder, seq: &mut u16, ts: u32, frame: &[u8], t: Instant) {
        let ps = packets(frame, 500);
        let n = ps.len();
        for (i, p) in ps.into_iter().enumerate() {
            r.video(*seq, ts, i + 1 == n, &p, t);
            *seq = seq.wrapping_add(1);
        }
    }

    #[test]
    fn frames_are_reassembled_from_packets_and_muxed_into_webm() {
        let t0 = Instant::now();
        let mut r = Recorder::new(t0, 1 << 20);
        let mut seq = 65_530; // wraps during the test
        assert!(r.needs_keyframe());
        send(&mut r, &mut seq, 1000, &vp8_frame(false, 900), t0);
        assert_eq!(r.frames.len(), 0, "nothing before a keyframe");
        send(&mut r, &mut seq, 4000, &vp8_frame(true, 1800), t0);
        assert!(!r.needs_keyframe());
        send(&mut r, &mut seq, 7000, &vp8_frame(false, 700), t0);
        for i in 0..10u32 {
            r.audio(
                (u32::MAX - 960 * 3).wrapping_add(i * 960),
                &[0xfc, 1, 2, 3],
                t0,
            );
        }
        let video: Vec<_> = r.frames.iter().filter(|f| f.video).collect();
        assert_eq!(video.len(), 2);
        assert_eq!(video[0].data.len(), 1800, "all packets of the frame");
        assert!(video[0].key && !video[1].key);
        assert_eq!(
            video[1].at_ns - video[0].at_ns,
            3000 * 1_000_000_000 / 90_000
        );
        let audio: Vec<_> = r.frames.iter().filter(|f| !f.video).collect();
        assert_eq!(
            audio[9].at_ns - audio[0].at_ns,
            9 * 20_000_000,
            "across the wrap"
        );
        assert_eq!(r.size, Some((320, 240)));
        let webm = r.finish().unwrap();
        assert_eq!(&webm[..4], &[0x1a, 0x45, 0xdf, 0xa3], "an EBML file");
        assert!(webm.windows(4).any(|w| w == b"webm"), "doc type webm");
        assert!(webm.windows(8).any(|w| w == b"OpusHead"));
        assert!(webm.windows(5).any(|w| w == b"V_VP8"));
        assert!(webm.len() > 1800 + 700);
    }

    #[test]
    fn a_lost_packet_drops_frames_until_the_next_keyframe() {
        let t0 = Instant::now();
        let mut r = Recorder::new(t0, 1 << 20);
        let mut seq = 1;
        send(&mut r, &mut seq, 0, &vp8_frame(true, 1200), t0);
        // The middle packet of the next frame goes missing.
        let ps = packets(&vp8_frame(false, 1200), 500);
        r.video(seq, 3000, false, &ps[0], t0);
        r.video(seq + 2, 3000, true, &ps[2], t0);
        seq += 3;
        assert!(r.needs_keyframe());
        send(&mut r, &mut seq, 6000, &vp8_frame(false, 600), t0);
        assert_eq!(
            r.frames.len(),
            1,
            "a delta frame after a loss is not decodable"
        );
        send(&mut r, &mut seq, 9000, &vp8_frame(true, 600), t0);
        assert_eq!(r.frames.len(), 2);
        assert!(!r.needs_keyframe());
    }

    #[test]
    fn the_byte_limit_stops_keeping_and_garbage_is_ignored() {
        let t0 = Instant::now();
        let mut r = Recorder::new(t0, 1000);
        let mut seq = 0;
        send(&mut r, &mut seq, 0, &vp8_frame(true, 900), t0);
        assert!(!r.is_full());
        send(&mut r, &mut seq, 3000, &vp8_frame(false, 900), t0);
        assert!(r.is_full());
        r.video(99, 0, true, &[], t0);
        r.video(99, 0, true, &[0x80], t0);
        r.audio(0, &[], t0);
        assert_eq!(r.frames.len(), 1);
        assert_eq!(Recorder::new(t0, 10).finish(), Err(RecordError::Empty));
    }

    #[test]
    fn an_audio_only_message_is_still_a_file() {
        let t0 = Instant::now();
        let mut r = Recorder::new(t0, 1 << 20);
        for i in 0..50u32 {
            r.audio(i * 960, &[0xfc, 0xff, 0xfe], t0);
        }
        assert!(r.duration() >= Duration::from_millis(980));
        let webm = r.finish().unwrap();
        assert!(!webm.windows(5).any(|w| w == b"V_VP8"));
    }
}
