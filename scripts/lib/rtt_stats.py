#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""rtt_stats.py - pool round-trip samples and print their statistics.

usage: rtt_stats.py LABEL FILE...

Each FILE holds one sample per line: a round trip in microseconds, or the
word "lost" (as written by `rr_probe client -o` and traffic.sh's ping
parser).  Prints one line in rr_probe's key=value format:
  LABEL sent=N received=N lost=N p50_us=X p90_us=X p99_us=X max_us=X mean_us=X
Percentiles are nearest-rank over the received samples (as in rr_probe);
"nan" when nothing was received.
"""
import math
import sys


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    label, rtt, lost = argv[1], [], 0
    for path in argv[2:]:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                if line == "lost":
                    lost += 1
                else:
                    rtt.append(float(line))
    rtt.sort()
    n = len(rtt)

    def pc(p):
        if not n:
            return float("nan")
        return rtt[min(n, max(1, math.ceil(p / 100.0 * n))) - 1]

    print("%s sent=%d received=%d lost=%d p50_us=%.1f p90_us=%.1f p99_us=%.1f "
          "max_us=%.1f mean_us=%.1f" % (
              label, n + lost, n, lost, pc(50), pc(90), pc(99),
              rtt[-1] if n else float("nan"),
              sum(rtt) / n if n else float("nan")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
