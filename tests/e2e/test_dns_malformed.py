"""`poolcert dns --check` against DNS servers that misbehave (issue 14): each failure says what
happened, exit 1.

The servers are the test's own stimulus: a small DNS responder written here (not by poolcert), on
127.0.0.1 at a port the kernel picks, started and stopped by each test. It answers each question
with the record the reference spec expects, padded with further records to over 512 bytes, and
either sends that whole over UDP without the truncation bit (RFC 1035 4.2.1 forbids it), or sets
the bit, or sends 3 bytes of garbage, or nothing. Where a TCP port is not served, the test holds
it bound without listening, so a TCP connection there is refused whatever else runs on the host.
Until this issue, an oversize answer was reported as "connection refused: no DNS server at that
address and port", and with nothing listening every other record said "timeout".
"""

import re
import select
import socket
import struct
import threading
import time
import unittest

import test_dns as td

MALFORMED = "without the truncation bit (a malformed reply, RFC 1035 4.2.1)"
FAST = 5      # seconds a check that needs no timeout may take
TIMED = 8     # seconds a check with --timeout 1 may take
QTYPE = {1: "A", 33: "SRV", 5: "CNAME"}


# --- a DNS responder (RFC 1035 4.1) ---------------------------------------------------------

def encode_name(name):
    return b"".join(bytes([len(label)]) + label.encode() for label in name.rstrip(".").split(".")) \
        + b"\0"


def parse_query(query):
    """(id, name, qtype, end of question, EDNS0 payload size or None) of a DNS query."""
    at, labels = 12, []
    while query[at]:
        labels.append(query[at + 1:at + 1 + query[at]].decode())
        at += 1 + query[at]
    qtype = struct.unpack(">H", query[at + 1:at + 3])[0]
    end = at + 5
    edns = None
    if struct.unpack(">H", query[10:12])[0] and query[end:end + 3] == b"\0\0\x29":  # OPT
        edns = struct.unpack(">H", query[end + 3:end + 5])[0]
    return query[:2], ".".join(labels).lower(), qtype, end, edns


def answer_rrs(name, qtype):
    """The expected record (test_dns.EXPECTED) and 40 others beside it: over 512 bytes."""
    rrs = []
    want = td.EXPECTED.get((QTYPE.get(qtype), name))
    for i in range(41):
        if qtype == 1:
            address = want if i == 0 and want else f"10.99.0.{i}"
            rdata = socket.inet_aton(address)
        elif qtype == 33:
            pri, weight, port, target = want if i == 0 and want else (0, 0, 5061, f"pad{i}.invalid")
            rdata = struct.pack(">HHH", pri, weight, port) + encode_name(target)
        else:
            continue
        rrs.append(b"\xc0\x0c" + struct.pack(">HHIH", qtype, 1, td.TTL, len(rdata)) + rdata)
    return rrs


def response(query, truncated=False):
    qid, name, qtype, end, _ = parse_query(query)
    rrs = [] if truncated else answer_rrs(name, qtype)
    flags = 0x8400 | (0x0200 if truncated else 0) | (struct.unpack(">H", query[2:4])[0] & 0x0100)
    return qid + struct.pack(">HHHHH", flags, 1, len(rrs), 0, 0) + query[12:end] + b"".join(rrs)


