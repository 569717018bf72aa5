"""`poolcert verify` (issue 4) against certificates issued at test time by an `openssl ca` test CA
(testca.py) from poolcert's own CSRs for the reference deployment.

One good certificate per server passes every check in every encoding a CA hands back (PEM, DER,
PKCS#7); each defect certificate fails exactly the check it targets and no other; bad input is
exit 2 naming the file; pairing is by key, not by file name.
"""

import datetime
import json
import os
import shutil
import unittest
from pathlib import Path

from cryptography import x509

import harness as h
import testca

S1, S2 = h.SERVERS
POOL = h.POOL

# Every check a certificate paired with a server gets (cert.present is for a server without one).
CERT_CHECKS = {
    "subject.cn", "san.missing", "san.extra", "san.cn-included", "san.wildcard", "key.match",
    "key.type", "eku.server-auth", "eku.client-auth", "key-usage", "basic-constraints",
    "signature.algorithm", "validity.window", "validity.remaining", "chain.trusted",
    "chain.complete", "cdp.present", "cdp.http", "aia.present",
}

F = None  # the module fixture (Fixture), built once in setUpModule


class Fixture:
    """A spec copy, poolcert's keys and CSRs for it, the test CA and one good leaf per server."""

    def __init__(self, folder):
        self.dir = Path(folder)
        self.spec, self.keys = h.make_example_keys(self.dir)  # the spec's output_dir, relative to the spec
        self.csr = {s: self.keys / f"{s}.csr" for s in h.SERVERS}
        self.ca = testca.TestCA(self.dir / "ca")
        self.root = self.ca.root_pem
        self.inter = self.ca.inter_pem
        self.root_and_inter = testca.bundle(self.dir / "root+inter.pem", self.root, self.inter)
        good = self.dir / "good"
        good.mkdir()
        self.good = {s: self.ca.issue(self.csr[s], good / f"{s.split('.')[0]}.pem")
                     for s in h.SERVERS}


def setUpModule():
    global F
    F = Fixture(h.module_temp_dir("poolcert-e2e-verify-"))


def now():
    return testca.utc_now()


class VerifyCase(h.TempDirTestCase):
    """Runs `poolcert verify` on the fixture's spec and reads its JSON."""

    def verify(self, *args, rc=None, json_out=True, spec=None):
        """Runs verify; asserts the exit code when `rc` is given; returns (rc, doc, stderr).

        doc is the parsed JSON (None without --json; then it is the raw stdout).
        """
        argv = ["verify", spec or F.spec, *map(str, args)]
        if json_out:
            argv.append("--json")
        code, out, err = self.poolcert(argv)
        where = f"poolcert {' '.join(map(str, argv))}\nstdout:\n{out}\nstderr:\n{err}"
        self.assertNotIn(code, (-6, -11, 134, 139), f"crashed: {where}")
        if rc is not None:
            self.assertEqual(code, rc, where)
        if not json_out:
            return code, out, err
        try:
            doc = json.loads(out)
        except ValueError as e:
            self.fail(f"stdout is not JSON ({e}): {where}")
        self._last = where
        return code, doc, err

    def verify_one(self, cert, *extra, bundle=None, rc=None):
        """verify --server S1 --cert CERT --cert inter.pem, keys and root bundle of the fixture."""
        return self.verify("--server", S1, "--cert", cert, "--cert", F.inter,
                           "--key-dir", F.keys, "--ca-bundle", bundle or F.root, *extra, rc=rc)

    # Reading the report ------------------------------------------------------------------------

    def server(self, doc, fqdn):
        entries = [s for s in doc["servers"] if s["server"] == fqdn]
        self.assertEqual(len(entries), 1, f"{fqdn} in servers once: {json.dumps(doc, indent=1)}")
        return entries[0]

    def checks(self, doc, fqdn):
        """{id: check} for a server; each id appears once."""
        entry = self.server(doc, fqdn)
        ids = [c["id"] for c in entry["checks"]]
        self.assertEqual(len(ids), len(set(ids)), f"duplicate check ids for {fqdn}: {ids}")
        for c in entry["checks"]:
            self.assertIn(c["status"], ("pass", "warn", "fail"), c)
            self.assertIsInstance(c.get("message"), str, c)
        return {c["id"]: c for c in entry["checks"]}

    def statuses(self, doc, fqdn, status):
        return {i for i, c in self.checks(doc, fqdn).items() if c["status"] == status}

    def dump(self, doc):
        return json.dumps(doc, indent=1)

    def assertAllPass(self, doc, fqdn, cert=None):
        checks = self.checks(doc, fqdn)
        self.assertLessEqual(CERT_CHECKS, set(checks), f"checks missing for {fqdn}")
        not_pass = {i: c for i, c in checks.items() if c["status"] != "pass"}
        self.assertEqual(not_pass, {}, f"{fqdn}: every check should pass:\n{self.dump(doc)}")
        if cert is not None:
            self.assertEqual(Path(self.server(doc, fqdn)["cert"]).resolve(),
                             Path(cert).resolve())

    def assertFailsExactly(self, doc, fqdn, expected):
        """The ids with status fail for fqdn are exactly `expected`; the summary agrees."""
        checks = self.checks(doc, fqdn)
        self.assertLessEqual(CERT_CHECKS, set(checks), f"checks missing for {fqdn}")
        fails = {i for i, c in checks.items() if c["status"] == "fail"}
        self.assertEqual(fails, set(expected), f"{fqdn}:\n{self.dump(doc)}")
        self.assertEqual(doc["summary"]["fail"],
                         sum(1 for s in doc["servers"] for c in s["checks"]
                             if c["status"] == "fail"), "summary.fail counts the fails")
        return checks

    def assertClean(self, doc):
        """No unmatched certificates and no unreadable files."""
        self.assertEqual(doc.get("unmatched", []), [], self.dump(doc))
        self.assertEqual(doc.get("errors", []), [], self.dump(doc))


