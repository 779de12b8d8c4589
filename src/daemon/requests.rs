//! Requests: the local API's answers, and configuration changes (a
//! client's, a member's forwarded to this DC, the DC's own expiring
//! constraints) followed until the node core says they are durable.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::logging::{Fields, Priority};
use super::{CONFIG_REQUEST_TIMEOUT, Daemon, ReplyTo, driver, log, log_about};

/// How long a member waits for the DC's answer to a `SettledQuery`
/// before it answers its client "not settled" (the client asks again).
pub(super) const SETTLED_QUERY_TIMEOUT: Duration = Duration::from_secs(5);
use crate::api::{self, Request, Response};
use crate::controller::StatusPatch;
use crate::membership::Unblock;
use crate::node::protocol::ClusterMessage;
use crate::store::Version;

impl Daemon {
    /// The DC removes move/ban constraints whose `--lifetime` is over.
    pub(super) async fn expire_constraints(&mut self) {
        if !self.store.is_dc() || self.replies.values().any(|r| matches!(r, ReplyTo::Log(_))) {
            return;
        }
        // From the loaded model: the text is parsed only when something
        // expired, not every second (it held the loop with thousands of
        // resources).
        let Some(loaded) = self.store.loaded() else {
            return;
        };
        let ids = loaded.model.locations.iter().map(|l| l.id.as_str());
        let expired = crate::config::edit::expired_among(ids, driver::wall_now());
        if expired.is_empty() {
            return;
        }
        let doc = self.store.doc();
        let (version, text) = (doc.version, doc.config.clone());
        // The model may be of an older text still loading: nothing to do
        // when this one no longer has them.
        let Ok(edited) = crate::config::edit::remove_constraints(&text, &expired) else {
            return;
        };
        if edited == text {
            return;
        }
        let what = format!("lifetime over: removing {}", expired.join(", "));
        log(&what);
        let id = self.new_request(ReplyTo::Log(what));
        let effects = self
            .store
            .request_config(self.now_ms(), id, version, edited);
        self.apply_store(effects).await;
    }

    pub(super) fn new_request(&mut self, to: ReplyTo) -> u64 {
        let id = self.next_request;
        self.next_request += 1;
        self.replies.insert(id, to);
        id
    }

    pub(super) async fn finish_request(&mut self, request: u64, result: Result<Version, String>) {
        if let (Some(by), Ok(version)) = (self.loads_by.remove(&request), &result) {
            self.last_change = Some(api::LastChange {
                at: driver::wall_now(),
                epoch: version.epoch,
                by: Some(by),
            });
        }
        match self.replies.remove(&request) {
            Some(ReplyTo::Client {
                reply,
                accepted: Some(what),
                ..
            }) => {
                let _ = reply.send(match result {
                    Ok(_) => Response::Accepted { what },
                    Err(message) => Response::Error { message },
                });
            }
            Some(ReplyTo::Client { reply, .. }) => {
                let _ = reply.send(match result {
                    Ok(version) => Response::ConfigApplied {
                        version,
                        warning: self.store.unguaranteed().inspect(|w| log(w)),
                    },
                    Err(message) => Response::Error { message },
                });
            }
            Some(ReplyTo::Member { node, request }) => {
                let reply = ClusterMessage::ConfigReply { request, result };
                self.send_cluster(node, &reply).await;
            }
            Some(ReplyTo::Settled { reply, .. }) => {
                let _ = reply.send(Response::Settled {
                    idle: result.is_ok(),
                });
            }
            Some(ReplyTo::Log(what)) => match result {
                Ok(v) => log(&format!("{what}: applied at epoch {}", v.epoch)),
                Err(e) => log(&format!("{what}: not applied ({e}); retried later")),
            },
            None => {}
        }
    }

