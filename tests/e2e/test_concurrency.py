"""Two `poolcert csr` runs on one folder (issue 7): they take turns on an flock(2) of the output
folder, so there is never a second key for a server nor a CSR that does not match its key; the
second run reuses what the first made. --no-wait refuses a folder in use and writes nothing;
`plan` never takes the lock."""

import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest

from cryptography.hazmat.primitives import serialization

import harness as h

N = 100
ROUNDS = 5
BACKUP = re.compile(r"\.key\.\d{8}T\d{6}Z\.bak(\.\d+)?$")  # .1, .2 when made in one second
WAIT_LINE = re.compile(r"^poolcert: waiting for another poolcert run on (.+) to finish$")

def run_together(args, cwd, count=2, timeout=240):
    """Starts `count` identical runs at the same moment; returns [(rc, stdout, stderr)].

    Their outputs go to files, not pipes: a run that waits for the lock must not hold up the
    one that has it by leaving its pipe unread.
    """
    env = dict(os.environ, **h.profile_env())
    files, procs = [], []
    for _ in range(count):
        out, err = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")
        files.append((out, err))
        procs.append(subprocess.Popen([h.POOLCERT, *map(str, args)], cwd=cwd, env=env,
                                      stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                      text=True))
    results = []
    for proc, (out, err) in zip(procs, files):
        try:
            proc.wait(timeout=timeout)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        out.seek(0)
        err.seek(0)
        results.append((proc.returncode, out.read(), err.read()))
        out.close()
        err.close()
    return results


