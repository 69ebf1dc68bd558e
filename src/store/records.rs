//! Call records: one row per call, written when it is placed, answered and ended (so a crash
//! loses at most the end of a call in progress), kept for the configured retention, and the
//! service levels computed from them. No media and no text of a call is stored.

use super::{Store, StoreError};
use crate::relay::{CallRecord, StretchRecord};
use crate::signal::wire_name;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use std::collections::BTreeMap;

/// One call as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallRow {
    /// Row id.
    pub id: i64,
    /// The call's number in the server run that handled it.
    pub call_id: i64,
    /// Placed (Unix ms).
    pub placed_at_ms: i64,
    /// First answered.
    pub answered_at_ms: Option<i64>,
    /// Ended.
    pub ended_at_ms: Option<i64>,
    /// Why the caller called.
    pub purpose: String,
    /// Sign language asked for.
    pub sign_language: String,
    /// A captioned call without interpreter.
    pub direct: bool,
    /// Interpreters rung, in order.
    pub rang: Vec<String>,
    /// Who answered.
    pub answered_by: Option<String>,
    /// answered, abandoned, no_interpreter, captioned, interrupted, in_progress.
    pub outcome: String,
    /// Why it ended.
    pub end_reason: Option<String>,
    /// Who ended it.
    pub ended_by: Option<String>,
    /// Wait before answer (or before giving up), ms.
    pub wait_ms: Option<i64>,
    /// Talk time, ms.
    pub talk_ms: Option<i64>,
    /// Every interpreter's stretch, active or support, in order.
    pub interpreters: Vec<StretchRecord>,
    /// The service point (counter) the call came from, by code.
    pub service_point: Option<String>,
}

fn row_from(r: &AnyRow) -> Result<CallRow, sqlx::Error> {
    let rang: String = r.try_get("rang")?;
    Ok(CallRow {
        id: r.try_get("id")?,
        call_id: r.try_get("call_id")?,
        placed_at_ms: r.try_get("placed_at_ms")?,
        answered_at_ms: r.try_get("answered_at_ms")?,
        ended_at_ms: r.try_get("ended_at_ms")?,
        purpose: r.try_get("purpose")?,
        sign_language: r.try_get("sign_language")?,
        direct: r.try_get::<i64, _>("direct")? != 0,
        rang: rang
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        answered_by: r.try_get("answered_by")?,
        outcome: r.try_get("outcome")?,
        end_reason: r.try_get("end_reason")?,
        ended_by: r.try_get("ended_by")?,
        wait_ms: r.try_get("wait_ms")?,
        talk_ms: r.try_get("talk_ms")?,
        // Written only by this server; an unreadable value (a hand edit) shows as none.
        interpreters: serde_json::from_str(&r.try_get::<String, _>("interpreters")?)
            .unwrap_or_default(),
        service_point: r.try_get("service_point")?,
    })
}

/// How a finished call counts.
pub fn outcome(rec: &CallRecord) -> &'static str {
    if rec.direct {
        "captioned"
    } else if rec.answered_by.is_some() {
        "answered"
    } else if rec.rang.is_empty() {
        // Nobody was ever rung: no interpreter was free for this call while it waited.
        "no_interpreter"
    } else {
        "abandoned"
    }
}

