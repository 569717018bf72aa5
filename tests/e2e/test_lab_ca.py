"""`poolcert ca init` / `ca sign` (issue 6): a lab CA's certificates checked by `openssl verify`,
`openssl pkcs7` and python-cryptography, then the whole loop: csr, ca sign, verify, pfx."""

import base64
import json
import shutil
import textwrap
import unittest
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID

import harness as h

S1, S2 = h.SERVERS
CDP = "http://pki.lab/inter.crl"
AIA = "http://pki.lab/inter.cer"

F = None  # the module fixture


class Fixture:
    """The example spec's keys and CSRs, a lab CA with an intermediate, and both leaves signed."""

    def __init__(self, folder):
        self.dir = Path(folder)
        self.spec = h.copy_example(self.dir)
        env = h.profile_env()
        h.poolcert_ok(["csr", self.spec], self.dir, "csr", env=env)
        self.out = self.dir / "out"
        self.csrs = [self.out / f"{s}.csr" for s in h.SERVERS]
        self.ca = self.dir / "ca"
        h.poolcert_ok(["ca", "init", self.ca, "--intermediate", "--cdp", CDP, "--aia", AIA],
                      self.dir, "ca init", env=env, umask=0)
        so, _ = h.poolcert_ok(["ca", "sign", "--ca", self.ca, "--spec", self.spec, "--json",
                               *self.csrs], self.dir, "ca sign", env=env)
        self.sign_json = json.loads(so)
        self.cers = [self.out / f"{s}.cer" for s in h.SERVERS]
        self.p7bs = [self.out / f"{s}.p7b" for s in h.SERVERS]


def setUpModule():
    global F
    F = Fixture(h.module_temp_dir("poolcert-e2e-labca-"))


def load_cert(path):
    return x509.load_pem_x509_certificate(Path(path).read_bytes())


def csr_der(path):
    return x509.load_pem_x509_csr(Path(path).read_bytes()).public_bytes(
        h.serialization.Encoding.DER)


def pem_csr(der):
    body = "\n".join(textwrap.wrap(base64.b64encode(der).decode(), 64))
    return f"-----BEGIN CERTIFICATE REQUEST-----\n{body}\n-----END CERTIFICATE REQUEST-----\n"


