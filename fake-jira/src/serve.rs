//! The listeners: the site (`FakeJira::start_on`) and the Atlassian gateway
//! (`FakeJira::start_gateway_on`), sharing one state. Each request goes through the same
//! plumbing: latency, scripted and random faults, routing, and the record of what came in.

use crate::faults::{self, FaultKind};
use crate::{gateway, jira_error, router, FakeJira, Listener, Recorded, State};
use axum::body::Bytes;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// Where a request came in, and the site it belongs to.
#[derive(Clone, Copy)]
struct Ctx {
    listener: Listener,
    /// This listener's address.
    own: SocketAddr,
    /// The site's address (its base URL is Jira's `baseUrl`).
    site: SocketAddr,
}

/// Serves `listener` until the process ends.
pub(crate) fn spawn(
    listener: tokio::net::TcpListener,
    state: Arc<Mutex<State>>,
    kind: Listener,
    site: SocketAddr,
) {
    let own = listener.local_addr().unwrap_or(site);
    let ctx = Ctx {
        listener: kind,
        own,
        site,
    };
    let app = axum::Router::new().fallback(
        move |ConnectInfo(peer): ConnectInfo<SocketAddr>,
              method: Method,
              uri: Uri,
              headers: HeaderMap,
              body: Bytes| {
            let state = state.clone();
            async move { handle(state, ctx, peer, method, uri, headers, body).await }
        },
    );
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
}

impl FakeJira {
    /// Starts the Atlassian gateway on 127.0.0.1 with a free port (another host than the
    /// site, as `api.atlassian.com` is); answers its base URL (`http://127.0.0.1:PORT`), to
    /// be used for both `ATLASSIAN_API_URL` and `ATLASSIAN_AUTH_URL`.
    pub async fn start_gateway(&self) -> String {
        self.start_gateway_on("127.0.0.1:0".parse().expect("addr"))
            .await
            .expect("bind the fake Atlassian gateway")
    }

    /// Starts the gateway on `addr`; answers its base URL. A Server/DC fake's gateway
    /// answers 404 to everything.
    pub async fn start_gateway_on(&self, addr: SocketAddr) -> std::io::Result<String> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let bound = listener.local_addr()?;
        spawn(listener, self.state.clone(), Listener::Gateway, self.addr);
        Ok(format!("http://{bound}"))
    }
}

/// Jira's REST API, on the site or through the gateway (what latency and random faults
/// apply to).
pub(crate) fn is_jira_api(path: &str) -> bool {
    path.starts_with("/rest/") || path.starts_with("/ex/jira/")
}

async fn handle(
    state: Arc<Mutex<State>>,
    ctx: Ctx,
    peer: SocketAddr,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let latency = state
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .config
        .latency;
    if !latency.is_zero() && is_jira_api(&path) {
        tokio::time::sleep(latency).await;
    }
    let fault = {
        let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
        let pos = s
            .faults
            .iter()
            .position(|f| f.path.is_empty() || path.contains(&f.path));
        let scripted = pos.and_then(|i| s.faults.remove(i));
        scripted.or_else(|| faults::random_fault(&mut s, &path))
    };
    let mut no_answer = false;
    let mut answer_late = None;
    let mut reset = false;
    if let Some(f) = fault {
        match f.kind {
            FaultKind::Status {
                status,
                retry_after,
            } => {
                let status =
                    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                record(&state, ctx, peer, &path, &headers, status.as_u16());
                let mut resp = jira_error(status, &["Injected fault"], &BTreeMap::new());
                if let Some(secs) = retry_after {
                    resp.headers_mut().insert("retry-after", secs.into());
                }
                return resp;
            }
            FaultKind::Delay(d) => tokio::time::sleep(d).await,
            FaultKind::SucceedWithoutAnswer => no_answer = true,
            FaultKind::AnswerLate(d) => answer_late = Some(d),
            FaultKind::ResetAfterSuccess => reset = true,
            FaultKind::Redirect(location) => {
                record(&state, ctx, peer, &path, &headers, 302);
                return (StatusCode::FOUND, [("location", location)]).into_response();
            }
        }
    }
    let resp = {
        let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
        let resp = match ctx.listener {
            Listener::Site => router::route(&mut s, ctx.site, &method, &uri, &headers, &body),
            Listener::Gateway => {
                gateway::route(&mut s, ctx.site, ctx.own, &method, &uri, &headers, &body)
            }
        };
        let status = resp.status().as_u16();
        drop(s);
        // Secrets Manager calls are counted apart: `requests` is what Jira received.
        let secrets_call = ctx.listener == Listener::Site && headers.contains_key("x-amz-target");
        if !secrets_call {
            record(&state, ctx, peer, &path, &headers, status);
        }
        resp
    };
    if no_answer {
        // The connection stays open until the client gives up; hyper then drops this.
        std::future::pending::<()>().await;
    }
    if let Some(d) = answer_late {
        tokio::time::sleep(d).await;
    }
    if reset {
        // Unwinding ends the connection's task: the socket closes with no answer at all.
        // (`resume_unwind` skips the panic hook, so nothing is printed.)
        std::panic::resume_unwind(Box::new(
            "injected: connection reset after the request was handled",
        ));
    }
    resp
}

fn record(
    state: &Arc<Mutex<State>>,
    ctx: Ctx,
    peer: SocketAddr,
    path: &str,
    headers: &HeaderMap,
    status: u16,
) {
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    s.requests.push(Recorded {
        listener: ctx.listener,
        peer_port: peer.port(),
        path: path.to_string(),
        authorization: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        status,
    });
}
