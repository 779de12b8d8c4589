//! builtin:filesystem: mount and unmount (ext4/xfs/tmpfs/bind through
//! mount(2); NFS and GlusterFS through their mount helpers), a monitor that
//! cannot hang on a stale NFS server (the checks run on a thread that is
//! abandoned at the deadline), an optional write probe, and a stop that
//! signals the processes still using the mount (TERM, then KILL).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::builtin::Outcome;
use super::rc::OcfRc;
use crate::config::parse_duration;

struct FsParams {
    device: String,
    directory: PathBuf,
    fstype: String,
    options: String,
    check_timeout: Duration,
    write_probe: bool,
}

fn parse(params: &BTreeMap<String, String>) -> Result<FsParams, Outcome> {
    let bad = |m: String| Outcome::fail(OcfRc::ERR_CONFIGURED, m);
    let get = |k: &str| params.get(k).cloned();
    let directory = get("directory")
        .ok_or_else(|| bad("parameter directory is required (the mount point)".into()))?;
    if !directory.starts_with('/') {
        return Err(bad(format!(
            "directory {directory:?} must be an absolute path"
        )));
    }
    let check_timeout = match get("check_timeout") {
        Some(t) => parse_duration(&t).map_err(|e| bad(e.to_string()))?,
        None => Duration::from_secs(10),
    };
    Ok(FsParams {
        device: get("device").ok_or_else(|| {
            bad("parameter device is required (e.g. /dev/sdb1, server:/export, tmpfs)".into())
        })?,
        directory: PathBuf::from(directory.trim_end_matches('/')),
        fstype: get("fstype").unwrap_or_else(|| "auto".into()),
        options: get("options").unwrap_or_default(),
        check_timeout,
        write_probe: matches!(get("write_probe").as_deref(), Some("true" | "1" | "yes")),
    })
}

