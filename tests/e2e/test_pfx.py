"""`poolcert pfx` (issue 4): the PKCS#12 a Windows server imports, read back by `openssl pkcs12`
and python-cryptography's pkcs12 loader; refusals leave the disk as it was."""

import datetime
import shutil
import unittest
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

import harness as h
import testca

S1, S2 = h.SERVERS
POOL = h.POOL
PASSPHRASE = "correct horse battery staple"

F = None  # the module fixture


class Fixture:
    """A spec copy, poolcert's keys and CSRs, the test CA, a good leaf and a bad leaf for S1."""

    def __init__(self, folder):
        self.dir = Path(folder)
        self.spec, self.keys = h.make_example_keys(self.dir)
        self.csr = self.keys / f"{S1}.csr"
        self.ca = testca.TestCA(self.dir / "ca")
        self.good = self.ca.issue(self.csr, self.dir / "ocssrv01.cer")
        self.nosip = self.ca.issue(self.csr, self.dir / "ocssrv01-nosip.cer",
                                   drop_sans=["sip.company.com"])
        self.passfile = self.dir / "pw.txt"
        self.passfile.write_text(PASSPHRASE + "\n")  # as `echo ... > pw.txt` writes it


def setUpModule():
    global F
    F = Fixture(h.module_temp_dir("poolcert-e2e-pfx-"))


def der(cert):
    return cert.public_bytes(serialization.Encoding.DER)


def spki(public_key):
    return public_key.public_bytes(serialization.Encoding.DER,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)