# --- good certificates ---------------------------------------------------------------------------

class GoodCertificatesTest(VerifyCase):
    """One good certificate per server: exit 0 and every check pass, in every encoding."""

    def assertBothPass(self, doc, certs):
        self.assertClean(doc)
        self.assertEqual(sorted(s["server"] for s in doc["servers"]), sorted(h.SERVERS))
        for s in h.SERVERS:
            self.assertAllPass(doc, s, certs[s] if certs else None)
        self.assertEqual(doc["summary"]["fail"], 0)
        self.assertEqual(doc["summary"]["warn"], 0)
        self.assertEqual(doc["summary"]["pass"], sum(len(s["checks"]) for s in doc["servers"]))

    def test_pem_with_intermediate_file(self):
        certs = {s: shutil.copy(F.good[s], self.tmp / f"{s.split('.')[0]}.cer") for s in h.SERVERS}
        inter = shutil.copy(F.inter, self.tmp / "inter.pem")
        _, doc, _ = self.verify("--cert", certs[S1], "--cert", certs[S2], "--cert", inter,
                                "--key-dir", F.keys, "--ca-bundle", F.root, rc=0)
        self.assertBothPass(doc, certs)
        # One intermediate between the leaf and the root (testca.py), and it was supplied.
        self.assertEqual(self.checks(doc, S1)["chain.complete"]["found"],
                         "1 intermediate supplied")

    def test_der(self):
        certs = {s: testca.to_der(F.good[s], self.tmp / f"{s.split('.')[0]}.cer")
                 for s in h.SERVERS}
        inter = testca.to_der(F.inter, self.tmp / "inter.cer")
        self.assertFalse(certs[S1].read_bytes().startswith(b"-----"))
        _, doc, _ = self.verify("--cert", certs[S1], "--cert", certs[S2], "--cert", inter,
                                "--key-dir", F.keys, "--ca-bundle", F.root, rc=0)
        self.assertBothPass(doc, certs)

    def test_p7b_per_server_carrying_the_intermediate(self):
        for der in (False, True):
            with self.subTest(der=der):
                certs = {s: testca.to_p7b(self.tmp / f"{s.split('.')[0]}{'-der' if der else ''}.p7b",
                                          F.good[s], F.inter, der=der) for s in h.SERVERS}
                _, doc, _ = self.verify("--cert", certs[S1], "--cert", certs[S2],
                                        "--key-dir", F.keys, "--ca-bundle", F.root, rc=0)
                self.assertBothPass(doc, certs)

    def test_one_pem_with_chain_first_and_both_leaves(self):
        # A PEM holds many certificates in any order: intermediate first, then the leaves.
        allpem = testca.bundle(self.tmp / "all.pem", F.inter, F.good[S2], F.good[S1])
        _, doc, _ = self.verify("--cert", allpem, "--key-dir", F.keys, "--ca-bundle", F.root,
                                rc=0)
        self.assertBothPass(doc, {S1: allpem, S2: allpem})

    def test_what_windows_and_openssl_ca_write(self):
        # AD CS "Base64" files have CRLF line ends; `openssl ca` without -notext puts the text
        # dump before the PEM; DNS names are case-insensitive (RFC 4343).
        crlf = self.tmp / "crlf.cer"
        crlf.write_bytes(F.good[S1].read_bytes().replace(b"\n", b"\r\n"))
        text = self.tmp / "text.crt"
        text.write_text(testca.x509_text(F.good[S2]) + F.good[S2].read_text())
        _, doc, _ = self.verify("--cert", crlf, "--cert", text, "--cert", F.inter,
                                "--key-dir", F.keys, "--ca-bundle", F.root, rc=0)
        self.assertBothPass(doc, {S1: crlf, S2: text})
        upper = F.ca.issue(F.csr[S1], self.tmp / "upper.cer",
                           sans=[n.upper() for n in testca.csr_sans(F.csr[S1])])
        _, doc, _ = self.verify_one(upper, rc=0)
        self.assertAllPass(doc, S1, upper)

    def test_same_leaf_in_cer_and_p7b(self):
        # AD CS offers the certificate both as .cer and as a .p7b with the chain; an admin who
        # saves both into the folder has given one certificate per server, not two.
        d = self.tmp / "both"
        d.mkdir()
        for s in h.SERVERS:
            shutil.copy(F.good[s], d / f"{s}.cer")
            testca.to_p7b(d / f"{s}.p7b", F.good[s], F.inter)
        _, doc, _ = self.verify("--cert-dir", d, "--key-dir", F.keys, "--ca-bundle", F.root,
                                rc=0)
        self.assertBothPass(doc, None)

    def test_cert_dir_ignores_keys_csrs_and_other_files(self):
        d = self.tmp / "returned"
        d.mkdir()
        certs = {s: shutil.copy(F.good[s], d / f"{s}.cer") for s in h.SERVERS}
        testca.to_der(F.inter, d / "inter.crt")
        for s in h.SERVERS:  # the spec's own files, next to the certificates
            shutil.copy(F.keys / f"{s}.key", d)
            shutil.copy(F.keys / f"{s}.csr", d)
        (d / "README.txt").write_text("certificates from the CA, 2026-11-25\n")
        (d / "old.pfx").write_bytes(b"not a pfx")
        (d / "ocssrv01.company.local.key.20261101T000000Z.bak").write_bytes(b"junk")
        _, doc, _ = self.verify("--cert-dir", d, "--key-dir", F.keys, "--ca-bundle", F.root,
                                rc=0)
        self.assertBothPass(doc, certs)
        ignored = {Path(p).name for p in doc["ignored"]}
        self.assertIn("README.txt", ignored)
        self.assertIn("old.pfx", ignored)

    def test_key_dir_defaults_to_the_specs_output_dir(self):
        _, doc, _ = self.verify("--cert", F.good[S1], "--cert", F.good[S2], "--cert", F.inter,
                                "--ca-bundle", F.root, rc=0)
        self.assertBothPass(doc, F.good)

    def test_pairing_is_by_key_not_by_file_name(self):
        # Each server's certificate saved under the other server's name.
        swapped = {S1: shutil.copy(F.good[S1], self.tmp / f"{S2}.cer"),
                   S2: shutil.copy(F.good[S2], self.tmp / f"{S1}.cer")}
        _, doc, _ = self.verify("--cert", swapped[S1], "--cert", swapped[S2], "--cert", F.inter,
                                "--key-dir", F.keys, "--ca-bundle", F.root, rc=0)
        self.assertBothPass(doc, swapped)

    def test_strict_passes_a_good_certificate(self):
        _, doc, _ = self.verify_one(F.good[S1], "--strict", rc=0)
        self.assertAllPass(doc, S1, F.good[S1])

    def test_human_output_exit_0(self):
        rc, out, err = self.verify_one_text(F.good[S1])
        self.assertEqual(rc, 0, out + err)
        self.assertIn(S1, out)

    def verify_one_text(self, cert, *extra):
        return self.verify("--server", S1, "--cert", cert, "--cert", F.inter,
                           "--key-dir", F.keys, "--ca-bundle", F.root, *extra, json_out=False)

    def test_the_fixture_is_what_openssl_calls_good(self):
        # The oracle: OpenSSL itself builds the chain and reads the extensions we asked for.
        for s in h.SERVERS:
            rc, out = testca.openssl_verify(F.good[s], F.root, untrusted=F.inter)
            self.assertEqual(rc, 0, out)
            text = testca.x509_text(F.good[s])
            for needle in ("CA:FALSE", "TLS Web Server Authentication",
                           "TLS Web Client Authentication", "Digital Signature, Key Encipherment",
                           testca.CDP_HTTP, testca.AIA_CA_ISSUERS, "sha256WithRSAEncryption",
                           f"DNS:{s}", "DNS:sip.company.com"):
                self.assertIn(needle, text)
            self.assertEqual(testca.spki_der(F.good[s]), testca.spki_der(F.csr[s]))


