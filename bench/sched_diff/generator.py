"""Seeded generator of random Pacemaker CIBs (configuration and status).

`generate(seed)` returns the CIB text; the same seed gives the same CIB on
every machine (only `random.Random(seed)` draws are used). The weights below
pick what a configuration holds; they were tuned so that almost every CIB
passes `crm_verify` and two-node clusters dominate.
"""
import random
from xml.sax.saxutils import quoteattr

# The instant both schedulers evaluate rules and failure expiry at.
NOW = 1790000000  # 2026-09-21T14:13:20Z
NOW_ISO = "2026-09-21T14:13:20Z"

NODE_COUNTS = [(1, 4), (2, 45), (3, 15), (4, 10), (5, 8), (6, 5), (8, 5), (12, 4), (16, 4)]
NODE_STATES = [("online", 70), ("standby", 7), ("offline", 8), ("unclean", 6),
               ("maintenance", 3), ("pending", 2), ("shutdown", 4)]
TOP_KINDS = [("primitive", 45), ("group", 15), ("clone", 15), ("promotable", 12),
             ("clone-group", 5), ("unique-clone", 8)]
SCORES = ["INFINITY", "-INFINITY", "100", "-100", "500", "-500", "50", "1000", "-1000", "10"]
INSTANCE_STATES = [("running", 50), ("stopped", 12), ("none", 10), ("failed-monitor", 6),
                   ("failed-start", 6), ("failed-stop", 3), ("pending-start", 3),
                   ("probe-stopped", 6), ("failed-promote", 2), ("pending-stop", 1)]
UUID = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
# The parameter digest of an agent run without parameters (as Pacemaker
# computes it): a missing digest would read as a definition change.
EMPTY_DIGEST = "f2317cad3d54cec5d7d7aa7d0bf35cf8"


def pick(r, weighted):
    total = sum(w for _, w in weighted)
    x = r.uniform(0, total)
    for v, w in weighted:
        x -= w
        if x <= 0:
            return v
    return weighted[-1][0]


# Attribute names Pacemaker spells with underscores; the others take dashes.
UNDERSCORED = {"crm_feature_set", "num_updates", "admin_epoch", "operation_key", "on_node",
               "in_ccm"}


def attrs(**kw):
    return "".join(" %s=%s" % (k if k in UNDERSCORED else k.replace("_", "-"), quoteattr(str(v)))
                   for k, v in kw.items() if v is not None)


class Prim:
    def __init__(self, rid, stateful=False):
        self.id, self.stateful = rid, stateful
        self.meta, self.util = {}, {}
        self.monitor_on_fail = None


class Group:
    def __init__(self, rid, members):
        self.id, self.members, self.meta = rid, members, {}


