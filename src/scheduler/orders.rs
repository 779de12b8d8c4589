//! Order constraints: resource sets expanded into two-resource orders
//! (sequential sets, orders between sets, require-all=false), and their
//! effect on the decided outcomes: a mandatory start order blocks `then`
//! while `first` cannot run and restarts `then` when `first` (re)starts;
//! a stop-stop order and a stuck `then` block stops.

use super::Verb;
use super::outcome::{Outcome, Outcomes, start_after_blocked, stops_here};
use super::plan::Ctx;
use crate::model::*;

/// One "first then" relation, with resource sets expanded as Pacemaker
/// does: members of a sequential set follow each other; between two
/// consecutive sets the last member of a sequential first set (every member
/// of an unordered one) comes before the first member of a sequential next
/// set (every member of an unordered one). A set with require-all=false lets
/// the next set start once any one of its members can (Pacemaker's
/// "one-or-more" pseudo action).
#[derive(Debug, Clone)]
pub(super) struct FlatOrder {
    /// What the reasons name: the resource, or the set's pseudo action.
    first_name: String,
    /// The resources `then` waits for (any one of them is enough when there
    /// are several).
    firsts: Vec<String>,
    then: String,
    kind: OrderKind,
    first_action: Action,
    then_action: Action,
    symmetrical: Option<bool>,
    require_all: Option<bool>,
    /// What holds the ordering between `first`'s and `then`'s actions.
    forward: Holder,
    /// An earlier order already holds the inverse ordering (then's stop
    /// before first's stop).
    inverse_held: bool,
}

impl FlatOrder {
    /// The mandatory order holding the pair of actions this one names (as
    /// symmetrical as the one that holds it), or None when an optional or
    /// serializing order, or another's inverse, holds it.
    fn forward_order(&self) -> Option<FlatOrder> {
        match self.forward {
            Holder::Own => Some(self.clone()),
            Holder::Earlier {
                kind: OrderKind::Mandatory,
                symmetrical,
            } => Some(FlatOrder {
                symmetrical: Some(symmetrical),
                ..self.clone()
            }),
            _ => None,
        }
    }
}

/// Pacemaker keeps one ordering per pair of actions: a later one sharing
/// any flag with an earlier one is dropped (order_actions "filters dups",
/// and every ordering carries pe_order_optional), so the first order
/// between two actions decides how they are ordered.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Holder {
    /// This order itself.
    Own,
    /// An earlier order of this kind and symmetry.
    Earlier { kind: OrderKind, symmetrical: bool },
    /// An earlier symmetrical order's inverse (it only makes `first`
    /// required when `then` is).
    EarlierInverse,
}

type ActionPair = (String, Action, String, Action);

fn inverse_action(a: Action) -> Option<Action> {
    match a {
        Action::Start => Some(Action::Stop),
        Action::Stop => Some(Action::Start),
        Action::Promote => Some(Action::Demote),
        Action::Demote => Some(Action::Promote),
        Action::Monitor => None,
    }
}

/// Marks, in the order Pacemaker unpacks them (each order's inverse right
/// after it), the orders whose action pairs an earlier order already
/// holds. Orders through a set's pseudo action are left alone.
fn mark_held(orders: &mut [FlatOrder]) {
    let mut held: std::collections::HashMap<ActionPair, Holder> = Default::default();
    for o in orders.iter_mut() {
        let [first] = o.firsts.as_slice() else {
            continue;
        };
        if o.require_all == Some(false) {
            continue;
        }
        let symmetrical = o.kind != OrderKind::Serialize && o.symmetrical.unwrap_or(true);
        let pair = (first.clone(), o.first_action, o.then.clone(), o.then_action);
        let own = Holder::Earlier {
            kind: o.kind,
            symmetrical,
        };
        o.forward = *held.entry(pair).or_insert(own);
        if o.forward == own {
            o.forward = Holder::Own;
        }
        if !symmetrical {
            continue;
        }
        let (Some(fa), Some(ta)) = (
            inverse_action(o.first_action),
            inverse_action(o.then_action),
        ) else {
            continue;
        };
        let inverse = (o.then.clone(), ta, first.clone(), fa);
        o.inverse_held = held.contains_key(&inverse);
        held.entry(inverse).or_insert(Holder::EarlierInverse);
    }
}

pub(super) fn flat_orders(orders: &[Order]) -> Vec<FlatOrder> {
    let mut out = Vec::new();
    for ord in orders {
        if let (Some(f), Some(t)) = (&ord.first, &ord.then) {
            out.push(FlatOrder {
                first_name: f.clone(),
                firsts: vec![f.clone()],
                then: t.clone(),
                kind: ord.kind,
                first_action: ord.first_action,
                then_action: ord.then_action,
                symmetrical: ord.symmetrical,
                require_all: ord.require_all,
                forward: Holder::Own,
                inverse_held: false,
            });
        } else {
            set_orders(ord, &mut out);
        }
    }
    mark_held(&mut out);
    out
}

