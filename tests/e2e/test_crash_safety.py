"""Crash safety (issue 7): `poolcert csr` SIGKILLed again and again on one output folder.

A 300-server ECDSA P-256 pool is generated in the temp folder, then `poolcert csr` is started on
it and killed with SIGKILL at a random moment, at least POOLCERT_CRASH_KILLS (default 20) times
in a row, always on the same output folder, so every run starts from what the killed ones left.
After every kill the folder is checked with parsers we did not write (python cryptography):

- every visible file is an expected `<fqdn>.key` / `<fqdn>.csr`; none is empty, partial or
  unparsable; every CSR's self-signature verifies, it names its server and its key is the
  `.key` beside it (so there is never a CSR without its key); keys are mode 0600;
- a key, once seen, is never changed nor removed by a later run (sha256 of each is kept);
- only poolcert's temporary files (`.<name>.poolcert-<pid>-XXXXXX`) are hidden there, from runs
  of this test, and key temporaries are 0600 (they may hold part of a private key).

Then one run is left to finish: it must exit 0, write a key and CSR for all 300 servers, reuse
every key seen before byte for byte, and leave no temporary file (including one planted as a
dead run's leftover); a sample of CSRs goes through `openssl req -verify` as an independent
oracle.

Kills are of two kinds. Timed kills land at a moment drawn over a run's length, measured by a
calibration run first: early (start-up, reading the spec and the existing keys) and late, plus a
sweep in rising windows. Progress kills watch the output folder and land as soon as the
run has put a drawn number of files in place, so that some kills surely hit a run half-way even
on a loaded machine, where a run can take many times its calibrated length (CI runs this test
beside others: a kill timed from calibration then lands before the first file). A run that
finishes before its kill does not count: a timed kill's delay shrinks and the kill is retried.
The seed is printed; set POOLCERT_CRASH_SEED to draw the same kills again (the moment a kill
lands still depends on the machine's load, so a replay is close, not exact).
"""

import hashlib
import json
import os
import random
import re
import select
import signal
import subprocess
import sys
import time
import unittest
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

import harness as h

SERVER_COUNT = 300
KILLS = int(os.environ.get("POOLCERT_CRASH_KILLS", "20"))
# Attempts allowed per counted kill before giving up: a run that finished before its kill is
# retried with a shorter delay, but a machine where that keeps happening must not loop forever.
MAX_ATTEMPTS = 4 * KILLS
# Fractions of a run's measured length in which each stage of timed kill lands (the sweep's
# kills take their stage from the moment drawn).
STAGES = {"early": (0.0, 0.1), "mid": (0.1, 0.7), "late": (0.7, 1.0)}
# How often a progress kill looks at the output folder (seconds).
POLL = 0.001
OPENSSL_SAMPLE = 12

FQDNS = h.pool_fqdns(SERVER_COUNT)
EXPECTED_NAMES = {f"{f}.{ext}" for f in FQDNS for ext in ("key", "csr")}
# file_io.cpp: ".<final name>.poolcert-<pid>-XXXXXX" (mkostemp), and the output folder probe.
TEMP_RE = re.compile(r"^\.(?P<target>.+)\.poolcert-(?P<pid>\d+)-[A-Za-z0-9]{6}$")
PROBE_RE = re.compile(r"^\.poolcert-probe-[A-Za-z0-9]{6}$")

def wait_for_exit(proc, seconds):
    """Waits up to `seconds` for `proc` to exit, waking at once if it does (Linux pidfd).

    Popen.wait(timeout) polls every few tens of milliseconds, too coarse for an early kill; a
    pidfd becomes readable the moment the process exits.
    """
    try:
        fd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):  # no pidfd (old kernel or Python): a plain sleep
        time.sleep(seconds)
        return
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        poller.poll(max(0, round(seconds * 1000)))
    finally:
        os.close(fd)


def public_der(public_key):
    return public_key.public_bytes(serialization.Encoding.DER,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)


