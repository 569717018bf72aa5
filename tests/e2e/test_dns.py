"""`poolcert dns` (issue 5): the records a pool needs, written as zone files, PowerShell, dnscmd and
JSON, and checked (`--check`) against a real DNS server.

The server is Debian's NSD, started by the test on 127.0.0.1 at a free port and stopped by it.
What NSD serves is confirmed independently with `dig`; zone files are accepted by
`nsd-checkzone` before NSD loads them. The zones with one record wrong are written by the test
itself (not by poolcert), so `--check` is judged against DNS data poolcert did not make.
"""

import json
import os
import re
import signal
import socket
import subprocess
import time
import unittest
from pathlib import Path

import harness as h

VIP = "10.0.0.50"
WEB_FQDN = "ocsweb.company.local"
WEB_VIP = "10.0.0.60"
ZONES = ["company.local", "company.com"]
TTL = 3600

# What DOMAIN.md's reference deployment needs: (type, name, value). SRV value is
# (priority, weight, port, target).
EXPECTED = {
    ("A", "ocspool.company.local"): VIP,
    ("SRV", "_sipinternaltls._tcp.company.local"): (0, 0, 5061, "ocspool.company.local"),
    ("A", "ocspool.company.com"): VIP,
    ("SRV", "_sipinternaltls._tcp.company.com"): (0, 0, 5061, "ocspool.company.com"),
    ("A", WEB_FQDN): WEB_VIP,
}
ZONE_OF = {
    ("A", "ocspool.company.local"): "company.local",
    ("SRV", "_sipinternaltls._tcp.company.local"): "company.local",
    ("A", "ocspool.company.com"): "company.com",
    ("SRV", "_sipinternaltls._tcp.company.com"): "company.com",
    ("A", WEB_FQDN): "company.local",
}

RECORD_KEYS = {"zone", "name", "type", "ttl", "address", "priority", "weight", "port", "target",
               "placeholder", "status", "message", "found"}
STATUSES = {"present", "missing", "different", "error"}

DIG_TIMEOUT = 10       # seconds for one dig process
NSD_READY_WITHIN = 15  # seconds for NSD to answer after start
CHECK_BOUND = 10       # seconds a --check against a dead resolver may take (with --timeout 2)


def norm(name):
    return name.rstrip(".").lower() if isinstance(name, str) else name


# --- the spec -----------------------------------------------------------------------------------

def spec_text(vip=VIP, web=True, ttl=TTL, profile=None):
    """The reference spec with the issue-5 keys added to [pool] and a [dns] table."""
    text = h.example_text()
    extra = []
    if vip is not None:
        extra.append(f'vip = "{vip}"')
    if web:
        extra += [f'web_fqdn = "{WEB_FQDN}"', f'web_vip = "{WEB_VIP}"']
    lines = text.splitlines()
    at = [i for i, line in enumerate(lines) if line.startswith("sip_domains")]
    assert len(at) == 1, "the example spec's [pool] table changed: no sip_domains line"
    lines[at[0] + 1:at[0] + 1] = extra
    text = "\n".join(lines) + "\n"
    if profile is not None:
        old = 'profile = "ocs2007-enterprise-frontend"'
        assert old in text, "the example spec's profile line changed"
        text = text.replace(old, f'profile = "{profile}"')
    if ttl is not None:
        text += f"\n[dns]\nttl = {ttl}\n"
    return text


# --- zones written by the test (not by poolcert) ------------------------------------------------

def good_rrs():
    """{zone: [RR line with absolute names]} holding exactly the expected records."""
    rrs = {z: [] for z in ZONES}
    for (rtype, name), value in EXPECTED.items():
        zone = ZONE_OF[(rtype, name)]
        if rtype == "A":
            rrs[zone].append(f"{name}. {TTL} IN A {value}")
        else:
            pri, weight, port, target = value
            rrs[zone].append(f"{name}. {TTL} IN SRV {pri} {weight} {port} {target}.")
    return rrs


def write_zone(path, origin, rr_lines):
    text = "\n".join([
        f"$ORIGIN {origin}.",
        f"$TTL {TTL}",
        f"@ IN SOA ns1.{origin}. hostmaster.{origin}. 2024010101 3600 600 86400 3600",
        f"@ IN NS ns1.{origin}.",
        f"ns1.{origin}. IN A 127.0.0.1",
        *rr_lines, ""])
    Path(path).write_text(text)
    return Path(path)


def nsd_checkzone(zone, path):
    proc = subprocess.run(["nsd-checkzone", "-p", zone, str(path)], capture_output=True,
                          text=True, timeout=30, stdin=subprocess.DEVNULL)
    return proc.returncode, proc.stdout + proc.stderr


