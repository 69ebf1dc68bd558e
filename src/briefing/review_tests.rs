//! The captioner's review rules: revisions, checked holding, typed lines, learnt rules and
//! the recognizer's settling revisions.

use super::*;

fn line(text: &str, stable: bool) -> CaptionLine {
    CaptionLine {
        speaker: "p1".into(),
        role: Role::Broadcaster,
        name: "发言人".into(),
        seq: 99,
        text: text.into(),
        stable,
        start_ms: 0,
        end_ms: 1000,
        audio_end_unix_ms: 1000,
        degraded: false,
        unsure: vec![[0, 1]],
        review: Revision::default(),
    }
}

fn sent(out: &[Out]) -> Vec<(To, u64, u32, String)> {
    out.iter()
        .filter_map(|o| match o {
            Out::Send(to, l) => Some((*to, l.seq, l.review.rev, l.text.clone())),
            _ => None,
        })
        .collect()
}

const CHECKED: To = To {
    live: false,
    checked: true,
    desk: false,
};

#[test]
fn a_correction_is_the_next_revision_of_the_same_line_to_everyone_and_the_transcript() {
    let mut d = ReviewDesk::new(5, 4000, Vec::new());
    d.desk_opened();
    let out = d.machine(line("临清市残联", true), 1000);
    assert!(matches!(&out[0], Out::Keep(l) if l.seq == 5));
    assert_eq!(
        sent(&out)[0].0,
        To {
            checked: false,
            ..To::ALL
        },
        "held"
    );
    let out = d.correct(5, "临清市残联今天", 2500).unwrap();
    let kept = out
        .iter()
        .find_map(|o| match o {
            Out::Keep(l) => Some(l.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!((kept.seq, kept.review.rev), (5, 1));
    assert!(kept.review.corrected && kept.review.checked);
    assert_eq!(kept.review.machine_text.as_deref(), Some("临清市残联"));
    assert_eq!(kept.review.corrected_after_ms, Some(1500));
    assert!(kept.unsure.is_empty());
    assert_eq!(sent(&out), vec![(To::ALL, 5, 1, "临清市残联今天".into())]);
    // A second captioner's later correction wins; the machine text stays the first one.
    let out = d.correct(5, "临清市残联今天上午", 2600).unwrap();
    let l = match &out[0] {
        Out::Keep(l) => l.clone(),
        o => panic!("{o:?}"),
    };
    assert_eq!(l.review.rev, 2);
    assert_eq!(l.review.machine_text.as_deref(), Some("临清市残联"));
    assert_eq!(
        l.review.corrected_after_ms,
        Some(1500),
        "the first correction's time"
    );
}

#[test]
fn bad_corrections_change_nothing() {
    let mut d = ReviewDesk::new(0, 4000, Vec::new());
    d.machine(line("一句", true), 0);
    assert_eq!(d.correct(7, "x", 1), Err(ReviewError::NoSuchLine(7)));
    assert_eq!(
        d.correct(0, &"长".repeat(MAX_LINE_CHARS + 1), 1),
        Err(ReviewError::TooLong)
    );
    assert_eq!(d.accept(3), Err(ReviewError::NoSuchLine(3)));
    // Lines too old to correct are gone from the desk.
    for i in 0..CORRECTABLE_LINES {
        d.machine(line(&format!("第{i}句"), true), 0);
    }
    assert_eq!(d.correct(0, "改", 1), Err(ReviewError::NoSuchLine(0)));
    assert!(d.correct(1, "改", 1).is_ok());
}

#[test]
fn checked_viewers_get_a_line_after_the_window_or_at_acceptance_and_in_order() {
    let mut d = ReviewDesk::new(0, 4000, Vec::new());
    d.desk_opened();
    d.machine(line("甲", true), 1000);
    d.machine(line("乙", true), 2000);
    d.machine(line("丙", true), 3000);
    assert_eq!(d.first_held(), Some(0));
    assert_eq!(d.next_deadline(), Some(5000));
    assert!(d.tick(4999).is_empty());
    assert_eq!(sent(&d.tick(5000)), vec![(CHECKED, 0, 0, "甲".into())]);
    // Accepting the third sends the second first: checked viewers read in order.
    let out = d.accept(2).unwrap();
    let to_checked: Vec<u64> = sent(&out)
        .into_iter()
        .filter(|s| s.0 == CHECKED)
        .map(|s| s.1)
        .collect();
    assert_eq!(to_checked, vec![1, 2]);
    assert!(d.first_held().is_none());
    assert!(d.tick(100_000).is_empty(), "each line goes out once");
    // Accepting again sends nothing new.
    assert!(sent(&d.accept(2).unwrap()).is_empty());
}

#[test]
fn without_a_captioner_checked_viewers_get_live_captions_not_silence() {
    let mut d = ReviewDesk::new(0, 4000, Vec::new());
    let out = d.machine(line("没人校对", true), 0);
    assert_eq!(sent(&out)[0].0, To::ALL);
    let out = d.machine(line("未完", false), 0);
    assert_eq!(sent(&out)[0].0, To::ALL, "partial lines too");
    d.desk_opened();
    let out = d.machine(line("有人校对", true), 10);
    assert!(!sent(&out)[0].0.checked);
    assert!(!sent(&d.machine(line("未完", false), 10))[0].0.checked);
    // The captioner drops out: what was held goes out at once, and the badge is told.
    let out = d.desk_closed();
    assert_eq!(sent(&out), vec![(CHECKED, 1, 0, "有人校对".into())]);
    assert!(out.contains(&Out::Status));
    assert!(!d.captioner_present());
}

#[test]
fn typed_captions_stream_as_typed_and_the_recognizer_only_suggests() {
    let mut d = ReviewDesk::new(0, 4000, Vec::new());
    d.desk_opened();
    assert_eq!(d.set_mode(Captioning::Typed), vec![Out::Status]);
    let out = d.machine(line("机器的", true), 0);
    assert_eq!(sent(&out), vec![(To::DESK, 0, 0, "机器的".into())]);
    assert_eq!(d.next_seq(), 0, "a suggestion takes no line number");
    let out = d.typed(line("各位", false), false, 0).unwrap();
    let s = sent(&out);
    assert_eq!((s[0].0, s[0].1), (To::ALL, 0));
    let out = d.typed(line(" 各位记者 ", false), true, 0).unwrap();
    let kept = out
        .iter()
        .find_map(|o| match o {
            Out::Keep(l) => Some(l.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(kept.text, "各位记者");
    assert!(kept.stable && kept.review.typed && kept.review.checked);
    assert_eq!(kept.role, Role::Captioner);
    assert_eq!(sent(&out)[0].0, To::ALL, "typed lines are not held");
    assert!(d.typed(line("", false), true, 0).unwrap().is_empty());
    // The typist leaves: the recognizer's lines go to viewers again, not to nobody.
    d.desk_closed();
    assert_eq!(d.mode(), Captioning::Machine);
    let out = d.machine(line("机器接上", true), 0);
    assert_eq!(sent(&out)[0].0, To::ALL);
    assert_eq!(
        d.typed(line(&"字".repeat(501), false), false, 0),
        Err(ReviewError::TooLong)
    );
}

#[test]
fn replacement_rules_apply_to_later_lines_longest_first_and_once() {
    let mut d = ReviewDesk::new(0, 0, Vec::new());
    d.add_rule("林清", "临清").unwrap();
    d.add_rule("林清市", "临清市").unwrap();
    d.add_rule("残连", "残联").unwrap();
    d.add_rule("a", "aa").unwrap();
    assert!(d.add_rule(" ", "x").is_err());
    assert!(d.add_rule("同", "同").is_err());
    assert!(d.add_rule(&"长".repeat(31), "x").is_err());
    let out = d.machine(line("林清市残连和林清", true), 0);
    assert_eq!(sent(&out)[0].3, "临清市残联和临清");
    assert_eq!(apply_rules(d.rules(), "aaa"), "aaaaaa", "never re-applied");
    d.add_rule("林清", "临清县").unwrap();
    assert_eq!(d.rules().len(), 4, "the same wrong text is replaced");
    assert_eq!(apply_rules(d.rules(), "林清"), "临清县");
}

#[test]
fn the_window_can_change_and_zero_releases_everything() {
    let mut d = ReviewDesk::new(0, 4000, Vec::new());
    d.desk_opened();
    d.machine(line("甲", true), 0);
    assert_eq!(
        d.set_window(MAX_WINDOW_MS + 1, 0),
        Err(ReviewError::BadWindow)
    );
    let out = d.set_window(0, 10).unwrap();
    assert_eq!(sent(&out), vec![(CHECKED, 0, 0, "甲".into())]);
    assert!(out.contains(&Out::Status));
    assert_eq!(chars_changed("临清市", "林清市"), 1);
}

/// The recognizer's settling revision of its line `seq`.
fn settling(seq: u64, text: &str) -> CaptionLine {
    let mut l = line(text, true);
    l.seq = seq;
    l.review.settled = true;
    l
}

#[test]
fn a_settling_revision_replaces_the_line_it_names_in_place() {
    let mut d = ReviewDesk::new(5, 0, Vec::new());
    let mut first = line("甚至出现交易几乎停止的情况", true);
    first.seq = 0;
    d.machine(first, 0);
    let mut second = line("东北军的一些爱国将士", true);
    second.seq = 1;
    d.machine(second, 100);
    // The recognizer's line 0 is the desk's line 5: its next revision, to every view.
    let out = d.machine(settling(0, "甚至出现交易几乎停滞的情况"), 3000);
    assert_eq!(
        sent(&out),
        [(To::ALL, 5, 1, "甚至出现交易几乎停滞的情况".to_owned())]
    );
    assert!(
        matches!(&out[0], Out::Keep(l) if l.review.settled && !l.review.corrected && l.seq == 5)
    );
    assert_eq!(d.next_seq(), 7, "a revision is not a new line");
    // Another speaker's line 0, or a line the desk never had, is nobody's: nothing changes.
    let mut other = settling(0, "别的");
    other.speaker = "p2".into();
    assert!(d.machine(other, 3100).is_empty());
    assert!(d.machine(settling(9, "没有这行"), 3100).is_empty());
    // The same text again changes nothing.
    assert!(d
        .machine(settling(0, "甚至出现交易几乎停滞的情况"), 3200)
        .is_empty());
}

#[test]
fn a_line_a_captioner_checked_or_corrected_is_not_settled_over() {
    let mut d = ReviewDesk::new(0, 4000, Vec::new());
    d.desk_opened();
    for (i, t) in ["甲乙丙", "丁戊己", "庚辛壬"].iter().enumerate() {
        let mut l = line(t, true);
        l.seq = i as u64;
        d.machine(l, 0);
    }
    d.correct(0, "甲乙丁", 500).unwrap();
    d.accept(1).unwrap();
    assert!(d.machine(settling(0, "甲乙丙丁"), 1000).is_empty());
    assert!(d.machine(settling(1, "丁戊"), 1000).is_empty());
    // Line 2 is still held for checked viewers: live views and the console get the settled
    // text now, checked viewers get it when the window ends.
    let out = d.machine(settling(2, "庚辛"), 1000);
    assert_eq!(
        sent(&out),
        [(
            To {
                checked: false,
                ..To::ALL
            },
            2,
            1,
            "庚辛".to_owned()
        )]
    );
    assert_eq!(sent(&d.tick(4000)), [(CHECKED, 2, 1, "庚辛".to_owned())]);
}

#[test]
fn learnt_rules_apply_to_settled_text_too() {
    let mut d = ReviewDesk::new(0, 0, Vec::new());
    d.add_rule("林清", "临清").unwrap();
    let mut l = line("欢迎来到临清", true);
    l.seq = 3;
    d.machine(l, 0);
    let out = d.machine(settling(3, "欢迎大家来到林清"), 100);
    assert_eq!(sent(&out)[0].3, "欢迎大家来到临清");
}
