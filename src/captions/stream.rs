//! The streaming recognizer: audio in small chunks, caption events out. Each decode re-reads
//! the current buffer; LocalAgreement-2 decides what is final; pauses flush the utterance.

use super::agreement::{Agreement, Unit};
use super::event::CaptionEvent;
use super::guard::{invented, Repeats};
use super::settle::Settler;
use super::vad::{Vad, FRAME};
use super::{build_prompt, caption_text, join_units, segments_to_units};
use crate::asr::{AsrError, DecodeRequest, Decoded, Engine, Lang};
use std::time::Duration;

const SAMPLES_PER_MS: usize = 16;
/// A buffer with less speech than this is not decoded: Whisper turns a breath or the tail of
/// a sentence into words that were never said.
const MIN_LOUD_MS: u64 = 300;
/// Most loud speech one committed Chinese character or word accounts for when the buffer is
/// cut after it (about three times what it takes to say).
const LOUD_MS_PER_CHAR: u64 = 500;
const LOUD_MS_PER_WORD: u64 = 800;
/// Loud speech beyond that allowed for (a filler, a word Whisper rightly left out).
const COVER_SLACK_MS: u64 = 1000;
/// Loud speech a decode must leave unread, beyond its allowance, to be read again without
/// context (`skipped_speech`).
const SKIPPED_MS: u64 = 2000;
/// Frames without loud speech (the voice detector's hangover aside) that make a pause the
/// settling pass may cut at: 400 ms, a pause between sentences more than within one.
const GAP_FRAMES: u64 = 20;
/// Audio heard after a word before it is committed on one decode's spelling.
const DEFAULT_DEADLINE_MS: u64 = 1500;

/// Why the last stable text was committed: where caption latency comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Commit {
    /// Two consecutive decodes agreed on it.
    Agreed,
    /// Its audio ended the deadline before the end of what the decode heard: the decode's
    /// word was taken, agreed or not.
    Overdue,
    /// The speaker paused: the last guess was taken.
    Pause,
    /// A whole buffer went by without agreement: the guess was taken.
    Stalled,
    /// The stream ended.
    End,
}

/// Tuning of one stream.
#[derive(Debug, Clone)]
pub struct StreamConfig {
    /// Language spoken.
    pub lang: Lang,
    /// Names and terms to favour (officials, places such as 临清, 聊城, 残联).
    pub hotwords: Vec<String>,
    /// More terms that may change while the stream runs (an event's, learnt from its
    /// captioner).
    pub vocabulary: super::Vocabulary,
    /// New audio between decodes when the CPU keeps up.
    pub min_chunk: Duration,
    /// Longest the decode interval may grow to when the CPU does not keep up.
    pub max_chunk: Duration,
    /// Silence that ends an utterance (its tail is then committed).
    pub pause: Duration,
    /// The buffer is cut to committed text when it grows past this.
    pub max_buffer: Duration,
    /// Last units of a decode too close to the buffer's end to vote on (0: LocalAgreement-2
    /// alone), see `Agreement::with_provisional`.
    pub provisional_units: usize,
    /// A unit whose audio ended this long before the end of the audio a decode heard is
    /// committed as that decode spells it (see `Agreement::with_deadline`; zero: never).
    pub deadline: Duration,
    /// Decode each finished utterance once more, whole and with beam search, and revise its
    /// live lines to that text (`settle.rs`).
    pub settle: bool,
    /// About how long a run of speech without a pause grows before it is settled (see
    /// `Settler::long_cut`): longer reads better, but holds the live pass up longer.
    pub settle_span: Duration,
}

impl StreamConfig {
    /// Defaults for a language.
    pub fn new(lang: Lang) -> Self {
        Self {
            lang,
            hotwords: Vec::new(),
            vocabulary: super::Vocabulary::default(),
            min_chunk: Duration::from_millis(1000),
            max_chunk: Duration::from_millis(4000),
            pause: Duration::from_millis(600),
            max_buffer: Duration::from_secs(12),
            // About a second of speech: four Mandarin characters, two English words.
            provisional_units: if lang == Lang::Zh { 4 } else { 2 },
            deadline: Duration::from_millis(DEFAULT_DEADLINE_MS),
            settle: true,
            settle_span: Duration::from_millis(super::settle::DEFAULT_SPAN_MS),
        }
    }
}

