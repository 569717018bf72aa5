"""Permissions (issue 7): under umask 000 every key poolcert writes is exactly 0600 and every
folder it makes is 0700 (`csr`, `pfx`, `ca init`, `ca sign`)."""

import tempfile
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
        rc, so, se = h.poolcert(args, self.dir, env=h.profile_env(), umask=OPEN)
        if rc != 0:
            raise AssertionError(f"poolcert {what} failed ({rc}):\n{so}\n{se}")


def setUpModule():
    global F
    tmp = tempfile.TemporaryDirectory(prefix="poolcert-e2e-perms-")
    unittest.addModuleCleanup(tmp.cleanup)
    F = Fixture(tmp.name)


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


if __name__ == "__main__":
    unittest.main()
