//! The listeners: the site (`FakeJira::start_on`) and the Atlassian gateway
//! (`FakeJira::start_gateway_on`), sharing one state. Every request, whatever its route,
//! goes through the same plumbing around it (`plumbing`): latency, scripted and random
//! faults, and the record of what came in.

use crate::errors::jira_error;
use crate::extract::App;
use crate::faults::{self, Fault, FaultKind};
use crate::routes;
use crate::state::{self, Listener, Recorded, State};
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, FromRequest, Request};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// Serves `listener` until the process ends.
pub(crate) fn spawn(
    listener: tokio::net::TcpListener,
    state: Arc<Mutex<State>>,
    kind: Listener,
    site: SocketAddr,
) {
    let own = listener.local_addr().unwrap_or(site);
    let app = App {
        state,
        listener: kind,
        own,
        site,
    };
    let routes = match kind {
        Listener::Site => routes::site(),
        Listener::Gateway => routes::gateway(&app),
    };
    let router = routes
        .layer(from_fn_with_state(app.clone(), plumbing))
        .with_state(app);
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
}

/// Jira's REST API, on the site or through the gateway (what latency and random faults
/// apply to).
fn is_jira_api(path: &str) -> bool {
    path.starts_with("/rest/") || path.starts_with("/ex/jira/")
}

/// The fault this request meets: the first scripted one for its path, else maybe a random
/// one (Jira's REST API only).
fn fault_for(s: &mut State, path: &str) -> Option<Fault> {
    let pos = s
        .faults
        .iter()
        .position(|f| f.path.is_empty() || path.contains(&f.path));
    if let Some(scripted) = pos.and_then(|i| s.faults.remove(i)) {
        return Some(scripted);
    }
    let random = s.config.random_faults.clone()?;
    if !is_jira_api(path) {
        return None;
    }
    faults::random_fault(&random, &mut s.rng, path)
}

/// Around every route: the body read whole (as axum reads it, within its 2 MB default), the
/// latency, a fault, the route's answer recorded, and what the fault does after it.
async fn plumbing(
    axum::extract::State(app): axum::extract::State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
    next: Next,
) -> Response {
    let (parts, body) = req.into_parts();
    let body = match Bytes::from_request(Request::new(body), &()).await {
        Ok(body) => body,
        Err(rejection) => return rejection.into_response(),
    };
    let path = parts.uri.path().to_string();
    let headers = parts.headers.clone();
    let latency = app.lock().config.latency;
    if !latency.is_zero() && is_jira_api(&path) {
        tokio::time::sleep(latency).await;
    }
    let fault = fault_for(&mut app.lock(), &path);
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
                record(&app, peer, &path, &headers, status.as_u16());
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
                record(&app, peer, &path, &headers, 302);
                return (StatusCode::FOUND, [("location", location)]).into_response();
            }
        }
    }
    let resp = next.run(Request::from_parts(parts, Body::from(body))).await;
    // Secrets Manager and SQS calls are counted apart: `requests` is what Jira received.
    let aws_call = app.listener == Listener::Site && headers.contains_key("x-amz-target");
    if !aws_call {
        record(&app, peer, &path, &headers, resp.status().as_u16());
    }
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

fn record(app: &App, peer: SocketAddr, path: &str, headers: &HeaderMap, status: u16) {
    state::lock(&app.state).requests.push(Recorded {
        listener: app.listener,
        peer_port: peer.port(),
        path: path.to_string(),
        authorization: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        status,
    });
}
