//! From a speaker's RTP to the recognizer's audio: a small reorder buffer, Opus decoding
//! straight to 16 kHz (libopus resamples internally, so no resampler of ours is needed), loss
//! concealment with in-band FEC, and silence for the gaps a paused or DTX sender leaves.

use std::collections::BTreeMap;
use thiserror::Error;

/// The recognizer's sample rate; Opus decodes to it directly.
pub const RATE: u32 = 16_000;
/// Opus RTP timestamps always count at 48 kHz (RFC 7587).
const RTP_CLOCK: u32 = 48_000;
/// Packets held waiting for a missing one before it is declared lost (~80 ms of 20 ms frames).
const REORDER_DEPTH: usize = 4;
/// Longest silence inserted for a timestamp gap; longer pauses need no more to end an utterance.
const MAX_GAP_MS: u32 = 2000;
/// Most packets concealed one by one in a hole (100 ms). A bigger jump in sequence numbers is
/// not loss the listener would hear filled in, it is a sender that skipped ahead (or a hostile
/// one): the timeline resyncs on the next packet, and its timestamp gap becomes silence
/// bounded by [`MAX_GAP_MS`]. Concealment is bounded by time, never by packet count.
const MAX_CONCEALED: u64 = 5;
/// Largest frame Opus produces: 120 ms.
const MAX_FRAME: usize = RATE as usize * 120 / 1000;

/// Audio that could not be decoded.
#[derive(Debug, Error)]
pub enum TapError {
    /// libopus refused to start.
    #[error("opus decoder: {0}")]
    Opus(#[from] opus::Error),
}

/// Counters of one speaker's audio path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TapStats {
    /// Packets decoded.
    pub decoded: u64,
    /// Packets never received (concealed).
    pub lost: u64,
    /// Of the lost, recovered from the next packet's FEC.
    pub recovered: u64,
    /// Packets that arrived after their slot had been concealed, or duplicates.
    pub late: u64,
    /// Packets libopus refused (corrupt payload); replaced by concealment.
    pub corrupt: u64,
}

struct Held {
    timestamp: u32,
    payload: Vec<u8>,
}

/// One speaker's RTP-to-PCM converter.
pub struct OpusTap {
    decoder: opus::Decoder,
    /// Extended sequence number expected next.
    next: Option<u64>,
    /// Highest extended sequence seen, for unwrapping 16-bit numbers.
    highest: u64,
    held: BTreeMap<u64, Held>,
    /// RTP timestamp where the next decoded sample belongs.
    expected_ts: Option<u32>,
    /// Samples per frame of the last good packet (for concealment length).
    frame: usize,
    scratch: Vec<f32>,
    stats: TapStats,
}

impl OpusTap {
    /// A converter for one mono or stereo Opus stream (decoded to mono).
    pub fn new() -> Result<Self, TapError> {
        Ok(Self {
            decoder: opus::Decoder::new(RATE, opus::Channels::Mono)?,
            next: None,
            highest: 0,
            held: BTreeMap::new(),
            expected_ts: None,
            frame: RATE as usize / 50,
            scratch: vec![0.0; MAX_FRAME],
            stats: TapStats::default(),
        })
    }

    /// Counters so far.
    pub fn stats(&self) -> &TapStats {
        &self.stats
    }

    fn extend(&mut self, seq: u16) -> u64 {
        if self.next.is_none() {
            self.highest = u64::from(seq) + (1 << 16);
            return self.highest;
        }
        let base = self.highest & !0xffff;
        let candidates = [base.wrapping_sub(1 << 16), base, base + (1 << 16)];
        let ext = candidates
            .into_iter()
            .map(|b| b + u64::from(seq))
            .min_by_key(|c| c.abs_diff(self.highest))
            .unwrap_or(base + u64::from(seq));
        self.highest = self.highest.max(ext);
        ext
    }

    /// Takes one RTP packet; returns the 16 kHz samples it completes (possibly none while a
    /// missing packet is awaited, possibly several frames once it is given up).
    pub fn push(&mut self, seq: u16, timestamp: u32, payload: &[u8]) -> Vec<f32> {
        let ext = self.extend(seq);
        let next = *self.next.get_or_insert(ext);
        if ext < next || self.held.contains_key(&ext) {
            self.stats.late += 1;
            return Vec::new();
        }
        let mut out = Vec::new();
        if ext == next && self.held.is_empty() {
            // In order with nothing missing, as nearly every packet is: no copy, no holding.
            self.play(next, timestamp, payload, &mut out);
            return out;
        }
        self.held.insert(
            ext,
            Held {
                timestamp,
                payload: payload.to_vec(),
            },
        );
        self.drain(&mut out, false);
        out
    }