# --- one certificate per defect ------------------------------------------------------------------

class DefectTest(VerifyCase):
    """Each defect fails exactly the check it targets (warnings allowed) and exits 1."""

    def issue(self, name, csr=None, **defects):
        return F.ca.issue(csr or F.csr[S1], self.tmp / f"{name}.pem", **defects)

    def check_defect(self, cert, expected, *extra, bundle=None):
        rc, doc, _ = self.verify_one(cert, *extra, bundle=bundle)
        checks = self.assertFailsExactly(doc, S1, expected)
        self.assertEqual(Path(self.server(doc, S1)["cert"]).resolve(), Path(cert).resolve())
        self.assertClean(doc)
        self.assertEqual(rc, 1 if expected else 0, self._last)
        return checks

    def test_missing_sip_company_com(self):
        cert = self.issue("nosip", drop_sans=["sip.company.com"])
        checks = self.check_defect(cert, {"san.missing"})
        self.assertIn("sip.company.com", checks["san.missing"]["message"])
        self.assertNotIn("sip.company.local", checks["san.missing"]["message"])

    def test_wrong_cn(self):
        # The wrong CN is one of the certificate's SANs, so san.cn-included still passes.
        cert = self.issue("wrongcn", cn=S1)
        checks = self.check_defect(cert, {"subject.cn"})
        self.assertEqual(checks["san.cn-included"]["status"], "pass")
        self.assertIn(POOL, json.dumps(checks["subject.cn"]))
        self.assertIn(S1, json.dumps(checks["subject.cn"]))

    def test_no_client_auth_passes(self):
        # DOMAIN.md, S1, S5: Server Authentication is what every server certificate needs;
        # Client Authentication only for public IM (S7 -ClientEKU). A certificate as Microsoft
        # describes it, Server Authentication only, passes (it failed eku.client-auth before).
        checks = self.check_defect(self.issue("noclient", eku=["serverAuth"]), set())
        self.assertEqual(checks["eku.client-auth"]["status"], "pass")
        self.assertIn("not needed", checks["eku.client-auth"]["message"])

    def test_no_server_auth(self):
        self.check_defect(self.issue("noserver", eku=["clientAuth"]), {"eku.server-auth"})

    def test_expired(self):
        cert = self.issue("expired", start=now() - datetime.timedelta(days=400),
                          end=now() - datetime.timedelta(days=35))
        self.check_defect(cert, {"validity.window"})

    def test_not_yet_valid(self):
        cert = self.issue("future", start=now() + datetime.timedelta(days=30), days=365)
        self.check_defect(cert, {"validity.window"})

    def test_ten_days_left(self):
        cert = self.issue("tendays", start=now() - datetime.timedelta(days=355),
                          end=now() + datetime.timedelta(days=10))
        self.check_defect(cert, {"validity.remaining"}, "--min-days", "30")
        with self.subTest("default --min-days is 30"):
            self.check_defect(cert, {"validity.remaining"})
        with self.subTest("--min-days 5"):
            self.check_defect(cert, set(), "--min-days", "5")

    def test_sha1_is_a_warning_for_ocs(self):
        # templates/profiles/ocs2007-enterprise-frontend.toml: allow_sha1 = true.
        cert = self.issue("sha1", digest="sha1")
        self.assertIn("sha1WithRSAEncryption", testca.x509_text(cert))
        checks = self.check_defect(cert, set())
        self.assertEqual(checks["signature.algorithm"]["status"], "warn")

    def test_rsassa_pss(self):
        cert = self.issue("pss", pss=True)
        self.assertIn("rsassaPss", testca.x509_text(cert))
        self.check_defect(cert, {"signature.algorithm"})

    def test_rsa_1024_key(self):
        # A CSR made by openssl with the right subject and names but a fresh 1024-bit key. It is
        # not the server's key, so besides key.type (1024 not allowed by the profile) key.match
        # fails too: the certificate pairs with ocssrv01 by its SAN, and its key is not
        # ocssrv01's. Both failures are real; no other check may fail.
        _, csr = testca.openssl_csr(self.tmp, "weak", testca.csr_subject(F.csr[S1]),
                                    testca.csr_sans(F.csr[S1]), bits=1024)
        cert = self.issue("weak", csr=csr)
        self.assertIn("(1024 bit)", testca.x509_text(cert))
        self.check_defect(cert, {"key.type", "key.match"})

    def test_certificate_for_another_key(self):
        _, csr = testca.openssl_csr(self.tmp, "other", testca.csr_subject(F.csr[S1]),
                                    testca.csr_sans(F.csr[S1]), bits=2048)
        cert = self.issue("otherkey", csr=csr)
        self.assertNotEqual(testca.spki_der(cert), testca.spki_der(F.csr[S1]))
        checks = self.check_defect(cert, {"key.match"})
        self.assertEqual(checks["key.type"]["status"], "pass")

    def test_root_not_in_bundle(self):
        # Issued directly by an unrelated root; chain.complete may warn (no path to judge).
        cert = self.issue("foreign", issuer="other-root")
        rc, out = testca.openssl_verify(cert, F.root)
        self.assertNotEqual(rc, 0, out)
        self.check_defect(cert, {"chain.trusted"})

    def test_intermediate_not_supplied_then_supplied_by_p7b(self):
        # The bundle trusts root and intermediate, so the chain builds; but the server must send
        # the intermediate, and it was not among the input files.
        rc, doc, _ = self.verify("--server", S1, "--cert", F.good[S1], "--key-dir", F.keys,
                                 "--ca-bundle", F.root_and_inter, rc=1)
        self.assertFailsExactly(doc, S1, {"chain.complete"})
        self.assertClean(doc)
        p7b = testca.to_p7b(self.tmp / "ocssrv01.p7b", F.good[S1], F.inter)
        rc, doc, _ = self.verify("--server", S1, "--cert", p7b, "--key-dir", F.keys,
                                 "--ca-bundle", F.root_and_inter, rc=0)
        self.assertAllPass(doc, S1, p7b)

    def test_intermediate_not_supplied_root_only_bundle(self):
        # Without the intermediate anywhere the chain cannot build: chain.trusted fails as well
        # as chain.complete (the path is unknown, so "not complete" cannot be the only finding).
        rc, doc, _ = self.verify("--server", S1, "--cert", F.good[S1], "--key-dir", F.keys,
                                 "--ca-bundle", F.root, rc=1)
        fails = self.statuses(doc, S1, "fail")
        self.assertIn("chain.trusted", fails, self.dump(doc))
        self.assertLessEqual(fails, {"chain.trusted", "chain.complete"}, self.dump(doc))

    def test_no_cdp(self):
        self.check_defect(self.issue("nocdp", cdp=None), {"cdp.present"})

    def test_ldap_only_cdp(self):
        cert = self.issue("ldapcdp", cdp="ldap")
        self.assertIn(testca.CDP_LDAP, testca.x509_text(cert))
        checks = self.check_defect(cert, set())
        self.assertEqual(checks["cdp.present"]["status"], "pass")
        self.assertEqual(checks["cdp.http"]["status"], "warn")

    def test_no_aia_is_a_warning(self):
        checks = self.check_defect(self.issue("noaia", aia=False), set())
        self.assertEqual(checks["aia.present"]["status"], "warn")

    def test_ca_true_leaf(self):
        cert = self.issue("caleaf", ca=True)
        self.assertIn("CA:TRUE", testca.x509_text(cert))
        self.check_defect(cert, {"basic-constraints"})

    def test_no_key_encipherment(self):
        self.check_defect(self.issue("nokeyenc", key_usage=["digitalSignature"]), {"key-usage"})

    def test_wildcard_san(self):
        cert = self.issue("wild", extra_sans=["*.company.local"])
        checks = self.check_defect(cert, {"san.wildcard"})
        self.assertEqual(checks["san.extra"]["status"], "warn")
        self.assertIn("*.company.local", checks["san.wildcard"]["message"])
        with self.subTest("--strict"):
            self.check_defect(cert, {"san.wildcard", "san.extra"}, "--strict")

    def test_extra_san_warns_and_fails_with_strict(self):
        cert = self.issue("extra", extra_sans=["legacy.company.local"])
        checks = self.check_defect(cert, set())
        self.assertEqual(checks["san.extra"]["status"], "warn")
        self.assertIn("legacy.company.local", checks["san.extra"]["message"])
        self.check_defect(cert, {"san.extra"}, "--strict")

    def test_md5_signed(self):
        cert = self.issue("md5", digest="md5")
        self.assertIn("md5WithRSAEncryption", testca.x509_text(cert))
        self.check_defect(cert, {"signature.algorithm"})

    def test_ecdsa_key(self):
        # DOMAIN.md: ECDSA is not supported. As with RSA-1024, the key is a fresh one made by
        # openssl, so it is not the server's key either: key.type and key.match both fail.
        key, csr = self.tmp / "ec.key", self.tmp / "ec.csr"
        sans = ",".join(f"DNS:{s}" for s in testca.csr_sans(F.csr[S1]))
        h.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
               "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", csr,
               "-config", F.ca.config, "-subj", testca.csr_subject(F.csr[S1]),
               "-addext", f"subjectAltName={sans}"], cwd=self.tmp)
        cert = self.issue("ecdsa", csr=csr, key_usage=["digitalSignature"])
        self.assertIn("id-ecPublicKey", testca.x509_text(cert))
        self.check_defect(cert, {"key.type", "key.match"})

    def test_no_eku_extension(self):
        # No EKU at all: the one required purpose, Server Authentication, is not named.
        self.check_defect(self.issue("noeku", eku=None), {"eku.server-auth"})

    def test_no_ca_bundle_means_the_system_store(self):
        # The test root is in no system store.
        rc, doc, _ = self.verify("--server", S1, "--cert", F.good[S1], "--cert", F.inter,
                                 "--key-dir", F.keys, rc=1)
        self.assertFailsExactly(doc, S1, {"chain.trusted"})

    def test_human_output_names_the_failing_check(self):
        cert = self.issue("nosip", drop_sans=["sip.company.com"])
        rc, out, err = self.verify("--server", S1, "--cert", cert, "--cert", F.inter,
                                   "--key-dir", F.keys, "--ca-bundle", F.root, json_out=False)
        self.assertEqual(rc, 1, out + err)
        self.assertIn("san.missing", out + err)
        self.assertIn("sip.company.com", out + err)


