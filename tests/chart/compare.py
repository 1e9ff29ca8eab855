#!/usr/bin/env python3
"""Compares our chart's render with Bitnami's chart's render of the same values (scripts/test-chart.sh).

    compare.py OURS.json BITNAMI.json --release NAME --namespace NS [--allow-extra KIND/NAMESPACE/NAME ...]

Both files hold what `kubectl apply --dry-run=client -o json` printed for a `helm template` output (the objects as
rendered, parsed by kubectl; no server defaults). Checks, for the kinds both charts render:
  - the same objects (kind, namespace, name), apart from the --allow-extra ones (ours only);
  - the same labels (helm.sh/chart and app.kubernetes.io/version aside: they carry each chart's versions); every
    annotation of Bitnami's object, with the same value, on ours;
  - Deployment: the same selector, replicas, command, arguments, ports, volumes and pod spec, apart from what we
    change on purpose (image, readiness path, POD_NAME/POD_NAMESPACE, the added seccompProfile and
    allowPrivilegeEscalation defaults);
  - Services, PodDisruptionBudget, Ingress, ServiceMonitor: the same spec; NetworkPolicy: the same pod selector;
  - RoleBindings/ClusterRoleBindings: the same roleRef and subjects; Roles/ClusterRoles: ours grant at least what
    Bitnami's grant (so either controller runs under either chart's RBAC).
Prints every difference as `KIND NAMESPACE/NAME: what` and exits 1 if there is one.
"""
import argparse
import json
import sys

COMPARED = {
    "Deployment", "Service", "ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding",
    "NetworkPolicy", "PodDisruptionBudget", "Ingress", "ServiceMonitor", "ConfigMap",
}
VERSIONED_LABELS = {"helm.sh/chart", "app.kubernetes.io/version"}
APPLY_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration"


def load(path):
    """Every object of a file of concatenated JSON values (kubectl prints a List or one object per value)."""
    text = open(path, encoding="utf-8").read()
    dec, pos, out = json.JSONDecoder(), 0, []
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            return out
        value, pos = dec.raw_decode(text, pos)
        out.extend(value.get("items", []) if value.get("kind") == "List" else [value])


def clean(v):
    """Drops what Kubernetes reads as absent: nulls, empty maps and lists, empty strings in maps."""
    if isinstance(v, dict):
        out = {k: clean(x) for k, x in v.items()}
        return {k: x for k, x in out.items() if x not in (None, {}, [], "")}
    if isinstance(v, list):
        return [clean(x) for x in v]
    return v


def key(obj):
    m = obj["metadata"]
    return (obj["kind"], m.get("namespace", ""), m["name"])


def label(k):
    return f"{k[0]} {k[1] + '/' if k[1] else ''}{k[2]}"


class Report:
    def __init__(self):
        self.problems = []

    def add(self, k, what):
        self.problems.append(f"{label(k)}: {what}")

    def same(self, k, what, ours, theirs):
        if ours != theirs:
            self.add(k, f"{what} differs\n      ours:    {json.dumps(ours, sort_keys=True)}\n"
                        f"      Bitnami: {json.dumps(theirs, sort_keys=True)}")


def permissions(rules):
    """Rules as a set of (group, resource, resourceName or '*', verb)."""
    out = set()
    for r in rules or []:
        for g in r.get("apiGroups", []):
            for res in r.get("resources", []):
                for name in r.get("resourceNames") or ["*"]:
                    for verb in r.get("verbs", []):
                        out.add((g, res, name, verb))
    return out


def granted(perm, ours):
    g, res, name, verb = perm
    return perm in ours or (g, res, "*", verb) in ours


