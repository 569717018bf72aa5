"""The product-line profiles (issue 6, "Profiles for the product line") on their example specs.

Every example spec under templates/ goes the whole way: `poolcert csr` on a copy, every CSR
issued by the `openssl ca` test CA (testca.py) with the SANs, EKU and key usage the CSR asks
for, then `poolcert verify --json` with every check passing. The CSRs are read back with Python
`cryptography` and checked against DOMAIN.md's per-role table: the names the profile's patterns
give for the spec (expanded here, independently of poolcert), and a few role facts stated
outright (Edge external CN, Edge internal's single SAN, no admin URL outside, Mobility names).
"""

import json
import re
import shutil
import tomllib
import unittest
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

import harness as h
import testca

SPEC_FILES = h.example_specs()

# The Microsoft certificate template name extension (issue 6: a BMPString in the request).
TEMPLATE_OID = x509.ObjectIdentifier("1.3.6.1.4.1.311.20.2")

# Warnings `verify` may give on these certificates, each with its reason. None: the test CA's
# leaves carry an HTTP CDP and AIA, the CSR's own SANs/EKU/KU, SHA-256, 365 days.
ALLOWED_WARNINGS = {}

FIXTURES = {}  # spec file name -> Fixture, built once in setUpModule
CA = None


def load_toml(path):
    with open(path, "rb") as f:
        return tomllib.load(f)


def load_profile(name):
    return load_toml(h.PROFILES / f"{name}.toml")


