//! The daemon's API server: one task per client connection, each request
//! handed to the event loop with the client's uid, the answer written back.
//!
//! The socket is the daemon's only local door, so everything a local user
//! can do to it is bounded (ARCHITECTURE.md, "The local API: who may do
//! what"): the peer's credentials are checked on accept, before a byte is
//! read; the request line is capped (by role) and must arrive within
//! `IDLE_TIMEOUT`; connections are capped in total and per uid, so neither
//! one user nor many can take the daemon's descriptors.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;

use crate::api::{self, Request, Response, Role};

/// The longest request line of the write role: a configuration at its
/// cap (`config::MAX_CONFIG_BYTES`) with room for its JSON escapes (a
/// newline or a quote takes two bytes; TOML allows no other control
/// character).
pub const MAX_LINE_WRITE_BYTES: usize = 2 * crate::config::MAX_CONFIG_BYTES + (64 << 10);
/// The longest request line of the read role (`status`, `report`).
pub const MAX_LINE_READ_BYTES: usize = 4 << 10;
/// How long a client may take to send its request line; an answer that
/// the client does not read within it is dropped too.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections of non-root users, all together.
pub const MAX_CONNECTIONS: usize = 256;
/// Connections of one non-root user.
pub const MAX_CONNECTIONS_PER_UID: usize = 32;
/// Connections of root (operators' waits on dispatches and fences).
pub const MAX_ROOT_CONNECTIONS: usize = 128;

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
    restrict_socket(path)?;
    Ok(listener)
}

/// root:haclient 0660 (Pacemaker's own sockets' owners): only the users
/// the credential check lets in can connect at all; 0600 without the group.
fn restrict_socket(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let group = nix::unistd::Group::from_name(api::CLIENT_GROUP)
        .ok()
        .flatten();
    let mode = match &group {
        Some(g) => {
            nix::unistd::chown(path, None, Some(g.gid))
                .with_context(|| format!("cannot give {} to group {}", path.display(), g.name))?;
            0o660
        }
        None => 0o600,
    };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot set the mode of {}", path.display()))
}

pub(super) type ApiCall = (Request, u32, tokio::sync::oneshot::Sender<Response>);

pub(super) async fn serve_api(listener: UnixListener, calls: mpsc::Sender<ApiCall>) {
    let limits = Arc::new(Mutex::new(Connections::default()));
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // E.g. out of file descriptors: don't spin.
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let Some((uid, role, permit)) = admit(&stream, &limits) else {
            continue;
        };
        let calls = calls.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let _ = serve_client(stream, uid, role, calls).await;
        });
    }
}

/// The peer's uid, role and connection permit, or None (the peer is told
/// why and the connection closed) before anything is read.
fn admit(stream: &UnixStream, limits: &Arc<Mutex<Connections>>) -> Option<(u32, Role, Permit)> {
    let cred = stream.peer_cred().ok()?;
    let Some(role) = api::role_of(cred.uid(), cred.gid()) else {
        refuse(
            stream,
            &format!(
                "permission denied: only root and members of group `{}` may use the API",
                api::CLIENT_GROUP
            ),
        );
        return None;
    };
    match Permit::take(limits, cred.uid()) {
        Ok(permit) => Some((cred.uid(), role, permit)),
        Err(why) => {
            refuse(stream, &why);
            None
        }
    }
}

/// Tells a refused peer why, without waiting for it (the line fits in the
/// socket buffer; a peer that does not read it loses nothing).
fn refuse(stream: &UnixStream, message: &str) {
    let response = Response::Error {
        message: message.to_string(),
    };
    let mut text = serde_json::to_string(&response).unwrap_or_default();
    text.push('\n');
    let _ = stream.try_write(text.as_bytes());
}

/// Open connections by uid.
#[derive(Default)]
struct Connections {
    by_uid: HashMap<u32, usize>,
    non_root: usize,
}

/// One admitted connection; dropping it frees its place.
struct Permit {
    limits: Arc<Mutex<Connections>>,
    uid: u32,
}

