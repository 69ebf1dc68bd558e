//! Inverse text normalization of Mandarin captions after GB/T 15835-2011 (出版物上数字用法):
//! years, dates, times, amounts with units, percentages, decimals and codes in Arabic digits
//! (2011年8月, 15米, 105%, 3.5亿元, 拨打110); ordinals, set phrases and approximations in
//! characters (第一次, 一二线城市, 十四五规划, 三四十岁). The recognizer writes numbers either way;
//! both the streaming and the offline path pass their text through [`apply`], so viewers read
//! one style. A number is only rewritten where its context says what it is: a bare 一 or 十 in
//! running text is a word far more often than a quantity.

/// Value of a Chinese digit character.
fn digit(c: char) -> Option<u32> {
    Some(match c {
        '零' | '〇' => 0,
        '一' | '幺' => 1,
        '二' | '两' => 2,
        '三' => 3,
        '四' => 4,
        '五' => 5,
        '六' => 6,
        '七' => 7,
        '八' => 8,
        '九' => 9,
        _ => return None,
    })
}

fn unit(c: char) -> Option<f64> {
    Some(match c {
        '十' => 10.0,
        '百' => 100.0,
        '千' => 1000.0,
        '万' => 1e4,
        '亿' => 1e8,
        _ => return None,
    })
}

/// Units of measure: a number before one is always written in digits (3米, 5元, 0.5公斤).
const MEASURES: &[&str] = &[
    "个百分点",
    "平方公里",
    "平方米",
    "立方米",
    "千米",
    "公里",
    "厘米",
    "毫米",
    "米",
    "公顷",
    "亩",
    "吨",
    "千克",
    "公斤",
    "克",
    "斤",
    "美元",
    "欧元",
    "港元",
    "元",
    "岁",
    "千瓦",
    "瓦",
    "毫升",
    "升",
    "分贝",
    "摄氏度",
    "%",
];

/// Counting words: written in digits from 10 on, or with a fraction or 万/亿 (17年, 56个民族,
/// 3万人), and in characters below (一个人, 三年, 两次) as running text writes them.
const COUNTS: &[&str] = &[
    "个月", "个", "人", "次", "年", "天", "周", "小时", "分钟", "秒", "户", "家", "项", "所", "座",
    "辆", "台", "件", "名", "位", "条", "场", "批", "套", "张", "起", "例", "支", "只", "栋", "层",
    "倍", "度", "块", "篇", "部", "种", "届", "期", "亿", "万",
];

/// Words before an hour that make 点 a time of day rather than a decimal point or "a little".
const DAY_PARTS: &[&str] = &[
    "上午", "下午", "晚上", "早上", "凌晨", "中午", "傍晚", "夜里", "今天", "明天", "昨天", "今晚",
    "早晨", "每天", "日",
];

/// Phrases whose numerals are words, never quantities.
const SET_PHRASES: &[&str] = &[
    "一二线",
    "三四线",
    "十四五",
    "十三五",
    "十二五",
    "十五五",
    "一带一路",
    "一国两制",
    "两会",
    "三农",
    "一点一滴",
    "一点儿",
    "一点点",
    "十月革命",
    "五四运动",
    "九一八",
    "七七事变",
    "四个全面",
    "五位一体",
    "一刀切",
    "一揽子",
    "千万不要",
    "千万别",
    "万万",
    "一五一十",
    "十全十美",
    "三心二意",
    "七上八下",
    "一年四季",
    "一年一度",
    "一次性",
    "一站式",
    "一体化",
    "一把手",
    "一线",
];

/// A marked character: the flag says the recognizer was unsure of it (kept through rewrites).
pub type Marked = (char, bool);

/// Rewrites numbers in `text` as GB/T 15835 writes them.
pub fn apply(text: &str) -> String {
    let marked: Vec<Marked> = text.chars().map(|c| (c, false)).collect();
    apply_marked(&marked).into_iter().map(|(c, _)| c).collect()
}