    pub(super) async fn answer(
        &mut self,
        request: Request,
        uid: u32,
        reply: tokio::sync::oneshot::Sender<Response>,
    ) {
        if super::logging::enabled(Priority::Debug) {
            log_about(
                Priority::Debug,
                &Fields::default(),
                &format!(
                    "api: {} request from {}",
                    request.name(),
                    api::user_name(uid)
                ),
            );
        }
        if let Request::ConfigLoad { text, based_on, .. } = request {
            let by = api::user_name(uid);
            if let Some(id) = self.config_load(text, based_on, reply).await {
                self.loads_by.insert(id, by);
            }
            return;
        }
        if let Request::Dispatch {
            action: mut request,
        } = request
        {
            request.id = self.next_dispatch;
            self.next_dispatch += 1;
            if self.node_id(&request.node).is_none() {
                let _ = reply.send(Response::Error {
                    message: format!("no node `{}` in the configuration", request.node),
                });
                return;
            }
            // The agent's own timeout, plus time for the trip there and back.
            let deadline = Instant::now()
                + Duration::from_millis(request.timeout_ms.max(20_000))
                + Duration::from_secs(10);
            self.dispatch_waiters.insert(request.id, (reply, deadline));
            self.execute(request).await;
            return;
        }
        if let Request::Fence { target, action } = request {
            if self.node_id(&target).is_none() {
                let _ = reply.send(Response::Error {
                    message: format!("no node `{target}` in the configuration"),
                });
                return;
            }
            log(&format!(
                "fencing of {target} ({action}) requested by {}",
                api::user_name(uid)
            ));
            let first = !self.fence_waiters.contains_key(&target);
            self.fence_waiters
                .entry(target.clone())
                .or_default()
                .push(reply);
            if first {
                self.fence(crate::controller::FenceRequest {
                    target,
                    action,
                    target_has_priority: false,
                });
            }
            return;
        }
        if let Request::Cleanup { resource, node } = request {
            let what = format!(
                "failures of {resource} on {} are forgotten (committed by a quorum)",
                node.as_deref().unwrap_or("every node")
            );
            let patch = StatusPatch::Cleanup { resource, node };
            self.status_change(patch, what, reply).await;
            return;
        }
        if let Request::Ticket { ticket, .. } = &request
            && self
                .settings
                .site
                .as_ref()
                .is_some_and(|s| s.tickets.contains(ticket))
        {
            let _ = reply.send(Response::Error {
                message: format!(
                    "ticket {ticket} is granted through etcd ([site] tickets): its site's DC grants and revokes it"
                ),
            });
            return;
        }
        if matches!(request, Request::Ticket { .. }) && self.machine.protocol_version() < 5 {
            // Release 0.1.0 (version 4) cannot read a ticket's patch.
            let message = crate::node::site_tickets::manual_refusal(&self.older_than_5());
            let _ = reply.send(Response::Error { message });
            return;
        }
        if let Request::Ticket { ticket, change } = request {
            let what = format!("ticket {ticket}: {change:?} (committed by a quorum)");
            let patch = StatusPatch::Ticket { ticket, change };
            self.status_change(patch, what, reply).await;
            return;
        }
        if let Request::NodeAttribute { node, name, value } = request {
            self.permanent_attribute(node, name, value, reply).await;
            return;
        }
        if let Request::FenceConfirm { target } = request {
            self.fence_confirm(target, uid, reply).await;
            return;
        }
        if let Request::Settled = request {
            self.settled(reply).await;
            return;
        }
        let response = self.answer_now(request, uid).await;
        let _ = reply.send(response);
    }

