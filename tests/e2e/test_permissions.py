"""Permissions (issue 7): under umask 000 every key poolcert writes is exactly 0600 and every
folder it makes is 0700 (`csr`, `pfx`, `ca init`, `ca sign`); an existing server key that group
or others can read is warned about by `csr`, `verify` and `pfx` (stderr, and `warnings` in
--json) without changing the exit code."""

import json
import shutil
import unittest
from pathlib import Path

import harness as h

S1, S2 = h.SERVERS
PASSPHRASE = "correct horse battery staple"
CDP = "http://pki.lab/inter.crl"
AIA = "http://pki.lab/inter.cer"
OPEN = 0o000  # the umask that takes no permission away

F = None  # the module fixture


class Fixture:
    """Everything made under umask 000: keys and CSRs in a nested new folder, a lab CA with an
    intermediate in a new folder, both leaves signed, and a PFX for S1 in the key folder."""

    def __init__(self, folder):
        self.dir = Path(folder)
        self.spec = h.copy_example(self.dir)
        self.keys = self.dir / "keys" / "nested" / "out"
        self.ca = self.dir / "lab" / "ca"
        self.passfile = self.dir / "pw.txt"
        self.passfile.write_text(PASSPHRASE + "\n")
        self.run(["csr", self.spec, "-o", self.keys], "csr")
        self.run(["ca", "init", self.ca, "--intermediate", "--cdp", CDP, "--aia", AIA], "ca init")
        self.signed = self.dir / "signed" / "leaves"
        self.run(["ca", "sign", "--ca", self.ca, "--spec", self.spec, "-o", self.signed,
                  *[self.keys / f"{s}.csr" for s in h.SERVERS]], "ca sign")
        self.p7b = {s: self.signed / f"{s}.p7b" for s in h.SERVERS}
        self.run(["pfx", self.spec, "--server", S1, "--cert", self.p7b[S1], "--key-dir",
                  self.keys, "--ca-bundle", self.ca / "root.cer", "--passphrase-file",
                  self.passfile], "pfx")
        self.pfx = self.keys / f"{S1}.pfx"

    def run(self, args, what):
        h.poolcert_ok(args, self.dir, what, env=h.profile_env(), umask=OPEN)


def setUpModule():
    global F
    F = Fixture(h.module_temp_dir("poolcert-e2e-perms-"))


class UnderUmask000(h.TempDirTestCase):
    """Keys 0600 and new folders 0700 exactly, whatever the umask would have allowed."""

    def assertMode(self, path, mode):
        self.assertEqual(oct(h.file_mode(path)), oct(mode), str(path))

    def test_csr_keys_are_0600_and_every_new_folder_0700(self):
        for folder in (F.dir / "keys", F.dir / "keys" / "nested", F.keys):
            self.assertMode(folder, 0o700)
        for server in h.SERVERS:
            self.assertMode(F.keys / f"{server}.key", 0o600)
            self.assertMode(F.keys / f"{server}.csr", 0o644)  # public data
        self.assertEqual(h.poolcert_temp_files(F.keys), [])

    def test_rekeyed_and_encrypted_keys_are_0600(self):
        spec = self.write_spec()
        self.poolcert_json(["csr", spec.name, "--server", S1], umask=OPEN)
        doc = self.poolcert_json(["csr", spec.name, "--server", S1, "--rekey"], umask=OPEN)
        self.assertEqual(doc["servers"][0]["key_action"], "rekey")
        out = self.tmp / "out"
        self.assertMode(out, 0o700)
        self.assertMode(out / f"{S1}.key", 0o600)
        self.assertMode(self.tmp / doc["servers"][0]["key_backup"], 0o600)
        passfile = self.tmp / "pw.txt"
        passfile.write_text(PASSPHRASE + "\n")
        self.poolcert_json(["csr", spec.name, "--server", S2, "--encrypt-key",
                            "--passphrase-file", passfile.name], umask=OPEN)
        self.assertIn(b"ENCRYPTED", (out / f"{S2}.key").read_bytes())
        self.assertMode(out / f"{S2}.key", 0o600)

    def test_pfx_is_0600(self):
        self.assertMode(F.pfx, 0o600)
        self.assertEqual(h.poolcert_temp_files(F.keys), [])

    def test_ca_init_keys_are_0600_and_its_new_folders_0700(self):
        for folder in (F.dir / "lab", F.ca):
            self.assertMode(folder, 0o700)
        for name in ("root.key", "intermediate.key"):
            self.assertMode(F.ca / name, 0o600)
        for name in ("root.cer", "intermediate.cer", "ca.json"):
            self.assertMode(F.ca / name, 0o644)

    def test_root_only_ca_key_is_0600(self):
        ca = self.tmp / "root-only"
        rc, so, se = self.poolcert(["ca", "init", ca], umask=OPEN)
        self.assertEqual(rc, 0, so + se)
        self.assertMode(ca, 0o700)
        self.assertMode(ca / "root.key", 0o600)
        self.assertFalse((ca / "intermediate.key").exists())

    def test_ca_sign_output_folders_are_0700(self):
        for folder in (F.dir / "signed", F.signed):
            self.assertMode(folder, 0o700)
        for server in h.SERVERS:
            self.assertMode(F.signed / f"{server}.cer", 0o644)