def zone_rr_set(checkzone_print):
    """The RRs `nsd-checkzone -p` printed, as a set of normalised lines (owner made absolute)."""
    rrs = set()
    origin = ""
    owner = ""
    pending = ""
    first_raw = ""
    for raw in checkzone_print.splitlines():
        line = raw.split(";", 1)[0].rstrip()
        if not line.strip():
            continue
        if pending:  # a parenthesised SOA continues
            pending += " " + line.strip()
            if ")" not in line:
                continue
            line, pending, raw = pending, "", first_raw
        elif "(" in line and ")" not in line:
            pending, first_raw = line, raw
            continue
        if line.startswith("$ORIGIN"):
            origin = line.split()[1]
            continue
        fields = line.split()
        if not raw[0].isspace():
            owner = fields[0] if fields[0].endswith(".") else f"{fields[0]}.{origin}"
            fields = fields[1:]
        rrs.add(" ".join([owner.lower()] + [f.replace("(", "").replace(")", "")
                                            for f in fields if f not in ("(", ")")]))
    return rrs


# --- ports, NSD and dig ---------------------------------------------------------------------------

def free_port():
    """A port free for both UDP and TCP on 127.0.0.1 (chosen by binding port 0)."""
    for _ in range(50):
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            udp.bind(("127.0.0.1", 0))
            port = udp.getsockname()[1]
            try:
                tcp.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
        finally:
            udp.close()
            tcp.close()
    raise AssertionError("no free port on 127.0.0.1")


def dig(port, name, rtype, short=True):
    """dig @127.0.0.1 -p port; returns the answer lines (one try, 2 s)."""
    args = ["dig", "@127.0.0.1", "-p", str(port), "+time=2", "+tries=1"]
    args += ["+short"] if short else ["+noall", "+answer"]
    args += [name, rtype]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=DIG_TIMEOUT,
                          stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        return None
    return [line for line in proc.stdout.splitlines() if line.strip()]


