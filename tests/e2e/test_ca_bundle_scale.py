"""`--ca-bundle` with thousands of certificates (issue 14: a bundle of 25,000 took 76 s, as OpenSSL
3.0 sorted the trust store again for each certificate added; poolcert now drops duplicates and
sorts the store once).

Not a timed test (the timings are in the bench): each case checks that a large bundle gives the
same answer as a small one, with `openssl verify -CAfile` as the oracle. The bundles hold about
5,000 certificates: self-signed decoy CAs (made by Python `cryptography`), decoys with the real
root's and the intermediate's subject but another key, copies of decoys, and the test CA's root
(`openssl`, testca.py) many times over, in a fixed shuffled order.
"""

import datetime
import json
import random
import unittest
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

import harness as h
import testca

S1 = h.SERVERS[0]
DECOYS = 4000          # distinct decoy CAs
DECOY_COPIES = 500     # decoys that appear twice more
ROOT_COPIES = 300      # copies of the real root in the bundles that hold it
ROOT_SUBJECT = "O=Company, CN=Company Test Root"  # testca.py's root, as poolcert prints it

F = None  # the module fixture (Fixture), built once in setUpModule


def _name(organization, common_name):
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _self_signed(key, name, serial):
    """A self-signed CA certificate (PEM bytes) for `key`, with its subjectKeyIdentifier."""
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(serial)
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM)


def _decoys():
    """Decoy CA certificates (PEM bytes, each distinct): DECOYS with names of their own, then
    namesakes of the test CA's root and intermediate with keys of their own (RSA, as the real
    ones: the lookup by name finds them and only the key identifiers tell them apart)."""
    shared = ec.generate_private_key(ec.SECP256R1())
    decoys = [_self_signed(shared, _name("Decoy", f"Decoy Root {i:05d}"), i + 1)
              for i in range(DECOYS)]
    for i, cn in enumerate(["Company Test Root"] * 3 + ["Company Test Issuing CA"] * 2):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        decoys.append(_self_signed(key, _name("Company", cn), 100000 + i))
    return decoys


class Fixture:
    """poolcert's keys for the reference spec, the test CA, a good leaf for S1, and bundles."""

    def __init__(self, folder):
        self.dir = Path(folder)
        self.spec, self.keys = h.make_example_keys(self.dir)
        self.ca = testca.TestCA(self.dir / "ca")
        self.root = self.ca.root_pem
        self.inter = self.ca.inter_pem
        self.leaf = self.ca.issue(self.keys / f"{S1}.csr", self.dir / "leaf.pem")
        decoys = _decoys()
        rng = random.Random(14)
        copies = rng.sample(decoys[:DECOYS], DECOY_COPIES) * 2
        root = self.root.read_bytes()
        inter = self.inter.read_bytes()
        self.decoys_only = self._bundle("decoys.pem", decoys + copies, rng)
        self.mixed = self._bundle("mixed.pem", decoys + copies + [root] * ROOT_COPIES, rng)
        self.with_inter = self._bundle("with-inter.pem",
                                       decoys + copies + [root] * ROOT_COPIES + [inter] * 3, rng)
        self.root_copies = self._bundle("root-copies.pem", [root] * (DECOYS + DECOY_COPIES), rng)

    def _bundle(self, name, blocks, rng):
        blocks = list(blocks)
        rng.shuffle(blocks)
        path = self.dir / name
        path.write_bytes(b"".join(blocks))
        return path


def setUpModule():
    global F
    F = Fixture(h.module_temp_dir("poolcert-e2e-ca-bundle-"))