    /// Decodes packet `seq` in its place on the timeline.
    fn play(&mut self, seq: u64, timestamp: u32, payload: &[u8], out: &mut Vec<f32>) {
        self.fill_gap(timestamp, out);
        self.decode(payload, false, out);
        self.expected_ts = Some(timestamp.wrapping_add((self.frame as u32) * (RTP_CLOCK / RATE)));
        self.next = Some(seq + 1);
    }

    /// Decodes everything still held (the stream ended), concealing what never came.
    pub fn flush(&mut self) -> Vec<f32> {
        let mut out = Vec::new();
        self.drain(&mut out, true);
        out
    }

    fn drain(&mut self, out: &mut Vec<f32>, all: bool) {
        while let Some(next) = self.next {
            if let Some(h) = self.held.remove(&next) {
                self.play(next, h.timestamp, &h.payload, out);
                continue;
            }
            if self.held.is_empty() || (!all && self.held.len() < REORDER_DEPTH) {
                break;
            }
            if let Some(&first) = self.held.keys().next() {
                if first - next > MAX_CONCEALED {
                    self.stats.lost += MAX_CONCEALED;
                    self.next = Some(first);
                    continue;
                }
            }
            // `next` is lost. The packet after it may carry it as in-band FEC.
            self.stats.lost += 1;
            match self.held.get(&(next + 1)) {
                Some(after) => {
                    let payload = after.payload.clone();
                    if self.decode(&payload, true, out) {
                        self.stats.recovered += 1;
                    }
                }
                None => {
                    self.decode(&[], false, out);
                }
            }
            self.expected_ts = self
                .expected_ts
                .map(|t| t.wrapping_add((self.frame as u32) * (RTP_CLOCK / RATE)));
            self.next = Some(next + 1);
        }
    }

    /// Silence for a jump in timestamps: the sender paused (muted, DTX, tab in background).
    fn fill_gap(&mut self, timestamp: u32, out: &mut Vec<f32>) {
        let Some(expected) = self.expected_ts else {
            return;
        };
        let gap = timestamp.wrapping_sub(expected);
        // A "gap" of more than half the clock range is a timestamp going backwards: ignore.
        if gap == 0 || gap > u32::MAX / 2 {
            return;
        }
        let ms = (gap / (RTP_CLOCK / 1000)).min(MAX_GAP_MS);
        out.extend(std::iter::repeat_n(0.0, (ms * RATE / 1000) as usize));
    }