/// Undoes the octal escapes of /proc/self/mountinfo (\040 for a space).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 4 <= b.len()
            && let Some(v) = s
                .get(i + 1..i + 4)
                .and_then(|o| u8::from_str_radix(o, 8).ok())
        {
            out.push(v);
            i += 4;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether `dir` is a mount point (reads only /proc, so it never blocks on
/// a dead server).
pub fn is_mounted(dir: &Path) -> bool {
    std::fs::read_to_string("/proc/self/mountinfo")
        .map(|t| {
            t.lines()
                .filter_map(|l| l.split(' ').nth(4))
                .any(|m| Path::new(&unescape(m)) == dir)
        })
        .unwrap_or(false)
}

fn split_options(opts: &str) -> (MsFlags, String) {
    let mut flags = MsFlags::empty();
    let mut data = Vec::new();
    for o in opts.split(',').filter(|o| !o.is_empty()) {
        match o {
            "ro" => flags |= MsFlags::MS_RDONLY,
            "rw" | "defaults" => {}
            "noatime" => flags |= MsFlags::MS_NOATIME,
            "nodiratime" => flags |= MsFlags::MS_NODIRATIME,
            "nosuid" => flags |= MsFlags::MS_NOSUID,
            "nodev" => flags |= MsFlags::MS_NODEV,
            "noexec" => flags |= MsFlags::MS_NOEXEC,
            "sync" => flags |= MsFlags::MS_SYNCHRONOUS,
            "bind" => flags |= MsFlags::MS_BIND,
            "rbind" => flags |= MsFlags::MS_BIND | MsFlags::MS_REC,
            other => data.push(other),
        }
    }
    (flags, data.join(","))
}

fn uses_helper(fstype: &str) -> bool {
    fstype.starts_with("nfs") || fstype == "glusterfs" || fstype == "cifs" || fstype == "auto"
}

/// What this node lacks to mount `fstype`: the mount helper (from which
/// Debian package) or the kernel's support for the filesystem.
fn missing_support(fstype: &str) -> Option<String> {
    let (helper, package, kernel) = match fstype {
        "nfs" => ("mount.nfs", "nfs-common", "nfs"),
        "nfs4" => ("mount.nfs4", "nfs-common", "nfs4"),
        "glusterfs" => ("mount.glusterfs", "glusterfs-client", "fuse"),
        "cifs" => ("mount.cifs", "cifs-utils", "cifs"),
        _ => return None,
    };
    let has_helper = ["/sbin", "/usr/sbin", "/bin", "/usr/bin"]
        .iter()
        .any(|d| Path::new(d).join(helper).exists());
    if !has_helper {
        return Some(format!(
            "{helper} is not installed: install {package} to mount {fstype} filesystems"
        ));
    }
    let filesystems = std::fs::read_to_string("/proc/filesystems").unwrap_or_default();
    let in_kernel = filesystems
        .lines()
        .any(|l| l.split_whitespace().last() == Some(kernel));
    // Modules load on demand on most kernels; only say so when they cannot.
    let can_load =
        Path::new("/proc/sys/kernel/modprobe").exists() && Path::new("/lib/modules").exists();
    if !in_kernel && !can_load {
        return Some(format!(
            "this kernel has no {kernel} support and cannot load modules: {fstype} cannot be mounted on this node"
        ));
    }
    None
}

fn start(p: &FsParams) -> Outcome {
    if is_mounted(&p.directory) {
        return Outcome::ok();
    }
    if let Err(e) = std::fs::create_dir_all(&p.directory) {
        return Outcome::fail(
            OcfRc::ERR_PERM,
            format!("cannot create mount point {}: {e}", p.directory.display()),
        );
    }
    if let Some(missing) = missing_support(&p.fstype) {
        // Not installed here: rc 5 keeps the resource off this node instead
        // of retrying a mount that cannot work.
        return Outcome::fail(OcfRc::ERR_INSTALLED, missing);
    }
    if uses_helper(&p.fstype) {
        let mut cmd = Command::new("mount");
        cmd.arg("-t").arg(&p.fstype);
        if !p.options.is_empty() {
            cmd.arg("-o").arg(&p.options);
        }
        cmd.arg(&p.device).arg(&p.directory);
        return match cmd.output() {
            Ok(o) if o.status.success() => Outcome::ok(),
            Ok(o) => Outcome::fail(
                OcfRc::ERR_GENERIC,
                format!(
                    "mount -t {} {} {}: {}",
                    p.fstype,
                    p.device,
                    p.directory.display(),
                    String::from_utf8_lossy(&o.stderr).trim()
                ),
            ),
            Err(e) => Outcome::fail(
                OcfRc::ERR_INSTALLED,
                format!("cannot run mount (util-linux): {e}"),
            ),
        };
    }
    let (flags, data) = split_options(&p.options);
    let fstype = (!flags.contains(MsFlags::MS_BIND)).then_some(p.fstype.as_str());
    let data = (!data.is_empty()).then_some(data.as_str());
    match mount(Some(p.device.as_str()), &p.directory, fstype, flags, data) {
        Ok(()) => Outcome::ok(),
        Err(e) => Outcome::fail(
            OcfRc::ERR_GENERIC,
            format!(
                "mounting {} ({}) on {}: {e}",
                p.device,
                p.fstype,
                p.directory.display()
            ),
        ),
    }
}

/// Runs `f` on a thread and gives up after `deadline`: a stat on a stale NFS
/// mount sleeps uninterruptibly, and only the abandoned thread is stuck.
fn within<T: Send + 'static>(
    deadline: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(deadline).ok()
}

fn monitor(p: &FsParams) -> Outcome {
    if !is_mounted(&p.directory) {
        return Outcome::fail(
            OcfRc::NOT_RUNNING,
            format!("{} is not mounted", p.directory.display()),
        );
    }
    let dir = p.directory.clone();
    let probe = p.write_probe;
    let check = within(p.check_timeout, move || -> Result<(), String> {
        std::fs::read_dir(&dir).map_err(|e| format!("listing {}: {e}", dir.display()))?;
        if probe {
            let f = dir.join(format!(".paceline-probe-{}", std::process::id()));
            std::fs::write(&f, b"probe")
                .map_err(|e| format!("write probe {}: {e}", f.display()))?;
            std::fs::File::open(&f)
                .and_then(|h| h.sync_all())
                .map_err(|e| format!("sync probe {}: {e}", f.display()))?;
            std::fs::remove_file(&f).map_err(|e| format!("removing probe {}: {e}", f.display()))?;
        }
        Ok(())
    });
    match check {
        Some(Ok(())) => Outcome::ok(),
        Some(Err(e)) => Outcome::fail(OcfRc::ERR_GENERIC, e),
        None => Outcome::fail(
            OcfRc::ERR_GENERIC,
            format!(
                "{} did not answer within {}ms (stale or hung mount)",
                p.directory.display(),
                p.check_timeout.as_millis()
            ),
        ),
    }
}

/// Processes with a cwd, root, open file or mapping under `dir`.
fn holders(dir: &Path) -> Vec<i32> {
    let me = std::process::id() as i32;
    let under = |p: &Path| p.starts_with(dir);
    let mut out = Vec::new();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in procs.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        let base = e.path();
        let mut uses = ["cwd", "root", "exe"]
            .iter()
            .any(|l| std::fs::read_link(base.join(l)).is_ok_and(|t| under(&t)));
        if !uses && let Ok(fds) = std::fs::read_dir(base.join("fd")) {
            uses = fds
                .flatten()
                .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|t| under(&t)));
        }
        if !uses && let Ok(maps) = std::fs::read_to_string(base.join("maps")) {
            uses = maps
                .lines()
                .filter_map(|l| l.split_whitespace().nth(5))
                .any(|f| under(Path::new(f)));
        }
        if uses {
            out.push(pid);
        }
    }
    out
}

