//! Where the Jira token may be sent (ALLOWED_JIRA_HOSTS). The destination comes from the
//! event, so whoever can publish an alert chooses the URL: these checks run before the
//! token is attached to any request.

use std::fmt;
use std::net::IpAddr;
use url::{Host, Url};

/// A Jira base URL after normalisation: lower-case host, no trailing dot or slash, no user
/// info, query or fragment; http only on loopback.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JiraSite {
    /// `scheme://host[:port][/context-path]`, the prefix of every request.
    pub base: String,
    pub host: String,
    pub port: u16,
}

impl JiraSite {
    /// Where a person opens an issue of this site (answers always use the site URL).
    pub fn browse_url(&self, key: &str) -> String {
        format!("{}/browse/{key}", self.base)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}. Fix: {fix}")]
pub struct HostError {
    pub field: &'static str,
    pub problem: String,
    pub fix: String,
}

impl From<HostError> for crate::failure::Failure {
    fn from(e: HostError) -> Self {
        crate::failure::Failure::bad_input(format!("{}: {}", e.field, e.problem), e.fix)
    }
}

fn refuse(field: &'static str, problem: impl Into<String>, fix: impl Into<String>) -> HostError {
    HostError {
        field,
        problem: problem.into(),
        fix: fix.into(),
    }
}

fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(d) => *d == "localhost",
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => ip.is_loopback(),
    }
}

/// A normalised host (as `JiraSite::host` holds it) on the loopback interface.
fn is_loopback_name(host: &str) -> bool {
    let ip = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost" || ip.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Parses and normalises a Jira base URL (`field` names it in errors).
pub fn normalize(field: &'static str, raw: &str) -> Result<JiraSite, HostError> {
    const FIX: &str = "use the Jira base URL only, e.g. https://your-domain.atlassian.net";
    let shown = crate::failure::quote(raw);
    let url = Url::parse(raw.trim())
        .map_err(|e| refuse(field, format!("{shown} is not a valid URL ({e})"), FIX))?;
    let host = url
        .host()
        .ok_or_else(|| refuse(field, format!("{shown} has no host"), FIX))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&host) => {}
        "http" => {
            return Err(refuse(
                field,
                format!("{shown} uses plain http, which would send the token unencrypted"),
                "use https:// (plain http is accepted only for loopback test hosts)",
            ))
        }
        other => {
            return Err(refuse(
                field,
                format!("scheme {other:?} is not http(s)"),
                FIX,
            ))
        }
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refuse(
            field,
            "the URL carries a user name or password",
            "remove user@ from the URL: credentials come from the secret only",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(refuse(field, "the URL has a query or fragment", FIX));
    }
    let path = url.path().trim_end_matches('/');
    if path.contains("/rest/") || path.ends_with("/rest") || path.contains("/browse/") {
        return Err(refuse(
            field,
            format!("{shown} points inside Jira, not at its base"),
            FIX,
        ));
    }
    let host_text = match host {
        Host::Domain(d) => {
            let d = d.strip_suffix('.').unwrap_or(d);
            if d.is_empty() || d.ends_with('.') {
                return Err(refuse(field, format!("{shown} has an empty host"), FIX));
            }
            d.to_string()
        }
        Host::Ipv4(ip) => ip.to_string(),
        Host::Ipv6(ip) => format!("[{ip}]"),
    };
    let port = url
        .port_or_known_default()
        .ok_or_else(|| refuse(field, "no port", FIX))?;
    if port == 0 {
        return Err(refuse(field, "port 0 is not a valid port", FIX));
    }
    let port_text = match url.port() {
        Some(p) => format!(":{p}"),
        None => String::new(),
    };
    Ok(JiraSite {
        base: format!("{}://{host_text}{port_text}{path}", url.scheme()),
        host: host_text,
        port,
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Pattern {
    Exact(String),
    /// `*.example.com`: stored as `.example.com`; matches any subdomain, not the apex.
    AnySubdomain(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    pattern: Pattern,
    /// An entry with a port matches that port only; without one, https's 443 (any port
    /// on a loopback host, which only the function itself listens on).
    port: Option<u16>,
}

/// `ALLOWED_JIRA_HOSTS`: the hosts the token may be sent to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedHosts {
    rules: Vec<Rule>,
}

impl fmt::Display for AllowedHosts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: Vec<String> = self
            .rules
            .iter()
            .map(|r| {
                let host = match &r.pattern {
                    Pattern::Exact(h) => h.clone(),
                    Pattern::AnySubdomain(s) => format!("*{s}"),
                };
                match r.port {
                    Some(p) => format!("{host}:{p}"),
                    None => host,
                }
            })
            .collect();
        if shown.is_empty() {
            f.write_str("(empty)")
        } else {
            f.write_str(&shown.join(","))
        }
    }
}

impl AllowedHosts {
    /// Parses the comma-separated list. A bad entry is an error: a typo must not silently
    /// widen or empty the list.
    pub fn parse(list: &str) -> Result<AllowedHosts, String> {
        let mut rules = Vec::new();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            rules.push(parse_rule(entry).map_err(|why| {
                format!("ALLOWED_JIRA_HOSTS entry {entry:?}: {why}. Fix: use host, *.domain, or host:port, comma-separated")
            })?);
        }
        Ok(AllowedHosts { rules })
    }

    pub fn allows(&self, site: &JiraSite) -> bool {
        self.rules.iter().any(|r| {
            let host_ok = match &r.pattern {
                Pattern::Exact(h) => *h == site.host,
                Pattern::AnySubdomain(suffix) => {
                    site.host.len() > suffix.len() && site.host.ends_with(suffix.as_str())
                }
            };
            let port_ok = match r.port {
                Some(p) => p == site.port,
                None => site.port == 443 || is_loopback_name(&site.host),
            };
            host_ok && port_ok
        })
    }

    /// A `*.domain` entry: it lets any event send an unbound secret's token to any host
    /// under that domain (warned about at start).
    pub fn has_wildcard(&self) -> bool {
        self.rules
            .iter()
            .any(|r| matches!(r.pattern, Pattern::AnySubdomain(_)))
    }
}

