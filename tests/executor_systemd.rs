//! The systemd class. This machine's test runs against a TEST DOUBLE of
//! systemd's Manager/Unit D-Bus API served on a private bus
//! (`dbus-daemon --session` started by the test), because the CI machine runs
//! no systemd (/run/systemd/system is absent). The executor reaches it
//! through PACELINE_SYSTEMD_BUS; against a real systemd it uses the system bus.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use paceline::executor::ocf::{AgentId, OcfAction, OcfRunner};
use zbus::object_server::SignalEmitter;
use zbus::zvariant::{ObjectPath, OwnedObjectPath};

type States = Arc<Mutex<HashMap<String, (String, String)>>>;

struct Manager {
    units: States,
    next_job: u32,
}

fn unit_path(name: &str) -> OwnedObjectPath {
    let esc: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_string()
            } else {
                format!("_{:02x}", c as u32)
            }
        })
        .collect();
    OwnedObjectPath::try_from(format!("/org/freedesktop/systemd1/unit/{esc}")).unwrap()
}

struct Unit {
    name: String,
    units: States,
}

#[zbus::interface(name = "org.freedesktop.systemd1.Unit")]
impl Unit {
    #[zbus(property)]
    fn active_state(&self) -> String {
        self.units
            .lock()
            .unwrap()
            .get(&self.name)
            .map(|s| s.0.clone())
            .unwrap_or("inactive".into())
    }
    #[zbus(property)]
    fn sub_state(&self) -> String {
        self.units
            .lock()
            .unwrap()
            .get(&self.name)
            .map(|s| s.1.clone())
            .unwrap_or("dead".into())
    }
    #[zbus(property)]
    fn load_state(&self) -> String {
        if self.name.starts_with("missing") {
            "not-found".into()
        } else {
            "loaded".into()
        }
    }
}

#[zbus::interface(name = "org.freedesktop.systemd1.Manager")]
impl Manager {
    fn subscribe(&self) {}

    async fn load_unit(
        &self,
        #[zbus(object_server)] server: &zbus::ObjectServer,
        name: String,
    ) -> OwnedObjectPath {
        let path = unit_path(&name);
        let _ = server
            .at(
                &path,
                Unit {
                    name,
                    units: self.units.clone(),
                },
            )
            .await;
        path
    }

    async fn start_unit(
        &mut self,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
        name: String,
        _mode: String,
    ) -> OwnedObjectPath {
        let state = if name.starts_with("broken") {
            ("failed", "failed", "failed")
        } else {
            ("active", "running", "done")
        };
        self.job(e, name, state)
    }

    async fn stop_unit(
        &mut self,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
        name: String,
        _mode: String,
    ) -> OwnedObjectPath {
        self.job(e, name, ("inactive", "dead", "done"))
    }

    #[zbus(signal)]
    async fn job_removed(
        e: &SignalEmitter<'_>,
        id: u32,
        job: ObjectPath<'_>,
        unit: &str,
        result: &str,
    ) -> zbus::Result<()>;
}

impl Manager {
    /// Like systemd: the job path is returned at once; the state changes and
    /// JobRemoved is signalled when the job completes, a little later.
    fn job(
        &mut self,
        e: SignalEmitter<'_>,
        name: String,
        (active, sub, result): (&'static str, &'static str, &'static str),
    ) -> OwnedObjectPath {
        self.next_job += 1;
        let id = self.next_job;
        let job = OwnedObjectPath::try_from(format!("/org/freedesktop/systemd1/job/{id}")).unwrap();
        let (units, e, j) = (self.units.clone(), e.to_owned(), job.clone());
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            units
                .lock()
                .unwrap()
                .insert(name.clone(), (active.into(), sub.into()));
            let _ = Manager::job_removed(&e, id, j.as_ref(), &name, result).await;
        });
        job
    }
}

struct Bus(Child);
impl Drop for Bus {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn systemd_units_against_a_dbus_test_double() {
    let Ok(mut child) = Command::new("dbus-daemon")
        .args(["--session", "--nofork", "--print-address"])
        .stdout(Stdio::piped())
        .spawn()
    else {
        eprintln!("SKIP: dbus-daemon is not installed (package dbus-daemon)");
        return;
    };
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _bus = Bus(child);
    let addr = line.trim().to_string();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let a2 = addr.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let m = Manager {
                units: Arc::default(),
                next_job: 0,
            };
            let _conn = zbus::connection::Builder::address(a2.as_str())
                .unwrap()
                .name("org.freedesktop.systemd1")
                .unwrap()
                .serve_at("/org/freedesktop/systemd1", m)
                .unwrap()
                .build()
                .await
                .unwrap();
            ready_tx.send(()).unwrap();
            std::future::pending::<()>().await;
        });
    });
    ready_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    // SAFETY of the test: set before any executor thread reads it.
    unsafe { std::env::set_var(paceline::executor::systemd::BUS_ENV, &addr) };

    let tmp = std::env::temp_dir().join(format!("plx{}-sd", std::process::id()));
    let r = OcfRunner::new("/usr/lib/ocf", &tmp);
    let run = |unit: &str, action: &str| {
        let mut a = OcfAction::new(
            "w",
            AgentId::parse(&format!("systemd:{unit}")).unwrap(),
            action,
        );
        a.timeout = Duration::from_secs(10);
        r.run(&a)
    };
    assert_eq!(run("worker", "monitor").rc.0, 7);
    let s = run("worker", "start");
    assert_eq!(s.rc.0, 0, "{s:?}");
    assert_eq!(run("worker.service", "monitor").rc.0, 0);
    assert_eq!(run("worker", "stop").rc.0, 0);
    assert_eq!(run("worker", "monitor").rc.0, 7);
    let m = run("missing", "start");
    assert_eq!((m.rc.0, m.meaning), (5, "not installed"), "{m:?}");
    let b = run("broken", "start");
    assert_eq!(b.rc.0, 1, "{b:?}");
    assert!(b.exit_reason.unwrap().contains("failed"));
    let _ = std::fs::remove_dir_all(tmp);
}
