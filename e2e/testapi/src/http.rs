//! The HTTP transport: HTTP/1.1 and HTTP/2, plain or TLS, turning hyper requests into
//! [`Request`]s and [`Reply`]s into responses (watch replies stream).

use crate::server::{ApiServer, Method, Reply, Request};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use std::convert::Infallible;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

type Body = BoxBody<Bytes, Infallible>;

/// Accepts connections until the task is dropped.
pub async fn serve(
    server: Arc<ApiServer>,
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
) {
    let acceptor = tls.map(TlsAcceptor::from);
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!(error = %e, "accepting a connection failed");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let server = server.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let server = server.clone();
                async move { Ok::<_, Infallible>(respond(&server, req).await) }
            });
            let builder = Builder::new(TokioExecutor::new());
            let result = match acceptor {
                Some(acceptor) => match acceptor.accept(stream).await {
                    Ok(tls) => builder.serve_connection(TokioIo::new(tls), service).await,
                    Err(e) => {
                        tracing::debug!(error = %e, "TLS handshake failed");
                        return;
                    }
                },
                None => {
                    builder
                        .serve_connection(TokioIo::new(stream), service)
                        .await
                }
            };
            if let Err(e) = result {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
}

async fn respond(server: &Arc<ApiServer>, req: hyper::Request<Incoming>) -> hyper::Response<Body> {
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            tracing::debug!(error = %e, "reading a request body failed");
            Bytes::new()
        }
    };
    let header = |name: hyper::header::HeaderName| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let method = match parts.method {
        hyper::Method::GET | hyper::Method::HEAD => Method::Get,
        hyper::Method::POST => Method::Post,
        hyper::Method::PUT => Method::Put,
        hyper::Method::PATCH => Method::Patch,
        hyper::Method::DELETE => Method::Delete,
        _ => Method::Other,
    };
    let request = Request {
        method,
        path: parts.uri.path().to_owned(),
        query: crate::request::Query::parse(parts.uri.query()),
        content_type: header(hyper::header::CONTENT_TYPE),
        accept: header(hyper::header::ACCEPT),
        user_agent: header(hyper::header::USER_AGENT),
        body,
    };
    tracing::debug!(method = ?request.method, path = %request.path, "request");
    match server.handle(request).await {
        Reply::Json {
            code,
            body,
            warnings,
            content_type,
        } => {
            let bytes = match body {
                serde_json::Value::String(text) if content_type == "text/plain" => {
                    Bytes::from(text)
                }
                other => Bytes::from(other.to_string()),
            };
            let mut response = hyper::Response::builder()
                .status(code)
                .header(hyper::header::CONTENT_TYPE, content_type);
            for warning in warnings {
                let escaped = warning.replace('"', "\\\"");
                response = response.header("Warning", format!("299 - \"{escaped}\""));
            }
            response
                .body(Full::new(bytes).boxed())
                .unwrap_or_else(|_| internal_error())
        }
        Reply::Raw { content_type, body } => hyper::Response::builder()
            .status(200)
            .header(hyper::header::CONTENT_TYPE, content_type)
            .body(Full::new(body).boxed())
            .unwrap_or_else(|_| internal_error()),
        Reply::Watch(stream) => {
            let lines = futures::stream::unfold(stream, |mut stream| async move {
                let line = stream.next_line().await?;
                Some((Ok::<_, Infallible>(Frame::data(Bytes::from(line))), stream))
            });
            hyper::Response::builder()
                .status(200)
                .header(hyper::header::CONTENT_TYPE, "application/json")
                .body(BodyExt::boxed(StreamBody::new(lines)))
                .unwrap_or_else(|_| internal_error())
        }
    }
}

fn internal_error() -> hyper::Response<Body> {
    let mut response =
        hyper::Response::new(Full::new(Bytes::from_static(b"internal error")).boxed());
    *response.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
    response
}