    /// `fence confirm`: the operator says `target` is off (it died with its
    /// fence device). Taken only for a configured node that is not a member
    /// of this node's view, by the DC (it is the one waiting for the
    /// fence): a member forwards it there (`ClusterMessage::FenceConfirm`,
    /// protocol version 5). Who asked is taken from the peer credentials.
    async fn fence_confirm(
        &mut self,
        target: String,
        uid: u32,
        reply: tokio::sync::oneshot::Sender<Response>,
    ) {
        let by = format!("{} (uid {uid})", api::user_name(uid));
        if let Err(message) = self.confirmable(&target) {
            let _ = reply.send(Response::Error { message });
            return;
        }
        if self.store.is_dc() {
            let _ = reply.send(match self.confirm_on_dc(target, by) {
                Ok(outcome) => Response::Fenced(Box::new(outcome)),
                Err(message) => Response::Error { message },
            });
            return;
        }
        let Some(dc) = self.store.dc().filter(|&d| d != self.own.id) else {
            let _ = reply.send(Response::Error {
                message: "this partition has no quorum, so no DC waits for the fence; check `paceline status`".into(),
            });
            return;
        };
        if self.machine.protocol_version() < 5 {
            let _ = reply.send(Response::Error {
                message: format!(
                    "this node is not the DC and a member runs the previous release: run `paceline fence confirm {target}` on {}, which waits for the fence",
                    self.settings.node_name(dc)
                ),
            });
            return;
        }
        let to = ReplyTo::Client {
            reply,
            deadline: Instant::now() + CONFIG_REQUEST_TIMEOUT,
            forwarded_to: Some(dc),
            accepted: Some(format!(
                "confirmed off by hand by {by} on {}; the DC {} takes it as fenced",
                self.own.name,
                self.settings.node_name(dc)
            )),
        };
        let id = self.new_request(to);
        let by = format!("{by} on {}", self.own.name);
        let message = ClusterMessage::FenceConfirm {
            request: id,
            target,
            by,
        };
        self.send_cluster(dc, &message).await;
    }

    /// Why `target` cannot be confirmed off from here, if it cannot: it is
    /// not configured, or it is a member of this node's view (running).
    pub(super) fn confirmable(&self, target: &str) -> Result<(), String> {
        if self.node_id(target).is_none() {
            return Err(format!("no node `{target}` in the configuration"));
        }
        let view = self.machine.status().view;
        let members: Vec<String> = view
            .members
            .iter()
            .map(|&m| self.settings.node_name(m))
            .collect();
        if members.iter().any(|m| m == target) {
            return Err(format!(
                "{target} is a member of view {} (members: {}): it is running, so it cannot be confirmed off",
                view.id,
                members.join(", ")
            ));
        }
        if target == self.own.name {
            return Err(format!("{target} is this node, and it is running"));
        }
        Ok(())
    }

    /// The DC takes `target` as fenced, confirmed `by` an operator: logged,
    /// answered to the clients waiting for a fence of it, and handed to the
    /// controller (which records it in the fencing history and recovers).
    pub(super) fn confirm_on_dc(
        &mut self,
        target: String,
        by: String,
    ) -> Result<crate::controller::FenceOutcome, String> {
        self.confirmable(&target)?;
        if !self.store.is_dc() {
            return Err(
                "this node is no longer the DC; check `paceline status` and confirm again".into(),
            );
        }
        log_about(
            Priority::Warning,
            &Fields {
                node: Some(&target),
                operation: Some("fence"),
                ..Fields::default()
            },
            &format!("{target} confirmed off by hand by {by}: taken as fenced"),
        );
        let outcome = crate::controller::FenceOutcome {
            target: target.clone(),
            ok: true,
            detail: format!("confirmed off by hand by {by}"),
            at: driver::wall_now(),
            action: "off".into(),
            devices: Vec::new(),
        };
        for reply in self.fence_waiters.remove(&target).unwrap_or_default() {
            let _ = reply.send(Response::Fenced(Box::new(outcome.clone())));
        }
        self.controller_input(crate::controller::Input::FenceConfirmed { target, by });
        Ok(outcome)
    }