fn parse_rule(entry: &str) -> Result<Rule, String> {
    let entry = entry.to_ascii_lowercase();
    if entry.contains("://") || entry.contains('/') || entry.contains('@') {
        return Err("an entry is a host name, not a URL".into());
    }
    // Split off a port; an IPv6 literal keeps its brackets.
    let (host, port) = if let Some(rest) = entry.strip_prefix('[') {
        let (ip, after) = rest
            .split_once(']')
            .ok_or("unclosed [ in an IPv6 address")?;
        let ip: IpAddr = ip.parse().map_err(|_| "not an IPv6 address")?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err("unexpected text after ]".into()),
        };
        (format!("[{ip}]"), port)
    } else {
        match entry.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (entry.clone(), None),
        }
    };
    let port = match port {
        None => None,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => Some(n),
            _ => return Err(format!("{p:?} is not a port")),
        },
    };
    let host = host.strip_suffix('.').unwrap_or(&host).to_string();
    let valid_name = |h: &str| {
        !h.is_empty()
            && h.split('.').all(|label| {
                !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            })
    };
    let pattern = if let Some(domain) = host.strip_prefix("*.") {
        if !valid_name(domain) || !domain.contains('.') {
            return Err(
                "a wildcard needs a domain with at least two labels, e.g. *.atlassian.net".into(),
            );
        }
        Pattern::AnySubdomain(format!(".{domain}"))
    } else if host.starts_with('[') || valid_name(&host) {
        // IPv4 literals are canonicalised the same way URLs are.
        let canonical = match host.parse::<IpAddr>() {
            Ok(IpAddr::V4(ip)) => ip.to_string(),
            _ => host.clone(),
        };
        Pattern::Exact(canonical)
    } else {
        return Err("not a host name".into());
    };
    Ok(Rule { pattern, port })
}

