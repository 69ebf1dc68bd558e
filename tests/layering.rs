//! The layering rules of README "Layout", checked on the source: what each top-level module
//! may import, a media plane that knows only media, and no import loops between modules (a
//! module may use its own parent's items: that is one type's impl split over files).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level module -> the top-level modules it may import (README "What may import what").
const ALLOWED: &[(&str, &[&str])] = &[
    ("admission", &[]),
    ("clock", &[]),
    ("hours", &[]),
    ("token", &[]),
    ("metrics", &[]),
    ("audio", &[]),
    ("signal", &[]),
    ("asr", &["token"]),
    ("sfu", &[]),
    ("relay", &["signal"]),
    ("videomail", &["token"]),
    ("turn", &["sfu", "signal"]),
    ("captions", &["asr", "audio", "clock", "metrics", "signal"]),
    ("store", &["clock", "relay", "signal", "token", "videomail"]),
    (
        "config",
        &[
            "admission",
            "asr",
            "hours",
            "sfu",
            "signal",
            "store",
            "turn",
            "videomail",
        ],
    ),
    (
        "briefing",
        &["asr", "captions", "clock", "signal", "store", "token"],
    ),
    (
        "switchboard",
        &[
            "admission",
            "briefing",
            "captions",
            "config",
            "hours",
            "metrics",
            "relay",
            "sfu",
            "signal",
            "store",
            "token",
            "turn",
            "videomail",
        ],
    ),
    (
        "http",
        &[
            "admission",
            "briefing",
            "captions",
            "config",
            "metrics",
            "sfu",
            "signal",
            "store",
            "switchboard",
            "token",
            "videomail",
        ],
    ),
    (
        "server",
        &[
            "admission",
            "asr",
            "briefing",
            "captions",
            "config",
            "http",
            "sfu",
            "store",
            "switchboard",
            "token",
        ],
    ),
];

type Module = Vec<String>;

fn modules(root: &Path) -> BTreeMap<Module, PathBuf> {
    let mut out = BTreeMap::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
                continue;
            }
            if p.extension().is_none_or(|x| x != "rs") {
                continue;
            }
            let rel = p.strip_prefix(root).unwrap().with_extension("");
            let mut parts: Module = rel
                .iter()
                .map(|s| s.to_string_lossy().into_owned())
                .collect();
            if matches!(
                parts.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                parts.pop();
            }
            out.insert(parts, p);
        }
    }
    out
}

/// The code of a file without its unit tests and comments (tests may import anything).
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => &text,
    };
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every `crate::a::b` and `super::x` path in the code, as segments.
fn paths(code: &str) -> Vec<(bool, Vec<String>)> {
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    for start in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(i) = code[from..].find(start) {
            let at = from + i;
            from = at + start.len();
            if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_') {
                continue;
            }
            let mut end = at;
            while end < bytes.len()
                && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_' || bytes[end] == b':')
            {
                end += 1;
            }
            let segs: Vec<String> = code[at..end]
                .split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            out.push((start == "crate::", segs[1..].to_vec()));
        }
    }
    out
}

fn resolve(mods: &BTreeMap<Module, PathBuf>, path: &[String]) -> Option<Module> {
    (1..=path.len())
        .rev()
        .map(|i| path[..i].to_vec())
        .find(|p| mods.contains_key(p))
}

fn imports() -> BTreeMap<Module, BTreeSet<Module>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mods = modules(&root);
    let mut edges: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (m, file) in &mods {
        for (absolute, mut segs) in paths(&code(file)) {
            let mut base: Module = if absolute {
                Vec::new()
            } else {
                m[..m.len().saturating_sub(1)].to_vec()
            };
            while segs.first().is_some_and(|s| s == "super") {
                base.pop();
                segs.remove(0);
            }
            base.extend(segs);
            if let Some(t) = resolve(&mods, &base) {
                if &t != m {
                    edges.entry(m.clone()).or_default().insert(t);
                }
            }
        }
    }
    edges
}

#[test]
fn each_layer_imports_only_what_it_may() {
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut wrong = Vec::new();
    for (from, tos) in imports() {
        let (Some(a), false) = (from.first(), from.is_empty()) else {
            continue;
        };
        for to in tos {
            let Some(b) = to.first() else { continue };
            if a == b {
                continue;
            }
            match allowed.get(a.as_str()) {
                Some(ok) if ok.contains(&b.as_str()) => {}
                Some(_) => wrong.push(format!("{} imports {}", from.join("::"), to.join("::"))),
                None => wrong.push(format!("{a} is not in the layering list")),
            }
        }
    }
    assert!(wrong.is_empty(), "layering broken:\n{}", wrong.join("\n"));
}

#[test]
fn no_module_imports_itself_through_others() {
    let edges = imports();
    // A child using its parent's items is one type split over files, not a loop.
    let graph: BTreeMap<Module, Vec<Module>> = edges
        .into_iter()
        .map(|(a, bs)| {
            let keep = bs
                .into_iter()
                .filter(|b| !(b.len() < a.len() && a[..b.len()] == b[..]))
                .collect();
            (a, keep)
        })
        .collect();
    fn visit(
        g: &BTreeMap<Module, Vec<Module>>,
        m: &Module,
        state: &mut BTreeMap<Module, u8>,
        stack: &mut Vec<Module>,
        loops: &mut Vec<String>,
    ) {
        state.insert(m.clone(), 1);
        stack.push(m.clone());
        for n in g.get(m).into_iter().flatten() {
            match state.get(n) {
                Some(1) => {
                    let i = stack.iter().position(|s| s == n).unwrap_or(0);
                    let lp: Vec<String> =
                        stack[i..].iter().chain([n]).map(|s| s.join("::")).collect();
                    loops.push(lp.join(" -> "));
                }
                Some(_) => {}
                None => visit(g, n, state, stack, loops),
            }
        }
        stack.pop();
        state.insert(m.clone(), 2);
    }
    let mut state = BTreeMap::new();
    let mut loops = Vec::new();
    for m in graph.keys() {
        if !state.contains_key(m) {
            visit(&graph, m, &mut state, &mut Vec::new(), &mut loops);
        }
    }
    assert!(loops.is_empty(), "import loops:\n{}", loops.join("\n"));
}

#[test]
fn the_checker_sees_imports() {
    // A checker that finds nothing would pass everything.
    let edges = imports();
    let sb = edges
        .get(&vec!["switchboard".to_owned()])
        .expect("the switchboard imports things");
    assert!(sb.contains(&vec!["sfu".to_owned()]));
    let room = edges
        .get(&vec!["sfu".to_owned(), "room".to_owned()])
        .expect("the room imports things");
    assert!(room.contains(&vec!["sfu".to_owned(), "peer".to_owned()]));
}
