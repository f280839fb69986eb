#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""status_query.py - answer one question about `tcprio status --json` (stdin).

usage: status_query.py ready N          exit 0 if >= N endpoints are known, an
                                        uplink and 3 pod edges are attached
       status_query.py class IP         print the class of endpoint IP (or "-")
       status_query.py packets HOOK CLASS
                                        print the packets counted at HOOK
                                        (pod_edge|uplink) for CLASS (or 0)
       status_query.py summary          one line: endpoints, attached hooks,
                                        uplink packets per class
"""
import json
import sys


def main(argv):
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    try:
        d = json.load(sys.stdin)
    except ValueError as e:
        sys.stderr.write("status_query: stdin is not tcprio status JSON: %s\n" % e)
        return 1
    cmd = argv[1]
    if cmd == "ready" and len(argv) == 3:
        hooks = [h for i in d.get("interfaces", []) for h in i.get("hooks", [])]
        ok = (len(d.get("endpoints", [])) >= int(argv[2]) and "uplink" in hooks
              and hooks.count("pod_edge") >= 3)
        return 0 if ok else 1
    if cmd == "class" and len(argv) == 3:
        cls = [e["class"] for e in d.get("endpoints", []) if e.get("ip") == argv[2]]
        print(cls[0] if cls else "-")
        return 0
    if cmd == "packets" and len(argv) == 4:
        print(sum(c.get("packets", 0) for c in d.get("class_totals", [])
                  if c.get("hook") == argv[2] and c.get("class") == argv[3]))
        return 0
    if cmd == "summary":
        up = ["%s=%d" % (c["class"], c["packets"]) for c in d.get("class_totals", [])
              if c.get("hook") == "uplink"]
        print("endpoints=%d interfaces=%d uplink_packets{%s}" % (
            len(d.get("endpoints", [])), len(d.get("interfaces", [])), ",".join(up)))
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