class StubDns:
    """A DNS responder on 127.0.0.1 (a thread). udp: "oversize" (the whole answer, no TC),
    "polite" (whole if it fits 512 or the query's EDNS0 size, else TC), "truncated" (TC, no
    records), "garbage" (3 bytes) or "silent" (never reads). tcp: serve whole answers over TCP,
    or hold the port bound without listening (connections refused)."""

    def __init__(self, udp, tcp=False):
        self.udp_mode, self.serve_tcp = udp, tcp
        self.sent = {}        # (name, type) -> length of the UDP answer
        self.datagrams = 0    # datagrams sent
        self.queries = []     # (transport, name, type, EDNS0 size or None)
        self.stop_flag = threading.Event()
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        for _ in range(50):
            self.udp.bind(("127.0.0.1", 0))
            self.port = self.udp.getsockname()[1]
            try:
                self.tcp.bind(("127.0.0.1", self.port))
                break
            except OSError:
                self.udp.close()
                self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        else:
            raise AssertionError("no port free for both UDP and TCP on 127.0.0.1")
        if tcp:
            self.tcp.listen(8)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def stop(self):
        self.stop_flag.set()
        self.thread.join(timeout=10)
        self.udp.close()
        self.tcp.close()

    def _run(self):
        conns = []
        readers = [self.tcp] if self.serve_tcp else []
        if self.udp_mode != "silent":
            readers.append(self.udp)
        while not self.stop_flag.is_set():
            ready, _, _ = select.select(readers + conns, [], [], 0.05)
            for s in ready:
                if s is self.udp:
                    self._datagram()
                elif s is self.tcp:
                    conns.append(self.tcp.accept()[0])
                elif not self._stream(s):
                    conns.remove(s)
                    s.close()
        for c in conns:
            c.close()

    def _datagram(self):
        query, peer = self.udp.recvfrom(4096)
        _, name, qtype, _, edns = parse_query(query)
        self.queries.append(("udp", name, qtype, edns))
        if self.udp_mode == "garbage":
            reply = b"\x01\x02\x03"
        else:
            whole = response(query)
            fits = len(whole) <= max(512, edns or 512)
            truncated = self.udp_mode == "truncated" or (self.udp_mode == "polite" and not fits)
            reply = response(query, truncated=True) if truncated else whole
        self.sent[(name, qtype)] = len(reply)
        self.datagrams += 1
        self.udp.sendto(reply, peer)

    def _stream(self, conn):
        """Answers one length-prefixed query (RFC 1035 4.2.2); False at the end of the stream."""
        head = conn.recv(2)
        if len(head) < 2:
            return False
        length = struct.unpack(">H", head)[0]
        query = b""
        while len(query) < length:
            part = conn.recv(length - len(query))
            if not part:
                return False
            query += part
        _, name, qtype, _, edns = parse_query(query)
        self.queries.append(("tcp", name, qtype, edns))
        whole = response(query)
        conn.sendall(struct.pack(">H", len(whole)) + whole)
        return True


# --- the tests ------------------------------------------------------------------------------

class MalformedCase(td.DnsCase):

    def stub(self, udp, tcp=False):
        server = StubDns(udp, tcp)
        self.addCleanup(server.stop)
        return server

    def spec4(self):
        """The reference spec without the web FQDN: four records, an even number."""
        return self.write_spec(td.spec_text(web=False), name="spec4.toml")

    def run_check(self, port, expect, spec=None, bound=FAST):
        """`dns --check --resolver 127.0.0.1:port --timeout 1`, with --json and as text: exit 1
        both times, every record an error, expect(key, message, where) on each; returns the
        JSON records by (type, name)."""
        args = ["--check", "--resolver", f"127.0.0.1:{port}", "--timeout", "1"]
        start = time.monotonic()
        doc, _, where = self.dns_json(*args, "--json", spec=spec, rc=1)
        elapsed = time.monotonic() - start
        self.assertLess(elapsed, bound, f"took {elapsed:.1f} s: {where}")
        self.assertCheckShape(doc, where)
        records = {(r["type"], td.norm(r["name"])): r for r in doc["records"]}
        self.assertEqual(len(records), len(doc["records"]), where)
        for key, r in records.items():
            self.assertEqual(r["status"], "error", f"{key}: {where}")
            self.assertEqual(r["found"], [], f"{key}: {where}")
            expect(key, r["message"], where)
        self.assertEqual(doc["summary"], {"present": 0, "missing": 0, "different": 0,
                                          "error": len(records)}, where)

        rc, out, err = self.dns(*args, spec=spec)
        where = f"poolcert dns {' '.join(args)}\nstdout:\n{out}\nstderr:\n{err}"
        self.assertEqual(rc, 1, where)
        rows = {}
        for line in out.splitlines()[1:]:
            cells = re.split(r"\s{2,}", line.strip(), maxsplit=3)
            if len(cells) == 4:
                rows[(cells[1], td.norm(cells[0]))] = cells
        self.assertEqual(set(rows), set(records), where)
        for key, (_, _, status, message) in rows.items():
            self.assertEqual(status, "error", f"{key}: {where}")
            expect(key, message, where)
        return records