class LooseKeyWarnings(h.TempDirTestCase):
    """A copy of the fixture's keys in self.tmp/keys; tests loosen a key's mode."""

    def setUp(self):
        super().setUp()
        self.spec = self.write_spec()
        self.keys = self.tmp / "keys"
        self.keys.mkdir(mode=0o700)
        for server in h.SERVERS:
            for ext in (".key", ".csr"):
                shutil.copy2(F.keys / f"{server}{ext}", self.keys / f"{server}{ext}")
        self.certs = self.tmp / "certs"
        self.certs.mkdir()
        for server in h.SERVERS:
            shutil.copy2(F.p7b[server], self.certs / f"{server}.p7b")
        self.ca_bundle = F.ca / "root.cer"

    def expected_line(self, path, who="group and others", mode="0644"):
        return (f"poolcert: warning: {path} is readable by {who} (mode {mode}): "
                f"run chmod 600 {path}")

    def warning_lines(self, stderr):
        return [line for line in stderr.splitlines() if line.startswith("poolcert: warning: ")]

    def loosen(self, server, mode=0o644):
        key = self.keys / f"{server}.key"
        key.chmod(mode)
        return Path("keys") / key.name  # as the commands below name it (relative to self.tmp)

    def assertWarned(self, stderr, doc, paths, mode="0644", who="group and others"):
        """stderr has exactly one warning line per path, and the JSON `warnings` says the same."""
        self.assertEqual(self.warning_lines(stderr),
                         [self.expected_line(p, who, mode) for p in paths], stderr)
        if doc is not None:
            self.assertEqual(doc["warnings"],
                             [{"file": str(p), "mode": mode,
                               "message": self.expected_line(p, who, mode)[len(
                                   "poolcert: warning: "):]} for p in paths])

    def assertNotWarned(self, stderr, doc):
        self.assertEqual(self.warning_lines(stderr), [], stderr)
        self.assertNotIn("readable by", stderr)
        if doc is not None:
            self.assertEqual(doc["warnings"], [])

    # --- verify -------------------------------------------------------------------------------

    def verify(self, *extra, key_dir="keys", json_out=True):
        args = ["verify", self.spec.name, "--cert-dir", "certs", "--ca-bundle", self.ca_bundle,
                *extra]
        if key_dir:
            args += ["--key-dir", key_dir]
        if json_out:
            args.append("--json")
        rc, so, se = self.poolcert(args)
        return rc, (json.loads(so) if json_out else so), se

    def test_verify_without_loose_keys_warns_nothing(self):
        for json_out in (True, False):
            with self.subTest(json=json_out):
                rc, doc, se = self.verify(json_out=json_out)
                self.assertEqual(rc, 0, se)
                self.assertNotWarned(se, doc if json_out else None)

    def test_verify_warns_for_a_key_in_key_dir_others_can_read_exit_unchanged(self):
        loose = self.loosen(S1)
        for json_out in (True, False):
            with self.subTest(json=json_out):
                rc, doc, se = self.verify(json_out=json_out)
                self.assertEqual(rc, 0, se)
                self.assertWarned(se, doc if json_out else None, [loose])
        self.assertEqual(h.file_mode(self.tmp / loose), 0o644, "poolcert changed the mode itself")

    def test_verify_warning_keeps_a_failing_exit_code(self):
        loose = self.loosen(S1)
        rc, doc, se = self.verify("--min-days", "3000")  # validity.remaining fails
        self.assertEqual(rc, 1, se)
        self.assertWarned(se, doc, [loose])

    def test_verify_one_line_per_loose_key_and_the_mode_found(self):
        loose1 = self.loosen(S1, 0o640)
        loose2 = self.loosen(S2, 0o640)
        rc, doc, se = self.verify()
        self.assertEqual(rc, 0, se)
        self.assertWarned(se, doc, [loose1, loose2], mode="0640", who="group")

    def test_verify_only_the_servers_asked_for(self):
        self.loosen(S1)
        loose2 = self.loosen(S2)
        rc, doc, se = self.verify("--server", S2)
        self.assertEqual(rc, 0, se)
        self.assertWarned(se, doc, [loose2])

    def test_verify_default_key_dir_is_the_spec_output_folder(self):
        self.keys.rename(self.tmp / "out")
        self.keys = self.tmp / "out"
        (self.keys / f"{S1}.key").chmod(0o604)
        rc, doc, se = self.verify(key_dir=None)
        self.assertEqual(rc, 0, se)
        self.assertWarned(se, doc, [Path("out") / f"{S1}.key"], mode="0604", who="others")

    # --- pfx ----------------------------------------------------------------------------------

    def pfx(self, out, *extra):
        args = ["pfx", self.spec.name, "--server", S1, "--cert", f"certs/{S1}.p7b",
                "--key-dir", "keys", "--ca-bundle", self.ca_bundle, "-o", out,
                "--passphrase-file", F.passfile, *extra]
        return self.poolcert(args)

    def test_pfx_without_loose_key_warns_nothing(self):
        rc, so, se = self.pfx("a.pfx", "--json")
        self.assertEqual(rc, 0, se)
        self.assertNotWarned(se, json.loads(so))

    def test_pfx_warns_for_the_server_key_and_still_writes_0600(self):
        loose = self.loosen(S1)
        self.loosen(S2)  # not this PFX's key: not its business
        rc, so, se = self.pfx("a.pfx", "--json")
        self.assertEqual(rc, 0, se)
        self.assertWarned(se, json.loads(so), [loose])
        self.assertEqual(h.file_mode(self.tmp / "a.pfx"), 0o600)
        rc, so, se = self.pfx("b.pfx")
        self.assertEqual(rc, 0, se)
        self.assertWarned(se, None, [loose])
        self.assertIn("wrote b.pfx", so)

    def test_pfx_warning_keeps_a_refusal_exit_1(self):
        loose = self.loosen(S1)
        before = h.snapshot(self.tmp)
        args = ["pfx", self.spec.name, "--server", S1, "--cert", f"certs/{S1}.p7b",
                "--key-dir", "keys", "-o", "c.pfx", "--passphrase-file", F.passfile]
        rc, so, se = self.poolcert(args)  # no --ca-bundle: chain.trusted fails
        self.assertEqual(rc, 1, se)
        self.assertWarned(se, None, [loose])
        self.assertEqual(h.snapshot(self.tmp), before)

    # --- csr ----------------------------------------------------------------------------------

    def csr(self, *extra):
        return self.poolcert(["csr", self.spec.name, "-o", "keys", *extra])

    def test_csr_reusing_0600_keys_warns_nothing(self):
        rc, so, se = self.csr("--json")
        self.assertEqual(rc, 0, se)
        doc = json.loads(so)
        self.assertEqual(doc["summary"]["reused"], 2)
        self.assertNotWarned(se, doc)

    def test_csr_warns_for_a_reused_key_others_can_read(self):
        loose = self.loosen(S1)
        before = (self.tmp / loose).read_bytes()
        rc, so, se = self.csr("--json")
        self.assertEqual(rc, 0, se)
        doc = json.loads(so)
        self.assertEqual(doc["summary"]["reused"], 2)
        self.assertWarned(se, doc, [loose])
        self.assertEqual((self.tmp / loose).read_bytes(), before)
        self.assertEqual(h.file_mode(self.tmp / loose), 0o644)
        rc, so, se = self.csr()
        self.assertEqual(rc, 0, se)
        self.assertWarned(se, None, [loose])

    def test_csr_warning_keeps_a_failing_exit_code(self):
        loose = self.loosen(S1)
        blocker = self.keys / f"{S2}.csr"
        blocker.unlink()
        blocker.mkdir()  # S2's CSR cannot be renamed into place: that server fails
        rc, so, se = self.csr("--json")
        self.assertEqual(rc, 1, se)
        self.assertWarned(se, json.loads(so), [loose])


if __name__ == "__main__":
    unittest.main()