class AtTimeTest(VerifyCase):
    """--at moves the clock for validity.window and validity.remaining, in its three forms."""

    def at_forms(self, when):
        return [when.strftime("%Y-%m-%dT%H:%M:%SZ"), f"@{int(when.timestamp())}"]

    def test_after_not_after(self):
        not_after = x509.load_pem_x509_certificate(F.good[S1].read_bytes()).not_valid_after
        when = not_after.replace(tzinfo=datetime.timezone.utc) + datetime.timedelta(days=2)
        for at in self.at_forms(when) + [when.strftime("%Y-%m-%d")]:
            with self.subTest(at=at):
                _, doc, _ = self.verify_one(F.good[S1], "--at", at, rc=1)
                self.assertFailsExactly(doc, S1, {"validity.window"})

    def test_before_not_before(self):
        when = now() - datetime.timedelta(days=3)
        for at in self.at_forms(when):
            with self.subTest(at=at):
                _, doc, _ = self.verify_one(F.good[S1], "--at", at, rc=1)
                self.assertFailsExactly(doc, S1, {"validity.window"})

    def test_close_to_not_after(self):
        not_after = x509.load_pem_x509_certificate(F.good[S1].read_bytes()).not_valid_after
        when = not_after.replace(tzinfo=datetime.timezone.utc) - datetime.timedelta(days=10)
        for at in self.at_forms(when):
            with self.subTest(at=at):
                _, doc, _ = self.verify_one(F.good[S1], "--at", at, rc=1)
                self.assertFailsExactly(doc, S1, {"validity.remaining"})

    def test_inside_the_window(self):
        _, doc, _ = self.verify_one(F.good[S1], "--at",
                                    (now() + datetime.timedelta(days=100)).strftime("%Y-%m-%d"),
                                    rc=0)
        self.assertAllPass(doc, S1)

    def test_bad_time_is_usage_error(self):
        for at in ("tomorrow", "2026-13-45", "@abc"):
            with self.subTest(at=at):
                rc, out, err = self.verify_one_text(at)
                self.assertEqual(rc, 2, out + err)

    def verify_one_text(self, at):
        return self.verify("--server", S1, "--cert", F.good[S1], "--key-dir", F.keys,
                           "--at", at, json_out=False)


