"""Shrinks a disagreeing CIB while the disagreement persists.

Greedy delta debugging over the XML tree: one candidate element at a time
(a node with its status, a resource with its history and the constraints
naming it, a group member, a constraint, a set member, an lrm_resource, an
operation record, a transient attribute, a meta attribute) is removed; the
removal is kept when the CIB still passes crm_verify and the two schedulers
still disagree on the same action. Passes repeat until nothing more goes.
"""
import copy
import xml.etree.ElementTree as ET

from . import runner

RESOURCE_TAGS = ("primitive", "group", "clone", "master", "bundle")
NAMING_ATTRS = ("rsc", "with-rsc", "first", "then", "id")


def ids_within(el):
    return {e.get("id") for e in el.iter() if e.tag in RESOURCE_TAGS and e.get("id")}


def drop_references(root, ids):
    """Removes the constraints, set members and histories naming `ids`."""
    cons = root.find("configuration/constraints")
    for c in list(cons) if cons is not None else []:
        named = {c.get(a) for a in ("rsc", "with-rsc", "first", "then")}
        named |= {r.get("id") for r in c.iter("resource_ref")}
        if named & ids:
            cons.remove(c)
    for lrms in root.iter("lrm_resources"):
        for lr in list(lrms):
            if lr.get("id", "").split(":")[0] in ids:
                lrms.remove(lr)


def parent_map(root):
    return {c: p for p in root.iter() for c in p}


def candidates(root):
    """Paths (as a describable recipe) of removable elements, biggest first."""
    out = []
    for n in root.iterfind("configuration/nodes/node"):
        out.append(("node", n.get("uname")))
    res = root.find("configuration/resources")
    for r in list(res) if res is not None else []:
        out.append(("resource", r.get("id")))
    for e in root.iter():
        if e.tag == "group":
            out.extend(("member", p.get("id")) for p in e.findall("primitive"))
    cons = root.find("configuration/constraints")
    for c in list(cons) if cons is not None else []:
        out.append(("constraint", c.get("id")))
        out.extend((r.tag, r.get("id")) for r in c.iter() if r.tag in ("resource_set", "expression",
                                                                       "date_expression"))
    for e in root.iter():
        if e.tag in ("lrm_resource", "lrm_rsc_op", "nvpair", "meta_attributes", "utilization",
                     "instance_attributes", "op", "rsc_defaults"):
            out.append((e.tag, e.get("id")))
    return out


def cons_of(root):
    cons = root.find("configuration/constraints")
    return list(cons) if cons is not None else []


def apply(root, cand):
    """A copy of root with the candidate removed, or None if it no longer exists."""
    root = copy.deepcopy(root)
    parents = parent_map(root)
    kind, key = cand
    if kind == "node":
        for e in list(root.iter()):
            if e.tag in ("node", "node_state") and e.get("uname") == key:
                parents[e].remove(e)
        cons = root.find("configuration/constraints")
        for c in list(cons) if cons is not None else []:
            if c.get("node") == key:
                cons.remove(c)
        return root
    target = None
    for e in root.iter():
        if kind in ("resource", "member"):
            hit = e.tag in RESOURCE_TAGS and e.get("id") == key
        elif kind == "constraint":
            hit = e in cons_of(root) and e.get("id") == key
        else:  # kind is the element's tag; ids repeat across tags (node, lrm)
            hit = e.tag == kind and e.get("id") == key
        if hit and e in parents:
            target = e
            break
    if target is None:
        return None
    if kind in ("resource", "member"):
        drop_references(root, ids_within(target))
    parents[target].remove(target)
    return root


def to_text(root):
    return ET.tostring(root, encoding="unicode") + "\n"


def target_line(res):
    """The first differing action of a result: what minimising keeps."""
    lines = ["-" + m for m in res["missing"]] + ["+" + x for x in res["extra"]]
    return lines[0] if lines else None


def still_differs(res, verdict, target):
    """Whether `res` keeps the disagreement `target` ('-' or '+' line)."""
    if res["verdict"] != verdict or "missing" not in res:
        return False
    lines = {"-" + m for m in res["missing"]} | {"+" + x for x in res["extra"]}
    return target in lines


def minimise(binary, xml_text, workdir, verdict, target, budget=400):
    """The smallest CIB found on which `target` still differs.

    `target` is one differing action as `target_line` gives it: keeping one
    action (not the whole class) lets unrelated differences go, so each
    minimal CIB shows one disagreement.
    """
    root = ET.fromstring(xml_text)
    tries = 0
    changed = True
    while changed and tries < budget:
        changed = False
        for cand in candidates(root):
            if tries >= budget:
                break
            smaller = apply(root, cand)
            if smaller is None:
                continue
            tries += 1
            res = runner.check_xml(binary, to_text(smaller), workdir, "min",
                                   keep=lambda r: still_differs(r, verdict, target))
            if still_differs(res, verdict, target):
                root = smaller
                changed = True
    return to_text(root)
