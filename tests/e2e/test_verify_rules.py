"""`poolcert verify` on the rules Microsoft's tables give (issue 13), with certificates issued at
test time by the `openssl ca` test CA (testca.py) from poolcert's CSRs:

- a wildcard SAN counts for the simple-URL names it covers (one label, RFC 6125 6.4.3) on a
  web certificate (S1, L13i), and fails `san.wildcard` before an FQDN SAN (L10) or on a
  certificate whose profile takes none (DOMAIN.md Wildcards);
- Client Authentication is required only with `public_im` (S7 -ClientEKU, L13e);
- RSA under 2048 bits fails `key.type` as poolcert's floor, naming Microsoft's recommendation;
- the certificate an Edge pool's members share is one certificate and key (`pool.same-certificate`,
  S2), and a member's own key or a second certificate for another key fails it;
- a profile's `[verify]` table decides SHA-1 and the CDP;
- the Edge internal certificate, which Microsoft gives no SAN, passes without one (S2).
"""

import datetime
import json
import unittest
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

import harness as h
import testca

CA = None
ROOT = None

# S1's example names (contoso.com, fabrikam.com).
WEB_SPEC = """product = "sfb2015"
output_dir = "out"
[pool]
fqdn = "eepool.contoso.com"
sip_domains = ["contoso.com", "fabrikam.com"]
web_fqdn = "eewebint.contoso.com"
web_external_fqdn = "webcon01.contoso.com"
mobility = false
[simple_urls]
meet = ["meet.contoso.com", "meet.fabrikam.com"]
dialin = "dialin.contoso.com"
admin = "admin.contoso.com"
[[certificate]]
name = "default"
profile = "lync-sfb-enterprise-frontend"
[[certificate]]
name = "web-internal"
profile = "lync2013-sfb-web-internal"
[[server]]
fqdn = "ee01.contoso.com"
"""
SERVER = "ee01.contoso.com"

EDGE_SPEC = h.EDGE_POOL_SPEC
EDGE_POOL = "sfbedge.contoso.com"
EDGE_NAMES = ["sip.contoso.com", "webcon.contoso.com", "sip.fabrikam.com"]


def setUpModule():
    global CA, ROOT
    CA = testca.TestCA(h.module_temp_dir("poolcert-e2e-verify-rules-") / "ca")
    ROOT = CA.root_pem


class Case(h.TempDirTestCase):
    def make(self, text):
        """Writes the spec into a fresh folder of self.tmp, runs csr there; returns (spec, out
        folder, issued folder with the chain) and makes that folder the one verify runs in."""
        self.work = Path(h.tempfile.mkdtemp(dir=self.tmp))
        spec = self.write_spec(text, folder=self.work)
        self.poolcert_json(["csr", spec.name], cwd=self.work)
        issued = self.work / "issued"
        issued.mkdir()
        testca.bundle(issued / "inter.pem", CA.inter_pem)
        return spec, self.work / "out", issued

    def verify(self, spec, issued, *extra):
        rc, out, err = self.poolcert(["verify", spec.name, "--cert-dir", issued, "--key-dir",
                                      "out", "--ca-bundle", ROOT, "--json", *map(str, extra)],
                                     cwd=self.work)
        self.assertIn(rc, (0, 1), err)
        return rc, json.loads(out)

    @staticmethod
    def entry(doc, server, certificate):
        [e] = [s for s in doc["servers"] if s["server"] == server and s["certificate"] == certificate]
        return {c["id"]: c for c in e["checks"]}, e

    def fails(self, checks):
        return {i for i, c in checks.items() if c["status"] == "fail"}