class HeldLock:
    """The output folder's flock(2), held from Python as another poolcert run would hold it."""

    def __init__(self, folder):
        self.fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def release(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def is_locked(folder):
    """Whether some process holds the folder's lock (probed without waiting)."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


class ConcurrencyCase(h.TempDirTestCase):

    def start(self, args, stderr=subprocess.PIPE):
        """Starts poolcert in self.tmp without waiting (stdout and stderr piped, as text); it is
        killed and its pipes closed at the end of the test."""
        env = dict(os.environ, **h.profile_env())
        proc = subprocess.Popen([h.POOLCERT, *map(str, args)], cwd=self.tmp, env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr,
                                text=True)

        def cleanup():
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            for pipe in (proc.stdout, proc.stderr):
                if pipe is not None:
                    pipe.close()

        self.addCleanup(cleanup)
        return proc

    def assertOneMatchingKeyPerServer(self, out, servers, backups_per_server=0):
        """Exactly one key and one CSR per server, each CSR for its key; no temporary files."""
        names = sorted(p.name for p in out.iterdir())
        self.assertEqual(h.poolcert_temp_files(out), [], names)
        keys = sorted(n for n in names if n.endswith(".key"))
        self.assertEqual(keys, sorted(f"{s}.key" for s in servers))
        csrs = sorted(n for n in names if n.endswith(".csr"))
        self.assertEqual(csrs, sorted(f"{s}.csr" for s in servers))
        baks = [n for n in names if BACKUP.search(n)]
        self.assertEqual(len(baks), backups_per_server * len(servers), baks[:10])
        for server in servers:
            key = serialization.load_pem_private_key((out / f"{server}.key").read_bytes(), None)
            csr = h.load_csr(out / f"{server}.csr")
            self.assertTrue(csr.is_signature_valid, server)
            self.assertEqual(h.spki_sha256(csr.public_key()), h.spki_sha256(key.public_key()),
                             f"{server}: the CSR is not for the key")
            self.assertEqual(h.file_mode(out / f"{server}.key"), 0o600, server)

    def run_pair(self, args, cwd):
        """Two identical runs at the same moment, both exit 0: [(json doc, stderr)] x2."""
        results = []
        for rc, so, se in run_together(args, cwd):
            self.assertEqual(rc, 0, se)
            results.append((json.loads(so), se))
        return results


class TwoRunsOnOneFolder(ConcurrencyCase):

    def test_two_runs_at_once_make_one_key_per_server_and_the_second_reuses(self):
        servers = h.pool_fqdns(N)
        overlapped = 0
        for round_ in range(ROUNDS):
            with self.subTest(round=round_):
                folder = self.tmp / f"round{round_}"
                folder.mkdir()
                h.write_pool_spec(folder, N)
                results = self.run_pair(["csr", "spec.toml", "--json"], folder)
                self.assertOneMatchingKeyPerServer(folder / "out", servers)
                summaries = sorted((doc["summary"]["created"], doc["summary"]["reused"])
                                   for doc, _ in results)
                # Serialised: one made every key, the other (whichever waited) reused them all.
                self.assertEqual(summaries, [(0, N), (N, 0)], summaries)
                waited = [(doc, line) for doc, se in results for line in se.splitlines()
                          if WAIT_LINE.match(line)]
                self.assertLessEqual(len(waited), 1, waited)  # said once, by the one that waited
                if waited:
                    overlapped += 1
                    waiter, line = waited[0]
                    self.assertEqual(WAIT_LINE.match(line).group(1), "out")
                    self.assertEqual({s["key_action"] for s in waiter["servers"]}, {"reuse"})
        # Started together, 100 keys each: the runs overlap (almost) every round.
        self.assertGreater(overlapped, 0, "the two runs never overlapped: the test proves nothing")

    def test_two_rekey_runs_at_once_take_turns(self):
        servers = h.pool_fqdns(30)
        h.write_pool_spec(self.tmp, 30)
        self.poolcert_json(["csr", "spec.toml"])
        out = self.tmp / "out"
        first_keys = {s: (out / f"{s}.key").read_bytes() for s in servers}
        results = self.run_pair(["csr", "spec.toml", "--rekey", "--json"], self.tmp)
        for doc, _ in results:
            self.assertEqual(doc["summary"]["rekeyed"], 30)
        # Each run moved the key it found aside: two backups per server, three distinct keys.
        self.assertOneMatchingKeyPerServer(out, servers, backups_per_server=2)
        for server in servers:
            baks = [p for p in out.iterdir()
                    if p.name.startswith(f"{server}.key.") and BACKUP.search(p.name)]
            versions = {first_keys[server], (out / f"{server}.key").read_bytes(),
                        *(b.read_bytes() for b in baks)}
            self.assertEqual(len(versions), 3, server)
            self.assertIn(first_keys[server], {b.read_bytes() for b in baks})


class HeldFolder(ConcurrencyCase):

    def setUp(self):
        super().setUp()
        self.spec = h.write_pool_spec(self.tmp, 5)
        self.out = self.tmp / "out"
        self.out.mkdir(mode=0o700)
        self.lock = HeldLock(self.out)
        self.addCleanup(self.lock.release)

    def test_no_wait_on_a_held_folder_exits_1_and_writes_nothing(self):
        before = h.snapshot(self.tmp)
        began = time.monotonic()
        rc, so, se = self.poolcert(["csr", "spec.toml", "--no-wait"], timeout=60)
        self.assertEqual(rc, 1, so + se)
        self.assertLess(time.monotonic() - began, 30, "--no-wait waited")
        line = self.assertOneErrorLine(se)
        self.assertIn("out", line)
        self.assertIn("another poolcert run", line)
        self.assertEqual(so, "")
        self.assertEqual(h.snapshot(self.tmp), before)

    def test_no_wait_on_a_free_folder_runs(self):
        self.lock.release()
        doc = self.poolcert_json(["csr", "spec.toml", "--no-wait"])
        self.assertEqual(doc["summary"]["created"], 5)
        self.assertOneMatchingKeyPerServer(self.out, h.pool_fqdns(5))

    def test_waits_saying_so_once_then_runs_when_the_lock_is_released(self):
        proc = self.start(["csr", "spec.toml", "--json"])
        lines = []
        reader = threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True)
        reader.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not lines and proc.poll() is None:
            time.sleep(0.01)
        self.assertIsNone(proc.poll(), f"did not wait: {lines}")
        self.assertEqual(lines, ["poolcert: waiting for another poolcert run on out to finish\n"])
        time.sleep(0.3)  # still waiting, and nothing written meanwhile
        self.assertIsNone(proc.poll())
        self.assertEqual(sorted(p.name for p in self.out.iterdir()), [])
        self.lock.release()
        so = proc.stdout.read()
        proc.wait(timeout=120)
        reader.join(timeout=10)
        self.assertEqual(proc.returncode, 0, "".join(lines))
        self.assertEqual(len(lines), 1, lines)  # said once
        doc = json.loads(so)
        self.assertEqual(doc["summary"]["created"], 5)
        self.assertOneMatchingKeyPerServer(self.out, h.pool_fqdns(5))

    def start_waiting_run(self):
        """Starts `csr --json` on the held folder; returns it once it says it is waiting."""
        proc = self.start(["csr", "spec.toml", "--json"])
        self.assertRegex(proc.stderr.readline(), WAIT_LINE)
        return proc

    def pregenerated(self):
        """Keys and CSRs for the spec's servers, made by poolcert in another folder."""
        self.poolcert_json(["csr", "spec.toml", "-o", "pre"])
        return self.tmp / "pre"

    def test_what_to_do_with_each_key_is_decided_once_the_folder_is_ours(self):
        pre = self.pregenerated()
        proc = self.start_waiting_run()  # it saw no key: it planned "create" for every server
        for f in pre.iterdir():  # meanwhile the run holding the folder makes the keys
            shutil.copy2(f, self.out / f.name)
        self.lock.release()
        so, se = proc.communicate(timeout=120)
        self.assertEqual(proc.returncode, 0, se)
        doc = json.loads(so)
        self.assertEqual({s["key_action"] for s in doc["servers"]}, {"reuse"})
        self.assertEqual(doc["summary"]["reused"], 5)
        for server in h.pool_fqdns(5):
            self.assertEqual((self.out / f"{server}.key").read_bytes(),
                             (pre / f"{server}.key").read_bytes())
        self.assertOneMatchingKeyPerServer(self.out, h.pool_fqdns(5))

    def test_a_key_made_while_waiting_is_checked_like_any_existing_key(self):
        # An RSA key for an ECDSA spec, there only once the run got the folder: decided again
        # under the lock, it is refused (exit 2, untouched) rather than silently used.
        proc = self.start_waiting_run()
        key = self.out / "srv0001.company.local.key"
        rc, _, err = h.run(["openssl", "genpkey", "-algorithm", "RSA",
                            "-pkeyopt", "rsa_keygen_bits:2048", "-out", key], cwd=self.tmp)
        self.assertEqual(rc, 0, err)
        key.chmod(0o600)
        before = key.read_bytes()
        self.lock.release()
        so, se = proc.communicate(timeout=120)
        self.assertEqual(proc.returncode, 2, so + se)
        self.assertIn("srv0001.company.local.key", se)
        self.assertIn("--rekey", se)
        self.assertEqual(key.read_bytes(), before)
        self.assertEqual(sorted(p.name for p in self.out.iterdir()), [key.name])

    def test_plan_does_not_take_the_lock(self):
        began = time.monotonic()
        rc, so, se = self.poolcert(["plan", "spec.toml", "--json"], timeout=60)
        self.assertEqual(rc, 0, se)
        self.assertLess(time.monotonic() - began, 30)
        self.assertNotIn("waiting", se)
        self.assertEqual({s["key_action"] for s in json.loads(so)["servers"]}, {"create"})

    def test_inf_does_not_take_the_lock(self):
        # --format inf makes no key (certreq does, on Windows): no lock to wait for.
        h.write_pool_spec(self.tmp, 5, key="rsa", name="rsa.toml")
        rc, so, se = self.poolcert(["csr", "rsa.toml", "--format", "inf", "--no-wait"],
                                   timeout=60)
        self.assertEqual(rc, 0, se)
        self.assertEqual(len(list(self.out.glob("*.inf"))), 5)


class KilledRun(ConcurrencyCase):

    def test_a_killed_run_leaves_no_lock(self):
        h.write_pool_spec(self.tmp, 40, key="rsa")
        out = self.tmp / "out"
        proc = self.start(["csr", "spec.toml", "--jobs", "1"], stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if out.is_dir() and is_locked(out):
                break
            time.sleep(0.005)
        self.assertIsNone(proc.poll(), "the run ended before it was seen holding the lock")
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        self.assertFalse(is_locked(out), "the lock outlived the killed run")
        rc, so, se = self.poolcert(["csr", "spec.toml", "--no-wait"])
        self.assertEqual(rc, 0, se)
        self.assertOneMatchingKeyPerServer(out, h.pool_fqdns(40))


if __name__ == "__main__":
    unittest.main()
