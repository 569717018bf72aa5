"""Keys no one else can slip in (issue 14): a key planted at the moment poolcert links its own,
symlinks where keys go, output folders other users can change, one folder under two names (a
bind mount), a folder swapped mid-run, a --rekey that fails half-way, and keys kept out of core
dumps.

The moment of the race is made deterministic by tests/shim/link_shim.c, an LD_PRELOAD shim that
acts at poolcert's first linkat() of a .key file. Another user is a system user made here with
useradd (root only: these tests skip otherwise). Keys and CSRs are checked with the openssl CLI.
"""
import fcntl
import json
import os
import pwd
import shutil
import subprocess
import time
import unittest
from pathlib import Path

import harness as h

S1, S2 = h.SERVERS
SHIM = os.environ.get("POOLCERT_LINK_SHIM", "")
TEST_USER = "poolcert-e2e"
IS_ROOT = os.geteuid() == 0


def test_user():
    """(uid, gid) of a system user that is not the one running the tests, made when missing."""
    try:
        pw = pwd.getpwnam(TEST_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                        TEST_USER], check=True, capture_output=True)
        pw = pwd.getpwnam(TEST_USER)
    return pw.pw_uid, pw.pw_gid


def self_signed(key, cn, path):
    """A certificate of `key` made by the openssl CLI: a stand-in for a CA's answer."""
    subprocess.run(["openssl", "req", "-x509", "-key", str(key), "-subj", f"/CN={cn}", "-days",
                    "30", "-out", str(path)], check=True, capture_output=True)
    return path