/// What the stream has done, for metrics and the benchmark.
#[derive(Debug, Clone, Default)]
pub struct StreamStats {
    /// Decodes run.
    pub decodes: u64,
    /// Total decode time.
    pub decode_time: Duration,
    /// Decodes skipped because the recognizer was saturated.
    pub skipped: u64,
    /// Audio fed, ms.
    pub audio_ms: u64,
    /// Voiced audio fed, ms.
    pub voiced_ms: u64,
    /// True while decoding less often than configured because the CPU is behind.
    pub degraded: bool,
}

/// One speaker's stream.
pub struct StreamRecognizer {
    engine: Engine,
    cfg: StreamConfig,
    buf: Vec<f32>,
    buf_start_ms: u64,
    fed_ms: u64,
    frame_rest: Vec<f32>,
    vad: Vad,
    voiced_in_buf: bool,
    /// End times of loud frames (speech, not hangover) still inside the buffer.
    loud_frames: std::collections::VecDeque<u64>,
    last_voice_ms: u64,
    decoded_to_ms: u64,
    chunk: Duration,
    agreement: Agreement,
    committed_text: String,
    /// Committed text whose audio has left the buffer: only this goes into the prompt, since
    /// Whisper skips audio whose words it already sees in the prompt.
    prompt_text: String,
    /// Committed units still inside the buffer, moved to `prompt_text` as the buffer is cut.
    in_buffer: Vec<Unit>,
    seq: u64,
    stats: StreamStats,
    /// The last lines committed (to drop one said again).
    repeats: Repeats,
    last_commit: Option<Commit>,
    /// Decode times taken from `modeled_decode_time` instead of the clock (reproducible
    /// benchmark runs).
    modeled_cost: bool,
    /// Finished utterances waiting for their settling decode.
    settler: Settler,
    /// Where the next settling spans end, in order. Kept apart rather than merged: while
    /// one decode is out, two utterances that end meanwhile are settled one by one, not as
    /// one span that may outgrow Whisper's 30 s window.
    settle_through: std::collections::VecDeque<u64>,
    /// A settling decode is out (`begin_settle` until `end_settle`): the next waits for it,
    /// since its prompt is this one's settled text.
    settling: bool,
    /// Frames since the last loud one.
    quiet_frames: u64,
    /// Decode without the committed text as context until the buffer is next cut (see
    /// `skipped_speech`).
    context_off: bool,
}

/// The most loud speech `units` can account for: about three times what saying them takes,
/// and a filler's worth more.
fn speech_allowance<'a>(units: impl IntoIterator<Item = &'a Unit>) -> u64 {
    units
        .into_iter()
        .map(|u| {
            if u.text.chars().any(super::text::is_cjk) {
                LOUD_MS_PER_CHAR
            } else {
                LOUD_MS_PER_WORD
            }
        })
        .sum::<u64>()
        + COVER_SLACK_MS
}

/// Time one greedy decode of a buffer takes on the reference machine (two cores, Whisper base
/// q8_0: `signrelay-bench decode` measured 0.27 s for 2 s, 0.5 s for 6 s, 1.0 s for 12 s).
pub fn modeled_decode_time(buf_ms: u64) -> Duration {
    Duration::from_millis(150 + buf_ms * 7 / 100)
}

impl StreamRecognizer {
    /// A new stream on a shared engine.
    pub fn new(engine: Engine, cfg: StreamConfig) -> Self {
        let chunk = cfg.min_chunk;
        let settler = Settler::new(cfg.lang, cfg.settle_span.as_millis() as u64);
        let agreement = Agreement::with_provisional(cfg.provisional_units)
            .with_deadline(cfg.deadline.as_millis() as u64);
        Self {
            engine,
            cfg,
            buf: Vec::new(),
            buf_start_ms: 0,
            fed_ms: 0,
            frame_rest: Vec::new(),
            vad: Vad::new(),
            voiced_in_buf: false,
            loud_frames: std::collections::VecDeque::new(),
            last_voice_ms: 0,
            decoded_to_ms: 0,
            chunk,
            agreement,
            committed_text: String::new(),
            prompt_text: String::new(),
            in_buffer: Vec::new(),
            seq: 0,
            stats: StreamStats::default(),
            repeats: Repeats::new(),
            last_commit: None,
            modeled_cost: false,
            settler,
            settle_through: std::collections::VecDeque::new(),
            settling: false,
            quiet_frames: 0,
            context_off: false,
        }
    }

