//! The floor for cold start: a `lambda_runtime` bootstrap that answers `{}` to every
//! event, built with the function's release profile. The function benchmark starts it
//! the same way as the function and prints the function's cold start against it.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|_: LambdaEvent<Value>| async {
        Ok::<_, Error>(json!({}))
    }))
    .await
}
