//! Numbers spelled either way — 二零一五 or 2015, 四千万 or 4000万, 一点二万 or 1.2万 — brought to
//! one spelling (the value's digits), so scoring a transcript does not count a correct number
//! written in the other script as wrong. Used on both the reference and the hypothesis.

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

fn is_numeral(c: char) -> bool {
    digit(c).is_some() || unit(c).is_some()
}

/// Writes a value without a needless fraction.
fn render(v: f64) -> String {
    if (v - v.round()).abs() < 1e-6 {
        format!("{}", v.round() as u64)
    } else {
        let s = format!("{v:.6}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

/// A run of Chinese numerals (with at most one 点) as its value's digits.
fn chinese_run(run: &[char]) -> String {
    if !run.iter().any(|c| unit(*c).is_some()) {
        // Read digit by digit (years, phone numbers): 二零一五 -> 2015.
        return run
            .iter()
            .map(|c| match digit(*c) {
                Some(d) => char::from_digit(d, 10).unwrap_or('0'),
                None => '.',
            })
            .collect();
    }
    let (mut total, mut section, mut num) = (0.0f64, 0.0f64, 0.0f64);
    let mut frac: Option<(f64, f64)> = None; // (value, scale) of digits after 点
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
        let Some(u) = unit(c) else { continue };
        let with_frac = num + frac.take().map_or(0.0, |(v, _)| v);
        if u >= 1e4 {
            total = (total + section + with_frac) * u;
            section = 0.0;
        } else {
            section += if with_frac == 0.0 { 1.0 } else { with_frac } * u;
        }
        num = 0.0;
    }
    render(total + section + num + frac.map_or(0.0, |(v, _)| v))
}

/// The text with every number, in Chinese numerals or Arabic digits (with 万/亿 after it),
/// replaced by its value's digits.
pub fn canonical_numbers(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if is_numeral(c) {
            let start = i;
            while i < chars.len()
                && (is_numeral(chars[i])
                    || (chars[i] == '点'
                        && i + 1 < chars.len()
                        && digit(chars[i + 1]).is_some()
                        && i > start))
            {
                i += 1;
            }
            out.push_str(&chinese_run(&chars[start..i]));
            continue;
        }
        if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == ',') {
                i += 1;
            }
            if i + 1 < chars.len() && chars[i] == '.' && chars[i + 1].is_ascii_digit() {
                i += 1;
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
            }
            let literal: String = chars[start..i].iter().filter(|c| **c != ',').collect();
            match chars.get(i).and_then(|c| unit(*c)).filter(|u| *u >= 1e4) {
                Some(u) => {
                    let v: f64 = literal.parse().unwrap_or(0.0);
                    out.push_str(&render(v * u));
                    i += 1;
                }
                None => out.push_str(&literal),
            }
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::canonical_numbers as n;

    #[test]
    fn both_scripts_meet_in_one_spelling() {
        for (zh, digits) in [
            ("最早于二零一五年", "最早于2015年"),
            ("挪用四千万炒股获刑十七年", "挪用4000万炒股获刑17年"),
            ("总共一点二万余元", "总共1.2万余元"),
            ("三百多斤", "300多斤"),
            ("二十五到三十五岁", "25到35岁"),
            ("一三八零八五五三三幺六", "13808553316"),
            ("一九九零年后", "1990年后"),
            ("第一百零五", "第105"),
        ] {
            assert_eq!(n(zh), n(digits), "{zh} / {digits}");
        }
        assert_eq!(n("4000万"), "40000000");
        assert_eq!(n("没有数字"), "没有数字");
    }
}
