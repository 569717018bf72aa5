"""`poolcert csr --format inf`: certreq INF files, golden byte for byte, with exactly the names of
the PEM CSR that the same spec gives (read back by python-cryptography), and no key made."""

import re
import shutil
import tempfile
import unittest
from pathlib import Path

import harness as h


def golden_cases():
    return sorted(p for p in h.GOLDEN.iterdir() if (p / "expected-inf").is_dir())


def inf_sans(text):
    return re.findall(r'^_continue_ = "dns=([^&"]+)&"\r$', text, flags=re.M)


class CertreqInf(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="poolcert-inf-")
        self.tmp = Path(self._tmp.name)
        self.addCleanup(self._tmp.cleanup)

    def run_case(self, case):
        work = self.tmp / case.name
        work.mkdir()
        shutil.copy(case / "spec.toml", work / "spec.toml")
        rc, _, err = h.poolcert(["csr", "spec.toml", "--format", "inf", "-o", "inf"], cwd=work,
                                env=h.profile_env())
        self.assertEqual(rc, 0, err)
        return work

    def test_there_are_golden_inf_cases(self):
        names = [c.name for c in golden_cases()]
        self.assertIn("ocs2007-enterprise", names)
        self.assertIn("sfb2015-enterprise", names)

    def test_inf_files_match_the_golden_files_byte_for_byte(self):
        for case in golden_cases():
            with self.subTest(case=case.name):
                work = self.run_case(case)
                expected = sorted(p.name for p in (case / "expected-inf").iterdir())
                got = sorted(p.name for p in (work / "inf").iterdir())
                self.assertEqual(got, expected)
                for name in expected:
                    self.assertEqual((work / "inf" / name).read_bytes(),
                                     (case / "expected-inf" / name).read_bytes(),
                                     f"{name}: run scripts/regen-golden if the change is meant")

    def test_inf_is_crlf_and_has_the_certreq_sections(self):
        text = (h.GOLDEN / "ocs2007-enterprise" / "expected-inf" /
                "ocssrv01.company.local.inf").read_bytes().decode()
        self.assertNotIn("\n", text.replace("\r\n", ""), "every line ends in CRLF")
        for line in ['[Version]', '[NewRequest]', 'Subject = "CN=ocspool.company.local, O=Company"',
                     'KeyLength = 2048', 'KeySpec = 1', 'KeyUsage = 0xA0', 'Exportable = FALSE',
                     'MachineKeySet = TRUE',
                     'ProviderName = "Microsoft RSA SChannel Cryptographic Provider"',
                     'ProviderType = 12', 'RequestType = PKCS10', 'HashAlgorithm = sha256',
                     '[EnhancedKeyUsageExtension]', 'OID = 1.3.6.1.5.5.7.3.1 ; serverAuth',
                     'OID = 1.3.6.1.5.5.7.3.2 ; clientAuth', '[Extensions]',
                     '2.5.29.17 = "{text}"']:
            self.assertIn(line + "\r\n", text)
        self.assertNotIn("[RequestAttributes]", text)  # the OCS example names no template

    def test_inf_names_are_those_of_the_pem_csr(self):
        for case in golden_cases():
            with self.subTest(case=case.name):
                work = self.run_case(case)
                rc, _, err = h.poolcert(["csr", "spec.toml", "-o", "pem", "--jobs", "2"],
                                        cwd=work, env=h.profile_env())
                self.assertEqual(rc, 0, err)
                for inf in sorted((work / "inf").iterdir()):
                    csr = work / "pem" / (inf.stem + ".csr")
                    info = h.crypto_csr(csr)
                    self.assertEqual(inf_sans(inf.read_bytes().decode()), info["sans"], inf.name)

    def test_template_goes_into_request_attributes(self):
        text = (h.GOLDEN / "sfb2015-enterprise" / "expected-inf" /
                "sfbfe01.company.local.default.inf").read_bytes().decode()
        self.assertIn("[RequestAttributes]\r\nCertificateTemplate = WebServer\r\n", text)

    def test_template_extension_is_in_the_pem_csr(self):
        work = self.run_case(h.GOLDEN / "sfb2015-enterprise")
        rc, _, err = h.poolcert(["csr", "spec.toml", "-o", "pem", "--server",
                                 "sfbfe01.company.local"], cwd=work, env=h.profile_env())
        self.assertEqual(rc, 0, err)
        csr = work / "pem" / "sfbfe01.company.local.web-internal.csr"
        text = h.run(["openssl", "req", "-in", str(csr), "-noout", "-text"], cwd=work)[1]
        self.assertIn("1.3.6.1.4.1.311.20.2", text)
        self.assertIn("W.e.b.S.e.r.v.e.r", text)  # openssl's dump of the BMPString
        ext = h.load_csr(csr).extensions.get_extension_for_oid(
            h.x509.ObjectIdentifier("1.3.6.1.4.1.311.20.2"))
        bmp = "WebServer".encode("utf-16-be")
        self.assertEqual(ext.value.value, bytes([0x1E, len(bmp)]) + bmp)  # DER BMPString
        rc, out, err = h.poolcert(["inspect", str(csr), "--json"], cwd=work)
        self.assertEqual(rc, 0, err)
        self.assertEqual(h.json.loads(out)["files"][0]["objects"][0]["template"], "WebServer")

    def test_no_key_is_made(self):
        work = self.run_case(h.GOLDEN / "ocs2007-enterprise")
        self.assertEqual(sorted(p.suffix for p in (work / "inf").iterdir()), [".inf", ".inf"])

    def test_a_non_rsa_key_gives_no_inf_and_exit_2(self):
        profile = (h.PROFILES / "ocs2007-enterprise-frontend.toml").read_text().replace(
            'allowed = [{ type = "rsa", bits = [2048, 4096] }]',
            'allowed = [{ type = "rsa", bits = [2048, 4096] }, { type = "ecdsa", curves = ["P-256"] }]')
        (self.tmp / "profiles").mkdir()
        (self.tmp / "profiles" / "ocs2007-enterprise-frontend.toml").write_text(profile)
        spec = h.example_text().replace('type = "rsa"', 'type = "ecdsa"').replace(
            "bits = 2048", 'curve = "P-256"')
        (self.tmp / "spec.toml").write_text(spec)
        rc, _, err = h.poolcert(["csr", "spec.toml", "--format", "inf", "-o", "inf"], cwd=self.tmp)
        self.assertEqual(rc, 2, err)
        self.assertIn("RSA", err)
        self.assertFalse((self.tmp / "inf").exists())


if __name__ == "__main__":
    unittest.main()
