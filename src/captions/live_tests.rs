//! The live caption task against scripted engines: its lag reports, and a settling decode
//! out beside the live pass.

use super::*;
use std::sync::Mutex;

#[derive(Default)]
struct Seen(Mutex<Vec<CaptionStatus>>);

impl CaptionSink for Seen {
    fn caption(&self, _line: CaptionLine) {}
    fn status(&self, status: CaptionStatus) {
        self.0.lock().unwrap().push(status);
    }
}

/// Caught up `secs` ago, last reported long ago.
fn lag_since(secs: f64) -> Lag {
    let now = Instant::now();
    Lag {
        caught_up_at: now - Duration::from_secs_f64(secs),
        reported_behind: false,
        last_report: now - Duration::from_secs(5),
    }
}

fn emitter(sink: Arc<Seen>) -> Emitter {
    Emitter {
        speaker: Speaker {
            id: "p1".into(),
            role: Role::Broadcaster,
            name: "发言人".into(),
        },
        sink,
        stats: Arc::new(LiveStats::default()),
        t0_unix_ms: 0,
        last_unstable_empty: true,
    }
}

#[test]
fn a_stalled_stream_says_it_is_behind_every_second_and_once_when_caught_up() {
    let seen = Arc::new(Seen::default());
    let out = emitter(seen.clone());
    let mut lag = lag_since(5.0);
    // Speech waiting for 5 s with no caption: reported, with how far behind.
    report(&mut lag, &out, true, false);
    // Again at once: nothing new (at most once a second).
    report(&mut lag, &out, true, false);
    {
        let s = seen.0.lock().unwrap();
        assert_eq!(s.len(), 1);
        assert!(s[0].behind_ms >= 5000, "{:?}", s[0]);
    }
    // Silence (nothing pending) is not "behind": one all-clear, then quiet.
    report(&mut lag, &out, false, false);
    report(&mut lag, &out, false, false);
    let s = seen.0.lock().unwrap();
    assert_eq!(s.len(), 2);
    assert_eq!(s[1].behind_ms, 0);
    assert!(!s[1].degraded);
}

/// Keeps every caption line.
#[derive(Default)]
struct Lines(Mutex<Vec<CaptionLine>>);

impl CaptionSink for Lines {
    fn caption(&self, line: CaptionLine) {
        self.0.lock().unwrap().push(line);
    }
    fn status(&self, _status: CaptionStatus) {}
}

impl Lines {
    async fn wait_for(&self, what: &str, test: impl Fn(&[CaptionLine]) -> bool) {
        for _ in 0..500 {
            if test(&self.0.lock().unwrap()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("no {what} in {:?}", self.0.lock().unwrap());
    }
}

/// Speech-like sound, then a pause that ends the utterance.
fn utterance() -> Vec<f32> {
    let mut pcm = Vec::new();
    for _ in 0..5 {
        pcm.extend((0..400 * 16).map(|i| (i as f32 * 0.12).sin() * 0.3));
        pcm.extend(std::iter::repeat_n(0.0, 100 * 16));
    }
    pcm.extend(std::iter::repeat_n(0.0, 1000 * 16));
    pcm
}

#[tokio::test]
async fn a_settling_decode_never_holds_up_the_next_live_line() {
    // The background lane answers only when the test lets it: meanwhile the speaker goes
    // on, and that utterance's live line must go out.
    let (gate, opened) = std::sync::mpsc::channel::<()>();
    let second_said = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let said = second_said.clone();
    let mut settles = 0;
    let engine = Engine::scripted_lanes(
        move |req| {
            let ms = (req.pcm.len() / 16) as u64;
            let text = if said.load(Ordering::SeqCst) {
                "材料请交给我。"
            } else {
                "请到前面的窗口办理。"
            };
            Ok(crate::asr::Decoded {
                segments: vec![crate::asr::Segment {
                    start_ms: 0,
                    end_ms: ms,
                    text: text.into(),
                    no_speech: 0.01,
                    char_p: Vec::new(),
                    avg_logprob: -0.2,
                }],
                elapsed: Duration::from_millis(5),
            })
        },
        move |req| {
            let _ = opened.recv();
            settles += 1;
            Ok(crate::asr::Decoded {
                segments: vec![crate::asr::Segment {
                    start_ms: 0,
                    end_ms: (req.pcm.len() / 16) as u64,
                    text: if settles == 1 {
                        "请到前面的窗口办理吧。"
                    } else {
                        "材料请交给我吧。"
                    }
                    .into(),
                    no_speech: 0.01,
                    char_p: Vec::new(),
                    avg_logprob: -0.2,
                }],
                elapsed: Duration::from_millis(5),
            })
        },
    );
    let rec = StreamRecognizer::new(engine, StreamConfig::new(Lang::Zh));
    let sink = Arc::new(Lines::default());
    let (pcm_tx, pcm_rx) = mpsc::channel(1000);
    let (_stop_tx, stop_rx) = oneshot::channel();
    let task = tokio::spawn(run(
        emitter(Arc::new(Seen::default())).speaker,
        pcm_rx,
        stop_rx,
        Arc::new(AtomicU64::new(0)),
        rec,
        sink.clone(),
        Arc::new(LiveStats::default()),
    ));
    let stable = |l: &[CaptionLine]| l.iter().filter(|l| l.stable && !l.review.settled).count();
    for piece in utterance().chunks(1600) {
        pcm_tx.send(Decoded::Audio(piece.to_vec())).await.unwrap();
    }
    sink.wait_for("first line", |l| stable(l) == 1).await;
    second_said.store(true, Ordering::SeqCst);
    for piece in utterance().chunks(1600) {
        pcm_tx.send(Decoded::Audio(piece.to_vec())).await.unwrap();
    }
    sink.wait_for("second line", |l| stable(l) == 2).await;
    assert!(
        !sink.0.lock().unwrap().iter().any(|l| l.review.settled),
        "nothing settled yet"
    );
    let first = sink
        .0
        .lock()
        .unwrap()
        .iter()
        .find(|l| l.stable)
        .unwrap()
        .seq;
    // Both settling decodes may now answer: the first utterance's, then the second's.
    gate.send(()).unwrap();
    gate.send(()).unwrap();
    sink.wait_for("first line settled", |l| {
        l.iter()
            .any(|l| l.review.settled && l.seq == first && l.text.contains('吧'))
    })
    .await;
    pcm_tx.send(Decoded::End(Vec::new())).await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("the task ends")
        .unwrap();
    // Both utterances were settled, the second after the end at the latest.
    assert_eq!(
        sink.0
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.review.settled)
            .count(),
        2
    );
}

#[test]
fn a_normal_decode_interval_is_not_reported() {
    let seen = Arc::new(Seen::default());
    let out = emitter(seen.clone());
    let mut lag = lag_since(1.5);
    report(&mut lag, &out, true, false);
    assert!(seen.0.lock().unwrap().is_empty());
    // Lost audio or an overloaded recognizer is said even when the lag is short.
    report(&mut lag, &out, true, true);
    assert!(seen.0.lock().unwrap()[0].degraded);
}