/// [`apply`] on marked characters: a rewritten number is marked if any character it came
/// from was.
pub fn apply_marked(text: &[Marked]) -> Vec<Marked> {
    let chars: Vec<char> = text.iter().map(|(c, _)| *c).collect();
    let protected = protected_spans(&chars);
    let runs = numeral_runs(&chars);
    let mut plan: Vec<Option<Rewrite>> = runs
        .iter()
        .map(|r| {
            if protected.iter().any(|(a, b)| r.start < *b && *a < r.end) {
                None
            } else {
                decide(&chars, r)
            }
        })
        .collect();
    // A range takes its first number's form from its second: 二十五到三十五岁 -> 25到35岁.
    for i in (0..runs.len().saturating_sub(1)).rev() {
        let (a, b) = (&runs[i], &runs[i + 1]);
        let joined = chars[a.end..b.start].iter().collect::<String>();
        if plan[i].is_none()
            && plan[i + 1]
                .as_ref()
                .is_some_and(|p| p.kind == Kind::Quantity)
            && matches!(joined.as_str(), "到" | "至" | "~" | "～" | "-" | "—")
            && !protected.iter().any(|(x, y)| a.start < *y && *x < a.end)
        {
            plan[i] = quantity(&chars[a.start..a.end]).map(|text| Rewrite {
                from: a.start,
                to: a.end,
                text,
                kind: Kind::Quantity,
            });
        }
    }
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    for p in plan.into_iter().flatten() {
        if p.from < i {
            continue;
        }
        out.extend_from_slice(&text[i..p.from]);
        let unsure = text[p.from..p.to].iter().any(|(_, m)| *m);
        out.extend(p.text.chars().map(|c| (c, unsure)));
        i = p.to;
    }
    out.extend_from_slice(&text[i..]);
    out
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Quantity,
    Other,
}

#[derive(Debug)]
struct Rewrite {
    /// Source span replaced (may include a prefix such as 百分之).
    from: usize,
    to: usize,
    text: String,
    kind: Kind,
}

#[derive(Debug)]
struct Run {
    start: usize,
    end: usize,
}

/// Maximal runs of Chinese numerals, with a 点 between digits taken in.
fn numeral_runs(chars: &[char]) -> Vec<Run> {
    let numeral = |c: char| digit(c).is_some() || unit(c).is_some();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !numeral(chars[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len()
            && (numeral(chars[i])
                || (chars[i] == '点' && i > start && decimal_point(chars, i, start)))
        {
            i += 1;
        }
        out.push(Run { start, end: i });
    }
    out
}

/// A 点 inside a number is a decimal point when plain digits follow it and no 分 ends them
/// (三点五, but not 三点二十分 or 三点零五分, which are times).
fn decimal_point(chars: &[char], at: usize, start: usize) -> bool {
    if chars[start..at].contains(&'点') {
        return false;
    }
    let rest = &chars[at + 1..];
    let n = rest.iter().take_while(|c| digit(**c).is_some()).count();
    n > 0
        && rest
            .get(n)
            .is_none_or(|c| unit(*c).map_or(*c != '分', |u| u >= 1e4))
}

fn protected_spans(chars: &[char]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for p in SET_PHRASES {
        let pc: Vec<char> = p.chars().collect();
        for i in 0..chars.len().saturating_sub(pc.len() - 1) {
            if chars[i..].starts_with(&pc) {
                out.push((i, i + pc.len()));
            }
        }
    }
    out
}

fn starts_with_any<'a>(s: &[char], list: &[&'a str]) -> Option<&'a str> {
    list.iter()
        .copied()
        .filter(|w| {
            let w: Vec<char> = w.chars().collect();
            s.starts_with(&w)
        })
        .max_by_key(|w| w.chars().count())
}

fn ends_with(s: &[char], w: &str) -> bool {
    let w: Vec<char> = w.chars().collect();
    s.ends_with(&w)
}

