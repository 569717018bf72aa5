"""`poolcert csr` on the reference deployment: every CSR and key checked by three parsers we did
not write (OpenSSL, GnuTLS certtool, python-cryptography), plus the command's options."""

import json
import os
import pty
import select
import subprocess
import tempfile
import unittest
from pathlib import Path

import harness as h
from harness import SERVERS, expected_sans

ORACLES = {"openssl": h.openssl_req, "certtool": h.certtool_crq, "cryptography": h.crypto_csr}


class ReferenceDeploymentCsrs(unittest.TestCase):
    """One `csr` run of templates/ocs2007-enterprise.toml under umask 000, checked many ways."""

    @classmethod
    def setUpClass(cls):
        cls._tmp = tempfile.TemporaryDirectory(prefix="poolcert-e2e-")
        cls.tmp = Path(cls._tmp.name)
        cls.spec = h.copy_example(cls.tmp, name="ocs2007-enterprise.toml")
        cls.rc, cls.stdout, cls.stderr = h.poolcert(
            ["csr", cls.spec.name], cwd=cls.tmp, env=h.profile_env(), umask=0o000)
        cls.out = cls.tmp / "out"
        cls.parsed = {}
        if cls.rc == 0:
            for server in SERVERS:
                csr = cls.out / f"{server}.csr"
                cls.parsed[server] = {name: parse(csr) for name, parse in ORACLES.items()}

    @classmethod
    def tearDownClass(cls):
        cls._tmp.cleanup()

    def setUp(self):
        self.assertEqual(self.rc, 0, f"poolcert csr failed:\n{self.stderr}")

    def each(self):
        """(server, oracle name, parsed CSR) for every server and every oracle."""
        for server in SERVERS:
            for oracle, info in self.parsed[server].items():
                yield server, oracle, info

    def test_writes_one_key_and_one_csr_per_server(self):
        names = sorted(p.name for p in self.out.iterdir())
        expected = [f"{s}.csr" for s in SERVERS] + [f"{s}.key" for s in SERVERS]
        self.assertEqual(names, sorted(expected))

    def test_subject_is_pool_cn_and_organisation_only(self):
        for server, oracle, info in self.each():
            with self.subTest(server=server, oracle=oracle):
                self.assertEqual(info["subject"], ["CN=ocspool.company.local", "O=Company"])

    def test_sans_are_exactly_the_five_names_in_order(self):
        for server, oracle, info in self.each():
            with self.subTest(server=server, oracle=oracle):
                self.assertEqual(info["sans"], expected_sans(server))

    def test_no_san_other_than_dns_names(self):
        for server in SERVERS:
            with self.subTest(server=server):
                self.assertEqual(self.parsed[server]["cryptography"]["other_sans"], [])

    def test_eku_is_server_auth_only(self):
        # S1, S5: Server Authentication on every server certificate; Client Authentication only
        # for public IM connectivity (S7 -ClientEKU), which the OCS pool does not ask for.
        for server, oracle, info in self.each():
            with self.subTest(server=server, oracle=oracle):
                self.assertEqual(info["eku"], ["serverAuth"])

    def test_key_usage_is_digital_signature_and_key_encipherment_critical(self):
        for server, oracle, info in self.each():
            with self.subTest(server=server, oracle=oracle):
                self.assertEqual(sorted(info["key_usage"]), ["digitalSignature", "keyEncipherment"])
                self.assertTrue(info["key_usage_critical"], "keyUsage must be critical")

    def test_key_is_rsa_2048(self):
        expected_alg = {"openssl": "rsaEncryption", "certtool": "RSA",
                        "cryptography": "rsaEncryption"}
        for server, oracle, info in self.each():
            with self.subTest(server=server, oracle=oracle):
                self.assertEqual(info["key_algorithm"], expected_alg[oracle])
                self.assertEqual(info["key_bits"], 2048)

    def test_signature_is_sha256_with_rsa(self):
        expected_alg = {"openssl": "sha256WithRSAEncryption", "certtool": "RSA-SHA256",
                        "cryptography": "sha256WithRSAEncryption"}
        for server, oracle, info in self.each():
            with self.subTest(server=server, oracle=oracle):
                self.assertEqual(info["signature_algorithm"], expected_alg[oracle])

    def test_self_signature_verifies(self):
        for server, oracle, info in self.each():
            with self.subTest(server=server, oracle=oracle):
                self.assertTrue(info["verified"], info.get("stderr") or info.get("text"))

    def test_csr_public_key_is_the_key_files_public_key(self):
        for server in SERVERS:
            with self.subTest(server=server):
                self.assertEqual(h.key_public_pem(self.out / f"{server}.key"),
                                 h.csr_public_pem(self.out / f"{server}.csr"))

    def test_key_file_is_0600_under_umask_000(self):
        for server in SERVERS:
            with self.subTest(server=server):
                self.assertEqual(oct(h.file_mode(self.out / f"{server}.key")), oct(0o600))

    def test_key_parses_and_checks_with_openssl(self):
        for server in SERVERS:
            with self.subTest(server=server):
                key = self.out / f"{server}.key"
                rc, text = h.openssl_key_check(key)
                self.assertEqual(rc, 0, text)
                self.assertIn("-----BEGIN PRIVATE KEY-----", key.read_text())

    def test_csr_files_are_pem(self):
        for server in SERVERS:
            with self.subTest(server=server):
                text = (self.out / f"{server}.csr").read_text()
                self.assertTrue(text.startswith("-----BEGIN CERTIFICATE REQUEST-----"), text[:60])

    def test_no_temporary_files_left(self):
        self.assertEqual(h.poolcert_temp_files(self.tmp), [])


