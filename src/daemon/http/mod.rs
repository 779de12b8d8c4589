//! The read-only HTTP endpoint (`[http]`): health checks for load
//! balancers (`/health`, `/primary/RES`, `/replica/RES`, `/resource/RES`),
//! the status as JSON (`/status`, what `paceline status --output json`
//! prints) and Prometheus metrics (`/metrics`).
//!
//! hyper 1's HTTP/1 server, on a thread and a tokio runtime of its own:
//! the daemon's event loop has one thread that the heartbeats share, and
//! nothing a client does (a slow TLS handshake, a scrape rendering the
//! metrics of a large cluster) may hold it. The loop only publishes an
//! immutable snapshot every 250 ms (`snapshot::Publisher`, a `watch`
//! channel): the membership part of the report, and the inputs of the rest
//! (the replicated status copied once per document version, the
//! configuration once per configuration); what grows with the number of
//! resources (`report::derived`, names, metrics' facts) is made here, once
//! per document version. Every answer is made from the newest snapshot,
//! and none from one older than 5 s (the loop is held or hung). Measured
//! (debug build, one node, 2,000 Dummies with target-role Stopped, shared
//! 2-core machine): building the whole report on the loop at every publish
//! held it 1.2-2.4 s; publishing now takes over 20 ms 6 times in 48 s (at
//! most 74 ms, the copies after a change), and /metrics (560 kB) answers
//! in 0.2 s once made (2.9 s the first time after a change, on this
//! thread), /status in 0.1-0.3 s, /resource/RES in 1-18 ms. hyper rather than
//! axum: five GET routes need no router or middleware stack, and hyper
//! (with rustls) is already in the build through the fencing crate's
//! Redfish client.
//!
//! Bounds: `MAX_CONNECTIONS` at once (more are closed at accept), a request
//! head of at most `MAX_REQUEST_HEAD` bytes read within `HEAD_TIMEOUT`, a
//! body never read, a TLS handshake within `HEAD_TIMEOUT`, and a connection
//! closed after `CONNECTION_TIMEOUT` whatever it does.

mod answer;
mod feed;
pub(super) mod metrics;
pub(super) mod snapshot;

use std::convert::Infallible;
use std::net::TcpListener as StdTcpListener;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{ALLOW, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

use super::log;
use crate::config::http::{Http, HttpTls};
pub(super) use answer::{Answer, answer};
pub(super) use feed::PendingFailover;
use snapshot::Snapshot;

/// Connections served at once; more are closed as they are accepted.
pub(super) const MAX_CONNECTIONS: usize = 64;
/// The largest request head (request line and headers) read.
pub(super) const MAX_REQUEST_HEAD: usize = 16 * 1024;
/// Time to send a request head (and to finish a TLS handshake).
pub(super) const HEAD_TIMEOUT: Duration = Duration::from_secs(5);
/// A connection is closed after this, whatever it is doing.
pub(super) const CONNECTION_TIMEOUT: Duration = Duration::from_secs(30);

type Snapshots = watch::Receiver<Option<Arc<Snapshot>>>;

/// Binds every `listen` address and loads the TLS files (a failure stops
/// the start, as a link that cannot be bound does), then serves on the
/// `http` thread until the snapshots' publisher is dropped.
pub(super) fn start(http: &Http, snapshots: Snapshots) -> anyhow::Result<JoinHandle<()>> {
    let (listeners, tls) = bind(http)?;
    std::thread::Builder::new()
        .name("http".into())
        .spawn(move || serve_thread(listeners, tls, snapshots))
        .context("cannot start the HTTP thread")
}

/// A changed `[http]` section (None: removed), applied without a restart:
/// on a thread of its own, which waits for the `old` endpoint's thread to
/// end (its publisher was dropped; its addresses are free then), binds
/// the new section's and serves. A bind that fails is logged and kept in
/// `failed` (the status says it) rather than stopping the daemon.
pub(super) fn restart(
    http: Option<Http>,
    snapshots: Option<Snapshots>,
    old: Option<JoinHandle<()>>,
    failed: Arc<Mutex<Option<String>>>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("http".into())
        .spawn(move || {
            if let Some(old) = old {
                let _ = old.join();
            }
            let set = |why: Option<String>| {
                *failed.lock().unwrap_or_else(PoisonError::into_inner) = why;
            };
            let (Some(http), Some(snapshots)) = (http, snapshots) else {
                set(None);
                return log("[http] removed from the configuration: the HTTP endpoint stopped");
            };
            match bind(&http) {
                Ok((listeners, tls)) => {
                    set(None);
                    serve_thread(listeners, tls, snapshots);
                }
                Err(e) => {
                    log(&format!(
                        "ERROR: the new [http] section is not served: {e:#}"
                    ));
                    set(Some(format!("{e:#}")));
                }
            }
        })
}

fn bind(http: &Http) -> anyhow::Result<(Vec<StdTcpListener>, Option<TlsAcceptor>)> {
    let tls = http.tls.as_ref().map(acceptor).transpose()?;
    let mut listeners = Vec::new();
    for addr in &http.listen {
        let listener = StdTcpListener::bind(addr)
            .with_context(|| format!("cannot listen for HTTP on {addr}"))?;
        listener.set_nonblocking(true)?;
        listeners.push(listener);
    }
    let scheme = if tls.is_some() { "https" } else { "http" };
    log(&format!("serving {scheme} on {:?}", http.listen));
    Ok((listeners, tls))
}

fn acceptor(files: &HttpTls) -> anyhow::Result<TlsAcceptor> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("cannot read the certificates of {}", files.cert.display()))?;
    anyhow::ensure!(
        !certs.is_empty(),
        "{} holds no certificate",
        files.cert.display()
    );
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .with_context(|| format!("cannot read the private key of {}", files.key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("the HTTP certificate and key do not fit together")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

fn serve_thread(listeners: Vec<StdTcpListener>, tls: Option<TlsAcceptor>, snapshots: Snapshots) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            return log(&format!(
                "ERROR: the HTTP endpoint cannot start its runtime: {e}"
            ));
        }
    };
    runtime.block_on(async move {
        let limit = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        let mut tasks = Vec::new();
        for listener in listeners {
            match TcpListener::from_std(listener) {
                Ok(l) => tasks.push(tokio::spawn(accept(
                    l,
                    tls.clone(),
                    snapshots.clone(),
                    limit.clone(),
                ))),
                Err(e) => log(&format!("ERROR: HTTP listener: {e}")),
            }
        }
        // The publisher dropped (the section changed or was removed): the
        // runtime, its listeners and connections go with this thread.
        let mut closed = snapshots.clone();
        let publisher_gone = async move { while closed.changed().await.is_ok() {} };
        let served = async move {
            for task in tasks {
                let _ = task.await;
            }
        };
        tokio::select! {
            _ = publisher_gone => {}
            _ = served => {}
        }
    });
}

