//! The daemon's API server: one task per client connection, each request
//! handed to the event loop with the client's uid, the answer written back.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;

use crate::api::{self, Request, Response};

pub(super) fn bind_api(path: &Path) -> anyhow::Result<UnixListener> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot remove stale {}", path.display())),
    }
    let listener = UnixListener::bind(path)
        .with_context(|| format!("cannot bind API socket {}", path.display()))?;
    // Access is decided by peer credentials; the mode only lets clients connect.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666))
        .with_context(|| format!("cannot set the mode of {}", path.display()))?;
    Ok(listener)
}

pub(super) type ApiCall = (Request, u32, tokio::sync::oneshot::Sender<Response>);

pub(super) async fn serve_api(listener: UnixListener, calls: mpsc::Sender<ApiCall>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // E.g. out of file descriptors: don't spin.
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let calls = calls.clone();
        tokio::spawn(async move {
            let _ = serve_client(stream, calls).await;
        });
    }
}

async fn serve_client(stream: UnixStream, calls: mpsc::Sender<ApiCall>) -> std::io::Result<()> {
    let cred = stream.peer_cred()?;
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    BufReader::new(read).read_line(&mut line).await?;
    let response = if !api::peer_allowed(cred.uid(), cred.gid()) {
        Response::Error {
            message: format!(
                "permission denied: only root and members of group `{}` may use the API",
                api::CLIENT_GROUP
            ),
        }
    } else {
        match serde_json::from_str::<Request>(&line) {
            Err(e) => Response::Error {
                message: format!("bad request: {e}"),
            },
            Ok(request) => {
                let (tx, rx) = tokio::sync::oneshot::channel();
                if calls.send((request, cred.uid(), tx)).await.is_err() {
                    return Ok(());
                }
                match rx.await {
                    Ok(r) => r,
                    Err(_) => return Ok(()),
                }
            }
        }
    };
    let mut text = serde_json::to_string(&response).unwrap_or_default();
    text.push('\n');
    write.write_all(text.as_bytes()).await
}
