//! Keeping the credential out of every text Jira sends back.

use super::Call;
use base64::Engine;

/// Removes every form of the credential a server could echo back: the raw token, the
/// Basic `user:token` base64, and the token percent-encoded.
pub(super) struct Redactor {
    forms: Vec<String>,
}

impl Redactor {
    pub(super) fn for_call(call: Call<'_>) -> Redactor {
        let token = call.creds.token.expose();
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{token}", call.user.unwrap_or_default()));
        let encoded: String = url::form_urlencoded::byte_serialize(token.as_bytes()).collect();
        Redactor::new([token.to_string(), basic, encoded])
    }

    pub(super) fn new(forms: impl IntoIterator<Item = String>) -> Redactor {
        // Too short to tell apart from ordinary text: nothing to find.
        let mut forms: Vec<String> = forms.into_iter().filter(|f| f.len() >= 4).collect();
        forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
        forms.dedup();
        Redactor { forms }
    }

    pub(super) fn redact(&self, s: &str) -> String {
        let mut out = s.to_string();
        for form in &self.forms {
            if out.contains(form.as_str()) {
                out = out.replace(form.as_str(), "[redacted]");
            }
        }
        out
    }
}
