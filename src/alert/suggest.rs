//! Did-you-mean: the known name a misspelt key was probably meant to be.

/// The candidate closest to `key` when it is close enough to be a typo of it.
pub fn closest<'a>(key: &str, candidates: &[&'a str]) -> Option<&'a str> {
    // No field name is this long, and the distance costs length squared: a huge key
    // from the event must not.
    if key.len() > 64 {
        return None;
    }
    let typed = normalise(key);
    candidates
        .iter()
        .map(|&c| (strsim::damerau_levenshtein(&typed, &normalise(c)), c))
        .filter(|&(distance, c)| distance <= allowance(c))
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, c)| c)
}

/// Case and `-` / `_` / camelCase are styles, not typos.
fn normalise(key: &str) -> String {
    key.chars()
        .filter(|c| !matches!(c, '_' | '-' | ' '))
        .flat_map(char::to_lowercase)
        .collect()
}

/// How many edits still look like a typo: short names allow fewer, or every short key would
/// "mean" something.
fn allowance(candidate: &str) -> usize {
    match candidate.len() {
        0..=4 => 1,
        5..=8 => 2,
        _ => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: [&str; 4] = ["labels", "links", "project_key", "api_token_secret"];

    #[test]
    fn typos_find_their_field() {
        assert_eq!(closest("lables", &NAMES), Some("labels"));
        assert_eq!(closest("projectKey", &NAMES), Some("project_key"));
        assert_eq!(closest("project-key", &NAMES), Some("project_key"));
        assert_eq!(
            closest("api_token_secrets", &NAMES),
            Some("api_token_secret")
        );
        assert_eq!(closest("link", &NAMES), Some("links"));
    }

    #[test]
    fn unrelated_keys_find_nothing() {
        assert_eq!(closest("owner", &NAMES), None);
        assert_eq!(closest("x", &NAMES), None);
        assert_eq!(closest("", &NAMES), None);
    }
}