class Nsd:
    """NSD in the foreground (-d) on 127.0.0.1:port serving `zones` ({name: zone file})."""

    def __init__(self, folder, zones):
        self.dir = Path(folder)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.zones = zones
        self.proc = None
        self.port = None
        self.log = self.dir / "nsd.log"

    def _config(self, port):
        zone_parts = "".join(f"zone:\n  name: \"{name}\"\n  zonefile: \"{path}\"\n"
                             for name, path in self.zones.items())
        d = self.dir
        return (
            "server:\n"
            f"  ip-address: 127.0.0.1@{port}\n"
            "  do-ip4: yes\n  do-ip6: no\n"
            f"  zonesdir: \"{d}\"\n"
            f"  pidfile: \"{d}/nsd.pid\"\n"
            "  username: \"\"\n  chroot: \"\"\n  database: \"\"\n"
            f"  xfrdfile: \"{d}/xfrd.state\"\n"
            f"  zonelistfile: \"{d}/zone.list\"\n"
            f"  xfrdir: \"{d}\"\n"
            f"  logfile: \"{self.log}\"\n"
            "  verbosity: 1\n  server-count: 1\n"
            "remote-control:\n  control-enable: no\n" + zone_parts)

    def start(self):
        """Starts NSD (a new port on each of up to 3 tries) and waits until it answers."""
        for _ in range(3):
            self.port = free_port()
            conf = self.dir / "nsd.conf"
            conf.write_text(self._config(self.port))
            if self.log.exists():
                self.log.unlink()
            with open(self.dir / "nsd.out", "wb") as out:
                self.proc = subprocess.Popen(["nsd", "-c", str(conf), "-d"],
                                             stdin=subprocess.DEVNULL, stdout=out,
                                             stderr=subprocess.STDOUT, start_new_session=True)
            if self._wait_ready():
                return self.port
            self.stop()
            if "address already in use" not in self.output().lower():
                break
        raise AssertionError(f"nsd did not start on 127.0.0.1:{self.port}:\n{self.output()}")

    def _wait_ready(self):
        first = next(iter(self.zones))
        deadline = time.monotonic() + NSD_READY_WITHIN
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            answer = dig(self.port, first, "SOA")
            if answer:
                return True
            time.sleep(0.1)
        return False

    def output(self):
        parts = []
        for f in (self.dir / "nsd.out", self.log):
            if f.exists():
                parts.append(f.read_text(errors="replace"))
        return "\n".join(parts)

    def stop(self):
        """Stops NSD and every process of its group (SIGTERM, then SIGKILL after 5 s)."""
        if self.proc is None or self.proc.poll() is not None:
            if self.proc is not None:
                self._reap_group()
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._reap_group(sig=signal.SIGKILL)
            self.proc.wait(timeout=5)
        self._reap_group()

    def _reap_group(self, sig=signal.SIGKILL):
        # NSD forks server and xfrd children in its own session; none may outlive the test.
        try:
            os.killpg(self.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


# --- the test base --------------------------------------------------------------------------------

class DnsCase(h.TempDirTestCase):

    def spec(self, **kw):
        return self.write_spec(spec_text(**kw))

    def custom_profile(self, name, edit):
        """Writes the shipped enterprise profile, changed by edit(text), as profiles/NAME.toml."""
        text = (h.PROFILES / "ocs2007-enterprise-frontend.toml").read_text()
        new = edit(text)
        self.assertNotEqual(new, text, "the profile edit changed nothing")
        path = self.tmp / "profiles" / f"{name}.toml"
        path.parent.mkdir(exist_ok=True)
        path.write_text(new)
        return self.spec(profile=name)

    def dns(self, *args, spec=None, timeout=60):
        argv = ["dns", spec or self.spec(), *map(str, args)]
        code, out, err = self.poolcert(argv, timeout=timeout)
        self.assertNotIn(code, (-6, -11, 134, 139),
                         f"crashed: poolcert {' '.join(map(str, argv))}\n{err}")
        return code, out, err

    def dns_json(self, *args, spec=None, rc=0, timeout=60):
        code, out, err = self.dns(*args, spec=spec, timeout=timeout)
        where = f"poolcert dns {' '.join(map(str, args))}\nstdout:\n{out}\nstderr:\n{err}"
        if rc is not None:
            self.assertEqual(code, rc, where)
        try:
            doc = json.loads(out)
        except ValueError as e:
            self.fail(f"stdout is not JSON ({e}): {where}")
        return doc, err, where

    def serve(self, zones, name="nsd"):
        """Starts NSD with zones ({zone: file}), stopped at cleanup; returns its port."""
        for zone, path in zones.items():
            rc, text = nsd_checkzone(zone, path)
            self.assertEqual(rc, 0, f"nsd-checkzone refused {path}:\n{text}")
        server = Nsd(self.tmp / name, zones)
        self.addCleanup(server.stop)
        return server.start()

    def serve_rrs(self, rrs, name="nsd"):
        folder = self.tmp / f"{name}-zones"
        folder.mkdir()
        zones = {z: write_zone(folder / f"{z}.zone", z, rrs[z]) for z in ZONES}
        return self.serve(zones, name=name)

    def check(self, port, *extra, spec=None, rc=None):
        """`dns --check --resolver 127.0.0.1:port --json`; returns (doc, by-key records, where)."""
        args = ["--check", "--resolver", f"127.0.0.1:{port}", "--timeout", "2", *extra, "--json"]
        doc, err, where = self.dns_json(*args, spec=spec, rc=rc)
        self.assertCheckShape(doc, where)
        return doc, self.by_key(doc, where), where

    # assertions -------------------------------------------------------------------------------

    def by_key(self, doc, where):
        records = {}
        for r in doc["records"]:
            key = (r["type"], norm(r["name"]))
            self.assertNotIn(key, records, f"record {key} listed twice: {where}")
            records[key] = r
        self.assertEqual(set(records), set(EXPECTED), where)
        return records

    def assertRecordValues(self, records, where):
        """Every record carries the expected zone, TTL and data (not a placeholder)."""
        for key, value in EXPECTED.items():
            r = records[key]
            self.assertEqual(norm(r["zone"]), ZONE_OF[key], f"{key}: {where}")
            self.assertEqual(r["ttl"], TTL, f"{key}: {where}")
            self.assertIs(r["placeholder"], False, f"{key}: {where}")
            if key[0] == "A":
                self.assertEqual(r["address"], value, f"{key}: {where}")
                for k in ("priority", "weight", "port", "target"):
                    self.assertIsNone(r[k], f"{key}.{k}: {where}")
            else:
                self.assertEqual((r["priority"], r["weight"], r["port"], norm(r["target"])),
                                 value, f"{key}: {where}")
                self.assertIsNone(r["address"], f"{key}.address: {where}")

    def assertCheckShape(self, doc, where):
        self.assertEqual(set(doc), {"records", "warnings", "summary"}, where)
        self.assertIsInstance(doc["warnings"], list, where)
        for r in doc["records"]:
            self.assertLessEqual(RECORD_KEYS, set(r), where)  # extra fields ("why") are fine
            self.assertIn(r["status"], STATUSES, where)
            self.assertIsInstance(r["message"], str, where)
            self.assertIsInstance(r["found"], list, where)
            self.assertTrue(all(isinstance(f, str) for f in r["found"]), where)
        counts = {s: sum(1 for r in doc["records"] if r["status"] == s) for s in STATUSES}
        self.assertEqual(doc["summary"], counts, where)

    def assertOthersPresent(self, records, but, where):
        for key, r in records.items():
            if key != but:
                self.assertEqual(r["status"], "present", f"{key}: {r['message']}\n{where}")


# --- output formats ---------------------------------------------------------------------------

class DnsFormats(DnsCase):

    def test_json_lists_the_reference_records(self):
        doc, err, where = self.dns_json("--format", "json")
        records = self.by_key(doc, where)
        self.assertRecordValues(records, where)
        self.assertEqual(doc["warnings"], [], where)
        # --json is --format json.
        doc2, _, _ = self.dns_json("--json")
        self.assertEqual(doc2, doc)

    def test_powershell_adds_every_record(self):
        rc, out, err = self.dns("--format", "powershell")
        self.assertEqual(rc, 0, err)
        a_lines = [l for l in out.splitlines() if "Add-DnsServerResourceRecordA" in l
                   and not l.lstrip().startswith("#")]
        srv_lines = [l for l in out.splitlines() if re.search(r"Add-DnsServerResourceRecord\s", l)
                     and re.search(r"\s-Srv\b", l) and not l.lstrip().startswith("#")]
        self.assertEqual(len(a_lines), 3, out)
        self.assertEqual(len(srv_lines), 2, out)
        q = r"""["']?"""
        for (rtype, name), value in EXPECTED.items():
            zone = ZONE_OF[(rtype, name)]
            lines = a_lines if rtype == "A" else srv_lines
            relative = name[:-len(zone) - 1]
            hits = [l for l in lines
                    if re.search(rf"-ZoneName\s+{q}{re.escape(zone)}\.?{q}(\s|$)", l)
                    and re.search(rf"-Name\s+{q}({re.escape(relative)}|{re.escape(name)}\.?){q}"
                                  r"(\s|$)", l)]
            self.assertEqual(len(hits), 1, f"{rtype} {name}:\n{out}")
            line = hits[0]
            if rtype == "A":
                self.assertRegex(line, rf"-IPv4Address\s+{q}{re.escape(value)}{q}(\s|$)")
            else:
                pri, weight, port, target = value
                self.assertRegex(line, rf"-DomainName\s+{q}{re.escape(target)}\.?{q}(\s|$)")
                self.assertRegex(line, rf"-Priority\s+{pri}(\s|$)")
                self.assertRegex(line, rf"-Weight\s+{weight}(\s|$)")
                self.assertRegex(line, rf"-Port\s+{port}(\s|$)")

    def test_dnscmd_adds_every_record(self):
        rc, out, err = self.dns("--format", "dnscmd")
        self.assertEqual(rc, 0, err)
        found = {}
        pattern = re.compile(r"^dnscmd(?:\s+(?!/)\S+)?\s+/RecordAdd\s+(\S+)\s+(\S+)\s+"
                             r"(?:/\S+\s+)*(?:(\d+)\s+)?(A|SRV)\s+(.+?)\s*$", re.I)
        for line in out.splitlines():
            if not re.match(r"^\s*dnscmd\b", line, re.I):
                continue
            m = pattern.match(line.strip())
            self.assertIsNotNone(m, f"not a dnscmd /RecordAdd line: {line}")
            zone, node, ttl, rtype, data = m.groups()
            zone = norm(zone)
            if node == "@":
                fqdn = zone
            elif node.endswith(".") or norm(node).endswith("." + zone):
                fqdn = norm(node)
            else:
                fqdn = f"{node}.{zone}".lower()
            if ttl is not None:
                self.assertEqual(int(ttl), TTL, line)
            if rtype.upper() == "A":
                value = data
            else:
                pri, weight, port, target = data.split()
                value = (int(pri), int(weight), int(port), norm(target))
            key = (rtype.upper(), fqdn)
            self.assertNotIn(key, found, f"{key} added twice:\n{out}")
            self.assertEqual(zone, ZONE_OF.get(key), line)
            found[key] = value
        self.assertEqual(found, EXPECTED, out)

    def test_zone_files_pass_nsd_checkzone_and_match_stdout(self):
        zd = self.tmp / "zones"
        rc, out, err = self.dns("--format", "zone", "--zone-dir", zd)
        self.assertEqual(rc, 0, err)
        self.assertEqual(sorted(p.name for p in zd.iterdir()),
                         sorted(f"{z}.zone" for z in ZONES))
        file_rrs = {}
        for z in ZONES:
            rc, text = nsd_checkzone(z, zd / f"{z}.zone")
            self.assertEqual(rc, 0, f"nsd-checkzone {z}:\n{text}\n{(zd / f'{z}.zone').read_text()}")
            rrs = zone_rr_set(text)
            types = {line.split()[3] if line.split()[1].isdigit() else line.split()[2]
                     for line in rrs}
            self.assertIn("SOA", types, text)
            self.assertIn("NS", types, text)
            file_rrs[z] = rrs

        # stdout: one $ORIGIN block per zone holding the records of the file. The blocks are
        # records to paste into an existing zone (no SOA/NS): the test puts its own SOA and NS
        # first so that nsd-checkzone reads them, and compares everything but SOA and NS.
        def no_apex(rrs):
            ns_hosts = {r.split()[-1] for r in rrs if r.split()[3] == "NS"}
            return {r for r in rrs if r.split()[3] not in ("SOA", "NS")
                    and not (r.split()[3] == "A" and r.split()[0] in ns_hosts)}
        rc, out, err = self.dns("--format", "zone")
        self.assertEqual(rc, 0, err)
        origins = re.findall(r"^\$ORIGIN\s+(\S+)", out, re.M)
        self.assertEqual(sorted(norm(o) for o in origins), sorted(ZONES), out)
        starts = [m.start() for m in re.finditer(r"^\$ORIGIN\s", out, re.M)] + [len(out)]
        for i, origin in enumerate(origins):
            block = out[starts[i]:starts[i + 1]]
            # A $TTL written once before the first $ORIGIN applies to every block.
            prefix = "\n".join(l for l in out[:starts[0]].splitlines()
                               if l.startswith("$TTL"))
            path = self.tmp / f"stdout-{norm(origin)}.zone"
            z = norm(origin)
            apex = (f"$ORIGIN {z}.\n@ 3600 IN SOA ns1.{z}. hostmaster.{z}. 1 3600 600 86400 3600\n"
                    f"@ 3600 IN NS ns1.{z}.\n")
            path.write_text(prefix + "\n" + apex + block)
            rc, text = nsd_checkzone(z, path)
            self.assertEqual(rc, 0, f"nsd-checkzone on stdout block {origin}:\n{text}\n{block}")
            self.assertEqual(no_apex(zone_rr_set(text)), no_apex(file_rrs[z]), block)

    def test_bad_usage_is_exit_2(self):
        # Also with a spec that draws warnings (no vip): the usage error is the one line.
        for spec in (self.write_spec(spec_text(), name="vip.toml"),
                     self.write_spec(spec_text(vip=None), name="no-vip.toml")):
            for args, word in ((["--check", "--resolver", "not-an-ip"], "not-an-ip"),
                               (["--check", "--resolver", "127.0.0.1:99999"], "99999"),
                               (["--format", "nope"], "nope")):
                with self.subTest(args=args, spec=spec.name):
                    rc, out, err = self.dns(*args, spec=spec, timeout=30)
                    self.assertEqual(rc, 2, f"{args}\nstdout:\n{out}\nstderr:\n{err}")
                    self.assertIn(word, self.assertOneErrorLine(err))

    def test_without_vip_placeholder_and_warning(self):
        spec = self.spec(vip=None)
        doc, err, where = self.dns_json("--format", "json", spec=spec)
        records = self.by_key(doc, where)
        for key, r in records.items():
            if key in (("A", "ocspool.company.local"), ("A", "ocspool.company.com")):
                self.assertIs(r["placeholder"], True, f"{key}: {where}")
                self.assertNotEqual(r["address"], VIP, where)
            else:
                self.assertIs(r["placeholder"], False, f"{key}: {where}")
        self.assertEqual(records[("A", WEB_FQDN)]["address"], WEB_VIP, where)
        self.assertTrue(any("vip" in w.lower() for w in doc["warnings"]), where)
        # Human formats: the records are printed, the warning goes to stderr.
        for fmt in ("zone", "powershell", "dnscmd"):
            with self.subTest(format=fmt):
                rc, out, err = self.dns("--format", fmt, spec=spec)
                self.assertEqual(rc, 0, err)
                self.assertIn("ocspool", out)
                self.assertIn("vip", err.lower())
                self.assertNotIn(h.ERROR_PREFIX, err)


# --- coherence between DNS and certificate ----------------------------------------------------

class DnsCoherence(DnsCase):

    def warnings_everywhere(self, spec):
        """The warnings of dns and plan, human (stderr lines) and JSON ("warnings")."""
        result = {}
        rc, out, err = self.dns(spec=spec)
        self.assertEqual(rc, 0, err)
        result["dns stderr"] = err.splitlines()
        doc, _, where = self.dns_json("--json", spec=spec)
        result["dns json"] = doc["warnings"]
        rc, out, err = self.poolcert(["plan", spec])
        self.assertEqual(rc, 0, err)
        result["plan stderr"] = err.splitlines()
        rc, out, err = self.poolcert(["plan", spec, "--json"])
        self.assertEqual(rc, 0, err)
        doc = json.loads(out)
        self.assertIn("warnings", doc, out)
        self.assertIsInstance(doc["warnings"], list)
        result["plan json"] = doc["warnings"]
        return result

    def test_reference_spec_is_coherent(self):
        for where, lines in self.warnings_everywhere(self.spec()).items():
            self.assertEqual([l for l in lines if l.strip()], [], where)

    def test_srv_target_missing_from_sans(self):
        def drop_alias(text):
            old = ('  { name = "{pool_in_sip_domain}", why = "the pool\'s name in D, the sign-in '
                   'SRV\'s target (Seed; strict domain matching)" },\n')
            self.assertIn(old, text, "the shipped profile's SAN rule changed")
            return text.replace(old, "", 1)
        spec = self.custom_profile("no-pool-alias", drop_alias)
        for where, lines in self.warnings_everywhere(spec).items():
            hits = [l for l in lines if "_sipinternaltls._tcp.company.com" in l
                    and "ocspool.company.com" in l]
            self.assertTrue(hits, f"{where}: {lines}")  # one per server's certificate is fine
            # company.local's SRV points at the pool FQDN, which is still a SAN.
            self.assertFalse(any("_sipinternaltls._tcp.company.local" in l for l in lines),
                             f"{where}: {lines}")

    def test_srv_target_outside_its_domain(self):
        def pool_fqdn_target(text):
            old = ('name = "_sipinternaltls._tcp.{sip_domain}"\npriority = 0\nweight = 0\n'
                   'port = "{sign_in_port}"\ntarget = "{pool_in_sip_domain}"')
            self.assertIn(old, text, "the shipped profile's SRV record changed")
            return text.replace(old, old.replace('target = "{pool_in_sip_domain}"',
                                                 'target = "{pool_fqdn}"'))
        spec = self.custom_profile("pool-fqdn-target", pool_fqdn_target)
        doc, _, where = self.dns_json("--json", spec=spec)
        records = {(r["type"], norm(r["name"])): r for r in doc["records"]}
        self.assertEqual(norm(records[("SRV", "_sipinternaltls._tcp.company.com")]["target"]),
                         "ocspool.company.local", where)
        for where, lines in self.warnings_everywhere(spec).items():
            hits = [l for l in lines if "_sipinternaltls._tcp.company.com" in l
                    and "strict" in l.lower()]
            self.assertTrue(hits, f"{where}: {lines}")
            self.assertFalse(any("_sipinternaltls._tcp.company.local" in l for l in lines),
                             f"{where}: {lines}")


class ProfileRecordValues(DnsCase):
    """A profile's SRV port and A address must be a port and an address: exit 2, one line."""

    def profile_error(self, name, old, new):
        """Runs dns on a spec whose profile has `old` replaced by `new`; returns the error line."""
        def edit(text):
            self.assertIn(old, text, "the shipped profile changed")
            return text.replace(old, new, 1)
        spec = self.custom_profile(name, edit)
        rc, out, err = self.dns(spec=spec)
        self.assertEqual(rc, 2, out + err)
        self.assertEqual(out, "", "no records printed")
        return self.assertOneErrorLine(err)

    def test_literal_srv_port_out_of_range(self):
        for bad in ("99999", "-5", "0", "99999999999999", "5061x"):
            with self.subTest(port=bad):
                line = self.profile_error("port-" + bad.replace("-", "m"),
                                          'port = "{sign_in_port}"', f'port = "{bad}"')
                self.assertIn("dns.record[1].port", line)
                self.assertIn("1 to 65535", line)

    def test_srv_port_pattern_that_is_not_a_port(self):
        # {vip} is "10.0.0.50": std::stoi read it as port 10.
        line = self.profile_error("port-vip", 'port = "{sign_in_port}"', 'port = "{vip}"')
        self.assertIn("10.0.0.50", line)
        self.assertIn("1 to 65535", line)

    def test_server_placeholder_in_a_record_rule(self):
        # A record is the pool's: {server_fqdn} has no one value. It failed every spec at its
        # [pool] (name), or silently dropped the record (when).
        line = self.profile_error("srv-name", 'type = "A"\nname = "{pool_in_sip_domain}"',
                                  'type = "A"\nname = "{server_fqdn}"')
        self.assertIn("dns.record[0].name", line)
        self.assertIn("{server_fqdn}", line)
        line = self.profile_error("srv-when", 'address = "{vip}"',
                                  'address = "{vip}"\nwhen = "server_fqdn"')
        self.assertIn("dns.record[0].when", line)

    def test_literal_address_that_is_not_an_address(self):
        line = self.profile_error("addr", 'address = "{vip}"', 'address = "not-an-ip"')
        self.assertIn("dns.record[0].address", line)
        self.assertIn("not-an-ip", line)


# --- --check against NSD ----------------------------------------------------------------------

class DnsCheckLive(DnsCase):

    def test_poolcert_zones_served_by_nsd_all_present(self):
        zd = self.tmp / "zones"
        rc, out, err = self.dns("--format", "zone", "--zone-dir", zd)
        self.assertEqual(rc, 0, err)
        port = self.serve({z: zd / f"{z}.zone" for z in ZONES})

        # dig, not poolcert, says what NSD serves.
        for (rtype, name), value in EXPECTED.items():
            answer = dig(port, name, rtype)
            if rtype == "A":
                self.assertEqual(answer, [value], f"dig {name} {rtype}")
            else:
                self.assertEqual(answer, ["{} {} {} {}.".format(*value)], f"dig {name} {rtype}")
            full = dig(port, name, rtype, short=False)
            self.assertEqual(len(full), 1, full)
            self.assertEqual(full[0].split()[1], str(TTL), full)

        doc, records, where = self.check(port, rc=0)
        self.assertRecordValues(records, where)
        for key, r in records.items():
            self.assertEqual(r["status"], "present", f"{key}: {where}")
        self.assertEqual(doc["summary"], {"present": 5, "missing": 0, "different": 0, "error": 0})
        self.assertIn("10.0.0.50", " ".join(records[("A", "ocspool.company.com")]["found"]))

        # Human output, same exit code.
        rc, out, err = self.dns("--check", "--resolver", f"127.0.0.1:{port}", "--timeout", "2")
        self.assertEqual(rc, 0, f"{out}\n{err}")

    def cname_spec(self):
        """The reference spec under a profile with one more rule: a CNAME per SIP domain."""
        def add_cname(text):
            return text + ('\n[[dns.record]]\ntype = "CNAME"\n'
                           'name = "lyncdiscoverinternal.{sip_domain}"\n'
                           'target = "{pool_host}.{sip_domain}"\n')
        return self.custom_profile("with-cname", add_cname)

    def test_cname_is_checked_as_a_cname(self):
        spec = self.cname_spec()
        for case in ("all", "target-without-a", "wrong-target"):
            with self.subTest(case):
                rrs = good_rrs()
                for z in ZONES:
                    target = "other.company.com" if case == "wrong-target" else f"ocspool.{z}"
                    rrs[z].append(f"lyncdiscoverinternal.{z}. {TTL} IN CNAME {target}.")
                if case == "target-without-a":  # the alias is right; its target has no address
                    rrs["company.com"] = [l for l in rrs["company.com"]
                                          if not l.startswith("ocspool.company.com. ")]
                port = self.serve_rrs(rrs, name=f"nsd-{case}")
                # dig, not poolcert, says what NSD serves.
                self.assertEqual(dig(port, "lyncdiscoverinternal.company.com", "CNAME"),
                                 [("other.company.com." if case == "wrong-target"
                                   else "ocspool.company.com.")])
                doc, _, where = self.dns_json("--check", "--resolver", f"127.0.0.1:{port}",
                                              "--timeout", "2", "--json", spec=spec,
                                              rc=0 if case == "all" else 1)
                self.assertCheckShape(doc, where)
                records = {(r["type"], norm(r["name"])): r for r in doc["records"]}
                cname = records[("CNAME", "lyncdiscoverinternal.company.com")]
                if case == "wrong-target":
                    self.assertEqual(cname["status"], "different", where)
                    self.assertIn("other.company.com", cname["message"], where)
                else:
                    self.assertEqual(cname["status"], "present", where)
                    self.assertEqual([norm(f) for f in cname["found"]], ["ocspool.company.com"],
                                     where)
                a = records[("A", "ocspool.company.com")]
                self.assertEqual(a["status"],
                                 "missing" if case == "target-without-a" else "present", where)
                present = {"all": 7, "target-without-a": 6, "wrong-target": 5}[case]
                self.assertEqual(doc["summary"]["present"], present, where)

    def test_one_srv_missing(self):
        rrs = good_rrs()
        rrs["company.com"] = [l for l in rrs["company.com"] if " SRV " not in l]
        port = self.serve_rrs(rrs)
        self.assertEqual(dig(port, "_sipinternaltls._tcp.company.com", "SRV"), [])
        doc, records, where = self.check(port, rc=1)
        key = ("SRV", "_sipinternaltls._tcp.company.com")
        self.assertEqual(records[key]["status"], "missing", where)
        self.assertEqual(records[key]["found"], [], where)
        self.assertOthersPresent(records, key, where)
        self.assertEqual(doc["summary"]["missing"], 1, where)

    def test_wrong_srv_port(self):
        rrs = good_rrs()
        rrs["company.com"] = [l.replace(" 5061 ", " 5062 ") for l in rrs["company.com"]]
        port = self.serve_rrs(rrs)
        self.assertEqual(dig(port, "_sipinternaltls._tcp.company.com", "SRV"),
                         ["0 0 5062 ocspool.company.com."])
        doc, records, where = self.check(port, rc=1)
        key = ("SRV", "_sipinternaltls._tcp.company.com")
        r = records[key]
        self.assertEqual(r["status"], "different", where)
        self.assertIn("5062", r["message"], where)
        self.assertIn("5061", r["message"], where)
        self.assertIn("port", r["message"].lower(), where)
        self.assertTrue(any("5062" in f for f in r["found"]), where)
        self.assertOthersPresent(records, key, where)

    def test_wrong_srv_target(self):
        rrs = good_rrs()
        rrs["company.com"] = [l.replace("5061 ocspool.company.com.", "5061 ocspool.company.local.")
                              for l in rrs["company.com"]]
        port = self.serve_rrs(rrs)
        self.assertEqual(dig(port, "_sipinternaltls._tcp.company.com", "SRV"),
                         ["0 0 5061 ocspool.company.local."])
        doc, records, where = self.check(port, rc=1)
        key = ("SRV", "_sipinternaltls._tcp.company.com")
        r = records[key]
        self.assertEqual(r["status"], "different", where)
        self.assertIn("target", r["message"].lower(), where)
        self.assertIn("ocspool.company.local", r["message"], where)
        self.assertTrue(any("ocspool.company.local" in f for f in r["found"]), where)
        self.assertOthersPresent(records, key, where)

    def test_wrong_a_address(self):
        rrs = good_rrs()
        rrs["company.com"] = [l.replace(f" A {VIP}", " A 10.0.0.51") for l in rrs["company.com"]]
        port = self.serve_rrs(rrs)
        self.assertEqual(dig(port, "ocspool.company.com", "A"), ["10.0.0.51"])
        doc, records, where = self.check(port, rc=1)
        key = ("A", "ocspool.company.com")
        r = records[key]
        self.assertEqual(r["status"], "different", where)
        self.assertIn("10.0.0.51", r["found"], where)
        self.assertIn("10.0.0.51", r["message"], where)
        self.assertOthersPresent(records, key, where)

    def test_without_vip_check_reports_address_found(self):
        port = self.serve_rrs(good_rrs())
        doc, records, where = self.check(port, spec=self.spec(vip=None), rc=0)
        for key in (("A", "ocspool.company.local"), ("A", "ocspool.company.com")):
            r = records[key]
            self.assertEqual(r["status"], "present", where)
            self.assertIs(r["placeholder"], True, where)
            self.assertIn(VIP, r["found"], where)
            self.assertIn("not checked", r["message"].lower(), where)
        self.assertOthersPresent(records, None, where)
        self.assertTrue(any("vip" in w.lower() for w in doc["warnings"]), where)

    def timed_check(self, port):
        start = time.monotonic()
        doc, records, where = self.check(port, rc=1)
        elapsed = time.monotonic() - start
        self.assertLess(elapsed, CHECK_BOUND, f"took {elapsed:.1f} s: {where}")
        for key, r in records.items():
            self.assertEqual(r["status"], "error", f"{key}: {where}")
        self.assertEqual(doc["summary"]["error"], len(EXPECTED), where)
        return records, where

    def test_silent_resolver_times_out(self):
        silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(silent.close)
        silent.bind(("127.0.0.1", 0))  # bound, never read, never answers
        records, where = self.timed_check(silent.getsockname()[1])
        for key, r in records.items():
            self.assertRegex(r["message"].lower(), r"time[sd]?[ -]?out", f"{key}: {where}")

    def test_nothing_bound_is_refused(self):
        port = free_port()
        records, where = self.timed_check(port)
        for key, r in records.items():
            self.assertRegex(r["message"].lower(), r"refused|unreachable", f"{key}: {where}")


if __name__ == "__main__":
    unittest.main()