class Wildcards(Case):
    def issue_web(self, out, issued, sans):
        return CA.issue(out / f"{SERVER}.web-internal.csr", issued / "web.pem", sans=sans,
                        eku=["serverAuth"])

    def issue_default(self, out, issued, **kw):
        return CA.issue(out / f"{SERVER}.default.csr", issued / "default.pem",
                        eku=["serverAuth"], **kw)

    def test_a_wildcard_stands_for_the_simple_urls_it_covers(self):
        # S1: "SN=ee01.contoso.com; SAN=ee01.contoso.com; SAN=*.contoso.com" in place of the
        # simple URLs; meet.fabrikam.com is in another domain, so it stays.
        spec, out, issued = self.make(WEB_SPEC)
        self.issue_default(out, issued)
        self.issue_web(out, issued, ["eepool.contoso.com", "eewebint.contoso.com", SERVER,
                                     "meet.fabrikam.com", "*.contoso.com"])
        rc, doc = self.verify(spec, issued)
        checks, _ = self.entry(doc, SERVER, "web-internal")
        self.assertEqual(self.fails(checks), set(), json.dumps(doc, indent=1))
        self.assertEqual(checks["san.extra"]["status"], "pass", checks["san.extra"])
        self.assertEqual(checks["san.wildcard"]["status"], "pass")
        self.assertEqual(rc, 0)

    def test_a_wildcard_covers_one_label_only(self):
        # RFC 6125 6.4.3: *.contoso.com does not cover meet.fabrikam.com, nor a name two labels
        # down; the name stays missing.
        spec, out, issued = self.make(WEB_SPEC)
        self.issue_default(out, issued)
        self.issue_web(out, issued, ["eepool.contoso.com", "eewebint.contoso.com", SERVER,
                                     "*.contoso.com"])
        rc, doc = self.verify(spec, issued)
        checks, _ = self.entry(doc, SERVER, "web-internal")
        self.assertEqual(self.fails(checks), {"san.missing"})
        self.assertIn("meet.fabrikam.com", checks["san.missing"]["message"])
        self.assertNotIn("dialin.contoso.com", checks["san.missing"]["message"])
        self.assertEqual(rc, 1)

    def test_a_wildcard_does_not_stand_for_server_names(self):
        # Only the simple URLs and autodiscover names (S1, L13i): the internal web FQDN, which
        # *.contoso.com would cover, must be there itself.
        spec, out, issued = self.make(WEB_SPEC)
        self.issue_default(out, issued)
        self.issue_web(out, issued, ["eepool.contoso.com", SERVER, "meet.fabrikam.com",
                                     "*.contoso.com"])
        _, doc = self.verify(spec, issued)
        checks, _ = self.entry(doc, SERVER, "web-internal")
        self.assertEqual(self.fails(checks), {"san.missing"})
        self.assertIn("eewebint.contoso.com", checks["san.missing"]["message"])

    def test_a_wildcard_before_an_fqdn_fails(self):
        # L10: UC devices "fail to authenticate if a wildcard SAN entry is presented before the
        # FQDN entry" (it was a warning).
        spec, out, issued = self.make(WEB_SPEC)
        self.issue_default(out, issued)
        self.issue_web(out, issued, ["eepool.contoso.com", "*.contoso.com", "eewebint.contoso.com",
                                     SERVER, "meet.fabrikam.com"])
        rc, doc = self.verify(spec, issued)
        checks, _ = self.entry(doc, SERVER, "web-internal")
        self.assertEqual(self.fails(checks), {"san.wildcard"})
        self.assertIn("before an FQDN", checks["san.wildcard"]["message"])
        self.assertEqual(rc, 1)

    def test_a_wildcard_on_the_default_certificate_fails(self):
        # DOMAIN.md Wildcards: not on default (SIP) certificates, even after the FQDNs.
        spec, out, issued = self.make(WEB_SPEC)
        self.issue_default(out, issued, extra_sans=["*.contoso.com"])
        self.issue_web(out, issued, None)
        _, doc = self.verify(spec, issued)
        checks, _ = self.entry(doc, SERVER, "default")
        self.assertEqual(self.fails(checks), {"san.wildcard"})
        self.assertIn("takes no wildcard", checks["san.wildcard"]["message"])

    def test_the_spec_wildcard_is_refused_where_no_certificate_takes_one(self):
        spec = self.write_spec(EDGE_SPEC.format(extra="") + '[simple_urls]\nwildcard = "*.contoso.com"\n')
        rc, _, err = self.poolcert(["plan", spec.name])
        self.assertEqual(rc, 2, err)
        line = self.assertOneErrorLine(err)
        self.assertIn("simple_urls.wildcard", line)
        self.assertIn("no certificate of this spec may carry a wildcard", line)


