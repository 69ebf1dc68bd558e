//! How much real-time text one participant may send: a pure rule (input + now -> verdict), so
//! a page that floods its text channel is refused with a reason instead of growing queues.

use std::time::{Duration, Instant};

/// Largest chunk of real-time text accepted at once; T.140 sends a few characters at a time,
/// and a paste of a paragraph fits.
pub const MAX_CHUNK_BYTES: usize = 4096;
/// Longest line (characters between line separators) a participant may type.
pub const MAX_LINE_CHARS: usize = 2000;
/// Sustained characters per second: a very fast typist makes ~15, a paste a burst.
const RATE_CHARS_PER_SEC: f64 = 200.0;
/// Characters that may arrive at once before the rate applies (a pasted paragraph).
const BURST_CHARS: f64 = 4000.0;

/// T.140 line separator (RFC 8865 uses U+2028).
const LINE_SEP: char = '\u{2028}';
/// T.140 backspace.
const BACKSPACE: char = '\u{8}';

/// Why a chunk of text was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextRefusal {
    /// The chunk is over [`MAX_CHUNK_BYTES`] or not text.
    TooLarge,
    /// More text than [`RATE_CHARS_PER_SEC`] allows.
    TooFast,
    /// The current line is over [`MAX_LINE_CHARS`]; a line separator starts a new one.
    LineTooLong,
}

impl TextRefusal {
    /// What the page is told.
    pub fn message(self) -> &'static str {
        match self {
            TextRefusal::TooLarge => "that piece of text is too large to send at once",
            TextRefusal::TooFast => "text is arriving faster than anyone can type; slow down",
            TextRefusal::LineTooLong => "the line is too long; start a new line",
        }
    }
}

/// One participant's text budget and the length of the line they are typing.
#[derive(Debug, Clone)]
pub struct TextFlow {
    tokens: f64,
    last: Instant,
    line_chars: usize,
}

impl TextFlow {
    /// A participant who has sent nothing yet.
    pub fn new(now: Instant) -> Self {
        Self {
            tokens: BURST_CHARS,
            last: now,
            line_chars: 0,
        }
    }

    /// Whether `chunk` may be relayed now; accepting it spends its characters.
    pub fn admit(&mut self, chunk: &str, now: Instant) -> Result<(), TextRefusal> {
        if chunk.len() > MAX_CHUNK_BYTES {
            return Err(TextRefusal::TooLarge);
        }
        let elapsed = now.saturating_duration_since(self.last);
        self.last = now;
        self.tokens = (self.tokens + elapsed.as_secs_f64() * RATE_CHARS_PER_SEC).min(BURST_CHARS);
        let chars = chunk.chars().count() as f64;
        if chars > self.tokens {
            return Err(TextRefusal::TooFast);
        }
        let mut line = self.line_chars;
        for c in chunk.chars() {
            match c {
                LINE_SEP | '\n' => line = 0,
                BACKSPACE => line = line.saturating_sub(1),
                _ => line += 1,
            }
        }
        if line > MAX_LINE_CHARS {
            return Err(TextRefusal::LineTooLong);
        }
        self.tokens -= chars;
        self.line_chars = line;
        Ok(())
    }

    /// How long until `chars` more characters would be accepted (for the refusal's hint).
    pub fn wait_for(&self, chars: usize) -> Duration {
        let missing = (chars as f64 - self.tokens).max(0.0);
        Duration::from_secs_f64(missing / RATE_CHARS_PER_SEC)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typing_and_pasting_pass() {
        let t0 = Instant::now();
        let mut f = TextFlow::new(t0);
        for i in 0..500u64 {
            assert_eq!(f.admit("a", t0 + Duration::from_millis(i * 20)), Ok(()));
        }
        assert_eq!(
            f.admit(&"段".repeat(1000), t0 + Duration::from_secs(10)),
            Ok(())
        );
    }

    #[test]
    fn a_flood_is_refused_then_recovers() {
        let t0 = Instant::now();
        let mut f = TextFlow::new(t0);
        let chunk = format!("{}\u{2028}", "x".repeat(999));
        let mut accepted = 0;
        for _ in 0..100 {
            if f.admit(&chunk, t0).is_ok() {
                accepted += 1;
            }
        }
        assert_eq!(accepted, 4, "only the burst passes at one instant");
        assert_eq!(f.admit(&chunk, t0), Err(TextRefusal::TooFast));
        assert!(f.wait_for(1000) > Duration::from_secs(4));
        assert_eq!(f.admit(&chunk, t0 + Duration::from_secs(6)), Ok(()));
    }

    #[test]
    fn oversized_chunks_and_endless_lines_are_refused() {
        let t0 = Instant::now();
        let mut f = TextFlow::new(t0);
        assert_eq!(
            f.admit(&"x".repeat(MAX_CHUNK_BYTES + 1), t0),
            Err(TextRefusal::TooLarge)
        );
        let mut t = t0;
        let mut refused = None;
        for i in 0..30 {
            t += Duration::from_secs(1);
            if let Err(e) = f.admit(&"y".repeat(100), t) {
                refused = Some((i, e));
                break;
            }
        }
        assert_eq!(refused, Some((20, TextRefusal::LineTooLong)));
        // Backspaces shorten the line; a separator starts a new one.
        t += Duration::from_secs(1);
        assert_eq!(f.admit("\u{8}\u{8}zz", t), Ok(()));
        assert_eq!(f.admit("\u{2028}", t), Ok(()));
        assert_eq!(f.admit(&"y".repeat(100), t), Ok(()));
    }
}
