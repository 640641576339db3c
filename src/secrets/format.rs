//! The secret's format (README "The secret"): the credential types, and `parse_secret`,
//! which reads a SecretString into them without ever quoting its value.

use super::SecretError;
use std::fmt;

/// A Jira API token, password or personal access token. Prints as `[redacted]`.
///
/// Our own type rather than `secrecy::SecretString`: the same guarantee (no Debug or
/// Display of the value, one explicit `expose`) in a dozen lines, plus the `PartialEq` the
/// credentials need; zeroing on drop would buy little while the SDK's response buffers
/// hold the same text.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    pub fn new(s: impl Into<String>) -> Token {
        Token(s.into())
    }

    /// The only way to the value: used when building the Authorization header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token([redacted])")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthScheme {
    /// `email:token` (Cloud) or `user:password` (Server/DC).
    Basic,
    /// A Server/DC personal access token.
    Bearer,
    /// A scoped Cloud API token: Basic `email:token`, to the Atlassian API gateway only.
    Scoped,
    /// A service account's OAuth 2.0 client credentials: a Bearer access token from the
    /// Atlassian token endpoint, to the gateway only.
    OAuth,
}

impl AuthScheme {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthScheme::Basic => "basic",
            AuthScheme::Bearer => "bearer",
            AuthScheme::Scoped => "scoped",
            AuthScheme::OAuth => "oauth",
        }
    }

    /// Scoped tokens and OAuth go through the Atlassian API gateway, never to the site.
    pub fn uses_gateway(self) -> bool {
        matches!(self, AuthScheme::Scoped | AuthScheme::OAuth)
    }

    /// The Authorization header is Basic `user:token`.
    pub fn is_basic(self) -> bool {
        matches!(self, AuthScheme::Basic | AuthScheme::Scoped)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The API token, password or PAT; for `oauth`, the client secret.
    pub token: Token,
    pub email: Option<String>,
    /// When set, the token may only ever be sent to this Jira.
    pub instance_url: Option<String>,
    pub auth: AuthScheme,
    /// `oauth`: the service account credential's client id.
    pub client_id: Option<String>,
    /// `scoped` / `oauth`: the site's cloud id (else discovered from `tenant_info`).
    pub cloud_id: Option<String>,
}

impl Credentials {
    /// Credentials of one scheme and token, nothing else set.
    pub fn plain(auth: AuthScheme, token: Token) -> Credentials {
        Credentials {
            token,
            email: None,
            instance_url: None,
            auth,
            client_id: None,
            cloud_id: None,
        }
    }
}