impl Permit {
    fn take(limits: &Arc<Mutex<Connections>>, uid: u32) -> Result<Permit, String> {
        let mut c = limits.lock().unwrap_or_else(|e| e.into_inner());
        let mine = c.by_uid.get(&uid).copied().unwrap_or(0);
        if uid == 0 && mine >= MAX_ROOT_CONNECTIONS {
            return Err(format!(
                "too many connections from root ({MAX_ROOT_CONNECTIONS} open)"
            ));
        }
        if uid != 0 && mine >= MAX_CONNECTIONS_PER_UID {
            return Err(format!(
                "too many connections from uid {uid} ({MAX_CONNECTIONS_PER_UID} open)"
            ));
        }
        if uid != 0 && c.non_root >= MAX_CONNECTIONS {
            return Err(format!(
                "too many connections from users other than root ({MAX_CONNECTIONS} open)"
            ));
        }
        c.by_uid.insert(uid, mine + 1);
        if uid != 0 {
            c.non_root += 1;
        }
        Ok(Permit {
            limits: Arc::clone(limits),
            uid,
        })
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut c = self.limits.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = c.by_uid.get_mut(&self.uid) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                c.by_uid.remove(&self.uid);
            }
        }
        if self.uid != 0 {
            c.non_root = c.non_root.saturating_sub(1);
        }
    }
}

async fn serve_client(
    stream: UnixStream,
    uid: u32,
    role: Role,
    calls: mpsc::Sender<ApiCall>,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let request = match read_request(read, role).await {
        Ok(line) => parse_off_the_loop(line).await,
        Err(message) => Err(message),
    };
    let response = match request {
        Err(message) => Response::Error { message },
        Ok(request) if request.role() > role => Response::Error {
            message: format!(
                "permission denied: `{}` changes the cluster and needs root; members of group `{}` may read the status only",
                request.name(),
                api::CLIENT_GROUP
            ),
        },
        Ok(request) => {
            let (tx, rx) = tokio::sync::oneshot::channel();
            if calls.send((request, uid, tx)).await.is_err() {
                return Ok(());
            }
            match rx.await {
                Ok(r) => r,
                Err(_) => return Ok(()),
            }
        }
    };
    let mut text = serde_json::to_string(&response).unwrap_or_default();
    text.push('\n');
    match tokio::time::timeout(IDLE_TIMEOUT, write.write_all(text.as_bytes())).await {
        Ok(written) => written,
        Err(_) => Ok(()),
    }
}

/// Parses a request line and checks a configuration it carries on a
/// blocking thread: this task shares the event loop's thread (the runtime
/// has one), and a megabyte of JSON and TOML would hold the heartbeats up.
/// The loop takes a configuration it is handed as checked. A configuration
/// load gets `config check`'s checks, agents' meta-data on this node
/// included (the loop could not wait on the agents).
async fn parse_off_the_loop(line: Vec<u8>) -> Result<Request, String> {
    let parse = move || {
        let request =
            serde_json::from_slice::<Request>(&line).map_err(|e| format!("bad request: {e}"))?;
        if let Request::ConfigLoad {
            text, file_name, ..
        } = &request
        {
            let agents = crate::executor::installed::InstalledAgents::default();
            crate::config::load_new_config(text, file_name, &agents).map_err(|e| e.to_string())?;
        }
        Ok(request)
    };
    tokio::task::spawn_blocking(parse)
        .await
        .unwrap_or_else(|e| Err(format!("internal: the request's check failed: {e}")))
}

/// Reads one request line, at most the role's length, within the timeout.
async fn read_request(
    read: tokio::net::unix::OwnedReadHalf,
    role: Role,
) -> Result<Vec<u8>, String> {
    let max = match role {
        Role::Read => MAX_LINE_READ_BYTES,
        Role::Write => MAX_LINE_WRITE_BYTES,
    };
    let mut limited = BufReader::new(read.take(max as u64 + 1));
    let mut line = Vec::new();
    match tokio::time::timeout(IDLE_TIMEOUT, limited.read_until(b'\n', &mut line)).await {
        Err(_) => return Err(format!("no request within {IDLE_TIMEOUT:?}")),
        Ok(Err(e)) => return Err(format!("cannot read the request: {e}")),
        Ok(Ok(_)) => {}
    }
    if line.len() > max {
        return Err(format!("request longer than {max} bytes"));
    }
    Ok(line)
}
