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

SPEC_FILES = sorted(p for p in h.TEMPLATES.glob("*.toml"))

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
        self.csr_rc, self.csr_stdout, self.csr_stderr = h.poolcert(
            ["csr", self.spec_copy, "-o", self.out, "--json"], self.dir, env=h.profile_env())
        self.items = []
        if self.csr_rc != 0:
            return
        # The chain the CA hands back with each leaf: verify's --cert-dir reads it as well.
        shutil.copyfile(ca.inter_pem, self.issued_dir / "inter.pem")
        for server, cert_name, profile_name in self.expected_requests():
            csr = self.out / (f"{server}.{cert_name}.csr" if cert_name else f"{server}.csr")
            if not csr.exists():
                continue  # reported by test_csr_makes_every_request
            item = Issued(server, cert_name, profile_name, csr, None)
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
        return [(s["fqdn"].lower().rstrip("."), name, profile)
                for s in self.spec["server"] for name, profile in self.certificates()]

    def server_spec(self, fqdn):
        return next(s for s in self.spec["server"] if s["fqdn"].lower().rstrip(".") == fqdn)


def setUpModule():
    global CA
    root = h.module_temp_dir("poolcert-e2e-profiles-")
    CA = testca.TestCA(root / "ca")
    for spec in SPEC_FILES:
        FIXTURES[spec.name] = Fixture(spec, root / spec.stem, CA)


# --- the profile's patterns, expanded here from the spec (DOMAIN.md's per-role table) ---------

def pattern_values(spec, server):
    """Placeholder -> list of values (empty: the spec has no value, the pattern gives no name)."""
    pool = spec["pool"]
    urls = spec.get("simple_urls", {})
    pool_fqdn = pool["fqdn"].lower()

    def opt(v):
        return [v.lower()] if v else []

    return {
        "pool_fqdn": [pool_fqdn],
        "pool_host": [pool_fqdn.split(".")[0]],
        "pool_domain": [pool_fqdn.split(".", 1)[1]],
        "sip_domain": [d.lower() for d in pool["sip_domains"]],
        "primary_sip_domain": [pool["sip_domains"][0].lower()],
        "server_fqdn": [server["fqdn"].lower()],
        "server_host": [server["fqdn"].lower().split(".")[0]],
        "web_fqdn": opt(pool.get("web_fqdn")),
        "web_external_fqdn": opt(pool.get("web_external_fqdn")),
        "webconf_fqdn": opt(pool.get("webconf_fqdn")),
        "meet": [m.lower() for m in urls.get("meet", [])],
        "dialin": opt(urls.get("dialin")),
        "admin": opt(urls.get("admin")),
    }


def expand(pattern, values):
    names = re.findall(r"\{([a-z_]+)\}", pattern)
    many = [n for n in names if n in ("sip_domain", "meet") or len(values[n]) != 1]
    assert len(set(many)) <= 1, pattern
    if many:
        return [re.sub(r"\{([a-z_]+)\}",
                       lambda m: v if m[1] == many[0] else values[m[1]][0], pattern)
                for v in values[many[0]]]
    return [re.sub(r"\{([a-z_]+)\}", lambda m: values[m[1]][0], pattern)]


