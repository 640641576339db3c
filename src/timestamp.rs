//! Reading the two timestamp shapes the function meets into epoch seconds: RFC 3339 in
//! alerts (`2026-11-24T10:00:00Z`, `...+01:00`) and Jira's (`2026-12-01T14:44:46.123+0000`),
//! through `jiff`. Only the lifecycle compares times (run order, reopen window, storm
//! hour); a value that does not parse (`2026-02-31T10:00:00Z` included) is unknown, never
//! an error.

/// Seconds since the Unix epoch, or `None` when `s` is not a timestamp with a zone.
pub fn epoch_seconds(s: &str) -> Option<i64> {
    let s = s.trim();
    // A date alone, or a time without a zone, is no instant.
    if s.len() < 20 || !s.is_ascii() {
        return None;
    }
    let ts = s.parse::<jiff::Timestamp>().ok().or_else(|| {
        // Jira's form: an offset without a colon.
        jiff::Timestamp::strptime("%Y-%m-%dT%H:%M:%S%.f%z", s).ok()
    })?;
    Some(ts.as_second())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_and_jira_shapes_read_alike() {
        assert_eq!(epoch_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(epoch_seconds("2026-11-24T10:00:00Z"), Some(1_795_514_400));
        assert_eq!(
            epoch_seconds("2026-11-24T11:00:00+01:00"),
            Some(1_795_514_400)
        );
        assert_eq!(
            epoch_seconds("2026-11-24T10:00:00.123+0000"),
            Some(1_795_514_400)
        );
        assert_eq!(
            epoch_seconds("2026-11-24T05:00:00.5-0500"),
            Some(1_795_514_400)
        );
        assert_eq!(epoch_seconds("2000-03-01T00:00:00Z"), Some(951_868_800));
    }

    #[test]
    fn anything_else_is_unknown() {
        for bad in [
            "",
            "yesterday",
            "2026-11-24",
            "2026-11-24T10:00:00",
            "2026-13-01T00:00:00Z",
            "2026-11-24T10:00:00.Z",
            "2026-11-24T10:00:00+1",
            "2026-11-24T1a:00:00Z",
            "２０２６-11-24T10:00:00Z",
            "2026-02-31T10:00:00Z",
        ] {
            assert_eq!(epoch_seconds(bad), None, "{bad}");
        }
    }
}
