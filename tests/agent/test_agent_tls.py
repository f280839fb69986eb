#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""test_agent_tls.py - TLS failures say why.

The test API server presents certificates this test makes with openssl:
  unknown CA     signed by a CA the kubeconfig does not name;
  expired        signed by the kubeconfig's CA, valid only in January 2020;
  name mismatch  signed by the kubeconfig's CA, for DNS:api.other.example
                 only (the agent connects to https://127.0.0.1:PORT).
For each, the agent's warn line and its /readyz body (on the probe
listener) name the cause and what to check, not curl's generic "peer
certificate not OK".  A fourth certificate made the same way but valid for
127.0.0.1 lets the agent list pods and become ready: the three failures
come from the defect each certificate carries, not from the way they were
made.  Needs root (the agent pins its maps); attaches nothing.
"""
import os
import subprocess
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tcprio_testlib as tl  # noqa: E402

NODE = "tpt-tls-node"
tap = tl.Tap()

CA_CNF = """[ca]
default_ca = ca_default
[ca_default]
dir = .
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = policy_any
unique_subject = no
[policy_any]
commonName = supplied
"""
SERVER_EXT = ("basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
              "extendedKeyUsage=serverAuth\nsubjectAltName=%s\n")
GOOD_SAN = "IP:127.0.0.1,IP:::1,DNS:localhost"


def openssl(d, *args):
    r = subprocess.run(["openssl"] + list(args), cwd=d, capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError("openssl %s: %s" % (" ".join(args), r.stderr[-400:]))


def make_ca(d, name, cn):
    openssl(d, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
            "-keyout", name + ".key", "-out", name + ".crt", "-subj", "/CN=" + cn,
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")


def sign_server(d, ca, san, dates):
    """server.crt/.key signed by CA ca (ca.crt/ca.key or another pair) for
    subjectAltName san, valid for dates (openssl ca -startdate/-enddate
    arguments, or -days)."""
    with open(os.path.join(d, "ca.cnf"), "w") as f:
        f.write(CA_CNF)
    with open(os.path.join(d, "server.ext"), "w") as f:
        f.write(SERVER_EXT % san)
    open(os.path.join(d, "index.txt"), "w").close()
    with open(os.path.join(d, "serial"), "w") as f:
        f.write("1000\n")
    openssl(d, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key",
            "-out", "server.csr", "-subj", "/CN=kube-apiserver")
    openssl(d, "ca", "-batch", "-notext", "-config", "ca.cnf", "-cert", ca + ".crt",
            "-keyfile", ca + ".key", "-in", "server.csr", "-out", "server.crt",
            "-extfile", "server.ext", *dates)


def certs(defect):
    """The prepare() of the test API server: its CA (ca.crt, which the
    kubeconfig names) and a server certificate with defect."""
    def prepare(d):
        make_ca(d, "ca", "tcprio-tls-test-ca")
        make_ca(d, "wrong-ca", "tcprio-tls-test-unrelated")  # also: the server skips its own
        valid = ["-days", "30"]
        if defect == "unknown CA":
            make_ca(d, "rogue-ca", "tcprio-tls-test-rogue")
            sign_server(d, "rogue-ca", GOOD_SAN, valid)
        elif defect == "expired":
            sign_server(d, "ca", GOOD_SAN, ["-startdate", "20200101000000Z",
                                            "-enddate", "20200131000000Z"])
        elif defect == "name mismatch":
            sign_server(d, "ca", "DNS:api.other.example", valid)
        else:
            sign_server(d, "ca", GOOD_SAN, valid)
    return prepare


def readyz(agent):
    """(status, body) of the agent's /readyz on its probe listener."""
    url = None
    for line in agent.log_text().splitlines():
        if "probes on http://" in line:
            url = line.split("probes on ")[1].split(" and ")[0].replace("/healthz", "/readyz")
    if not url:
        return 0, "no probe listener in the log"
    try:
        with urllib.request.urlopen(url, timeout=3) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


# defect -> (text of curl/OpenSSL's reason, tcprio's hint)
CASES = [
    ("unknown CA", "unable to get local issuer certificate",
     "not signed by the configured CA"),
    ("expired", "certificate has expired",
     "the server's certificate has expired (or this node's clock is wrong)"),
    ("name mismatch", "subject name",
     "the server URL's host is not a name or address the certificate lists"),
]


def failing_case(defect, reason, hint):
    st = tl.AgentSuite("tls", tl.CLASSES4, log_lines=8)
    try:
        st.start_api(NODE, prepare=certs(defect))
        agent = st.start_agent()
        ok = agent.wait_log("TLS: ", 10)
        lines = [ln for ln in agent.log_text().splitlines() if "TLS: " in ln]
        line = lines[0] if lines else ""
        tap.ok(ok and " warn kube: list failed (TLS: " in line and reason in line and hint in line,
               "%s: the agent's warn line names the cause (%s) and the hint" % (defect, reason),
               line or agent.log_text()[-600:])
        got = [0, ""]

        def answered():
            got[:] = readyz(agent)
            return got[0] == 503 and hint in got[1]
        tap.ok(tl.wait_for(answered, 5, 0.2) and "last error: " in got[1] and reason in got[1],
               "%s: /readyz 503 with the cause in its body" % defect, got)
        tap.ok("pod list synced" not in agent.log_text() and agent.proc.poll() is None,
               "%s: nothing listed, the agent keeps retrying" % defect)
    finally:
        st.close()


def good_case():
    st = tl.AgentSuite("tls", tl.CLASSES4, log_lines=8)
    try:
        api = st.start_api(NODE, prepare=certs(None))
        tl.add_pod(api, NODE, "shop", "tlsgood", ["198.18.3.10"], {"tcprio.io/class": "critical"})
        agent = st.start_agent()
        tap.ok(agent.wait_log("pod list synced", 10) and "TLS: " not in agent.log_text(),
               "a certificate made the same way without a defect: pods listed",
               agent.log_text()[-600:])
        tap.ok(tl.wait_for(lambda: readyz(agent)[0] == 200, 5, 0.2), "and /readyz 200",
               readyz(agent))
    finally:
        st.close()


def main():
    rc = tl.begin(tap, 3 * len(CASES) + 2, tools=("openssl",))
    if rc is not None:
        return rc
    tl.exit_on_signals()
    for defect, reason, hint in CASES:
        tl.guarded(tap, lambda: failing_case(defect, reason, hint), lambda: None)
    tl.guarded(tap, good_case, lambda: None)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
