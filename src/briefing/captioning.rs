//! A briefing's captioners (速录员): who may correct or type its captions, their consoles'
//! presence, the correction window, and what the event learns from corrections (replacement
//! rules, vocabulary, a glossary loaded before it starts). Changes are kept in the store.

use super::review::{ReviewDesk, ReviewError, Rule};
use super::{Briefing, BriefingError, MAX_HOTWORDS, MAX_HOTWORD_CHARS};
use crate::signal::Captioning;
use std::sync::Arc;

/// Most captioners per event.
const MAX_CAPTIONERS: usize = 10;
/// Longest account name.
const MAX_NAME_CHARS: usize = 64;
/// Longest glossary file, bytes.
pub const MAX_GLOSSARY_BYTES: usize = 64 * 1024;

/// Cleans an organizer's hotword list, or says what is wrong with it.
pub fn check_hotwords(words: &[String]) -> Result<Vec<String>, BriefingError> {
    let mut out: Vec<String> = Vec::new();
    for h in words.iter().map(|h| h.trim()).filter(|h| !h.is_empty()) {
        if h.chars().count() > MAX_HOTWORD_CHARS || h.chars().any(char::is_control) {
            return Err(too_many_hotwords());
        }
        if !out.iter().any(|o| o == h) {
            out.push(h.to_owned());
        }
    }
    if out.len() > MAX_HOTWORDS {
        return Err(too_many_hotwords());
    }
    Ok(out)
}

fn too_many_hotwords() -> BriefingError {
    BriefingError::Invalid(format!(
        "at most {MAX_HOTWORDS} hotwords of at most {MAX_HOTWORD_CHARS} characters"
    ))
}

/// Cleans a list of captioners' account names.
pub fn check_captioners(names: &[String]) -> Result<Vec<String>, BriefingError> {
    let mut out: Vec<String> = Vec::new();
    for n in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
        if n.chars().count() > MAX_NAME_CHARS || n.chars().any(char::is_control) {
            return Err(BriefingError::Invalid(
                "a captioner's name is too long".into(),
            ));
        }
        if !out.iter().any(|o| o == n) {
            out.push(n.to_owned());
        }
    }
    if out.len() > MAX_CAPTIONERS {
        return Err(BriefingError::Invalid(format!(
            "at most {MAX_CAPTIONERS} captioners per event"
        )));
    }
    Ok(out)
}

/// What a glossary file holds: terms for the recognizer, and `wrong => right` rules.
#[derive(Debug, Default, PartialEq)]
pub struct Glossary {
    /// Terms to favour.
    pub terms: Vec<String>,
    /// Replacements.
    pub rules: Vec<(String, String)>,
}

/// Reads a glossary: one entry per line, a term alone (`临清市残联`) or a replacement
/// (`林清 => 临清`, also `→` or a tab); `#` starts a comment.
pub fn parse_glossary(text: &str) -> Result<Glossary, BriefingError> {
    if text.len() > MAX_GLOSSARY_BYTES {
        return Err(BriefingError::Invalid(format!(
            "a glossary may have at most {} KB",
            MAX_GLOSSARY_BYTES / 1024
        )));
    }
    let mut g = Glossary::default();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let pair = ["=>", "→", "\t"]
            .iter()
            .find_map(|sep| line.split_once(sep));
        match pair {
            Some((wrong, right)) => {
                let (wrong, right) = (wrong.trim(), right.trim());
                if wrong.is_empty() || right.is_empty() {
                    return Err(BriefingError::Invalid(format!(
                        "glossary line {}: a replacement needs both sides",
                        n + 1
                    )));
                }
                g.rules.push((wrong.to_owned(), right.to_owned()));
                g.terms.push(right.to_owned());
            }
            None => g.terms.push(line.to_owned()),
        }
    }
    Ok(g)
}

/// Keeps a captioner's console counted while it is open; dropping it counts it out.
pub struct Desk {
    briefing: Arc<Briefing>,
}

impl Drop for Desk {
    fn drop(&mut self) {
        let b = &self.briefing;
        b.after_review(b.hub.review(|r, _| Ok::<_, ReviewError>(r.desk_closed())));
    }
}

impl Briefing {
    /// Captioners assigned to it.
    pub fn captioners(&self) -> Vec<String> {
        self.stored().captioners.clone()
    }

    /// May this account correct or type its captions?
    pub fn is_captioner(&self, username: &str) -> bool {
        self.stored().captioners.iter().any(|c| c == username)
    }

    /// The organizer assigns captioners.
    pub async fn set_captioners(&self, names: &[String]) -> Result<(), BriefingError> {
        let names = check_captioners(names)?;
        self.stored().captioners = names;
        self.save().await
    }

    /// A captioner's console opened; it counts until the returned guard is dropped.
    pub fn open_desk(self: &Arc<Self>) -> Desk {
        self.after_review(
            self.hub
                .review(|r, _| Ok::<_, ReviewError>(r.desk_opened())),
        );
        Desk {
            briefing: self.clone(),
        }
    }

