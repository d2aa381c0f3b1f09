//! Client-side rate limiting of API requests (like client-go's `--kube-api-qps/burst`): a token
//! bucket as a tower layer. Requests wait for their token; they never fail for lack of one.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use tokio::time::Sleep;
use tower::{Layer, Service};

/// A token bucket holding up to `burst` tokens, refilled at `qps` tokens per second. Taking a
/// token never fails: when the bucket is empty the caller gets the time to wait for its token
/// (the bucket goes into debt), so waiting callers are served in arrival order.
///
/// Time is passed in, so the arithmetic is testable without sleeping.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    qps: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket at time `now`. `qps` must be positive and `burst` at least 1
    /// ([`crate::CommonArgs::validate`] guarantees both); other values are clamped.
    pub fn new(qps: f64, burst: u32, now: Instant) -> Self {
        let qps = if qps.is_finite() && qps > 0.0 {
            qps
        } else {
            f64::MIN_POSITIVE
        };
        let burst = f64::from(burst.max(1));
        Self {
            qps,
            burst,
            tokens: burst,
            last: now,
        }
    }

    /// Takes one token at `now` and returns how long the caller must wait before using it.
    pub fn reserve(&mut self, now: Instant) -> Duration {
        self.refill(now);
        self.tokens -= 1.0;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::try_from_secs_f64(-self.tokens / self.qps).unwrap_or(Duration::MAX)
        }
    }

    /// Tokens available at `now` (negative while callers are waiting).
    pub fn available(&mut self, now: Instant) -> f64 {
        self.refill(now);
        self.tokens
    }

    fn refill(&mut self, now: Instant) {
        // A clock that appears to go backwards adds nothing rather than removing tokens.
        let elapsed = now.saturating_duration_since(self.last);
        self.tokens = (self.tokens + elapsed.as_secs_f64() * self.qps).min(self.burst);
        self.last = self.last.max(now);
    }
}

/// Tower layer applying a shared [`TokenBucket`] to every request of a client.
#[derive(Debug, Clone)]
pub struct RateLimitLayer {
    bucket: Arc<Mutex<TokenBucket>>,
}

impl RateLimitLayer {
    /// A layer allowing `burst` requests at once and `qps` per second sustained.
    pub fn new(qps: f64, burst: u32) -> Self {
        Self {
            bucket: Arc::new(Mutex::new(TokenBucket::new(qps, burst, Instant::now()))),
        }
    }
}

impl<S> Layer<S> for RateLimitLayer {
    type Service = RateLimit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimit {
            inner,
            bucket: Arc::clone(&self.bucket),
            permit: Permit::None,
        }
    }
}

/// The service produced by [`RateLimitLayer`]: waits in `poll_ready` until its token is due.
/// kube's client drives the stack through a `Buffer`, so waiting requests queue in order.
pub struct RateLimit<S> {
    inner: S,
    bucket: Arc<Mutex<TokenBucket>>,
    permit: Permit,
}

enum Permit {
    None,
    Waiting(Pin<Box<Sleep>>),
    Granted,
}

impl<S> std::fmt::Debug for RateLimit<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let permit = match self.permit {
            Permit::None => "none",
            Permit::Waiting(_) => "waiting",
            Permit::Granted => "granted",
        };
        f.debug_struct("RateLimit")
            .field("permit", &permit)
            .finish()
    }
}