class CrashSafety(h.TempDirTestCase):
    def setUp(self):
        super().setUp()
        # scripts/bench's spec: ECDSA P-256 keys, the fastest to make (300 servers in well
        # under a second), so that kills land at every stage of a run.
        self.spec = h.write_pool_spec(self.tmp, SERVER_COUNT)
        self.out = self.tmp / "out"
        self.logs = self.tmp / "logs"  # outside the output folder: it must hold outputs only
        self.logs.mkdir()
        seed_text = os.environ.get("POOLCERT_CRASH_SEED")
        self.seed = int(seed_text) if seed_text else random.SystemRandom().randrange(2**32)
        print(f"\ncrash-safety: seed {self.seed} (POOLCERT_CRASH_SEED={self.seed} replays it), "
              f"{KILLS} kills", file=sys.stderr, flush=True)
        self.rng = random.Random(self.seed)
        self.env = dict(os.environ, **h.profile_env())
        self.key_sha = {}  # name -> sha256 of every key ever seen: keys never change
        self.pids = []  # every run's pid, for telling its temporary files apart
        self.public_of_key = {}  # sha256 of a key file that parsed -> its public key (DER)
        self.good_csrs = set()  # (sha256, fqdn, public key) of CSR contents that passed

    # --- running --------------------------------------------------------------------------------

    def start(self, tag, extra=()):
        """Starts `poolcert csr` on the spec; stderr goes to logs/<tag>.err."""
        with open(self.logs / f"{tag}.err", "wb") as err:  # the child keeps its own copy
            proc = subprocess.Popen(
                [h.POOLCERT, "csr", self.spec.name, "--jobs", "2", *extra], cwd=self.tmp,
                env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        # Never leave a child running if an assertion stops the test half-way.
        self.addCleanup(lambda: proc.poll() is None and (proc.kill(), proc.wait()))
        self.pids.append(proc.pid)
        return proc

    def calibrate(self):
        """Seconds a complete run takes on this build and machine, in a scratch folder."""
        scratch = self.tmp / "calibration"
        began = time.monotonic()
        proc = self.start("calibration", ["-o", str(scratch)])
        rc = proc.wait(timeout=300)
        length = time.monotonic() - began
        self.assertEqual(rc, 0, (self.logs / "calibration.err").read_text())
        self.assertEqual(len(list(scratch.glob("*.csr"))), SERVER_COUNT)
        h.run(["rm", "-rf", scratch], cwd=self.tmp)
        return length

    def kill_after(self, delay, tag):
        """Starts a run and SIGKILLs it `delay` seconds later (see kill_when)."""
        return self.kill_when(lambda proc: wait_for_exit(proc, delay), tag)

    def kill_on_progress(self, target, baseline, tag):
        """Starts a run and SIGKILLs it once `target` files differ from `baseline` (see kill_when).

        `baseline` is {name: (inode, mtime_ns)} of the folder before the run; a file counts once
        it is new, replaced or removed (a run removes a reused key's old CSR before it writes the
        new one).
        """
        def until_progress(proc):
            while proc.poll() is None and self.changed_since(baseline) < target:
                time.sleep(POLL)
        return self.kill_when(until_progress, tag)

    def kill_when(self, wait, tag):
        """Starts a run, calls wait(proc) until the moment to kill, then SIGKILLs it.

        Returns None when the kill hit it running, else the seconds it took to finish first.
        """
        began = time.monotonic()
        proc = self.start(tag)
        wait(proc)
        proc.send_signal(signal.SIGKILL)  # a no-op when it has already been reaped
        rc = proc.wait(timeout=300)
        if rc == -signal.SIGKILL:
            return None
        # It finished first: then it must have succeeded, whatever the earlier kills left.
        self.assertEqual(rc, 0, f"{self.where(tag)} exited {rc} on its own:\n"
                                f"{(self.logs / f'{tag}.err').read_text()}")
        return time.monotonic() - began

    def changed_since(self, baseline):
        now = {}
        for entry in os.scandir(self.out) if self.out.exists() else []:
            if entry.name.startswith("."):
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except FileNotFoundError:  # removed between the listing and the stat
                continue
            now[entry.name] = (st.st_ino, st.st_mtime_ns)
        changed = sum(1 for name, facts in now.items() if baseline.get(name) != facts)
        return changed + sum(1 for name in baseline if name not in now)

    def where(self, tag):
        return f"[seed {self.seed}, {tag}]"

    # --- checking -------------------------------------------------------------------------------

    def state(self):
        """{name: (sha256, inode, mtime_ns)} of the visible files, and the hidden names."""
        visible, hidden = {}, []
        for entry in os.scandir(self.out) if self.out.exists() else []:
            if entry.name.startswith("."):
                hidden.append(entry.name)
                continue
            st = entry.stat(follow_symlinks=False)
            digest = hashlib.sha256(Path(entry.path).read_bytes()).hexdigest()
            visible[entry.name] = (digest, st.st_ino, st.st_mtime_ns)
        return visible, hidden

    def check_folder(self, tag, complete=False):
        """Every invariant of the output folder; returns its state for progress accounting."""
        visible, hidden = self.state()
        where = self.where(tag)
        unexpected = sorted(set(visible) - EXPECTED_NAMES)
        self.assertEqual(unexpected, [], f"{where} files poolcert should not have made")
        if complete:
            self.assertEqual(sorted(visible), sorted(EXPECTED_NAMES), f"{where} missing outputs")
        for fqdn in FQDNS:
            key_path, csr_path = self.out / f"{fqdn}.key", self.out / f"{fqdn}.csr"
            public = None
            if f"{fqdn}.key" in visible:
                public = self.check_key(key_path, visible[f"{fqdn}.key"][0], where)
            if f"{fqdn}.csr" in visible:
                # A CSR is written only after its key is in place, so it never stands alone.
                self.assertIsNotNone(public, f"{where} {csr_path.name} without its key")
                self.check_csr(csr_path, fqdn, visible[f"{fqdn}.csr"][0], public, where)
        # Keys never change nor disappear once they have been seen.
        for name, digest in self.key_sha.items():
            self.assertIn(name, visible, f"{where} the key {name} was removed")
            self.assertEqual(visible[name][0], digest, f"{where} the key {name} was changed")
        for name in visible:
            if name.endswith(".key"):
                self.key_sha[name] = visible[name][0]
        self.check_temporaries(hidden, where)
        if complete:
            self.assertEqual(hidden, [], f"{where} temporary files left after a complete run")
        return visible, hidden

    def check_key(self, path, digest, where):
        """The key parses whole and is 0600; returns its public key as DER."""
        self.assertEqual(oct(h.file_mode(path)), oct(0o600), f"{where} {path.name} mode")
        # The same bytes parse the same way: each content is parsed once, which keeps the
        # 300 x 2 files x 20 kills of checking to what each run changed.
        if digest in self.public_of_key:
            return self.public_of_key[digest]
        data = path.read_bytes()
        self.assertEqual(hashlib.sha256(data).hexdigest(), digest, f"{where} {path.name} moved")
        self.assertTrue(data, f"{where} {path.name} is empty")
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except ValueError as e:
            self.fail(f"{where} {path.name} does not parse ({e}): {len(data)} bytes:\n{data!r}")
        self.public_of_key[digest] = public_der(key.public_key())
        return self.public_of_key[digest]

    def check_csr(self, path, fqdn, digest, key_public, where):
        """The CSR parses whole, its signature verifies, it is for `fqdn` and `key_public`."""
        if (digest, fqdn, key_public) in self.good_csrs:
            return
        data = path.read_bytes()
        self.assertEqual(hashlib.sha256(data).hexdigest(), digest, f"{where} {path.name} moved")
        self.assertTrue(data, f"{where} {path.name} is empty")
        try:
            csr = x509.load_pem_x509_csr(data)
        except ValueError as e:
            self.fail(f"{where} {path.name} does not parse ({e}): {len(data)} bytes:\n{data!r}")
        self.assertTrue(csr.is_signature_valid, f"{where} {path.name}: bad self-signature")
        self.assertEqual(public_der(csr.public_key()), key_public,
                         f"{where} {path.name} is not for the key beside it")
        sans = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        self.assertIn(fqdn, sans.value.get_values_for_type(x509.DNSName),
                      f"{where} {path.name} is another server's request")
        self.good_csrs.add((digest, fqdn, key_public))

    def check_temporaries(self, hidden, where):
        """Hidden files are poolcert temporaries of this test's runs; key ones are 0600."""
        for name in hidden:
            m = TEMP_RE.match(name)
            if m is None:
                self.assertRegex(name, PROBE_RE, f"{where} unexpected hidden file")
                continue
            self.assertIn(m["target"], EXPECTED_NAMES, f"{where} temporary for what? {name}")
            self.assertIn(int(m["pid"]), self.pids, f"{where} temporary of another process")
            if m["target"].endswith(".key"):
                self.assertEqual(oct(h.file_mode(self.out / name)), oct(0o600),
                                 f"{where} {name}: a key's temporary file readable by others")

    # --- the test -------------------------------------------------------------------------------

    def test_repeated_sigkill_never_leaves_a_bad_or_changed_file(self):
        began = time.monotonic()
        run_length = self.calibrate()
        print(f"crash-safety: a complete run takes {run_length:.2f} s", file=sys.stderr)
        scale = run_length  # shrinks whenever a run beats its kill
        kills, misses, attempts = [], 0, 0
        previous, _ = self.check_folder("before any run")
        while len(kills) < KILLS:
            attempts += 1
            self.assertLessEqual(attempts, MAX_ATTEMPTS,
                                 f"[seed {self.seed}] only {len(kills)} of {KILLS} kills hit a "
                                 f"running poolcert in {attempts - 1} attempts")
            keys_had = sum(name.endswith(".key") for name in previous)
            stage, when = self.draw_kill(len(kills))
            if stage == "progress":
                tag = f"kill {len(kills) + 1} (attempt {attempts}, {stage}, after {when} files)"
                baseline = {name: facts[1:] for name, facts in previous.items()}
                finished_in = self.kill_on_progress(when, baseline, tag)
            else:
                delay = when * scale
                tag = f"kill {len(kills) + 1} (attempt {attempts}, {stage}, {delay * 1000:.0f} ms)"
                finished_in = self.kill_after(delay, tag)
            hit = finished_in is None
            visible, hidden = self.check_folder(tag, complete=not hit)
            # How far the run got before it died: the keys it made, and the CSRs it wrote or
            # replaced (a new inode, time or content; ECDSA signatures differ each time anyway).
            new_keys = sum(name.endswith(".key") for name in visible) - keys_had
            csrs = sum(1 for name, facts in visible.items()
                       if name.endswith(".csr") and previous.get(name) != facts)
            previous = visible
            if not hit:
                misses += 1
                if stage != "progress":
                    scale = min(0.8 * scale, finished_in)
                print(f"crash-safety: {tag}: finished first; delays are now up to "
                      f"{scale * 1000:.0f} ms", file=sys.stderr)
                continue
            kills.append({"stage": stage, "new_keys": new_keys, "csrs": csrs,
                          "keys": keys_had + new_keys, "temporaries": len(hidden)})
            print(f"crash-safety: {tag}: killed; made {new_keys} keys (now {keys_had + new_keys}), "
                  f"wrote {csrs} CSRs, left {len(hidden)} temporary files", file=sys.stderr)

        # Kills that all landed before the first write, or all after the last, would prove
        # nothing about a batch interrupted half-way.
        self.assertTrue(any(0 < k["csrs"] < SERVER_COUNT for k in kills),
                        f"[seed {self.seed}] no kill landed part-way through a run: {kills}")
        self.assertTrue(any(k["new_keys"] > 0 and k["keys"] < SERVER_COUNT for k in kills),
                        f"[seed {self.seed}] no kill interrupted the making of keys: {kills}")

        # A dead run's leftover, as a kill right after mkostemp leaves it: half a key, under the
        # name of a real output and the pid of a run that is gone. The next run removes or
        # ignores it: it must neither be used nor be left behind.
        planted = self.out / f".{FQDNS[0]}.key.poolcert-{self.pids[-1]}-Xy12Zq"
        self.out.mkdir(exist_ok=True)
        planted.write_bytes(b"-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49\n")
        planted.chmod(0o600)

        keys_before = {name: (self.out / name).read_bytes() for name in self.key_sha}
        rc, stdout, stderr = self.poolcert(["csr", self.spec.name, "--jobs", "2", "--json"],
                                           timeout=300)
        self.assertEqual(rc, 0, f"[seed {self.seed}] the final run failed:\n{stderr}")
        doc = json.loads(stdout)
        self.assertFalse(planted.exists(), "a dead run's temporary file outlived the final run")
        self.check_folder("final run", complete=True)
        self.assertEqual(sorted(os.listdir(self.out)), sorted(EXPECTED_NAMES))
        for name, data in keys_before.items():
            self.assertEqual((self.out / name).read_bytes(), data, f"{name} changed")
        self.check_final_report(doc, set(keys_before))
        self.check_with_openssl()
        total = time.monotonic() - began
        stages = {name: sum(k["stage"] == name for k in kills) for name in ["progress", *STAGES]}
        print(f"crash-safety: {len(kills)} kills {stages} ({misses} runs finished first), "
              f"{sum(k['new_keys'] > 0 for k in kills)} while making keys, "
              f"{sum(k['temporaries'] > 0 for k in kills)} left temporary files; "
              f"{len(keys_before)} keys before the final run; {total:.1f} s", file=sys.stderr)

    def draw_kill(self, kill):
        """What kill number `kill` (from 0) waits for: ("progress", a number of files put in
        place) or (a timed stage, a fraction of a complete run's length).

        The first kill is a progress kill on the empty folder: it surely interrupts the making
        of keys, whatever the machine's load. Each run goes through the servers in spec order
        and redoes the ones whose key is there first, so it makes new keys only past the
        furthest point an earlier run reached. The next third of the kills therefore sweep the
        run's length in rising windows: each gets further into making keys (old CSR removed,
        key linked, CSR written: the path with the most to get wrong). The rest are progress
        kills and timed early, mid and late ones in turn.
        """
        sweep = KILLS // 3
        turn = ["progress", *STAGES][(kill - sweep - 1) % (len(STAGES) + 1)]
        if kill == 0 or (kill > sweep and turn == "progress"):
            # A run rewrites every CSR, so it changes at least SERVER_COUNT files; stopping at
            # half of that leaves batches still to come.
            return "progress", self.rng.randint(1, SERVER_COUNT // 2)
        if kill <= sweep:
            fraction = self.rng.uniform((kill - 1) / sweep, kill / sweep)
        else:
            fraction = self.rng.uniform(*STAGES[turn])
        return next(name for name, (_, high) in STAGES.items() if fraction <= high), fraction

    def check_final_report(self, doc, keys_before):
        """poolcert's own account agrees: reused exactly the keys that were there."""
        summary = doc["summary"]
        self.assertEqual(summary["servers"], SERVER_COUNT)
        self.assertEqual(summary["failed"], 0)
        self.assertEqual(summary["reused"], len(keys_before))
        self.assertEqual(summary["created"], SERVER_COUNT - len(keys_before))
        for entry in doc["servers"]:
            expected = "reuse" if f"{entry['server']}.key" in keys_before else "create"
            self.assertEqual(entry["key_action"], expected, entry["server"])

    def check_with_openssl(self):
        """A sample of pairs through the openssl CLI, an oracle independent of python's."""
        sample = self.rng.sample(FQDNS, OPENSSL_SAMPLE) + [FQDNS[0], FQDNS[-1]]
        for fqdn in sample:
            with self.subTest(openssl=fqdn):
                csr = self.out / f"{fqdn}.csr"
                rc, out, err = h.run(["openssl", "req", "-verify", "-noout", "-in", csr],
                                     cwd=self.tmp)
                self.assertEqual(rc, 0, err)
                self.assertIn("verify OK", out + err)
                self.assertEqual(h.key_public_pem(self.out / f"{fqdn}.key"),
                                 h.csr_public_pem(csr))


if __name__ == "__main__":
    unittest.main()
