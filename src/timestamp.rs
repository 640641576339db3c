//! Reading the two timestamp shapes the function meets into epoch seconds: RFC 3339 in
//! alerts (`2026-11-24T10:00:00Z`, `...+01:00`) and Jira's (`2026-12-01T14:44:46.123+0000`).
//! Only the lifecycle compares times (run order, reopen window, storm hour); a value that
//! does not parse is treated as unknown, never as an error.

/// Seconds since the Unix epoch, or `None` when `s` is not a timestamp with a zone.
pub fn epoch_seconds(s: &str) -> Option<i64> {
    let s = s.trim();
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    // Fractions of a second are skipped; the zone follows.
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let zone = rest[1..].replace(':', "");
            if zone.len() != 4 || !zone.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let (h, m): (i64, i64) = (zone[..2].parse().ok()?, zone[2..].parse().ok()?);
            sign * (h * 3600 + m * 60)
        }
    };
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3600 + minute * 60 + second.min(60) - offset)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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
        ] {
            assert_eq!(epoch_seconds(bad), None, "{bad}");
        }
    }
}
