//! The recognizer: one shared model, a few worker threads each with its own decoder state.

use super::{AsrError, Lang};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc as std_mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;
use whisper_rs::{FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters};

/// Samples per second Whisper expects.
pub const SAMPLE_RATE: usize = 16_000;
/// Encoder frames per second of audio (one per 20 ms).
const FRAMES_PER_SEC: f64 = 50.0;
/// Encoder positions beyond the audio: a context shorter than the audio truncates it and can
/// make the decoder loop, a little slack costs almost nothing.
const AUDIO_CTX_MARGIN: i32 = 64;
/// The encoder's full window.
const FULL_AUDIO_CTX: i32 = 1500;
/// Longest prompt, in tokens: the prompt only needs the recent context and the hotwords.
const MAX_PROMPT_TOKENS: usize = 120;

/// How the engine runs.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Worker threads (concurrent decodes).
    pub workers: usize,
    /// whisper.cpp threads per decode. workers × threads should not exceed the free cores:
    /// oversubscription made decoding 13× slower in measurements here.
    pub threads_per_worker: usize,
    /// Beam width; 1 is greedy.
    pub beam: usize,
    /// Workers for background decodes (`Engine::decode_background`, the settling pass). They
    /// run at the lowest CPU priority, so they take only the time live decodes leave idle
    /// and never hold a live decode up; 0 sends background decodes to the live workers.
    pub background_workers: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            workers: 1,
            threads_per_worker: 2,
            beam: 1,
            background_workers: 1,
        }
    }
}

/// One decode.
#[derive(Debug, Clone)]
pub struct DecodeRequest {
    /// 16 kHz mono samples in [-1, 1].
    pub pcm: Vec<f32>,
    /// Language.
    pub lang: Lang,
    /// Text the speech continues from, plus vocabulary to favour.
    pub prompt: String,
    /// Fit the encoder window to the audio (much faster for short buffers).
    pub fit_audio_ctx: bool,
    /// Beam width override.
    pub beam: Option<usize>,
}

/// A decoded stretch of text with its times relative to the start of the request's audio.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// Start, ms.
    pub start_ms: u64,
    /// End, ms.
    pub end_ms: u64,
    /// Text as decoded.
    pub text: String,
    /// Whisper's probability that there was no speech.
    pub no_speech: f32,
    /// The decoder's probability of each character of `text` (the lowest of the tokens that
    /// spell it); empty when the tokens do not line up with the text.
    pub char_p: Vec<f32>,
    /// Mean log probability of the segment's text tokens (Whisper's own "is this made up"
    /// signal; below -1 the text is usually invented).
    pub avg_logprob: f32,
}

/// The result of a decode.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// Segments in order.
    pub segments: Vec<Segment>,
    /// Wall time the decode took.
    pub elapsed: Duration,
}

/// Where a worker sends its result: back to an async task, or to a blocked thread.
enum Reply {
    Async(oneshot::Sender<Result<Decoded, AsrError>>),
    Blocking(std_mpsc::Sender<Result<Decoded, AsrError>>),
}

impl Reply {
    fn send(self, res: Result<Decoded, AsrError>) {
        // The asker may have gone (its stream ended): nothing to tell.
        match self {
            Reply::Async(tx) => {
                let _ = tx.send(res);
            }
            Reply::Blocking(tx) => {
                let _ = tx.send(res);
            }
        }
    }
}

enum Job {
    Decode(DecodeRequest, Reply, Arc<AtomicBool>),
}

/// Set when whoever asked for a decode no longer waits for it: a queued job is skipped and a
/// running one is aborted, so a stream that ended leaves no work behind on the recognizer.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Counts a decode as pending while someone waits for it, whatever way the wait ends. Held
/// by the asker, not the job: a cancelled job waits in the queue of a worker that may not run
/// for long (the background lane's gets only idle CPU), and nobody waits for it.
struct Pending(Arc<AtomicUsize>);

