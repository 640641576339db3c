//! A minimal Lambda Runtime API (2018-06-01) on loopback, so that tests and benchmarks can
//! run the real `bootstrap` binary as Lambda does: it polls `invocation/next`, gets one
//! event with its deadline, and posts a response or an error.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, oneshot, Mutex as AsyncMutex};

/// What the function answered to one invocation.
#[derive(Debug, Clone)]
pub struct Answer {
    /// `Ok(response body)` or `Err(error body)` (`errorType`, `errorMessage`).
    pub result: Result<Value, Value>,
    pub finished: Instant,
}

struct Pending {
    id: String,
    event: Value,
    timeout: Duration,
    reply: oneshot::Sender<Answer>,
}

struct Inner {
    queue: AsyncMutex<mpsc::UnboundedReceiver<Pending>>,
    waiting: Mutex<Vec<(String, oneshot::Sender<Answer>)>>,
    first_poll: Mutex<Option<Instant>>,
}

#[derive(Clone)]
pub struct RuntimeApi {
    /// The value for `AWS_LAMBDA_RUNTIME_API` (`host:port`).
    pub address: String,
    sender: mpsc::UnboundedSender<Pending>,
    inner: Arc<Inner>,
}

impl RuntimeApi {
    pub async fn start() -> RuntimeApi {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind runtime API");
        let addr: SocketAddr = listener.local_addr().expect("addr");
        let (sender, receiver) = mpsc::unbounded_channel();
        let inner = Arc::new(Inner {
            queue: AsyncMutex::new(receiver),
            waiting: Mutex::new(Vec::new()),
            first_poll: Mutex::new(None),
        });
        let app = axum::Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(inner.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        RuntimeApi {
            address: addr.to_string(),
            sender,
            inner,
        }
    }

    /// Sends one event and waits for the function's answer.
    pub async fn invoke(&self, event: Value, timeout: Duration) -> Answer {
        let (reply, answer) = oneshot::channel();
        let id = format!("req-{}", fastrand::u64(..));
        let _ = self.sender.send(Pending {
            id,
            event,
            timeout,
            reply,
        });
        answer.await.expect("the function answered")
    }

    /// When the function first asked for work (its cold start ends there).
    pub fn first_poll(&self) -> Option<Instant> {
        *self
            .inner
            .first_poll
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }
}

async fn next(State(inner): State<Arc<Inner>>) -> Response {
    inner
        .first_poll
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get_or_insert_with(Instant::now);
    let pending = inner.queue.lock().await.recv().await;
    let Some(p) = pending else {
        return StatusCode::GONE.into_response();
    };
    let deadline = SystemTime::now() + p.timeout;
    let deadline_ms = deadline
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    inner
        .waiting
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push((p.id.clone(), p.reply));
    let mut headers = HeaderMap::new();
    headers.insert("lambda-runtime-aws-request-id", p.id.parse().expect("id"));
    headers.insert(
        "lambda-runtime-deadline-ms",
        deadline_ms.to_string().parse().expect("ms"),
    );
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:us-east-1:111122223333:function:detection-jira"
            .parse()
            .expect("arn"),
    );
    headers.insert(
        "lambda-runtime-trace-id",
        "Root=1-00000000-000000000000000000000000;Sampled=0"
            .parse()
            .expect("trace"),
    );
    (StatusCode::OK, headers, p.event.to_string()).into_response()
}

fn finish(inner: &Inner, id: &str, result: Result<Value, Value>) -> StatusCode {
    let sender = {
        let mut waiting = inner.waiting.lock().unwrap_or_else(|p| p.into_inner());
        let pos = waiting.iter().position(|(w, _)| w == id);
        pos.map(|i| waiting.remove(i).1)
    };
    match sender {
        Some(s) => {
            let _ = s.send(Answer {
                result,
                finished: Instant::now(),
            });
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

fn json_of(body: &Bytes) -> Value {
    serde_json::from_slice(body).unwrap_or(Value::Null)
}

async fn response(
    State(inner): State<Arc<Inner>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    finish(&inner, &id, Ok(json_of(&body)))
}

async fn error(State(inner): State<Arc<Inner>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    finish(&inner, &id, Err(json_of(&body)))
}

/// Accepted and not kept: a function that fails to start exits, which is what tests see.
async fn init_error() -> StatusCode {
    StatusCode::ACCEPTED
}

/// A command that runs a Lambda bootstrap binary against `runtime`, with the environment
/// Lambda sets (add the function's own variables to it).
pub fn function_command(binary: &str, runtime: &RuntimeApi) -> std::process::Command {
    let mut cmd = std::process::Command::new(binary);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", &runtime.address)
        .env("AWS_LAMBDA_FUNCTION_NAME", "detection-jira")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "AKIDFAKEFAKEFAKE")
        .env("AWS_SECRET_ACCESS_KEY", "fake-secret-key");
    cmd
}
