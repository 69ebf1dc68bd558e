//! The stream recognizer's settling pass hand-off: which spans are due, the decode handed out
//! to run beside the live pass, and the revisions its result makes (the span rules and the
//! realignment are `settle.rs`).

use super::StreamRecognizer;
use crate::asr::{AsrError, DecodeRequest, Decoded};
use crate::captions::build_prompt;
use crate::captions::event::CaptionEvent;
use crate::captions::settle::{Span, SETTLE_BEAM};
use futures::future::BoxFuture;
use std::time::Duration;

/// A settling decode handed out by `StreamRecognizer::begin_settle`.
pub struct SettleInFlight {
    /// What `end_settle` needs to revise the lines.
    pub job: SettleJob,
    /// The decode, on a background worker; dropping it cancels the decode.
    pub decode: BoxFuture<'static, Result<Decoded, AsrError>>,
}

/// The span a settling decode reads and the terms its prompt had.
pub struct SettleJob {
    span: Span,
    words: Vec<String>,
}

impl SettleJob {
    /// Length of the audio decoded, ms.
    pub fn audio_ms(&self) -> u64 {
        self.span.len_ms
    }
}

/// How much longer a live decode takes while a settling decode runs beside it at idle
/// priority (`signrelay-bench decode` with a `chrt -i 0 … --beam 5` loop beside it: 2 s
/// 112 → 153 ms, 6 s 238 → 303 ms, 12 s 448 → 586 ms): the cores' caches and the moments a
/// live decode leaves a core idle are shared.
pub const BESIDE_SETTLE_SLOWDOWN: f64 = 1.3;

/// Time one settling decode (beam 5) takes on the reference machine (`signrelay-bench decode
/// --beam 5`).
pub fn modeled_settle_time(buf_ms: u64) -> Duration {
    Duration::from_millis(SETTLE_FIXED_MS + buf_ms * SETTLE_PER_S_MS / 1000)
}
/// Fixed and per-second-of-audio parts of `modeled_settle_time`, ms.
const SETTLE_FIXED_MS: u64 = 300;
const SETTLE_PER_S_MS: u64 = 120;

/// Most audio held for settling while decodes are out or due: settling decodes take only
/// idle CPU time, and on a saturated machine they may not run at all; the oldest spans are
/// then left as their live lines rather than held without bound (64 KB a second).
const MAX_SETTLE_BACKLOG_MS: u64 = 120_000;

impl StreamRecognizer {
    /// Gives up settling the oldest held audio once more than `MAX_SETTLE_BACKLOG_MS` of it
    /// waits: its live lines stand.
    pub(super) fn shed_settle_backlog(&mut self) {
        let held = self.settler.held_ms();
        if held <= MAX_SETTLE_BACKLOG_MS {
            return;
        }
        let over = self.settler.start_ms() + held - MAX_SETTLE_BACKLOG_MS;
        // The oldest planned span, or as much as is over the bound.
        let through = self
            .settle_through
            .pop_front()
            .map_or(over, |t| t.max(over));
        while self.settle_through.front().is_some_and(|t| *t <= through) {
            self.settle_through.pop_front();
        }
        let lines = self.settler.take(through).map_or(0, |s| s.lines_len());
        tracing::debug!(
            lines,
            "settling behind; the oldest lines stay as first committed"
        );
    }

    /// Marks what the next `settle` decodes: the whole utterance after a pause, a long run of
    /// speech without one at a sentence end.
    pub(super) fn plan_settle(&mut self, utterance_over: bool) {
        if !self.settler.pending() {
            return;
        }
        let through = if utterance_over {
            Some(self.fed_ms)
        } else {
            self.settler.long_cut(self.fed_ms)
        };
        if let Some(t) = through {
            if self.settle_through.back().is_none_or(|last| t > *last) {
                self.settle_through.push_back(t);
            }
        }
    }

    /// True when a finished utterance waits for its settling decode (`begin_settle`) and
    /// none is out.
    pub fn settle_due(&self) -> bool {
        !self.settle_through.is_empty() && !self.settling
    }

    /// Hands out the settling decode of the finished utterance: its audio once more, whole
    /// and with beam search, on a background worker. The caller runs `decode` beside the
    /// live pass (it takes only CPU time live decodes leave) and gives its result to
    /// `end_settle`; until then no other settling decode is due. Split from `step` so that
    /// the live lines go out first and are never held up by it.
    pub fn begin_settle(&mut self) -> Option<SettleInFlight> {
        if self.settling {
            return None;
        }
        let through = self.settle_through.pop_front()?;
        let mut span = self.settler.take(through)?;
        let words = self.words();
        let req = DecodeRequest {
            pcm: std::mem::take(&mut span.pcm),
            lang: self.cfg.lang,
            prompt: build_prompt(self.cfg.lang, &words, self.settler.prompt()),
            fit_audio_ctx: true,
            beam: Some(SETTLE_BEAM),
        };
        self.settling = true;
        let engine = self.engine.clone();
        Some(SettleInFlight {
            job: SettleJob { span, words },
            decode: Box::pin(async move { engine.decode_background(req).await }),
        })
    }

    /// The revisions of the live lines a settling decode makes (events with `revision`);
    /// none if it failed or was cancelled (the live lines stand).
    pub fn end_settle(
        &mut self,
        job: SettleJob,
        decoded: Result<Decoded, AsrError>,
    ) -> Vec<CaptionEvent> {
        self.settling = false;
        let d = match decoded {
            Ok(d) => d,
            Err(e) => {
                tracing::debug!(error = %e, "settling decode not run");
                return Vec::new();
            }
        };
        self.settler.revise(job.span, &d.segments, &job.words)
    }

    /// `begin_settle`, its decode and `end_settle` in one, waiting for the decode (the end
    /// of a stream, tests).
    pub async fn settle(&mut self) -> Vec<CaptionEvent> {
        let Some(s) = self.begin_settle() else {
            return Vec::new();
        };
        let decoded = s.decode.await;
        self.end_settle(s.job, decoded)
    }
}