    /// Tells watchers if a review input changed what they see.
    fn after_review<E>(&self, changed: Result<bool, E>) {
        if let Ok(true) = changed {
            self.status.send_replace(self.info());
        }
    }

    /// Runs one input of the review rules and tells watchers of any change.
    pub fn review(
        &self,
        f: impl FnOnce(&mut ReviewDesk, u64) -> Result<Vec<super::review::Out>, ReviewError>,
    ) -> Result<(), ReviewError> {
        let changed = self.hub.review(f)?;
        self.after_review(Ok::<_, ReviewError>(changed));
        Ok(())
    }

    /// A captioner's typed line so far, or whole when `done` (速录).
    pub fn typed(
        &self,
        speaker: &str,
        name: &str,
        text: &str,
        done: bool,
    ) -> Result<(), ReviewError> {
        let changed = self.hub.typed(speaker, name, text, done)?;
        self.after_review(Ok::<_, ReviewError>(changed));
        Ok(())
    }

    /// The organizer or a captioner sets the correction window.
    pub async fn set_window(&self, ms: u64) -> Result<(), BriefingError> {
        self.review(|r, now| r.set_window(ms, now))
            .map_err(|e| BriefingError::Invalid(e.to_string()))?;
        self.stored().correction_window_ms = ms;
        self.save().await
    }

    /// A captioner switches between correcting and typing (速录).
    pub fn set_mode(&self, mode: Captioning) {
        let _ = self.review(|r, _| Ok(r.set_mode(mode)));
    }

    /// Learns from a correction: `wrong → right` for later lines, and `right` as a term for
    /// the recognizer when `hotword` is set.
    pub async fn learn(
        &self,
        wrong: &str,
        right: &str,
        hotword: bool,
    ) -> Result<(), BriefingError> {
        if !wrong.trim().is_empty() {
            self.hub
                .review(|r, _| r.add_rule(wrong, right).map(|()| Vec::new()))
                .map_err(|e| BriefingError::Invalid(e.to_string()))?;
        }
        if hotword {
            self.add_terms(&[right.trim().to_owned()])?;
        }
        self.save().await
    }

    /// Loads a glossary file before or during the event.
    pub async fn load_glossary(&self, text: &str) -> Result<Glossary, BriefingError> {
        let g = parse_glossary(text)?;
        // All or nothing: check every rule before keeping any.
        let mut trial = ReviewDesk::new(0, 0, self.hub.with_review(|r| r.rules().to_vec()));
        for (w, r) in &g.rules {
            trial
                .add_rule(w, r)
                .map_err(|e| BriefingError::Invalid(format!("{w}: {e}")))?;
        }
        self.add_terms(&g.terms)?;
        for (w, r) in &g.rules {
            let _ = self
                .hub
                .review(|d, _| d.add_rule(w, r).map(|()| Vec::new()));
        }
        self.save().await?;
        Ok(g)
    }

    fn add_terms(&self, terms: &[String]) -> Result<(), BriefingError> {
        let mut all = self.stored().hotwords.clone();
        all.extend(terms.iter().cloned());
        let all = check_hotwords(&all)?;
        self.vocabulary.set(all.clone());
        self.stored().hotwords = all;
        Ok(())
    }

    /// The terms and rules the recognizer and the review use now.
    pub fn learnt(&self) -> (Vec<String>, Vec<Rule>) {
        (
            self.stored().hotwords.clone(),
            self.hub.with_review(|r| r.rules().to_vec()),
        )
    }

    async fn save(&self) -> Result<(), BriefingError> {
        let rules = self.hub.with_review(|r| {
            r.rules()
                .iter()
                .map(|r| [r.wrong.clone(), r.right.clone()])
                .collect()
        });
        let row = {
            let mut s = self.stored();
            s.rules = rules;
            s.clone()
        };
        if let Some(store) = &self.store {
            store.update_event_captioning(&row).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_glossary_has_terms_and_replacements_and_comments() {
        let g = parse_glossary("# 本场术语\n临清市残联\n林清 => 临清\n残连→残联\n聊城\t聊城市\n\n")
            .unwrap();
        assert_eq!(g.terms, vec!["临清市残联", "临清", "残联", "聊城市"]);
        assert_eq!(
            g.rules,
            vec![
                ("林清".to_owned(), "临清".to_owned()),
                ("残连".to_owned(), "残联".to_owned()),
                ("聊城".to_owned(), "聊城市".to_owned())
            ]
        );
        assert!(parse_glossary("=> 临清").is_err());
        assert!(parse_glossary(&"长".repeat(MAX_GLOSSARY_BYTES)).is_err());
    }

    #[test]
    fn captioner_and_hotword_lists_are_cleaned_and_bounded() {
        let c = check_captioners(&[" a ".into(), "a".into(), "".into(), "b".into()]).unwrap();
        assert_eq!(c, vec!["a", "b"]);
        assert!(check_captioners(&(0..11).map(|i| i.to_string()).collect::<Vec<_>>()).is_err());
        assert!(check_hotwords(&["很长".repeat(20)]).is_err());
        assert_eq!(
            check_hotwords(&["临清".into(), "临清".into()])
                .unwrap()
                .len(),
            1
        );
    }
}