/// The two-resource orders of an order with resource sets.
fn set_orders(ord: &Order, out: &mut Vec<FlatOrder>) {
    // `then` of a require-all=false set follows the set's one-or-more
    // pseudo action, not a clone: never interleaved (Pacemaker orders the
    // pseudo action before `then`, so no instances are paired), whatever
    // the set holds.
    let mut pair =
        |name: &str, firsts: Vec<String>, then: &str, fa: Option<Action>, ta: Option<Action>| {
            let one_or_more = name.starts_with("one-or-more:");
            out.push(FlatOrder {
                first_name: name.to_string(),
                firsts,
                then: then.to_string(),
                kind: ord.kind,
                first_action: fa.unwrap_or(ord.first_action),
                then_action: ta.or(fa).unwrap_or(ord.then_action),
                symmetrical: ord.symmetrical,
                require_all: one_or_more.then_some(false),
                forward: Holder::Own,
                inverse_held: false,
            });
        };
    for set in ord.sets.iter().filter(|s| s.sequential) {
        for w in set.resources.windows(2) {
            pair(&w[0], vec![w[0].clone()], &w[1], set.action, set.action);
        }
    }
    for w in ord.sets.windows(2) {
        let (s1, s2) = (&w[0], &w[1]);
        let thens: Vec<&String> = if s2.sequential {
            s2.resources.first().into_iter().collect()
        } else {
            s2.resources.iter().collect()
        };
        if !s1.require_all {
            let name = format!("one-or-more:{}", s1.id);
            for t in thens {
                pair(&name, s1.resources.clone(), t, s1.action, s2.action);
            }
            continue;
        }
        let firsts: Vec<&String> = if s1.sequential {
            s1.resources.last().into_iter().collect()
        } else {
            s1.resources.iter().collect()
        };
        for f in &firsts {
            for t in &thens {
                pair(f, vec![(*f).clone()], t, s1.action, s2.action);
            }
        }
    }
}

/// What a start order's `first` does in this plan, read once before its
/// `then` instances are changed.
struct FirstFacts {
    /// clone-min of a cloned `first` (at least 1).
    clone_min: usize,
    /// `first` can run (all members of a group unit; clone-min instances).
    runnable: bool,
    starting: bool,
    /// Active and kept where it is (unmanaged, or the order is not
    /// symmetrical).
    active: bool,
    is_clone: bool,
    /// (Where, which instance) of `first` starts: a start, a move there,
    /// a restart or recovery in place, a promotion from Stopped; and
    /// whether in place.
    instances_starting: Vec<(Option<NodeId>, String, bool)>,
    /// Nodes an instance of `first` stops on (stop, move away, restart or
    /// recovery in place).
    stops_on: Vec<NodeId>,
    /// Nodes an instance of `first` starts on (start, move there, restart
    /// or recovery in place).
    starts_on: Vec<NodeId>,
    then_interleave: bool,
    /// Where each instance of `first` is placed (also when it cannot
    /// start there), and whether it can run there.
    placed: Vec<(NodeId, bool)>,
}

