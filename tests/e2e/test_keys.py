"""Keys are precious: reuse, --rekey with a backup, encryption, and refusals that touch nothing."""

import json
import os
import re
import signal
import subprocess
import time
import unittest

import harness as h
from harness import SERVERS

S1 = SERVERS[0]
BACKUP_RE = re.compile(r"\.key\.\d{8}T\d{6}Z\.bak$")
PASSPHRASE = "correct horse battery staple"


def by_server(doc):
    return {entry["server"]: entry for entry in doc["servers"]}


class KeyReuseAndRekey(h.TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.spec = self.write_spec()
        self.out = self.tmp / "out"
        self.first = self.poolcert_json(["csr", self.spec.name])
        self.key = self.out / f"{S1}.key"
        self.csr = self.out / f"{S1}.csr"
        self.key_bytes = self.key.read_bytes()
        self.csr_bytes = self.csr.read_bytes()

    def test_second_run_reuses_the_key_byte_for_byte(self):
        doc = self.poolcert_json(["csr", self.spec.name])
        for server in SERVERS:
            with self.subTest(server=server):
                self.assertEqual(by_server(doc)[server]["key_action"], "reuse")
        self.assertEqual(doc["summary"]["reused"], 2)
        self.assertEqual(doc["summary"]["created"], 0)
        self.assertEqual(self.key.read_bytes(), self.key_bytes)

    def test_second_run_rewrites_the_csr_from_the_same_key(self):
        # RSA PKCS#1 v1.5 signatures are deterministic, so the new CSR may equal the old one byte
        # for byte: spoil the old one to see that it is written again.
        self.csr.write_text("stale\n")
        self.poolcert_json(["csr", self.spec.name])
        self.assertEqual(h.key_public_pem(self.key), h.csr_public_pem(self.csr))
        self.assertTrue(h.crypto_csr(self.csr)["verified"])
        self.assertEqual(self.key.read_bytes(), self.key_bytes)

    def test_reused_key_keeps_mode_0600(self):
        self.poolcert_json(["csr", self.spec.name], umask=0o000)
        self.assertEqual(oct(h.file_mode(self.key)), oct(0o600))

    def test_human_output_says_the_key_was_reused(self):
        rc, out, err = self.poolcert(["csr", self.spec.name])
        self.assertEqual(rc, 0, err)
        self.assertIn("reuse", out.lower())

    def test_rekey_makes_a_new_key_and_keeps_the_old_as_backup(self):
        doc = self.poolcert_json(["csr", self.spec.name, "--rekey", "--server", S1])
        entry = by_server(doc)[S1]
        self.assertEqual(entry["key_action"], "rekey")
        self.assertEqual(doc["summary"]["rekeyed"], 1)
        self.assertNotEqual(self.key.read_bytes(), self.key_bytes, "key not replaced")
        backups = [p for p in self.out.iterdir() if BACKUP_RE.search(p.name)]
        self.assertEqual(len(backups), 1, sorted(p.name for p in self.out.iterdir()))
        backup = backups[0]
        self.assertTrue(backup.name.startswith(f"{S1}.key."), backup.name)
        self.assertEqual(backup.read_bytes(), self.key_bytes)
        self.assertEqual(oct(h.file_mode(backup)), oct(0o600))
        self.assertIsNotNone(entry["key_backup"])
        self.assertEqual((self.tmp / entry["key_backup"]).resolve(), backup.resolve())

    def test_rekey_csr_matches_the_new_key(self):
        self.poolcert_json(["csr", self.spec.name, "--rekey"])
        for server in SERVERS:
            with self.subTest(server=server):
                key, csr = self.out / f"{server}.key", self.out / f"{server}.csr"
                self.assertEqual(h.key_public_pem(key), h.csr_public_pem(csr))
                self.assertEqual(oct(h.file_mode(key)), oct(0o600))
        self.assertNotEqual(h.key_public_pem(self.key).strip(), "")
        old_public = self._public_of(self.key_bytes)
        self.assertNotEqual(h.csr_public_pem(self.csr), old_public, "CSR still has the old key")

    def _public_of(self, key_bytes):
        path = self.tmp / "old.key"
        path.write_bytes(key_bytes)
        return h.key_public_pem(path)

    def test_no_temporary_files_after_create_reuse_and_rekey(self):
        self.poolcert_json(["csr", self.spec.name])
        self.poolcert_json(["csr", self.spec.name, "--rekey"])
        self.assertEqual(h.poolcert_temp_files(self.tmp), [])


class EncryptedKeys(h.TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.passfile = self.tmp / "pass.txt"
        self.passfile.write_text(PASSPHRASE + "\n")
        self.key = self.tmp / "out" / f"{S1}.key"
        self.csr = self.tmp / "out" / f"{S1}.csr"

    def passin(self):
        return f"file:{self.passfile}"

    def assert_encrypted_aes256_pbes2(self, key):
        text = key.read_text()
        self.assertIn("-----BEGIN ENCRYPTED PRIVATE KEY-----", text)
        rc, out, err = h.run(["openssl", "asn1parse", "-in", key], cwd=self.tmp)
        self.assertEqual(rc, 0, err)
        self.assertIn("PBES2", out)
        self.assertIn("aes-256-cbc", out)
        rc, check = h.openssl_key_check(key, passin=self.passin())
        self.assertEqual(rc, 0, check)
        self.assertEqual(h.key_public_pem(key, passin=self.passin()), h.csr_public_pem(self.csr))

    def test_encrypt_key_with_passphrase_file(self):
        spec = self.write_spec()
        self.poolcert_json(["csr", spec.name, "--server", S1, "--encrypt-key",
                            "--passphrase-file", self.passfile.name])
        self.assert_encrypted_aes256_pbes2(self.key)
        self.assertEqual(oct(h.file_mode(self.key)), oct(0o600))

    def test_wrong_passphrase_does_not_open_the_key(self):
        spec = self.write_spec()
        self.poolcert_json(["csr", spec.name, "--server", S1, "--encrypt-key",
                            "--passphrase-file", self.passfile.name])
        rc, _, _ = h.run(["openssl", "pkey", "-in", self.key, "-noout", "-passin", "pass:wrong"],
                         cwd=self.tmp)
        self.assertNotEqual(rc, 0)

    def test_spec_encrypt_true_with_passphrase_env(self):
        text = h.example_text().replace("\nbits = 2048", "\nbits = 2048\nencrypt = true")
        spec = self.write_spec(text)
        self.poolcert_json(["csr", spec.name, "--server", S1, "--passphrase-env", "POOLCERT_PW"],
                           env={"POOLCERT_PW": PASSPHRASE})
        self.assert_encrypted_aes256_pbes2(self.key)

    def test_second_run_with_passphrase_reuses_the_encrypted_key(self):
        spec = self.write_spec()
        args = ["csr", spec.name, "--server", S1, "--encrypt-key",
                "--passphrase-file", self.passfile.name]
        self.poolcert_json(args)
        before = self.key.read_bytes()
        doc = self.poolcert_json(args)
        self.assertEqual(by_server(doc)[S1]["key_action"], "reuse")
        self.assertEqual(self.key.read_bytes(), before)
        self.assertEqual(h.key_public_pem(self.key, passin=self.passin()),
                         h.csr_public_pem(self.csr))

    def test_no_passphrase_source_and_no_terminal_exits_2_writing_nothing(self):
        spec = self.write_spec()
        before = h.snapshot(self.tmp)
        rc, out, err = self.poolcert(["csr", spec.name, "--encrypt-key"])
        self.assertEqual(rc, 2, err)
        line = self.assertOneErrorLine(err)
        self.assertIn("--passphrase-file", line)
        self.assertEqual(h.snapshot(self.tmp), before)

    def test_spec_encrypt_true_without_passphrase_exits_2_writing_nothing(self):
        text = h.example_text().replace("\nbits = 2048", "\nbits = 2048\nencrypt = true")
        spec = self.write_spec(text)
        before = h.snapshot(self.tmp)
        rc, out, err = self.poolcert(["csr", spec.name])
        self.assertEqual(rc, 2, err)
        self.assertIn("--passphrase-file", self.assertOneErrorLine(err))
        self.assertEqual(h.snapshot(self.tmp), before)


class RefusedExistingKey(h.TempDirTestCase):
    def test_existing_ecdsa_key_for_an_rsa_2048_spec_exits_2_and_is_untouched(self):
        spec = self.write_spec()
        out = self.tmp / "out"
        out.mkdir()
        key = out / f"{S1}.key"
        rc, _, err = h.run(["openssl", "genpkey", "-algorithm", "EC",
                            "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key], cwd=self.tmp)
        self.assertEqual(rc, 0, err)
        key.chmod(0o600)
        before = key.read_bytes()
        rc, stdout, err = self.poolcert(["csr", spec.name, "--server", S1])
        self.assertEqual(rc, 2, err)
        self.assertTrue(h.error_lines(err)[-1].startswith(h.ERROR_PREFIX), err)
        self.assertIn(S1, err)
        self.assertEqual(key.read_bytes(), before)
        self.assertEqual(oct(h.file_mode(key)), oct(0o600))
        self.assertFalse((out / f"{S1}.csr").exists(), "a CSR was written for a refused key")
        self.assertEqual(h.poolcert_temp_files(self.tmp), [])


class UnusualOutputPaths(h.TempDirTestCase):
    """What sits where a key goes, or two spellings of one folder: refused up front, no change."""

    def assertRefusedUnchanged(self, args, *in_message, timeout=60):
        before = h.snapshot(self.tmp)
        rc, out, err = self.poolcert(args, timeout=timeout)
        self.assertEqual(rc, 2, out + err)
        line = self.assertOneErrorLine(err)
        for text in in_message:
            self.assertIn(text, line)
        self.assertEqual(h.snapshot(self.tmp), before, "the disk changed")
        return line

    def test_one_folder_under_two_spellings_is_one_folder(self):
        # Two specs, each would write ocssrv01's key into the same folder: as when both say "out".
        self.write_spec(name="a.toml")
        (self.tmp / "out").mkdir()
        os.symlink("out", self.tmp / "out-link")
        for other in (str(self.tmp / "out"), "out-link"):
            with self.subTest(output_dir=other):
                text = (h.example_text().replace('output_dir = "out"', f'output_dir = "{other}"')
                        .replace("ocspool", "otherpool"))
                self.assertIn(other, text)
                self.write_spec(text, name="b.toml")
                self.assertRefusedUnchanged(["csr", "a.toml", "b.toml"], "would both write")

    def test_a_pipe_where_the_key_goes_is_refused_not_waited_on(self):
        out = self.tmp / "out"
        out.mkdir()
        os.mkfifo(out / f"{S1}.key")
        self.write_spec()
        self.assertRefusedUnchanged(["csr", "spec.toml"], f"{S1}.key", "not a regular file",
                                    timeout=30)

    def test_a_folder_where_the_key_goes_with_rekey_keeps_the_csr(self):
        self.write_spec()
        self.poolcert_json(["csr", "spec.toml", "--server", S1])
        key = self.tmp / "out" / f"{S1}.key"
        key.unlink()
        key.mkdir()
        self.assertRefusedUnchanged(["csr", "spec.toml", "--server", S1, "--rekey"],
                                    f"{S1}.key", "not a regular file")
        self.assertTrue((self.tmp / "out" / f"{S1}.csr").is_file())

    def test_a_passphrase_over_1023_bytes_is_refused_and_1023_works(self):
        self.write_spec()
        long_pass = self.tmp / "long.txt"
        long_pass.write_text("x" * 1024 + "\n")
        self.assertRefusedUnchanged(["csr", "spec.toml", "--server", S1, "--encrypt-key",
                                     "--passphrase-file", "long.txt"], "1023")
        ok_pass = self.tmp / "ok.txt"
        ok_pass.write_text("y" * 1023 + "\n")
        self.poolcert_json(["csr", "spec.toml", "--server", S1, "--encrypt-key",
                            "--passphrase-file", "ok.txt"])
        key = self.tmp / "out" / f"{S1}.key"
        rc, check = h.openssl_key_check(key, passin=f"file:{ok_pass}")
        self.assertEqual(rc, 0, check)  # openssl opens it with the whole passphrase

    def test_a_server_name_near_the_longest_gets_its_key(self):
        # 243 bytes, a valid host name: "<name>.key" fits a file name, its temporary file too.
        fqdn = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 38]) + ".company.local"
        self.assertLessEqual(len(fqdn), 253)
        text = h.example_text().replace("ocssrv02.company.local", fqdn)
        self.assertIn(fqdn, text)
        self.write_spec(text)
        self.poolcert_json(["csr", "spec.toml", "--server", fqdn])
        key = self.tmp / "out" / f"{fqdn}.key"
        rc, check = h.openssl_key_check(key)
        self.assertEqual(rc, 0, check)
        self.assertEqual(h.key_public_pem(key), h.csr_public_pem(self.tmp / "out" / f"{fqdn}.csr"))
        self.assertEqual(h.poolcert_temp_files(self.tmp), [])


class FailuresLeaveNoHalfPairs(h.TempDirTestCase):
    def test_a_failing_server_exits_1_and_leaves_no_key_without_csr(self):
        spec = self.write_spec()
        blocker = self.tmp / "out" / f"{SERVERS[1]}.csr"
        blocker.mkdir(parents=True)  # a folder where the CSR must go: its rename fails
        rc, out, err = self.poolcert(["csr", spec.name, "--json"])
        self.assertEqual(rc, 1, err)
        doc = by_server(json.loads(out))
        self.assertEqual(doc[S1]["status"], "ok")
        self.assertEqual(doc[SERVERS[1]]["status"], "failed")
        self.assertIn(SERVERS[1], doc[SERVERS[1]]["error"])
        self.assertFalse((self.tmp / "out" / f"{SERVERS[1]}.key").exists(),
                         "a key was left without its CSR")
        self.assertEqual(h.key_public_pem(self.tmp / "out" / f"{S1}.key"),
                         h.csr_public_pem(self.tmp / "out" / f"{S1}.csr"))
        self.assertEqual(h.poolcert_temp_files(self.tmp), [])

    def test_kill_midway_leaves_only_whole_matching_pairs(self):
        fqdns = [f"fe{i:02d}.company.local" for i in range(1, 25)]
        head = h.example_text().split("[[server]]")[0]
        spec = self.write_spec(head + "".join(f'[[server]]\nfqdn = "{f}"\n' for f in fqdns))
        out = self.tmp / "out"
        env = dict(os.environ, **h.profile_env())
        proc = subprocess.Popen([h.POOLCERT, "csr", spec.name, "--jobs", "2"], cwd=self.tmp,
                                env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            if out.is_dir() and any(p.suffix == ".key" for p in out.iterdir()):
                break
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        visible = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
        kept = {}
        for fqdn in fqdns:
            key, csr = out / f"{fqdn}.key", out / f"{fqdn}.csr"
            with self.subTest(server=fqdn):
                if csr.exists():
                    self.assertTrue(key.exists(), f"CSR without key: {visible}")
                    self.assertEqual(h.key_public_pem(key), h.csr_public_pem(csr))
                if key.exists():
                    rc, text = h.openssl_key_check(key)
                    self.assertEqual(rc, 0, f"partial key {key.name}: {text}")
                    self.assertEqual(oct(h.file_mode(key)), oct(0o600))
                    kept[fqdn] = key.read_bytes()
        # Whatever survived is reused by the next run, which completes the rest.
        doc = self.poolcert_json(["csr", spec.name])
        for entry in doc["servers"]:
            with self.subTest(server=entry["server"], rerun=True):
                key = out / f"{entry['server']}.key"
                self.assertEqual(entry["status"], "ok")
                if entry["server"] in kept:
                    self.assertEqual(entry["key_action"], "reuse")
                    self.assertEqual(key.read_bytes(), kept[entry["server"]])
                self.assertEqual(h.key_public_pem(key),
                                 h.csr_public_pem(out / f"{entry['server']}.csr"))


if __name__ == "__main__":
    unittest.main()
