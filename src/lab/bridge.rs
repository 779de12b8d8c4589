//! TCP from inside a lab namespace to a service on this machine's loopback
//! (the BMC emulators listen on 127.0.0.1 only): a listener bound inside
//! the node's namespace forwards every connection to the host side.
//! Network namespaces are per thread, so the listening thread enters the
//! node's namespace and each connecting thread the host's.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use nix::sched::{CloneFlags, setns};

/// Forwards until dropped.
#[derive(Debug)]
pub struct TcpBridge {
    listen: SocketAddr,
    namespace: String,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

fn enter(ns: &File) -> std::io::Result<()> {
    setns(ns, CloneFlags::CLONE_NEWNET).map_err(std::io::Error::from)
}

impl TcpBridge {
    /// Listens on `listen` inside namespace `ns` and connects each client to
    /// `upstream` in this process's own (host) namespace.
    pub fn start(ns: &str, listen: SocketAddr, upstream: SocketAddr) -> std::io::Result<TcpBridge> {
        let host_ns = Arc::new(File::open("/proc/self/ns/net")?);
        let node_ns = File::open(Path::new("/run/netns").join(ns))?;
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let stopping = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let listener = match enter(&node_ns).and_then(|()| TcpListener::bind(listen)) {
                Ok(l) => {
                    let _ = ready_tx.send(Ok(()));
                    l
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            for conn in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = conn else { continue };
                let host_ns = Arc::clone(&host_ns);
                std::thread::spawn(move || {
                    if enter(&host_ns).is_err() {
                        return;
                    }
                    if let Ok(server) = TcpStream::connect(upstream) {
                        pump(client, server);
                    }
                });
            }
        });
        ready_rx
            .recv()
            .map_err(|_| std::io::Error::other("bridge thread ended early"))??;
        Ok(TcpBridge {
            listen,
            namespace: ns.to_string(),
            stop,
            thread: Some(thread),
        })
    }
}

/// Copies both ways until either side closes.
fn pump(client: TcpStream, server: TcpStream) {
    let (Ok(client2), Ok(server2)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let up = std::thread::spawn(move || copy(client2, server2));
    copy(server, client);
    let _ = up.join();
}

fn copy(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

impl Drop for TcpBridge {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop from inside the namespace it listens in.
        let listen = self.listen;
        let woken = File::open(Path::new("/run/netns").join(&self.namespace))
            .ok()
            .and_then(|ns| {
                std::thread::spawn(move || enter(&ns).is_ok() && TcpStream::connect(listen).is_ok())
                    .join()
                    .ok()
            })
            .unwrap_or(false);
        // Without the wake-up the accept loop never returns: leave it.
        if woken && let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
