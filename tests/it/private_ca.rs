//! `JIRA_CA_BUNDLE`: a Jira whose certificate comes from a private CA is reached only when
//! the bundle holds that CA. Certificate verification is never switched off.

use detection_jira::hosts::normalize;
use detection_jira::jira::{Call, Deployment, JiraApi, JiraError, JiraHttp};
use detection_jira::secrets::parse_secret;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls;

/// A Server/DC `serverInfo` over HTTPS on loopback, its certificate (for `localhost`)
/// issued by a CA of its own; answers the CA's PEM.
async fn private_jira() -> (u16, String) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca.distinguished_name
        .push(DnType::CommonName, "detection-jira test CA");
    let ca_pem = ca.self_signed(&ca_key).unwrap().pem();
    let issuer = Issuer::new(ca, ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &issuer)
        .unwrap();
    let key = rustls::pki_types::PrivatePkcs8KeyDer::from(leaf_key.serialize_der());
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone()], key.into())
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A client that does not trust the CA ends the handshake here.
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let (mut got, mut buf) = (Vec::new(), [0u8; 4096]);
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                let body = r#"{"deploymentType":"Server"}"#;
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(answer.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (port, ca_pem)
}

#[tokio::test]
async fn a_private_ca_is_trusted_only_through_the_bundle() {
    let (port, ca_pem) = private_jira().await;
    let site = normalize(
        "destination.instance_url",
        &format!("https://localhost:{port}"),
    )
    .unwrap();
    let creds = parse_secret("jira/onprem", "FAKE-TOKEN-private-ca").unwrap();
    let call = Call {
        base: &site.base,
        creds: &creds,
        user: Some("svc-alerts"),
        timeout: Duration::from_secs(10),
        sent: None,
    };
    let public_roots_only = JiraHttp::new().unwrap();
    let e = public_roots_only.server_info(call).await.unwrap_err();
    assert!(
        matches!(e, JiraError::Connect { .. } | JiraError::NoAnswer { .. }),
        "{e}"
    );

    let trusting = JiraHttp::with_ca_bundle(Some(&ca_pem)).unwrap();
    assert_eq!(
        trusting.server_info(call).await.unwrap(),
        Deployment::Server
    );

    // Another CA's bundle is no key to this one.
    let (_, other_ca) = private_jira().await;
    let wrong = JiraHttp::with_ca_bundle(Some(&other_ca)).unwrap();
    assert!(wrong.server_info(call).await.is_err());
}