impl Ctx<'_> {
    /// One pass of every order over the outcomes; whether anything changed.
    pub(super) fn order_pass(&self, flat: &[FlatOrder], oc: &mut Outcomes) -> bool {
        let mut changed = false;
        for ord in flat {
            // Instances of every resource `then` waits for.
            let fi: Vec<usize> = ord
                .firsts
                .iter()
                .filter_map(|n| oc.by_id.get(n))
                .flatten()
                .copied()
                .collect();
            if fi.is_empty() || ord.kind != OrderKind::Mandatory {
                continue;
            }
            let fwd = ord.forward_order();
            match (ord.first_action, ord.then_action, &fwd) {
                (Action::Stop, Action::Stop, Some(f)) => {
                    changed |= stop_after_stop(f, &fi, oc);
                    changed |= stop_after_required_stop(f, &fi, oc, self.stop_interleaves(f));
                    if self.clones.contains_key(f.first_name.as_str()) && !self.stop_interleaves(f)
                    {
                        changed |= stop_after_clone_with_nothing_to_stop(f, &fi, oc);
                    }
                }
                (Action::Start, Action::Start, _) => {
                    changed |= self.start_order(ord, fwd.as_ref(), &fi, oc)
                }
                (Action::Promote, Action::Stop, Some(f))
                    if !self.stop_interleaves(f) && !self.promote_runnable(f, &fi, oc) =>
                {
                    changed |= stop_after_unrunnable_start(f, oc);
                }
                (Action::Start, Action::Stop, Some(f)) => {
                    let (_, runnable) = self.first_runnable(f, &fi, oc);
                    if self.stop_interleaves(f) {
                        changed |= self.interleaved_stop_after_start(f, &fi, oc);
                    } else if !runnable {
                        changed |= stop_after_unrunnable_start(f, oc);
                    } else {
                        changed |= stop_after_required_start(f, &fi, oc, false);
                    }
                }
                _ => {}
            }
        }
        changed
    }

    /// Mandatory start order: `then` waits for `first` (through `fwd`,
    /// the order holding the start-start pair, if mandatory).
    fn start_order(
        &self,
        ord: &FlatOrder,
        fwd: Option<&FlatOrder>,
        fi: &[usize],
        oc: &mut Outcomes,
    ) -> bool {
        let Some(ti) = oc.by_id.get(&ord.then) else {
            return false;
        };
        let ti = ti.clone();
        let mut changed = false;
        if let Some(f) = fwd {
            let facts = self.first_facts(f, fi, oc);
            for &i in &ti {
                let o = &mut oc.outs[i];
                if o.managed {
                    changed |= then_follows(f, &facts, o);
                }
            }
        }
        if ord.inverse_held {
            return changed;
        }
        // Stopping first needs then stopped first: a primitive then blocked
        // by a failure (unmanaged and unrunnable: on-fail=block, a failed
        // stop without fencing) blocks it. Merely unmanaged, or inside a
        // group or clone, it does not: Pacemaker blocks the first stop only
        // for an unrunnable stop of a resource with the block flag itself
        // (update_action_for_ordering_flags), and a group's or clone's stop
        // is a pseudo action of the group or clone.
        let then_stuck = ti.iter().any(|&i| {
            let o = &oc.outs[i];
            o.display == ord.then && !o.managed && !o.runnable && !o.current.is_empty()
        });
        if then_stuck && ord.symmetrical.unwrap_or(true) {
            for &i in fi {
                let o = &mut oc.outs[i];
                // A group's or clone's own stop is a pseudo action: blocking
                // it does not block its members' stops.
                if o.display != ord.first_name {
                    continue;
                }
                if matches!(o.verb, Some(Verb::Stop | Verb::Move)) && !o.blocked {
                    o.blocked = true;
                    changed = true;
                }
            }
        }
        changed
    }

    /// Whether `first`'s promote can run: an instance of a promotable
    /// clone `first` ends Promoted (promoted, moved or restarted into
    /// Promoted, or staying so: its optional promote exists). Anything else has no promote action, and the one
    /// an order creates for it has no node (Pacemaker's rsc_order_first):
    /// unrunnable.
    fn promote_runnable(&self, ord: &FlatOrder, fi: &[usize], oc: &Outcomes) -> bool {
        if !self
            .clones
            .get(ord.first_name.as_str())
            .is_some_and(|c| c.promotable)
        {
            return false;
        }
        fi.iter().map(|&i| &oc.outs[i]).any(|o| {
            let promotes =
                (o.verb == Some(Verb::Promote) || o.to_role == Some(Role::Promoted)) && !o.blocked;
            let stays_promoted = o.verb.is_none()
                && o.role_now == Some(Role::Promoted)
                && o.target.is_some()
                && o.target.as_ref() == o.current.first();
            promotes || stays_promoted
        })
    }

    /// Whether a "first start, then stop" order pairs instances: both
    /// clones, and `first` interleaved (for a stop or demote of `then`,
    /// Pacemaker's can_interleave_actions reads `first`'s interleave).
    fn stop_interleaves(&self, ord: &FlatOrder) -> bool {
        let first = self.clones.get(ord.first_name.as_str());
        ord.require_all != Some(false)
            && self.clones.contains_key(ord.then.as_str())
            && first.is_some_and(|c| c.interleave && c.clone_min <= 1)
    }

    /// "first start, then stop" between interleaved clones: each instance
    /// of `then` follows the instance of `first` placed on its node. One
    /// that stops has no node, so no instance to follow: its stop is plain
    /// (not blocked by a `first` that cannot start). One that stays where
    /// no instance of `first` is placed is "inhibited" (unassigned, so it
    /// stops), as for a start order; one that stays where an instance of
    /// `first` starts restarts.
    fn interleaved_stop_after_start(
        &self,
        ord: &FlatOrder,
        fi: &[usize],
        oc: &mut Outcomes,
    ) -> bool {
        let Some(ti) = oc.by_id.get(&ord.then).cloned() else {
            return false;
        };
        let placed = placed_instances(ord, fi, oc);
        let mut changed = false;
        for i in ti {
            let o = &mut oc.outs[i];
            if !o.managed || !o.display.contains(':') {
                continue;
            }
            let Some(node) = o.target.clone() else {
                continue;
            };
            if placed.iter().any(|(n, _)| *n == node) {
                continue;
            }
            unplace_for_unrunnable_first(ord, o);
            changed = true;
        }
        changed | stop_after_required_start(ord, fi, oc, true)
    }

    fn first_facts(&self, ord: &FlatOrder, fi: &[usize], oc: &Outcomes) -> FirstFacts {
        let t = &ord.then;
        let outs = &oc.outs;
        let (clone_min, runnable) = self.first_runnable(ord, fi, oc);
        // A `first` that is active but unmanaged keeps running where
        // it is, and a running `then` stays with it. A `first` that
        // is stopping takes a running `then` down with it, unless
        // the order is not symmetrical (then only starts wait).
        let symmetrical = ord.symmetrical.unwrap_or(true);
        FirstFacts {
            clone_min,
            runnable,
            starting: fi.iter().any(|&i| outs[i].starts()),
            // (Unmanaged by a failure that needs recovery, it is not kept:
            // its required start cannot run.)
            active: fi.iter().map(|&i| &outs[i]).any(|o| {
                let left_alone = !o.managed && (o.runnable || !o.failed);
                !o.current.is_empty() && (left_alone || !symmetrical)
            }),
            // New instances of a cloned `first` do not restart `then`.
            is_clone: fi.iter().any(|&i| outs[i].display.contains(':')),
            instances_starting: fi
                .iter()
                .map(|&j| &outs[j])
                .filter(|o| o.starts() || (o.verb == Some(Verb::Promote) && o.current.is_empty()))
                .filter(|o| !o.blocked)
                .map(|o| {
                    let in_place = matches!(o.verb, Some(Verb::Recover | Verb::Restart));
                    (o.target.clone(), o.display.clone(), in_place)
                })
                .collect(),
            // An instance of a cloned `first` that starts on the node of a
            // primitive `then` restarts it, and so does one that an order
            // stops there: it keeps its start there, required and
            // unrunnable (Pacemaker unassigns it only after its actions
            // exist). One placed elsewhere or nowhere has no start there.
            stops_on: fi
                .iter()
                .map(|&j| &outs[j])
                .filter(|o| stops_here(o.verb) && !o.blocked && o.managed)
                .filter(|o| {
                    o.reason
                        .as_deref()
                        .is_some_and(|r| r.starts_with("due to unrunnable"))
                })
                .filter_map(|o| o.current.first().cloned())
                .collect(),
            starts_on: fi
                .iter()
                .map(|&j| &outs[j])
                .filter(|o| o.starts() || (o.verb == Some(Verb::Promote) && o.current.is_empty()))
                .filter(|o| !o.blocked)
                .filter_map(|o| o.target.clone())
                .collect(),
            then_interleave: self.clones.get(t.as_str()).is_some_and(|c| c.interleave),
            placed: placed_instances(ord, fi, oc),
        }
    }

    /// clone-min of a cloned `first` (at least 1), and whether `first`
    /// can run: a group (or a clone of groups) has started only when all
    /// members of one of its units run; a clone with clone-min only with
    /// that many instances running.
    fn first_runnable(&self, ord: &FlatOrder, fi: &[usize], oc: &Outcomes) -> (usize, bool) {
        let f = &ord.first_name;
        let outs = &oc.outs;
        let clone_min = self
            .clones
            .get(f.as_str())
            .map_or(0, |c| c.clone_min)
            .max(1) as usize;
        let runs = |i: usize| outs[i].runnable && outs[i].target.is_some();
        let runnable = match oc.unit_outs.get(f) {
            Some(us) if clone_min > 1 || us.iter().any(|u| u.len() > 1) => {
                us.iter().filter(|u| u.iter().all(|&i| runs(i))).count() >= clone_min
            }
            _ => fi.iter().any(|&i| runs(i)),
        };
        (clone_min, runnable)
    }
}