    /// From now on, decodes count as taking `modeled_decode_time` (for the interval they set
    /// and the stats), whatever the clock says: a replay paced by that model decodes at the
    /// same points in every run, so two recognizer versions can be compared clip by clip.
    pub fn use_modeled_decode_time(&mut self) {
        self.modeled_cost = true;
    }

    /// Counters so far.
    pub fn stats(&self) -> &StreamStats {
        &self.stats
    }

    /// Why the stable text of the last `step` or `finish` was committed (if it was).
    pub fn last_commit(&self) -> Option<Commit> {
        self.last_commit
    }

    /// Everything committed so far.
    pub fn committed_text(&self) -> &str {
        &self.committed_text
    }

    /// Adds 16 kHz mono audio.
    pub fn push_audio(&mut self, pcm: &[f32]) {
        self.buf.extend_from_slice(pcm);
        self.frame_rest.extend_from_slice(pcm);
        let whole = self.frame_rest.len() / FRAME * FRAME;
        for f in self.frame_rest[..whole].chunks(FRAME) {
            self.fed_ms += 20;
            let voiced = self.vad.frame(f);
            if voiced && self.vad.last_was_loud() {
                if self.quiet_frames >= GAP_FRAMES && self.cfg.settle {
                    // A pause between sentences: a place to settle.
                    self.settler.gap(self.fed_ms - 20 - self.quiet_frames * 10);
                }
                self.quiet_frames = 0;
                self.loud_frames.push_back(self.fed_ms);
            } else {
                self.quiet_frames += 1;
            }
            if voiced {
                self.voiced_in_buf = true;
                self.last_voice_ms = self.fed_ms;
                self.stats.voiced_ms += 20;
            }
        }
        self.frame_rest.drain(..whole);
        self.stats.audio_ms = self.fed_ms;
        if self.cfg.settle {
            self.settler.push_audio(pcm, !self.voiced_in_buf);
            self.shed_settle_backlog();
        }
        if !self.voiced_in_buf {
            // Nothing said: keep only a short pre-roll so the next word's onset is not cut.
            let keep = 300 * SAMPLES_PER_MS;
            if self.buf.len() > keep {
                let drop = self.buf.len() - keep;
                self.buf.drain(..drop);
                self.buf_start_ms += (drop / SAMPLES_PER_MS) as u64;
                self.decoded_to_ms = self.decoded_to_ms.max(self.buf_start_ms);
            }
        }
    }

    /// True while voiced audio waits in the buffer (something will still be committed).
    pub fn has_pending_audio(&self) -> bool {
        self.voiced_in_buf
    }

    /// True when a decode is due.
    pub fn ready(&self) -> bool {
        if !self.voiced_in_buf {
            return false;
        }
        let new_ms = self.fed_ms.saturating_sub(self.decoded_to_ms);
        new_ms >= self.chunk.as_millis() as u64 || self.in_pause() && new_ms > 0
    }

    fn in_pause(&self) -> bool {
        self.fed_ms.saturating_sub(self.last_voice_ms) >= self.cfg.pause.as_millis() as u64
    }

