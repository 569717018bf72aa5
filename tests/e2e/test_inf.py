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
                                env=h.golden_env())
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
                     '[Extensions]', '2.5.29.17 = "{text}"',
                     # S1: friendly names unique in the computer store: CN, certificate, date
                     'FriendlyName = "ocspool.company.local 2026-12-03"']:
            self.assertIn(line + "\r\n", text)
        self.assertNotIn("clientAuth", text)  # S1, S5: Server Authentication only
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

    def test_an_ecdsa_key_gives_a_cng_inf(self):
        # An ECDSA key is made by a CNG key storage provider only (certreq_1.md KeyAlgorithm):
        # KeyAlgorithm ECDSA_P<n>, the Microsoft Software Key Storage Provider, no legacy
        # ProviderType or KeySpec, digitalSignature only (RFC 5480 3: no keyEncipherment).
        for curve, alg, usage in (("P-256", "ECDSA_P256", "0x80"), ("P-384", "ECDSA_P384", "0x80")):
            with self.subTest(curve=curve):
                work = self.tmp / curve
                work.mkdir()
                shutil.copy(h.GOLDEN / "sfb2015-enterprise" / "spec.toml", work / "spec.toml")
                spec = (work / "spec.toml").read_text().replace(
                    'type = "rsa"\nbits = 2048', f'type = "ecdsa"\ncurve = "{curve}"')
                self.assertIn("ecdsa", spec)
                (work / "spec.toml").write_text(spec)
                rc, _, err = h.poolcert(["csr", "spec.toml", "--format", "inf", "-o", "inf"],
                                        cwd=work, env=h.golden_env())
                self.assertEqual(rc, 0, err)
                text = (work / "inf" / "sfbfe01.company.local.default.inf").read_bytes().decode()
                for line in [f"KeyAlgorithm = {alg}", f"KeyLength = {curve[2:]}",
                             f"KeyUsage = {usage}", "MachineKeySet = TRUE",
                             'ProviderName = "Microsoft Software Key Storage Provider"']:
                    self.assertIn(line + "\r\n", text)
                self.assertNotIn("ProviderType", text)
                self.assertNotIn("KeySpec", text)
                self.assertNotIn("SChannel", text)
                # The PEM CSR of the same spec is ECDSA with the same names.
                rc, _, err = h.poolcert(["csr", "spec.toml", "-o", "pem", "--server",
                                         "sfbfe01.company.local"], cwd=work, env=h.golden_env())
                self.assertEqual(rc, 0, err)
                csr = h.load_csr(work / "pem" / "sfbfe01.company.local.default.csr")
                self.assertIsInstance(csr.public_key(), h.ec.EllipticCurvePublicKey)
                self.assertEqual(inf_sans(text), h.crypto_csr(
                    work / "pem" / "sfbfe01.company.local.default.csr")["sans"])

    def test_friendly_names_are_unique_per_server(self):
        # S1: "Each certificate friendly name has to be unique in the computer store": a server's
        # three certificates carry the subject, the certificate name and the request date.
        work = self.run_case(h.GOLDEN / "sfb2015-enterprise")
        names = {}
        for inf in sorted((work / "inf").glob("sfbfe01.company.local.*.inf")):
            m = re.search(r'^FriendlyName = "([^"]*)"\r$', inf.read_bytes().decode(), flags=re.M)
            self.assertIsNotNone(m, inf.name)
            names[inf.name] = m.group(1)
        self.assertEqual(names, {
            "sfbfe01.company.local.default.inf": "sfbpool.company.local default 2026-12-03",
            "sfbfe01.company.local.web-external.inf": "sfbpool.company.local web-external 2026-12-03",
            "sfbfe01.company.local.web-internal.inf": "sfbpool.company.local web-internal 2026-12-03",
        })


if __name__ == "__main__":
    unittest.main()
