//! Per-node sans-IO replication machine: events in, commands out, no clock.
//!
//! Durability rule: the DC acknowledges a config change once it is persisted
//! on `required_acks` members: a majority of the configured nodes, or in a
//! two_node cluster every member of the current view (both if both are up,
//! the survivor alone otherwise). The survivor rule is safe only because
//! two_node quorum requires the lost peer to be fenced before anything acts:
//! the fenced peer cannot have acknowledged a newer config on its own.

use super::{Document, UpdateError, Version, choose_dc};
use std::collections::BTreeSet;

#[derive(Debug, Clone, PartialEq)]
pub enum Msg<C, S> {
    /// Member -> DC after a view change: my current document.
    Offer { view: u64, doc: Document<C, S> },
    /// DC -> members: adopt this document.
    Replicate { view: u64, doc: Document<C, S> },
    /// Member -> DC: this version is durable here.
    Ack { view: u64, version: Version },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Command<C, S> {
    Send {
        to: u32,
        msg: Msg<C, S>,
    },
    Persist(Document<C, S>),
    Reply {
        request: u64,
        result: Result<Version, ReplyError>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    #[error(transparent)]
    Update(#[from] UpdateError),
    #[error("this node is not the DC or has no quorum; retry on the DC")]
    NotDc,
    #[error("the view changed before the change was durable; check the config and retry")]
    Interrupted,
}

pub struct Node<C, S> {
    pub id: u32,
    pub cluster_size: usize,
    pub two_node: bool,
    pub doc: Document<C, S>,
    view: u64,
    members: Vec<u32>,
    quorate: bool,
    pending: Option<(u64, Version, BTreeSet<u32>)>,
}

impl<C: Clone, S: Clone> Node<C, S> {
    pub fn new(id: u32, cluster_size: usize, two_node: bool, doc: Document<C, S>) -> Self {
        Node {
            id,
            cluster_size,
            two_node,
            doc,
            view: 0,
            members: vec![],
            quorate: false,
            pending: None,
        }
    }

    fn is_dc(&self) -> bool {
        self.quorate && choose_dc(&self.members) == Some(self.id)
    }

    fn required_acks(&self) -> usize {
        if self.two_node {
            self.members.len()
        } else {
            self.cluster_size / 2 + 1
        }
    }

    pub fn on_view(&mut self, view: u64, members: Vec<u32>, quorate: bool) -> Vec<Command<C, S>> {
        let mut out = vec![];
        if let Some((req, _, _)) = self.pending.take() {
            out.push(Command::Reply {
                request: req,
                result: Err(ReplyError::Interrupted),
            });
        }
        self.view = view;
        self.members = members;
        self.quorate = quorate;
        if let Some(dc) = choose_dc(&self.members) {
            if dc != self.id {
                out.push(Command::Send {
                    to: dc,
                    msg: Msg::Offer {
                        view,
                        doc: self.doc.clone(),
                    },
                });
            } else {
                out.extend(self.push_all());
            }
        }
        out
    }

    fn push_all(&self) -> Vec<Command<C, S>> {
        self.members
            .iter()
            .filter(|m| **m != self.id)
            .map(|m| Command::Send {
                to: *m,
                msg: Msg::Replicate {
                    view: self.view,
                    doc: self.doc.clone(),
                },
            })
            .collect()
    }

    pub fn on_config_request(
        &mut self,
        request: u64,
        based_on: Version,
        config: C,
    ) -> Vec<Command<C, S>> {
        if !self.is_dc() || self.pending.is_some() {
            return vec![Command::Reply {
                request,
                result: Err(ReplyError::NotDc),
            }];
        }
        match self.doc.replace_config(based_on, config) {
            Err(e) => vec![Command::Reply {
                request,
                result: Err(e.into()),
            }],
            Ok(v) => {
                self.pending = Some((request, v, BTreeSet::new()));
                let mut out = vec![Command::Persist(self.doc.clone())];
                out.extend(self.push_all());
                out
            }
        }
    }

    pub fn on_persisted(&mut self, version: Version) -> Vec<Command<C, S>> {
        if self.is_dc() {
            self.ack(self.id, version)
        } else if let Some(dc) = choose_dc(&self.members) {
            vec![Command::Send {
                to: dc,
                msg: Msg::Ack {
                    view: self.view,
                    version,
                },
            }]
        } else {
            vec![]
        }
    }

    fn ack(&mut self, from: u32, version: Version) -> Vec<Command<C, S>> {
        let need = self.required_acks();
        if let Some((req, v, acks)) = &mut self.pending
            && version >= *v
        {
            acks.insert(from);
            if acks.len() >= need {
                let (req, v) = (*req, *v);
                self.pending = None;
                return vec![Command::Reply {
                    request: req,
                    result: Ok(v),
                }];
            }
        }
        vec![]
    }

    pub fn on_message(&mut self, from: u32, msg: Msg<C, S>) -> Vec<Command<C, S>> {
        match msg {
            Msg::Offer { view, doc } if view == self.view && self.is_dc() => {
                if self.doc.adopt_if_newer(&doc) {
                    let mut out = vec![Command::Persist(self.doc.clone())];
                    out.extend(self.push_all());
                    out
                } else {
                    vec![Command::Send {
                        to: from,
                        msg: Msg::Replicate {
                            view,
                            doc: self.doc.clone(),
                        },
                    }]
                }
            }
            Msg::Replicate { view, doc }
                if view == self.view && choose_dc(&self.members) == Some(from) =>
            {
                if self.doc.adopt_if_newer(&doc) {
                    vec![Command::Persist(self.doc.clone())]
                } else {
                    vec![Command::Send {
                        to: from,
                        msg: Msg::Ack {
                            view,
                            version: self.doc.version,
                        },
                    }]
                }
            }
            Msg::Ack { view, version } if view == self.view => self.ack(from, version),
            _ => vec![],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_acked_only_after_quorum_persisted() {
        let mut dc = Node::new(1, 3, false, Document::new(0u32, 0u32));
        dc.on_view(1, vec![1, 2, 3], true);
        let out = dc.on_config_request(7, Version::default(), 5);
        assert!(matches!(out[0], Command::Persist(_)));
        let v = dc.doc.version;
        assert!(dc.on_persisted(v).is_empty());
        let out = dc.on_message(
            2,
            Msg::Ack {
                view: 1,
                version: v,
            },
        );
        assert_eq!(
            out,
            vec![Command::Reply {
                request: 7,
                result: Ok(v)
            }]
        );
        let mut lone = Node::new(3, 3, false, Document::new(0u32, 0u32));
        lone.on_view(2, vec![3], false);
        let out = lone.on_config_request(8, Version::default(), 5);
        assert_eq!(
            out,
            vec![Command::Reply {
                request: 8,
                result: Err(ReplyError::NotDc)
            }]
        );
    }
}