class ClientAuthentication(Case):
    def test_required_only_with_public_im(self):
        # L13e: "must have the server EKU and client EKU if public IM connectivity with AOL is to
        # be deployed"; S7 -ClientEKU. Without public_im, Server Authentication alone passes.
        for public_im, eku, failing in ((False, ["serverAuth"], set()),
                                        (True, ["serverAuth"], {"eku.client-auth"}),
                                        (True, ["serverAuth", "clientAuth"], set())):
            with self.subTest(public_im=public_im, eku=eku):
                extra = "public_im = true" if public_im else ""
                spec, out, issued = self.make(EDGE_SPEC.format(extra=extra))
                CA.issue(out / f"{EDGE_POOL}.edge-internal.csr", issued / "int.pem",
                         eku=["serverAuth"])
                CA.issue(out / f"{EDGE_POOL}.edge-external.csr", issued / "ext.pem", eku=eku)
                rc, doc = self.verify(spec, issued)
                checks, _ = self.entry(doc, EDGE_POOL, "edge-external")
                self.assertEqual(self.fails(checks), failing, json.dumps(checks, indent=1))
                self.assertEqual(rc, 1 if failing else 0)


class KeyFloor(Case):
    def test_rsa_1024_fails_key_type_as_poolcerts_floor(self):
        # S1: "Encryption key lengths of 1024, 2048, and 4096 are supported. Key lengths of 2048
        # and greater are recommended." poolcert's floor is 2048: verify fails RSA 1024 and says
        # it is poolcert's rule.
        spec, out, issued = self.make(WEB_SPEC)
        _, csr = testca.openssl_csr(self.tmp, "weak", "/CN=eepool.contoso.com",
                                    ["eepool.contoso.com", SERVER, "sip.contoso.com",
                                     "sip.fabrikam.com", "eepool.fabrikam.com"], bits=1024)
        CA.issue(csr, issued / "weak.pem", eku=["serverAuth"])
        _, doc = self.verify(spec, issued)
        checks, _ = self.entry(doc, SERVER, "default")
        self.assertEqual(self.fails(checks), {"key.type", "key.match"})
        message = checks["key.type"]["message"]
        self.assertIn("RSA 1024", message)
        self.assertIn("poolcert's floor", message)
        self.assertIn("2048 and greater", message)


