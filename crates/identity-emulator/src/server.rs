//! The HTTP/1.1 server: accepts connections, logs each request, applies the
//! fault plan and routes to the endpoint handlers.

use crate::{
    discovery, entra, faults::Fault, log::LoggedRequest, reply::Reply, resource, state::Shared,
};
use bytes::Bytes;
use futures::stream;
use http_body_util::{BodyExt, Full, Limited, StreamBody, combinators::BoxBody};
use hyper::{
    Request, Response, StatusCode,
    body::{Frame, Incoming},
    header::{HeaderName, HeaderValue},
    server::conn::http1,
    service::service_fn,
};
use hyper_util::rt::TokioIo;
use std::{sync::Arc, time::Duration, time::SystemTime};
use tokio::{net::TcpListener, sync::watch};
use tokio_rustls::TlsAcceptor;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Body = BoxBody<Bytes, BoxError>;

/// Largest request body the emulator reads.
const MAX_REQUEST_BODY: usize = 1024 * 1024;
/// The request log keeps this many of the latest requests.
const MAX_LOGGED: usize = 100_000;
/// Chunk size for streamed (oversized) bodies.
const CHUNK: usize = 64 * 1024;

/// Closes the connection instead of answering ([`Fault::DropConnection`]).
#[derive(Debug)]
struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for DropConnection {}

/// Accepts connections until `stop` turns true or its sender is dropped;
/// with `tls`, each connection is a TLS session first.
pub(crate) async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    shared: Arc<Shared>,
    stop: watch::Receiver<bool>,
) {
    let mut stopping = stop.clone();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    // Best effort: latency figures should not include Nagle delays.
                    let _ = stream.set_nodelay(true);
                    let shared = Arc::clone(&shared);
                    let mut stop = stop.clone();
                    let tls = tls.clone();
                    tokio::spawn(async move {
                        let serving = async {
                            match tls {
                                // A client that refuses the certificate just ends the handshake.
                                Some(tls) => {
                                    if let Ok(stream) = tls.accept(stream).await {
                                        connection(stream, shared).await;
                                    }
                                }
                                None => connection(stream, shared).await,
                            }
                        };
                        tokio::select! {
                            () = serving => {}
                            () = stopped(&mut stop) => {}
                        }
                    });
                }
                // Out of file descriptors and the like: wait rather than spin.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            () = stopped(&mut stopping) => break,
        }
    }
}

async fn connection<S>(stream: S, shared: Arc<Shared>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |request| handle(Arc::clone(&shared), request));
    let _ = http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

/// Resolves once the emulator stops (or its handle is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