class OversizeWithoutTruncationBit(MalformedCase):

    def test_oversize_answer_is_called_malformed(self):
        server = self.stub("oversize")
        at = f"the DNS server at 127.0.0.1:{server.port}"

        def expect(key, message, where):
            # c-ares asks the question again over TCP, which is refused; that ends every query
            # to the server, also those whose own oversize answer had not been read yet.
            sizes = {(QTYPE[t], n): size for (n, t), size in server.sent.items()}
            self.assertTrue(all(size > 512 for size in sizes.values()), sizes)
            own = (f"{at} sent an answer over 512 bytes ({sizes.get(key)} bytes) {MALFORMED}; "
                   "asked again over TCP: connection refused")
            beside = {f"{at} sent an answer to {name} {rtype} over 512 bytes ({size} bytes) "
                      f"{MALFORMED}; asked again over TCP: connection refused, which ended every "
                      "query to that server" for (rtype, name), size in sizes.items()}
            self.assertTrue(message == own or message in beside, f"{key}: {message!r}\n{where}")

        records = self.run_check(server.port, expect)
        self.assertEqual(len(records), len(td.EXPECTED))
        self.assertTrue(all(q[3] is None for q in server.queries),
                        f"poolcert's c-ares sends no EDNS0 OPT: {server.queries}")

    def test_truncation_bit_and_no_tcp(self):
        server = self.stub("truncated")
        at = f"the DNS server at 127.0.0.1:{server.port}"

        def expect(key, message, where):
            if message == (f"{at} answered with the truncation bit set (an answer over 512 "
                           "bytes); asked again over TCP: connection refused"):
                return
            names = {f"{name} {QTYPE[t]}" for (name, t) in server.sent}
            self.assertIn(message, {f"{at} answered {q} with the truncation bit set (an answer "
                                    "over 512 bytes); asked again over TCP: connection refused, "
                                    "which ended every query to that server" for q in names},
                          f"{key}: {where}")

        self.run_check(server.port, expect)

    def test_large_answers_with_tcp_are_present(self):
        # The same oversize UDP answers with TCP served: c-ares takes the answer over TCP. And a
        # server that sets TC, or answers whole over UDP where the query's EDNS0 size allows.
        for udp in ("oversize", "polite"):
            with self.subTest(udp=udp):
                server = self.stub(udp, tcp=True)
                doc, records, where = self.check(server.port, rc=0)
                self.assertRecordValues(records, where)
                for key, r in records.items():
                    self.assertEqual(r["status"], "present", f"{key}: {where}")
                self.assertTrue(all(size > 512 for size in server.sent.values()) or udp == "polite",
                                server.sent)
                self.assertTrue(any(q[0] == "tcp" for q in server.queries)
                                or all(q[3] for q in server.queries), f"{server.queries}")


class NothingAnswers(MalformedCase):

    def test_nothing_listening_is_connection_refused(self):
        # Every record, for an even and an odd number of them: a datagram's ICMP port
        # unreachable comes back on the next send, and with four records every other one said
        # "timeout".
        for count, spec in ((4, self.spec4()), (len(td.EXPECTED), self.spec())):
            with self.subTest(records=count):
                port = td.free_port()

                def expect(key, message, where):
                    self.assertEqual(message, f"connection refused: no DNS server at "
                                     f"127.0.0.1:{port}", f"{key}: {where}")

                self.assertEqual(len(self.run_check(port, expect, spec=spec)), count)

    def test_server_that_never_answers_times_out(self):
        server = self.stub("silent")

        def expect(key, message, where):
            self.assertEqual(message, "timeout: no answer from the DNS server at "
                             f"127.0.0.1:{server.port}", f"{key}: {where}")

        self.run_check(server.port, expect, bound=TIMED)

    def test_garbage_datagrams_are_named_in_the_timeout(self):
        server = self.stub("garbage")
        at = f"127.0.0.1:{server.port}"

        def expect(key, message, where):
            self.assertEqual(message, f"timeout: no answer from the DNS server at {at}; {at} "
                             "sent 4 datagrams that answer no query asked (the first: shorter "
                             "than a DNS header, 3 bytes)", f"{key}: {where}")

        self.assertEqual(len(self.run_check(server.port, expect, spec=self.spec4(),
                                            bound=TIMED)), 4)


if __name__ == "__main__":
    unittest.main()
