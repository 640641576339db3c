//! A value built in the background from the start of the process (the AWS SDK's clients):
//! the Lambda runtime starts polling for the first event meanwhile, and the first use waits
//! only for what is left. Built once; every use after that gets a clone at once.

use futures::future::{BoxFuture, FutureExt, Shared};
use std::future::Future;

#[derive(Clone)]
pub struct Deferred<T: Clone>(Shared<BoxFuture<'static, T>>);

impl<T: Clone + Send + Sync + 'static> Deferred<T> {
    /// A value that is there already.
    pub fn ready(value: T) -> Self {
        Deferred(futures::future::ready(value).boxed().shared())
    }

    /// Starts building `value` now, on the Tokio runtime.
    pub fn spawn(value: impl Future<Output = T> + Send + 'static) -> Self {
        let shared = value.boxed().shared();
        tokio::spawn(shared.clone());
        Deferred(shared)
    }

    /// The value, once built.
    pub async fn get(&self) -> T {
        self.0.clone().await
    }
}

impl<T: Clone> std::fmt::Debug for Deferred<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Deferred")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn built_once_in_the_background_and_shared() {
        let builds = Arc::new(AtomicU32::new(0));
        let counter = builds.clone();
        let d = Deferred::spawn(async move {
            tokio::time::sleep(Duration::from_millis(5)).await;
            counter.fetch_add(1, Ordering::SeqCst) + 41
        });
        // It runs without anyone waiting for it.
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(builds.load(Ordering::SeqCst), 1);
        let other = d.clone();
        let (a, b) = tokio::join!(d.get(), other.get());
        assert_eq!((a, b), (41, 41));
        assert_eq!(builds.load(Ordering::SeqCst), 1);
        assert_eq!(Deferred::ready(7).get().await, 7);
    }
}
