//! Disk faults (issue 21 item 6) on real daemons in network namespaces:
//! node2's state directory is a small tmpfs that fills up while the
//! cluster runs. Its next write of the cluster's document fails: node2
//! says so plainly (ENOSPC, the directory named) and stops without
//! leaving, so node1 counts it lost (that nothing after the failed write
//! is sent is `daemon::cluster`'s unit test). Needs root, iproute2
//! and tmpfs; skipped with a message otherwise. And a slow disk: node2's
//! state directory on a FUSE filesystem whose fsync takes a second
//! (`netns/slowfs.py`, Debian's python3-fusepy), where node2 must not look
//! dead to node1.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[path = "netns/mod.rs"]
mod netns;
use netns::{Cluster, can_run, paceline, report};

/// Unmounts the tmpfs when the test ends, however it ends (lazily: the
/// daemon may still hold a file there).
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(dir).ok()?;
        let ok = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(dir.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// How long a wait may take before the test fails (it only ends a hung test).
const WAIT: Duration = Duration::from_secs(30);

/// Fills the filesystem of `dir` until a write fails with ENOSPC.
fn fill(dir: &Path) {
    let mut f = std::fs::File::create(dir.join("filler")).unwrap();
    let chunk = vec![0u8; 4096];
    loop {
        match f.write_all(&chunk).and_then(|()| f.sync_all()) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::StorageFull => return,
            Err(e) => panic!("filling {}: {e}", dir.display()),
        }
    }
}

#[test]
fn a_full_state_directory_is_reported_and_the_node_acts_on_nothing_it_did_not_write() {
    disk_fault(fill, "is full: ENOSPC");
}

/// The same with the state directory turned read-only under the daemon.
#[test]
fn a_read_only_state_directory_is_reported() {
    disk_fault(
        |dir| {
            let ok = Command::new("mount")
                .args(["-o", "remount,ro"])
                .arg(dir)
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "remount {} read-only", dir.display());
        },
        "read-only filesystem: EROFS",
    );
}

/// Forms two nodes with node2's state directory on a small tmpfs, breaks
/// it with `fault`, makes node2 write, and checks it says `said` and
/// stops, and that node1 counts it lost.
fn disk_fault(fault: impl Fn(&Path), said: &str) {
    if !can_run() {
        return;
    }
    let mut c = Cluster::new(2, ("200ms", "1s"));
    c.append_config("[fencing]\nenabled = false\n");
    let Some(_tmpfs) = Tmpfs::mount(&c.dir.join("state2"), "2m") else {
        eprintln!("skipping: cannot mount a tmpfs here");
        return;
    };
    c.start(1);
    c.start(2);
    c.until("two members, node1 DC", WAIT, || {
        [1, 2].iter().all(|&i| {
            report(&c, i).is_some_and(|r| {
                r.membership.members.len() == 2
                    && r.dc.as_deref() == Some("node1")
                    && r.membership.quorum.quorate
            })
        })
    });
    c.until("node2's document written", WAIT, || {
        c.dir.join("state2/cluster.json").exists()
    });
    fault(&c.dir.join("state2"));
    // A configuration change makes node2 write (if a status patch did not
    // already). Its outcome depends on when node2 stops: without fencing
    // a lone node1 takes it alone, as documented.
    let file = c.dir.join("change.toml");
    let show = paceline(&["configure", "show"], &c.socket(1));
    let text = String::from_utf8_lossy(&show.stdout).to_string();
    std::fs::write(
        &file,
        format!("{text}\n# written while node2's disk is full\n"),
    )
    .unwrap();
    let _ = paceline(&["configure", "load", file.to_str().unwrap()], &c.socket(1));
    assert!(c.exited_within(2, Duration::from_secs(10)), "{}", c.log(2));
    let log2 = c.log(2);
    assert!(
        log2.contains(said) && log2.contains("state2"),
        "said plainly:\n{log2}"
    );
    c.until("node1 alone", WAIT, || {
        report(&c, 1).is_some_and(|r| r.membership.members == ["node1"])
    });
}

