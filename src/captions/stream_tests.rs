//! The stream recognizer against a scripted engine: its guards, its cut bound and the
//! settling pass.

use super::*;
use crate::asr::{Decoded, Segment};
use crate::captions::settle::SETTLE_BEAM;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Quiet room noise, below the detector's absolute floor.
fn quiet(ms: usize) -> Vec<f32> {
    (0..ms * SAMPLES_PER_MS)
        .map(|i| ((i * 7919) % 13) as f32 * 1e-4 - 6e-4)
        .collect()
}

/// A loud tone: voice as far as the detector is concerned (kept under its 3 s floor window).
fn voice(ms: usize) -> Vec<f32> {
    (0..ms * SAMPLES_PER_MS)
        .map(|i| (i as f32 * 0.12).sin() * 0.3)
        .collect()
}

/// Speech-like sound: syllables of tone with short gaps, for any length (a steady tone
/// becomes its own noise floor after 3 s).
fn talking(ms: usize) -> Vec<f32> {
    let mut out = Vec::new();
    while out.len() < ms * SAMPLES_PER_MS {
        out.extend(voice(400));
        out.extend(quiet(100));
    }
    out.truncate(ms * SAMPLES_PER_MS);
    out
}

fn segment(text: &str, len_ms: u64, avg_logprob: f32) -> Segment {
    Segment {
        start_ms: 0,
        end_ms: len_ms,
        text: text.into(),
        no_speech: 0.01,
        char_p: Vec::new(),
        avg_logprob,
    }
}

/// A scripted decode's result.
fn decoded(segments: Vec<Segment>) -> Decoded {
    Decoded {
        segments,
        elapsed: Duration::from_millis(5),
    }
}

/// A recognizer that answers its n-th decode with `script(n, buffer_ms)`, and counts them.
fn scripted(
    script: impl Fn(usize, u64) -> Vec<Segment> + Send + 'static,
) -> (StreamRecognizer, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let engine = Engine::scripted(move |req| {
        let n = seen.fetch_add(1, Ordering::SeqCst);
        let ms = (req.pcm.len() / SAMPLES_PER_MS) as u64;
        Ok(decoded(script(n, ms)))
    });
    (
        StreamRecognizer::new(engine, StreamConfig::new(Lang::Zh)),
        calls,
    )
}

/// A Mandarin recognizer whose decodes say `script(prompt, buffer_ms)`, as one segment over
/// the whole buffer: the decoder's answer depends on what its prompt holds.
fn prompted(
    script: impl Fn(&str, u64) -> &'static str + Send + Sync + 'static,
) -> StreamRecognizer {
    let engine = Engine::scripted(move |req| {
        let ms = (req.pcm.len() / SAMPLES_PER_MS) as u64;
        Ok(decoded(vec![segment(script(&req.prompt, ms), ms, -0.2)]))
    });
    StreamRecognizer::new(engine, StreamConfig::new(Lang::Zh))
}

/// Feeds `pcm` in 100 ms pieces, stepping after each like the live tap does.
async fn feed(rec: &mut StreamRecognizer, pcm: &[f32]) -> Vec<CaptionEvent> {
    let mut out = Vec::new();
    for piece in pcm.chunks(100 * SAMPLES_PER_MS) {
        rec.push_audio(piece);
        out.extend(rec.step().await);
    }
    out
}

fn stable(events: &[CaptionEvent]) -> Vec<&str> {
    events
        .iter()
        .filter(|e| e.stable && !e.revision)
        .map(|e| e.text.as_str())
        .collect()
}

#[tokio::test]
async fn a_decode_rejected_as_invented_keeps_the_last_believed_guess_for_the_pause() {
    // The first decode hears the phrase; every later one comes back as a made-up run the
    // guards reject. The pause must still commit the phrase, not nothing.
    let (mut rec, calls) = scripted(|n, ms| {
        if n == 0 {
            vec![segment("我们今天讨论残疾人证办理", ms, -0.2)]
        } else {
            vec![segment("这是一段没有人说过的话", ms, -2.0)]
        }
    });
    let mut pcm = quiet(300);
    pcm.extend(voice(1500));
    pcm.extend(quiet(1500));
    let events = feed(&mut rec, &pcm).await;
    assert!(calls.load(Ordering::SeqCst) >= 2, "a rejected decode ran");
    assert_eq!(stable(&events), ["我们今天讨论残疾人证办理"]);
    assert_eq!(rec.committed_text(), "我们今天讨论残疾人证办理");
}