async fn handle(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response<Body>, DropConnection> {
    let (parts, body) = request.into_parts();
    let body = match Limited::new(body, MAX_REQUEST_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return Ok(respond(Reply::text(
                413,
                "request body too large or unreadable",
            )));
        }
    };
    let logged = log_entry(&parts, &body);
    let (fault, latency) = {
        let mut state = shared.lock();
        let plan = state.faults.next(&logged.path);
        if state.log.len() >= MAX_LOGGED {
            state.log.pop_front();
        }
        state.log.push_back(logged.clone());
        plan
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let reply = match fault {
        Some(Fault::Hang) => futures::future::pending().await,
        Some(Fault::DropConnection) => return Err(DropConnection),
        Some(Fault::Status {
            status,
            body,
            headers,
        }) => {
            let mut reply = Reply::text(status, body);
            for (name, value) in headers {
                let name = name.to_ascii_lowercase();
                if name == "content-type" {
                    reply.set_content_type(&value);
                } else {
                    reply = reply.with_header(&name, value);
                }
            }
            return Ok(respond(reply));
        }
        Some(Fault::Latency(delay)) => {
            tokio::time::sleep(delay).await;
            route(&shared, &logged)
        }
        _ => route(&shared, &logged),
    };
    Ok(shape(reply, fault))
}

fn log_entry(parts: &hyper::http::request::Parts, body: &Bytes) -> LoggedRequest {
    let decode = |bytes: &[u8]| {
        url::form_urlencoded::parse(bytes)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect::<Vec<_>>()
    };
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let is_form = headers.iter().any(|(n, v)| {
        n == "content-type"
            && v.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
    });
    LoggedRequest {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: parts
            .uri
            .query()
            .map(|q| decode(q.as_bytes()))
            .unwrap_or_default(),
        headers,
        form: if is_form { decode(body) } else { Vec::new() },
        body: body.to_vec(),
        received_at: SystemTime::now(),
    }
}

fn route(shared: &Shared, request: &LoggedRequest) -> Reply {
    if let Some(reply) = crate::msi::route(shared, request) {
        return reply;
    }
    let segments: Vec<&str> = request.path.trim_start_matches('/').split('/').collect();
    let get = request.method == "GET";
    match segments.as_slice() {
        [tenant, "oauth2", "v2.0", "token"] => entra::token(shared, tenant, request),
        ["common", "discovery", "instance"] if get => discovery::instance_discovery(shared),
        ["common", "discovery", "keys"] | [_, "discovery", "v2.0", "keys"] if get => {
            discovery::token_keys(shared)
        }
        [tenant, "v2.0", ".well-known", "openid-configuration"] if get => {
            discovery::tenant_configuration(shared, tenant)
        }
        ["federation", ".well-known", "openid-configuration"] if get => {
            discovery::federation_configuration(shared)
        }
        ["federation", "keys"] if get => discovery::federation_keys(shared),
        ["resource"] => resource::serve(shared, request),
        ["pipelines", "oidctoken"] => crate::pipelines::serve(shared, request),
        [""] if get => Reply::text(
            200,
            format!(
                "identity-emulator: token endpoint {}/{{tenant}}/oauth2/v2.0/token",
                shared.base_url
            ),
        ),
        _ => Reply::not_found(&request.path),
    }
}

/// Applies a fault that alters or replaces the body of `reply`.
fn shape(reply: Reply, fault: Option<Fault>) -> Response<Body> {
    let json = "application/json; charset=utf-8";
    match fault {
        Some(Fault::WrongContentType) => {
            let mut reply = reply;
            reply.set_content_type("text/html; charset=utf-8");
            respond(reply)
        }
        Some(Fault::OmitField(field)) => respond(reply.edit_json(|map| {
            map.remove(&field);
        })),
        Some(Fault::ExpiresIn(value)) => respond(reply.edit_json(|map| {
            map.insert("expires_in".into(), value);
        })),
        Some(Fault::Garbage) => respond(replace_body(
            200,
            json,
            b"<html><body>Service Unavailable</body></html> }{ not json".to_vec(),
        )),
        Some(Fault::EmptyBody) => respond(replace_body(200, json, Vec::new())),
        Some(Fault::InvalidUtf8) => respond(replace_body(
            200,
            json,
            vec![0xff, 0xfe, b'{', 0xc3, 0x28, b'}', 0x80],
        )),
        Some(Fault::Oversized(size)) => oversized(size),
        Some(Fault::ResetMidBody) => broken_body(&reply, false),
        Some(Fault::TruncatedBody) => broken_body(&reply, true),
        _ => respond(reply),
    }
}

fn replace_body(status: u16, content_type: &str, body: Vec<u8>) -> Reply {
    let mut reply = Reply::text(status, String::new());
    reply.set_content_type(content_type);
    reply.body = body;
    reply
}

fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

fn respond(reply: Reply) -> Response<Body> {
    let body = full(reply.body);
    build(reply.status, &reply.headers, body)
}

fn build(status: u16, headers: &[(String, String)], body: Body) -> Response<Body> {
    let mut response = Response::new(body);
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::try_from(value.as_str()),
        ) {
            response.headers_mut().append(name, value);
        }
    }
    response
}

/// How long a broken body waits, after its first half, before failing.
const BROKEN_BODY_PAUSE: Duration = Duration::from_millis(100);

/// A 200 JSON-looking body of exactly `size` bytes, streamed in chunks.
fn oversized(size: usize) -> Response<Body> {
    let prefix = br#"{"token_type":"Bearer","expires_in":3599,"access_token":""#;
    let chunks = (0..size.div_ceil(CHUNK)).map(move |index| {
        let start = index * CHUNK;
        let len = CHUNK.min(size - start);
        let chunk: Vec<u8> = (start..start + len)
            .map(|at| prefix.get(at).copied().unwrap_or(b'A'))
            .collect();
        Ok::<_, BoxError>(Frame::data(Bytes::from(chunk)))
    });
    let body = StreamBody::new(stream::iter(chunks)).boxed();
    let headers = vec![
        (
            "content-type".to_owned(),
            "application/json; charset=utf-8".to_owned(),
        ),
        ("content-length".to_owned(), size.to_string()),
    ];
    build(200, &headers, body)
}

/// Sends the status, the headers and the first half of `reply`'s body, then
/// fails the connection: with a `Content-Length` that promises the whole body
/// (`truncated`), or chunked with no terminating chunk. The pause before the
/// failure lets the server flush what came before, so the client sees a body
/// cut off mid-way, not a connection that failed before any answer.
fn broken_body(reply: &Reply, truncated: bool) -> Response<Body> {
    let half = Bytes::from(
        reply
            .body
            .get(..reply.body.len() / 2)
            .unwrap_or_default()
            .to_vec(),
    );
    let frames = stream::unfold(0u8, move |step| {
        let half = half.clone();
        async move {
            match step {
                0 => Some((Ok::<_, BoxError>(Frame::data(half)), 1)),
                1 => {
                    tokio::time::sleep(BROKEN_BODY_PAUSE).await;
                    Some((Err("connection reset by fault injection".into()), 2))
                }
                _ => None,
            }
        }
    });
    let mut headers = reply.headers.clone();
    if truncated {
        headers.push(("content-length".into(), reply.body.len().max(1).to_string()));
    }
    build(200, &headers, StreamBody::new(frames).boxed())
}