# --- pairing ---------------------------------------------------------------------------------------

class PairingTest(VerifyCase):

    def test_certificate_matching_no_server_is_unmatched(self):
        _, csr = testca.openssl_csr(self.tmp, "stranger", "/O=Elsewhere/CN=www.example.org",
                                    ["www.example.org"])
        stranger = F.ca.issue(csr, self.tmp / "stranger.cer")
        rc, doc, _ = self.verify("--cert", F.good[S1], "--cert", F.good[S2], "--cert", F.inter,
                                 "--cert", stranger, "--key-dir", F.keys, "--ca-bundle", F.root,
                                 rc=1)
        for s in h.SERVERS:
            self.assertAllPass(doc, s, F.good[s])
        self.assertEqual([Path(u["cert"]).resolve() for u in doc["unmatched"]],
                         [stranger.resolve()], self.dump(doc))
        self.assertIn("www.example.org", doc["unmatched"][0]["subject"])
        self.assertTrue(doc["unmatched"][0]["message"])

    def test_server_without_certificate(self):
        rc, doc, _ = self.verify("--cert", F.good[S1], "--cert", F.inter, "--key-dir", F.keys,
                                 "--ca-bundle", F.root, rc=1)
        self.assertAllPass(doc, S1, F.good[S1])
        entry = self.server(doc, S2)
        self.assertIsNone(entry["cert"])
        self.assertEqual({c["id"] for c in entry["checks"] if c["status"] == "fail"},
                         {"cert.present"}, self.dump(doc))
        self.assertClean(doc)

    def test_server_option_limits_the_check(self):
        rc, doc, _ = self.verify("--server", S2, "--cert", F.good[S2], "--cert", F.inter,
                                 "--key-dir", F.keys, "--ca-bundle", F.root, rc=0)
        self.assertEqual([s["server"] for s in doc["servers"]], [S2])
        self.assertAllPass(doc, S2, F.good[S2])
        self.assertClean(doc)

    def test_unknown_server_is_usage_error(self):
        rc, out, err = self.verify("--server", "nosuch.company.local", "--cert", F.good[S1],
                                   "--key-dir", F.keys, json_out=False)
        self.assertEqual(rc, 2, out + err)
        self.assertIn("nosuch.company.local", err)

    def test_without_keys_pairing_falls_back_to_the_san(self):
        empty = self.tmp / "nokeys"
        empty.mkdir()
        rc, doc, _ = self.verify("--cert", F.good[S1], "--cert", F.good[S2], "--cert", F.inter,
                                 "--key-dir", empty, "--ca-bundle", F.root, rc=0)
        self.assertClean(doc)
        for s in h.SERVERS:
            checks = self.checks(doc, s)
            self.assertEqual(Path(self.server(doc, s)["cert"]).resolve(), F.good[s].resolve())
            self.assertEqual(checks["key.match"]["status"], "warn", self.dump(doc))
            self.assertEqual(self.statuses(doc, s, "fail"), set(), self.dump(doc))
            self.assertEqual(self.statuses(doc, s, "warn"), {"key.match"}, self.dump(doc))

    def test_renewal_is_superseded_with_or_without_keys(self):
        # The same input, the same outcome: an expired certificate for S1's key beside its renewal
        # is superseded (reported, not failed) whether pairing is by key or, without keys, by name.
        old = F.ca.issue(F.csr[S1], self.tmp / "old.pem",
                         start=now() - datetime.timedelta(days=400),
                         end=now() - datetime.timedelta(days=35))
        empty = self.tmp / "nokeys"
        empty.mkdir()
        for key_dir in (F.keys, empty):
            with self.subTest(key_dir=key_dir.name):
                rc, doc, _ = self.verify("--cert", old, "--cert", F.good[S1], "--cert",
                                         F.good[S2], "--cert", F.inter, "--key-dir", key_dir,
                                         "--ca-bundle", F.root, rc=0)
                self.assertClean(doc)
                self.assertEqual(Path(self.server(doc, S1)["cert"]).resolve(),
                                 F.good[S1].resolve(), self.dump(doc))
                self.assertEqual([Path(u["cert"]).resolve() for u in doc["superseded"]],
                                 [old.resolve()], self.dump(doc))
                self.assertEqual(self.statuses(doc, S1, "fail"), set(), self.dump(doc))

    def test_without_keys_a_certificate_naming_two_servers_goes_to_its_own(self):
        # S2's certificate also names S1 (and lasts longer than S1's, so validity alone would
        # give it to S1). Without keys, S1 gets its own certificate, which has no name beyond
        # S1's plan, and S2 gets this one, where S1's name is an extra name.
        both = F.ca.issue(F.csr[S2], self.tmp / "s2-naming-s1.pem", extra_sans=[S1], days=730)
        empty = self.tmp / "nokeys"
        empty.mkdir()
        rc, doc, _ = self.verify("--cert", both, "--cert", F.good[S1], "--cert", F.inter,
                                 "--key-dir", empty, "--ca-bundle", F.root, rc=0)
        self.assertClean(doc)
        self.assertEqual(Path(self.server(doc, S1)["cert"]).resolve(), F.good[S1].resolve(),
                         self.dump(doc))
        self.assertEqual(Path(self.server(doc, S2)["cert"]).resolve(), both.resolve(),
                         self.dump(doc))
        self.assertEqual(self.checks(doc, S2)["san.extra"]["status"], "warn", self.dump(doc))
        self.assertIn(S1, self.checks(doc, S2)["san.extra"]["message"])

    def test_self_signed_certificate_with_the_servers_name_is_paired_and_fails(self):
        # Made by hand for S1 (its own key, CA:TRUE as `openssl req -x509` makes it): still S1's
        # certificate, and wrong in every way verify can tell; not "no certificate for S1".
        ss = self.tmp / "selfsigned.pem"
        testca.run_openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes",
                            "-keyout", self.tmp / "selfsigned.key", "-out", ss, "-days", "30",
                            "-subj", f"/CN={POOL}",
                            "-addext", f"subjectAltName = DNS:{POOL}, DNS:{S1}"])
        self.assertIn("CA:TRUE", testca.x509_text(ss))
        rc, doc, _ = self.verify("--server", S1, "--cert", ss, "--key-dir", F.keys,
                                 "--ca-bundle", F.root, rc=1)
        self.assertEqual(Path(self.server(doc, S1)["cert"]).resolve(), ss.resolve(),
                         self.dump(doc))
        failed = self.statuses(doc, S1, "fail")
        self.assertLessEqual({"key.match", "basic-constraints", "chain.trusted"}, failed,
                             self.dump(doc))
        self.assertNotIn("cert.present", failed)

    def test_key_dir_with_only_csrs(self):
        # A server's public key may come from its CSR when the key is elsewhere.
        d = self.tmp / "csrs"
        d.mkdir()
        for s in h.SERVERS:
            shutil.copy(F.csr[s], d)
        rc, doc, _ = self.verify("--cert", F.good[S1], "--cert", F.good[S2], "--cert", F.inter,
                                 "--key-dir", d, "--ca-bundle", F.root, rc=0)
        for s in h.SERVERS:
            self.assertAllPass(doc, s, F.good[s])


