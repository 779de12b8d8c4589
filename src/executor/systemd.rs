//! The systemd class: units started and stopped through systemd's D-Bus API
//! (StartUnit/StopUnit, waiting for the job's JobRemoved signal), monitored
//! by ActiveState/SubState. The bus is the system bus, or the address in
//! `PACELINE_SYSTEMD_BUS` (tests run a double on a private bus).

use std::time::Duration;

use futures_util::StreamExt;
use zbus::zvariant::OwnedObjectPath;
use zbus::{Connection, proxy};

use super::builtin::Outcome;
use super::rc::OcfRc;

pub const BUS_ENV: &str = "PACELINE_SYSTEMD_BUS";

#[proxy(
    interface = "org.freedesktop.systemd1.Manager",
    default_service = "org.freedesktop.systemd1",
    default_path = "/org/freedesktop/systemd1"
)]
trait Manager {
    fn subscribe(&self) -> zbus::Result<()>;
    fn load_unit(&self, name: &str) -> zbus::Result<OwnedObjectPath>;
    fn start_unit(&self, name: &str, mode: &str) -> zbus::Result<OwnedObjectPath>;
    fn stop_unit(&self, name: &str, mode: &str) -> zbus::Result<OwnedObjectPath>;
    #[zbus(signal)]
    fn job_removed(
        &self,
        id: u32,
        job: zbus::zvariant::ObjectPath<'_>,
        unit: &str,
        result: &str,
    ) -> zbus::Result<()>;
}

#[proxy(
    interface = "org.freedesktop.systemd1.Unit",
    default_service = "org.freedesktop.systemd1"
)]
trait Unit {
    #[zbus(property)]
    fn active_state(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn sub_state(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn load_state(&self) -> zbus::Result<String>;
}

fn err(e: impl std::fmt::Display) -> Outcome {
    Outcome::fail(OcfRc::ERR_GENERIC, format!("systemd D-Bus: {e}"))
}

/// Unit names without a suffix are services, as in Pacemaker.
fn unit_name(kind: &str) -> String {
    if kind.contains('.') {
        kind.to_string()
    } else {
        format!("{kind}.service")
    }
}

pub fn run(kind: &str, action: &str, timeout: Duration) -> Outcome {
    if action == "notify" {
        // A unit has no use for clone notifications (as in Pacemaker).
        return Outcome::ok();
    }
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return err(e),
    };
    let unit = unit_name(kind);
    rt.block_on(async move {
        match tokio::time::timeout(timeout, act(&unit, action)).await {
            Ok(Ok(o) | Err(o)) => o,
            Err(_) => Outcome::fail(OcfRc::ERR_GENERIC, format!("{action} of {unit} timed out")),
        }
    })
}

async fn connect() -> Result<Connection, Outcome> {
    match std::env::var(BUS_ENV) {
        Ok(addr) => zbus::connection::Builder::address(addr.as_str())
            .map_err(err)?
            .build()
            .await
            .map_err(err),
        Err(_) => Connection::system().await.map_err(err),
    }
}

async fn state(
    conn: &Connection,
    m: &ManagerProxy<'_>,
    unit: &str,
) -> Result<(String, String, String), Outcome> {
    let path = m.load_unit(unit).await.map_err(err)?;
    let u = UnitProxy::builder(conn)
        .path(path)
        .map_err(err)?
        .build()
        .await
        .map_err(err)?;
    Ok((
        u.load_state().await.map_err(err)?,
        u.active_state().await.map_err(err)?,
        u.sub_state().await.map_err(err)?,
    ))
}

async fn act(unit: &str, action: &str) -> Result<Outcome, Outcome> {
    let conn = connect().await?;
    let m = ManagerProxy::new(&conn).await.map_err(err)?;
    let (load, active, sub) = state(&conn, &m, unit).await?;
    if load == "not-found" {
        return Ok(match action {
            "stop" => Outcome::ok(),
            "monitor" => Outcome::fail(OcfRc::NOT_RUNNING, format!("{unit} does not exist")),
            _ => Outcome::fail(
                OcfRc::ERR_INSTALLED,
                format!("unit {unit} is not installed"),
            ),
        });
    }
    match action {
        "monitor" | "status" => Ok(match active.as_str() {
            "active" | "reloading" => Outcome::ok(),
            "failed" => Outcome::fail(OcfRc::NOT_RUNNING, format!("{unit} failed ({sub})")),
            _ => Outcome::fail(OcfRc::NOT_RUNNING, format!("{unit} is {active} ({sub})")),
        }),
        "start" | "stop" => {
            m.subscribe().await.map_err(err)?;
            let mut removed = m.receive_job_removed().await.map_err(err)?;
            let job = if action == "start" {
                m.start_unit(unit, "replace").await
            } else {
                m.stop_unit(unit, "replace").await
            }
            .map_err(err)?;
            let result = loop {
                let Some(sig) = removed.next().await else {
                    return Err(err("bus closed before the job finished"));
                };
                let Ok(args) = sig.args() else { continue };
                if args.job().as_str() == job.as_str() {
                    break args.result().to_string();
                }
            };
            let (_, active, sub) = state(&conn, &m, unit).await?;
            let ok = if action == "start" {
                result == "done" && active == "active"
            } else {
                active != "active"
            };
            Ok(if ok {
                Outcome::ok()
            } else {
                Outcome::fail(
                    OcfRc::ERR_GENERIC,
                    format!("{action} of {unit}: job {result}, unit {active} ({sub})"),
                )
            })
        }
        other => Ok(Outcome::fail(
            OcfRc::ERR_UNIMPLEMENTED,
            format!("systemd units have no action {other:?} (start, stop, monitor)"),
        )),
    }
}