    /// Decodes one payload (empty = conceal) into `out`; false if libopus refused it.
    fn decode(&mut self, payload: &[u8], fec: bool, out: &mut Vec<f32>) -> bool {
        let want = if payload.is_empty() || fec {
            // Concealment and FEC must be asked for exactly one frame's length.
            self.frame
        } else {
            MAX_FRAME
        };
        match self
            .decoder
            .decode_float(payload, &mut self.scratch[..want], fec)
        {
            Ok(n) => {
                if !payload.is_empty() && !fec {
                    self.frame = n.max(1);
                    self.stats.decoded += 1;
                }
                out.extend_from_slice(&self.scratch[..n]);
                true
            }
            Err(e) => {
                tracing::debug!(error = %e, "opus packet refused; concealed");
                self.stats.corrupt += 1;
                if !payload.is_empty() {
                    if let Ok(n) =
                        self.decoder
                            .decode_float(&[], &mut self.scratch[..self.frame], false)
                    {
                        out.extend_from_slice(&self.scratch[..n]);
                    }
                }
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 20 ms Opus packets of a 440 Hz tone, as a browser would send them.
    fn packets(n: usize) -> Vec<Vec<u8>> {
        let mut enc =
            opus::Encoder::new(48_000, opus::Channels::Mono, opus::Application::Voip).unwrap();
        enc.set_inband_fec(true).unwrap();
        enc.set_packet_loss_perc(20).unwrap();
        (0..n)
            .map(|i| {
                let pcm: Vec<f32> = (0..960)
                    .map(|k| {
                        let t = (i * 960 + k) as f32 / 48_000.0;
                        (t * 440.0 * std::f32::consts::TAU).sin() * 0.3
                    })
                    .collect();
                enc.encode_vec_float(&pcm, 4000).unwrap()
            })
            .collect()
    }

    fn run(tap: &mut OpusTap, order: &[usize], pk: &[Vec<u8>], seq0: u16) -> Vec<f32> {
        let mut out = Vec::new();
        for &i in order {
            let seq = seq0.wrapping_add(i as u16);
            out.extend(tap.push(seq, (i as u32) * 960, &pk[i]));
        }
        out.extend(tap.flush());
        out
    }

    #[test]
    fn in_order_packets_decode_to_16k_with_no_loss() {
        let pk = packets(50);
        let mut tap = OpusTap::new().unwrap();
        let order: Vec<usize> = (0..50).collect();
        let out = run(&mut tap, &order, &pk, 100);
        assert_eq!(out.len(), 50 * 320);
        assert_eq!(tap.stats().decoded, 50);
        assert_eq!(tap.stats().lost, 0);
        let rms = (out[8000..].iter().map(|x| x * x).sum::<f32>() / 8000.0).sqrt();
        assert!(rms > 0.1, "the tone survives decoding (rms {rms})");
    }

    #[test]
    fn reordered_packets_across_the_sequence_wrap_lose_nothing() {
        let pk = packets(20);
        let mut tap = OpusTap::new().unwrap();
        let order = [
            0, 1, 3, 2, 4, 6, 5, 7, 8, 9, 11, 10, 12, 13, 14, 15, 16, 17, 18, 19,
        ];
        let out = run(&mut tap, &order, &pk, 65530);
        assert_eq!(out.len(), 20 * 320);
        assert_eq!(tap.stats().lost, 0);
        assert_eq!(tap.stats().late, 0);
    }

    #[test]
    fn a_lost_packet_is_concealed_and_keeps_the_timeline() {
        let pk = packets(30);
        let mut tap = OpusTap::new().unwrap();
        let order: Vec<usize> = (0..30).filter(|i| *i != 10).collect();
        let out = run(&mut tap, &order, &pk, 7);
        assert_eq!(
            out.len(),
            30 * 320,
            "the lost frame is replaced, not skipped"
        );
        assert_eq!(tap.stats().lost, 1);
        assert_eq!(
            tap.stats().recovered,
            1,
            "recovered from the next packet's FEC"
        );
    }

    #[test]
    fn a_late_duplicate_is_ignored_and_garbage_is_concealed() {
        let pk = packets(10);
        let mut tap = OpusTap::new().unwrap();
        let mut out = Vec::new();
        for (i, p) in pk.iter().enumerate() {
            out.extend(tap.push(i as u16, (i as u32) * 960, p));
        }
        out.extend(tap.push(3, 3 * 960, &pk[3]));
        out.extend(tap.push(10, 10 * 960, &[0xff, 0xff, 0xff]));
        out.extend(tap.flush());
        assert_eq!(tap.stats().late, 1);
        assert_eq!(tap.stats().corrupt, 1);
        assert_eq!(out.len(), 11 * 320);
    }

    #[test]
    fn a_jump_in_sequence_numbers_costs_bounded_time_not_a_packet_each() {
        let pk = packets(8);
        let mut tap = OpusTap::new().unwrap();
        let mut out = Vec::new();
        for (i, p) in pk.iter().take(2).enumerate() {
            out.extend(tap.push(i as u16, (i as u32) * 960, p));
        }
        // A sender (or an attacker) jumps 32 767 numbers ahead with the timestamps going on.
        for (k, p) in pk.iter().skip(2).enumerate() {
            let seq = 1u16.wrapping_add(32_767).wrapping_add(k as u16);
            out.extend(tap.push(seq, (2 + k as u32) * 960, p));
        }
        out.extend(tap.flush());
        // Eight packets of audio, not 32 000 concealed ones.
        assert!(out.len() <= 8 * 320 + 2 * 16_000, "{} samples", out.len());
        assert!(out.len() >= 8 * 320, "{} samples", out.len());
    }

    #[test]
    fn a_timestamp_jump_becomes_silence() {
        let pk = packets(4);
        let mut tap = OpusTap::new().unwrap();
        let mut out = Vec::new();
        out.extend(tap.push(0, 0, &pk[0]));
        out.extend(tap.push(1, 960, &pk[1]));
        // The sender was muted for one second.
        out.extend(tap.push(2, 960 * 2 + 48_000, &pk[2]));
        out.extend(tap.flush());
        assert_eq!(out.len(), 3 * 320 + 16_000);
    }
}