/// Digits read one by one (二零一一, 一三八…): no 十/百/千/万/亿 and no 点.
fn is_spelled(run: &[char]) -> bool {
    run.iter().all(|c| digit(*c).is_some())
}

fn spelled(run: &[char]) -> String {
    run.iter()
        .filter_map(|c| digit(*c).and_then(|d| char::from_digit(d, 10)))
        .collect()
}

/// Value of a number said with units (二十五, 一百零五, 四千万, 三点五, 一点二万).
fn cardinal(run: &[char]) -> Option<f64> {
    if run.first().and_then(|c| unit(*c)).is_some_and(|u| u > 10.0) {
        return None; // 万一, 千万: words
    }
    // Two digits side by side before a unit are an estimate (三四十, 两三百), not one number.
    let mut prev_digit = false;
    for &c in run {
        let is_d = digit(c).is_some_and(|d| d != 0);
        if is_d && prev_digit {
            if !run.contains(&'点') && run.iter().any(|c| unit(*c).is_some()) {
                return None;
            }
            if !run.contains(&'点') {
                return None;
            }
        }
        prev_digit = is_d && !run.contains(&'点');
    }
    // Sections: below 万, the 万 level, and what came before the last 亿.
    let (mut total, mut wan, mut section, mut num) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
    let mut frac: Option<(f64, f64)> = None;
    for &c in run {
        if c == '点' {
            frac = Some((0.0, 0.1));
            continue;
        }
        if let Some(d) = digit(c) {
            match &mut frac {
                Some((v, scale)) => {
                    *v += d as f64 * *scale;
                    *scale /= 10.0;
                }
                None => num = d as f64,
            }
            continue;
        }
        let u = unit(c)?;
        let with_frac = num + frac.take().map_or(0.0, |(v, _)| v);
        if u >= 1e8 {
            total = (total + wan + section + with_frac) * u;
            wan = 0.0;
            section = 0.0;
        } else if u >= 1e4 {
            wan = (section + with_frac) * u;
            section = 0.0;
        } else {
            section += if with_frac == 0.0 { 1.0 } else { with_frac } * u;
        }
        num = 0.0;
    }
    Some(total + wan + section + num + frac.map_or(0.0, |(v, _)| v))
}

