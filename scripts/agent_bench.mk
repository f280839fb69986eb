# `make bench-agent`: convergence latency, start-up time and memory of the agent.
.PHONY: bench-agent
bench-agent: tcprio ## agent benchmark: watch-event-to-map p50/p99, start-up and RSS (root)
	/usr/bin/python3 scripts/bench_agent.py