/// Parses a SecretString: a bare token, or a JSON object. Errors never quote the value.
pub fn parse_secret(id: &str, raw: &str) -> Result<Credentials, SecretError> {
    let malformed = |problem: &str| SecretError::Malformed {
        id: id.to_string(),
        problem: problem.to_string(),
    };
    let trimmed = raw.trim();
    if !trimmed.starts_with('{') {
        if trimmed.is_empty() {
            return Err(malformed("the secret is empty"));
        }
        if trimmed.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(malformed("a bare token must be one word without spaces"));
        }
        return Ok(Credentials::plain(AuthScheme::Basic, Token::new(trimmed)));
    }
    let value: serde_json::Value = serde_json::from_str(trimmed)
        .map_err(|_| malformed("the secret starts with '{' but is not valid JSON"))?;
    let obj = value
        .as_object()
        .ok_or_else(|| malformed("the secret is not a JSON object"))?;
    let text = |key: &str| -> Result<Option<String>, SecretError> {
        match obj.get(key) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(serde_json::Value::String(s)) if s.chars().any(char::is_control) => {
                Err(malformed(&format!("\"{key}\" holds control characters")))
            }
            Some(serde_json::Value::String(s)) => Ok(Some(s.trim().to_string())),
            Some(_) => Err(malformed(&format!("\"{key}\" must be a string"))),
        }
    };
    let auth = match text("auth")?
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("basic") => AuthScheme::Basic,
        Some("bearer") => AuthScheme::Bearer,
        Some("scoped") => AuthScheme::Scoped,
        Some("oauth") => AuthScheme::OAuth,
        Some(_) => {
            return Err(malformed(
                "\"auth\" must be \"basic\", \"bearer\", \"scoped\" or \"oauth\"",
            ))
        }
    };
    let (token, client_id) = match auth {
        AuthScheme::OAuth => (
            text("client_secret")?
                .ok_or_else(|| malformed("an oauth secret needs \"client_secret\""))?,
            Some(
                text("client_id")?
                    .ok_or_else(|| malformed("an oauth secret needs \"client_id\""))?,
            ),
        ),
        _ => (
            text("api_token")?.ok_or_else(|| malformed("the JSON secret has no \"api_token\""))?,
            None,
        ),
    };
    let cloud_id = text("cloud_id")?;
    if let Some(id) = &cloud_id {
        let shaped = id.len() <= 64 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
        if !shaped {
            return Err(malformed(
                "\"cloud_id\" must be the site's cloud id (hexadecimal digits and dashes, as <site>/_edge/tenant_info shows)",
            ));
        }
    }
    Ok(Credentials {
        token: Token::new(token),
        email: text("email")?,
        instance_url: text("instance_url")?.map(|u| u.trim_end_matches('/').to_string()),
        auth,
        client_id,
        cloud_id: cloud_id.map(|c| c.to_ascii_lowercase()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "tok-SECRET-1234567890";

    #[test]
    fn bare_and_json_secrets() {
        let c = parse_secret("s", &format!("  {TOKEN}\n")).unwrap();
        assert_eq!(c.token.expose(), TOKEN);
        assert_eq!(c.auth, AuthScheme::Basic);
        let c = parse_secret(
            "s",
            &format!(r#"{{"api_token":"{TOKEN}","email":"a@b.c","instance_url":"https://x.atlassian.net/","auth":"Bearer"}}"#),
        )
        .unwrap();
        assert_eq!(c.email.as_deref(), Some("a@b.c"));
        assert_eq!(c.instance_url.as_deref(), Some("https://x.atlassian.net"));
        assert_eq!(c.auth, AuthScheme::Bearer);
    }

    #[test]
    fn scoped_and_oauth_secrets() {
        let c = parse_secret(
            "s",
            &format!(
                r#"{{"auth":"scoped","api_token":"{TOKEN}","email":"a@b.c","cloud_id":"ABCD-12"}}"#
            ),
        )
        .unwrap();
        assert_eq!(
            (c.auth, c.cloud_id.as_deref()),
            (AuthScheme::Scoped, Some("abcd-12"))
        );
        let c = parse_secret(
            "s",
            r#"{"auth":"OAuth","client_id":"cid","client_secret":"csecret-value"}"#,
        )
        .unwrap();
        assert_eq!(c.auth, AuthScheme::OAuth);
        assert_eq!(
            (c.client_id.as_deref(), c.token.expose()),
            (Some("cid"), "csecret-value")
        );
        for (raw, problem) in [
            (
                r#"{"auth":"oauth","client_secret":"csecret-value"}"#,
                "needs \"client_id\"",
            ),
            (
                r#"{"auth":"oauth","client_id":"cid","api_token":"t0ken-value"}"#,
                "needs \"client_secret\"",
            ),
            (
                r#"{"auth":"scoped","api_token":"t0ken-value","cloud_id":"not a uuid"}"#,
                "\"cloud_id\" must be",
            ),
            (
                r#"{"auth":"kerberos","api_token":"t0ken-value"}"#,
                "\"oauth\"",
            ),
        ] {
            let e = parse_secret("s", raw).unwrap_err().to_string();
            assert!(e.contains(problem), "{e}");
            assert!(!e.contains("value"), "{e}");
        }
    }

    #[test]
    fn malformed_secrets_never_echo_the_value() {
        for raw in [
            format!(r#"{{"api_token": 12, "x": "{TOKEN}"}}"#),
            format!(r#"{{"token": "{TOKEN}"}}"#),
            format!(r#"{{"api_token": "{TOKEN}", "auth": "{TOKEN}"}}"#),
            format!("{{{TOKEN}"),
            format!("{TOKEN} {TOKEN}"),
            String::new(),
        ] {
            let e = parse_secret("s", &raw).unwrap_err();
            let text = format!("{e} {e:?}");
            assert!(!text.contains(TOKEN), "{text}");
            assert!(e.fix().contains("api_token"), "{text}");
        }
    }

    #[test]
    fn token_redacts_itself() {
        let c = parse_secret("s", TOKEN).unwrap();
        assert!(!format!("{c:?} {}", c.token).contains(TOKEN));
    }
}