class Clone:
    def __init__(self, rid, child, promotable=False, unique=False):
        self.id, self.child, self.meta = rid, child, {}
        self.promotable, self.unique = promotable, unique

    def prims(self):
        return self.child.members if isinstance(self.child, Group) else [self.child]


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)
        self.n_id = 0

    def nid(self, prefix):
        self.n_id += 1
        return "%s-%d" % (prefix, self.n_id)

    # ---------------------------------------------------------------- nodes
    def make_nodes(self):
        r = self.r
        n = pick(r, NODE_COUNTS)
        self.nodes = ["node%d" % (i + 1) for i in range(n)]
        self.state = {x: pick(r, NODE_STATES) for x in self.nodes}
        if r.random() < 0.5:
            self.state[self.nodes[0]] = "online"
        self.node_attr = {x: {"site": r.choice("ab"), "ram": r.choice([1, 2, 4, 8])}
                          for x in self.nodes}
        self.node_util = {x: {"cpu": r.choice([1, 2, 4, 8]), "mem": r.choice([2, 4, 16])}
                          for x in self.nodes}

    def usable(self):
        return [x for x in self.nodes if self.state[x] in ("online", "standby", "maintenance")]

    # ------------------------------------------------------------ resources
    def make_prim(self, stateful=False):
        r = self.r
        p = Prim(self.nid("rsc"), stateful)
        if r.random() < 0.12:
            p.meta["resource-stickiness"] = r.choice([0, 1, 100, "INFINITY"])
        if r.random() < 0.08:
            p.meta["migration-threshold"] = r.choice([1, 2, 3])
        if r.random() < 0.06:
            p.meta["failure-timeout"] = r.choice(["60s", "10m", "2h"])
        if r.random() < 0.05:
            p.meta["is-managed"] = "false"
        if r.random() < 0.06:
            p.meta["target-role"] = r.choice(["Stopped", "Started"])
        if r.random() < 0.08:
            p.monitor_on_fail = r.choice(["restart", "ignore", "block", "stop", "standby"]
                                         + (["fence"] if self.stonith else [])
                                         + (["demote"] if stateful else []))
        if self.strategy != "default" and r.random() < 0.8:
            p.util = {"cpu": r.choice([1, 2, 3]), "mem": r.choice([1, 2, 4])}
        self.prims.append(p)
        return p

    def top_meta(self, obj, promotable=False):
        r = self.r
        if r.random() < 0.15:
            obj.meta["priority"] = r.choice([1, 5, 10])
        if r.random() < 0.1:
            obj.meta["resource-stickiness"] = r.choice([0, 50, 200, "INFINITY"])
        if r.random() < 0.05:
            roles = ["Stopped", "Started"] + (["Unpromoted", "Promoted"] if promotable else [])
            obj.meta["target-role"] = r.choice(roles)
        if r.random() < 0.03:
            obj.meta["is-managed"] = "false"

    def make_resources(self):
        r = self.r
        self.prims, self.tops = [], []
        for _ in range(pick(r, [(1, 10), (2, 20), (3, 20), (4, 15), (6, 15), (9, 10), (14, 6)])):
            kind = pick(r, TOP_KINDS)
            if kind == "primitive":
                obj = self.make_prim()
            elif kind == "group":
                obj = Group(self.nid("grp"), [self.make_prim() for _ in range(r.randint(2, 4))])
            else:
                child = (Group(self.nid("cgrp"), [self.make_prim() for _ in range(r.randint(2, 3))])
                         if kind == "clone-group" else self.make_prim(kind == "promotable"))
                obj = Clone(self.nid("cln"), child, kind == "promotable", kind == "unique-clone")
                self.clone_meta(obj)
            self.top_meta(obj, kind == "promotable")
            self.tops.append(obj)
        clones = [t for t in self.tops if isinstance(t, Clone)]
        if any(c.meta.get("clone-node-max", 1) != 1 for c in clones):
            for c in clones:  # interleaving needs equal per-node instance counts
                c.meta.pop("interleave", None)

    def clone_meta(self, c):
        r = self.r
        if c.unique:
            c.meta["globally-unique"] = "true"
            c.meta["clone-max"] = r.randint(1, max(2, len(self.nodes) + 1))
            c.meta["clone-node-max"] = r.choice([1, 1, 2])
        elif r.random() < 0.3:
            c.meta["clone-max"] = r.randint(1, max(1, len(self.nodes)))
        if c.promotable:
            c.meta["promotable"] = "true"
            if r.random() < 0.2:
                c.meta["promoted-max"] = 2
        if r.random() < 0.3:
            c.meta["interleave"] = "true"
        if r.random() < 0.1:
            c.meta["ordered"] = "true"

    # ---------------------------------------------------------- constraints
    def rule_xml(self, score_attr):
        r = self.r
        rid = self.nid("rule")
        exprs = []
        for _ in range(r.randint(1, 2)):
            k = pick(r, [("site", 4), ("uname", 3), ("ram", 2), ("defined", 1), ("date", 3)])
            eid = self.nid("expr")
            if k == "site":
                exprs.append('<expression%s/>' % attrs(id=eid, attribute="site",
                             operation=r.choice(["eq", "ne"]), value=r.choice("ab")))
            elif k == "uname":
                exprs.append('<expression%s/>' % attrs(id=eid, attribute="#uname",
                             operation=r.choice(["eq", "ne"]), value=r.choice(self.nodes)))
            elif k == "ram":
                exprs.append('<expression%s/>' % attrs(id=eid, attribute="ram", type="number",
                             operation=r.choice(["gt", "lt", "gte"]), value=r.choice([1, 2, 4])))
            elif k == "defined":
                exprs.append('<expression%s/>' % attrs(id=eid, attribute=r.choice(["site", "nope"]),
                             operation=r.choice(["defined", "not_defined"])))
            else:
                exprs.append(self.date_xml(eid))
        op = r.choice(["and", "or"]) if len(exprs) > 1 else None
        return '<rule%s>%s</rule>' % (attrs(id=rid, score=score_attr, boolean_op=op), "".join(exprs))

    def date_xml(self, eid):
        r = self.r
        past, future = "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z"
        op = r.choice(["gt", "lt", "in_range"])
        if op == "gt":
            return '<date_expression%s/>' % attrs(id=eid, operation="gt", start=r.choice([past, future]))
        if op == "lt":
            return '<date_expression%s/>' % attrs(id=eid, operation="lt", end=r.choice([past, future]))
        return '<date_expression%s/>' % attrs(id=eid, operation="in_range", start=past,
                                             end=r.choice([future, "2026-06-01T00:00:00Z"]))

    def targets(self):
        """Ids a constraint may name: top-level resources and group members."""
        out = [t.id for t in self.tops]
        for t in self.tops:
            if isinstance(t, Group) and self.r.random() < 0.3:
                out.append(self.r.choice(t.members).id)
        return out

    def promotable_ids(self):
        return {t.id for t in self.tops if isinstance(t, Clone) and t.promotable}

    def make_constraints(self):
        r = self.r
        self.cons = []
        ids = self.targets()
        order = list(ids)
        r.shuffle(order)  # constraints go forward in this order: no loops
        for _ in range(pick(r, [(0, 15), (1, 20), (2, 20), (4, 20), (7, 15), (12, 10)])):
            k = pick(r, [("location", 4), ("colocation", 4), ("order", 4),
                         ("colocation-set", 1), ("order-set", 1)])
            getattr(self, "c_" + k.replace("-", "_"))(order)

    def c_location(self, order):
        r = self.r
        rsc = r.choice(order)
        role = r.choice([None, "Promoted"]) if rsc in self.promotable_ids() else None
        cid = self.nid("loc")
        if r.random() < 0.6:
            self.cons.append('<rsc_location%s/>' % attrs(id=cid, rsc=rsc, role=role,
                             node=r.choice(self.nodes), score=r.choice(SCORES)))
        else:
            self.cons.append('<rsc_location%s>%s</rsc_location>' % (
                attrs(id=cid, rsc=rsc, role=role), self.rule_xml(r.choice(SCORES))))

    def pair(self, order):
        if len(order) < 2:
            return None
        i, j = sorted(self.r.sample(range(len(order)), 2))
        return order[i], order[j]

    def same_family(self, a, b):
        for t in self.tops:
            if isinstance(t, Group):
                ids = {t.id} | {m.id for m in t.members}
                if a in ids and b in ids:
                    return True
        return False

    def c_colocation(self, order):
        r = self.r
        p = self.pair(order)
        if not p or self.same_family(*p):
            return
        primary, dependent = p
        proms = self.promotable_ids()
        rr = r.choice([None, "Promoted", "Unpromoted"]) if dependent in proms else None
        wr = r.choice([None, "Promoted", "Unpromoted"]) if primary in proms else None
        self.cons.append('<rsc_colocation%s/>' % attrs(
            id=self.nid("col"), rsc=dependent, with_rsc=primary, score=r.choice(SCORES),
            rsc_role=rr, with_rsc_role=wr))

    def c_order(self, order):
        r = self.r
        p = self.pair(order)
        if not p or self.same_family(*p):
            return
        first, then = p
        proms = self.promotable_ids()
        kind = pick(r, [(None, 5), ("Mandatory", 2), ("Optional", 3), ("Serialize", 1)])
        fa = r.choice(["start", "promote", "demote", "stop"]) if first in proms and r.random() < 0.5 \
            else (r.choice(["start", "stop"]) if r.random() < 0.15 else None)
        ta = r.choice(["start", "promote", "demote", "stop"]) if then in proms and r.random() < 0.5 \
            else (r.choice(["start", "stop"]) if r.random() < 0.15 else None)
        sym = "false" if r.random() < 0.2 and kind != "Serialize" else None
        if kind == "Serialize":
            fa = ta = None
        self.cons.append('<rsc_order%s/>' % attrs(
            id=self.nid("ord"), first=first, then=then, kind=kind, first_action=fa,
            then_action=ta, symmetrical=sym))

    def set_xml(self, members, role=None, sequential=None, require_all=None):
        refs = "".join('<resource_ref id=%s/>' % quoteattr(m) for m in members)
        return '<resource_set%s>%s</resource_set>' % (
            attrs(id=self.nid("set"), sequential=sequential, role=role, require_all=require_all), refs)

    def set_members(self, order):
        r = self.r
        if len(order) < 2:
            return None
        k = r.randint(2, min(4, len(order)))
        idx = sorted(r.sample(range(len(order)), k))
        members = [order[i] for i in idx]
        for a in members:
            for b in members:
                if a != b and self.same_family(a, b):
                    return None
        return members

    def c_colocation_set(self, order):
        r = self.r
        m = self.set_members(order)
        if not m:
            return
        m.reverse()  # in a colocation set each resource follows the one before it
        seq = r.choice([None, "false"])
        sets = [self.set_xml(m, sequential=seq)]
        if r.random() < 0.3 and len(m) >= 3:
            sets = [self.set_xml(m[:1]), self.set_xml(m[1:], sequential="false")]
        self.cons.append('<rsc_colocation%s>%s</rsc_colocation>' % (
            attrs(id=self.nid("colset"), score=r.choice(["INFINITY", "-INFINITY", "500", "-100"])),
            "".join(sets)))

    def c_order_set(self, order):
        r = self.r
        m = self.set_members(order)
        if not m:
            return
        sets = [self.set_xml(m, sequential=r.choice([None, "false"]))]
        if r.random() < 0.4 and len(m) >= 3:
            sets = [self.set_xml(m[:2], sequential="false", require_all=r.choice([None, "false"])),
                    self.set_xml(m[2:])]
        kind = pick(r, [(None, 4), ("Optional", 2), ("Serialize", 1)])
        self.cons.append('<rsc_order%s>%s</rsc_order>' % (
            attrs(id=self.nid("ordset"), kind=kind,
                  symmetrical="false" if r.random() < 0.15 and kind != "Serialize" else None),
            "".join(sets)))

    # --------------------------------------------------------------- status
    def instances(self):
        """(lrm id, prim, clone or None, allowed node count) of every instance."""
        out = []
        for t in self.tops:
            if isinstance(t, Prim):
                out.append((t, None, "single"))
            elif isinstance(t, Group):
                out.extend((m, None, "member") for m in t.members)
            else:
                out.extend((m, t, "clone") for m in t.prims())
        return out

    def make_status(self):
        r = self.r
        self.lrm = {x: [] for x in self.nodes}    # node -> [(lrm id, ops xml)]
        self.tattrs = {x: {} for x in self.nodes}
        self.call = 10
        for t in self.tops:
            if isinstance(t, Clone):
                self.clone_status(t)
            elif isinstance(t, Group):
                node = self.where()
                running = r.randint(0, len(t.members)) if node else 0
                for i, m in enumerate(t.members):
                    if node and i < running:
                        self.put(m.id, m, node, self.inst_state(False))
                    elif node and r.random() < 0.3:
                        self.put(m.id, m, node, "stopped")
            else:
                node = self.where()
                if node:
                    self.put(t.id, t, node, self.inst_state(False))

    def where(self):
        r = self.r
        if r.random() < 0.25:
            return None
        cands = [x for x in self.nodes if self.state[x] != "pending"]
        return r.choice(cands) if cands else None

    def inst_state(self, stateful):
        s = pick(self.r, INSTANCE_STATES)
        if s == "failed-promote" and not stateful:
            s = "failed-monitor"
        return s

    def clone_status(self, c):
        r = self.r
        for i, m in enumerate(c.prims()):
            if c.unique:
                for k in range(int(c.meta.get("clone-max", len(self.nodes)))):
                    node = self.where()
                    if node:
                        self.put("%s:%d" % (m.id, k), m, node, self.inst_state(c.promotable))
                continue
            for node in self.nodes:
                if r.random() < 0.55 and self.state[node] != "pending":
                    st = self.inst_state(c.promotable)
                    if c.promotable and st == "running" and r.random() < 0.4:
                        st = "promoted"
                    self.put(m.id, m, node, st)
            if c.promotable:
                for node in self.nodes:
                    if r.random() < 0.7:
                        self.tattrs[node]["master-" + m.id] = r.choice([5, 10, 10, 100, 1000])

    def op(self, rid, node, name, interval, rc, status=0, call=None, target=0, key=None, ago=None):
        if call is None:
            self.call += 1
            call = self.call
        ago = self.r.randint(30, 4000) if ago is None else ago
        opkey = "%s_%s_%d" % (rid, name, interval)
        xid = key or ("%s_last_0" % rid if interval == 0 else "%s_%s_%d" % (rid, name, interval))
        tkey = "1:%d:%d:%s" % (call, target, UUID)
        return '<lrm_rsc_op%s/>' % attrs(
            id=xid, operation_key=opkey, operation=name, crm_debug_origin="crm_simulate",
            crm_feature_set="3.16.2", transition_key=tkey,
            transition_magic="%d:%d;%s" % (status, rc, tkey), exit_reason="", on_node=node,
            call_id=call, rc_code=rc, op_status=status, interval=interval,
            last_rc_change=NOW - ago, exec_time=10, queue_time=0, op_digest=EMPTY_DIGEST)

    def fail(self, rid, node, op_key, value=None):
        r = self.r
        v = value if value is not None else r.choice([1, 1, 2, 3, "INFINITY"])
        self.tattrs[node]["fail-count-%s#%s" % (rid, op_key)] = v
        self.tattrs[node]["last-failure-%s#%s" % (rid, op_key)] = NOW - r.randint(30, 4000)

    def put(self, rid, prim, node, st):
        r = self.r
        ops = []
        if self.state[node] == "unclean" and st not in ("running", "promoted", "stopped"):
            # Pacemaker 2.1.5 schedules failure clean-ups and monitors on an
            # unclean node and then reports its own "(bug?)" error for them.
            st = "running"
        mon = 11000 if prim.stateful else 10000
        if st == "none":
            return
        if st == "running":
            ops = [self.op(rid, node, "start", 0, 0), self.op(rid, node, "monitor", mon, 0)]
        elif st == "promoted":
            ops = [self.op(rid, node, "promote", 0, 0),
                   self.op(rid, node, "monitor", 10000, 8, target=8)]
        elif st == "stopped":
            ops = [self.op(rid, node, "stop", 0, 0)]
        elif st == "probe-stopped":
            ops = [self.op(rid, node, "monitor", 0, 7, target=7)]
        elif st == "failed-monitor":
            ago = r.randint(30, 4000)
            ops = [self.op(rid, node, "start", 0, 0),
                   self.op(rid, node, "monitor", mon, 7, ago=ago),
                   self.op(rid, node, "monitor", mon, 7, key="%s_last_failure_0" % rid, ago=ago)]
            self.fail(rid, node, "monitor_%d" % mon)
        elif st == "failed-start":
            ago = r.randint(30, 4000)
            ops = [self.op(rid, node, "start", 0, 1, ago=ago),
                   self.op(rid, node, "start", 0, 1, key="%s_last_failure_0" % rid, ago=ago)]
            self.fail(rid, node, "start_0", "INFINITY" if r.random() < 0.7 else 1)
        elif st == "failed-stop":
            ops = [self.op(rid, node, "stop", 0, 1),
                   self.op(rid, node, "stop", 0, 1, key="%s_last_failure_0" % rid)]
            self.fail(rid, node, "stop_0", "INFINITY")
        elif st == "failed-promote":
            ops = [self.op(rid, node, "promote", 0, 1),
                   self.op(rid, node, "promote", 0, 1, key="%s_last_failure_0" % rid)]
            self.fail(rid, node, "promote_0")
        elif st == "pending-start":
            ops = [self.op(rid, node, "start", 0, 193, status=-1, call=-1)]
        elif st == "pending-stop":
            ops = [self.op(rid, node, "start", 0, 0, key="%s_monitor_0" % rid),
                   self.op(rid, node, "stop", 0, 193, status=-1, call=-1)]
        kind = "Stateful" if prim.stateful else "Dummy"
        self.lrm[node].append('<lrm_resource%s>%s</lrm_resource>' % (
            attrs(id=rid, type=kind, **{"class": "ocf"}, provider="pacemaker"), "".join(ops)))

    # ------------------------------------------------------------------ XML
    def prim_xml(self, p):
        kind = "Stateful" if p.stateful else "Dummy"
        ops = []
        if p.stateful:
            ops.append('<op%s/>' % attrs(id=p.id + "-mon-p", name="monitor", interval="10s",
                                         role="Promoted", on_fail=p.monitor_on_fail))
            unp_fail = None if p.monitor_on_fail == "demote" else p.monitor_on_fail
            ops.append('<op%s/>' % attrs(id=p.id + "-mon-u", name="monitor", interval="11s",
                                         role="Unpromoted", on_fail=unp_fail))
        else:
            ops.append('<op%s/>' % attrs(id=p.id + "-mon", name="monitor", interval="10s",
                                         on_fail=p.monitor_on_fail))
        return '<primitive%s>%s%s<operations>%s</operations></primitive>' % (
            attrs(id=p.id, **{"class": "ocf"}, provider="pacemaker", type=kind),
            self.nv("meta_attributes", p.id + "-meta", p.meta),
            self.nv("utilization", p.id + "-util", p.util), "".join(ops))

    def nv(self, tag, sid, pairs):
        if not pairs:
            return ""
        body = "".join('<nvpair%s/>' % attrs(id="%s-%s" % (sid, k), name=k, value=v)
                       for k, v in pairs.items())
        return '<%s id=%s>%s</%s>' % (tag, quoteattr(sid), body, tag)

    def top_xml(self, t):
        if isinstance(t, Prim):
            return self.prim_xml(t)
        if isinstance(t, Group):
            return '<group id=%s>%s%s</group>' % (
                quoteattr(t.id), self.nv("meta_attributes", t.id + "-meta", t.meta),
                "".join(self.prim_xml(m) for m in t.members))
        child = (self.top_xml(t.child) if isinstance(t.child, Group) else self.prim_xml(t.child))
        return '<clone id=%s>%s%s</clone>' % (
            quoteattr(t.id), self.nv("meta_attributes", t.id + "-meta", t.meta), child)

    def node_state_xml(self, node, i):
        st = self.state[node]
        flags = {
            "online": ("true", "online", "member", "member"),
            "standby": ("true", "online", "member", "member"),
            "maintenance": ("true", "online", "member", "member"),
            "offline": ("false", "offline", "down", "down"),
            "unclean": ("false", "offline", "member", "member"),
            "pending": ("true", "online", "pending", "member"),
            "shutdown": ("true", "online", "member", "member"),
        }[st]
        ta = dict(self.tattrs[node])
        if st == "shutdown":
            ta["shutdown"] = NOW - 60
        body = ""
        if ta:
            body += '<transient_attributes id=%s>%s</transient_attributes>' % (
                quoteattr(str(i)), self.nv("instance_attributes", "status-%d" % i, ta))
        body += '<lrm id=%s><lrm_resources>%s</lrm_resources></lrm>' % (
            quoteattr(str(i)), "".join(self.lrm[node]))
        return '<node_state%s>%s</node_state>' % (attrs(
            id=i, uname=node, in_ccm=flags[0], crmd=flags[1], crm_debug_origin="crm_simulate",
            join=flags[2], expected=flags[3]), body)

    def node_xml(self, node, i):
        a = dict(self.node_attr[node])
        if self.state[node] == "standby":
            a["standby"] = "on"
        if self.state[node] == "maintenance":
            a["maintenance"] = "true"
        util = self.node_util[node] if self.strategy != "default" else {}
        return '<node%s>%s%s</node>' % (attrs(id=i, uname=node, type="member"),
                                         self.nv("instance_attributes", "nodes-%d" % i, a),
                                         self.nv("utilization", "nodes-%d-util" % i, util))

    def cluster_options(self):
        r = self.r
        o = {"stonith-enabled": "true" if self.stonith else "false"}
        if r.random() < 0.25 or not self.quorate:
            o["no-quorum-policy"] = r.choice(["stop", "freeze", "ignore", "demote"]
                                             + (["suicide"] if self.stonith else []))
        if self.strategy != "default":
            o["placement-strategy"] = self.strategy
        if r.random() < 0.05:
            o["symmetric-cluster"] = "false"
        if r.random() < 0.05:
            o["stop-all-resources"] = "true"
        if r.random() < 0.05:
            o["maintenance-mode"] = "true"
        if r.random() < 0.08:
            o["start-failure-is-fatal"] = "false"
        return o

    def cib(self):
        r = self.r
        self.make_nodes()
        self.stonith = r.random() < 0.5
        self.quorate = r.random() < 0.88
        self.strategy = pick(r, [("default", 80), ("utilization", 7), ("minimal", 6), ("balanced", 7)])
        self.make_resources()
        self.make_constraints()
        self.make_status()
        opts = self.cluster_options()
        res = "".join(self.top_xml(t) for t in self.tops)
        if self.stonith:
            res = '<primitive id="fencing" class="stonith" type="fence_dummy"/>' + res
        defaults = ""
        if r.random() < 0.2:
            defaults = '<rsc_defaults>%s</rsc_defaults>' % self.nv(
                "meta_attributes", "rsc-options",
                {"resource-stickiness": r.choice([1, 10, 100, "INFINITY"])})
        dc = next((i + 1 for i, x in enumerate(self.nodes)
                   if self.state[x] in ("online", "standby", "maintenance", "shutdown")), None)
        return "\n".join([
            '<cib%s>' % attrs(crm_feature_set="3.16.2", validate_with="pacemaker-3.7", epoch=1,
                              num_updates=0, admin_epoch=0, have_quorum=1 if self.quorate else 0,
                              dc_uuid=dc, execution_date=NOW),
            '<configuration><crm_config>%s</crm_config>' % self.nv(
                "cluster_property_set", "cib-bootstrap-options", opts),
            '<nodes>%s</nodes>' % "".join(self.node_xml(x, i + 1) for i, x in enumerate(self.nodes)),
            '<resources>%s</resources>' % res,
            '<constraints>%s</constraints>' % "".join(self.cons),
            defaults,
            '</configuration>',
            '<status>%s</status>' % "".join(self.node_state_xml(x, i + 1)
                                             for i, x in enumerate(self.nodes)),
            '</cib>', ""])


def generate(seed):
    return Gen(seed).cib()


if __name__ == "__main__":
    import sys
    sys.stdout.write(generate(int(sys.argv[1])))