/// Where each instance (unit) of `first` is placed, and whether it can
/// run there: a cloned group's instance only with all its members (its
/// "running" action waits for every member's start).
fn placed_instances(ord: &FlatOrder, fi: &[usize], oc: &Outcomes) -> Vec<(NodeId, bool)> {
    let outs = &oc.outs;
    let runs = |i: usize| outs[i].runnable && outs[i].target.is_some();
    let singles: Vec<Vec<usize>>;
    let units = match oc.unit_outs.get(&ord.first_name) {
        Some(us) => us,
        None => {
            singles = fi.iter().map(|&i| vec![i]).collect();
            &singles
        }
    };
    units
        .iter()
        .filter_map(|u| {
            let node = u.iter().find_map(|&i| outs[i].start_node())?;
            Some((node, u.iter().all(|&i| runs(i))))
        })
        .collect()
}

/// "first stop, then stop": a first that cannot stop because a failure
/// blocks it (unmanaged and unrunnable: on-fail=block, a failed stop
/// without fencing) blocks the stop of then. Merely unmanaged
/// (is-managed=false) it does not: Pacemaker blocks `then` only after an
/// unrunnable stop of a resource with the block flag.
fn stop_after_stop(ord: &FlatOrder, fi: &[usize], oc: &mut Outcomes) -> bool {
    let Some(ti) = oc.by_id.get(&ord.then) else {
        return false;
    };
    let first_stuck = fi.iter().any(|&i| {
        let o = &oc.outs[i];
        !o.managed && !o.runnable && !o.current.is_empty()
    });
    if !first_stuck {
        return false;
    }
    let mut changed = false;
    for &i in ti {
        let o = &mut oc.outs[i];
        if matches!(
            o.verb,
            Some(Verb::Stop | Verb::Move | Verb::Recover | Verb::Restart)
        ) && !o.blocked
        {
            o.blocked = true;
            changed = true;
        }
    }
    changed
}

/// Asymmetrical "first stop, then stop" after a clone none of whose
/// instances is active: the clone's stop has no instance stop to run, so
/// it is unrunnable (Pacemaker's collective action flags), and an
/// asymmetrical order makes the stop of a `then` that runs required and
/// unrunnable (handle_asymmetric_ordering: only a `then` already stopped
/// is left alone). Each active member or instance of `then` is listed as
/// a blocked stop, whether it was to stay, move or recover (its start
/// waits for that stop). A symmetrical order has no such effect (its
/// implies-then needs a required `first`), nor does one between clones
/// that `first`'s interleave pairs (each instance of `then` follows an
/// instance of `first` on its node).
fn stop_after_clone_with_nothing_to_stop(ord: &FlatOrder, fi: &[usize], oc: &mut Outcomes) -> bool {
    if ord.symmetrical != Some(false) || ord.firsts.len() != 1 {
        return false;
    }
    if fi.iter().any(|&i| !oc.outs[i].current.is_empty()) {
        return false;
    }
    let Some(ti) = oc.by_id.get(&ord.then) else {
        return false;
    };
    let mut blocked = Vec::new();
    for &i in ti {
        let o = &mut oc.outs[i];
        if !o.managed || o.current.len() != 1 || (o.verb == Some(Verb::Stop) && o.blocked) {
            continue;
        }
        o.verb = Some(Verb::Stop);
        o.target = None;
        o.blocked = true;
        o.runnable = false;
        o.reason = Some(format!("due to unrunnable {} stopped", ord.first_name));
        blocked.push(i);
    }
    block_starts_after(&blocked, oc);
    !blocked.is_empty()
}

