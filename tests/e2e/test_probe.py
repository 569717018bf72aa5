"""`poolcert probe` (issue 5): the certificate a live server presents, checked against the spec.

The servers are `openssl s_server` on 127.0.0.1 at a free port, started and stopped by the test,
presenting certificates the test CA (testca.py, `openssl ca`) issued from poolcert's own CSR for
ocssrv01. Peers that refuse, stay silent or speak something else than TLS are Python sockets in
a thread, also the test's own.
"""

import json
import os
import signal
import socket
import subprocess
import threading
import time
import unittest
from pathlib import Path

import harness as h
import testca

S1, S2 = h.SERVERS

PROBE_KEYS = {"target", "sni", "protocol", "cipher", "chain_length", "servers", "unmatched",
              "summary"}
CHECK_KEYS = {"id", "status", "message", "expected", "found"}
READY_WITHIN = 10  # seconds for s_server to accept

F = None  # the module fixture


class Fixture:
    """poolcert's keys and CSRs for the example spec, the test CA, and the leaves the servers use."""

    def __init__(self, folder):
        self.dir = Path(folder)
        self.spec, self.keys = h.make_example_keys(self.dir)
        self.key = self.keys / f"{S1}.key"
        self.csr = self.keys / f"{S1}.csr"
        self.ca = testca.TestCA(self.dir / "ca")
        self.root = self.ca.root_pem
        self.inter = self.ca.inter_pem
        self.root_and_inter = testca.bundle(self.dir / "root+inter.pem", self.root, self.inter)
        certs = self.dir / "certs"
        certs.mkdir()
        self.good = self.ca.issue(self.csr, certs / "good.pem")
        self.no_sip_com = self.ca.issue(self.csr, certs / "no-sip-com.pem",
                                        drop_sans=["sip.company.com"])
        # ocssrv01's key, ocssrv02's names: pairing by key says ocssrv01, by name ocssrv02.
        self.s2_names = self.ca.issue(self.csr, certs / "s2-names.pem",
                                      sans=h.expected_sans(S2))


def setUpModule():
    global F
    F = Fixture(h.module_temp_dir("poolcert-e2e-probe-"))


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def port_accepts(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class SServer:
    """`openssl s_server -www` on 127.0.0.1 at a free port; stop() ends its process group."""

    def __init__(self, folder, cert, key, chain=None, extra=()):
        self.folder = Path(folder)
        self.args = ["-cert", str(cert), "-key", str(key)]
        if chain is not None:
            self.args += ["-cert_chain", str(chain)]
        self.args += [str(a) for a in extra]
        self.proc = None
        self.log = None

    def start(self):
        for attempt in range(3):
            self.port = free_port()
            self.log = self.folder / f"s_server-{self.port}.log"
            with open(self.log, "wb") as out:
                self.proc = subprocess.Popen(
                    ["openssl", "s_server", "-accept", f"127.0.0.1:{self.port}", "-www",
                     *self.args],
                    stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                    start_new_session=True)
            deadline = time.monotonic() + READY_WITHIN
            while time.monotonic() < deadline and self.proc.poll() is None:
                if port_accepts(self.port):
                    return self.port
                time.sleep(0.05)
            self.stop()
        raise AssertionError(f"s_server did not start:\n{self.log.read_text(errors='replace')}")

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)


class Peer:
    """A TCP listener on 127.0.0.1 in a thread: `silent` accepts and never speaks; `http`
    answers whatever it gets with an HTTP error and closes."""

    def __init__(self, mode):
        self.mode = mode
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stopping = threading.Event()
        self.held = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            if self.mode == "silent":
                self.held.append(conn)
                continue
            try:
                conn.settimeout(2)
                conn.recv(4096)
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                             b"Connection: close\r\n\r\n")
            except OSError:
                pass
            finally:
                conn.close()

    def stop(self):
        self.stopping.set()
        self.thread.join(timeout=5)
        for c in self.held:
            c.close()
        self.sock.close()