class SharedCertificates(Case):
    def edge(self):
        spec, out, issued = self.make(EDGE_SPEC.format(extra=""))
        # One request each, the pool's (S2): no member has a key of its own.
        self.assertEqual(sorted(p.name for p in out.glob("*.csr")),
                         [f"{EDGE_POOL}.edge-external.csr", f"{EDGE_POOL}.edge-internal.csr"])
        CA.issue(out / f"{EDGE_POOL}.edge-internal.csr", issued / "int.pem", eku=["serverAuth"])
        CA.issue(out / f"{EDGE_POOL}.edge-external.csr", issued / "ext.pem", eku=["serverAuth"])
        return spec, out, issued

    def test_one_certificate_for_the_pool_passes(self):
        spec, out, issued = self.edge()
        rc, doc = self.verify(spec, issued)
        self.assertEqual(rc, 0, json.dumps(doc, indent=1))
        checks, entry = self.entry(doc, EDGE_POOL, "edge-external")
        self.assertTrue(entry["shared"])
        self.assertEqual(entry["members"], ["edge01.contoso.net", "edge02.contoso.net"])
        self.assertEqual(checks["pool.same-certificate"]["status"], "pass")
        self.assertIn("edge01.contoso.net, edge02.contoso.net",
                      checks["pool.same-certificate"]["message"])

    def test_edge_internal_without_san_passes(self):
        # S2: "it uses an SN entry, and no SAN entries".
        spec, out, issued = self.edge()
        _, doc = self.verify(spec, issued)
        checks, _ = self.entry(doc, EDGE_POOL, "edge-internal")
        self.assertEqual(self.fails(checks), set())
        self.assertEqual(checks["san.cn-included"]["status"], "pass")
        self.assertIn("no SAN", checks["san.cn-included"]["message"])

    def test_a_second_certificate_for_another_key_fails(self):
        # Two members given two keys: the second certificate has the pool's names but not its key.
        spec, out, issued = self.edge()
        _, csr = testca.openssl_csr(self.tmp, "edge02", "/CN=sip.contoso.com", EDGE_NAMES)
        CA.issue(csr, issued / "ext-edge02.pem", eku=["serverAuth"])
        rc, doc = self.verify(spec, issued)
        self.assertEqual(rc, 1)
        checks, _ = self.entry(doc, EDGE_POOL, "edge-external")
        self.assertEqual(checks["pool.same-certificate"]["status"], "fail")
        self.assertIn("ext-edge02.pem", checks["pool.same-certificate"]["message"])
        self.assertIn("S2", checks["pool.same-certificate"]["message"])
        self.assertEqual(doc["unmatched"], [], "reported by the check, not as unmatched")

    def test_a_members_own_key_fails_naming_the_member(self):
        # A key of edge02's own for the shared certificate (a per-server request from before),
        # and the certificate issued for it: the member that differs is named.
        spec, out, issued = self.edge()
        key, csr = testca.openssl_csr(self.tmp, "own", "/CN=sip.contoso.com", EDGE_NAMES)
        (out / "edge02.contoso.net.edge-external.csr").write_bytes(csr.read_bytes())
        CA.issue(csr, issued / "ext-own.pem", eku=["serverAuth"])
        rc, doc = self.verify(spec, issued)
        self.assertEqual(rc, 1)
        checks, _ = self.entry(doc, EDGE_POOL, "edge-external")
        message = checks["pool.same-certificate"]["message"]
        self.assertIn("edge02.contoso.net has its own key", message)
        self.assertIn("ext-own.pem", message)
        self.assertNotIn("edge01.contoso.net has", message)

    def test_a_front_end_certificate_is_no_rival_and_an_expired_one_is_superseded(self):
        # Rivals are current certificates with the shared certificate's CN: a Front End's
        # default certificate, which carries sip.contoso.com as a SAN, is another server's, and
        # an expired Edge certificate for another key is the renewal's predecessor.
        spec, out, issued = self.edge()
        _, fe_csr = testca.openssl_csr(self.tmp, "fe", "/CN=eepool.contoso.com",
                                       ["eepool.contoso.com", "sip.contoso.com"])
        CA.issue(fe_csr, issued / "frontend.pem", eku=["serverAuth"])
        _, old_csr = testca.openssl_csr(self.tmp, "old", "/CN=sip.contoso.com", EDGE_NAMES)
        CA.issue(old_csr, issued / "old-edge.pem", eku=["serverAuth"],
                 start=testca.utc_now() - datetime.timedelta(days=400), days=365)
        rc, doc = self.verify(spec, issued)
        checks, _ = self.entry(doc, EDGE_POOL, "edge-external")
        self.assertEqual(checks["pool.same-certificate"]["status"], "pass",
                         checks["pool.same-certificate"])
        self.assertEqual([Path(u["cert"]).name for u in doc["unmatched"]], ["frontend.pem"])
        self.assertEqual([Path(u["cert"]).name for u in doc["superseded"]], ["old-edge.pem"])
        self.assertEqual(rc, 1)  # the Front End's certificate belongs to no server of this spec

    def test_verify_takes_the_pool_for_its_shared_certificates(self):
        spec, out, issued = self.edge()
        rc, doc = self.verify(spec, issued, "--server", EDGE_POOL)
        self.assertEqual(rc, 0, json.dumps(doc, indent=1))
        self.assertEqual(sorted(e["certificate"] for e in doc["servers"]),
                         ["edge-external", "edge-internal"])

    def test_pfx_bundles_the_shared_certificate_for_each_member(self):
        spec, out, issued = self.edge()
        env = {"PFX_PASS": "edge pool secret"}
        for member in ("edge01.contoso.net", "edge02.contoso.net"):
            with self.subTest(member=member):
                rc, _, err = self.poolcert(["pfx", spec.name, "--server", member, "--certificate",
                                            "edge-external", "--cert", issued / "ext.pem",
                                            "--chain", issued / "inter.pem", "--ca-bundle", ROOT,
                                            "--key-dir", "out", "--passphrase-env", "PFX_PASS"],
                                           cwd=self.work, env=env)
                self.assertEqual(rc, 0, err)
                pfx = out / f"{member}.edge-external.pfx"
                p12 = pkcs12.load_pkcs12(pfx.read_bytes(), b"edge pool secret")
                pool_key = serialization.load_pem_private_key(
                    (out / f"{EDGE_POOL}.edge-external.key").read_bytes(), None)
                self.assertEqual(h.spki_sha256(p12.key.public_key()),
                                 h.spki_sha256(pool_key.public_key()))
                issued_on = p12.cert.certificate.not_valid_before.strftime("%Y-%m-%d")
                self.assertEqual(p12.cert.friendly_name,
                                 f"sip.contoso.com edge-external {issued_on}".encode())