impl Store {
    /// A call was placed (from a service point, if `service_point` names one); returns its row.
    pub async fn call_placed(
        &self,
        call_id: u64,
        placed_at_ms: i64,
        purpose: &str,
        sign_language: &str,
        direct: bool,
        service_point: Option<&str>,
    ) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "INSERT INTO call_records (call_id, placed_at_ms, purpose, sign_language, direct, \
             service_point) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(call_id as i64)
        .bind(placed_at_ms)
        .bind(purpose)
        .bind(sign_language)
        .bind(i64::from(direct))
        .bind(service_point)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get(0)?)
    }

    /// The call was answered (first time only).
    pub async fn call_answered(&self, row: i64, at_ms: i64, by: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE call_records SET answered_at_ms = $1, answered_by = $2 \
             WHERE id = $3 AND answered_at_ms IS NULL",
        )
        .bind(at_ms)
        .bind(by)
        .bind(row)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The call ended.
    pub async fn call_ended(
        &self,
        row: i64,
        ended_at_ms: i64,
        rec: &CallRecord,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE call_records SET ended_at_ms = $1, rang = $2, answered_by = $3, outcome = $4, \
             end_reason = $5, ended_by = $6, wait_ms = $7, talk_ms = $8, interpreters = $9 \
             WHERE id = $10",
        )
        .bind(ended_at_ms)
        .bind(rec.rang.join(","))
        .bind(rec.answered_by.clone())
        .bind(outcome(rec))
        .bind(wire_name(&rec.reason))
        .bind(rec.ended_by.map(|r| wire_name(&r)))
        .bind(rec.wait.as_millis() as i64)
        .bind(rec.talk.map(|t| t.as_millis() as i64))
        .bind(serde_json::to_string(&rec.interpreters).unwrap_or_default())
        .bind(row)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Calls placed in `[from_ms, to_ms)`, oldest first; only those someone answered or
    /// interpreted a stretch of, if given (an interpreter sees their own calls only).
    pub async fn calls(
        &self,
        from_ms: i64,
        to_ms: i64,
        answered_by: Option<&str>,
    ) -> Result<Vec<CallRow>, StoreError> {
        // One interpreter's calls, or everyone's: the filter is a clause, not a second query.
        let sql = format!(
            "SELECT * FROM call_records WHERE placed_at_ms >= $1 AND placed_at_ms < $2 {} \
             ORDER BY placed_at_ms, id",
            if answered_by.is_some() {
                // A rough match in SQL, made exact below.
                "AND (answered_by = $3 OR interpreters LIKE $4)"
            } else {
                ""
            }
        );
        let mut q = sqlx::query(&sql).bind(from_ms).bind(to_ms);
        if let Some(who) = answered_by {
            q = q.bind(who).bind(format!("%{who}%"));
        }
        let rows = q.fetch_all(&self.pool).await?;
        let rows: Vec<CallRow> = rows.iter().map(row_from).collect::<Result<_, _>>()?;
        Ok(match answered_by {
            Some(who) => rows
                .into_iter()
                .filter(|r| {
                    r.answered_by.as_deref() == Some(who)
                        || r.interpreters.iter().any(|s| s.username == who)
                })
                .collect(),
            None => rows,
        })
    }

    /// Deletes records of calls placed before `before_ms` (the retention period).
    pub async fn purge_calls(&self, before_ms: i64) -> Result<u64, StoreError> {
        Ok(
            sqlx::query("DELETE FROM call_records WHERE placed_at_ms < $1")
                .bind(before_ms)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }

    /// Deletes audit-log entries older than `before_ms`.
    pub async fn purge_audit(&self, before_ms: i64) -> Result<u64, StoreError> {
        Ok(sqlx::query("DELETE FROM audit_log WHERE at_ms < $1")
            .bind(before_ms)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    /// Deletes caller profiles not saved since `before_ms`.
    pub async fn purge_profiles(&self, before_ms: i64) -> Result<u64, StoreError> {
        Ok(
            sqlx::query("DELETE FROM caller_profiles WHERE updated_at_ms < $1")
                .bind(before_ms)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }

    /// Calls still in progress when the server stopped did not end normally: say so.
    pub(super) async fn close_interrupted(&self, now: i64) -> Result<u64, StoreError> {
        Ok(sqlx::query(
            "UPDATE call_records SET outcome = 'interrupted', ended_at_ms = $1, end_reason = 'server_stopped' \
             WHERE outcome = 'in_progress'",
        )
        .bind(now)
        .execute(&self.pool)
        .await?
        .rows_affected())
    }
}

/// Service levels of a period (interpreted calls that ended; captioned calls apart).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ServiceLevels {
    /// Interpreted calls offered (ended, not interrupted).
    pub offered: u64,
    /// Answered by an interpreter.
    pub answered: u64,
    /// The caller gave up after an interpreter had been rung.
    pub abandoned: u64,
    /// The caller gave up with no interpreter free.
    pub no_interpreter: u64,
    /// Cut by a server stop.
    pub interrupted: u64,
    /// Captioned calls without an interpreter.
    pub captioned: u64,
    /// Answered within 30 s, % of offered.
    pub answered_within_30s_pct: f64,
    /// Answered within 120 s, % of offered.
    pub answered_within_120s_pct: f64,
    /// Speed of answer (s) of answered calls: p50, p80, p95.
    pub answer_p50_s: Option<f64>,
    /// p80.
    pub answer_p80_s: Option<f64>,
    /// p95.
    pub answer_p95_s: Option<f64>,
    /// Calls that were not answered, % of offered.
    pub abandonment_pct: f64,
    /// Calls placed per hour of the day (in the viewer's time zone).
    pub per_hour: Vec<u64>,
    /// Calls by purpose.
    pub per_purpose: BTreeMap<String, u64>,
    /// Calls placed from each service point, by code (captioned and interrupted ones too).
    pub per_service_point: BTreeMap<String, u64>,
}

fn quantile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    Some(sorted[((sorted.len() - 1) as f64 * p).round() as usize])
}

/// Computes the service levels; `tz_offset_min` shifts hours into the viewer's time zone.
pub fn service_levels(rows: &[CallRow], tz_offset_min: i64) -> ServiceLevels {
    let mut s = ServiceLevels {
        per_hour: vec![0; 24],
        ..Default::default()
    };
    let mut waits = Vec::new();
    let (mut within30, mut within120) = (0u64, 0u64);
    for r in rows {
        let local_ms = r.placed_at_ms + tz_offset_min * 60_000;
        let hour = (local_ms.rem_euclid(86_400_000) / 3_600_000) as usize;
        s.per_hour[hour.min(23)] += 1;
        if let Some(point) = &r.service_point {
            *s.per_service_point.entry(point.clone()).or_default() += 1;
        }
        match r.outcome.as_str() {
            "captioned" => {
                s.captioned += 1;
                continue;
            }
            "interrupted" => {
                s.interrupted += 1;
                continue;
            }
            "in_progress" => continue,
            _ => {}
        }
        *s.per_purpose.entry(r.purpose.clone()).or_default() += 1;
        s.offered += 1;
        match r.outcome.as_str() {
            "answered" => {
                s.answered += 1;
                let w = r.wait_ms.unwrap_or(0) as f64 / 1000.0;
                waits.push(w);
                within30 += u64::from(w <= 30.0);
                within120 += u64::from(w <= 120.0);
            }
            "no_interpreter" => s.no_interpreter += 1,
            _ => s.abandoned += 1,
        }
    }
    waits.sort_by(|a, b| a.total_cmp(b));
    let pct = |n: u64| {
        if s.offered == 0 {
            0.0
        } else {
            100.0 * n as f64 / s.offered as f64
        }
    };
    s.answered_within_30s_pct = pct(within30);
    s.answered_within_120s_pct = pct(within120);
    s.abandonment_pct = pct(s.offered - s.answered);
    s.answer_p50_s = quantile(&waits, 0.5);
    s.answer_p80_s = quantile(&waits, 0.8);
    s.answer_p95_s = quantile(&waits, 0.95);
    s
}

/// Stretches as `user:active:from_ms+ms`, space-separated, for one spreadsheet cell.
fn stretches_text(v: &[StretchRecord]) -> String {
    v.iter()
        .map(|s| {
            let role = if s.support { "support" } else { "active" };
            format!("{}:{role}:{}+{}", s.username, s.from_ms, s.ms)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Records as CSV (RFC 4180 quoting), for the dashboard's export.
pub fn to_csv(rows: &[CallRow]) -> String {
    fn q(s: &str) -> String {
        // A leading = + - @ would be a formula in a spreadsheet: neutralise it.
        let s = if s.starts_with(['=', '+', '-', '@']) {
            format!("'{s}")
        } else {
            s.to_owned()
        };
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s
        }
    }
    let opt = |v: Option<i64>| v.map(|x| x.to_string()).unwrap_or_default();
    let mut out = String::from(
        "id,call_id,placed_at_ms,answered_at_ms,ended_at_ms,purpose,sign_language,direct,rang,answered_by,outcome,end_reason,ended_by,wait_ms,talk_ms,interpreters,service_point\n",
    );
    for r in rows {
        let fields = [
            r.id.to_string(),
            r.call_id.to_string(),
            r.placed_at_ms.to_string(),
            opt(r.answered_at_ms),
            opt(r.ended_at_ms),
            q(&r.purpose),
            q(&r.sign_language),
            r.direct.to_string(),
            q(&r.rang.join(" ")),
            q(r.answered_by.as_deref().unwrap_or("")),
            q(&r.outcome),
            q(r.end_reason.as_deref().unwrap_or("")),
            q(r.ended_by.as_deref().unwrap_or("")),
            opt(r.wait_ms),
            opt(r.talk_ms),
            q(&stretches_text(&r.interpreters)),
            q(r.service_point.as_deref().unwrap_or("")),
        ];
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(outcome: &str, wait_s: i64, hour: i64, purpose: &str) -> CallRow {
        CallRow {
            id: 1,
            call_id: 1,
            placed_at_ms: hour * 3_600_000,
            answered_at_ms: None,
            ended_at_ms: Some(hour * 3_600_000 + 60_000),
            purpose: purpose.into(),
            sign_language: "csl".into(),
            direct: outcome == "captioned",
            rang: vec![],
            answered_by: (outcome == "answered").then(|| "anna".into()),
            outcome: outcome.into(),
            end_reason: None,
            ended_by: None,
            wait_ms: Some(wait_s * 1000),
            talk_ms: None,
            interpreters: Vec::new(),
            service_point: None,
        }
    }

    #[test]
    fn service_levels_count_answers_waits_and_abandonment() {
        let rows = vec![
            row("answered", 10, 9, "daily_life"),
            row("answered", 40, 9, "daily_life"),
            row("answered", 200, 10, "emergency"),
            row("abandoned", 50, 10, "policy_consultation"),
            row("no_interpreter", 5, 23, "daily_life"),
            row("captioned", 0, 11, "daily_life"),
            row("interrupted", 0, 11, "daily_life"),
        ];
        let s = service_levels(&rows, 0);
        assert_eq!(
            (s.offered, s.answered, s.abandoned, s.no_interpreter),
            (5, 3, 1, 1)
        );
        assert_eq!((s.captioned, s.interrupted), (1, 1));
        assert_eq!(s.answered_within_30s_pct, 20.0);
        assert_eq!(s.answered_within_120s_pct, 40.0);
        assert_eq!(s.abandonment_pct, 40.0);
        assert_eq!(s.answer_p50_s, Some(40.0));
        assert_eq!(s.answer_p95_s, Some(200.0));
        assert_eq!(s.per_hour[9], 2);
        assert_eq!(s.per_purpose["daily_life"], 3);
        // Beijing time is UTC+8: 23:00 UTC is 07:00 there.
        assert_eq!(service_levels(&rows, 480).per_hour[7], 1);
        assert_eq!(service_levels(&[], 0).answer_p50_s, None);
    }

    #[test]
    fn calls_are_counted_per_service_point_whatever_their_outcome() {
        let at = |outcome: &str, point: Option<&str>| CallRow {
            service_point: point.map(str::to_owned),
            ..row(outcome, 5, 9, "policy_consultation")
        };
        let rows = vec![
            at("answered", Some("c0ffee")),
            at("abandoned", Some("c0ffee")),
            at("captioned", Some("beef")),
            at("answered", None),
        ];
        let s = service_levels(&rows, 0);
        assert_eq!(s.per_service_point.len(), 2);
        assert_eq!(s.per_service_point["c0ffee"], 2);
        assert_eq!(s.per_service_point["beef"], 1);
        assert!(to_csv(&rows).lines().nth(1).unwrap().ends_with(",c0ffee"));
    }

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        let mut r = row("answered", 1, 0, "daily_life");
        r.answered_by = Some("=HYPERLINK(\"x\")".into());
        let csv = to_csv(&[r]);
        let line = csv.lines().nth(1).unwrap();
        assert!(line.contains("\"'=HYPERLINK(\"\"x\"\")\""), "{line}");
    }
}