class ProbeCase(h.TempDirTestCase):

    def s_server(self, cert, chain=None, key=None, extra=()):
        server = SServer(self.tmp, cert, key or F.key, chain=chain, extra=extra)
        self.addCleanup(server.stop)
        return server.start()

    def probe(self, target, *args, timeout=30):
        argv = ["probe", target, F.spec, *map(str, args)]
        start = time.monotonic()
        code, out, err = self.poolcert(argv, timeout=timeout)
        elapsed = time.monotonic() - start
        where = f"poolcert {' '.join(map(str, argv))}\nrc {code}\nstdout:\n{out}\nstderr:\n{err}"
        self.assertNotIn(code, (-6, -11, 134, 139), f"crashed: {where}")
        return code, out, err, elapsed, where

    def probe_json(self, port, *args, rc=0):
        code, out, err, _, where = self.probe(f"127.0.0.1:{port}", *args, "--json")
        if rc is not None:
            self.assertEqual(code, rc, where)
        try:
            doc = json.loads(out)
        except ValueError as e:
            self.fail(f"stdout is not JSON ({e}): {where}")
        self.assertLessEqual(PROBE_KEYS, set(doc), where)  # extra fields are fine
        self.assertEqual(doc["target"], f"127.0.0.1:{port}", where)
        self.assertIsInstance(doc["servers"], list, where)
        statuses = []
        for s in doc["servers"]:
            self.assertTrue({"server", "cert", "checks"} <= set(s), where)
            for c in s["checks"]:
                self.assertLessEqual(CHECK_KEYS, set(c), where)
                self.assertIn(c["status"], ("pass", "warn", "fail"), where)
                statuses.append(c["status"])
        self.assertEqual(doc["summary"], {k: statuses.count(k) for k in ("pass", "warn", "fail")},
                         where)
        return doc, where

    def checks_of(self, doc, where, server=S1):
        servers = [s for s in doc["servers"] if s["server"] == server]
        self.assertEqual(len(servers), 1, where)
        return {c["id"]: c for c in servers[0]["checks"]}

    def assertAllPass(self, checks, where):
        bad = {i: (c["status"], c["message"]) for i, c in checks.items() if c["status"] != "pass"}
        self.assertEqual(bad, {}, where)