#[tokio::test]
async fn a_decode_with_nothing_invented_may_still_revise_the_guess() {
    // The contrast: a believed later decode does replace the first guess.
    let (mut rec, _) = scripted(|n, ms| {
        let text = if n == 0 {
            "我们今天讨论"
        } else {
            "我们今天讨论残疾人证办理"
        };
        vec![segment(text, ms, -0.2)]
    });
    let mut pcm = quiet(300);
    pcm.extend(voice(1500));
    pcm.extend(quiet(1500));
    let events = feed(&mut rec, &pcm).await;
    assert_eq!(
        rec.committed_text(),
        "我们今天讨论残疾人证办理",
        "{events:?}"
    );
}

#[tokio::test]
async fn a_sentence_too_short_for_its_audio_does_not_take_the_audio_with_it() {
    // Whisper hears one short sentence in an 8 s buffer and says it lasts all 8 s. Cutting
    // the buffer after it must keep the speech six characters cannot have filled.
    let lens = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = lens.clone();
    let (mut rec, _) = scripted(move |_, ms| {
        seen.lock().unwrap().push(ms);
        if ms >= 6500 {
            vec![segment("最真实的状态。", ms, -0.2)]
        } else {
            Vec::new()
        }
    });
    let mut pcm = quiet(300);
    pcm.extend(talking(10_000));
    let events = feed(&mut rec, &pcm).await;
    assert_eq!(stable(&events).concat(), "最真实的状态。");
    let lens = lens.lock().unwrap().clone();
    let after = lens
        .iter()
        .skip_while(|ms| **ms < 6500)
        .find(|ms| **ms < 6500)
        .copied();
    // Six characters account for at most 4 s of speech: the cut comes there, not at 8 s.
    assert!(after.is_some_and(|ms| ms >= 3000), "decodes: {lens:?}");
}

#[tokio::test]
async fn a_finished_utterance_is_settled_by_one_whole_decode_after_its_live_lines() {
    // Live decodes hear 停止 where the settling decode (beam search, the whole utterance)
    // hears 停滞. The live line goes out at the pause; the settling decode runs only when
    // asked, once, on all of the utterance, and revises that line in place.
    let beams = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = beams.clone();
    let engine = Engine::scripted(move |req| {
        seen.lock()
            .unwrap()
            .push((req.beam, req.pcm.len() / SAMPLES_PER_MS));
        let text = if req.beam == Some(SETTLE_BEAM) {
            "甚至出现交易几乎停滞的情况。"
        } else {
            "甚至出现交易几乎停止的情况。"
        };
        let ms = (req.pcm.len() / SAMPLES_PER_MS) as u64;
        Ok(decoded(vec![segment(text, ms, -0.2)]))
    });
    let mut rec = StreamRecognizer::new(engine, StreamConfig::new(Lang::Zh));
    let mut pcm = quiet(300);
    pcm.extend(talking(2500));
    pcm.extend(quiet(1000));
    let live = feed(&mut rec, &pcm).await;
    assert_eq!(stable(&live).concat(), "甚至出现交易几乎停止的情况。");
    assert!(beams
        .lock()
        .unwrap()
        .iter()
        .all(|(b, _)| *b != Some(SETTLE_BEAM)));
    assert!(rec.settle_due());
    let revised = rec.settle().await;
    assert!(!rec.settle_due());
    let settling: Vec<_> = beams
        .lock()
        .unwrap()
        .iter()
        .filter(|(b, _)| *b == Some(SETTLE_BEAM))
        .map(|(_, ms)| *ms)
        .collect();
    assert_eq!(settling.len(), 1);
    assert!(settling[0] >= 2500, "the whole utterance: {settling:?}");
    let line_of = |text: &str| live.iter().find(|e| e.stable && e.text.contains(text));
    let stopped = line_of("停止").map(|e| e.seq);
    assert!(!revised.is_empty() && revised.iter().all(|e| e.revision && e.stable));
    let fixed = revised.iter().find(|e| Some(e.seq) == stopped).unwrap();
    assert!(fixed.text.contains("停滞"), "{revised:?}");
    // The live text is what was committed; nothing is settled twice.
    assert_eq!(rec.committed_text(), "甚至出现交易几乎停止的情况。");
    assert!(rec.settle().await.is_empty());
}