class PolicyTable(Case):
    def custom(self, old, new):
        text = (h.PROFILES / "lync-sfb-mediation.toml").read_text()
        self.assertIn(old, text)
        (self.tmp / "strict-mediation.toml").write_text(text.replace(old, new))

    def mediation(self, profile):
        return self.make(f"""product = "sfb2019"
output_dir = "out"
profile = "{profile}"
[pool]
fqdn = "medsvr-pool.contoso.net"
sip_domains = ["contoso.com"]
[[server]]
fqdn = "medsvr01.contoso.net"
""")

    def signature_status(self, profile, **issue):
        spec, out, issued = self.mediation(profile)
        CA.issue(out / "medsvr01.contoso.net.csr", issued / "leaf.pem", eku=["serverAuth"], **issue)
        _, doc = self.verify(spec, issued)
        checks, _ = self.entry(doc, "medsvr01.contoso.net", None)
        return checks

    def test_sha1_warns_by_default_and_fails_where_the_profile_says(self):
        # S1: SHA-1 is supported (a warning: it is weak); a profile's [verify] sha1 = "fail".
        checks = self.signature_status("lync-sfb-mediation", digest="sha1")
        self.assertEqual(checks["signature.algorithm"]["status"], "warn")
        self.custom('sha1 = "warn"', 'sha1 = "fail"')
        checks = self.signature_status(str(self.tmp / "strict-mediation.toml"), digest="sha1")
        self.assertEqual(checks["signature.algorithm"]["status"], "fail")

    def test_a_missing_cdp_fails_unless_the_profile_ignores_it(self):
        checks = self.signature_status("lync-sfb-mediation", cdp=None)
        self.assertEqual(checks["cdp.present"]["status"], "fail")
        self.custom('cdp = "fail"', 'cdp = "ignore"')
        checks = self.signature_status(str(self.tmp / "strict-mediation.toml"), cdp=None)
        self.assertEqual(checks["cdp.present"]["status"], "pass")
        self.assertIn("not checked", checks["cdp.present"]["message"])


if __name__ == "__main__":
    unittest.main()