class PfxTest(h.TempDirTestCase):

    def pfx(self, *extra, cert=None, out=None, passphrase=("--passphrase-file", None),
            key_dir=None, spec=None, env=None, umask=None):
        """Runs `poolcert pfx` for S1; returns (rc, stdout, stderr)."""
        args = ["pfx", spec or F.spec, "--server", S1, "--cert", cert or F.good,
                "--chain", F.ca.inter_pem, "--key-dir", key_dir or F.keys,
                "--ca-bundle", F.ca.root_pem]
        if out is not False:
            args += ["-o", out or self.tmp / "ocssrv01.pfx"]
        if passphrase:
            flag, value = passphrase
            args += [flag, value or F.passfile]
        args += [str(a) for a in extra]
        rc, so, se = self.poolcert(args, env=env, umask=umask)
        self.assertNotIn(rc, (-6, -11, 134, 139), f"crashed:\n{so}\n{se}")
        return rc, so, se

    def openssl_info(self, path, legacy=False, passin=None):
        """`openssl pkcs12 -info -noout` output (stdout+stderr); asserts it succeeds."""
        args = ["openssl", "pkcs12", "-info", "-noout", "-in", path,
                "-passin", passin or f"file:{F.passfile}"]
        if legacy:
            args.insert(2, "-legacy")
        rc, out, err = h.run(args, cwd=self.tmp)
        self.assertEqual(rc, 0, f"openssl pkcs12 -info failed:\n{out}\n{err}")
        return out + err

    def load(self, path, passphrase=PASSPHRASE):
        """python-cryptography's reading of the PFX, checked for key, leaf, chain and name."""
        p12 = pkcs12.load_pkcs12(Path(path).read_bytes(), passphrase.encode())
        leaf = x509.load_pem_x509_certificate(F.good.read_bytes())
        self.assertIsNotNone(p12.key, "the PFX holds the private key")
        self.assertIsNotNone(p12.cert, "the PFX holds the leaf")
        self.assertEqual(der(p12.cert.certificate), der(leaf))
        self.assertEqual(spki(p12.key.public_key()), spki(p12.cert.certificate.public_key()),
                         "the key matches the leaf")
        # ...and it is the key poolcert made for the server.
        server_key = serialization.load_pem_private_key(
            (F.keys / f"{S1}.key").read_bytes(), None)
        self.assertEqual(spki(p12.key.public_key()), spki(server_key.public_key()))
        cn = p12.cert.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        self.assertEqual([a.value for a in cn], [POOL])
        # S1: unique in the computer store: the CN and the day the certificate was issued (a
        # single-certificate spec has no certificate name to add).
        issued = p12.cert.certificate.not_valid_before.strftime("%Y-%m-%d")
        self.assertEqual(p12.cert.friendly_name, f"{POOL} {issued}".encode())
        inter = x509.load_pem_x509_certificate(F.ca.inter_pem.read_bytes())
        self.assertIn(der(inter), [der(c.certificate) for c in p12.additional_certs],
                      "the intermediate is in the PFX")
        return p12

    # --- what it writes ---------------------------------------------------------------------

    def test_default_is_aes256_sha256_mode_0600_even_under_umask_000(self):
        out = self.tmp / "ocssrv01.pfx"
        rc, so, se = self.pfx(out=out, umask=0)
        self.assertEqual(rc, 0, so + se)
        self.assertEqual(h.file_mode(out), 0o600)
        info = self.openssl_info(out)
        self.assertIn("PBES2, PBKDF2, AES-256-CBC", info)
        self.assertIn("MAC: sha256", info)
        self.assertNotIn("TripleDES", info)
        self.load(out)
        self.assertEqual(h.poolcert_temp_files(self.tmp), [])

    def test_friendly_name_as_openssl_reads_it(self):
        out = self.tmp / "x.pfx"
        self.assertEqual(self.pfx(out=out)[0], 0)
        rc, text, err = h.run(["openssl", "pkcs12", "-in", out, "-passin",
                               f"file:{F.passfile}", "-nodes"], cwd=self.tmp)
        self.assertEqual(rc, 0, err)
        self.assertIn(f"friendlyName: {POOL}", text)
        self.assertIn("BEGIN PRIVATE KEY", text)
        self.assertEqual(text.count("BEGIN CERTIFICATE") >= 2, True, text)

    def test_legacy_is_3des_sha1(self):
        out = self.tmp / "legacy.pfx"
        rc, so, se = self.pfx("--legacy", out=out)
        self.assertEqual(rc, 0, so + se)
        self.assertEqual(h.file_mode(out), 0o600)
        info = self.openssl_info(out, legacy=True)
        self.assertIn("pbeWithSHA1And3-KeyTripleDES-CBC", info)
        self.assertIn("MAC: sha1", info)
        self.assertNotIn("AES-256", info)
        self.load(out)

    def test_default_output_is_in_the_key_dir(self):
        keys = self.tmp / "keys"
        shutil.copytree(F.keys, keys)
        rc, so, se = self.pfx(out=False, key_dir=keys)
        self.assertEqual(rc, 0, so + se)
        out = keys / f"{S1}.pfx"
        self.assertTrue(out.exists(), so + se)
        self.assertEqual(h.file_mode(out), 0o600)
        self.load(out)

    def test_passphrase_from_environment(self):
        out = self.tmp / "env.pfx"
        rc, so, se = self.pfx(out=out, passphrase=("--passphrase-env", "PFX_PASS"),
                              env={"PFX_PASS": "env secret"})
        self.assertEqual(rc, 0, so + se)
        self.load(out, passphrase="env secret")
        self.openssl_info(out, passin="pass:env secret")

    def test_encrypted_server_key_opens_with_the_same_passphrase(self):
        spec = h.copy_example(self.tmp)
        rc, so, se = self.poolcert(["csr", spec, "--server", S1, "--encrypt-key",
                                    "--passphrase-file", F.passfile])
        self.assertEqual(rc, 0, so + se)
        keys = self.tmp / "out"
        self.assertIn(b"ENCRYPTED", (keys / f"{S1}.key").read_bytes())
        cert = F.ca.issue(keys / f"{S1}.csr", self.tmp / "enc.cer")
        out = self.tmp / "enc.pfx"
        rc, so, se = self.pfx(cert=cert, out=out, key_dir=keys, spec=spec)
        self.assertEqual(rc, 0, so + se)
        p12 = pkcs12.load_pkcs12(out.read_bytes(), PASSPHRASE.encode())
        leaf = x509.load_pem_x509_certificate(cert.read_bytes())
        self.assertEqual(der(p12.cert.certificate), der(leaf))
        self.assertEqual(spki(p12.key.public_key()), spki(leaf.public_key()))

    def test_p7b_carries_the_chain(self):
        # The .p7b AD CS returns holds leaf and intermediate: no --chain needed.
        p7b = testca.to_p7b(self.tmp / "ocssrv01.p7b", F.good, F.ca.inter_pem, der=True)
        out = self.tmp / "p7b.pfx"
        args = ["pfx", F.spec, "--server", S1, "--cert", p7b, "--key-dir", F.keys,
                "--ca-bundle", F.ca.root_pem, "-o", out, "--passphrase-file", F.passfile]
        rc, so, se = self.poolcert(args)
        self.assertEqual(rc, 0, so + se)
        self.load(out)

    def test_renewal_beside_the_expired_certificate_carries_the_renewal(self):
        # Both are for S1's key; verify checks the one valid now, and the PFX must carry that one,
        # whichever comes first in the file.
        old = F.ca.issue(F.csr, self.tmp / "old.cer",
                         start=testca.utc_now() - datetime.timedelta(days=400),
                         end=testca.utc_now() - datetime.timedelta(days=35))
        for name, order in (("old-last", (F.good, old)), ("old-first", (old, F.good))):
            with self.subTest(name):
                both = testca.bundle(self.tmp / f"{name}.pem", *order)
                out = self.tmp / f"{name}.pfx"
                rc, so, se = self.pfx(cert=both, out=out)
                self.assertEqual(rc, 0, so + se)
                self.load(out)  # the leaf in it is F.good, not the expired one

    # --- refusals ---------------------------------------------------------------------------

    def test_refusal_names_a_certificate_that_belongs_to_no_server(self):
        _, csr = testca.openssl_csr(self.tmp, "stranger", "/O=Elsewhere/CN=www.example.org",
                                    ["www.example.org"])
        stranger = F.ca.issue(csr, self.tmp / "stranger.cer")
        chain = testca.bundle(self.tmp / "chain.pem", F.ca.inter_pem, stranger)
        before = h.snapshot(self.tmp)
        args = ["pfx", F.spec, "--server", S1, "--cert", F.good, "--chain", chain,
                "--key-dir", F.keys, "--ca-bundle", F.ca.root_pem, "-o", self.tmp / "x.pfx",
                "--passphrase-file", F.passfile]
        rc, so, se = self.poolcert(args)
        self.assertEqual(rc, 1, so + se)
        self.assertIn("www.example.org", se)
        self.assertIn("matches no server", se)
        self.assertEqual(h.snapshot(self.tmp), before, "nothing written")

    def test_never_overwrites(self):
        out = self.tmp / "ocssrv01.pfx"
        out.write_bytes(b"an earlier export\n")
        before = h.snapshot(self.tmp)
        rc, so, se = self.pfx(out=out)
        self.assertEqual(rc, 2, so + se)
        self.assertIn("ocssrv01.pfx", se)
        self.assertEqual(h.snapshot(self.tmp), before)

    def test_refuses_a_failing_certificate(self):
        before = h.snapshot(self.tmp)
        rc, so, se = self.pfx(cert=F.nosip, out=self.tmp / "bad.pfx")
        self.assertEqual(rc, 1, so + se)
        self.assertIn("san.missing", se)
        self.assertEqual(h.snapshot(self.tmp), before, "nothing written")

    def test_force_writes_a_failing_certificate(self):
        out = self.tmp / "forced.pfx"
        rc, so, se = self.pfx("--force", cert=F.nosip, out=out)
        self.assertEqual(rc, 0, so + se)
        self.assertEqual(h.file_mode(out), 0o600)
        p12 = pkcs12.load_pkcs12(out.read_bytes(), PASSPHRASE.encode())
        leaf = x509.load_pem_x509_certificate(F.nosip.read_bytes())
        self.assertEqual(der(p12.cert.certificate), der(leaf))
        self.assertEqual(spki(p12.key.public_key()), spki(leaf.public_key()))

    def test_no_passphrase_source(self):
        before = h.snapshot(self.tmp)
        rc, so, se = self.pfx(out=self.tmp / "x.pfx", passphrase=None)
        self.assertEqual(rc, 2, so + se)
        self.assertEqual(h.snapshot(self.tmp), before)

    def test_empty_passphrase_is_refused(self):
        empty = self.tmp / "empty-pw.txt"
        empty.write_text("\n")
        for passphrase, env in ((("--passphrase-file", empty), None),
                                (("--passphrase-env", "PFX_PASS"), {"PFX_PASS": ""})):
            with self.subTest(passphrase=passphrase[0]):
                out = self.tmp / "x.pfx"
                rc, so, se = self.pfx(out=out, passphrase=passphrase, env=env)
                self.assertEqual(rc, 2, so + se)
                self.assertFalse(out.exists())

    def test_unset_passphrase_env(self):
        before = h.snapshot(self.tmp)
        rc, so, se = self.pfx(out=self.tmp / "x.pfx",
                              passphrase=("--passphrase-env", "PFX_PASS_UNSET"),
                              env={"PFX_PASS_UNSET": None})
        self.assertEqual(rc, 2, so + se)
        self.assertIn("PFX_PASS_UNSET", se)
        self.assertEqual(h.snapshot(self.tmp), before)

    def test_certificate_for_another_server_is_refused_even_with_force(self):
        # The leaf is ocssrv01's; a PFX of it with ocssrv02's key would be useless, so not even
        # --force writes it. The message names the certificate and the key.
        for force in ([], ["--force"]):
            with self.subTest(force=force):
                before = h.snapshot(self.tmp)
                args = ["pfx", F.spec, "--server", S2, "--cert", F.good, "--chain",
                        F.ca.inter_pem, "--key-dir", F.keys, "--ca-bundle", F.ca.root_pem,
                        "-o", self.tmp / "x.pfx", "--passphrase-file", F.passfile, *force]
                rc, so, se = self.poolcert(args)
                self.assertEqual(rc, 1, so + se)
                self.assertIn(str(F.good), se)
                self.assertIn(f"{S2}.key", se)
                self.assertEqual(h.snapshot(self.tmp), before)

if __name__ == "__main__":
    unittest.main()
