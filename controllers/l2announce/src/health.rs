//! Whether this node's ferrule-agent is healthy: one HTTP GET of its health URL, 2xx = healthy.
//! The announcer renews its liveness Lease only while this holds, so a node whose datapath is
//! down (and therefore cannot answer ARP / NDP) stops being a candidate. The default URL is the
//! agent's /readyz (datapath attached and programmed after its initial lists), not /healthz
//! (process alive, answered even before the datapath is attached); a restarting agent is
//! briefly not ready while its pinned datapath keeps answering, which the renew-deadline
//! tolerance covers.

use crate::error::Error;
use http_body_util::Empty;
use hyper::Uri;
use hyper_util::rt::TokioIo;
use std::time::Duration;

/// A parsed `http://host:port/path` URL of the agent's health endpoint.
#[derive(Debug, Clone)]
pub struct AgentHealth {
    uri: Uri,
    authority: String,
}

impl AgentHealth {
    /// Parses `url`; only plain HTTP is supported (the agent listens on the node itself).
    pub fn new(url: &str) -> Result<Self, Error> {
        let bad = |reason: &str| Error::HealthUrl {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let uri: Uri = url.parse().map_err(|_| bad("not a URL"))?;
        if uri.scheme_str() != Some("http") {
            return Err(bad("only http:// is supported"));
        }
        let authority = uri.authority().ok_or_else(|| bad("no host"))?;
        let port = authority.port_u16().unwrap_or(80);
        let authority = format!("{}:{port}", authority.host());
        Ok(Self { uri, authority })
    }

    /// `true` when the agent answered 2xx within `timeout`. Any failure (refused, timed out,
    /// non-2xx) is unhealthy: the point is to stop claiming a node that cannot answer.
    pub async fn is_healthy(&self, timeout: Duration) -> bool {
        match tokio::time::timeout(timeout, self.get()).await {
            Ok(Ok(status)) if (200..300).contains(&status) => true,
            Ok(Ok(status)) => {
                tracing::debug!(status, url = %self.uri, "agent health check answered");
                false
            }
            Ok(Err(error)) => {
                tracing::debug!(%error, url = %self.uri, "agent health check failed");
                false
            }
            Err(_) => {
                tracing::debug!(url = %self.uri, "agent health check timed out");
                false
            }
        }
    }

    async fn get(&self) -> Result<u16, Box<dyn std::error::Error + Send + Sync>> {
        let stream = tokio::net::TcpStream::connect(&self.authority).await?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        // The connection future drives the I/O; it ends when the exchange is done.
        tokio::spawn(async move {
            let _ = connection.await;
        });
        let path = self
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        let request = hyper::Request::get(path)
            .header(hyper::header::HOST, &self.authority)
            .header(hyper::header::CONNECTION, "close")
            .body(Empty::<bytes::Bytes>::new())?;
        let response = sender.send_request(request).await?;
        Ok(response.status().as_u16())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_http_urls_are_accepted() {
        assert!(AgentHealth::new("http://127.0.0.1:9107/healthz").is_ok());
        assert!(AgentHealth::new("http://[2001:db8::1]:9107/healthz").is_ok());
        assert!(AgentHealth::new("https://127.0.0.1:9107/healthz").is_err());
        assert!(AgentHealth::new("127.0.0.1:9107").is_err());
    }

    #[tokio::test]
    async fn a_closed_port_is_unhealthy() {
        // Bind then drop: nothing listens on the port afterwards.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let health = AgentHealth::new(&format!("http://127.0.0.1:{port}/healthz")).expect("url");
        assert!(!health.is_healthy(Duration::from_secs(1)).await);
    }
}
