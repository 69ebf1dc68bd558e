//! A voice-activity gate: cheap enough to run on every 20 ms frame, so silence and steady
//! noise never reach the recognizer.

/// Samples per frame at 16 kHz (20 ms).
pub const FRAME: usize = 320;
/// Below this level a frame is silence whatever the noise floor (dBFS).
const ABS_FLOOR_DB: f32 = -55.0;
/// Speech must stand this far above the tracked noise floor (dB).
const MARGIN_DB: f32 = 9.0;
/// Frames a detection is held after the level drops (covers gaps between syllables).
const HANGOVER_FRAMES: u32 = 15;

/// Frames the noise floor looks back over (3 s).
const FLOOR_WINDOW: usize = 150;

/// Energy detector over a minimum-statistics noise floor: the floor is the quietest frame of
/// the last 3 s. Speech always dips between words within that time, so it stays above the
/// floor; steady noise (fans, hum, hiss) is its own floor and never counts as voice.
#[derive(Debug, Clone, Default)]
pub struct Vad {
    levels: std::collections::VecDeque<f32>,
    hang: u32,
    last_loud: bool,
}

/// Level of a frame in dBFS.
pub fn level_db(frame: &[f32]) -> f32 {
    let e = frame.iter().map(|x| x * x).sum::<f32>() / frame.len().max(1) as f32;
    10.0 * (e + 1e-12).log10()
}

impl Vad {
    /// A detector with no history.
    pub fn new() -> Self {
        Self::default()
    }

    /// The last frame was itself loud (not just held on by the hangover).
    pub fn last_was_loud(&self) -> bool {
        self.last_loud
    }

    /// Classifies one frame: true for voice.
    pub fn frame(&mut self, frame: &[f32]) -> bool {
        let db = level_db(frame);
        if self.levels.len() == FLOOR_WINDOW {
            self.levels.pop_front();
        }
        self.levels.push_back(db);
        let floor = self.levels.iter().copied().fold(f32::INFINITY, f32::min);
        let loud = db > ABS_FLOOR_DB && db > floor + MARGIN_DB;
        self.last_loud = loud;
        if loud {
            self.hang = HANGOVER_FRAMES;
            true
        } else if self.hang > 0 {
            self.hang -= 1;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(v: &[f32]) -> Vec<&[f32]> {
        v.chunks(FRAME).collect()
    }

    fn noise(n: usize, amp: f32, seed: u32) -> Vec<f32> {
        let mut x = seed;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x as f32 / u32::MAX as f32 * 2.0 - 1.0) * amp
            })
            .collect()
    }

    #[test]
    fn silence_is_never_voice() {
        let mut v = Vad::new();
        let silence = vec![0.0f32; 16_000 * 3];
        assert!(frames(&silence).iter().all(|f| !v.frame(f)));
    }

    #[test]
    fn steady_noise_is_not_voice() {
        let mut v = Vad::new();
        let hiss = noise(16_000 * 6, 0.2, 7);
        let flags: Vec<bool> = frames(&hiss).iter().map(|f| v.frame(f)).collect();
        assert!(flags.iter().all(|x| !x), "the hiss is its own floor");
    }

    #[test]
    fn bursts_above_the_floor_are_voice() {
        let mut v = Vad::new();
        let mut sig = noise(16_000 * 3, 0.005, 3);
        for (i, s) in sig.iter_mut().enumerate().skip(16_000 * 2).take(8_000) {
            *s += (i as f32 * 0.1).sin() * 0.3;
        }
        let flags: Vec<bool> = frames(&sig).iter().map(|f| v.frame(f)).collect();
        assert!(flags[105..120].iter().all(|x| *x), "the burst is voice");
        assert!(
            flags[60..95].iter().all(|x| !x),
            "the quiet before it is not"
        );
    }
}