class ProbeLive(ProbeCase):

    def test_good_chain_passes(self):
        port = self.s_server(F.good, chain=F.inter)
        doc, where = self.probe_json(port, "--server", S1, "--ca-bundle", F.root,
                                     "--key-dir", F.keys)
        self.assertIn(doc["protocol"], ("TLSv1.2", "TLSv1.3"), where)
        self.assertIsInstance(doc["cipher"], str, where)
        self.assertTrue(doc["cipher"], where)
        self.assertEqual(doc["chain_length"], 2, where)
        self.assertEqual(doc["unmatched"], [], where)
        checks = self.checks_of(doc, where)
        self.assertAllPass(checks, where)
        for required in ("san.missing", "chain.trusted", "chain.complete", "key.match"):
            self.assertIn(required, checks, where)
        self.assertEqual(doc["summary"]["fail"], 0, where)

        # Human output: same exit code, names the protocol.
        code, out, err, _, where = self.probe(f"127.0.0.1:{port}", "--server", S1,
                                              "--ca-bundle", F.root, "--key-dir", F.keys)
        self.assertEqual(code, 0, where)
        self.assertIn(doc["protocol"], out, where)

    def test_tls12_only_server(self):
        port = self.s_server(F.good, chain=F.inter, extra=["-tls1_2"])
        doc, where = self.probe_json(port, "--server", S1, "--ca-bundle", F.root,
                                     "--key-dir", F.keys)
        self.assertEqual(doc["protocol"], "TLSv1.2", where)
        self.assertTrue(doc["cipher"], where)
        self.assertAllPass(self.checks_of(doc, where), where)

    def test_missing_san_fails(self):
        port = self.s_server(F.no_sip_com, chain=F.inter)
        doc, where = self.probe_json(port, "--server", S1, "--ca-bundle", F.root,
                                     "--key-dir", F.keys, rc=1)
        checks = self.checks_of(doc, where)
        self.assertEqual(checks["san.missing"]["status"], "fail", where)
        self.assertIn("sip.company.com", json.dumps(checks["san.missing"]), where)
        for other in ("chain.complete", "chain.trusted", "key.match"):
            self.assertEqual(checks[other]["status"], "pass", f"{other}: {where}")

    def test_intermediate_not_sent(self):
        port = self.s_server(F.good, chain=None)
        doc, where = self.probe_json(port, "--server", S1, "--ca-bundle", F.root_and_inter,
                                     "--key-dir", F.keys, rc=1)
        self.assertEqual(doc["chain_length"], 1, where)
        checks = self.checks_of(doc, where)
        self.assertEqual(checks["chain.complete"]["status"], "fail", where)
        self.assertEqual(checks["chain.trusted"]["status"], "pass", where)
        fails = sorted(i for i, c in checks.items() if c["status"] == "fail")
        self.assertEqual(fails, ["chain.complete"], where)

    def test_server_found_by_presented_key(self):
        # ocssrv01's key under ocssrv02's names: pairing by key names ocssrv01.
        port = self.s_server(F.s2_names, chain=F.inter)
        doc, where = self.probe_json(port, "--ca-bundle", F.root, "--key-dir", F.keys, rc=1)
        self.assertEqual([s["server"] for s in doc["servers"]], [S1], where)
        checks = self.checks_of(doc, where)
        self.assertEqual(checks["key.match"]["status"], "pass", where)
        self.assertEqual(checks["san.missing"]["status"], "fail", where)
        self.assertIn(S1, json.dumps(checks["san.missing"]), where)

        # The good certificate, no --server: found as ocssrv01, everything passes.
        port = self.s_server(F.good, chain=F.inter)
        doc, where = self.probe_json(port, "--ca-bundle", F.root, "--key-dir", F.keys)
        self.assertEqual([s["server"] for s in doc["servers"]], [S1], where)
        self.assertAllPass(self.checks_of(doc, where), where)

    def test_sni_is_sent(self):
        # Default certificate: missing sip.company.com; for SNI ocspool.company.local the good one.
        port = self.s_server(F.no_sip_com, chain=F.inter,
                             extra=["-servername", h.POOL, "-cert2", F.good, "-key2", F.key])
        common = ("--server", S1, "--ca-bundle", F.root_and_inter, "--key-dir", F.keys)
        doc, where = self.probe_json(port, *common, "--sni", h.POOL, rc=None)
        self.assertEqual(doc["sni"], h.POOL, where)
        self.assertEqual(self.checks_of(doc, where)["san.missing"]["status"], "pass", where)

        doc, where = self.probe_json(port, *common, "--sni", "other.company.local", rc=1)
        self.assertEqual(doc["sni"], "other.company.local", where)
        self.assertEqual(self.checks_of(doc, where)["san.missing"]["status"], "fail", where)


class ProbeConnectionErrors(ProbeCase):

    def assertExit2(self, code, err, elapsed, bound, where):
        self.assertEqual(code, 2, where)
        self.assertLess(elapsed, bound, f"took {elapsed:.1f} s: {where}")
        return self.assertOneErrorLine(err).lower()

    def test_refused(self):
        port = free_port()
        code, out, err, elapsed, where = self.probe(f"127.0.0.1:{port}", "--server", S1,
                                                    "--timeout", "2")
        line = self.assertExit2(code, err, elapsed, 3, where)
        self.assertIn("refused", line, where)
        self.assertEqual(out, "", where)

    def test_silent_listener_times_out(self):
        peer = Peer("silent")
        self.addCleanup(peer.stop)
        code, out, err, elapsed, where = self.probe(f"127.0.0.1:{peer.port}", "--server", S1,
                                                    "--timeout", "2")
        line = self.assertExit2(code, err, elapsed, 5, where)
        self.assertRegex(line, r"time[sd]?[ -]?out", where)

    def test_peer_not_speaking_tls(self):
        peer = Peer("http")
        self.addCleanup(peer.stop)
        code, out, err, elapsed, where = self.probe(f"127.0.0.1:{peer.port}", "--server", S1,
                                                    "--timeout", "2")
        line = self.assertExit2(code, err, elapsed, 5, where)
        self.assertTrue("handshake" in line or "tls" in line, where)

    def test_json_errors_are_exit_2_too(self):
        port = free_port()
        code, out, err, elapsed, where = self.probe(f"127.0.0.1:{port}", "--timeout", "2",
                                                    "--json")
        self.assertExit2(code, err, elapsed, 3, where)


if __name__ == "__main__":
    unittest.main()
