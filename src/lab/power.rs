//! The lab's power board, served on a unix socket so that a fence agent run
//! by a daemon inside a node's namespace can cut another node's power.
//!
//! Protocol: one request line, one answer line. `status NODE` → `on` or
//! `off`; `off NODE` → `off`; anything wrong → `error: WHY`.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

type Switch = dyn Fn(&str, Option<bool>) -> Result<bool, String> + Send + Sync;

/// What the board does: `switch(node, None)` reads the power state,
/// `switch(node, Some(on))` changes it; both answer the state after.
#[derive(Clone)]
pub struct PowerBoard {
    switch: Arc<Switch>,
}

impl std::fmt::Debug for PowerBoard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PowerBoard")
    }
}

impl PowerBoard {
    pub fn new(
        switch: impl Fn(&str, Option<bool>) -> Result<bool, String> + Send + Sync + 'static,
    ) -> Self {
        PowerBoard {
            switch: Arc::new(switch),
        }
    }

    /// Answers one request line.
    pub fn answer(&self, line: &str) -> String {
        let mut words = line.split_whitespace();
        let (verb, node) = (words.next(), words.next());
        let state = |on: bool| if on { "on" } else { "off" }.to_string();
        match (verb, node) {
            (Some("ping"), _) => "pong".to_string(),
            (Some("status"), Some(node)) => match (self.switch)(node, None) {
                Ok(on) => state(on),
                Err(e) => format!("error: {e}"),
            },
            (Some(verb @ ("off" | "on")), Some(node)) => {
                match (self.switch)(node, Some(verb == "on")) {
                    Ok(on) => state(on),
                    Err(e) => format!("error: {e}"),
                }
            }
            _ => format!("error: unknown request {line:?}; use `status NODE` or `off NODE`"),
        }
    }
}

/// Serves a board until dropped; the socket file is removed then.
#[derive(Debug)]
pub struct PowerServer {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl PowerServer {
    pub fn start(path: &Path, board: PowerBoard) -> std::io::Result<PowerServer> {
        let _ = std::fs::remove_file(path);
        let listener = UnixListener::bind(path)?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let board = board.clone();
                std::thread::spawn(move || serve_one(conn, &board));
            }
        });
        Ok(PowerServer {
            path: path.to_path_buf(),
            stop,
            thread: Some(thread),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn serve_one(conn: UnixStream, board: &PowerBoard) {
    let Ok(reader) = conn.try_clone() else { return };
    let mut line = String::new();
    if BufReader::new(reader).read_line(&mut line).is_ok() {
        let mut conn = conn;
        let _ = writeln!(conn, "{}", board.answer(line.trim()));
    }
}

impl Drop for PowerServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = UnixStream::connect(&self.path);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

/// One request to a power board socket.
pub fn request(socket: &Path, line: &str) -> std::io::Result<String> {
    let mut conn = UnixStream::connect(socket)?;
    conn.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
    writeln!(conn, "{line}")?;
    let mut answer = String::new();
    BufReader::new(conn).read_line(&mut answer)?;
    Ok(answer.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn board_answers_over_its_socket() {
        let power = Arc::new(Mutex::new(true));
        let p = Arc::clone(&power);
        let board = PowerBoard::new(move |node, on| {
            if node != "node2" {
                return Err(format!("no node {node:?}"));
            }
            let mut state = p.lock().map_err(|_| "poisoned".to_string())?;
            if let Some(on) = on {
                *state = on;
            }
            Ok(*state)
        });
        let dir = std::env::temp_dir().join(format!("paceline-power-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("power.sock");
        let server = PowerServer::start(&path, board).unwrap();
        assert_eq!(request(&path, "ping").unwrap(), "pong");
        assert_eq!(request(&path, "status node2").unwrap(), "on");
        assert_eq!(request(&path, "off node2").unwrap(), "off");
        assert_eq!(request(&path, "status node2").unwrap(), "off");
        assert!(
            request(&path, "off node9")
                .unwrap()
                .starts_with("error: no node")
        );
        assert!(
            request(&path, "dance")
                .unwrap()
                .starts_with("error: unknown request")
        );
        drop(server);
        assert!(!path.exists(), "socket removed when the server stops");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