#[tokio::test]
async fn without_settling_no_second_decode_runs() {
    let (rec, calls) = scripted(|_, ms| vec![segment("请到前面的窗口办理。", ms, -0.2)]);
    let mut rec = {
        let mut cfg = StreamConfig::new(Lang::Zh);
        cfg.settle = false;
        StreamRecognizer::new(rec.engine.clone(), cfg)
    };
    let mut pcm = quiet(300);
    pcm.extend(talking(2000));
    pcm.extend(quiet(1000));
    feed(&mut rec, &pcm).await;
    let n = calls.load(Ordering::SeqCst);
    assert!(!rec.settle_due());
    assert!(rec.settle().await.is_empty());
    assert_eq!(calls.load(Ordering::SeqCst), n);
}

#[tokio::test]
async fn the_end_of_a_stream_does_not_decode_a_breath() {
    let (mut rec, calls) = scripted(|_, ms| vec![segment("谢谢大家谢谢大家谢谢大家", ms, -0.3)]);
    let mut pcm = quiet(300);
    pcm.extend(voice(200));
    feed(&mut rec, &pcm).await;
    let events = rec.finish().await;
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "200 ms of sound is not decoded"
    );
    assert!(stable(&events).is_empty(), "{events:?}");
}

#[tokio::test]
async fn the_end_of_a_stream_decodes_real_speech_and_commits_it() {
    let (mut rec, calls) = scripted(|_, ms| vec![segment("请到前面的窗口办理", ms, -0.3)]);
    // Under one decode interval, so only the end decodes it.
    let mut pcm = quiet(300);
    pcm.extend(voice(600));
    feed(&mut rec, &pcm).await;
    let events = rec.finish().await;
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(stable(&events), ["请到前面的窗口办理"]);
    assert!(!rec.has_pending_audio());
}

#[tokio::test]
async fn live_lines_go_on_while_a_settling_decode_is_out_and_the_next_waits_for_it() {
    // Two utterances. The first one's settling decode is handed out and not finished while
    // the second is spoken: the second's live line still goes out, its own settling waits
    // (its prompt is the first one's settled text), and a failed decode leaves the lines.
    let second_said = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let said = second_said.clone();
    let (mut rec, calls) = scripted(move |_, ms| {
        let text = if said.load(Ordering::SeqCst) {
            "材料请交给我。"
        } else {
            "请到前面的窗口办理。"
        };
        vec![segment(text, ms, -0.2)]
    });
    let mut pcm = quiet(300);
    pcm.extend(talking(2000));
    pcm.extend(quiet(1000));
    feed(&mut rec, &pcm).await;
    let first = rec.begin_settle().expect("the first utterance is due");
    second_said.store(true, Ordering::SeqCst);
    assert!(rec.begin_settle().is_none() && !rec.settle_due());
    let before = calls.load(Ordering::SeqCst);
    let mut pcm = talking(2000);
    pcm.extend(quiet(1000));
    let second = feed(&mut rec, &pcm).await;
    assert!(calls.load(Ordering::SeqCst) > before, "live decodes ran");
    assert_eq!(stable(&second), ["材料请交给我。"]);
    assert!(!rec.settle_due(), "one settling decode out at a time");
    drop(first.decode);
    let none = rec.end_settle(
        first.job,
        Err(AsrError::Unavailable("all recognizer workers are busy")),
    );
    assert!(none.is_empty());
    assert!(rec.settle_due(), "the second utterance's turn");
    let next = rec.begin_settle().expect("due");
    assert!(next.job.audio_ms() >= 2000);
}

#[tokio::test]
async fn speech_a_decode_skipped_after_reading_its_context_again_is_read_without_it() {
    // With the last sentence in its prompt, the decoder reads that sentence's end again and
    // stops, whatever the buffer holds after it. Decoded again without the committed text
    // as context, the buffer's speech is read and committed.
    let prompts = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = prompts.clone();
    let mut rec = prompted(move |prompt, ms| {
        let with_context = prompt.contains("窗口办理");
        seen.lock().unwrap().push(with_context);
        if ms < 3000 && !with_context {
            "请到前面的窗口办理。"
        } else if with_context {
            "前面的窗口办理。"
        } else {
            "材料请交给工作人员审核一下然后等待叫号。"
        }
    });
    let mut pcm = quiet(300);
    pcm.extend(talking(2000));
    pcm.extend(quiet(1000));
    let first = feed(&mut rec, &pcm).await;
    assert_eq!(stable(&first), ["请到前面的窗口办理。"]);
    let mut pcm = talking(10_000);
    pcm.extend(quiet(1000));
    let second = feed(&mut rec, &pcm).await;
    assert_eq!(
        stable(&second).concat(),
        "材料请交给工作人员审核一下然后等待叫号。"
    );
    // Short buffers of it were not decoded twice: only once the skipped speech ran long.
    // After that the context stays out until the buffer moves on, so there is one retry.
    let p = prompts.lock().unwrap();
    let retries = p.windows(2).filter(|w| w[0] && !w[1]).count();
    assert_eq!(retries, 1, "{p:?}");
    let first = p.windows(2).position(|w| w[0] && !w[1]).unwrap_or(0) + 1;
    assert!(
        p.len() > first + 1 && p[first..].iter().all(|c| !c),
        "{p:?}"
    );
}