class Issued:
    """One CSR poolcert made: its server, certificate name, profile, and the leaf issued for it."""

    def __init__(self, server, cert_name, profile_name, csr, leaf):
        self.server = server
        self.cert_name = cert_name
        self.profile_name = profile_name
        self.profile = load_profile(profile_name)
        self.csr_path = csr
        self.csr = h.load_csr(csr)
        self.leaf = leaf

    @property
    def label(self):
        return f"{self.server}/{self.cert_name or '-'} ({self.profile_name})"

    def cn(self):
        return [a.value for a in self.csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]

    def sans(self):
        try:
            ext = self.csr.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        except x509.ExtensionNotFound:
            return []
        return ext.value.get_values_for_type(x509.DNSName)

    def eku(self):
        try:
            ext = self.csr.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
        except x509.ExtensionNotFound:
            return []
        names = {ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth",
                 ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth"}
        return [names.get(o, o.dotted_string) for o in ext.value]

    def key_usage(self):
        try:
            ku = self.csr.extensions.get_extension_for_class(x509.KeyUsage).value
        except x509.ExtensionNotFound:
            return None
        return [n for n, a in (("digitalSignature", "digital_signature"),
                               ("keyEncipherment", "key_encipherment")) if getattr(ku, a)]


class Fixture:
    """A copy of one example spec, poolcert's keys and CSRs for it, and a leaf for each CSR."""

    def __init__(self, spec_path, folder, ca):
        self.source = spec_path
        self.spec = load_toml(spec_path)
        self.dir = Path(folder)
        self.dir.mkdir(parents=True)
        self.spec_copy = self.dir / spec_path.name
        shutil.copyfile(spec_path, self.spec_copy)
        self.out = self.dir / "out"
        self.issued_dir = self.dir / "issued"
        self.issued_dir.mkdir()
        self.plan_rc, self.plan_stdout, _ = h.poolcert(
            ["plan", self.spec_copy, "-o", self.out, "--json"], self.dir, env=h.profile_env())
        self.csr_rc, self.csr_stdout, self.csr_stderr = h.poolcert(
            ["csr", self.spec_copy, "-o", self.out, "--json"], self.dir, env=h.profile_env())
        self.items = []
        if self.csr_rc != 0:
            return
        self.plan = {(e["server"], e["certificate"]): e
                     for e in json.loads(self.plan_stdout)["servers"]}
        # The chain the CA hands back with each leaf: verify's --cert-dir reads it as well.
        shutil.copyfile(ca.inter_pem, self.issued_dir / "inter.pem")
        for owner, cert_name, profile_name in self.expected_requests():
            csr = self.out / (f"{owner}.{cert_name}.csr" if cert_name else f"{owner}.csr")
            if not csr.exists():
                continue  # reported by test_csr_makes_every_request
            item = Issued(owner, cert_name, profile_name, csr, None)
            item.leaf = ca.issue(csr, self.issued_dir / f"{csr.stem}.pem",
                                 eku=item.eku() or None, key_usage=item.key_usage())
            self.items.append(item)

    def certificates(self):
        """[(name, profile)] of the spec's [[certificate]] tables; [(None, profile)] without."""
        certs = self.spec.get("certificate")
        if not certs:
            return [(None, self.spec["profile"])]
        return [(c["name"], c.get("profile", self.spec.get("profile"))) for c in certs]

    def expected_requests(self):
        """(owner, certificate, profile) of every request: a shared certificate's ([key] shared in
        its profile: S2, S6) once, for the pool; the others once per server."""
        pool = self.spec["pool"]["fqdn"].lower().rstrip(".")
        out = []
        for name, profile in self.certificates():
            if load_profile(profile)["key"].get("shared", False):
                out.append((pool, name, profile))
        for s in self.spec["server"]:
            for name, profile in self.certificates():
                if not load_profile(profile)["key"].get("shared", False):
                    out.append((s["fqdn"].lower().rstrip("."), name, profile))
        return out

    def planned(self, item):
        """What `poolcert plan --json` says of this request (its names are checked against an
        independent expansion of the profile in test_templates.py)."""
        return self.plan[(item.server, item.cert_name)]


def setUpModule():
    global CA
    root = h.module_temp_dir("poolcert-e2e-profiles-")
    CA = testca.TestCA(root / "ca")
    for spec in SPEC_FILES:
        FIXTURES[spec.name] = Fixture(spec, root / spec.stem, CA)


class ProfilesCase(unittest.TestCase):
    maxDiff = None

    def fixtures(self):
        """Every example spec's fixture; a spec poolcert csr refused fails here, naming it."""
        self.assertTrue(SPEC_FILES)
        failed = {n: fx.csr_stderr for n, fx in FIXTURES.items() if fx.csr_rc != 0}
        self.assertFalse(failed, "poolcert csr failed:\n" +
                         "\n".join(f"{n}: {err}" for n, err in failed.items()))
        return list(FIXTURES.values())

    def items(self, profiles=None):
        """(fixture, Issued) for every CSR made, or only those of the named profiles."""
        found = [(fx, item) for fx in self.fixtures() for item in fx.items
                 if profiles is None or item.profile_name in profiles]
        self.assertTrue(found, f"no example spec uses {profiles}")
        return found

    def sub(self, fx, item):
        return self.subTest(spec=fx.source.name, cert=item.label)


class Inventory(ProfilesCase):
    def test_every_shipped_profile_has_an_example_spec(self):
        used = {p for fx in FIXTURES.values() for _, p in fx.certificates()}
        shipped = {p.stem for p in h.PROFILES.glob("*.toml")}
        self.assertEqual(shipped - used, set(), "profiles without an example spec")

    def test_every_profile_cites_its_sources(self):
        # Every profile cites Microsoft's text by DOMAIN.md's short names (S1-S9, L13, L10, OCS,
        # or the Seed), in its `source` and in its header comment, and lists its products.
        cite = re.compile(r"\b(S[1-9]|L13[a-k]?|L10|OCS|Seed)\b")
        for path in sorted(h.PROFILES.glob("*.toml")):
            with self.subTest(profile=path.stem):
                profile = load_toml(path)
                self.assertRegex(profile["source"], cite)
                self.assertTrue(profile.get("products"), "the products it applies to")
                header = []
                for line in path.read_text().splitlines():
                    if not line.startswith("#"):
                        break
                    header.append(line)
                self.assertRegex("\n".join(header), cite, "the header comment cites its source")


class CsrThenVerify(ProfilesCase):
    def test_csr_makes_every_request(self):
        for fx in self.fixtures():
            with self.subTest(spec=fx.source.name):
                doc = json.loads(fx.csr_stdout)
                self.assertEqual(doc["summary"]["failed"], 0, fx.csr_stdout)
                wanted = fx.expected_requests()
                self.assertEqual(len(doc["servers"]), len(wanted), fx.csr_stdout)
                made = sorted(p.name for p in fx.out.glob("*.csr"))
                self.assertEqual(made, sorted(
                    f"{s}.{c}.csr" if c else f"{s}.csr" for s, c, _ in wanted))
                self.assertEqual(len(fx.items), len(wanted))

    def test_issued_certificates_pass_every_verify_check(self):
        for fx in self.fixtures():
            with self.subTest(spec=fx.source.name):
                self.verify_all_pass(fx)

    def verify_all_pass(self, fx):
        # The intermediate lies in the issued folder beside the leaves, as a CA hands it back
        # (verify takes --cert or --cert-dir, not both).
        argv = ["verify", fx.spec_copy, "--cert-dir", fx.issued_dir, "--key-dir", fx.out,
                "--ca-bundle", CA.root_pem, "--json"]
        rc, out, err = h.poolcert(argv, fx.dir, env=h.profile_env())
        where = f"poolcert {' '.join(map(str, argv))}\nstdout:\n{out}\nstderr:\n{err}"
        self.assertEqual(rc, 0, where)
        doc = json.loads(out)
        self.assertEqual(doc["summary"]["fail"], 0, where)
        self.assertEqual(doc.get("unmatched", []), [], where)
        self.assertEqual(doc.get("errors", []), [], where)
        self.assertEqual(len(doc["servers"]), len(fx.items), where)
        for entry in doc["servers"]:
            self.assertTrue(entry["checks"], where)
            for check in entry["checks"]:
                self.assertIn(check["status"], ("pass", "warn"), where)
                if check["status"] == "warn":
                    self.assertIn(check["id"], ALLOWED_WARNINGS,
                                  f"unexpected warning {check}: {where}")


class NamesFollowTheProfiles(ProfilesCase):
    def test_subject_and_sans_are_those_planned(self):
        # The CSR, read by Python cryptography, carries exactly the plan's subject and SANs in
        # order; test_templates.py checks the plan against the profiles expanded independently.
        for fx, item in self.items():
            with self.sub(fx, item):
                planned = fx.planned(item)
                self.assertEqual(item.cn(), [planned["common_name"]])
                self.assertEqual(item.sans(), planned["sans"])

    def test_eku_and_key_usage_are_the_profile_request(self):
        for fx, item in self.items():
            with self.sub(fx, item):
                wanted = list(item.profile["eku"]["request"])
                if fx.spec["pool"].get("public_im"):  # S7 -ClientEKU: public IM connectivity
                    wanted += item.profile["eku"].get("request_when", {}).get("public_im", [])
                self.assertEqual(item.eku(), wanted)
                key_type = fx.spec.get("key", {}).get("type", "rsa")
                if key_type == "rsa":
                    self.assertIsInstance(item.csr.public_key(), h.rsa.RSAPublicKey)
                    self.assertEqual(item.key_usage(), ["digitalSignature", "keyEncipherment"])
                else:  # RFC 5480 3: an EC key is not for key encipherment
                    self.assertIsInstance(item.csr.public_key(), h.ec.EllipticCurvePublicKey)
                    self.assertEqual(item.key_usage(), ["digitalSignature"])

    def test_wildcards_only_where_taken_and_after_every_fqdn(self):
        # DOMAIN.md Wildcards (L13i, L10e, S2): never the CN; web and reverse-proxy certificates
        # for the simple URLs, SfB 2015's XMPP *.<D>; after every FQDN (UC devices fail, L10).
        for fx, item in self.items():
            with self.sub(fx, item):
                self.assertFalse([n for n in item.cn() if "*" in n])
                sans = item.sans()
                wild = [n for n in sans if n.startswith("*.")]
                if wild:
                    taken = item.profile["san"].get("wildcards", False) or any(
                        isinstance(p, dict) and p["name"].startswith("*.")
                        for p in item.profile["san"]["dns"])
                    self.assertTrue(taken, sans)
                    self.assertEqual(sans[-len(wild):], wild, "wildcards come last")

    def test_template_extension_names_the_ad_cs_template(self):
        for fx, item in self.items():
            with self.sub(fx, item):
                wanted = fx.spec.get("template", item.profile.get("template"))
                if not wanted:
                    continue
                try:
                    ext = item.csr.extensions.get_extension_for_oid(TEMPLATE_OID)
                except x509.ExtensionNotFound:
                    self.fail(f"no certificate template extension in {item.csr_path.name}")
                der = ext.value.value  # UnrecognizedExtension: the BMPString's DER
                self.assertEqual(der[0], 0x1E, "BMPString tag")
                self.assertEqual(der[2:].decode("utf-16-be"), wanted)


def carried(name, sans, spec):
    """Whether `name` is on a certificate with `sans`: itself, or the spec's [simple_urls]
    wildcard standing for it (one label, RFC 6125 6.4.3)."""
    wildcard = spec.get("simple_urls", {}).get("wildcard", "")
    covered = wildcard.startswith("*.") and name.endswith(wildcard[1:]) and \
        "." not in name[:-len(wildcard) + 1] and wildcard in sans
    return name in sans or covered


class RoleFacts(ProfilesCase):
    """DOMAIN.md's per-role table, stated outright rather than through the profile."""

    def test_edge_external_cn_is_sip_of_the_primary_domain(self):
        for fx, item in self.items({"lync-sfb-edge-external", "sfb-edge-external-xmpp"}):
            with self.sub(fx, item):
                domains = fx.spec["pool"]["sip_domains"]
                self.assertEqual(item.cn(), [f"sip.{domains[0]}"])
                sans = item.sans()
                self.assertEqual(sans[0], f"sip.{domains[0]}")
                self.assertIn(fx.spec["pool"]["webconf_fqdn"], sans)
                for d in domains:
                    self.assertIn(f"sip.{d}", sans)
                self.assertNotIn(fx.spec["pool"]["fqdn"], sans)
                # S1, S5: Server Authentication; Client Authentication for public IM only (S7).
                public_im = fx.spec["pool"].get("public_im", False)
                self.assertEqual(item.eku(), ["serverAuth", "clientAuth"] if public_im
                                 else ["serverAuth"])

    def test_xmpp_names_only_on_the_xmpp_edge(self):
        for fx, item in self.items({"lync-sfb-edge-external", "sfb-edge-external-xmpp"}):
            with self.sub(fx, item):
                xmpp = {f"xmpp.{d}" for d in fx.spec["pool"]["sip_domains"]}
                if item.profile_name == "sfb-edge-external-xmpp":
                    self.assertLessEqual(xmpp, set(item.sans()))
                else:
                    self.assertFalse(xmpp & set(item.sans()))

    def test_edge_internal_has_its_cn_and_no_san(self):
        # S2: "it uses an SN entry, and no SAN entries".
        for fx, item in self.items({"lync-sfb-edge-internal"}):
            with self.sub(fx, item):
                self.assertEqual(item.cn(), [fx.spec["pool"]["fqdn"]])
                with self.assertRaises(x509.ExtensionNotFound):
                    item.csr.extensions.get_extension_for_class(x509.SubjectAlternativeName)

    def test_shared_certificates_are_one_request_for_the_pool(self):
        # S2: "the exact same certificate with the same private key" on every Edge Server of a
        # pool; S6: one OAuthTokenIssuer certificate for all Front End Servers.
        for fx in self.fixtures():
            for name, profile in fx.certificates():
                if not load_profile(profile)["key"].get("shared", False):
                    continue
                with self.subTest(spec=fx.source.name, cert=name):
                    pool = fx.spec["pool"]["fqdn"]
                    stem = f"{pool}.{name}" if name else pool
                    self.assertTrue((fx.out / f"{stem}.csr").exists())
                    self.assertTrue((fx.out / f"{stem}.key").exists())
                    for s in fx.spec["server"]:
                        if s["fqdn"] == pool:
                            continue
                        own = f"{s['fqdn']}.{name}" if name else s["fqdn"]
                        self.assertFalse((fx.out / f"{own}.key").exists(), own)
                    entry = fx.plan[(pool, name)]
                    self.assertTrue(entry["shared"])
                    self.assertEqual(entry["members"], [s["fqdn"] for s in fx.spec["server"]])

    def test_web_external_has_no_admin_url(self):
        for fx, item in self.items({"lync2010-web-external", "lync2013-sfb-web-external"}):
            with self.sub(fx, item):
                admin = fx.spec["simple_urls"]["admin"]
                sans = item.sans()
                self.assertNotIn(admin, sans)
                if item.server != fx.spec["pool"]["fqdn"]:  # SE: the server is the pool (CN)
                    self.assertNotIn(item.server, sans)  # the server's own name stays inside
                self.assertIn(fx.spec["pool"]["web_external_fqdn"], sans)
                for meet in fx.spec["simple_urls"]["meet"]:
                    self.assertTrue(carried(meet, sans, fx.spec), meet)
                self.assertTrue(carried(fx.spec["simple_urls"]["dialin"], sans, fx.spec))
                self.assertEqual(item.eku(), ["serverAuth"])

    def test_web_internal_has_every_simple_url(self):
        for fx, item in self.items({"lync2010-web-internal", "lync2013-sfb-web-internal"}):
            with self.sub(fx, item):
                urls = fx.spec["simple_urls"]
                for name in [*urls["meet"], urls["dialin"], urls["admin"]]:
                    self.assertTrue(carried(name, item.sans(), fx.spec), name)
                for name in [item.server, fx.spec["pool"]["fqdn"]]:
                    self.assertIn(name, item.sans())
                self.assertEqual(item.eku(), ["serverAuth"])

    def test_mobility_names_by_default_from_lync_2013_on(self):
        # L13h, S1: lyncdiscoverinternal.<D> on the internal, lyncdiscover.<D> on the external web
        # certificate; Lync 2010 only with [pool] mobility = true (L10 hh690044, Nov 2011 CU). A
        # [simple_urls] wildcard stands for the names it covers.
        for fx, item in self.items({"lync2010-web-internal", "lync2013-sfb-web-internal",
                                    "lync2010-web-external", "lync2013-sfb-web-external"}):
            with self.sub(fx, item):
                sans = item.sans()
                mobility = fx.spec["pool"].get("mobility", item.profile_name.startswith("lync2013"))
                wildcard = fx.spec.get("simple_urls", {}).get("wildcard", "")
                for d in fx.spec["pool"]["sip_domains"]:
                    internal, external = f"lyncdiscoverinternal.{d}", f"lyncdiscover.{d}"
                    want, never = (internal, external) if "internal" in item.profile_name \
                        else (external, internal)
                    covered = wildcard == f"*.{d}"
                    if mobility and not covered:
                        self.assertIn(want, sans)
                    else:
                        self.assertNotIn(want, sans)
                    self.assertNotIn(never, sans)

    def test_sfb_web_internal_example_names_lyncdiscoverinternal_per_domain(self):
        fx = FIXTURES["sfb2015-enterprise.toml"]
        self.assertEqual(fx.csr_rc, 0, fx.csr_stderr)
        web = [i for i in fx.items if i.cert_name == "web-internal"]
        self.assertEqual(len(web), len(fx.spec["server"]))
        for item in web:
            with self.subTest(cert=item.label):
                self.assertEqual([n for n in item.sans() if n.startswith("lyncdiscoverinternal.")],
                                 ["lyncdiscoverinternal.company.local",
                                  "lyncdiscoverinternal.company.com"])

    def test_default_certificates_server_auth_and_sip_names(self):
        # S1, S5: Server Authentication only (the certificate wizard's Server EKU); sip.<D> for
        # each SIP domain when the pool is the auto-logon server ([pool] auto_logon, default on).
        for fx, item in self.items({"lync-sfb-enterprise-frontend", "lync-sfb-standard-frontend",
                                    "lync-sfb-director", "lync-sfb-mediation"}):
            with self.sub(fx, item):
                self.assertEqual(item.eku(), ["serverAuth"])
                auto_logon = fx.spec["pool"].get("auto_logon", True)
                for d in fx.spec["pool"]["sip_domains"]:
                    if item.profile_name != "lync-sfb-mediation":
                        self.assertEqual(f"sip.{d}" in item.sans(), auto_logon)
                self.assertIn(item.server, item.sans())


if __name__ == "__main__":
    unittest.main()
