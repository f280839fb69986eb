#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""tc_sampler.py DEV [INTERVAL_S] - print the HTB class counters of DEV
every INTERVAL_S seconds (default 0.2) until killed, one line per class:
    EPOCH_S CLASSID SENT_BYTES SENT_PACKETS DROPS OVERLIMITS BACKLOG_PACKETS
(`tc -s class show dev DEV`, the numbers tcprio status shows under "Uplink
queues").  Used by scripts/lib/measure.sh to plot per-class throughput on
the uplink over a run (scripts/plot_run.py)."""
import re
import subprocess
import sys
import time

dev = sys.argv[1]
ival = float(sys.argv[2]) if len(sys.argv) > 2 else 0.2
pat = re.compile(r"class \w+ (\S+) .*?Sent (\d+) bytes (\d+) pkt \(dropped (\d+), overlimits (\d+)"
                 r".*?backlog \S+ (\d+)p", re.S)
while True:
    t = time.time()
    out = subprocess.run(["tc", "-s", "class", "show", "dev", dev], capture_output=True,
                         text=True).stdout
    for block in re.split(r"^class ", out, flags=re.M)[1:]:
        m = pat.search("class " + block)
        if m:
            print("%.3f %s %s %s %s %s %s" % ((t,) + m.groups()), flush=True)
    time.sleep(max(0.0, ival - (time.time() - t)))