    /// Runs a decode if one is due and returns the caption events it produced.
    pub async fn step(&mut self) -> Vec<CaptionEvent> {
        self.last_commit = None;
        if !self.ready() {
            return Vec::new();
        }
        let pause = self.in_pause();
        let earlier_end = self.agreement.committed_end_ms();
        if self.loud_ms_in_buffer() < MIN_LOUD_MS {
            if pause {
                // Only a breath or a sentence's tail: nothing to say.
                self.reset_buffer(self.fed_ms);
            }
            return Vec::new();
        }
        let hyp = match self.decode().await {
            Ok(h) => h,
            Err(AsrError::Unavailable(why)) => {
                // The recognizer is saturated: wait longer before trying again.
                self.stats.skipped += 1;
                self.stats.degraded = true;
                self.chunk = (self.chunk * 3 / 2).min(self.cfg.max_chunk);
                tracing::debug!(why, "caption decode skipped");
                return Vec::new();
            }
            Err(e) => {
                tracing::warn!(error = %e, "caption decode failed");
                self.decoded_to_ms = self.fed_ms;
                return Vec::new();
            }
        };
        tracing::debug!(
            buf_start_ms = self.buf_start_ms,
            buf_ms = self.buf.len() / SAMPLES_PER_MS,
            fed_ms = self.fed_ms,
            pause,
            hyp_units = hyp.as_ref().map_or(0, Vec::len),
            "caption decode"
        );
        let Some(hyp) = hyp else {
            // Everything decoded was rejected as invented: no evidence either way, so the last
            // believed guess stands (and is what a pause commits), rather than nothing.
            let committed = if pause || self.stalled() {
                self.last_commit = Some(if pause {
                    Commit::Pause
                } else {
                    Commit::Stalled
                });
                self.agreement.flush()
            } else {
                Vec::new()
            };
            let events = if committed.is_empty() {
                Vec::new()
            } else {
                self.emit(&committed, &[])
            };
            if pause {
                self.reset_buffer(self.fed_ms);
            } else {
                self.trim(&committed, earlier_end);
            }
            if !pause {
                self.plan_settle(false);
            }
            return events;
        };
        let (mut committed, mut tail) = self.agreement.push_heard(hyp, self.decoded_to_ms);
        tracing::trace!(
            committed = committed.len(),
            tail = tail.len(),
            overdue = self.agreement.last_overdue(),
            "agreement output"
        );
        self.last_commit = Some(if self.agreement.last_overdue() > 0 {
            Commit::Overdue
        } else {
            Commit::Agreed
        });
        // The speaker stopped: what was said is as good as it will get. Or a whole buffer went
        // by without two decodes agreeing: take the guess rather than fall behind.
        if pause || (committed.is_empty() && self.stalled()) {
            self.last_commit = Some(if pause {
                Commit::Pause
            } else {
                Commit::Stalled
            });
            committed.extend(self.agreement.flush());
            tail.clear();
        }
        let events = self.emit(&committed, &tail);
        if pause {
            self.reset_buffer(self.fed_ms);
        } else {
            self.trim(&committed, earlier_end);
        }
        if !pause {
            self.plan_settle(false);
        }
        events
    }

    /// The stream's hotwords and the terms learnt so far.
    fn words(&self) -> Vec<String> {
        let mut words = self.cfg.hotwords.clone();
        for t in self.cfg.vocabulary.terms() {
            if !words.contains(&t) {
                words.push(t);
            }
        }
        words
    }

    /// Ends the stream: decodes what is left and commits everything.
    pub async fn finish(&mut self) -> Vec<CaptionEvent> {
        self.last_commit = Some(Commit::End);
        let mut committed = Vec::new();
        // The same floor as every decode: the last few hundred ms after a cut sentence, decoded
        // alone, came back as a confident made-up line ending in a loop.
        if self.voiced_in_buf
            && self.fed_ms > self.decoded_to_ms
            && self.loud_ms_in_buffer() >= MIN_LOUD_MS
        {
            if let Ok(Some(hyp)) = self.decode().await {
                committed = self.agreement.push(hyp).0;
            }
        }
        committed.extend(self.agreement.flush());
        let events = self.emit(&committed, &[]);
        self.reset_buffer(self.fed_ms);
        events
    }

    /// Loud speech still inside the buffer, ms (frames cut away with the buffer are forgotten).
    fn loud_ms_in_buffer(&mut self) -> u64 {
        while self
            .loud_frames
            .front()
            .is_some_and(|t| *t <= self.buf_start_ms)
        {
            self.loud_frames.pop_front();
        }
        self.loud_frames.len() as u64 * 20
    }