def openssl_key(path, kind):
    """A fresh private key made by the openssl CLI (not by poolcert): 'rsa' 2048 or 'ec' P-256."""
    args = (["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"] if kind == "rsa"
            else ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"])
    subprocess.run(["openssl", "genpkey", *args, "-out", str(path)], check=True,
                   capture_output=True)
    os.chmod(path, 0o600)
    return path


class ShimCase(h.TempDirTestCase):
    def setUp(self):
        super().setUp()
        if not SHIM or not Path(SHIM).is_file():
            self.skipTest("the link shim is not built (POOLCERT_LINK_SHIM)")
        self.log = self.tmp / "shim.log"

    def shim_env(self, **settings):
        env = {"LD_PRELOAD": SHIM, "POOLCERT_SHIM_LOG": str(self.log)}
        env.update({f"POOLCERT_SHIM_{k.upper()}": str(v) for k, v in settings.items()})
        return env

    def assertShimDid(self, what):
        self.assertTrue(self.log.is_file(), "the shim never fired")
        self.assertIn(what, self.log.read_text().split()[0::2], self.log.read_text())


@unittest.skipUnless(IS_ROOT, "needs root: chown to another user")
class PlantedAtLinkTime(ShimCase):
    """Another user's (or program's) key appears at <server>.key just before poolcert links its
    own: used only when it passes every check a reused key passes, else that server fails."""

    def run_planted(self, **settings):
        """csr for S1 with the shim on; returns (exit code, S1's error in --json or None,
        stderr)."""
        self.write_spec()
        rc, out, err = self.poolcert(["csr", "spec.toml", "--server", S1, "--json", "-j", "1"],
                                     env=self.shim_env(**settings))
        server = json.loads(out)["servers"][0]
        self.assertEqual(server["server"] if "server" in server else S1, S1)
        return rc, server["error"], err

    def assertRefused(self, rc, error, planted, *reason):
        self.assertEqual(rc, 1, error)
        self.assertShimDid("planted")
        self.assertIsNotNone(error)
        self.assertIn(f"out/{S1}.key: a key appeared while this run was making", error)
        for text in reason:
            self.assertIn(text, error)
        key = self.tmp / "out" / f"{S1}.key"
        # The planted file is left as it is, and no CSR of it (or of poolcert's key) is there.
        self.assertEqual(key.read_bytes(), planted.read_bytes())
        self.assertFalse((self.tmp / "out" / f"{S1}.csr").exists())
        self.assertEqual(h.poolcert_temp_files(self.tmp / "out"), [])

    def test_another_users_key_of_the_wrong_type_is_not_adopted(self):
        uid, _ = test_user()
        planted = openssl_key(self.tmp / "theirs.key", "ec")
        rc, error, err = self.run_planted(plant=planted, uid=uid)
        self.assertRefused(rc, error, planted, f"owned by uid {uid}")

    def test_own_key_of_the_wrong_type_is_not_adopted(self):
        planted = openssl_key(self.tmp / "ec.key", "ec")
        rc, error, err = self.run_planted(plant=planted)
        self.assertRefused(rc, error, planted, "ECDSA P-256", "RSA 2048")

    def test_a_key_others_could_read_is_not_adopted(self):
        planted = openssl_key(self.tmp / "loose.key", "rsa")
        rc, error, err = self.run_planted(plant=planted, mode="644")
        self.assertRefused(rc, error, planted, "its mode is 0644")

    def test_a_symlink_to_a_ca_key_is_not_adopted(self):
        ca_key = openssl_key(self.tmp / "lab-ca-issuing.key", "rsa")
        rc, error, err = self.run_planted(symlink=ca_key)
        self.assertEqual(rc, 1, err)
        self.assertShimDid("symlinked")
        self.assertIn("symbolic link", error)
        self.assertIn(str(ca_key), error)
        self.assertTrue((self.tmp / "out" / f"{S1}.key").is_symlink())
        self.assertFalse((self.tmp / "out" / f"{S1}.csr").exists())

    def test_a_sound_key_is_adopted_and_its_csr_made_from_it(self):
        planted = openssl_key(self.tmp / "good.key", "rsa")
        rc, error, err = self.run_planted(plant=planted)
        self.assertEqual(rc, 0, err)
        self.assertShimDid("planted")
        out_dir = self.tmp / "out"
        self.assertEqual((out_dir / f"{S1}.key").read_bytes(), planted.read_bytes())
        self.assertEqual(h.csr_public_pem(out_dir / f"{S1}.csr"), h.key_public_pem(planted))


class SymlinkedKeys(h.TempDirTestCase):
    """<server>.key that is a symbolic link: refused (exit 2, the link and its target named)
    unless --follow-key-symlinks."""

    def setUp(self):
        super().setUp()
        self.write_spec()
        (self.tmp / "out").mkdir(mode=0o700)
        self.target = openssl_key(self.tmp / "elsewhere.key", "rsa")
        self.link = self.tmp / "out" / f"{S1}.key"
        os.symlink(self.target, self.link)

    def assertRefusedUnchanged(self, args):
        before = h.snapshot(self.tmp)
        rc, out, err = self.poolcert(args)
        self.assertEqual(rc, 2, err)
        line = self.assertOneErrorLine(err)
        self.assertIn(f"out/{S1}.key", line)
        self.assertIn(str(self.target), line)
        self.assertIn("--follow-key-symlinks", line)
        self.assertEqual(h.snapshot(self.tmp), before)

    def test_csr_refuses_a_symlinked_key(self):
        self.assertRefusedUnchanged(["csr", "spec.toml"])

    def test_csr_follows_it_when_asked(self):
        rc, out, err = self.poolcert(["csr", "spec.toml", "--server", S1,
                                      "--follow-key-symlinks", "--json"])
        self.assertEqual(rc, 0, err)
        self.assertTrue(self.link.is_symlink())
        self.assertEqual(h.csr_public_pem(self.tmp / "out" / f"{S1}.csr"),
                         h.key_public_pem(self.target))

    def test_verify_refuses_to_read_a_symlinked_key(self):
        # No CSR beside it: verify would read the key for its fingerprint.
        self.assertRefusedUnchanged(["verify", "spec.toml", "--cert", str(self.target)])

    def test_pfx_refuses_a_symlinked_key(self):
        passfile = self.tmp / "pass.txt"
        passfile.write_text("secret\n")
        cert = self_signed(self.target, S1, self.tmp / "s1.cer")
        self.assertRefusedUnchanged(["pfx", "spec.toml", "--server", S1, "--cert", str(cert),
                                     "-o", "x.pfx", "--passphrase-file", str(passfile)])


class UnsafeOutputFolders(h.TempDirTestCase):
    """A folder others can change is refused by csr (exit 2, how to fix it); a sticky one gets a
    warning; verify and pfx warn about the key folder."""

    def csr_in(self, mode, *extra):
        out = self.tmp / "out"
        out.mkdir()
        os.chmod(out, mode)
        self.write_spec()
        return self.poolcert(["csr", "spec.toml", *extra])

    def test_writable_by_others_without_sticky_bit_is_refused(self):
        for mode, who in ((0o777, "group and others"), (0o770, "group"), (0o703, "others")):
            with self.subTest(mode=oct(mode)):
                shutil.rmtree(self.tmp / "out", ignore_errors=True)
                rc, out, err = self.csr_in(mode)
                self.assertEqual(rc, 2, err)
                line = self.assertOneErrorLine(err)
                self.assertIn(f"writable by {who} (mode {mode:04o}) without the sticky bit", line)
                self.assertIn("chmod go-w out", line)
                self.assertEqual(os.listdir(self.tmp / "out"), [])

    def test_sticky_world_writable_folder_is_a_warning(self):
        rc, out, err = self.csr_in(0o1777, "--json")
        self.assertEqual(rc, 0, err)
        warning = [l for l in err.splitlines() if l.startswith("poolcert: warning: ")]
        self.assertEqual(len(warning), 1, err)
        self.assertIn("out is writable by group and others (mode 1777, sticky)", warning[0])
        self.assertEqual(json.loads(out)["warnings"][0]["mode"], "1777")
        self.assertTrue((self.tmp / "out" / f"{S1}.key").is_file())

    @unittest.skipUnless(IS_ROOT, "needs root: chown to another user")
    def test_folder_owned_by_another_user_is_refused(self):
        uid, gid = test_user()
        out = self.tmp / "out"
        out.mkdir(mode=0o700)
        os.chown(out, uid, gid)
        self.write_spec()
        rc, so, err = self.poolcert(["csr", "spec.toml"])
        self.assertEqual(rc, 2, err)
        line = self.assertOneErrorLine(err)
        self.assertIn(f"owned by uid {uid}", line)
        self.assertEqual(os.listdir(out), [])

    @unittest.skipUnless(IS_ROOT, "needs root: chown to another user")
    def test_reused_key_owned_by_another_user_is_refused(self):
        uid, _ = test_user()
        spec, out = h.make_example_keys(self.tmp)
        os.chown(out / f"{S1}.key", uid, -1)
        before = h.snapshot(self.tmp)
        rc, so, err = self.poolcert(["csr", "spec.toml"])
        self.assertEqual(rc, 2, err)
        self.assertIn(f"owned by uid {uid}", self.assertOneErrorLine(err))
        self.assertEqual(h.snapshot(self.tmp), before)

    def test_verify_and_pfx_warn_about_a_key_folder_others_can_write(self):
        spec, out = h.make_example_keys(self.tmp)
        cert = self_signed(out / f"{S1}.key", S1, self.tmp / "s1.cer")
        os.chmod(out, 0o777)
        passfile = self.tmp / "pass.txt"
        passfile.write_text("secret\n")
        expected = "out is writable by group and others (mode 0777) without the sticky bit"
        for args in (["verify", "spec.toml", "--cert", str(cert)],
                     ["pfx", "spec.toml", "--server", S1, "--cert", str(cert), "-o", "x.pfx",
                      "--passphrase-file", str(passfile)]):
            with self.subTest(command=args[0]):
                rc, so, err = self.poolcert(args)
                self.assertIn(rc, (0, 1), err)  # a self-signed stand-in fails checks: no matter
                warning = [l for l in err.splitlines() if l.startswith("poolcert: warning: ")]
                self.assertIn(expected, "\n".join(warning), err)


class BadInputWritesNothing(h.TempDirTestCase):
    def test_no_folder_of_a_good_spec_is_made_when_another_spec_is_bad(self):
        self.write_spec(name="a.toml")
        text = (h.example_text().replace('output_dir = "out"', 'output_dir = "b-out"')
                .replace("ocspool", "otherpool").replace("ocssrv0", "othersrv0"))
        self.write_spec(text, name="b.toml")
        (self.tmp / "b-out").mkdir()
        os.chmod(self.tmp / "b-out", 0o777)
        before = h.snapshot(self.tmp)
        rc, so, err = self.poolcert(["csr", "a.toml", "b.toml"])
        self.assertEqual(rc, 2, err)
        self.assertIn("b-out", self.assertOneErrorLine(err))
        self.assertFalse((self.tmp / "out").exists(), "a.toml's folder was made")
        self.assertEqual(h.snapshot(self.tmp), before)

    def test_an_output_folder_that_cannot_be_made_stops_every_spec(self):
        self.write_spec(name="a.toml")
        (self.tmp / "file").write_text("x")
        text = (h.example_text().replace('output_dir = "out"', 'output_dir = "file/out"')
                .replace("ocspool", "otherpool").replace("ocssrv0", "othersrv0"))
        self.write_spec(text, name="b.toml")
        for fmt in ("pem", "inf"):
            with self.subTest(format=fmt):
                before = h.snapshot(self.tmp)
                rc, so, err = self.poolcert(["csr", "a.toml", "b.toml", "--format", fmt])
                self.assertEqual(rc, 2, err)
                self.assertIn("file/out", self.assertOneErrorLine(err))
                self.assertEqual(h.snapshot(self.tmp), before)


@unittest.skipUnless(IS_ROOT, "needs root: mount --bind")
class BindMount(h.TempDirTestCase):
    def test_two_specs_writing_one_folder_through_a_bind_mount_are_refused(self):
        real, alias = self.tmp / "out", self.tmp / "alias"
        real.mkdir(mode=0o700)
        alias.mkdir(mode=0o700)
        mount = subprocess.run(["mount", "--bind", str(real), str(alias)], capture_output=True,
                               text=True)
        if mount.returncode != 0:
            self.skipTest(f"mount --bind is not permitted here: {mount.stderr.strip()}")
        self.addCleanup(subprocess.run, ["umount", str(alias)], capture_output=True)
        self.write_spec(name="a.toml")
        text = (h.example_text().replace('output_dir = "out"', 'output_dir = "alias"')
                .replace("ocspool", "otherpool"))
        self.write_spec(text, name="b.toml")
        before = h.snapshot(real)
        rc, so, err = self.poolcert(["csr", "a.toml", "b.toml"])
        self.assertEqual(rc, 2, err)
        line = self.assertOneErrorLine(err)
        self.assertIn("would both write", line)
        self.assertIn(f"{S1}.key", line)
        self.assertEqual(h.snapshot(real), before)


class FolderSwappedMidRun(ShimCase):
    def test_files_go_to_the_folder_locked_not_where_the_link_points_later(self):
        first, second = self.tmp / "A", self.tmp / "B"
        first.mkdir(mode=0o700)
        second.mkdir(mode=0o700)
        os.symlink("A", self.tmp / "out-link")
        spec = h.write_pool_spec(self.tmp, 12)
        spec.write_text(spec.read_text().replace('output_dir = "out"', 'output_dir = "out-link"'))
        env = self.shim_env(swap_link=self.tmp / "out-link", swap_to=second)
        rc, so, err = self.poolcert(["csr", "spec.toml", "-j", "2"], env=env)
        self.assertEqual(rc, 0, err)
        self.assertShimDid("swapped")
        self.assertEqual(os.readlink(self.tmp / "out-link"), str(second))
        expected = sorted(f"{s}.{ext}" for s in h.pool_fqdns(12) for ext in ("key", "csr"))
        self.assertEqual(sorted(os.listdir(first)), expected)
        self.assertEqual(os.listdir(second), [], "files went into a folder this run never locked")
        for server in h.pool_fqdns(12):
            self.assertEqual(h.csr_public_pem(first / f"{server}.csr"),
                             h.key_public_pem(first / f"{server}.key"))


class FailedRekey(ShimCase):
    def test_a_rekey_whose_link_fails_says_where_the_old_key_went_and_the_next_run_stops(self):
        spec, out = h.make_example_keys(self.tmp)
        old = (out / f"{S1}.key").read_bytes()
        rc, so, err = self.poolcert(["csr", "spec.toml", "--server", S1, "--rekey", "--json"],
                                    env=self.shim_env(fail=28))  # ENOSPC
        self.assertEqual(rc, 1, err)
        self.assertShimDid("failed")
        server = json.loads(so)["servers"][0]
        error = server["error"]
        self.assertIn("No space left on device", error)
        backups = sorted(out.glob(f"{S1}.key.*.bak"))
        self.assertEqual(len(backups), 1, os.listdir(out))
        self.assertEqual(backups[0].read_bytes(), old)
        self.assertFalse((out / f"{S1}.key").exists())
        self.assertEqual(server["key_backup"], f"out/{backups[0].name}")
        self.assertIn(f"the old key is at out/{backups[0].name}", error)
        self.assertIn(f"mv out/{backups[0].name} out/{S1}.key", error)
        self.assertEqual(h.poolcert_temp_files(out), [])

        # The next run does not make a new key silently while that backup is there.
        before = h.snapshot(self.tmp)
        rc, so, err = self.poolcert(["csr", "spec.toml", "--server", S1])
        self.assertEqual(rc, 2, err)
        line = self.assertOneErrorLine(err)
        self.assertIn(f"out/{S1}.key: is missing, but a backup of it from --rekey", line)
        self.assertEqual(h.snapshot(self.tmp), before)

        # Put back, it is reused; or --rekey makes a new key and keeps the backup.
        os.link(backups[0], out / f"{S1}.key")
        doc = self.poolcert_json(["csr", "spec.toml", "--server", S1])
        self.assertEqual((out / f"{S1}.key").read_bytes(), old)
        self.assertEqual(doc["summary"]["reused"], 1)
        (out / f"{S1}.key").unlink()
        self.poolcert_json(["csr", "spec.toml", "--server", S1, "--rekey"])
        self.assertNotEqual((out / f"{S1}.key").read_bytes(), old)
        self.assertTrue(backups[0].is_file())


@unittest.skipUnless(IS_ROOT and shutil.which("setpriv"), "needs root and setpriv")
class NoCoreDumps(h.TempDirTestCase):
    """poolcert is not dumpable and has a core size limit of 0: /proc/<pid>'s files belong to
    root (proc(5)), so neither a core file nor another process of the user gets its memory."""

    def proc_facts(self, pid):
        mem_owner = os.stat(f"/proc/{pid}/mem").st_uid
        limits = Path(f"/proc/{pid}/limits").read_text()
        core = [l for l in limits.splitlines() if l.startswith("Max core file size")][0]
        return mem_owner, core.split()[4:6]

    def as_user(self, uid, gid, args, **kw):
        return subprocess.Popen(["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups",
                                 *args], cwd=self.tmp, stderr=subprocess.PIPE, text=True, **kw)

    def test_a_waiting_csr_run_cannot_be_read_or_dumped(self):
        uid, gid = test_user()
        os.chmod(self.tmp, 0o755)
        self.write_spec()
        os.chmod(self.tmp / "spec.toml", 0o644)
        out = self.tmp / "out"
        out.mkdir(mode=0o700)
        os.chown(out, uid, gid)
        # The oracle: another process of that user, with a core limit, is owned by that user.
        control = self.as_user(uid, gid, ["sh", "-c", "ulimit -c unlimited; exec sleep 30"])
        self.addCleanup(control.kill)
        time.sleep(0.3)
        self.assertEqual(self.proc_facts(control.pid), (uid, ["unlimited", "unlimited"]))
        # Hold the folder's lock so that poolcert waits, alive, in csr.
        fd = os.open(out, os.O_RDONLY)
        self.addCleanup(os.close, fd)
        fcntl.flock(fd, fcntl.LOCK_EX)
        env = dict(os.environ)
        env.update(h.profile_env())
        run = self.as_user(uid, gid, ["sh", "-c", f"ulimit -c unlimited; exec {h.POOLCERT} csr "
                                      "spec.toml"], env=env)
        self.addCleanup(run.kill)
        line = run.stderr.readline()
        self.assertIn("waiting for another poolcert run", line)
        self.assertEqual(self.proc_facts(run.pid), (0, ["0", "0"]))
        fcntl.flock(fd, fcntl.LOCK_UN)
        run.wait(timeout=60)
        self.assertEqual(run.returncode, 0, run.stderr.read())


if __name__ == "__main__":
    unittest.main(verbosity=2)