    /// `Request::Settled`: the DC answers from its controller; a member
    /// asks the DC (`ClusterMessage::SettledQuery`, protocol version 5)
    /// and answers "not settled" when there is no DC to ask.
    async fn settled(&mut self, reply: tokio::sync::oneshot::Sender<Response>) {
        if self.store.is_dc() {
            let _ = reply.send(Response::Settled {
                idle: self.store.dc_idle(),
            });
            return;
        }
        let dc = self.store.dc().filter(|&d| d != self.own.id);
        let Some(dc) = dc.filter(|_| self.machine.protocol_version() >= 5) else {
            let _ = reply.send(Response::Settled { idle: false });
            return;
        };
        let id = self.new_request(ReplyTo::Settled {
            reply,
            deadline: Instant::now() + SETTLED_QUERY_TIMEOUT,
        });
        self.send_cluster(dc, &ClusterMessage::SettledQuery { request: id })
            .await;
    }

    /// `crm_attribute -l forever`: a permanent node attribute, through the
    /// DC, answered once a quorum committed it (Pacemaker's crm_attribute
    /// waits for the CIB's reply the same way).
    async fn permanent_attribute(
        &mut self,
        node: String,
        name: String,
        value: Option<String>,
        reply: tokio::sync::oneshot::Sender<Response>,
    ) {
        let refusal = if self.node_id(&node).is_none() {
            Some(format!("no node `{node}` in the configuration"))
        } else if self.machine.protocol_version() < 5 {
            // Release 0.1.0 (version 4) cannot read the patch; the shim
            // keeps the attribute as a transient one meanwhile, as 0.1.0
            // did.
            let older: Vec<String> = self
                .machine
                .members_below(5)
                .into_iter()
                .map(|id| self.settings.node_name(id))
                .collect();
            Some(format!(
                "{} ({} runs release 0.1.0, protocol version 4)",
                api::PERMANENT_NEEDS_VERSION_5,
                older.join(", ")
            ))
        } else {
            None
        };
        if let Some(message) = refusal {
            let _ = reply.send(Response::Error { message });
            return;
        }
        let what = match &value {
            Some(v) => format!("permanent attribute {name}={v} of {node} (committed by a quorum)"),
            None => format!("permanent attribute {name} of {node} deleted (committed by a quorum)"),
        };
        let patch = StatusPatch::PermanentAttribute { node, name, value };
        self.status_change(patch, what, reply).await;
    }

    /// `resource cleanup`, `ticket grant|...`: answered once the DC
    /// committed it (a quorum holds it, so a DC crash cannot bring the
    /// failures back; issue 21).
    async fn status_change(
        &mut self,
        patch: StatusPatch,
        what: String,
        reply: tokio::sync::oneshot::Sender<Response>,
    ) {
        let mut to = ReplyTo::Client {
            reply,
            deadline: Instant::now() + CONFIG_REQUEST_TIMEOUT,
            forwarded_to: None,
            accepted: Some(what),
        };
        if self.store.is_dc() {
            let id = self.new_request(to);
            let effects = self.store.request_status(self.now_ms(), id, patch);
            self.apply_store(effects).await;
        } else if let Some(dc) = self.store.dc().filter(|&d| d != self.own.id) {
            if let ReplyTo::Client { forwarded_to, .. } = &mut to {
                *forwarded_to = Some(dc);
            }
            let id = self.new_request(to);
            let request = ClusterMessage::StatusRequest { request: id, patch };
            self.send_cluster(dc, &request).await;
        } else if let ReplyTo::Client { reply, .. } = to {
            let _ = reply.send(Response::Error {
                message: "this partition has no quorum, so no DC can record the change; check `paceline status`".into(),
            });
        }
    }

