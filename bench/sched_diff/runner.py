"""One differential run: a CIB through crm_verify, crm_simulate and paceline.

The Transition Summaries are compared with the shared checker's own
normalisation (`compare.py`): "exact" is its plain comparison (roles and
"blocked" kept, reasons ignored), "normalised" also replaces clone instance
numbers by `*` and drops the EXTRA field.
"""
import hashlib
import os
import subprocess
import sys
import tempfile
from collections import Counter

from . import generator

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def shared_dir():
    for cand in ("../shared/conformance", "../../shared/conformance"):
        p = os.path.normpath(os.path.join(ROOT, cand))
        if os.path.isdir(p):
            return p
    sys.exit("sched-diff: the shared conformance checker (../shared/conformance) is missing")


sys.path.insert(0, shared_dir())
import compare  # noqa: E402  (the shared checker)

CRM_SIMULATE = "/usr/sbin/crm_simulate"
CRM_VERIFY = "/usr/sbin/crm_verify"
# Every tool run has a bound: a scheduler that loops (either one) on a CIB
# the minimiser made would otherwise hang the whole run.
TIMEOUT_S = 60


def run(argv):
    """The finished process, or None when it ran past TIMEOUT_S (killed)."""
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return None


def cached(tool, path, compute):
    """compute() (a string or None), kept under $SCHED_DIFF_CACHE by the
    CIB's bytes when that is set: Pacemaker's verdict on a CIB never changes,
    so reruns while tuning cost only paceline's side."""
    cache = os.environ.get("SCHED_DIFF_CACHE")
    if not cache:
        return compute()
    with open(path, "rb") as f:
        key = hashlib.sha256(tool.encode() + b"\0" + f.read()).hexdigest()
    entry = os.path.join(cache, key[:2], key)
    if os.path.exists(entry):
        with open(entry) as f:
            text = f.read()
        return None if text == "\0none" else text
    out = compute()
    os.makedirs(os.path.dirname(entry), exist_ok=True)
    tmp = "%s.%d" % (entry, os.getpid())
    with open(tmp, "w") as f:
        f.write("\0none" if out is None else out)
    os.replace(tmp, entry)
    return out


def actions(text, normalised):
    kw = dict(anon=normalised, keep_extra=not normalised)
    out = [compare.normalize_line(l, **kw) for l in compare.transition_lines(text)]
    return sorted(a.rstrip("\t") for a in out if a is not None)


def verify(path):
    """None when crm_verify finds no error (warnings are fine), else its message."""
    return cached("crm_verify", path, lambda: verify_uncached(path))


def verify_uncached(path):
    p = run([CRM_VERIFY, "-V", "-x", path])
    if p is None:
        return "timed out after %d s" % TIMEOUT_S
    text = p.stdout + p.stderr
    if "Errors found" not in text and p.returncode in (0, 78):
        return None
    errs = [l for l in text.splitlines() if "error:" in l]
    return (errs[0] if errs else text.strip().splitlines()[-1]).split("error:")[-1].strip()


def pacemaker(path):
    return cached("crm_simulate", path, lambda: pacemaker_uncached(path))


def pacemaker_uncached(path):
    p = run([CRM_SIMULATE, "-R", "-x", path, "-t", generator.NOW_ISO])
    return p.stdout if p is not None and "Transition Summary:" in p.stdout else None


def paceline(binary, path):
    p = run([binary, "simulate", "--cib", path, "--now", generator.NOW_ISO])
    if p is None:
        return None, "timed out after %d s" % TIMEOUT_S
    if p.returncode != 0 or "Transition Summary:" not in p.stdout:
        first = (p.stderr.strip().splitlines() or ["no output"])[-1]
        return None, first
    return p.stdout, None


def diff(expected, actual):
    """(missing from actual, extra in actual) as lists."""
    e, a = Counter(expected), Counter(actual)
    return sorted((e - a).elements()), sorted((a - e).elements())


def verb_class(missing, extra):
    """A coarse class: the verbs paceline lacks (-) and adds (+)."""
    words = sorted({"-" + m.split("\t")[0] for m in missing} | {"+" + x.split("\t")[0] for x in extra})
    return " ".join(words)


def compare_texts(pcmk_text, pl_text):
    """'exact', 'normalised' or 'differ' and the class/diff of the strictest failing level."""
    ex = diff(actions(pcmk_text, False), actions(pl_text, False))
    if not ex[0] and not ex[1]:
        return "exact", "", ex
    no = diff(actions(pcmk_text, True), actions(pl_text, True))
    if not no[0] and not no[1]:
        return "normalised", "instances/roles only: " + verb_class(*ex), ex
    return "differ", verb_class(*no), no


def check_xml(binary, xml_text, workdir, name, keep=None):
    """Run one CIB; returns a dict with 'verdict' and details.

    With `keep` (a predicate on the result), crm_verify runs only when the
    result satisfies it (the minimiser's cheap rejection of most candidates).
    """
    path = os.path.join(workdir, name + ".xml")
    with open(path, "w") as f:
        f.write(xml_text)
    if keep is None:
        err = verify(path)
        if err is not None:
            return {"verdict": "invalid", "class": "crm_verify: " + err}
    res = run_both(binary, path)
    if keep is not None and keep(res):
        err = verify(path)
        if err is not None:
            return {"verdict": "invalid", "class": "crm_verify: " + err}
    return res


def run_both(binary, path):
    pcmk_text = pacemaker(path)
    if pcmk_text is None:
        return {"verdict": "invalid", "class": "crm_simulate failed"}
    pl_text, pl_err = paceline(binary, path)
    if pl_text is None:
        return {"verdict": "differ", "class": "paceline error: " + pl_err[:80],
                "pacemaker": pcmk_text, "missing": [], "extra": []}
    verdict, cls, (missing, extra) = compare_texts(pcmk_text, pl_text)
    return {"verdict": verdict, "class": cls, "pacemaker": pcmk_text, "paceline": pl_text,
            "missing": missing, "extra": extra}


def run_seed(args):
    binary, seed = args
    with tempfile.TemporaryDirectory(prefix="sched-diff-") as d:
        res = check_xml(binary, generator.generate(seed), d, "cib")
    res["seed"] = seed
    return res