class CaBundleScaleTest(h.TempDirTestCase):

    def verify(self, bundle, *certs, rc):
        """verify --server S1 --cert ... --ca-bundle BUNDLE --json: the parsed report."""
        args = ["verify", F.spec, "--server", S1, "--key-dir", F.keys, "--ca-bundle", bundle,
                "--json"]
        for c in certs:
            args += ["--cert", c]
        code, out, err = self.poolcert(args)
        where = f"poolcert {' '.join(map(str, args))}\nstdout:\n{out}\nstderr:\n{err}"
        self.assertEqual(code, rc, where)
        return json.loads(out)

    def checks(self, doc):
        (server,) = [s for s in doc["servers"] if s["server"] == S1]
        return {c["id"]: c for c in server["checks"]}

    def assertSameReport(self, doc, bundle, reference, reference_bundle):
        """doc (with `bundle`) is the reference report (with `reference_bundle`) word for word,
        but for the bundle's name in the chain messages."""
        text = json.dumps(doc, sort_keys=True).replace(str(bundle), "BUNDLE")
        expected = json.dumps(reference, sort_keys=True).replace(str(reference_bundle), "BUNDLE")
        self.assertEqual(json.loads(text), json.loads(expected))

    def test_the_bundles_are_large(self):
        for bundle, n in ((F.mixed, DECOYS + 5 + 2 * DECOY_COPIES + ROOT_COPIES),
                          (F.decoys_only, DECOYS + 5 + 2 * DECOY_COPIES)):
            self.assertEqual(bundle.read_bytes().count(b"-----BEGIN CERTIFICATE-----"), n)
            self.assertGreater(n, 5000)

    def test_the_root_among_decoys_and_copies(self):
        reference = self.verify(F.root, F.leaf, F.inter, rc=0)
        doc = self.verify(F.mixed, F.leaf, F.inter, rc=0)
        checks = self.checks(doc)
        self.assertEqual(checks["chain.trusted"]["status"], "pass", checks["chain.trusted"])
        self.assertEqual(checks["chain.trusted"]["found"], ROOT_SUBJECT)
        self.assertEqual(checks["chain.complete"]["status"], "pass", checks["chain.complete"])
        self.assertSameReport(doc, F.mixed, reference, F.root)
        rc, out = testca.openssl_verify(F.leaf, F.mixed, untrusted=F.inter)
        self.assertEqual(rc, 0, out)

    def test_the_root_many_times_is_the_root_once(self):
        reference = self.verify(F.root, F.leaf, F.inter, rc=0)
        doc = self.verify(F.root_copies, F.leaf, F.inter, rc=0)
        self.assertSameReport(doc, F.root_copies, reference, F.root)

    def test_decoys_only_fail_the_chain(self):
        doc = self.verify(F.decoys_only, F.leaf, F.inter, rc=1)
        checks = self.checks(doc)
        failed = {i for i, c in checks.items() if c["status"] == "fail"}
        self.assertEqual(failed, {"chain.trusted"}, json.dumps(doc, indent=1))
        trusted = checks["chain.trusted"]
        self.assertIn(f"does not build to a trust anchor in {F.decoys_only}", trusted["message"])
        # The root's namesakes are in the bundle, but none issued the intermediate.
        self.assertEqual(checks["chain.complete"]["status"], "warn", checks["chain.complete"])
        self.assertIn("is neither in the input nor in the trust store",
                      checks["chain.complete"]["message"])
        rc, out = testca.openssl_verify(F.leaf, F.decoys_only, untrusted=F.inter)
        self.assertNotEqual(rc, 0, out)
        self.assertIn(trusted["found"], out)  # the same OpenSSL error as `openssl verify`'s

    def test_an_intermediate_from_the_bundle_is_trusted_but_not_supplied(self):
        doc = self.verify(F.with_inter, F.leaf, rc=1)
        checks = self.checks(doc)
        failed = {i for i, c in checks.items() if c["status"] == "fail"}
        self.assertEqual(failed, {"chain.complete"}, json.dumps(doc, indent=1))
        self.assertEqual(checks["chain.trusted"]["found"], ROOT_SUBJECT)
        self.assertIn("Company Test Issuing CA", checks["chain.complete"]["message"])
        rc, out = testca.openssl_verify(F.leaf, F.with_inter)
        self.assertEqual(rc, 0, out)


if __name__ == "__main__":
    unittest.main()