#[tokio::test]
async fn settling_that_never_gets_cpu_time_holds_no_more_than_its_bound() {
    // The first settling decode goes out and never returns (its idle-priority worker gets
    // no CPU time); the speaker goes on for three minutes. The audio held for settling stays
    // bounded and the live lines keep coming; the oldest are left as first committed.
    const WHO: [&str; 6] = ["市民", "老人", "家属", "志愿者", "工作人员", "记者"];
    const WHAT: [&str; 10] = [
        "请到窗口办理",
        "请先取号",
        "请出示证件",
        "请稍等片刻",
        "请填写表格",
        "请到二楼",
        "请排队等候",
        "请保管好材料",
        "请注意安全",
        "请留下电话",
    ];
    let utterance = Arc::new(AtomicUsize::new(0));
    let said = utterance.clone();
    let (mut rec, _) = scripted(move |_, ms| {
        let i = said.load(Ordering::SeqCst);
        let text = format!("{}{}。", WHO[i % 6], WHAT[i % 10]);
        vec![segment(&text, ms, -0.2)]
    });
    let mut pcm = quiet(300);
    pcm.extend(talking(2000));
    pcm.extend(quiet(1000));
    feed(&mut rec, &pcm).await;
    let _stuck = rec.begin_settle().expect("due");
    let mut lines = 0;
    for i in 1..=60 {
        utterance.store(i, Ordering::SeqCst);
        let mut pcm = talking(2000);
        pcm.extend(quiet(1000));
        lines += stable(&feed(&mut rec, &pcm).await).len();
        assert!(
            rec.settler.held_ms() <= 120_000 + 200,
            "{}",
            rec.settler.held_ms()
        );
    }
    assert_eq!(lines, 60, "every utterance's live line went out");
    assert!(
        rec.settler.held_ms() >= 100_000,
        "the bound, not less, is held"
    );
}

#[tokio::test]
async fn a_sentence_end_cut_leaves_none_of_the_committed_words_in_the_buffer() {
    // Early decodes stretch the first words over the whole buffer; later ones place the
    // sentence where it was said. The sentence's end then lies before words committed from
    // the early decodes, and the cut at it left them at the buffer's head, where the decoder,
    // prompted with them, read them again and stopped.
    let (mut rec, _) = scripted(|_, ms| {
        if ms < 3500 {
            vec![segment("请到前面的", ms, -0.2)]
        } else {
            vec![Segment {
                start_ms: 0,
                end_ms: 1600,
                ..segment("请到前面的窗口办理。", 0, -0.2)
            }]
        }
    });
    let mut pcm = quiet(300);
    pcm.extend(talking(5000));
    let events = feed(&mut rec, &pcm).await;
    assert_eq!(stable(&events).concat(), "请到前面的窗口办理。");
    let committed_end = events
        .iter()
        .filter(|e| e.stable && !e.text.is_empty())
        .map(|e| e.end_ms)
        .max()
        .unwrap_or(0);
    assert!(committed_end > 1600, "{events:?}");
    assert!(
        rec.buf_start_ms >= committed_end,
        "buffer starts at {} ms, committed words end at {committed_end} ms",
        rec.buf_start_ms
    );
}

#[tokio::test]
async fn a_sentence_after_a_pause_that_ends_as_the_last_one_did_is_kept() {
    // Two counter clerks' instructions that end alike. The second is new speech, not the
    // first read again; only a read-back of the prompt at its head is dropped.
    let mut rec = prompted(|prompt, _| {
        if !prompt.contains("身份证请到窗口办理") {
            "身份证请到窗口办理。"
        } else if !prompt.contains("材料请到窗口办理") {
            "材料请到窗口办理。"
        } else {
            "到窗口办理。明天再来。"
        }
    });
    let mut pcm = quiet(300);
    for _ in 0..3 {
        pcm.extend(talking(2500));
        pcm.extend(quiet(1200));
    }
    let events = feed(&mut rec, &pcm).await;
    assert_eq!(
        stable(&events).concat(),
        "身份证请到窗口办理。材料请到窗口办理。明天再来。"
    );
}