/// In each group (or cloned group's instance) holding one of `blocked`
/// (members whose start now waits for a stop that cannot run), the
/// members after it cannot start either (the group's start order).
fn block_starts_after(blocked: &[usize], oc: &mut Outcomes) {
    if blocked.is_empty() {
        return;
    }
    let units: Vec<Vec<usize>> = oc
        .unit_outs
        .values()
        .flatten()
        .filter(|u| u.len() > 1 && u.iter().any(|i| blocked.contains(i)))
        .cloned()
        .collect();
    for unit in units {
        let Some(k) = unit.iter().position(|i| blocked.contains(i)) else {
            continue;
        };
        for w in unit[k..].windows(2) {
            let before = oc.outs[w[0]].display.clone();
            let o = &mut oc.outs[w[1]];
            if o.managed {
                start_after_blocked(o, &before, true);
            }
        }
    }
}

/// "first start, then stop" with a `first` that cannot start: the stop
/// of `then` cannot run either (runnable-left), so a `then` that stops is
/// listed as a blocked stop (its start elsewhere or in place waits for
/// that stop). An asymmetrical order also makes the stop of a running
/// `then` required (Pacemaker's handle_asymmetric_ordering: only a `then`
/// already stopped is left alone), so it is listed blocked even where
/// nothing else would have stopped it.
fn stop_after_unrunnable_start(ord: &FlatOrder, oc: &mut Outcomes) -> bool {
    let Some(ti) = oc.by_id.get(&ord.then) else {
        return false;
    };
    let required = !ord.symmetrical.unwrap_or(true);
    let mut changed = false;
    for &i in ti {
        let o = &mut oc.outs[i];
        // (A resource active on several nodes keeps its own lines.)
        if !o.managed || o.current.len() != 1 || (o.verb == Some(Verb::Stop) && o.blocked) {
            continue;
        }
        if !required && !stops_here(o.verb) {
            continue;
        }
        o.verb = Some(Verb::Stop);
        o.target = None;
        o.blocked = true;
        o.runnable = false;
        if required {
            o.reason = Some(format!("due to required {} running", ord.first_name));
        }
        changed = true;
    }
    changed
}

/// "first start, then stop" (symmetrical) with a `first` that starts: its
/// required start makes the stop of `then` required (implies-then; a
/// group's or clone's stop passes it on to its members), and with it the
/// start after that stop: a `then` that stays where it runs restarts. A
/// group or clone `first` is "running" once its members or instances are:
/// for a primitive `then` only one starting on `then`'s node counts (the
/// collective's action flags are read for that node); a group's or
/// clone's stop is read for no node, so one starting anywhere restarts
/// every member or instance of `then`, unless the instances are `paired`
/// (interleaved clones: only the instance of `first` on its node counts).
fn stop_after_required_start(
    ord: &FlatOrder,
    fi: &[usize],
    oc: &mut Outcomes,
    paired: bool,
) -> bool {
    if !ord.symmetrical.unwrap_or(true) {
        return false;
    }
    let primitive_first = fi.iter().any(|&i| oc.outs[i].display == ord.first_name);
    let starting: Vec<Option<NodeId>> = fi
        .iter()
        .map(|&i| &oc.outs[i])
        .filter(|o| o.starts())
        .map(|o| o.target.clone())
        .collect();
    if starting.is_empty() {
        return false;
    }
    restart_staying_thens(ord, oc, "start", |o, here| {
        let primitive_then = o.display == ord.then;
        primitive_first || (!primitive_then && !paired) || starting.contains(&here.cloned())
    })
}

/// "first stop, then stop" (symmetrical) with a `first` that stops: its
/// required stop makes the stop of `then` required (implies-then; a group
/// or clone `then` passes it on to its members), and with it the start
/// after: a `then` that stays restarts. A group or clone `first` counts
/// for a primitive `then` only when stopping on `then`'s node (its
/// "stopped" action's flags are read for that node), and so does a clone
/// `first` whose interleave pairs its instances with a clone `then`'s
/// (`paired`: each instance of `then` follows the one on its node).
fn stop_after_required_stop(
    ord: &FlatOrder,
    fi: &[usize],
    oc: &mut Outcomes,
    paired: bool,
) -> bool {
    if !ord.symmetrical.unwrap_or(true) {
        return false;
    }
    let primitive_first = fi.iter().any(|&i| oc.outs[i].display == ord.first_name);
    let stopping: Vec<NodeId> = fi
        .iter()
        .map(|&i| &oc.outs[i])
        .filter(|o| stops_here(o.verb) && !o.blocked && o.managed)
        .filter_map(|o| o.current.first().cloned())
        .collect();
    if stopping.is_empty() {
        return false;
    }
    restart_staying_thens(ord, oc, "stop", |o, here| {
        let primitive_then = o.display == ord.then;
        primitive_first
            || (!primitive_then && !paired)
            || here.is_some_and(|n| stopping.contains(n))
    })
}