    /// Decodes the buffer; `None` when the decoder said something but all of it was rejected
    /// as invented (a whole-buffer hallucination, often running past the audio's end).
    async fn decode(&mut self) -> Result<Option<Vec<Unit>>, AsrError> {
        let words = self.words();
        let lang = self.cfg.lang;
        let request = move |prompt: String, pcm: Vec<f32>| DecodeRequest {
            pcm,
            lang,
            prompt,
            fit_audio_ctx: true,
            beam: None,
        };
        // Once a decode read on only without it, the context stays out until the buffer
        // moves on: each decode with it would stop again and need a second one.
        let context = if self.context_off {
            ""
        } else {
            &self.prompt_text
        };
        let req = request(
            build_prompt(self.cfg.lang, &words, context),
            self.buf.clone(),
        );
        let decoded_to = self.fed_ms;
        let len_ms = (self.buf.len() / SAMPLES_PER_MS) as u64;
        let mut d = self.engine.decode(req).await?;
        let mut elapsed = self.decode_cost(len_ms, &d);
        let mut units = segments_to_units(&d.segments, self.buf_start_ms, len_ms, &words);
        if !context.is_empty() && self.skipped_speech(&units) {
            // Whisper read the prompt's last words again and stopped, leaving seconds of
            // speech unread (then the buffer stalls and is cut unheard). The same audio
            // without the committed text as context reads on.
            let req = request(build_prompt(self.cfg.lang, &words, ""), self.buf.clone());
            if let Ok(again) = self.engine.decode(req).await {
                elapsed += self.decode_cost(len_ms, &again);
                let more = segments_to_units(&again.segments, self.buf_start_ms, len_ms, &words);
                tracing::debug!(
                    before = units.len(),
                    after = more.len(),
                    "skipped speech decoded again without context"
                );
                if more.len() > units.len() {
                    units = more;
                    d = again;
                    self.context_off = true;
                }
            }
        }
        self.decoded_to_ms = decoded_to;
        self.stats.decodes += 1;
        self.stats.decode_time += elapsed;
        // Keep decoding about as often as decodes take: slower when behind, back when not.
        if elapsed > self.chunk * 9 / 10 {
            self.chunk = (self.chunk * 3 / 2).min(self.cfg.max_chunk);
            self.stats.degraded = true;
        } else if elapsed < self.chunk / 2 && self.chunk > self.cfg.min_chunk {
            self.chunk = (self.chunk * 4 / 5).max(self.cfg.min_chunk);
            self.stats.degraded = self.chunk > self.cfg.min_chunk;
        }
        if units.is_empty() && d.segments.iter().any(|s| invented(s).is_some()) {
            return Ok(None);
        }
        Ok(Some(units))
    }

    /// What a decode of `len_ms` of buffer counts as having taken.
    fn decode_cost(&self, len_ms: u64, d: &Decoded) -> Duration {
        if !self.modeled_cost {
            d.elapsed
        } else if self.settling {
            modeled_decode_time(len_ms).mul_f64(BESIDE_SETTLE_SLOWDOWN)
        } else {
            modeled_decode_time(len_ms)
        }
    }

    /// True when a hypothesis accounts for under a third of the loud speech in the buffer
    /// (the allowance of `covered_until`), with at least `SKIPPED_MS` of it left over: the
    /// decode stopped early rather than heard little.
    fn skipped_speech(&mut self, units: &[Unit]) -> bool {
        let loud = self.loud_ms_in_buffer();
        loud > speech_allowance(units) + SKIPPED_MS
    }

    fn emit(&mut self, committed: &[Unit], tail: &[Unit]) -> Vec<CaptionEvent> {
        let mut out = Vec::new();
        let (text, unsure) = caption_text(committed, self.cfg.lang);
        // A line said again: Whisper repeating its prompt over silence or unclear audio.
        let repeat = !committed.is_empty() && !self.repeats.admit(&text);
        if repeat {
            // Never what was said: caption text stays out of the log at every level.
            tracing::debug!(chars = text.chars().count(), "repeated line dropped");
        }
        if !committed.is_empty() && !repeat && !text.is_empty() {
            let sep = if self.cfg.lang != Lang::Zh && !self.committed_text.is_empty() {
                " "
            } else {
                ""
            };
            self.committed_text.push_str(sep);
            self.committed_text.push_str(&text);
            self.in_buffer.extend(committed.iter().cloned());
            out.push(CaptionEvent {
                seq: self.seq,
                start_ms: committed[0].start_ms,
                end_ms: committed[committed.len() - 1].end_ms,
                text,
                stable: true,
                unsure,
                revision: false,
            });
            self.seq += 1;
        }
        let (tail_text, tail_unsure) = caption_text(tail, self.cfg.lang);
        out.push(CaptionEvent {
            seq: self.seq,
            start_ms: tail.first().map_or(self.fed_ms, |u| u.start_ms),
            end_ms: tail.last().map_or(self.fed_ms, |u| u.end_ms),
            text: tail_text,
            stable: false,
            unsure: tail_unsure,
            revision: false,
        });
        if self.cfg.settle {
            self.settler.lines(&out);
        }
        out
    }

    /// True when the buffer is over its limit and none of it has been committed.
    fn stalled(&self) -> bool {
        let buf_ms = (self.buf.len() / SAMPLES_PER_MS) as u64;
        buf_ms > self.cfg.max_buffer.as_millis() as u64
            && self.agreement.committed_end_ms() <= self.buf_start_ms
    }

