//! Jira's timestamps (`2026-12-01T14:44:46.123+0000`), written from the system clock and
//! read back for ordering, without a date crate: days to civil dates after Howard
//! Hinnant's algorithms (proleptic Gregorian calendar, UTC).

use std::time::{SystemTime, UNIX_EPOCH};

/// Now, as Jira writes it (UTC, milliseconds, `+0000`).
pub fn jira_now() -> String {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    format_millis(ms)
}

/// Milliseconds since the Unix epoch as a Jira timestamp in UTC.
pub fn format_millis(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let milli = ms.rem_euclid(1000);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{milli:03}+0000",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

/// A Jira timestamp (`YYYY-MM-DDTHH:MM:SS.mmm±HHMM`) as milliseconds since the Unix
/// epoch; None when it is not one.
pub fn parse_jira_time(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 28
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'.'
        || !(b[23] == b'+' || b[23] == b'-')
    {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<i64> {
        let part = s.get(from..to)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())
            .flatten()
    };
    let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (h, mi, se, ms) = (num(11, 13)?, num(14, 16)?, num(17, 19)?, num(20, 23)?);
    let (oh, om) = (num(24, 26)?, num(26, 28)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 59 {
        return None;
    }
    if oh > 23 || om > 59 {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    // 31 February and the like come back as another date.
    if civil_from_days(days) != (y, mo as u32, d as u32) {
        return None;
    }
    let offset = (oh * 60 + om) * 60_000 * if b[23] == b'-' { -1 } else { 1 };
    Some(((days * 86_400 + h * 3600 + mi * 60 + se) * 1000 + ms) - offset)
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m as u32, d as u32)
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_reads_back() {
        assert_eq!(format_millis(0), "1970-01-01T00:00:00.000+0000");
        // 2026-12-01T14:44:46.123Z
        let ms = 1_796_136_286_123;
        assert_eq!(format_millis(ms), "2026-12-01T14:44:46.123+0000");
        assert_eq!(parse_jira_time("2026-12-01T14:44:46.123+0000"), Some(ms));
        assert_eq!(parse_jira_time("2026-12-01T16:44:46.123+0200"), Some(ms));
        assert_eq!(
            parse_jira_time("2024-02-29T00:00:00.000+0000")
                .map(format_millis)
                .as_deref(),
            Some("2024-02-29T00:00:00.000+0000")
        );
        for bad in [
            "2026-02-30T00:00:00.000+0000",
            "2026-12-01T14:44:46Z",
            "2026-12-01 14:44:46.123+0000",
            "2026-13-01T00:00:00.000+0000",
            "2026-12-01T14:44:46.123+00:00",
        ] {
            assert_eq!(parse_jira_time(bad), None, "{bad}");
        }
        let now = jira_now();
        assert!(parse_jira_time(&now).is_some(), "{now}");
        assert!(now.starts_with("20"), "{now}");
    }
}