/// The restart a required `first` action implies: each managed instance
/// of `then` active on one node, with nothing planned, that stays there
/// and that `counts` (given the instance and its node) restarts, "due to
/// required FIRST ACTION".
fn restart_staying_thens(
    ord: &FlatOrder,
    oc: &mut Outcomes,
    action: &str,
    counts: impl Fn(&Outcome, Option<&NodeId>) -> bool,
) -> bool {
    let Some(ti) = oc.by_id.get(&ord.then) else {
        return false;
    };
    let mut changed = false;
    for &i in ti {
        let o = &mut oc.outs[i];
        if !o.managed || o.verb.is_some() || o.current.len() != 1 {
            continue;
        }
        let here = o.current.first();
        if o.target.as_ref() != here || !counts(o, here) {
            continue;
        }
        o.verb = Some(Verb::Restart);
        o.reason = Some(format!("due to required {} {action}", ord.first_name));
        changed = true;
    }
    changed
}

/// What a start order does to one managed instance of `then`.
fn then_follows(ord: &FlatOrder, facts: &FirstFacts, o: &mut Outcome) -> bool {
    if interleaves(ord, facts, o) {
        return interleaved_then(ord, facts, o);
    }
    if !facts.runnable {
        return blocked_by_unrunnable_first(ord, facts, o);
    }
    restarted_by_first(ord, facts, o)
}

/// Whether the order pairs instances: a clone `then` with interleave
/// after a cloned `first`. (require-all=false and clone-min relax this:
/// any instances anywhere will do.)
fn interleaves(ord: &FlatOrder, facts: &FirstFacts, o: &Outcome) -> bool {
    facts.then_interleave
        && facts.is_clone
        && ord.require_all != Some(false)
        && facts.clone_min <= 1
        && o.display.contains(':')
}

/// With interleave, an instance of `then` follows the instance of `first`
/// placed on its node: it cannot start while that one cannot, and without
/// one it is unassigned (Pacemaker's multi_update_interleave_actions
/// "inhibits" it: not listed at all, stopped where it runs).
fn interleaved_then(ord: &FlatOrder, facts: &FirstFacts, o: &mut Outcome) -> bool {
    let Some(node) = o.target.clone() else {
        return false;
    };
    match facts.placed.iter().find(|(n, _)| *n == node) {
        Some((_, true)) => restarted_by_first(ord, facts, o),
        Some((_, false)) => blocked_by_unrunnable_first(ord, facts, o),
        None => {
            unplace_for_unrunnable_first(ord, o);
            true
        }
    }
}

/// `first` cannot run: `then` is not runnable and does not start (a start
/// is listed as blocked); a running `then` stops unless `first` stays
/// active.
fn blocked_by_unrunnable_first(ord: &FlatOrder, facts: &FirstFacts, o: &mut Outcome) -> bool {
    // An asymmetrical order leaves a `then` that runs on one node and
    // stays there alone, whatever `first` does (Pacemaker's
    // handle_asymmetric_ordering: its start is optional, already done).
    let stays = o.current.len() == 1 && o.target.as_ref() == o.current.first();
    if !ord.symmetrical.unwrap_or(true) && o.verb.is_none() && stays {
        return false;
    }
    let mut changed = false;
    if o.runnable {
        o.runnable = false;
        changed = true;
    }
    // A `then` that runs may stay beside an active `first`, but not be
    // moved, recovered or restarted: its start after the stop cannot run,
    // so it stops.
    let restarts = matches!(o.verb, Some(Verb::Move | Verb::Recover | Verb::Restart));
    if o.target.is_none() || (facts.active && !o.current.is_empty() && !restarts) {
        return changed;
    }
    // An instance that is placed is listed, blocked (an interleaved one
    // without a `first` instance on its node is not placed at all). One
    // chosen for promotion stays a Promote: crm_simulate lists a stopped
    // instance whose next role is Promoted as "Promote", runnable or not.
    if o.current.is_empty() {
        if o.verb != Some(Verb::Promote) {
            o.verb = Some(Verb::Start);
        }
        o.blocked = true;
        o.blocked_target = o.target.take();
    } else {
        // (Still placed there: its start cannot run.)
        o.blocked_target = o.target.take();
        o.decide(false);
    }
    o.reason = Some(format!("due to unrunnable {} start", ord.first_name));
    true
}