def expected_names(profile, spec, server):
    """(CN, SANs): the CN first, then the profile's patterns and extra_sans, no duplicates."""
    values = pattern_values(spec, server)
    [cn] = expand(profile["subject"]["cn"], values)
    sans = []
    for name in [cn] + [n for p in profile["san"]["dns"] for n in expand(p, values)] + \
            [n.lower() for n in server.get("extra_sans", [])]:
        if name not in sans:
            sans.append(name)
    return cn, sans


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

    def test_every_profile_cites_domain_md(self):
        for path in sorted(h.PROFILES.glob("*.toml")):
            with self.subTest(profile=path.stem):
                self.assertIn("DOMAIN.md", load_toml(path)["source"])
                header = []
                for line in path.read_text().splitlines():
                    if not line.startswith("#"):
                        break
                    header.append(line)
                self.assertIn("DOMAIN.md", "\n".join(header), "the header comment cites DOMAIN.md")


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
    def test_subject_and_sans_are_the_profile_expanded(self):
        for fx, item in self.items():
            with self.sub(fx, item):
                cn, sans = expected_names(item.profile, fx.spec, fx.server_spec(item.server))
                self.assertEqual(item.cn(), [cn])
                self.assertEqual(item.sans(), sans)

    def test_eku_and_key_usage_are_the_profile_request(self):
        for fx, item in self.items():
            with self.sub(fx, item):
                self.assertEqual(item.eku(), item.profile["eku"]["request"])
                self.assertEqual(item.key_usage(), ["digitalSignature", "keyEncipherment"])
                self.assertIsInstance(item.csr.public_key(), h.rsa.RSAPublicKey)  # DOMAIN.md: RSA

    def test_no_wildcards_anywhere(self):
        for fx, item in self.items():
            with self.sub(fx, item):
                self.assertFalse([n for n in item.sans() + item.cn() if "*" in n])

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
                self.assertNotIn(item.server, sans)
                self.assertNotIn(fx.spec["pool"]["fqdn"], sans)
                self.assertEqual(item.eku(), ["serverAuth", "clientAuth"])

    def test_xmpp_names_only_on_the_xmpp_edge(self):
        for fx, item in self.items({"lync-sfb-edge-external", "sfb-edge-external-xmpp"}):
            with self.sub(fx, item):
                xmpp = {f"xmpp.{d}" for d in fx.spec["pool"]["sip_domains"]}
                if item.profile_name == "sfb-edge-external-xmpp":
                    self.assertLessEqual(xmpp, set(item.sans()))
                else:
                    self.assertFalse(xmpp & set(item.sans()))

    def test_edge_internal_has_exactly_one_san_its_cn(self):
        for fx, item in self.items({"lync-sfb-edge-internal"}):
            with self.sub(fx, item):
                self.assertEqual(item.cn(), [fx.spec["pool"]["fqdn"]])
                self.assertEqual(item.sans(), item.cn())

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
                    self.assertIn(meet, sans)
                self.assertIn(fx.spec["simple_urls"]["dialin"], sans)
                self.assertEqual(item.eku(), ["serverAuth"])

    def test_web_internal_has_every_simple_url(self):
        for fx, item in self.items({"lync2010-web-internal", "lync2013-sfb-web-internal"}):
            with self.sub(fx, item):
                urls = fx.spec["simple_urls"]
                for name in [*urls["meet"], urls["dialin"], urls["admin"], item.server,
                             fx.spec["pool"]["fqdn"]]:
                    self.assertIn(name, item.sans())
                self.assertEqual(item.eku(), ["serverAuth"])

    def test_mobility_names_from_lync_2013_on(self):
        for fx, item in self.items({"lync2010-web-internal", "lync2013-sfb-web-internal",
                                    "lync2010-web-external", "lync2013-sfb-web-external"}):
            with self.sub(fx, item):
                sans = item.sans()
                for d in fx.spec["pool"]["sip_domains"]:
                    internal, external = f"lyncdiscoverinternal.{d}", f"lyncdiscover.{d}"
                    if item.profile_name == "lync2013-sfb-web-internal":
                        self.assertIn(internal, sans)
                        self.assertNotIn(external, sans)
                    elif item.profile_name == "lync2013-sfb-web-external":
                        self.assertIn(external, sans)
                        self.assertNotIn(internal, sans)
                    else:  # Lync 2010
                        self.assertNotIn(internal, sans)
                        self.assertNotIn(external, sans)

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

    def test_front_end_director_and_mediation_are_mtls(self):
        for fx, item in self.items({"lync-sfb-enterprise-frontend", "lync-sfb-standard-frontend",
                                    "lync-sfb-director", "lync-sfb-mediation"}):
            with self.sub(fx, item):
                self.assertEqual(item.eku(), ["serverAuth", "clientAuth"])
                for d in fx.spec["pool"]["sip_domains"]:
                    if item.profile_name != "lync-sfb-mediation":
                        self.assertIn(f"sip.{d}", item.sans())
                self.assertIn(item.server, item.sans())


if __name__ == "__main__":
    unittest.main()