/// A passthrough FUSE filesystem over `backing` at `mountpoint` whose every
/// fsync (files and directories) takes `seconds` (`netns/slowfs.py`);
/// unmounted and stopped when dropped, however the test ends.
struct SlowFs {
    child: Child,
    mountpoint: PathBuf,
    /// The number of fsyncs it delayed so far, rewritten after each.
    counter: PathBuf,
}

/// The Debian python the FUSE script needs (with python3-fusepy).
const PYTHON: &str = "/usr/bin/python3";

impl SlowFs {
    fn mount(dir: &Path, seconds: &str) -> Result<SlowFs, String> {
        let has_fusepy = Command::new(PYTHON)
            .args(["-c", "import fusepy"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !has_fusepy || !Path::new("/dev/fuse").exists() {
            return Err(format!(
                "needs /dev/fuse and {PYTHON} with fusepy (Debian's python3-fusepy)"
            ));
        }
        let backing = dir.with_extension("backing");
        std::fs::create_dir_all(&backing).map_err(|e| e.to_string())?;
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/netns/slowfs.py");
        let child = Command::new(PYTHON)
            .arg(script)
            .arg(&backing)
            .arg(dir)
            .arg(seconds)
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| e.to_string())?;
        let fs = SlowFs {
            child,
            mountpoint: dir.to_path_buf(),
            counter: backing.with_file_name("slowfs.count"),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !fs.mounted() {
            if Instant::now() > deadline {
                return Err(format!("{} was not mounted within 10 s", dir.display()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(fs)
    }

    fn mounted(&self) -> bool {
        std::fs::read_to_string("/proc/self/mounts").is_ok_and(|m| {
            m.lines()
                .any(|l| l.split(' ').nth(1) == self.mountpoint.to_str() && l.contains("fuse"))
        })
    }

    fn delayed_fsyncs(&self) -> u64 {
        std::fs::read_to_string(&self.counter)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for SlowFs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(&self.mountpoint)
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Issue 21 item 6 on a real slow disk: node2's state directory is on a
/// filesystem whose fsync takes a second, as a busy database server's
/// disk can. Configuration changes (each written and fsynced by both
/// nodes before it is acknowledged) keep node2's writer busy; node2
/// writes them all, says its disk is slow, and node1 never loses it: the
/// writes are off the event loop that sends heartbeats (token 1 s, the
/// default, no more than one fsync).
#[test]
fn a_one_second_fsync_does_not_make_the_node_look_dead() {
    if !can_run() {
        return;
    }
    let mut c = Cluster::new(2, ("200ms", "1s"));
    c.append_config("[fencing]\nenabled = false\n");
    let slow = match SlowFs::mount(&c.dir.join("state2"), "1") {
        Ok(fs) => fs,
        Err(why) => {
            eprintln!("skipping: {why}");
            return;
        }
    };
    c.start(1);
    c.start(2);
    let view = c.agree(&[1, 2], &["node1", "node2"]);
    let before = slow.delayed_fsyncs();
    for n in 0..4 {
        let out = paceline(
            &[
                "node",
                "attribute",
                "set",
                "node1",
                "slow-disk",
                &n.to_string(),
            ],
            &c.socket(1),
        );
        assert!(
            out.status.success(),
            "change {n}: {}\n--- node2\n{}",
            String::from_utf8_lossy(&out.stderr),
            c.log(2)
        );
    }
    let delayed = slow.delayed_fsyncs() - before;
    assert!(
        delayed >= 4,
        "node2 fsynced {delayed} times on the slow disk"
    );
    for i in [1, 2] {
        let now = c.status(i).expect("answers");
        assert_eq!(
            (now.members.len(), now.view_id),
            (2, view.view_id),
            "node{i}'s view changed under node2's slow fsyncs\n--- node1\n{}\n--- node2\n{}",
            c.log(1),
            c.log(2)
        );
    }
    assert!(!c.log(1).contains("node node2 lost"), "{}", c.log(1));
    assert!(c.log(2).contains("the disk is slow"), "{}", c.log(2));
}