async fn accept(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    snapshots: Snapshots,
    limit: Arc<Semaphore>,
) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of descriptors, most often: wait rather than spin.
                log(&format!("HTTP accept: {e}"));
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = limit.clone().try_acquire_owned() else {
            continue; // over the bound: dropped, so closed at once
        };
        let (tls, snapshots) = (tls.clone(), snapshots.clone());
        tokio::spawn(async move {
            let _permit = permit;
            let _ =
                tokio::time::timeout(CONNECTION_TIMEOUT, connection(stream, tls, snapshots)).await;
        });
    }
}

async fn connection(stream: TcpStream, tls: Option<TlsAcceptor>, snapshots: Snapshots) {
    let _ = stream.set_nodelay(true);
    match tls {
        None => serve(TokioIo::new(stream), snapshots).await,
        Some(acceptor) => {
            if let Ok(Ok(stream)) =
                tokio::time::timeout(HEAD_TIMEOUT, acceptor.accept(stream)).await
            {
                serve(TokioIo::new(stream), snapshots).await;
            }
        }
    }
}

async fn serve<I>(io: TokioIo<I>, snapshots: Snapshots)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
        let response = respond(&request, &snapshots);
        async move { Ok::<_, Infallible>(response) }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEAD_TIMEOUT)
        .max_buf_size(MAX_REQUEST_HEAD)
        .serve_connection(io, service)
        .await;
}

/// GET and HEAD only; the answer from the newest snapshot.
fn respond<B>(request: &Request<B>, snapshots: &Snapshots) -> Response<Full<Bytes>> {
    let a = if request.method() == Method::GET || request.method() == Method::HEAD {
        let snapshot = snapshots.borrow().clone();
        answer(request.uri().path(), snapshot.as_deref(), Instant::now())
    } else {
        Answer {
            status: 405,
            content_type: "text/plain; charset=utf-8",
            body: "read-only: GET or HEAD\n".into(),
        }
    };
    let mut response = Response::new(Full::new(Bytes::from(a.body)));
    *response.status_mut() =
        StatusCode::from_u16(a.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(a.content_type));
    if a.status == 405 {
        headers.insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
    }
    response
}