fn render(v: f64) -> String {
    if (v - v.round()).abs() < 1e-6 {
        format!("{}", v.round() as u64)
    } else {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

/// A quantity in digits; large round numbers keep their 万 or 亿 (4000万, 3.5亿).
fn quantity(run: &[char]) -> Option<String> {
    let v = cardinal(run)?;
    if run.contains(&'亿') && v >= 1e8 {
        return Some(format!("{}亿", render(v / 1e8)));
    }
    if run.contains(&'万') && v >= 1e4 {
        return Some(format!("{}万", render(v / 1e4)));
    }
    Some(render(v))
}

fn decide(chars: &[char], r: &Run) -> Option<Rewrite> {
    let run = &chars[r.start..r.end];
    let before = &chars[..r.start];
    let after = &chars[r.end..];
    let rewrite = |from: usize, text: String, kind: Kind| {
        Some(Rewrite {
            from,
            to: r.end,
            text,
            kind,
        })
    };
    if before.last() == Some(&'第') {
        return None; // ordinals stay in characters
    }
    for (prefix, sign) in [("百分之", "%"), ("千分之", "‰")] {
        if ends_with(before, prefix) {
            let v = if run == ['百'] {
                Some(100.0)
            } else {
                cardinal(run)
            };
            return v.and_then(|v| {
                rewrite(
                    r.start - prefix.chars().count(),
                    format!("{}{sign}", render(v)),
                    Kind::Quantity,
                )
            });
        }
    }
    let spelled_run = is_spelled(run);
    if spelled_run {
        // A year: four digits read one by one before 年.
        if run.len() == 4 && after.first() == Some(&'年') {
            return rewrite(r.start, spelled(run), Kind::Other);
        }
        // Minutes read as digits (三点零五分).
        if run.len() == 2 && after.first() == Some(&'分') && before.last() == Some(&'点') {
            return rewrite(r.start, spelled(run), Kind::Other);
        }
        // Phone numbers, codes, hotlines (一一零, 一三八…).
        if run.len() >= 5 || (run.len() >= 3 && run.iter().any(|c| matches!(c, '零' | '〇' | '幺')))
        {
            return rewrite(r.start, spelled(run), Kind::Other);
        }
        if run.len() > 1 {
            return None; // 三四个, 两三天: an estimate
        }
    }
    let v = cardinal(run)?;
    let whole = (v - v.round()).abs() < 1e-6;
    let has_point = run.contains(&'点');
    let big = run.iter().any(|c| matches!(c, '万' | '亿'));
    // Dates: 八月, 十二月十五日 (the day only after a month).
    if whole && !has_point && !big {
        match after.first() {
            Some('月') if (1.0..=12.0).contains(&v) => {
                return rewrite(r.start, render(v), Kind::Other)
            }
            Some('日' | '号') if (1.0..=31.0).contains(&v) && before.last() == Some(&'月') => {
                return rewrite(r.start, render(v), Kind::Other)
            }
            _ => {}
        }
    }
    // Times: 下午三点, 三点半, 十五时四十分, 三点二十分.
    if whole && !has_point && !big && v <= 24.0 {
        let clock_word = matches!(after.first(), Some('点' | '时'));
        let after_clock = &after[1.min(after.len())..];
        let day_part = DAY_PARTS.iter().any(|w| ends_with(before, w));
        let minutes_follow = after_clock
            .first()
            .is_some_and(|c| matches!(c, '半' | '整' | '钟'))
            || after_clock
                .iter()
                .position(|c| digit(*c).is_none() && unit(*c).is_none())
                .is_some_and(|n| n > 0 && after_clock[n] == '分');
        if clock_word && (day_part || minutes_follow) {
            return rewrite(r.start, render(v), Kind::Other);
        }
    }
    // Minutes after an hour: 三点二十分, 十五时四十分.
    if whole
        && !has_point
        && v < 60.0
        && after.first() == Some(&'分')
        && matches!(before.last(), Some('点' | '时'))
    {
        return rewrite(r.start, render(v), Kind::Other);
    }
    // Quantities: a unit after the number, perhaps after 多/余/来 (三百多斤).
    let mut unit_at = after;
    if let Some(c) = unit_at.first() {
        if matches!(c, '多' | '余' | '来') {
            unit_at = &unit_at[1..];
        }
    }
    if starts_with_any(unit_at, MEASURES).is_some() {
        return quantity(run).and_then(|t| rewrite(r.start, t, Kind::Quantity));
    }
    if starts_with_any(unit_at, COUNTS).is_some() && (v >= 10.0 || has_point || big) {
        return quantity(run).and_then(|t| rewrite(r.start, t, Kind::Quantity));
    }
    // A large amount stands alone too (挪用四千万炒股).
    if big && run.len() >= 2 && digit(run[0]).is_some() {
        return quantity(run).and_then(|t| rewrite(r.start, t, Kind::Quantity));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Spoken form -> how GB/T 15835 writes it.
    const TABLE: &[(&str, &str)] = &[
        // years and dates
        ("二零一一年八月", "2011年8月"),
        ("二〇二四年十二月一日", "2024年12月1日"),
        ("一九九零年后", "1990年后"),
        ("2011年八月", "2011年8月"),
        ("十二月十五日上午", "12月15日上午"),
        ("八月份", "8月份"),
        ("三月二号", "3月2号"),
        ("二零零八年奥运会", "2008年奥运会"),
        // times
        ("下午三点", "下午3点"),
        ("三点半开始", "3点半开始"),
        ("十五时四十分", "15时40分"),
        ("三点二十分", "3点20分"),
        ("三点零五分", "3点05分"),
        ("晚上八点整", "晚上8点整"),
        ("早上九点钟", "早上9点钟"),
        // amounts with units
        ("十五米", "15米"),
        ("三米", "3米"),
        ("五十元", "50元"),
        ("两公斤", "2公斤"),
        ("三点五公里", "3.5公里"),
        ("零点五吨", "0.5吨"),
        ("三百多斤", "300多斤"),
        ("一千二百亩", "1200亩"),
        ("二十五岁", "25岁"),
        ("一百零五米", "105米"),
        ("一万五千元", "1.5万元"),
        ("三亿元", "3亿元"),
        ("三亿五千万元", "3.5亿元"),
        ("挪用四千万炒股", "挪用4000万炒股"),
        ("总共一点二万余元", "总共1.2万余元"),
        ("十五平方公里", "15平方公里"),
        ("五十六个民族", "56个民族"),
        ("获刑十七年", "获刑17年"),
        ("三万人", "3万人"),
        ("增长三点五倍", "增长3.5倍"),
        ("三个百分点", "3个百分点"),
        ("十多年", "10多年"),
        // percentages
        ("百分之一百零五", "105%"),
        ("百分之三点五", "3.5%"),
        ("百分之五十", "50%"),
        ("百分之百", "100%"),
        ("千分之五", "5‰"),
        ("下降百分之零点八", "下降0.8%"),
        // ranges
        ("二十五到三十五岁", "25到35岁"),
        ("十到二十公里", "10到20公里"),
        // phone numbers and codes
        ("一三八零八五五三三幺六", "13808553316"),
        ("拨打一一零", "拨打110"),
        ("拨打一二零急救电话", "拨打120急救电话"),
        ("热线一二三四五", "热线12345"),
        // digits already
        ("15米", "15米"),
        ("2011年8月", "2011年8月"),
        // ordinals, set phrases, estimates and words stay in characters
        ("第一次", "第一次"),
        ("第三届", "第三届"),
        ("第十五条", "第十五条"),
        ("一二线城市", "一二线城市"),
        ("十四五规划", "十四五规划"),
        ("一带一路", "一带一路"),
        ("一国两制", "一国两制"),
        ("三四十岁", "三四十岁"),
        ("两三天", "两三天"),
        ("三四个", "三四个"),
        ("一个人", "一个人"),
        ("三年", "三年"),
        ("两次", "两次"),
        ("有一点", "有一点"),
        ("一点一滴", "一点一滴"),
        ("万一", "万一"),
        ("千万不要", "千万不要"),
        ("统一", "统一"),
        ("一些", "一些"),
        ("一度成为", "一度成为"),
        ("十分重要", "十分重要"),
        ("三分之一", "三分之一"),
        ("一样", "一样"),
        ("一起", "一起"),
        ("七上八下", "七上八下"),
        ("一次性", "一次性"),
        ("十几个", "十几个"),
        ("一五一十", "一五一十"),
        ("一九", "一九"),
    ];

    #[test]
    fn gb_t_15835_table() {
        assert!(TABLE.len() >= 60);
        let mut wrong = Vec::new();
        for (spoken, written) in TABLE {
            let got = apply(spoken);
            if got != *written {
                wrong.push(format!("{spoken} -> {got} (want {written})"));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn a_rewritten_number_keeps_its_uncertainty_and_nothing_else_moves() {
        let text: Vec<Marked> = "共十五米长"
            .chars()
            .enumerate()
            .map(|(i, c)| (c, i == 2))
            .collect();
        let out = apply_marked(&text);
        let s: String = out.iter().map(|(c, _)| *c).collect();
        assert_eq!(s, "共15米长");
        let marks: Vec<bool> = out.iter().map(|(_, m)| *m).collect();
        assert_eq!(marks, vec![false, true, true, false, false]);
    }

    #[test]
    fn running_text_without_numbers_is_untouched() {
        for s in ["", "各位记者朋友们，大家上午好。", "Hello 123 world", "一"] {
            assert_eq!(apply(s), s);
        }
    }
}