class LabCaTest(h.TempDirTestCase):

    # --- the CA -------------------------------------------------------------------------------

    def test_ca_folder_keys_0600_under_umask_000(self):
        self.assertEqual(h.file_mode(F.ca), 0o700)
        for name in ("root.key", "intermediate.key"):
            self.assertEqual(h.file_mode(F.ca / name), 0o600, name)
        for name in ("root.cer", "intermediate.cer", "ca.json"):
            self.assertEqual(h.file_mode(F.ca / name), 0o644, name)
        self.assertEqual(h.poolcert_temp_files(F.ca), [])

    def test_root_and_intermediate_as_openssl_reads_them(self):
        rc, out = h.run(["openssl", "verify", "-CAfile", F.ca / "root.cer",
                         F.ca / "intermediate.cer"], cwd=self.tmp)[0:2]
        self.assertEqual(rc, 0, out)
        root = load_cert(F.ca / "root.cer")
        bc = root.extensions.get_extension_for_class(x509.BasicConstraints)
        self.assertTrue(bc.critical and bc.value.ca)
        ku = root.extensions.get_extension_for_class(x509.KeyUsage)
        self.assertTrue(ku.critical and ku.value.key_cert_sign and ku.value.crl_sign)
        self.assertEqual(root.public_key().key_size, 3072)
        inter = load_cert(F.ca / "intermediate.cer")
        self.assertEqual(
            inter.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length, 0)
        self.assertEqual(
            inter.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
            .key_identifier,
            root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest)

    def test_init_into_an_existing_ca_exits_2_and_changes_nothing(self):
        before = h.snapshot(F.ca)
        rc, so, se = self.poolcert(["ca", "init", F.ca])
        self.assertEqual(rc, 2, so + se)
        line = self.assertOneErrorLine(se)
        self.assertIn(str(F.ca), line)
        self.assertIn("already holds a lab CA", line)
        self.assertEqual(h.snapshot(F.ca), before)

    def test_init_with_a_bad_url_makes_nothing(self):
        rc, so, se = self.poolcert(["ca", "init", self.tmp / "ca", "--cdp", "ftp://x/y.crl"])
        self.assertEqual(rc, 2, so + se)
        self.assertIn("--cdp", self.assertOneErrorLine(se))
        self.assertFalse((self.tmp / "ca").exists())

    def test_root_only_ca_issues_from_the_root(self):
        env = h.profile_env()
        rc, so, se = self.poolcert(["ca", "init", self.tmp / "ca", "--cdp", CDP, "--json"])
        self.assertEqual(rc, 0, so + se)
        init = json.loads(so)
        self.assertEqual([c["role"] for c in init["certificates"]], ["root"])
        self.assertEqual(init["crl_distribution_point"], CDP)
        self.assertIsNone(init["authority_info_access"])
        rc, so, se = self.poolcert(["ca", "sign", "--ca", self.tmp / "ca", "-o", self.tmp / "o",
                                    F.csrs[0]], env=env)
        self.assertEqual(rc, 0, so + se)
        rc, out, err = h.run(["openssl", "verify", "-CAfile", self.tmp / "ca" / "root.cer",
                              self.tmp / "o" / f"{S1}.cer"], cwd=self.tmp)
        self.assertEqual(rc, 0, out + err)
        rc, out, err = h.run(["openssl", "pkcs7", "-print_certs", "-inform", "DER", "-in",
                              self.tmp / "o" / f"{S1}.p7b"], cwd=self.tmp)
        self.assertEqual(out.count("BEGIN CERTIFICATE"), 2, out + err)

    # --- the leaves ---------------------------------------------------------------------------

    def test_openssl_verify_with_the_chain(self):
        for cer in F.cers:
            rc, out, err = h.run(["openssl", "verify", "-CAfile", F.ca / "root.cer",
                                  "-untrusted", F.ca / "intermediate.cer", cer], cwd=self.tmp)
            self.assertEqual(rc, 0, out + err)
            self.assertIn(": OK", out)

    def test_p7b_holds_leaf_intermediate_and_root(self):
        for p7b, cer in zip(F.p7bs, F.cers):
            rc, out, err = h.run(["openssl", "pkcs7", "-print_certs", "-inform", "DER",
                                  "-in", p7b], cwd=self.tmp)
            self.assertEqual(rc, 0, err)
            self.assertEqual(out.count("BEGIN CERTIFICATE"), 3, out)
            subjects = [line for line in out.splitlines() if line.startswith("subject=")]
            self.assertIn(h.POOL, subjects[0])
            self.assertIn("Issuing CA", subjects[1])
            self.assertIn("Root CA", subjects[2])
            self.assertEqual(h.file_mode(p7b), 0o644)
            self.assertEqual(h.file_mode(cer), 0o644)

    def test_leaf_as_python_cryptography_reads_it(self):
        for server, csr, cer in zip(h.SERVERS, F.csrs, F.cers):
            cert = load_cert(cer)
            request = h.crypto_csr(csr)
            ext = cert.extensions
            san = ext.get_extension_for_class(x509.SubjectAlternativeName).value
            self.assertEqual(san.get_values_for_type(x509.DNSName), request["sans"])
            self.assertEqual(san.get_values_for_type(x509.DNSName), h.expected_sans(server))
            self.assertEqual(h.name_components(cert.subject), ["O=Company", f"CN={h.POOL}"])
            self.assertEqual(h.spki_sha256(cert.public_key()), request["spki_sha256"])
            # The profile's EKU: Server Authentication only (S1, S5).
            self.assertEqual(list(ext.get_extension_for_class(x509.ExtendedKeyUsage).value),
                             [ExtendedKeyUsageOID.SERVER_AUTH])
            ku = ext.get_extension_for_class(x509.KeyUsage)
            self.assertTrue(ku.critical)
            self.assertTrue(ku.value.digital_signature and ku.value.key_encipherment)
            self.assertFalse(ku.value.key_cert_sign)
            bc = ext.get_extension_for_class(x509.BasicConstraints)
            self.assertTrue(bc.critical)
            self.assertFalse(bc.value.ca)
            cdp = ext.get_extension_for_class(x509.CRLDistributionPoints).value
            self.assertEqual([n.value for p in cdp for n in p.full_name], [CDP])
            aia = ext.get_extension_for_class(x509.AuthorityInformationAccess).value
            self.assertEqual([(d.access_method, d.access_location.value) for d in aia],
                             [(AuthorityInformationAccessOID.CA_ISSUERS, AIA)])
            ext.get_extension_for_class(x509.SubjectKeyIdentifier)
            ext.get_extension_for_class(x509.AuthorityKeyIdentifier)
            self.assertEqual(cert.signature_hash_algorithm.name, "sha256")
            self.assertGreater(cert.serial_number, 0)
            self.assertLessEqual(cert.serial_number.bit_length(), 128)
            self.assertGreater(cert.serial_number.bit_length(), 64)
            days = (cert.not_valid_after - cert.not_valid_before).total_seconds() / 86400
            self.assertAlmostEqual(days, 365, delta=0.01)

    def test_sign_json(self):
        issued = F.sign_json["issued"]
        self.assertEqual([Path(i["certificate"]).name for i in issued],
                         [f"{s}.cer" for s in h.SERVERS])
        for i, server in zip(issued, h.SERVERS):
            self.assertEqual(i["sans"], h.expected_sans(server))
            self.assertEqual(i["subject"], f"O=Company, CN={h.POOL}")
            self.assertEqual(int(i["serial"], 16), load_cert(i["certificate"]).serial_number)
            self.assertRegex(i["not_after"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

    # --- the whole loop -----------------------------------------------------------------------

    def test_verify_passes_every_check(self):
        report = self.poolcert_json(["verify", F.spec, "--cert-dir", F.out,
                                     "--ca-bundle", F.ca / "root.cer"])
        self.assertEqual(sorted(s["server"] for s in report["servers"]), sorted(h.SERVERS))
        for server in report["servers"]:
            bad = [c for c in server["checks"] if c["status"] != "pass"]
            self.assertEqual(bad, [], server["server"])
        self.assertEqual(report["summary"]["warn"], 0)
        self.assertEqual(report["summary"]["fail"], 0)
        self.assertEqual(report["unmatched"], [])

    def test_pfx_from_the_p7b(self):
        pw = self.tmp / "pw.txt"
        pw.write_text("lab passphrase\n")
        out = self.tmp / "s1.pfx"
        rc, so, se = self.poolcert(["pfx", F.spec, "--server", S1, "--cert", F.p7bs[0],
                                    "--key-dir", F.out, "--ca-bundle", F.ca / "root.cer",
                                    "--passphrase-file", pw, "-o", out])
        self.assertEqual(rc, 0, so + se)
        rc, text, err = h.run(["openssl", "pkcs12", "-in", out, "-passin", f"file:{pw}",
                               "-nodes"], cwd=self.tmp)
        self.assertEqual(rc, 0, err)
        self.assertIn("BEGIN PRIVATE KEY", text)
        self.assertEqual(text.count("BEGIN CERTIFICATE"), 3, text)

    # --- refusals -----------------------------------------------------------------------------

    def sign_into(self, out_dir, *csrs, env=None):
        return self.poolcert(["ca", "sign", "--ca", F.ca, "-o", out_dir, *csrs], env=env)

    def assertRefused(self, csr, what):
        out_dir = self.tmp / "issued"
        good = self.tmp / "good.csr"
        shutil.copyfile(F.csrs[0], good)
        before = h.snapshot(self.tmp)
        rc, so, se = self.sign_into(out_dir, good, csr)
        self.assertEqual(rc, 2, f"{what}:\n{so}{se}")
        line = self.assertOneErrorLine(se)
        self.assertIn(str(csr), line)
        self.assertEqual(h.snapshot(self.tmp), before, f"{what}: nothing may be written")

    def test_tampered_signature_is_refused(self):
        der = bytearray(csr_der(F.csrs[0]))
        der[-20] ^= 0x01  # inside the signature value, the last field
        bad = self.tmp / "sig.csr"
        bad.write_text(pem_csr(bytes(der)))
        self.assertRefused(bad, "flipped signature byte")

    def test_tampered_public_key_is_refused(self):
        der = bytearray(csr_der(F.csrs[0]))
        modulus = h.load_csr(F.csrs[0]).public_key().public_numbers().n
        needle = modulus.to_bytes((modulus.bit_length() + 7) // 8, "big")[100:116]
        at = bytes(der).find(needle)
        self.assertGreater(at, 0)
        der[at + 3] ^= 0x40  # inside the modulus: still a well-formed RSA key
        bad = self.tmp / "key.csr"
        bad.write_text(pem_csr(bytes(der)))
        self.assertRefused(bad, "flipped public key byte")
        rc, so, se = self.sign_into(self.tmp / "issued", bad)
        self.assertIn("self-signature does not verify", se)

    def test_der_csr_is_accepted(self):
        der_csr = self.tmp / "s1.der"
        der_csr.write_bytes(csr_der(F.csrs[0]))
        rc, so, se = self.sign_into(self.tmp / "o", der_csr)
        self.assertEqual(rc, 0, so + se)
        self.assertTrue((self.tmp / "o" / "s1.cer").exists())
        self.assertTrue((self.tmp / "o" / "s1.p7b").exists())

    def test_never_overwrites_outputs(self):
        out_dir = self.tmp / "o"
        out_dir.mkdir()
        (out_dir / f"{S2}.p7b").write_bytes(b"an earlier chain\n")
        before = h.snapshot(self.tmp)
        rc, so, se = self.sign_into(out_dir, *F.csrs)
        self.assertEqual(rc, 2, so + se)
        self.assertIn(f"{S2}.p7b", self.assertOneErrorLine(se))
        self.assertEqual(h.snapshot(self.tmp), before)

    def test_not_a_ca_folder(self):
        rc, so, se = self.poolcert(["ca", "sign", "--ca", self.tmp, F.csrs[0]])
        self.assertEqual(rc, 2, so + se)
        self.assertIn("ca.json", self.assertOneErrorLine(se))

    def test_a_leaf_may_not_outlive_the_ca(self):
        rc, so, se = self.poolcert(["ca", "sign", "--ca", F.ca, "--days", "20000",
                                    "-o", self.tmp / "o", F.csrs[0]])
        self.assertEqual(rc, 2, so + se)
        self.assertIn("--days", self.assertOneErrorLine(se))


if __name__ == "__main__":
    unittest.main()
