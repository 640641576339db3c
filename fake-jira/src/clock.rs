//! Jira's timestamps (`2026-12-01T14:44:46.123+0000`), written from the system clock and
//! read back for ordering, and Jira's dates (`2026-12-24`), through `jiff`.

/// Jira's timestamp form: UTC shown as `+0000`, milliseconds.
const JIRA_TIME: &str = "%Y-%m-%dT%H:%M:%S%.3f%z";

/// Now, as Jira writes it (UTC, milliseconds, `+0000`).
pub fn jira_now() -> String {
    jiff::Timestamp::now().strftime(JIRA_TIME).to_string()
}

/// Milliseconds since the Unix epoch as a Jira timestamp in UTC.
pub fn format_millis(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime(JIRA_TIME).to_string())
        .unwrap_or_default()
}

/// A Jira timestamp (`YYYY-MM-DDTHH:MM:SS.mmm±HHMM`) as milliseconds since the Unix
/// epoch; None when it is not one (a date that does not exist included).
pub fn parse_jira_time(s: &str) -> Option<i64> {
    // Exactly Jira's shape: three digits of milliseconds, an offset without a colon.
    let b = s.as_bytes();
    if b.len() != 28 || b[19] != b'.' || !(b[23] == b'+' || b[23] == b'-') {
        return None;
    }
    jiff::Timestamp::strptime(JIRA_TIME, s)
        .ok()
        .map(|t| t.as_millisecond())
}

/// A Jira date (`YYYY-MM-DD`) that exists.
pub fn is_date(s: &str) -> bool {
    s.len() == 10 && s.parse::<jiff::civil::Date>().is_ok()
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
        assert!(is_date("2024-02-29") && !is_date("2026-02-29") && !is_date("2026-1-01"));
        let now = jira_now();
        assert!(parse_jira_time(&now).is_some(), "{now}");
        assert!(now.starts_with("20"), "{now}");
    }
}
