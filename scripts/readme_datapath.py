#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""readme_datapath.py - the tables of README "Datapath cost" from one
`make bench-datapath` log, so that the README quotes what the command
printed and nothing by hand:

  python3 scripts/readme_datapath.py LOG > /tmp/tables.md

Prints, each under a marker line "<!-- NAME -->": the verdict block
(VERDICT, SPREAD, FLOOR, RUNTIME and FALLBACK lines), the real-traffic
table, the real path's table of steps, the in-kernel table (worst of IPv4 and IPv6 per scenario and
number of endpoints; bound from the scenario's VERDICT line), the table
of steps and the local-socket table (bench_host).  The prose around them
is written by hand.  Exit 1 if a part is missing from the log.
"""
import re
import sys


def section(lines, start_pred, stop_pred):
    out, on = [], False
    for ln in lines:
        if not on and start_pred(ln):
            on = True
        elif on and stop_pred(ln):
            break
        if on:
            out.append(ln)
    return out


def verdicts(lines):
    return [ln for ln in section(lines, lambda l: l == "== Verdicts", lambda l: l == "")[1:]]


def real_traffic(lines):
    return section(lines, lambda l: l.startswith("| real traffic"), lambda l: not l.startswith("|"))


ROW = re.compile(r"^\s+(IPv4|IPv6)\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)x\s+([\d.]+)x"
                 r"\s+([+-][\d.]+)\s+([+-][\d.]+)")


def in_kernel(lines):
    """{scenario: {(family, n): (empty, edge_ratio, up_ratio, edge_add, up_add)}} in order."""
    scen, cur = {}, None
    body = section(lines, lambda l: l.startswith("In-kernel cost"), lambda l: l.startswith("Where the pod edge"))
    for ln in body:
        m = ROW.match(ln)
        if m and cur:
            fam, n, empty, _, _, re_, ru, ae, au = m.groups()
            scen[cur][(fam, int(n))] = (float(empty), float(re_), float(ru), float(ae), float(au))
        elif ln.endswith("mode)"):
            cur = ln
            scen[cur] = {}
    return scen


def bound_of(lines, scenario):
    name = re.sub(r" \((repeat|fresh) mode\)$", "", scenario)
    for ln in lines:
        if ln.startswith("VERDICT   in-kernel, " + name + ":"):
            m = re.search(r"required <= ([\d.]+)x", ln)
            return "<= %sx" % m.group(1).rstrip("0").rstrip(".") if m else ""
    return ""


def kernel_table(lines):
    scen = in_kernel(lines)
    out = ["| scenario (mode) | bound | 10 endpoints: pod edge / uplink | 10,000 | 100,000 | empty (ns) | added ns, 10 endpoints, IPv4 |",
           "|---|---:|---:|---:|---:|---:|---:|"]
    for name, rows in scen.items():
        cells = []
        for n in (10, 10000, 100000):
            r = [rows[(f, n)] for f in ("IPv4", "IPv6") if (f, n) in rows]
            cells.append("%.2fx / %.2fx" % (max(x[1] for x in r), max(x[2] for x in r)))
        empties = [x[0] for x in rows.values()]
        v4 = rows.get(("IPv4", 10))
        mode = "repeat" if name.endswith("(repeat mode)") else "fresh"
        label = re.sub(r" \((repeat|fresh) mode\)$", " (%s)" % mode, name)
        out.append("| %s | %s | %s | %.0f-%.0f | %s |" % (
            label, bound_of(lines, name), " | ".join(cells), min(empties), max(empties),
            "+%.0f / +%.0f" % (v4[3], v4[4]) if v4 else ""))
    return out


def steps_table(lines):
    return section(lines, lambda l: l.startswith("| step | IPv4 ns"), lambda l: not l.startswith("|"))


def real_steps_table(lines):
    return section(lines, lambda l: l.startswith("| step | ns per run"), lambda l: not l.startswith("|"))


def host_table(lines):
    return section(lines, lambda l: l.startswith("| case | ns/run"), lambda l: not l.startswith("|"))


def main():
    if len(sys.argv) != 2:
        print("usage: readme_datapath.py LOG", file=sys.stderr)
        return 2
    lines = open(sys.argv[1]).read().splitlines()
    parts = [("verdicts", ["```"] + verdicts(lines) + ["```"]), ("real-traffic", real_traffic(lines)),
             ("real-path-steps", real_steps_table(lines)),
             ("in-kernel", kernel_table(lines)), ("steps", steps_table(lines)),
             ("local-sockets", host_table(lines))]
    missing = [n for n, p in parts if len(p) < 3]
    for name, p in parts:
        print("<!-- %s -->" % name)
        print("\n".join(p))
        print()
    if missing:
        print("readme_datapath: %s: no %s in the log" % (sys.argv[1], ", ".join(missing)), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
