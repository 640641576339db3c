//! `JIRA_CA_BUNDLE`: extra CA certificates for a Jira behind a private CA.

use super::answer::root_cause;

/// PEM text as it may arrive through a one-line template parameter or environment value:
/// newlines written as `\n`, or turned into spaces, are put back.
fn pem_lines(pem: &str) -> String {
    if pem.contains('\n') {
        return pem.to_string();
    }
    let pem = pem.replace("\\n", "\n");
    if pem.contains('\n') {
        return pem;
    }
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut out = String::new();
    for part in pem.split(BEGIN).skip(1) {
        let body = part.split(END).next().unwrap_or("");
        let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        out.push_str(BEGIN);
        out.push('\n');
        for chunk in b64.as_bytes().chunks(64) {
            out.push_str(&String::from_utf8_lossy(chunk));
            out.push('\n');
        }
        out.push_str(END);
        out.push('\n');
    }
    out
}

/// The certificates of a PEM bundle; an error names `JIRA_CA_BUNDLE` and the fix.
pub fn ca_certificates(pem: &str) -> Result<Vec<reqwest::Certificate>, String> {
    const FIX: &str = "Fix: set JIRA_CA_BUNDLE to the PEM text of the CA certificates (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----), or leave it unset";
    match reqwest::Certificate::from_pem_bundle(pem_lines(pem).as_bytes()) {
        Ok(certs) if !certs.is_empty() => Ok(certs),
        Ok(_) => Err(format!("JIRA_CA_BUNDLE holds no PEM certificate. {FIX}")),
        Err(e) => Err(format!(
            "JIRA_CA_BUNDLE is not a valid PEM certificate bundle ({}). {FIX}",
            root_cause(&e)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pem_bundle_survives_a_one_line_parameter() {
        let pem = "-----BEGIN CERTIFICATE-----\nAAAA\nBBBB\n-----END CERTIFICATE-----\n";
        let escaped = pem.replace('\n', "\\n");
        let spaced = pem.replace('\n', " ");
        assert_eq!(pem_lines(&escaped), pem);
        assert_eq!(
            pem_lines(&spaced),
            "-----BEGIN CERTIFICATE-----\nAAAABBBB\n-----END CERTIFICATE-----\n"
        );
        assert_eq!(pem_lines(pem), pem);
    }
}