impl<S, Req> Service<Req> for RateLimit<S>
where
    S: Service<Req>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        loop {
            match &mut self.permit {
                Permit::None => {
                    let wait = self
                        .bucket
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .reserve(Instant::now());
                    self.permit = if wait.is_zero() {
                        Permit::Granted
                    } else {
                        Permit::Waiting(Box::pin(tokio::time::sleep(wait)))
                    };
                }
                Permit::Waiting(sleep) => {
                    ready!(sleep.as_mut().poll(cx));
                    self.permit = Permit::Granted;
                }
                Permit::Granted => return self.inner.poll_ready(cx),
            }
        }
    }

    fn call(&mut self, request: Req) -> Self::Future {
        // The token is spent by this request; the next one reserves its own.
        self.permit = Permit::None;
        self.inner.call(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Float arithmetic may be a few nanoseconds off; a microsecond is far below what matters.
    #[track_caller]
    fn assert_wait(actual: Duration, expected: Duration) {
        let diff = actual.abs_diff(expected);
        assert!(
            diff < Duration::from_micros(1),
            "expected a wait of {expected:?}, got {actual:?}"
        );
    }

    #[test]
    fn burst_is_served_immediately_then_requests_wait_at_qps() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(1.0, 3, t0);
        assert_wait(bucket.reserve(t0), Duration::ZERO);
        assert_wait(bucket.reserve(t0), Duration::ZERO);
        assert_wait(bucket.reserve(t0), Duration::ZERO);
        // Empty: each further request queues one refill interval behind the previous one.
        assert_wait(bucket.reserve(t0), Duration::from_secs(1));
        assert_wait(bucket.reserve(t0), Duration::from_secs(2));
    }

    #[test]
    fn tokens_refill_at_qps() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(20.0, 1, t0);
        assert_wait(bucket.reserve(t0), Duration::ZERO);
        // 20 qps: the next token is due 50ms later.
        assert_wait(bucket.reserve(t0 + ms(10)), ms(40));
        // That request consumed the token maturing at 50ms; at 100ms one more is ready.
        assert_wait(bucket.reserve(t0 + ms(100)), Duration::ZERO);
    }

    #[test]
    fn refill_is_capped_at_burst() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(10.0, 2, t0);
        assert_wait(bucket.reserve(t0), Duration::ZERO);
        let later = t0 + Duration::from_secs(3600);
        assert!(
            (bucket.available(later) - 2.0).abs() < 1e-9,
            "idle time must not bank more than burst tokens"
        );
        assert_wait(bucket.reserve(later), Duration::ZERO);
        assert_wait(bucket.reserve(later), Duration::ZERO);
        assert_wait(bucket.reserve(later), ms(100));
    }

    #[test]
    fn debt_is_repaid_before_new_tokens() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(2.0, 1, t0);
        assert_wait(bucket.reserve(t0), Duration::ZERO);
        assert_wait(bucket.reserve(t0), ms(500));
        assert_wait(bucket.reserve(t0), ms(1000));
        // 600ms later one queued request has been served; the new one waits behind the other.
        assert_wait(bucket.reserve(t0 + ms(600)), ms(900));
    }

    #[test]
    fn clock_going_backwards_adds_nothing() {
        let t0 = Instant::now() + Duration::from_secs(10);
        let mut bucket = TokenBucket::new(1.0, 1, t0);
        assert_wait(bucket.reserve(t0), Duration::ZERO);
        let earlier = t0 - Duration::from_secs(5);
        assert_wait(bucket.reserve(earlier), Duration::from_secs(1));
    }

    #[tokio::test]
    async fn service_waits_for_its_token_instead_of_failing() {
        let layer = RateLimitLayer::new(10.0, 1);
        let mut service = layer.layer(Echo);
        let start = Instant::now();
        std::future::poll_fn(|cx| service.poll_ready(cx))
            .await
            .expect("first request is ready at once");
        assert_eq!(service.call(1).await, Ok(1));
        assert!(start.elapsed() < ms(50), "the first token must be free");
        std::future::poll_fn(|cx| service.poll_ready(cx))
            .await
            .expect("second request becomes ready");
        assert_eq!(service.call(2).await, Ok(2));
        let waited = start.elapsed();
        assert!(
            waited >= ms(90) && waited < Duration::from_secs(5),
            "at 10 qps the second request waits ~100ms, waited {waited:?}"
        );
    }

    /// A service answering its request immediately.
    struct Echo;

    impl Service<u32> for Echo {
        type Response = u32;
        type Error = ();
        type Future = std::future::Ready<Result<u32, ()>>;

        fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), ()>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, request: u32) -> Self::Future {
            std::future::ready(Ok(request))
        }
    }
}