fn stop(p: &FsParams) -> Outcome {
    if !is_mounted(&p.directory) {
        return Outcome::ok();
    }
    let force = if p.fstype.starts_with("nfs") {
        MntFlags::MNT_FORCE
    } else {
        MntFlags::empty()
    };
    let mut signalled = Vec::new();
    for signal in [None, Some(Signal::SIGTERM), Some(Signal::SIGKILL)] {
        if let Some(sig) = signal {
            let pids = holders(&p.directory);
            for pid in &pids {
                let _ = kill(Pid::from_raw(*pid), sig);
            }
            signalled.extend(pids.iter().map(|pid| format!("{pid}({sig:?})")));
            // Give them time to exit and release the mount.
            for _ in 0..20 {
                std::thread::sleep(Duration::from_millis(50));
                if holders(&p.directory).is_empty() {
                    break;
                }
            }
        }
        if umount2(&p.directory, force).is_ok() || !is_mounted(&p.directory) {
            return Outcome::ok();
        }
    }
    Outcome::fail(
        OcfRc::ERR_GENERIC,
        format!(
            "cannot unmount {}: still busy after signalling {}",
            p.directory.display(),
            if signalled.is_empty() {
                "nothing".into()
            } else {
                signalled.join(", ")
            }
        ),
    )
}

pub fn run(action: &str, params: &BTreeMap<String, String>) -> Outcome {
    let p = match parse(params) {
        Ok(p) => p,
        Err(o) => return o,
    };
    match action {
        "start" => start(&p),
        "stop" => stop(&p),
        "monitor" => monitor(&p),
        "validate-all" => Outcome::ok(),
        other => Outcome::fail(
            OcfRc::ERR_UNIMPLEMENTED,
            format!(
                "builtin:filesystem has no action {other:?} (start, stop, monitor, validate-all)"
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescapes_mountinfo() {
        assert_eq!(unescape("/mnt/a\\040b"), "/mnt/a b");
        assert_eq!(unescape("/plain"), "/plain");
    }

    #[test]
    fn splits_flags_from_data() {
        let (f, d) = split_options("ro,noatime,size=4m,mode=0755");
        assert!(f.contains(MsFlags::MS_RDONLY | MsFlags::MS_NOATIME));
        assert_eq!(d, "size=4m,mode=0755");
    }
}