/// Decides whether the token of a secret may be sent to `site`: the secret's own
/// `instance_url`, when it names one, is the only place it may go; otherwise the host must
/// be on the allow-list.
pub fn authorize(
    site: &JiraSite,
    secret_instance_url: Option<&str>,
    allowed: &AllowedHosts,
) -> Result<(), HostError> {
    if let Some(bound) = secret_instance_url {
        let bound = normalize("secret instance_url", bound)?;
        if bound.base == site.base {
            return Ok(());
        }
        return Err(refuse(
            "destination.instance_url",
            format!(
                "{} is not the Jira this secret belongs to (the secret names {})",
                site.base, bound.base
            ),
            "send alerts for this secret to the instance_url stored in the secret, or use a secret made for this Jira",
        ));
    }
    if allowed.allows(site) {
        return Ok(());
    }
    Err(refuse(
        "destination.instance_url",
        format!(
            "host {}:{} is not in ALLOWED_JIRA_HOSTS ({allowed})",
            site.host, site.port
        ),
        "add the host to the function's ALLOWED_JIRA_HOSTS, or put \"instance_url\" in the secret to bind it to this Jira",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(u: &str) -> JiraSite {
        normalize("destination.instance_url", u).unwrap()
    }

    #[test]
    fn normalises_urls() {
        let s = site("https://ACME.atlassian.net./");
        assert_eq!(s.base, "https://acme.atlassian.net");
        assert_eq!((s.host.as_str(), s.port), ("acme.atlassian.net", 443));
        assert_eq!(
            site("https://jira.corp.example:8443/jira/").base,
            "https://jira.corp.example:8443/jira"
        );
        assert_eq!(site("http://127.0.0.1:9/").base, "http://127.0.0.1:9");
        assert_eq!(site("http://0x7f.1:9").host, "127.0.0.1");
        assert_eq!(site("http://[::1]:9").host, "[::1]");
        assert_eq!(site("https://x.example:443").base, "https://x.example");
    }

    #[test]
    fn refuses_dangerous_urls() {
        for bad in [
            "http://acme.atlassian.net",
            "http://10.0.0.1",
            "https://user:pw@acme.atlassian.net",
            "https://user@acme.atlassian.net",
            "ftp://acme.atlassian.net",
            "https://acme.atlassian.net/?x=1",
            "https://acme.atlassian.net/#x",
            "https://acme.atlassian.net/rest/api/3",
            "https://acme.atlassian.net:0",
            "not a url",
            "http://[::ffff:7f00:1]:80",
        ] {
            assert!(normalize("f", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn allow_list_matching() {
        let list = AllowedHosts::parse(
            "acme.atlassian.net, *.corp.example ,127.0.0.1:8080,[::1]:9,JIRA.big.example.",
        )
        .unwrap();
        assert!(list.allows(&site("https://acme.atlassian.net")));
        // No port in the entry: https's 443 only.
        assert!(!list.allows(&site("https://acme.atlassian.net:8443")));
        assert!(!list.allows(&site("https://jira.corp.example:8080")));
        assert!(!list.allows(&site("https://evil.atlassian.net")));
        assert!(list.allows(&site("https://jira.corp.example")));
        assert!(list.allows(&site("https://a.b.corp.example")));
        assert!(!list.allows(&site("https://corp.example")));
        assert!(!list.allows(&site("https://evilcorp.example")));
        assert!(!list.allows(&site("https://corp.example.evil.com")));
        assert!(list.allows(&site("http://127.0.0.1:8080")));
        assert!(!list.allows(&site("http://127.0.0.1:8081")));
        assert!(list.allows(&site("http://[::1]:9")));
        assert!(list.allows(&site("https://jira.big.example")));
        assert!(!AllowedHosts::default().allows(&site("https://acme.atlassian.net")));
        // Loopback entries without a port: any port (local stand-ins, tests).
        let local = AllowedHosts::parse("127.0.0.1,localhost").unwrap();
        assert!(local.allows(&site("http://127.0.0.1:18080")));
        assert!(local.allows(&site("http://localhost:9")));
        assert!(!local.has_wildcard() && list.has_wildcard());
    }

    #[test]
    fn bad_entries_are_errors() {
        for bad in [
            "https://x.example",
            "*.com",
            "x.example:port",
            "x.example:0",
            "a..b",
            "[::1",
        ] {
            assert!(AllowedHosts::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(AllowedHosts::parse(" , ").unwrap(), AllowedHosts::default());
    }

    #[test]
    fn secret_binding_wins_over_the_allow_list() {
        let all = AllowedHosts::parse("*.atlassian.net").unwrap();
        let acme = site("https://acme.atlassian.net");
        assert!(authorize(&acme, Some("https://acme.atlassian.net/"), &all).is_ok());
        let e = authorize(&acme, Some("https://other.atlassian.net"), &all).unwrap_err();
        assert!(e.to_string().contains("other.atlassian.net"));
        // Bound to a host outside the list: allowed there, and only there.
        let own = site("https://jira.self-hosted.example");
        assert!(authorize(
            &own,
            Some("https://jira.self-hosted.example"),
            &AllowedHosts::default()
        )
        .is_ok());
        assert!(authorize(&own, None, &all).is_err());
    }
}