    /// Cuts the buffer after a committed sentence end, or after all committed text once the
    /// buffer is long (whisper_streaming's buffer grows to ~30 s; ours stays short).
    /// `earlier_end` is where the text committed before `committed` ended.
    fn trim(&mut self, committed: &[Unit], earlier_end: u64) {
        // The sentence ends after every word before it, wherever the decodes placed them:
        // units committed from different decodes are not in time order ("…直播" placed to
        // 58.46 s by one decode, "片段。" to 57.88 s by the next), and a cut at the last
        // unit's own end left committed words at the head of the buffer. Whisper, prompted
        // with them, read them again and stopped, and the speech after waited seconds for
        // two decodes to agree on the fragment at the head.
        let sentence_end = committed
            .iter()
            .rposition(|u| super::text::ends_sentence(&u.text))
            .and_then(|i| committed[..=i].iter().map(|u| u.end_ms).max())
            .map(|t| t.max(earlier_end));
        let buf_ms = (self.buf.len() / SAMPLES_PER_MS) as u64;
        let cut = match sentence_end {
            Some(t) => Some(self.covered_until(t)),
            None if buf_ms > self.cfg.max_buffer.as_millis() as u64 => {
                let end = self.agreement.committed_end_ms();
                // After a forced commit there is committed text to cut at; if the decode heard
                // nothing at all, keep only the last second.
                Some(if end > self.buf_start_ms {
                    self.covered_until(end)
                } else {
                    self.fed_ms.saturating_sub(1000)
                })
            }
            None => None,
        };
        if let Some(t) = cut {
            self.cut_at(t);
        }
    }

    /// Where the buffer may be cut after committed text said to end at `t`: there, unless the
    /// loud speech before `t` is far more than that text takes to say. Then Whisper skipped
    /// part of the buffer yet still ended its segment at the buffer's end (6 characters
    /// claimed 13 s), and cutting at `t` threw the skipped speech away unheard. Cutting where
    /// the text's share of speech runs out only re-decodes audio whose words are committed,
    /// which the agreement recognises.
    fn covered_until(&mut self, t: u64) -> u64 {
        self.loud_ms_in_buffer();
        let budget = speech_allowance(self.in_buffer.iter().filter(|u| u.end_ms <= t));
        match self.loud_frames.get((budget / 20) as usize) {
            Some(&at) if at < t => at,
            _ => t,
        }
    }

    fn cut_at(&mut self, t_ms: u64) {
        if t_ms <= self.buf_start_ms {
            return;
        }
        self.context_off = false;
        let n = (((t_ms - self.buf_start_ms) as usize) * SAMPLES_PER_MS).min(self.buf.len());
        self.buf.drain(..n);
        self.buf_start_ms += (n / SAMPLES_PER_MS) as u64;
        self.agreement.audio_from(self.buf_start_ms);
        self.retire(self.buf_start_ms);
    }

    /// Moves committed units that ended by `upto_ms` from the buffer's account to the prompt.
    fn retire(&mut self, upto_ms: u64) {
        let gone = self
            .in_buffer
            .iter()
            .take_while(|u| u.end_ms <= upto_ms)
            .count();
        let moved: Vec<Unit> = self.in_buffer.drain(..gone).collect();
        if !moved.is_empty() {
            let sep = if self.cfg.lang != Lang::Zh && !self.prompt_text.is_empty() {
                " "
            } else {
                ""
            };
            self.prompt_text.push_str(sep);
            self.prompt_text.push_str(&join_units(&moved));
            // The prompt uses only the last few dozen characters.
            let excess = self.prompt_text.chars().count().saturating_sub(200);
            if excess > 0 {
                self.prompt_text = self.prompt_text.chars().skip(excess).collect();
            }
        }
    }

    fn reset_buffer(&mut self, t_ms: u64) {
        self.cut_at(t_ms.saturating_sub(300));
        // The utterance is over: all of it may prompt the next one.
        self.retire(u64::MAX);
        self.agreement.clear_tail();
        self.voiced_in_buf = false;
        self.decoded_to_ms = self.fed_ms;
        // The utterance is over: its live lines may be settled.
        self.plan_settle(true);
    }
}

#[path = "stream_settle.rs"]
mod settling;
pub use settling::{modeled_settle_time, SettleInFlight, SettleJob, BESIDE_SETTLE_SLOWDOWN};

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
