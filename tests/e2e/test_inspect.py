"""`poolcert inspect`: what it reports agrees with python-cryptography on the same file, for
poolcert's own CSR and for certificates made by `openssl req -x509`, PEM and DER."""

import json
import os
import tempfile
import unittest
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

import harness as h

S1 = h.SERVERS[0]
CDP = "http://pki.company.local/crl/ca.crl"
CURVES = {"secp256r1": "P-256", "secp384r1": "P-384"}


def openssl(args, cwd):
    rc, out, err = h.run(["openssl", *args], cwd=cwd)
    if rc != 0:
        raise RuntimeError(f"openssl {' '.join(map(str, args))} failed: {err}")


def load_any(path, kind):
    """python-cryptography's reading of a PEM or DER file of `kind` ("csr" or "certificate")."""
    data = Path(path).read_bytes()
    pem = data.lstrip().startswith(b"-----BEGIN")
    if kind == "csr":
        return x509.load_pem_x509_csr(data) if pem else x509.load_der_x509_csr(data)
    return x509.load_pem_x509_certificate(data) if pem else x509.load_der_x509_certificate(data)


def ext_value(obj, cls):
    try:
        return obj.extensions.get_extension_for_class(cls).value
    except x509.ExtensionNotFound:
        return None


def utc(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def key_usage_names(ku):
    """RFC 5280 4.2.1.3 names of the bits set in a cryptography KeyUsage, in bit order."""
    if ku is None:
        return []
    names = [n for n, a in (("digitalSignature", "digital_signature"),
                            ("nonRepudiation", "content_commitment"),
                            ("keyEncipherment", "key_encipherment"),
                            ("dataEncipherment", "data_encipherment"),
                            ("keyAgreement", "key_agreement"), ("keyCertSign", "key_cert_sign"),
                            ("cRLSign", "crl_sign")) if getattr(ku, a)]
    if ku.key_agreement:  # encipher_only/decipher_only are defined only with keyAgreement
        names += [n for n, a in (("encipherOnly", "encipher_only"),
                                 ("decipherOnly", "decipher_only")) if getattr(ku, a)]
    return names


def expected_from_cryptography(kind, obj):
    """The fields of an `inspect --json` object as python-cryptography reads them."""
    key = obj.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        key_info = {"type": "rsa", "bits": key.key_size, "curve": None}
    elif isinstance(key, ec.EllipticCurvePublicKey):
        key_info = {"type": "ecdsa", "bits": key.key_size, "curve": CURVES[key.curve.name]}
    else:
        raise AssertionError(f"unexpected key type {type(key)}")
    san = ext_value(obj, x509.SubjectAlternativeName)
    eku = ext_value(obj, x509.ExtendedKeyUsage)
    ku = ext_value(obj, x509.KeyUsage)
    cn = obj.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    expected = {
        "kind": kind,
        "subject": h.name_components(obj.subject),
        "common_name": cn[0].value if cn else None,
        "sans": san.get_values_for_type(x509.DNSName) if san else [],
        "eku": [o._name for o in eku] if eku else [],
        "key_usage": key_usage_names(ku),
        "key": key_info,
        "signature_algorithm": obj.signature_algorithm_oid._name,
        "spki_sha256": h.spki_sha256(key),
    }
    if kind == "certificate":
        bc = ext_value(obj, x509.BasicConstraints)
        cdp = ext_value(obj, x509.CRLDistributionPoints)
        expected.update({
            "issuer": h.name_components(obj.issuer),
            "serial": obj.serial_number,
            "not_before": utc(obj.not_valid_before),
            "not_after": utc(obj.not_valid_after),
            "basic_constraints_ca": bc.ca if bc else None,
            "crl_distribution_points": [n.value for dp in cdp for n in dp.full_name or []
                                        if isinstance(n, x509.UniformResourceIdentifier)]
            if cdp else [],
        })
    else:
        expected.update({"issuer": None, "serial": None, "not_before": None, "not_after": None})
    return expected


def reported(obj):
    """The same fields from poolcert's JSON object, normalised for comparison."""
    got = {k: obj[k] for k in ("kind", "common_name", "sans", "eku", "key", "signature_algorithm",
                               "spki_sha256", "not_before", "not_after")}
    got["subject"] = [p.strip().replace(" = ", "=") for p in obj["subject"].split(", ")]
    got["key_usage"] = obj["key_usage"]
    got["issuer"] = ([p.strip().replace(" = ", "=") for p in obj["issuer"].split(", ")]
                     if obj["issuer"] is not None else None)
    got["serial"] = int(obj["serial"].replace(":", ""), 16) if obj["serial"] is not None else None
    if obj["kind"] == "certificate":
        got["basic_constraints_ca"] = obj["basic_constraints_ca"]
        got["crl_distribution_points"] = obj["crl_distribution_points"]
    return got


class Inspect(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls._tmp = tempfile.TemporaryDirectory(prefix="poolcert-e2e-")
        cls.tmp = d = Path(cls._tmp.name)
        h.copy_example(d)
        rc, _, err = h.poolcert(["csr", "spec.toml", "--server", S1], cwd=d, env=h.profile_env())
        if rc != 0:
            raise RuntimeError(f"poolcert csr failed: {err}")
        os.replace(d / "out" / f"{S1}.csr", d / "csr.pem")
        openssl(["req", "-in", "csr.pem", "-outform", "DER", "-out", "csr.der"], d)
        ext = ["-addext", "subjectAltName=DNS:ocspool.company.local,DNS:sip.company.local,"
                          "IP:10.0.0.1",
               "-addext", "extendedKeyUsage=serverAuth,clientAuth",
               "-addext", "keyUsage=critical,digitalSignature,keyEncipherment",
               "-addext", f"crlDistributionPoints=URI:{CDP}"]
        openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "cert.key",
                 "-out", "cert.pem", "-days", "30", "-subj", "/O=Company/CN=ocspool.company.local",
                 *ext], d)
        openssl(["x509", "-in", "cert.pem", "-outform", "DER", "-out", "cert.der"], d)
        openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", "ec.key", "-out", "ec.pem", "-days", "10",
                 "-subj", "/CN=sip.company.com", "-addext", "subjectAltName=DNS:sip.company.com",
                 "-addext", "extendedKeyUsage=serverAuth",
                 "-addext", "keyUsage=digitalSignature,nonRepudiation,keyCertSign,cRLSign"], d)
        openssl(["crl2pkcs7", "-nocrl", "-certfile", "cert.pem", "-certfile", "ec.pem",
                 "-out", "chain.p7b"], d)
        openssl(["crl2pkcs7", "-nocrl", "-certfile", "cert.pem", "-outform", "DER",
                 "-out", "chain.p7b.der"], d)

    @classmethod
    def tearDownClass(cls):
        cls._tmp.cleanup()

    def inspect(self, *files):
        rc, out, err = h.poolcert(["inspect", *files, "--json"], cwd=self.tmp)
        return rc, json.loads(out), err

    def check_against_cryptography(self, name, encoding, kind):
        rc, doc, err = self.inspect(name)
        self.assertEqual(rc, 0, err)
        [entry] = doc["files"]
        self.assertEqual(entry["file"], name)
        self.assertEqual(entry["encoding"], encoding)
        self.assertIsNone(entry["error"])
        [obj] = entry["objects"]
        parsed = load_any(self.tmp / name, kind)
        self.assertEqual(reported(obj), expected_from_cryptography(kind, parsed))
        return obj

    def test_poolcert_csr_pem(self):
        obj = self.check_against_cryptography("csr.pem", "PEM", "csr")
        self.assertEqual(obj["sans"], h.expected_sans(S1))
        self.assertTrue(obj["signature_valid"])

    def test_poolcert_csr_der(self):
        obj = self.check_against_cryptography("csr.der", "DER", "csr")
        self.assertTrue(obj["signature_valid"])

    def test_pem_and_der_csr_report_the_same(self):
        _, pem, _ = self.inspect("csr.pem")
        _, der, _ = self.inspect("csr.der")
        self.assertEqual(pem["files"][0]["objects"], der["files"][0]["objects"])

    def test_self_signed_certificate_pem(self):
        obj = self.check_against_cryptography("cert.pem", "PEM", "certificate")
        self.assertEqual(obj["crl_distribution_points"], [CDP])
        self.assertEqual(len(obj["other_sans"]), 1)
        self.assertIn("10.0.0.1", obj["other_sans"][0])

    def test_self_signed_certificate_der(self):
        self.check_against_cryptography("cert.der", "DER", "certificate")

    def test_ecdsa_certificate(self):
        obj = self.check_against_cryptography("ec.pem", "PEM", "certificate")
        self.assertEqual(obj["key"], {"type": "ecdsa", "bits": 256, "curve": "P-256"})
        self.assertEqual(obj["signature_algorithm"], "ecdsa-with-SHA256")
        self.assertEqual(obj["key_usage"],
                         ["digitalSignature", "nonRepudiation", "keyCertSign", "cRLSign"])

    def test_pkcs7_pem_lists_every_certificate(self):
        rc, doc, err = self.inspect("chain.p7b")
        self.assertEqual(rc, 0, err)
        entry = doc["files"][0]
        self.assertEqual(entry["encoding"], "PKCS#7 PEM")
        spkis = sorted(o["spki_sha256"] for o in entry["objects"])
        expected = sorted(h.spki_sha256(load_any(self.tmp / n, "certificate").public_key())
                          for n in ("cert.pem", "ec.pem"))
        self.assertEqual(spkis, expected)

    def test_pkcs7_der(self):
        rc, doc, err = self.inspect("chain.p7b.der")
        self.assertEqual(rc, 0, err)
        entry = doc["files"][0]
        self.assertEqual(entry["encoding"], "PKCS#7 DER")
        self.assertEqual([o["common_name"] for o in entry["objects"]], ["ocspool.company.local"])

    def test_human_output_shows_sans_and_spki(self):
        rc, out, err = h.poolcert(["inspect", "csr.pem"], cwd=self.tmp)
        self.assertEqual(rc, 0, err)
        expected = h.crypto_csr(self.tmp / "csr.pem")
        self.assertIn(expected["spki_sha256"], out)
        for name in h.expected_sans(S1):
            self.assertIn(name, out)

    # Files that are not a CSR or certificate ------------------------------------------------------

    def check_bad_file(self, name, content):
        path = self.tmp / name
        path.write_bytes(content)
        rc, out, err = h.poolcert(["inspect", name], cwd=self.tmp)
        self.assertEqual(rc, 2, err)
        self.assertTrue(h.error_lines(err)[0].startswith(h.ERROR_PREFIX), err)
        self.assertIn(name, err)
        rc, doc, err = self.inspect(name)
        self.assertEqual(rc, 2, err)
        [entry] = doc["files"]
        self.assertEqual(entry["objects"], [])
        self.assertIsNotNone(entry["error"])
        self.assertIn(name, entry["error"])

    def test_garbage_file(self):
        self.check_bad_file("garbage.bin", bytes(range(256)) * 3)

    def test_empty_file(self):
        self.check_bad_file("empty.pem", b"")

    def test_private_key_given_as_file(self):
        self.check_bad_file("given.key", (self.tmp / "cert.key").read_bytes())

    def test_truncated_pem(self):
        text = (self.tmp / "cert.pem").read_bytes()
        self.check_bad_file("truncated.pem", text[:len(text) // 2])

    def test_missing_file(self):
        rc, out, err = h.poolcert(["inspect", "nosuch.pem"], cwd=self.tmp)
        self.assertEqual(rc, 2, err)
        self.assertIn("nosuch.pem", err)

    def test_bad_file_does_not_hide_the_good_ones(self):
        (self.tmp / "junk.txt").write_text("hello\n")
        rc, doc, err = self.inspect("csr.pem", "junk.txt", "cert.der")
        self.assertEqual(rc, 2, err)
        self.assertEqual([f["file"] for f in doc["files"]], ["csr.pem", "junk.txt", "cert.der"])
        self.assertEqual([f["error"] is None for f in doc["files"]], [True, False, True])
        self.assertEqual([len(f["objects"]) for f in doc["files"]], [1, 0, 1])


if __name__ == "__main__":
    unittest.main()
