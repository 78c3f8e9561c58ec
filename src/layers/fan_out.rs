//! Bounded fan-out: one client request that becomes several upstream calls (one per prompt
//! of a legacy completions request, one per batch of an embeddings request) sends them at
//! most `limit` at a time, and collects the replies in request order.
//!
//! Without a bound, one authenticated request could open as many upstream calls at once as
//! it has prompts; with it, a request's cost in concurrent upstream calls is at most
//! `limit` ([`DEFAULT_FAN_OUT`] unless configured), however long its list. The first error
//! ends the fan-out: the calls still in flight are dropped (cancelled) and no further call
//! is made.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::TryStreamExt;
use futures_util::stream::{self, Buffered, Iter, StreamExt, TryCollect};
use pin_project_lite::pin_project;
use tower::ServiceExt;
use tower::util::Oneshot;
use tower_service::Service;

/// How many calls of one request are in flight at once unless configured otherwise.
pub const DEFAULT_FAN_OUT: usize = 8;

/// Sends `requests` to clones of `service`, at most `limit` (at least one) at a time; the
/// future answers the replies in the order of `requests`, or the first error.
///
/// ```
/// use llm_tower::layers::fan_out::fan_out;
/// use tower::service_fn;
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let double = service_fn(|n: u32| async move { Ok::<_, std::convert::Infallible>(n * 2) });
/// let replies = fan_out(double, vec![1, 2, 3], 2).await?;
/// assert_eq!(replies, [2, 4, 6]);
/// # Ok::<(), std::convert::Infallible>(())
/// # }).unwrap();
/// ```
pub fn fan_out<S, Req>(service: S, requests: Vec<Req>, limit: usize) -> FanOut<S, Req>
where
    S: Service<Req> + Clone,
{
    let calls = Calls {
        service,
        requests: requests.into_iter(),
    };
    FanOut {
        inner: stream::iter(calls).buffered(limit.max(1)).try_collect(),
    }
}

/// The calls of a fan-out, each made when the fan-out has room for it.
#[derive(Debug)]
pub struct Calls<S, Req> {
    service: S,
    requests: std::vec::IntoIter<Req>,
}

impl<S, Req> Iterator for Calls<S, Req>
where
    S: Service<Req> + Clone,
{
    type Item = Oneshot<S, Req>;

    fn next(&mut self) -> Option<Self::Item> {
        let request = self.requests.next()?;
        Some(self.service.clone().oneshot(request))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.requests.size_hint()
    }
}

pin_project! {
    /// Future of [`fan_out`]: the replies in request order, or the first error.
    pub struct FanOut<S, Req>
    where
        S: Service<Req>,
        S: Clone,
    {
        #[pin]
        inner: TryCollect<Buffered<Iter<Calls<S, Req>>>, Vec<S::Response>>,
    }
}

impl<S, Req> Future for FanOut<S, Req>
where
    S: Service<Req> + Clone,
{
    type Output = Result<Vec<S::Response>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().inner.poll(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn at_most_limit_calls_run_at_once_and_replies_keep_their_order() {
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let service = tower::service_fn({
            let (running, most) = (running.clone(), most.clone());
            move |n: u64| {
                let (running, most) = (running.clone(), most.clone());
                async move {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    // Later requests finish sooner: the order must come from the fan-out.
                    tokio::time::sleep(Duration::from_millis(20 - n)).await;
                    running.fetch_sub(1, Ordering::SeqCst);
                    Ok::<_, String>(n)
                }
            }
        });
        let replies = fan_out(service, (0..10).collect(), 3).await;
        assert_eq!(replies, Ok((0..10).collect::<Vec<_>>()));
        assert_eq!(most.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn the_first_error_ends_the_fan_out_and_no_later_call_is_made() {
        let calls = Arc::new(AtomicUsize::new(0));
        let service = tower::service_fn({
            let calls = calls.clone();
            move |n: u32| {
                calls.fetch_add(1, Ordering::SeqCst);
                async move {
                    if n == 1 {
                        Err(format!("call {n} failed"))
                    } else {
                        Ok(n)
                    }
                }
            }
        });
        let replies = fan_out(service, (0..50).collect(), 2).await;
        assert_eq!(replies, Err("call 1 failed".to_owned()));
        assert!(calls.load(Ordering::SeqCst) < 50, "later calls were made");
    }

    #[tokio::test]
    async fn a_zero_limit_still_makes_progress() {
        let service =
            tower::service_fn(|n: u32| async move { Ok::<_, std::convert::Infallible>(n) });
        assert_eq!(fan_out(service, vec![7, 8], 0).await, Ok(vec![7, 8]));
    }
}