def spec_with_servers(fqdns):
    """The reference spec with its servers replaced by `fqdns`, in that order."""
    head = h.example_text().split("[[server]]")[0]
    return head + "".join(f'[[server]]\nfqdn = "{f}"\n\n' for f in fqdns)


class CsrOptions(h.TempDirTestCase):
    # Not in name order, so that "sorted" or "completion order" cannot pass for "spec order".
    MANY = ["ocssrv05.company.local", "ocssrv02.company.local", "ocssrv09.company.local",
            "ocssrv01.company.local", "ocssrv07.company.local", "ocssrv03.company.local"]

    def test_json_lists_servers_in_spec_order_and_sans_agree_across_jobs(self):
        results = {}
        for jobs in ("1", "2"):
            folder = self.tmp / f"jobs{jobs}"
            spec = self.write_spec(spec_with_servers(self.MANY), folder=folder)
            results[jobs] = self.poolcert_json(["csr", spec.name, "--jobs", jobs], cwd=folder)
            with self.subTest(jobs=jobs):
                self.assertEqual([s["server"] for s in results[jobs]["servers"]], self.MANY)
                for fqdn in self.MANY:
                    self.assertEqual(h.crypto_csr(folder / "out" / f"{fqdn}.csr")["sans"],
                                     expected_sans(fqdn))
        self.assertEqual([s["sans"] for s in results["1"]["servers"]],
                         [s["sans"] for s in results["2"]["servers"]])

    def test_json_summary_fields(self):
        spec = self.write_spec()
        doc = self.poolcert_json(["csr", spec.name])
        self.assertEqual(doc["summary"], {"servers": 2, "created": 2, "reused": 0, "rekeyed": 0,
                                          "failed": 0})
        for entry, fqdn in zip(doc["servers"], SERVERS):
            with self.subTest(server=fqdn):
                self.assertEqual(entry["status"], "ok")
                self.assertIsNone(entry["error"])
                self.assertEqual(entry["key_action"], "create")
                self.assertIsNone(entry["key_backup"])
                self.assertEqual(entry["sans"], expected_sans(fqdn))
                csr_path = self.tmp / entry["csr_path"]
                key_path = self.tmp / entry["key_path"]
                self.assertEqual(csr_path.resolve(), (self.tmp / "out" / f"{fqdn}.csr").resolve())
                self.assertEqual(key_path.resolve(), (self.tmp / "out" / f"{fqdn}.key").resolve())
                self.assertEqual(entry["spki_sha256"], h.crypto_csr(csr_path)["spki_sha256"])

    def test_server_option_makes_only_that_server(self):
        spec = self.write_spec()
        doc = self.poolcert_json(["csr", spec.name, "--server", "ocssrv02.company.local"])
        self.assertEqual([s["server"] for s in doc["servers"]], ["ocssrv02.company.local"])
        self.assertEqual(sorted(p.name for p in (self.tmp / "out").iterdir()),
                         ["ocssrv02.company.local.csr", "ocssrv02.company.local.key"])

    def test_output_option_overrides_output_dir(self):
        spec = self.write_spec()
        target = self.tmp / "elsewhere" / "certs"
        rc, out, err = self.poolcert(["csr", spec.name, "-o", str(target)])
        self.assertEqual(rc, 0, err)
        self.assertFalse((self.tmp / "out").exists(), "spec output_dir used despite -o")
        self.assertEqual(sorted(p.name for p in target.iterdir()),
                         sorted([f"{s}.csr" for s in SERVERS] + [f"{s}.key" for s in SERVERS]))

    def test_relative_output_option_is_relative_to_the_working_folder(self):
        spec = self.write_spec(folder=self.tmp / "specs")
        rc, out, err = self.poolcert(["csr", "specs/spec.toml", "-o", "issued"], cwd=self.tmp)
        self.assertEqual(rc, 0, err)
        self.assertTrue((self.tmp / "issued" / f"{SERVERS[0]}.csr").is_file())
        self.assertFalse((spec.parent / "issued").exists())
        self.assertFalse((spec.parent / "out").exists())

    def test_output_dir_is_relative_to_the_spec_folder(self):
        spec = self.write_spec(folder=self.tmp / "specs" / "pool1")
        elsewhere = self.tmp / "cwd"
        elsewhere.mkdir()
        rc, out, err = self.poolcert(["csr", str(spec)], cwd=elsewhere)
        self.assertEqual(rc, 0, err)
        self.assertEqual(h.snapshot(elsewhere), {}, "wrote into the working folder")
        for server in SERVERS:
            self.assertTrue((spec.parent / "out" / f"{server}.csr").is_file())
            self.assertTrue((spec.parent / "out" / f"{server}.key").is_file())

    def test_relative_spec_path_from_another_cwd(self):
        self.write_spec(folder=self.tmp / "specs")
        rc, out, err = self.poolcert(["csr", "specs/spec.toml", "--json"], cwd=self.tmp)
        self.assertEqual(rc, 0, err)
        self.assertTrue((self.tmp / "specs" / "out" / f"{SERVERS[0]}.key").is_file())
        self.assertFalse((self.tmp / "out").exists())

    def test_json_stdout_is_json_and_stderr_is_empty(self):
        spec = self.write_spec()
        rc, out, err = self.poolcert(["csr", spec.name, "--json"])
        self.assertEqual(rc, 0, err)
        json.loads(out)
        self.assertEqual(err, "")

    def test_human_output_is_a_table_naming_each_server(self):
        spec = self.write_spec()
        rc, out, err = self.poolcert(["csr", spec.name])
        self.assertEqual(rc, 0, err)
        for server in SERVERS:
            self.assertIn(server, out)
        self.assertEqual(err, "", "progress on stderr although stderr is not a terminal")

    def run_with_tty_stderr(self, args):
        """Runs poolcert with stderr on a pseudo-terminal; returns (rc, stdout, tty text)."""
        master, slave = pty.openpty()
        env = dict(os.environ, **h.profile_env())
        proc = subprocess.Popen([h.POOLCERT, *args], cwd=self.tmp, env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave)
        os.close(slave)
        tty = b""
        while True:
            ready, _, _ = select.select([master], [], [], 60)
            if not ready:
                break
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the child closed its end
                break
            if not chunk:
                break
            tty += chunk
        out = proc.stdout.read()
        proc.stdout.close()
        rc = proc.wait(timeout=60)
        os.close(master)
        return rc, out.decode(), tty.decode(errors="replace")

    def test_json_writes_no_progress_even_on_a_terminal(self):
        spec = self.write_spec()
        rc, out, tty = self.run_with_tty_stderr(["csr", spec.name, "--json"])
        self.assertEqual(rc, 0, tty)
        json.loads(out)
        self.assertEqual(tty, "")

    def test_progress_line_on_a_terminal_without_json(self):
        spec = self.write_spec()
        rc, out, tty = self.run_with_tty_stderr(["csr", spec.name])
        self.assertEqual(rc, 0, tty)
        self.assertNotEqual(tty.strip(), "", "no progress line on a terminal")


if __name__ == "__main__":
    unittest.main()