def pod_spec(dep, ours):
    spec = clean(json.loads(json.dumps(dep["spec"]["template"]["spec"])))
    for c in spec.get("containers", []):
        c.pop("image", None)
        path = c.get("readinessProbe", {}).get("httpGet", {})
        if ours and path.get("path") == "/readyz":
            path["path"] = "/healthz"  # ours: /readyz (ready once the keys are loaded)
        if ours and c.get("lifecycle") == {"preStop": {"sleep": {"seconds": 3}}}:
            del c["lifecycle"]  # ours: serve 3 s more on deletion while the endpoint leaves the Service
        if ours:
            env = [e for e in c.get("env", []) if e.get("name") not in ("POD_NAME", "POD_NAMESPACE")]
            if env:
                c["env"] = env
            else:
                c.pop("env", None)
            sc = c.get("securityContext", {})
            if sc.get("allowPrivilegeEscalation") is False:
                del sc["allowPrivilegeEscalation"]
    if ours and spec.get("securityContext", {}).get("seccompProfile") == {"type": "RuntimeDefault"}:
        del spec["securityContext"]["seccompProfile"]
        if not spec["securityContext"]:
            del spec["securityContext"]
    return spec


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ours")
    ap.add_argument("bitnami")
    ap.add_argument("--release", required=True)
    ap.add_argument("--namespace", required=True)
    ap.add_argument("--allow-extra", action="append", default=[])
    a = ap.parse_args()
    ours = {key(o): o for o in load(a.ours) if o["kind"] in COMPARED}
    theirs = {key(o): o for o in load(a.bitnami) if o["kind"] in COMPARED}
    allowed = {tuple(x.split("/", 2)) for x in a.allow_extra}
    r = Report()

    for k in sorted(set(theirs) - set(ours)):
        r.add(k, "rendered by Bitnami's chart, missing from ours")
    for k in sorted(set(ours) - set(theirs) - allowed):
        r.add(k, "rendered by ours only (not an allowed extra)")
    for k in sorted(allowed - set(ours)):
        r.add(k, "the expected extra object is missing from ours")

    for k in sorted(set(ours) & set(theirs)):
        o, t = ours[k], theirs[k]
        ol = {x: v for x, v in (o["metadata"].get("labels") or {}).items() if x not in VERSIONED_LABELS}
        tl = {x: v for x, v in (t["metadata"].get("labels") or {}).items() if x not in VERSIONED_LABELS}
        r.same(k, "labels", ol, tl)
        for lk in VERSIONED_LABELS:
            if (lk in (o["metadata"].get("labels") or {})) != (lk in (t["metadata"].get("labels") or {})):
                r.add(k, f"label {lk} present in one chart only")
        oa = {x: v for x, v in (o["metadata"].get("annotations") or {}).items() if x != APPLY_ANNOTATION}
        ta = {x: v for x, v in (t["metadata"].get("annotations") or {}).items() if x != APPLY_ANNOTATION}
        # Ours may add annotations: commonAnnotations are on every object (Bitnami's chart leaves them off a few).
        r.same(k, "annotations", {x: v for x, v in oa.items() if x in ta}, ta)
        kind = k[0]
        if kind == "Deployment":
            os_, ts = o["spec"], t["spec"]
            r.same(k, "spec.selector", os_.get("selector"), ts.get("selector"))
            r.same(k, "spec.replicas", os_.get("replicas"), ts.get("replicas"))
            r.same(k, "spec.revisionHistoryLimit", os_.get("revisionHistoryLimit"), ts.get("revisionHistoryLimit"))
            r.same(k, "pod labels", os_["template"]["metadata"].get("labels"),
                   ts["template"]["metadata"].get("labels"))
            r.same(k, "pod annotations", os_["template"]["metadata"].get("annotations"),
                   ts["template"]["metadata"].get("annotations"))
            oc, tc = os_["template"]["spec"]["containers"][0], ts["template"]["spec"]["containers"][0]
            for f in ("name", "command", "args", "ports"):
                r.same(k, f"container {f}", oc.get(f), tc.get(f))
            op, tp = pod_spec(o, True), pod_spec(t, False)
            for f in sorted(set(op) | set(tp)):
                if f != "containers":
                    r.same(k, f"pod spec.{f}", op.get(f), tp.get(f))
            occ, tcc = op["containers"][0], tp["containers"][0]
            for f in sorted(set(occ) | set(tcc)):
                if f not in ("name", "command", "args", "ports"):
                    r.same(k, f"container {f}", occ.get(f), tcc.get(f))
        elif kind in ("Service", "PodDisruptionBudget", "Ingress", "ServiceMonitor"):
            r.same(k, "spec", clean(o.get("spec")), clean(t.get("spec")))
        elif kind == "NetworkPolicy":
            r.same(k, "spec.podSelector", o["spec"].get("podSelector"), t["spec"].get("podSelector"))
        elif kind in ("RoleBinding", "ClusterRoleBinding"):
            r.same(k, "roleRef", o.get("roleRef"), t.get("roleRef"))
            r.same(k, "subjects", clean(o.get("subjects")), clean(t.get("subjects")))
        elif kind in ("Role", "ClusterRole"):
            mine = permissions(o.get("rules"))
            missing = sorted(p for p in permissions(t.get("rules")) if not granted(p, mine))
            if missing:
                r.add(k, "ours does not grant " + ", ".join("/".join(p) for p in missing))

    if r.problems:
        print(f"{len(r.problems)} difference(s) between our chart and Bitnami's "
              f"(release {a.release}, namespace {a.namespace}):")
        for p in r.problems:
            print("  - " + p)
        return 1
    print(f"same as Bitnami's chart: {len(theirs)} objects (release {a.release}), "
          f"{len(set(ours) - set(theirs))} allowed extra")
    return 0


if __name__ == "__main__":
    sys.exit(main())