impl Pending {
    fn new(counter: &Arc<AtomicUsize>) -> Self {
        counter.fetch_add(1, Ordering::Relaxed);
        Self(counter.clone())
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// whisper.cpp asks this between compute steps; true aborts the decode.
unsafe extern "C" fn abort_requested(flag: *mut std::ffi::c_void) -> bool {
    // SAFETY: `flag` points at the AtomicBool of the job being run, which outlives the decode
    // (the worker holds its Arc across `state.full`).
    unsafe { (*(flag as *const AtomicBool)).load(Ordering::Relaxed) }
}

/// Handle to the recognizer; cheap to clone.
#[derive(Clone)]
pub struct Engine {
    jobs: std_mpsc::SyncSender<Job>,
    /// The background workers' queue, if there are any.
    background: Option<std_mpsc::SyncSender<Job>>,
    /// Decodes queued or running.
    pending: Arc<AtomicUsize>,
}

impl Engine {
    /// Loads the model and starts the workers.
    pub fn load(path: &Path, cfg: EngineConfig) -> Result<Self, AsrError> {
        if !path.exists() {
            return Err(AsrError::NotInstalled(path.to_path_buf()));
        }
        whisper_rs::install_logging_hooks();
        let ctx = WhisperContext::new_with_params(path, WhisperContextParameters::default())
            .map_err(|e| AsrError::BadModel(format!("{}: {e}", path.display())))?;
        let ctx = Arc::new(ctx);
        let jobs = spawn_workers(&ctx, &cfg, Lane::Live, cfg.workers.max(1))?;
        let background = if cfg.background_workers > 0 {
            Some(spawn_workers(
                &ctx,
                &cfg,
                Lane::Background,
                cfg.background_workers,
            )?)
        } else {
            None
        };
        Ok(Self {
            jobs,
            background,
            pending: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// Decodes on a worker thread; fails fast with `Unavailable` when every worker is busy
    /// and the queue is full. Dropping the returned future cancels the decode.
    pub async fn decode(&self, req: DecodeRequest) -> Result<Decoded, AsrError> {
        submit(&self.jobs, &self.pending, req).await
    }

    /// Decodes on a background worker: it waits for CPU time live decodes leave idle, so it
    /// may take far longer than `decode` but never delays one. Fails fast with `Unavailable`
    /// when the background queue is full; dropping the future cancels the decode.
    pub async fn decode_background(&self, req: DecodeRequest) -> Result<Decoded, AsrError> {
        let lane = self.background.as_ref().unwrap_or(&self.jobs);
        submit(lane, &self.pending, req).await
    }

    /// Decodes and waits, blocking the calling thread (offline transcription). It queues
    /// behind live work on the same workers, so the process never runs more decodes at once
    /// than it has workers (oversubscribed cores made decoding many times slower).
    pub fn decode_blocking(&self, req: &DecodeRequest) -> Result<Decoded, AsrError> {
        let (tx, rx) = std_mpsc::channel();
        let _pending = Pending::new(&self.pending);
        self.jobs
            .send(Job::Decode(
                req.clone(),
                Reply::Blocking(tx),
                Arc::new(AtomicBool::new(false)),
            ))
            .map_err(|_| AsrError::Unavailable("recognizer stopped"))?;
        rx.recv()
            .map_err(|_| AsrError::Unavailable("recognizer worker died"))?
    }

    /// Decodes waiting or running now.
    pub fn queue_depth(&self) -> usize {
        self.pending.load(Ordering::Relaxed)
    }

    /// An engine whose decodes `answer` makes up: the streaming rules are tested against
    /// scripted recognizer output, without a model or its timing.
    #[cfg(test)]
    pub(crate) fn scripted<F>(answer: F) -> Self
    where
        F: FnMut(&DecodeRequest) -> Result<Decoded, AsrError> + Send + 'static,
    {
        Self {
            jobs: scripted_lane(answer),
            background: None,
            pending: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// A scripted engine with a background lane of its own, answered by `background`.
    #[cfg(test)]
    pub(crate) fn scripted_lanes<F, G>(live: F, background: G) -> Self
    where
        F: FnMut(&DecodeRequest) -> Result<Decoded, AsrError> + Send + 'static,
        G: FnMut(&DecodeRequest) -> Result<Decoded, AsrError> + Send + 'static,
    {
        Self {
            jobs: scripted_lane(live),
            background: Some(scripted_lane(background)),
            pending: Arc::new(AtomicUsize::new(0)),
        }
    }
}

/// A worker thread that answers each job with `answer`.
#[cfg(test)]
fn scripted_lane<F>(mut answer: F) -> std_mpsc::SyncSender<Job>
where
    F: FnMut(&DecodeRequest) -> Result<Decoded, AsrError> + Send + 'static,
{
    let (tx, rx) = std_mpsc::sync_channel::<Job>(2);
    std::thread::spawn(move || {
        for Job::Decode(req, reply, _cancel) in rx {
            reply.send(answer(&req));
        }
    });
    tx
}

/// Which work a worker takes, and so its CPU priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lane {
    /// Live captions: below media forwarding, above everything else here.
    Live,
    /// Work nobody waits for at once (the settling pass): only idle CPU time.
    Background,
}

/// Starts `n` workers of one lane on a shared queue and returns the queue.
fn spawn_workers(
    ctx: &Arc<WhisperContext>,
    cfg: &EngineConfig,
    lane: Lane,
    n: usize,
) -> Result<std_mpsc::SyncSender<Job>, AsrError> {
    // A short queue: callers learn at once that the CPU is saturated and degrade.
    let (tx, rx) = std_mpsc::sync_channel::<Job>(n * 2);
    let rx = Arc::new(std::sync::Mutex::new(rx));
    for i in 0..n {
        let ctx = ctx.clone();
        let rx = rx.clone();
        let c = cfg.clone();
        let name = match lane {
            Lane::Live => format!("whisper-{i}"),
            Lane::Background => format!("whisper-bg-{i}"),
        };
        std::thread::Builder::new()
            .name(name)
            .spawn(move || worker(ctx, rx, c, lane))
            .map_err(AsrError::Io)?;
    }
    Ok(tx)
}

/// Queues a decode if there is room and awaits its result.
async fn submit(
    jobs: &std_mpsc::SyncSender<Job>,
    pending: &Arc<AtomicUsize>,
    req: DecodeRequest,
) -> Result<Decoded, AsrError> {
    let (tx, rx) = oneshot::channel();
    let cancel = Arc::new(AtomicBool::new(false));
    let _cancel_on_drop = CancelOnDrop(cancel.clone());
    let _pending = Pending::new(pending);
    jobs.try_send(Job::Decode(req, Reply::Async(tx), cancel))
        .map_err(|e| match e {
            std_mpsc::TrySendError::Full(_) => {
                AsrError::Unavailable("all recognizer workers are busy")
            }
            std_mpsc::TrySendError::Disconnected(_) => AsrError::Unavailable("recognizer stopped"),
        })?;
    rx.await
        .map_err(|_| AsrError::Unavailable("recognizer worker died"))?
}

/// Lowers the calling thread's CPU priority for its lane (whisper.cpp's own threads, started
/// from it, inherit it).
fn lower_priority(lane: Lane) {
    // SAFETY: gettid has no effects beyond returning this thread's id.
    let tid = unsafe { libc::syscall(libc::SYS_gettid) } as libc::pid_t;
    if lane == Lane::Background {
        // SCHED_IDLE runs a thread only on a core nothing else wants (below even nice 19): a
        // background decode waits for idle time instead of slowing a live one.
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: `param` is a valid sched_param for the call's duration.
        if unsafe { libc::sched_setscheduler(tid, libc::SCHED_IDLE, &param) } == 0 {
            return;
        }
        tracing::debug!("no idle scheduling for background decodes; using nice 19");
    }
    // Captions may fall behind; media must not. A nicer value makes the kernel run forwarding
    // first when the cores are busy.
    let nice = if lane == Lane::Live { 10 } else { 19 };
    // SAFETY: setpriority has no memory effects; on Linux, `who` = this thread's id.
    if unsafe { libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, nice) } != 0 {
        tracing::debug!("could not lower the recognizer's priority");
    }
}

fn worker(
    ctx: Arc<WhisperContext>,
    rx: Arc<std::sync::Mutex<std_mpsc::Receiver<Job>>>,
    cfg: EngineConfig,
    lane: Lane,
) {
    lower_priority(lane);
    loop {
        let job = {
            let guard = rx.lock().unwrap_or_else(|p| p.into_inner());
            guard.recv()
        };
        let Ok(Job::Decode(req, reply, cancel)) = job else {
            break;
        };
        if cancel.load(Ordering::Relaxed) {
            // Nobody waits for it any more (its stream ended while it queued).
            continue;
        }
        // A fresh decoder state per decode: reusing one across decodes degraded beam-search
        // output here (FLEURS zh CER 8.7 % -> 34.8 %); a new state costs 25-50 ms. A panic in
        // the decoder fails this decode only: the worker (and every later caption) lives on.
        let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            ctx.create_state()
                .map_err(|e| AsrError::Whisper(e.to_string()))
                .and_then(|mut state| run(&mut state, &req, &cfg, &ctx, &cancel))
        }))
        .unwrap_or_else(|_| {
            tracing::error!("recognizer panicked on one decode; it goes on");
            Err(AsrError::Whisper("the decoder failed on this audio".into()))
        });
        reply.send(res);
    }
}

/// Per-character probability and mean token log probability of one segment. Special tokens
/// (timestamps, end of text) are skipped; a character split over several tokens gets the
/// lowest of their probabilities.
fn token_confidence(seg: &whisper_rs::WhisperSegment<'_>, eot: i32, text: &str) -> (Vec<f32>, f32) {
    let mut bytes: Vec<u8> = Vec::new();
    let mut byte_p: Vec<f32> = Vec::new();
    let (mut sum, mut n) = (0.0f32, 0u32);
    for i in 0..seg.n_tokens() {
        let Some(tok) = seg.get_token(i) else {
            continue;
        };
        if tok.token_id() >= eot {
            continue;
        }
        let Ok(b) = tok.to_bytes() else { continue };
        let p = tok.token_probability().clamp(1e-6, 1.0);
        sum += p.ln();
        n += 1;
        bytes.extend_from_slice(b);
        byte_p.extend(std::iter::repeat_n(p, b.len()));
    }
    let avg = if n == 0 { 0.0 } else { sum / n as f32 };
    let Ok(joined) = std::str::from_utf8(&bytes) else {
        return (Vec::new(), avg);
    };
    if joined != text {
        return (Vec::new(), avg);
    }
    let char_p = joined
        .char_indices()
        .map(|(at, c)| {
            byte_p[at..at + c.len_utf8()]
                .iter()
                .copied()
                .fold(1.0f32, f32::min)
        })
        .collect();
    (char_p, avg)
}

fn run(
    state: &mut whisper_rs::WhisperState,
    req: &DecodeRequest,
    cfg: &EngineConfig,
    ctx: &WhisperContext,
    cancel: &Arc<AtomicBool>,
) -> Result<Decoded, AsrError> {
    let started = Instant::now();
    if req.pcm.len() < SAMPLE_RATE / 10 {
        return Ok(Decoded {
            segments: Vec::new(),
            elapsed: started.elapsed(),
        });
    }
    let beam = req.beam.unwrap_or(cfg.beam).max(1);
    let strategy = if beam > 1 {
        SamplingStrategy::BeamSearch {
            beam_size: beam as i32,
            patience: -1.0,
        }
    } else {
        SamplingStrategy::Greedy { best_of: 1 }
    };
    // Prompt as token ids: a string prompt is copied into memory whisper-rs never frees.
    let mut prompt: Vec<i32> = if req.prompt.is_empty() {
        Vec::new()
    } else {
        ctx.tokenize(&req.prompt, MAX_PROMPT_TOKENS * 2)
            .map_err(|e| AsrError::Whisper(format!("tokenize: {e}")))?
    };
    if prompt.len() > MAX_PROMPT_TOKENS {
        prompt.drain(..prompt.len() - MAX_PROMPT_TOKENS);
    }
    let mut p = FullParams::new(strategy);
    p.set_n_threads(cfg.threads_per_worker as i32);
    p.set_language(req.lang.code());
    p.set_detect_language(req.lang == super::Lang::Auto);
    p.set_translate(false);
    p.set_no_context(true);
    p.set_print_progress(false);
    p.set_print_realtime(false);
    p.set_print_timestamps(false);
    p.set_print_special(false);
    p.set_suppress_blank(true);
    p.set_suppress_nst(true);
    // Fallback re-decodes at higher temperature: one clip took 47 s that way. Live captions
    // would rather miss a phrase than stall.
    p.set_temperature(0.0);
    p.set_temperature_inc(0.0);
    if !prompt.is_empty() {
        p.set_tokens(&prompt);
    }
    if req.fit_audio_ctx {
        let secs = req.pcm.len() as f64 / SAMPLE_RATE as f64;
        let ctx_frames = (secs * FRAMES_PER_SEC).ceil() as i32 + AUDIO_CTX_MARGIN;
        p.set_audio_ctx(ctx_frames.min(FULL_AUDIO_CTX));
    }
    // SAFETY: the callback only reads the flag, which `cancel` keeps alive past `full`.
    unsafe {
        p.set_abort_callback(Some(abort_requested));
        p.set_abort_callback_user_data(Arc::as_ptr(cancel) as *mut std::ffi::c_void);
    }
    let full = state.full(p, &req.pcm);
    if cancel.load(Ordering::Relaxed) {
        return Err(AsrError::Unavailable("decode cancelled"));
    }
    full.map_err(|e| AsrError::Whisper(e.to_string()))?;
    let mut segments = Vec::new();
    for seg in state.as_iter() {
        // Join token bytes first: a Chinese character can be split across tokens.
        let text = match seg.to_bytes() {
            Ok(b) => String::from_utf8_lossy(b).into_owned(),
            Err(_) => continue,
        };
        let (char_p, avg_logprob) = token_confidence(&seg, ctx.token_eot(), &text);
        segments.push(Segment {
            start_ms: (seg.start_timestamp().max(0) as u64) * 10,
            end_ms: (seg.end_timestamp().max(0) as u64) * 10,
            text,
            no_speech: seg.no_speech_probability(),
            char_p,
            avg_logprob,
        });
    }
    Ok(Decoded {
        segments,
        elapsed: started.elapsed(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_cancelled_decode_stops_counting_though_its_worker_never_gets_to_it() {
        // The background worker is stuck on one decode (no idle CPU); a second queues behind
        // it. Both askers give up: nothing is waited for any more, whenever the worker runs.
        let (release, stuck) = std_mpsc::channel::<()>();
        let stuck = std::sync::Mutex::new(stuck);
        let engine = Engine::scripted_lanes(
            |_| Err(AsrError::Unavailable("unused")),
            move |_| {
                let _ = stuck.lock().map(|r| r.recv());
                Err(AsrError::Unavailable("released"))
            },
        );
        let req = || DecodeRequest {
            pcm: vec![0.0; 1600],
            lang: Lang::Zh,
            prompt: String::new(),
            fit_audio_ctx: true,
            beam: Some(5),
        };
        let asks: Vec<_> = (0..2)
            .map(|_| {
                let e = engine.clone();
                let r = req();
                tokio::spawn(async move { e.decode_background(r).await })
            })
            .collect();
        for _ in 0..200 {
            if engine.queue_depth() == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(engine.queue_depth(), 2, "both asked");
        for a in asks {
            a.abort();
            let _ = a.await;
        }
        assert_eq!(engine.queue_depth(), 0);
        let _ = release.send(());
        let _ = release.send(());
    }

    fn policy_after(lane: Lane) -> (i32, i32) {
        std::thread::spawn(move || {
            lower_priority(lane);
            // SAFETY: plain queries of this thread's own scheduling.
            unsafe {
                let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
                (
                    libc::sched_getscheduler(0),
                    libc::getpriority(libc::PRIO_PROCESS, tid),
                )
            }
        })
        .join()
        .unwrap_or((-1, -1))
    }

    #[test]
    fn background_decodes_get_only_idle_time_and_live_ones_stay_below_media() {
        let (live_policy, live_nice) = policy_after(Lane::Live);
        assert_eq!(live_policy, libc::SCHED_OTHER);
        assert_eq!(live_nice, 10);
        let (bg_policy, bg_nice) = policy_after(Lane::Background);
        assert!(
            bg_policy == libc::SCHED_IDLE || bg_nice == 19,
            "policy {bg_policy}, nice {bg_nice}"
        );
    }
}