/// A (re)start of `first` restarts a `then` that stays where it runs,
/// through a symmetrical order only: an asymmetrical one does not make
/// `then`'s start required (Pacemaker's ordering_flags_for_kind gives it
/// no implies-then).
fn restarted_by_first(ord: &FlatOrder, facts: &FirstFacts, o: &mut Outcome) -> bool {
    if !ord.symmetrical.unwrap_or(true) {
        return false;
    }
    let stays = o.target.as_ref() == o.current.first();
    // A promotion or demotion in place becomes a restart into the new
    // role: the instance's start after its stop is required (a restart's
    // line keeps both roles, "Promoted -> Unpromoted").
    let role_change_in_place =
        matches!(o.verb, Some(Verb::Promote | Verb::Demote)) && !o.current.is_empty();
    if facts.is_clone
        && (o.verb.is_none() || role_change_in_place)
        && o.display.contains(':')
        && o.current.len() == 1
        && stays
    {
        // Clone then clone: with interleave, an instance of `first` that
        // starts on the node of an instance of `then` restarts it; without,
        // one starting anywhere restarts every instance (the orders are
        // between the clones' own actions, whose flags are read for no
        // node). A `then` after a pseudo action (of a require-all=false
        // set, or of clone-min) is restarted only by a restart or recovery
        // in place.
        let node = o.current[0].clone();
        let interleave = facts.then_interleave;
        let pseudo = ord.require_all == Some(false) || facts.clone_min > 1;
        let restarting = facts
            .instances_starting
            .iter()
            .find(|(target, _, in_place)| {
                let counts = !pseudo || *in_place;
                counts && (!interleave || target.as_ref() == Some(&node))
            });
        let Some((_, display, _)) = restarting else {
            return false;
        };
        let display = if interleave { display } else { &ord.first_name };
        let action = if interleave { "start" } else { "running" };
        o.verb = Some(Verb::Restart);
        o.reason = Some(format!("due to required {display} {action}"));
        return true;
    }
    let then_node = o.current.first();
    if facts.is_clone
        && then_node.is_some_and(|n| facts.starts_on.contains(n) || facts.stops_on.contains(n))
        && o.verb.is_none()
        && !o.display.contains(':')
        && stays
    {
        // A primitive after a clone restarts when an instance of the
        // clone starts or stops on its node, wherever else instances
        // change: Pacemaker reads the clone's "running" action for the
        // node of `then` (action_flags_for_ordering: only the instances'
        // starts there make it required), and the inverse order's
        // "stop" for the node of `then`'s stop.
        o.verb = Some(Verb::Restart);
        o.reason = Some(format!("due to required {} running", ord.first_name));
        return true;
    }
    if facts.starting
        && !facts.is_clone
        // A promotion or demotion in place becomes a restart into the new
        // role (its roles stay on the line).
        && (o.verb.is_none() || role_change_in_place)
        && !o.current.is_empty()
        && stays
    {
        o.verb = Some(Verb::Restart);
        o.reason = Some(format!("due to required {} start", ord.first_name));
        return true;
    }
    false
}

/// `then` has no node where its `first` can start: it is not placed and
/// stops (or stays stopped) "due to unrunnable FIRST start".
fn unplace_for_unrunnable_first(ord: &FlatOrder, o: &mut Outcome) {
    o.runnable = false;
    o.target = None;
    if o.current.is_empty() {
        o.verb = None;
    } else {
        o.decide(false);
    }
    o.reason = Some(format!("due to unrunnable {} start", ord.first_name));
}

#[cfg(test)]
mod tests {
    use crate::scheduler::clones::tests::{monitor, summary, two_node_plan};

    /// p runs after a one-instance clone c, whose instance prefers node2.
    const P_AFTER_C: &str = r#"<primitive id="p" class="ocf" provider="pacemaker" type="Dummy"/>
<clone id="c"><meta_attributes id="c-m"><nvpair id="c-m-1" name="clone-max" value="1"/></meta_attributes>
<primitive id="d" class="ocf" provider="pacemaker" type="Dummy"/></clone>"#;
    const ORDER: &str = r#"<rsc_order id="c-p" first="c" then="p"/>
<rsc_location id="c-2" rsc="c" node="node2" score="100"/>"#;

    #[test]
    fn a_new_clone_instance_restarts_a_primitive_then_only_on_its_node() {
        // Checked against crm_simulate (case
        // new-clone-instance-restarts-then-on-its-node).
        let s = summary(P_AFTER_C, ORDER, "", ["", &monitor("p", "node2", 0)]);
        assert_eq!(s, ["Restart p node2 node2", "Start d:0 - node2"]);
        let s = summary(P_AFTER_C, ORDER, "", [&monitor("p", "node1", 0), ""]);
        assert_eq!(s, ["Start d:0 - node2"]);
    }

    #[test]
    fn a_clone_instance_recovering_elsewhere_leaves_a_primitive_then_alone() {
        let lrm2 = monitor("d", "node2", 1);
        let s = summary(P_AFTER_C, ORDER, "", [&monitor("p", "node1", 0), &lrm2]);
        assert_eq!(s, ["Recover d:0 node2 node2"]);
    }

