//! The certificate authorities both HTTP stacks trust: Mozilla's root store, compiled in
//! (`webpki-root-certs`), for Jira (reqwest, plus `JIRA_CA_BUNDLE`) and for AWS (the SDK's
//! client). Reading the system store instead costs about 2 ms per stack at every cold start
//! (a few hundred PEM files parsed), most of the function's start-up; the compiled-in store
//! is the same list Amazon Linux ships, updated with each build. Verification is never off.

use base64::Engine;

/// The roots, DER-encoded.
pub fn der() -> impl Iterator<Item = &'static [u8]> {
    webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .map(|c| c.as_ref())
}

/// The roots as one PEM bundle (what the SDK's trust store takes).
pub fn pem() -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut out = String::with_capacity(256 * 1024);
    for cert in der() {
        out.push_str("-----BEGIN CERTIFICATE-----\n");
        let text = b64.encode(cert);
        for line in text.as_bytes().chunks(64) {
            out.push_str(std::str::from_utf8(line).unwrap_or_default());
            out.push('\n');
        }
        out.push_str("-----END CERTIFICATE-----\n");
    }
    out
}

/// The SDK's HTTPS client (hyper, rustls with AWS-LC) trusting these roots only.
pub fn aws_http_client() -> Result<aws_smithy_runtime_api::client::http::SharedHttpClient, String> {
    use aws_smithy_http_client::tls;
    let trust = tls::TrustStore::empty()
        .with_native_roots(false)
        .with_pem_certificate(pem().into_bytes());
    let context = tls::TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .map_err(|e| format!("the AWS client's TLS settings: {e}"))?;
    Ok(aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::AwsLc,
        ))
        .tls_context(context)
        .build_https())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundle_holds_every_root_as_pem() {
        let n = der().count();
        assert!(n > 100, "{n} roots");
        let pem = pem();
        assert_eq!(pem.matches("-----BEGIN CERTIFICATE-----").count(), n);
        assert!(aws_http_client().is_ok());
    }
}