    pub(super) async fn config_load(
        &mut self,
        text: String,
        based_on: Version,
        reply: tokio::sync::oneshot::Sender<Response>,
    ) -> Option<u64> {
        // Checked by the API server, off the loop (`api_server::parse_off_the_loop`).
        if let Err(message) = self.readable_by_every_member(&text) {
            let _ = reply.send(Response::Error { message });
            return None;
        }
        let mut to = ReplyTo::Client {
            reply,
            deadline: Instant::now() + CONFIG_REQUEST_TIMEOUT,
            forwarded_to: None,
            accepted: None,
        };
        if self.store.is_dc() {
            let id = self.new_request(to);
            let effects = self.store.request_config(self.now_ms(), id, based_on, text);
            self.apply_store(effects).await;
            Some(id)
        } else if let Some(dc) = self.store.dc().filter(|&d| d != self.own.id) {
            if let ReplyTo::Client { forwarded_to, .. } = &mut to {
                *forwarded_to = Some(dc);
            }
            let id = self.new_request(to);
            let request = ClusterMessage::ConfigRequest {
                request: id,
                based_on,
                config: text,
            };
            self.send_cluster(dc, &request).await;
            Some(id)
        } else {
            if let ReplyTo::Client { reply, .. } = to {
                let _ = reply.send(Response::Error {
                    message: "this partition has no quorum, so no DC can apply a configuration change; check `paceline status`".into(),
                });
            }
            None
        }
    }

    /// Refuses a configuration using a section or setting that a member's
    /// release does not read (`config::introduced`): during a rolling
    /// upgrade a 0.1.0 node would be left unable to load the cluster's
    /// configuration. Checked where a load arrives and again on the DC
    /// for a member's forwarded one.
    /// The members of the view on release 0.1.0 (protocol version 4), by
    /// name.
    pub(super) fn older_than_5(&self) -> Vec<String> {
        self.machine
            .members_below(5)
            .into_iter()
            .map(|id| self.settings.node_name(id))
            .collect()
    }

    pub(super) fn readable_by_every_member(&self, text: &str) -> Result<(), String> {
        let speaks = self.machine.protocol_version();
        let newer = crate::config::introduced::newer_than(text, speaks);
        let Some(needs) = newer.iter().map(|i| i.version).max() else {
            return Ok(());
        };
        let older: Vec<String> = self
            .machine
            .members_below(needs)
            .into_iter()
            .map(|id| self.settings.node_name(id))
            .collect();
        let message = crate::config::introduced::refusal(&newer, speaks, &older);
        log(&message);
        Err(message)
    }

    pub(super) async fn answer_now(&mut self, request: Request, uid: u32) -> Response {
        match request {
            Request::Status => Response::Status(Box::new(self.status_view())),
            Request::Report => Response::Report(Box::new(self.report())),
            Request::ConfigShow => Response::Config {
                text: self.store.doc().config.clone(),
                version: self.store.doc().version,
            },
            Request::ConfigLoad { .. }
            | Request::Dispatch { .. }
            | Request::Fence { .. }
            | Request::FenceConfirm { .. }
            | Request::Settled
            | Request::Cleanup { .. }
            | Request::NodeAttribute { .. }
            | Request::Ticket { .. } => Response::Error {
                message: "internal: this request is answered asynchronously".into(),
            },
            Request::LogLevel { level } => match level.parse::<Priority>() {
                Ok(p) => {
                    let before = super::logging::set_threshold(p);
                    let what = format!(
                        "log level {p} (was {before}), set by {}",
                        api::user_name(uid)
                    );
                    // Written at any level: the log says why it changed.
                    log_about(Priority::Warning, &Fields::default(), &what);
                    Response::Accepted { what }
                }
                Err(message) => Response::Error { message },
            },
            Request::Unblock => {
                let by = api::user_name(uid);
                let at_unix_ms = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as u64);
                let unblock = Unblock {
                    by: by.clone(),
                    at_unix_ms,
                };
                match self.machine.unblock(unblock) {
                    Ok(out) => {
                        log(&format!(
                            "wait_for_all overridden by {by} (cluster unblock)"
                        ));
                        self.apply(out).await;
                        self.write_state();
                        Response::Unblocked { by }
                    }
                    Err(message) => {
                        log(&format!("cluster unblock by {by}: {message}"));
                        Response::Error { message }
                    }
                }
            }
        }
    }
}