    #[test]
    fn an_asymmetrical_order_restarts_nothing() {
        // Checked against crm_simulate (seed 20807, minimised).
        let order = ORDER.replace(r#"then="p"/>"#, r#"then="p" symmetrical="false"/>"#);
        let s = summary(P_AFTER_C, &order, "", ["", &monitor("p", "node2", 0)]);
        assert_eq!(s, ["Start d:0 - node2"]);
    }

    #[test]
    fn a_promotion_from_stopped_starts_the_instance_and_restarts_then() {
        // Checked against crm_simulate (seed 20331, minimised).
        let resources = r#"<primitive id="p" class="ocf" provider="pacemaker" type="Dummy"/>
<clone id="c"><meta_attributes id="c-m"><nvpair id="c-m-1" name="promotable" value="true"/>
<nvpair id="c-m-2" name="clone-max" value="1"/></meta_attributes>
<primitive id="d" class="ocf" provider="pacemaker" type="Stateful"/></clone>"#;
        let order = r#"<rsc_order id="c-p" first="c" then="p"/>"#;
        let score = r#"<nvpair id="ms" name="master-d" value="10"/>"#;
        let s = summary(resources, order, score, [&monitor("p", "node1", 0), ""]);
        assert_eq!(s, ["Restart p node1 node1", "Promote d:0 - node1"]);
    }

    /// t (anonymous, interleave as given) after c, one instance on node2.
    fn c_then_t(interleave: bool, c_meta: &str) -> String {
        format!(
            r#"<clone id="c"><meta_attributes id="c-m">{c_meta}</meta_attributes>
<primitive id="d" class="ocf" provider="pacemaker" type="Dummy"/></clone>
<clone id="t"><meta_attributes id="t-m"><nvpair id="t-m-1" name="interleave" value="{interleave}"/></meta_attributes>
<primitive id="e" class="ocf" provider="pacemaker" type="Dummy"/></clone>"#
        )
    }
    const C_THEN_T: &str = r#"<rsc_order id="c-t" first="c" then="t"/>
<rsc_location id="c-2" rsc="c" node="node2" score="100"/>"#;
    const ONE_INSTANCE: &str = r#"<nvpair id="c-m-1" name="clone-max" value="1"/>"#;
    const DISABLED: &str = r#"<nvpair id="c-m-1" name="target-role" value="Stopped"/>"#;

    #[test]
    fn an_interleaved_instance_without_first_on_its_node_is_not_placed() {
        // Pacemaker unassigns it (multi_update_interleave_actions): no
        // blocked start listed, and it stops where it runs. Checked against
        // crm_simulate.
        let res = c_then_t(true, ONE_INSTANCE);
        let s = summary(&res, C_THEN_T, "", [&monitor("e", "node1", 0), ""]);
        assert_eq!(
            s,
            ["Start d:0 - node2", "Stop e:0 node1 -", "Start e:1 - node2"]
        );
        let s = summary(&c_then_t(true, DISABLED), C_THEN_T, "", ["", ""]);
        assert!(s.is_empty(), "{s:?}");
    }

    #[test]
    fn instances_after_a_clone_that_cannot_start_are_listed_blocked() {
        // Without interleave they are placed and wait for the clone as a
        // whole (seed 20535, minimised; checked against crm_simulate).
        let s = summary(&c_then_t(false, DISABLED), C_THEN_T, "", ["", ""]);
        assert_eq!(s, ["Start e:0 - node1", "Start e:1 - node2"]);
    }

    #[test]
    fn a_clone_after_a_require_all_false_set_is_not_interleaved() {
        // `then` follows the set's one-or-more pseudo action, not the
        // clone in it: with nothing in the set runnable, every instance is
        // a blocked start, interleave or not (seed 40509, minimised;
        // checked against crm_simulate).
        let res = c_then_t(true, DISABLED);
        let cons = r#"<rsc_order id="o"><resource_set id="s1" sequential="false" require-all="false">
<resource_ref id="c"/></resource_set><resource_set id="s2"><resource_ref id="t"/></resource_set></rsc_order>"#;
        let s = summary(&res, cons, "", ["", ""]);
        assert_eq!(s, ["Start e:0 - node1", "Start e:1 - node2"]);
    }

    /// (subject, blocked) of each stop in the plan.
    fn stops(resources: &str, constraints: &str, lrm1: &str) -> Vec<(String, bool)> {
        let plan = two_node_plan(resources, constraints, "", [lrm1, ""]);
        plan.changes
            .iter()
            .filter(|c| c.verb == crate::scheduler::Verb::Stop)
            .map(|c| (c.subject.clone(), c.blocked))
            .collect()
    }

    #[test]
    fn an_unmanaged_later_member_blocks_the_stops_before_it_in_a_cloned_group() {
        // Checked against crm_simulate (seed 20429, minimised).
        let resources = r#"<clone id="c"><group id="g"><primitive id="a" class="ocf" provider="pacemaker" type="Dummy"/>
<primitive id="b" class="ocf" provider="pacemaker" type="Dummy"><meta_attributes id="b-m"><nvpair id="b-m-1" name="is-managed" value="false"/></meta_attributes></primitive></group></clone>"#;
        let ban = r#"<rsc_location id="ban" rsc="c" node="node1" score="-INFINITY"/>"#;
        let lrm1 = monitor("a", "node1", 0) + &monitor("b", "node1", 0);
        assert_eq!(stops(resources, ban, &lrm1), [("a:0".to_string(), true)]);
    }

    #[test]
    fn a_merely_unmanaged_then_group_does_not_block_the_stop_of_first() {
        // Checked against crm_simulate (seed 20426, minimised).
        let resources = r#"<group id="g1"><primitive id="a" class="ocf" provider="pacemaker" type="Dummy"/></group>
<group id="g2"><primitive id="b" class="ocf" provider="pacemaker" type="Dummy"><meta_attributes id="b-m"><nvpair id="b-m-1" name="is-managed" value="false"/></meta_attributes></primitive></group>"#;
        let cons = r#"<rsc_order id="o1" first="g1" then="g2"/>
<rsc_location id="ban1" rsc="g1" node="node1" score="-INFINITY"/>
<rsc_location id="ban2" rsc="g1" node="node2" score="-INFINITY"/>"#;
        let lrm1 = monitor("a", "node1", 0) + &monitor("b", "node1", 0);
        assert_eq!(stops(resources, cons, &lrm1), [("a".to_string(), false)]);
    }
}