# --- --jobs ----------------------------------------------------------------------------------------

class JobsTest(VerifyCase):
    """--jobs spreads the decoding and the checks of the certificates over threads."""

    def test_jobs_give_the_same_report_in_the_same_order(self):
        d = self.tmp / "pool"
        d.mkdir()
        n = 12
        spec = h.write_pool_spec(d, n)
        h.poolcert_ok(["csr", spec], d, "csr", env=h.profile_env())
        fqdns = h.pool_fqdns(n)
        defects = {  # server index: (how its certificate is wrong, the one check that fails)
            2: (dict(drop_sans=["sip.company.com"]), "san.missing"),
            5: (dict(extra_sans=["*.company.local"]), "san.wildcard"),
            7: (dict(eku=("clientAuth",)), "eku.server-auth"),
            9: (dict(cdp=None), "cdp.present"),
        }
        no_certificate = 11
        batch = d / "batch"
        batch.mkdir()
        shutil.copy(F.inter, batch / "inter.pem")
        for i, fqdn in enumerate(fqdns):
            if i != no_certificate:
                F.ca.issue(d / "out" / f"{fqdn}.csr", batch / f"{fqdn}.cer",
                           **defects.get(i, ({}, None))[0])
        at = (now() + datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        reports = {}
        for jobs in ("1", "4"):
            _, reports[jobs], _ = self.verify("--cert-dir", batch, "--ca-bundle", F.root,
                                              "--at", at, "--jobs", jobs, rc=1, spec=spec)
        self.assertEqual(reports["4"], reports["1"])
        doc = reports["4"]
        self.assertEqual([s["server"] for s in doc["servers"]], fqdns, self.dump(doc))
        for i, fqdn in enumerate(fqdns):
            want = ({"cert.present"} if i == no_certificate
                    else {defects[i][1]} if i in defects else set())
            self.assertEqual(self.statuses(doc, fqdn, "fail"), want, fqdn)
        self.assertEqual(doc["summary"]["fail"], len(defects) + 1, self.dump(doc))

    def test_jobs_out_of_range_is_usage_error(self):
        for bad in ("0", "-1", "lots"):
            rc, out, err = self.verify("--cert", F.good[S1], "--jobs", bad, json_out=False)
            self.assertEqual(rc, 2, bad + out + err)
            self.assertIn("--jobs", err)


# --- bad input -------------------------------------------------------------------------------------

class BadInputTest(VerifyCase):
    """Unreadable input: exit 2, the file named on stderr, never a crash."""

    def bad_files(self):
        files = {}
        files["empty.cer"] = b""
        files["garbage.cer"] = b"this is not a certificate\n\x00\x01\x02"
        pem = F.good[S1].read_bytes()
        files["truncated.pem"] = pem[: len(pem) // 2]
        files["request.cer"] = F.csr[S1].read_bytes()
        files["private-key.cer"] = (F.keys / f"{S1}.key").read_bytes()
        crl = F.ca.crl(self.tmp / "inter.crl")
        files["crl-only.p7b"] = testca.crl_only_p7b(self.tmp / "crl-only.p7b", crl).read_bytes()
        files["nothing.p7b"] = testca.to_p7b(self.tmp / "nothing.p7b").read_bytes()
        return files

    def test_each_bad_cert_file(self):
        for name, data in self.bad_files().items():
            with self.subTest(name=name):
                path = self.tmp / "in" / name
                path.parent.mkdir(exist_ok=True)
                path.write_bytes(data)
                rc, out, err = self.verify("--server", S1, "--cert", path, "--key-dir", F.keys,
                                           "--ca-bundle", F.root, json_out=False)
                self.assertEqual(rc, 2, f"{name}: {out}{err}")
                self.assertIn(name, err)

    def test_p7b_fixtures_hold_no_certificate(self):
        # The oracle agrees those two .p7b files are well-formed PKCS#7 with no certificate.
        self.bad_files()
        for name in ("crl-only.p7b", "nothing.p7b"):
            rc, out, err = h.run(["openssl", "pkcs7", "-in", self.tmp / name, "-print_certs"],
                                 cwd=self.tmp)
            self.assertEqual(rc, 0, err)
            self.assertNotIn("BEGIN CERTIFICATE", out)

    def test_ca_bundle_not_a_certificate(self):
        for name, data in (("bundle-garbage.pem", b"garbage\n"),
                           ("bundle-csr.pem", F.csr[S1].read_bytes()),
                           ("bundle-empty.pem", b"")):
            with self.subTest(name=name):
                bundle = self.tmp / name
                bundle.write_bytes(data)
                rc, out, err = self.verify("--cert", F.good[S1], "--cert", F.good[S2],
                                           "--cert", F.inter, "--key-dir", F.keys,
                                           "--ca-bundle", bundle, json_out=False)
                self.assertEqual(rc, 2, out + err)
                self.assertIn(name, err)

    def test_missing_cert_file(self):
        rc, out, err = self.verify("--cert", self.tmp / "absent.cer", "--key-dir", F.keys,
                                   json_out=False)
        self.assertEqual(rc, 2, out + err)
        self.assertIn("absent.cer", err)

    def good_batch(self):
        """A folder as a CA's batch leaves it: every server's good leaf and the intermediate.

        Returns the folder and {server: its leaf's path}."""
        d = self.tmp / "batch"
        d.mkdir()
        certs = {s: shutil.copy(F.good[s], d / f"{s}.pem") for s in h.SERVERS}
        shutil.copy(F.inter, d / "inter.pem")
        return d, certs

    def test_cert_dir_batch_with_one_bad_file(self):
        d, certs = self.good_batch()
        (d / "broken.pem").write_bytes(F.good[S1].read_bytes()[:300])
        (d / "README.txt").write_text("what the CA sent\n")
        rc, doc, err = self.verify("--cert-dir", d, "--key-dir", F.keys, "--ca-bundle", F.root,
                                   rc=2)
        self.assertIn("broken.pem", err)
        self.assertEqual([Path(e["file"]).name for e in doc["errors"]], ["broken.pem"],
                         self.dump(doc))
        self.assertTrue(doc["errors"][0]["message"])
        for s in h.SERVERS:  # the good files were still checked
            self.assertAllPass(doc, s, certs[s])
        self.assertIn("README.txt", {Path(p).name for p in doc["ignored"]})

    def test_cert_dir_with_only_unrelated_files(self):
        # Nothing to check at all is bad input (issue 4): exit 2, naming the folder.
        d = self.tmp / "unrelated"
        d.mkdir()
        (d / "README.txt").write_text("nothing here\n")
        (d / "notes.doc").write_bytes(b"\xd0\xcf\x11\xe0")
        rc, out, err = self.verify("--cert-dir", d, "--key-dir", F.keys, json_out=False)
        self.assertEqual(rc, 2, out + err)
        self.assertIn(str(d), err)

    def test_missing_cert_dir(self):
        rc, out, err = self.verify("--cert-dir", self.tmp / "absent", "--key-dir", F.keys,
                                   json_out=False)
        self.assertEqual(rc, 2, out + err)
        self.assertEqual(len(err.splitlines()), 1, err)
        self.assertIn("absent", err)

    def test_a_bad_spec_outweighs_the_folder_read_beside_it(self):
        # The folder is read on a second thread while the spec is read: a bad spec must still
        # be the one error reported, and nothing of the folder's (its broken file) shown.
        d = self.tmp / "batch"
        d.mkdir()
        shutil.copy(F.good[S1], d / "good.pem")
        (d / "broken.pem").write_bytes(F.good[S1].read_bytes()[:300])
        spec = self.tmp / "bad.toml"
        spec.write_text(F.spec.read_text().replace("[pool]", "[pool]\nfqdn_typo = 1", 1))
        rc, out, err = self.verify("--cert-dir", d, "--key-dir", F.keys, spec=spec,
                                   json_out=False)
        self.assertEqual(rc, 2, out + err)
        self.assertEqual(out, "")
        self.assertEqual(len(err.splitlines()), 1, err)
        self.assertIn("bad.toml", err)
        self.assertIn("fqdn_typo", err)
        self.assertNotIn("broken.pem", err)

    def test_cert_dir_lists_a_pipe_and_a_subfolder_as_ignored_and_never_opens_them(self):
        # A FIFO named like a certificate would block a reader forever: it is not opened.
        d, certs = self.good_batch()
        os.mkfifo(d / "pipe.pem")
        (d / "old.cer").mkdir()
        rc, doc, err = self.verify("--cert-dir", d, "--key-dir", F.keys, "--ca-bundle", F.root,
                                   rc=0)
        self.assertEqual({Path(p).name for p in doc["ignored"]}, {"pipe.pem", "old.cer"})
        self.assertClean(doc)
        for s in h.SERVERS:
            self.assertAllPass(doc, s, certs[s])

    def test_cert_and_cert_dir_are_exclusive_and_one_is_required(self):
        rc, out, err = self.verify("--key-dir", F.keys, json_out=False)
        self.assertEqual(rc, 2, out + err)
        rc, out, err = self.verify("--cert", F.good[S1], "--cert-dir", self.tmp,
                                   "--key-dir", F.keys, json_out=False)
        self.assertEqual(rc, 2, out + err)


if __name__ == "__main__":
    unittest.main()
