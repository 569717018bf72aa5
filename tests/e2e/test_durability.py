"""The order of poolcert csr's durable writes, as strace sees the system calls.

The rule (README, "Keys are precious"): every file's data is fsynced before its name appears, and
the output folder is fsynced once, after the last name appeared and before the run reports.
strace -y names the file behind each fsync'd descriptor, so the test needs no knowledge of
poolcert's internals beyond the temp-file naming the README documents.
"""

import os
import re
import shutil
import subprocess
import unittest

import harness as h

N = 20
# 12345 fsync(5</abs/out/.srv0001.company.local.key.poolcert-99-AbC123> ...
FSYNC = re.compile(r"^(\d+) fsync\(\d+<(?P<path>[^>]+)>")
# 12345 link("out/.x.poolcert-99-AbC123", "out/x" ...   (or rename)
NAMING = re.compile(r'^(\d+) (?P<call>link|rename)\("(?P<src>[^"]+)", "(?P<dst>[^"]+)"')
RESUMED_OK = re.compile(r"^(\d+) <\.\.\. (?P<call>\w+) resumed>.*= 0$")


def parse(log_text):
    """Events in log order: (pid, kind, a, b); a syscall counts once it returned 0."""
    events, pending = [], {}
    for line in log_text.splitlines():
        m = FSYNC.match(line) or NAMING.match(line)
        if m:
            pid = m.group(1)
            if "fsync" in line.split("(")[0]:
                event = (pid, "fsync", m.group("path"), None)
            else:
                event = (pid, m.group("call"), m.group("src"), m.group("dst"))
            if line.endswith("<unfinished ...>"):
                pending[pid] = event
            elif line.endswith("= 0"):
                events.append(event)
            continue
        m = RESUMED_OK.match(line)
        if m and m.group(1) in pending:
            events.append(pending.pop(m.group(1)))
    return events


@unittest.skipUnless(shutil.which("strace"), "strace not installed (scripts/setup installs it)")
class WriteOrder(h.TempDirTestCase):
    def test_each_file_fsynced_before_its_name_and_the_folder_once_at_the_end(self):
        spec = h.write_pool_spec(self.tmp, N)
        log = self.tmp / "strace.log"
        cmd = ["strace", "-f", "-qq", "-y", "-o", str(log),
               "-e", "trace=fsync,link,rename", h.POOLCERT, "csr", str(spec), "--jobs", "2"]
        # LeakSanitizer stops the world with ptrace, which fails under strace: leaks are checked
        # by every other test, not this one (an uninstrumented build ignores the option).
        env = dict(os.environ)
        env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
        proc = subprocess.run(cmd, cwd=self.tmp, env=env, capture_output=True, text=True,
                              timeout=240)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        events = parse(log.read_text())
        out = (self.tmp / "out").resolve()

        # Every final name appears once, by link (keys: never replacing) or rename (CSRs), from
        # a temp file the same thread fsynced before.
        named = {}
        for i, (pid, kind, src, dst) in enumerate(events):
            if kind == "fsync":
                continue
            final = (self.tmp / dst).resolve()
            self.assertNotIn(final.name, named, f"{final.name} named twice")
            named[final.name] = i
            self.assertEqual(kind, "link" if final.suffix == ".key" else "rename", final.name)
            synced_before = [j for j, e in enumerate(events[:i])
                             if e[0] == pid and e[1] == "fsync"
                             and e[2] == str((self.tmp / src).resolve())]
            self.assertTrue(synced_before, f"{src} linked/renamed to {dst} without an fsync")
        expected = {f"{f}.{ext}" for f in h.pool_fqdns(N) for ext in ("key", "csr")}
        self.assertEqual(set(named), expected)

        # The folder itself: fsynced exactly once, after the last name appeared.
        folder_syncs = [i for i, e in enumerate(events) if e[1] == "fsync" and e[2] == str(out)]
        self.assertEqual(len(folder_syncs), 1, f"folder fsyncs at events {folder_syncs}")
        self.assertGreater(folder_syncs[0], max(named.values()))
        # Nothing else is fsynced: two files per server and the folder once.
        self.assertEqual(sum(1 for e in events if e[1] == "fsync"), 2 * N + 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
