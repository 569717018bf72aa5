"""Microsoft's own certificate and DNS tables, row by row, on Microsoft's example names.

contoso.com is the primary SIP domain and fabrikam.com the second, as in S1's examples. Each test
names its source (DOMAIN.md's short names S1 ... OCS) in its docstring. Each writes a spec, runs
`poolcert csr SPEC -o OUT --json`, and reads the CSR files back with Python `cryptography`: subject
CN, the DNS SANs in order, EKU, key usage; INF files (`csr --format inf`) are read as text and DNS
from `poolcert dns SPEC --format json`.

The expected values are hard-coded literals: Microsoft's rows plus poolcert's own rules on top of
them (the CN is the first SAN whenever the certificate has any SAN; a role Microsoft gives no SAN
gets no SAN extension at all; wildcards come after every FQDN; duplicates collapse). They are the
oracle: never copy poolcert's output into them.
"""

import itertools
import json
import re
import shutil
import textwrap
import tomllib
import unittest
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

import harness as h
import testca

# csr writes the friendly name's date from SOURCE_DATE_EPOCH: fixed, so every run is the same.
CSR_ENV = {"SOURCE_DATE_EPOCH": "1700000000"}

RSA_KEY_USAGE = ["digitalSignature", "keyEncipherment"]
SERVER_AUTH = ["serverAuth"]


# --- specs ------------------------------------------------------------------------------------

def spec(product, profile, pool_fqdn, servers, pool="", more=""):
    """The TOML text of a spec: `product` and `profile` at the top; [pool] with `pool_fqdn`,
    Microsoft's two SIP domains and the `pool` lines; then `more` (other tables: [simple_urls],
    [key], [[certificate]]); then one [[server]] per entry of `servers` (an FQDN, or a pair
    (FQDN, address))."""
    text = (f'product = "{product}"\nprofile = "{profile}"\n\n'
            f'[pool]\nfqdn = "{pool_fqdn}"\nsip_domains = ["contoso.com", "fabrikam.com"]\n')
    text += textwrap.dedent(pool).strip() + "\n\n" if pool.strip() else "\n"
    text += textwrap.dedent(more).strip() + "\n\n" if more.strip() else ""
    for server in servers:
        fqdn, address = server if isinstance(server, tuple) else (server, None)
        text += f'[[server]]\nfqdn = "{fqdn}"\n'
        if address:
            text += f'address = "{address}"\n'
    return text


def certificate(name, profile):
    return f'[[certificate]]\nname = "{name}"\nprofile = "{profile}"\n\n'


# S1's simple URLs: one meet URL per SIP domain, dial-in and admin in contoso.com.
SIMPLE_URLS = """\
[simple_urls]
meet = ["meet.contoso.com", "meet.fabrikam.com"]
dialin = "dialin.contoso.com"
admin = "admin.contoso.com"
"""
# S1's "Using a wildcard certificate" example: *.contoso.com for the simple URLs.
SIMPLE_URLS_WILDCARD = SIMPLE_URLS + 'wildcard = "*.contoso.com"\n'

ECDSA_P256 = '[key]\ntype = "ecdsa"\ncurve = "P-256"\n'
RSA_1024 = '[key]\ntype = "rsa"\nbits = 1024\n'

# S1's example hosts.
SE = dict(pool_fqdn="se01.contoso.com", servers=["se01.contoso.com"])
FE = dict(pool_fqdn="eepool.contoso.com", servers=["ee01.contoso.com", "ee02.contoso.com"])
DIRECTOR = dict(pool_fqdn="pool.contoso.com", servers=["dir01.contoso.com"])
MEDIATION = dict(pool_fqdn="medsvr-pool.contoso.net", servers=["medsvr01.contoso.net"])
SBA = dict(pool_fqdn="sba01.contoso.net", servers=["sba01.contoso.net"])
PCHAT = dict(pool_fqdn="pchat.contoso.com", servers=["pchat01.contoso.com"])
EDGE = dict(pool_fqdn="sfbedge.contoso.com", servers=["edge01.contoso.net", "edge02.contoso.net"])
PROXY = dict(pool_fqdn="rp.contoso.com", servers=["rp.contoso.com"])
OCS_EE = dict(pool_fqdn="ocspool.contoso.com", servers=["ocs01.contoso.com"])
OCS_SE = dict(pool_fqdn="se.contoso.com", servers=["se.contoso.com"])

SE_DEFAULT = spec("sfb2015", "lync-sfb-standard-frontend", **SE)
SE_DEFAULT_NO_AUTO_LOGON = spec("sfb2015", "lync-sfb-standard-frontend", **SE,
                                pool="auto_logon = false")
SE_WEB_INTERNAL = spec("sfb2015", "lync2013-sfb-web-internal", **SE, more=SIMPLE_URLS)
SE_WEB_INTERNAL_NO_MOBILITY = spec("sfb2015", "lync2013-sfb-web-internal", **SE,
                                   pool="mobility = false", more=SIMPLE_URLS)
SE_WEB_INTERNAL_WILDCARD = spec("sfb2015", "lync2013-sfb-web-internal", **SE,
                                pool="mobility = false", more=SIMPLE_URLS_WILDCARD)
SE_WEB_EXTERNAL = spec("sfb2015", "lync2013-sfb-web-external", **SE, pool="""
    web_external_fqdn = "webcon01.contoso.com"
    mobility = false
    """, more=SIMPLE_URLS)

FE_DEFAULT = spec("sfb2015", "lync-sfb-enterprise-frontend", **FE)
FE_DEFAULT_NO_AUTO_LOGON = spec("sfb2015", "lync-sfb-enterprise-frontend", **FE,
                                pool="auto_logon = false")
FE_WEB_INTERNAL = spec("sfb2015", "lync2013-sfb-web-internal", **FE, pool="""
    web_fqdn = "eewebint.contoso.com"
    mobility = false
    """, more=SIMPLE_URLS)
FE_WEB_EXTERNAL = spec("sfb2015", "lync2013-sfb-web-external", **FE,
                       pool='web_external_fqdn = "webcon01.contoso.com"', more=SIMPLE_URLS)


def lync2010_web(mobility=""):
    """A Lync Server 2010 pool's web internal and web external certificates."""
    return spec("lync2010", "lync2010-web-internal", **FE, pool=f"""
        web_fqdn = "eewebint.contoso.com"
        web_external_fqdn = "webcon01.contoso.com"
        {mobility}
        """, more=SIMPLE_URLS + certificate("web-internal", "lync2010-web-internal")
        + certificate("web-external", "lync2010-web-external"))


LYNC2010_WEB = lync2010_web()
LYNC2010_WEB_MOBILITY = lync2010_web("mobility = true")

DIRECTOR_DEFAULT = spec("sfb2015", "lync-sfb-director", **DIRECTOR)
DIRECTOR_DEFAULT_NO_AUTO_LOGON = spec("sfb2015", "lync-sfb-director", **DIRECTOR,
                                      pool="auto_logon = false")
DIRECTOR_WEB_INTERNAL = spec("sfb2015", "lync-sfb-director-web-internal", **DIRECTOR,
                             pool="mobility = false", more=SIMPLE_URLS)
DIRECTOR_WEB_EXTERNAL = spec("sfb2015", "lync-sfb-director-web-external", **DIRECTOR, pool="""
    web_external_fqdn = "directorwebcon01.contoso.com"
    mobility = false
    """, more=SIMPLE_URLS)

MEDIATION_DEFAULT = spec("sfb2015", "lync-sfb-mediation", **MEDIATION)
SBA_DEFAULT = spec("sfb2019", "sfb-sba", **SBA)
PCHAT_2015 = spec("sfb2015", "lync-sfb-persistent-chat", **PCHAT)


def fe_with_oauth(more=""):
    """A Front End pool's default certificate and its OAuthTokenIssuer certificate (S6)."""
    return spec("sfb2015", "lync-sfb-enterprise-frontend", **FE, more=more
                + certificate("default", "lync-sfb-enterprise-frontend")
                + certificate("oauth", "lync-sfb-oauth"))


FE_OAUTH = fe_with_oauth()


def edge(product="sfb2015", external="lync-sfb-edge-external", pool="", extra=""):
    """An Edge pool of two servers: its internal and external certificates (S2)."""
    return spec(product, external, **EDGE,
                pool='webconf_fqdn = "webcon.contoso.com"\n' + textwrap.dedent(pool),
                more=certificate("edge-internal", "lync-sfb-edge-internal")
                + certificate("edge-external", external) + extra)


EDGE_2015 = edge()
EDGE_2015_PUBLIC_IM = edge(pool="public_im = true")
EDGE_LYNC2010 = spec("lync2010", "lync2010-edge-external", **EDGE, pool="""
    access_fqdn = "access.contoso.com"
    webconf_fqdn = "webcon.contoso.com"
    """, more=certificate("edge-internal", "lync-sfb-edge-internal")
    + certificate("edge-external", "lync2010-edge-external"))
EDGE_XMPP_2013 = edge("lync2013", "lync2013-edge-external-xmpp")
EDGE_XMPP_2015 = edge("sfb2015", "sfb-edge-external-xmpp")
# L13f: a separate A/V authentication certificate beside the external one.
EDGE_AV = edge(pool='av_fqdn = "av.contoso.com"',
               extra=certificate("edge-av", "lync-sfb-edge-av"))

REVERSE_PROXY = spec("sfb2015", "lync-sfb-reverse-proxy", **PROXY, pool="""
    web_external_fqdn = "webext.contoso.com"
    published_web_fqdns = ["webdirext.contoso.com"]
    """, more="""
    [simple_urls]
    meet = ["meet.contoso.com"]
    dialin = "dialin.contoso.com"
    """)

OCS_R2_ENTERPRISE = spec("ocs2007r2", "ocs2007-enterprise-frontend", **OCS_EE,
                         pool='web_fqdn = "ocsweb.contoso.com"')
OCS_R2_STANDARD = spec("ocs2007r2", "ocs2007-standard-frontend", **OCS_SE)

# Row 24: one spec per row (with Microsoft's names), together covering every shipped profile.
VERIFY_SPECS = {
    "1 SE default": SE_DEFAULT,
    "1 SE default, no auto-logon": SE_DEFAULT_NO_AUTO_LOGON,
    "2 SE web internal": SE_WEB_INTERNAL,
    "2 SE web internal, wildcard": SE_WEB_INTERNAL_WILDCARD,
    "3 SE web external": SE_WEB_EXTERNAL,
    "4 FE default": FE_DEFAULT,
    "5 FE web internal": FE_WEB_INTERNAL,
    "6 FE web external": FE_WEB_EXTERNAL,
    "7 Lync 2010 web, mobility": LYNC2010_WEB_MOBILITY,
    "8 Director default": DIRECTOR_DEFAULT,
    "9 Director web internal": DIRECTOR_WEB_INTERNAL,
    "10 Director web external": DIRECTOR_WEB_EXTERNAL,
    "11 Mediation": MEDIATION_DEFAULT,
    "12 Survivable Branch Appliance": SBA_DEFAULT,
    "13 Persistent Chat": PCHAT_2015,
    "14 OAuthTokenIssuer": FE_OAUTH,
    "15-16 Edge": EDGE_2015,
    "16 Edge with A/V authentication": EDGE_AV,
    "17 Edge Lync 2010": EDGE_LYNC2010,
    "18 Edge XMPP Lync 2013": EDGE_XMPP_2013,
    "19 Edge XMPP SfB 2015": EDGE_XMPP_2015,
    "20 Reverse proxy": REVERSE_PROXY,
    "21 OCS 2007 R2 Enterprise": OCS_R2_ENTERPRISE,
    "21 OCS 2007 R2 Standard": OCS_R2_STANDARD,
}


# --- what poolcert wrote, read by oracles we did not write ------------------------------------

class Request:
    """One CSR file poolcert wrote, as python-cryptography reads it."""

    def __init__(self, path):
        self.path = Path(path)
        csr = h.load_csr(path)
        info = h.crypto_csr(path)
        self.cn = [a.value for a in csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
        self.sans = info["sans"]  # None: no SubjectAlternativeName extension at all
        self.eku = info["eku"]
        self.key_usage = info["key_usage"]
        self.verified = info["verified"]
        self.key = csr.public_key()


class Run:
    """A spec in its own folder and what `poolcert csr SPEC -o OUT --json` wrote into OUT."""

    def __init__(self, folder, doc):
        self.dir = folder
        self.spec = folder / "spec.toml"
        self.out = folder / "out"
        self.doc = doc
        self.requests = {p.name: Request(p) for p in sorted(self.out.glob("*.csr"))}
        self.keys = sorted(p.name for p in self.out.glob("*.key"))


def inf_sans(text):
    return re.findall(r'^_continue_ = "dns=([^&"]+)&"\r?$', text, flags=re.M)


class MicrosoftTable(h.TempDirTestCase):
    """Helpers: write a spec, run csr / csr --format inf / dns on it, read what was written."""

    def setUp(self):
        super().setUp()
        self._folders = itertools.count(1)

    def folder_for(self, text):
        folder = self.tmp / f"spec{next(self._folders)}"
        folder.mkdir()
        (folder / "spec.toml").write_text(text)
        return folder

    def csr(self, text):
        """`poolcert csr SPEC -o OUT --json` must work; returns the Run."""
        folder = self.folder_for(text)
        argv = ["csr", folder / "spec.toml", "-o", folder / "out", "--json"]
        rc, out, err = self.poolcert(argv, env=CSR_ENV)
        self.assertEqual(rc, 0, f"poolcert csr failed ({rc}) on:\n{text}\nstderr:\n{err}")
        return Run(folder, json.loads(out))

    def inf(self, text):
        """`poolcert csr SPEC --format inf -o DIR` must work; returns {file name: text}."""
        folder = self.folder_for(text)
        argv = ["csr", folder / "spec.toml", "--format", "inf", "-o", folder / "inf"]
        rc, _, err = self.poolcert(argv, env=CSR_ENV)
        self.assertEqual(rc, 0, f"poolcert csr --format inf failed ({rc}) on:\n{text}\n{err}")
        return {p.name: p.read_bytes().decode() for p in sorted((folder / "inf").iterdir())}

    def dns(self, text):
        """`poolcert dns SPEC --format json` must work; returns its record list."""
        folder = self.folder_for(text)
        rc, out, err = self.poolcert(["dns", folder / "spec.toml", "--format", "json"])
        self.assertEqual(rc, 0, f"poolcert dns failed ({rc}) on:\n{text}\n{err}")
        return json.loads(out)["records"]

    def refused(self, text, command="csr"):
        """`poolcert csr` (or dns) on the spec exits 2 with one error line; returns the line."""
        folder = self.folder_for(text)
        argv = [command, folder / "spec.toml"]
        argv += ["-o", folder / "out"] if command == "csr" else ["--format", "json"]
        rc, out, err = self.poolcert(argv, env=CSR_ENV)
        self.assertEqual(rc, 2, f"poolcert {command} exit {rc}, expected 2, on:\n{text}\n"
                                f"stdout:\n{out}\nstderr:\n{err}")
        return self.assertOneErrorLine(err)

    def assertRequest(self, request, cn, sans, eku=SERVER_AUTH):
        """The CSR's CN, DNS SANs in order (None: no SAN extension), EKU, and RSA key usage."""
        self.assertTrue(request.verified, f"{request.path.name}: self-signature")
        self.assertEqual(request.cn, [cn], f"{request.path.name}: subject CN")
        self.assertEqual(request.sans, sans, f"{request.path.name}: DNS SANs, in order")
        self.assertEqual(request.eku, list(eku), f"{request.path.name}: EKU")
        if isinstance(request.key, rsa.RSAPublicKey):
            self.assertEqual(request.key_usage, RSA_KEY_USAGE, f"{request.path.name}: key usage")

    def assertFiles(self, run, csrs):
        self.assertEqual(sorted(run.requests), sorted(csrs), f"CSR files in {run.out}")

    def assertExportable(self, inf_text, value):
        self.assertIn(f"Exportable = {value}\r\n", inf_text)
        self.assertEqual(len(re.findall(r"^Exportable = ", inf_text, flags=re.M)), 1, inf_text)


def leaf_sans(path):
    """A PEM certificate's DNS SANs in order (None: no SubjectAlternativeName extension)."""
    cert = x509.load_pem_x509_certificate(Path(path).read_bytes())
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return None
    return ext.value.get_values_for_type(x509.DNSName)


def records(recs, name, rtype, view=None):
    return [r for r in recs if r["name"] == name and r["type"] == rtype
            and (view is None or r["view"] == view)]


# --- the rows ---------------------------------------------------------------------------------

class StandardEdition(MicrosoftTable):
    def test_01_default(self):
        """S1 "Certificates for Standard Edition servers", Default: "SN=se01.contoso.com;
        SAN=se01.contoso.com"; sip.<D> "if this pool is the auto-logon server" (S1), and the
        pin-point name se01.fabrikam.com the sign-in SRV of fabrikam.com points at (S4). Server
        EKU only (S1, S5); non-exportable (S1)."""
        run = self.csr(SE_DEFAULT_NO_AUTO_LOGON)
        self.assertFiles(run, ["se01.contoso.com.csr"])
        self.assertRequest(run.requests["se01.contoso.com.csr"],
                           "se01.contoso.com", ["se01.contoso.com"])
        run = self.csr(SE_DEFAULT)
        self.assertRequest(run.requests["se01.contoso.com.csr"], "se01.contoso.com",
                           ["se01.contoso.com", "sip.contoso.com", "sip.fabrikam.com",
                            "se01.fabrikam.com"])
        infs = self.inf(SE_DEFAULT)
        self.assertExportable(infs["se01.contoso.com.inf"], "FALSE")

    def test_02_web_internal(self):
        """S1 Standard Edition, Web internal: "SN=se01.contoso.com; SAN=se01.contoso.com;
        SAN=meet.contoso.com; SAN=meet.fabrikam.com; SAN=dialin.contoso.com;
        SAN=admin.contoso.com"; with mobility, lyncdiscoverinternal.<D> (S1 "Certificates for
        mobility"); the wildcard example "SAN=se01.contoso.com; SAN=*.contoso.com" (a wildcard
        covers one label: meet.fabrikam.com stays)."""
        simple = ["se01.contoso.com", "meet.contoso.com", "meet.fabrikam.com",
                  "dialin.contoso.com", "admin.contoso.com"]
        with self.subTest("mobility = false"):
            run = self.csr(SE_WEB_INTERNAL_NO_MOBILITY)
            self.assertFiles(run, ["se01.contoso.com.csr"])
            self.assertRequest(run.requests["se01.contoso.com.csr"], "se01.contoso.com", simple)
        with self.subTest("mobility default (sfb2015: on)"):
            run = self.csr(SE_WEB_INTERNAL)
            self.assertRequest(run.requests["se01.contoso.com.csr"], "se01.contoso.com",
                               simple + ["lyncdiscoverinternal.contoso.com",
                                         "lyncdiscoverinternal.fabrikam.com"])
        with self.subTest("wildcard *.contoso.com, mobility = false"):
            run = self.csr(SE_WEB_INTERNAL_WILDCARD)
            self.assertRequest(run.requests["se01.contoso.com.csr"], "se01.contoso.com",
                               ["se01.contoso.com", "meet.fabrikam.com", "*.contoso.com"])

    def test_03_web_external(self):
        """S1 Standard Edition, Web external: "SN=se01.contoso.com; SAN=webcon01.contoso.com;
        SAN=meet.contoso.com; SAN=meet.fabrikam.com; SAN=dialin.contoso.com" (no admin)."""
        run = self.csr(SE_WEB_EXTERNAL)
        self.assertFiles(run, ["se01.contoso.com.csr"])
        self.assertRequest(run.requests["se01.contoso.com.csr"], "se01.contoso.com",
                           ["se01.contoso.com", "webcon01.contoso.com", "meet.contoso.com",
                            "meet.fabrikam.com", "dialin.contoso.com"])


class FrontEndPool(MicrosoftTable):
    def test_04_default(self):
        """S1 "Certificates for Front End Servers in a Front End pool", Default:
        "SN=eepool.contoso.com; SAN=eepool.contoso.com; SAN=ee01.contoso.com"; sip.<D> for the
        auto-logon pool (S1) and eepool.fabrikam.com, the sign-in SRV's target in fabrikam.com
        (S4). One certificate per server; non-exportable (S1)."""
        run = self.csr(FE_DEFAULT_NO_AUTO_LOGON)
        self.assertFiles(run, ["ee01.contoso.com.csr", "ee02.contoso.com.csr"])
        for server in FE["servers"]:
            with self.subTest(server=server, auto_logon=False):
                self.assertRequest(run.requests[f"{server}.csr"], "eepool.contoso.com",
                                   ["eepool.contoso.com", server])
        run = self.csr(FE_DEFAULT)
        for server in FE["servers"]:
            with self.subTest(server=server, auto_logon=True):
                self.assertRequest(run.requests[f"{server}.csr"], "eepool.contoso.com",
                                   ["eepool.contoso.com", server, "sip.contoso.com",
                                    "sip.fabrikam.com", "eepool.fabrikam.com"])
        infs = self.inf(FE_DEFAULT)
        self.assertExportable(infs["ee01.contoso.com.inf"], "FALSE")

    def test_05_web_internal(self):
        """S1 Front End pool, Web internal: subject "FQDN of the pool"; SANs the internal web FQDN
        ("NOT the same as the FQDN of the server"), the server FQDN, the pool FQDN, meet, dial-in
        and admin simple URLs."""
        run = self.csr(FE_WEB_INTERNAL)
        self.assertFiles(run, ["ee01.contoso.com.csr", "ee02.contoso.com.csr"])
        self.assertRequest(run.requests["ee01.contoso.com.csr"], "eepool.contoso.com",
                           ["eepool.contoso.com", "eewebint.contoso.com", "ee01.contoso.com",
                            "meet.contoso.com", "meet.fabrikam.com", "dialin.contoso.com",
                            "admin.contoso.com"])

    def test_06_web_external(self):
        """S1 Front End pool, Web external: "SAN=webcon01.contoso.com; SAN=meet.contoso.com;
        SAN=meet.fabrikam.com; SAN=dialin.contoso.com" (the example's names: no admin), and
        lyncdiscover.<D> (S1 "Certificates for mobility"; mobility is on by default in 2015)."""
        run = self.csr(FE_WEB_EXTERNAL)
        self.assertRequest(run.requests["ee01.contoso.com.csr"], "eepool.contoso.com",
                           ["eepool.contoso.com", "webcon01.contoso.com", "meet.contoso.com",
                            "meet.fabrikam.com", "dialin.contoso.com",
                            "lyncdiscover.contoso.com", "lyncdiscover.fabrikam.com"])

    def test_07_lync2010_mobility_is_optional(self):
        """L10 hh690044: Mobility (and its lyncdiscover names) came with Lync Server 2010 CU4, so
        a Lync 2010 spec has none unless [pool] mobility = true; OCS 2007 has no Mobility Service
        at all, so asking for it is bad input."""
        internal = ["eepool.contoso.com", "eewebint.contoso.com", "ee01.contoso.com",
                    "meet.contoso.com", "meet.fabrikam.com", "dialin.contoso.com",
                    "admin.contoso.com"]
        external = ["eepool.contoso.com", "webcon01.contoso.com", "meet.contoso.com",
                    "meet.fabrikam.com", "dialin.contoso.com"]
        with self.subTest("lync2010, mobility default (off)"):
            run = self.csr(LYNC2010_WEB)
            self.assertFiles(run, [f"{s}.web-{side}.csr" for s in FE["servers"]
                                   for side in ("internal", "external")])
            self.assertRequest(run.requests["ee01.contoso.com.web-internal.csr"],
                               "eepool.contoso.com", internal)
            self.assertRequest(run.requests["ee01.contoso.com.web-external.csr"],
                               "eepool.contoso.com", external)
        with self.subTest("lync2010, mobility = true"):
            run = self.csr(LYNC2010_WEB_MOBILITY)
            self.assertRequest(run.requests["ee01.contoso.com.web-internal.csr"],
                               "eepool.contoso.com",
                               internal + ["lyncdiscoverinternal.contoso.com",
                                           "lyncdiscoverinternal.fabrikam.com"])
            self.assertRequest(run.requests["ee01.contoso.com.web-external.csr"],
                               "eepool.contoso.com",
                               external + ["lyncdiscover.contoso.com",
                                           "lyncdiscover.fabrikam.com"])
        for profile, hosts in (("ocs2007-enterprise-frontend", OCS_EE),
                               ("ocs2007-standard-frontend", OCS_SE)):
            with self.subTest(f"ocs2007, mobility = true, {profile}"):
                line = self.refused(spec("ocs2007", profile, **hosts, pool="mobility = true"))
                self.assertIn("mobility", line.lower())


class Director(MicrosoftTable):
    def test_08_default(self):
        """S1 "Certificates for the Director", Default: "pool.contoso.com; SAN=dir01.contoso.com",
        and sip.<D> "if this Director pool is the auto-logon server"; pool.fabrikam.com, the
        sign-in SRV's target in fabrikam.com (S4)."""
        run = self.csr(DIRECTOR_DEFAULT)
        self.assertFiles(run, ["dir01.contoso.com.csr"])
        self.assertRequest(run.requests["dir01.contoso.com.csr"], "pool.contoso.com",
                           ["pool.contoso.com", "dir01.contoso.com", "sip.contoso.com",
                            "sip.fabrikam.com", "pool.fabrikam.com"])
        run = self.csr(DIRECTOR_DEFAULT_NO_AUTO_LOGON)
        self.assertRequest(run.requests["dir01.contoso.com.csr"], "pool.contoso.com",
                           ["pool.contoso.com", "dir01.contoso.com"])

    def test_09_web_internal(self):
        """S1 Director, Web internal: subject "FQDN of the server"; SANs the internal web FQDN
        (= the server), the pool FQDN, meet, dial-in, admin ("SN=dir01.contoso.com;
        SAN=dir01.contoso.com; SAN=meet.contoso.com; ...")."""
        run = self.csr(DIRECTOR_WEB_INTERNAL)
        self.assertRequest(run.requests["dir01.contoso.com.csr"], "dir01.contoso.com",
                           ["dir01.contoso.com", "pool.contoso.com", "meet.contoso.com",
                            "meet.fabrikam.com", "dialin.contoso.com", "admin.contoso.com"])

    def test_10_web_external(self):
        """S1 Director, Web external: "SN=dir01.contoso.com; SAN=directorwebcon01.contoso.com
        SAN=meet.contoso.com; SAN=meet.fabrikam.com; SAN=dialin.contoso.com"; "The Director
        external web FQDN must be different from the Front End pool or Front End Server"."""
        run = self.csr(DIRECTOR_WEB_EXTERNAL)
        self.assertRequest(run.requests["dir01.contoso.com.csr"], "dir01.contoso.com",
                           ["dir01.contoso.com", "directorwebcon01.contoso.com",
                            "meet.contoso.com", "meet.fabrikam.com", "dialin.contoso.com"])
        both = spec("sfb2015", "lync-sfb-director-web-external", **DIRECTOR, pool="""
            web_external_fqdn = "directorwebcon01.contoso.com"
            mobility = false
            """, more=SIMPLE_URLS
            + certificate("director-web-external", "lync-sfb-director-web-external")
            + certificate("web-external", "lync2013-sfb-web-external"))
        line = self.refused(both)
        self.assertIn("S1", line)
        self.assertIn("different", line.lower())


class OtherInternalRoles(MicrosoftTable):
    def test_11_mediation(self):
        """S1 "Certificates for Stand-alone Mediation Server": "SN=medsvr-pool.contoso.net;
        SAN=medsvr-pool.contoso.net; SAN=medsvr01.contoso.net"."""
        run = self.csr(MEDIATION_DEFAULT)
        self.assertFiles(run, ["medsvr01.contoso.net.csr"])
        self.assertRequest(run.requests["medsvr01.contoso.net.csr"], "medsvr-pool.contoso.net",
                           ["medsvr-pool.contoso.net", "medsvr01.contoso.net"])

    def test_12_survivable_branch_appliance(self):
        """S1 (= S8 for SBA 2015 with 2019) "Certificates for Survivable Branch Appliance":
        "SN=sba01.contoso.net; SAN=sip.contoso.com; SAN=sip.fabrikam.com" (and the CN first)."""
        run = self.csr(SBA_DEFAULT)
        self.assertFiles(run, ["sba01.contoso.net.csr"])
        self.assertRequest(run.requests["sba01.contoso.net.csr"], "sba01.contoso.net",
                           ["sba01.contoso.net", "sip.contoso.com", "sip.fabrikam.com"])

    def test_13_persistent_chat(self):
        """S1 "Certificates for your Persistent Chat Server" (no table: the server's FQDN); S9:
        Persistent Chat can't be deployed with Skype for Business Server 2019."""
        run = self.csr(PCHAT_2015)
        self.assertFiles(run, ["pchat01.contoso.com.csr"])
        self.assertRequest(run.requests["pchat01.contoso.com.csr"], "pchat01.contoso.com",
                           ["pchat01.contoso.com"])
        line = self.refused(spec("sfb2019", "lync-sfb-persistent-chat", **PCHAT))
        self.assertIn("S9", line)

    def test_14_oauth_token_issuer(self):
        """S6: one OAuthTokenIssuer certificate "on all Front End Servers", at least 2048 bits
        (RSA); L13 and the profile: CN the SIP domain, no SAN ("No Entry"); imported from a PFX,
        so its key is exportable."""
        run = self.csr(FE_OAUTH)
        self.assertFiles(run, ["ee01.contoso.com.default.csr", "ee02.contoso.com.default.csr",
                               "eepool.contoso.com.oauth.csr"])
        self.assertIn("eepool.contoso.com.oauth.key", run.keys)
        self.assertEqual([k for k in run.keys if ".oauth." in k], ["eepool.contoso.com.oauth.key"])
        oauth = run.requests["eepool.contoso.com.oauth.csr"]
        self.assertRequest(oauth, "contoso.com", None)
        self.assertIsInstance(oauth.key, rsa.RSAPublicKey)
        self.assertGreaterEqual(oauth.key.key_size, 2048)
        infs = self.inf(FE_OAUTH)
        self.assertEqual([n for n in infs if ".oauth." in n], ["eepool.contoso.com.oauth.inf"])
        self.assertExportable(infs["eepool.contoso.com.oauth.inf"], "TRUE")
        self.assertEqual(inf_sans(infs["eepool.contoso.com.oauth.inf"]), [])
        self.assertNotIn("2.5.29.17", infs["eepool.contoso.com.oauth.inf"])
        line = self.refused(fe_with_oauth(ECDSA_P256))
        self.assertIn("rsa", line.lower())


class Edge(MicrosoftTable):
    def test_15_edge_internal(self):
        """S2 Edge certificate table, internal: "uses an SN entry, and no SAN entries"; one
        certificate for the pool, exportable (S2, L13: the same certificate and key on every
        Edge Server)."""
        run = self.csr(EDGE_2015)
        self.assertFiles(run, ["sfbedge.contoso.com.edge-internal.csr",
                               "sfbedge.contoso.com.edge-external.csr"])
        self.assertRequest(run.requests["sfbedge.contoso.com.edge-internal.csr"],
                           "sfbedge.contoso.com", None)
        inf = self.inf(EDGE_2015)["sfbedge.contoso.com.edge-internal.inf"]
        self.assertExportable(inf, "TRUE")
        self.assertEqual(inf_sans(inf), [])
        self.assertNotIn("2.5.29.17", inf)  # no SAN extension in the INF either

    def test_16_edge_external(self):
        """S2 Edge certificate table, external: SN sip.contoso.com; SANs "sip.contoso.com,
        webcon.contoso.com, sip.fabrikam.com" in that order; public, exportable. Client
        Authentication only for public IM (S7 -ClientEKU)."""
        names = ["sip.contoso.com", "webcon.contoso.com", "sip.fabrikam.com"]
        run = self.csr(EDGE_2015)
        self.assertRequest(run.requests["sfbedge.contoso.com.edge-external.csr"],
                           "sip.contoso.com", names)
        self.assertExportable(self.inf(EDGE_2015)["sfbedge.contoso.com.edge-external.inf"],
                              "TRUE")
        run = self.csr(EDGE_2015_PUBLIC_IM)
        self.assertRequest(run.requests["sfbedge.contoso.com.edge-external.csr"],
                           "sip.contoso.com", names, eku=["serverAuth", "clientAuth"])

    def test_17_edge_external_lync2010(self):
        """L10 external user access: subject the Access Edge FQDN (access.contoso.com); SANs it,
        the web conferencing FQDN and sip.<D> per SIP domain."""
        run = self.csr(EDGE_LYNC2010)
        self.assertRequest(run.requests["sfbedge.contoso.com.edge-external.csr"],
                           "access.contoso.com",
                           ["access.contoso.com", "webcon.contoso.com", "sip.contoso.com",
                            "sip.fabrikam.com"])

    def test_18_edge_external_xmpp_lync2013(self):
        """L13e (SIP, XMPP federation): the external Edge certificate adds each XMPP domain
        itself (contoso.com, fabrikam.com). L13 says the order of SANs does not matter, so after
        the CN first they are compared as a set."""
        expected = ["sip.contoso.com", "webcon.contoso.com", "sip.fabrikam.com", "contoso.com",
                    "fabrikam.com"]
        request = self.csr(EDGE_XMPP_2013).requests["sfbedge.contoso.com.edge-external.csr"]
        self.assertEqual(request.cn, ["sip.contoso.com"])
        self.assertIsNotNone(request.sans)
        self.assertEqual(request.sans[0], "sip.contoso.com")
        self.assertEqual(sorted(request.sans), sorted(expected))
        self.assertEqual(request.eku, SERVER_AUTH)

    def test_19_edge_external_xmpp_sfb2015(self):
        """S2: the XMPP certificate "will look identical to the External Edge table entries
        above, but will have the following two additional SAN entries: xmpp.contoso.com,
        *.contoso.com" (per XMPP domain; wildcards after every FQDN, L10). S2, S9: no XMPP in
        Skype for Business Server 2019."""
        run = self.csr(EDGE_XMPP_2015)
        self.assertRequest(run.requests["sfbedge.contoso.com.edge-external.csr"],
                           "sip.contoso.com",
                           ["sip.contoso.com", "webcon.contoso.com", "sip.fabrikam.com",
                            "xmpp.contoso.com", "xmpp.fabrikam.com", "*.contoso.com",
                            "*.fabrikam.com"])
        line = self.refused(edge("sfb2019", "sfb-edge-external-xmpp"))
        self.assertIn("S2", line)
        self.assertIn("S9", line)

    def test_20_reverse_proxy(self):
        """L10 gg429704, S1 mobility: the reverse proxy listener's certificate names the
        external web services FQDN, each published pool's external web FQDN, meet, dial-in and
        lyncdiscover.<D> ("This SAN needs to be assigned to the certificate that's assigned to
        the SSL Listener on your reverse proxy")."""
        run = self.csr(REVERSE_PROXY)
        self.assertFiles(run, ["rp.contoso.com.csr"])
        self.assertRequest(run.requests["rp.contoso.com.csr"], "webext.contoso.com",
                           ["webext.contoso.com", "webdirext.contoso.com", "meet.contoso.com",
                            "dialin.contoso.com", "lyncdiscover.contoso.com",
                            "lyncdiscover.fabrikam.com"])


class OfficeCommunicationsServer(MicrosoftTable):
    def test_21_ocs2007_r2(self):
        """OCS 2007 R2 internal servers: subject the pool FQDN; the SIP domain FQDNs the wizard
        adds; on a consolidated Enterprise pool "the URL of the internal Web farm"; the Seed adds
        the pool's name in each SIP domain and the server FQDN. Standard Edition: the server FQDN
        and the SIP domain FQDNs."""
        run = self.csr(OCS_R2_ENTERPRISE)
        self.assertFiles(run, ["ocs01.contoso.com.csr"])
        self.assertRequest(run.requests["ocs01.contoso.com.csr"], "ocspool.contoso.com",
                           ["ocspool.contoso.com", "sip.contoso.com", "sip.fabrikam.com",
                            "ocspool.fabrikam.com", "ocs01.contoso.com", "ocsweb.contoso.com"])
        run = self.csr(OCS_R2_STANDARD)
        self.assertRequest(run.requests["se.contoso.com.csr"], "se.contoso.com",
                           ["se.contoso.com", "sip.contoso.com", "sip.fabrikam.com"])


class Keys(MicrosoftTable):
    def test_22_key_algorithms(self):
        """S1, S8, L13, S7 -KeyAlg: "The ECDH_P256, ECDH_P384, and ECDH_P521 algorithms are also
        supported" (Lync 2013 onward; RSA only for Lync 2010 and OCS); RSA 1024 is under
        poolcert's 2048 floor (DOMAIN.md "Keys"). An ECDSA key in a certreq INF needs
        KeyAlgorithm and the CNG Microsoft Software Key Storage Provider (certreq docs)."""
        for product in ("lync2013", "sfb2015", "sfb2019"):
            with self.subTest(product=product, key="ecdsa P-256"):
                run = self.csr(spec(product, "lync-sfb-enterprise-frontend", **FE,
                                    more=ECDSA_P256))
                request = run.requests["ee01.contoso.com.csr"]
                self.assertIsInstance(request.key, ec.EllipticCurvePublicKey)
                self.assertEqual(request.key.curve.name, "secp256r1")
                self.assertEqual(request.cn, ["eepool.contoso.com"])
        for product, profile in (("lync2010", "lync-sfb-enterprise-frontend"),
                                 ("ocs2007", "ocs2007-enterprise-frontend")):
            with self.subTest(product=product, key="ecdsa P-256 refused"):
                hosts = FE if product == "lync2010" else OCS_EE
                line = self.refused(spec(product, profile, **hosts, more=ECDSA_P256))
                self.assertIn("ecdsa", line.lower())
        with self.subTest(key="rsa 1024 refused"):
            line = self.refused(spec("sfb2015", "lync-sfb-enterprise-frontend", **FE,
                                     more=RSA_1024))
            self.assertIn("1024", line)
        with self.subTest(inf="ecdsa P-256, sfb2015"):
            infs = self.inf(spec("sfb2015", "lync-sfb-enterprise-frontend", **FE,
                                 more=ECDSA_P256))
            inf = infs["ee01.contoso.com.inf"]
            self.assertIn("KeyAlgorithm = ECDSA_P256\r\n", inf)
            self.assertIn('ProviderName = "Microsoft Software Key Storage Provider"\r\n', inf)
            self.assertNotIn("ProviderType", inf)


class Dns(MicrosoftTable):
    VIP = "192.168.21.120"

    def test_23a_front_end_pool_sign_in(self):
        """S3 summary tables, footnote 2: _sipinternaltls._tcp.<D> and sip.<D> are "only required
        to support legacy clients prior to Lync 2013, and desktop handsets"; S4: the SRV points at
        a host in its own domain (eepool.fabrikam.com, with its A record)."""
        recs = self.dns(spec("sfb2015", "lync-sfb-enterprise-frontend", **FE,
                             pool=f'vip = "{self.VIP}"'))
        for domain in ("contoso.com", "fabrikam.com"):
            with self.subTest(domain=domain):
                [srv] = records(recs, f"_sipinternaltls._tcp.{domain}", "SRV")
                self.assertEqual((srv["priority"], srv["weight"], srv["port"], srv["target"]),
                                 (0, 0, 5061, f"eepool.{domain}"))
                self.assertIs(srv["legacy"], True)
                [sip] = records(recs, f"sip.{domain}", "A")
                self.assertEqual(sip["address"], self.VIP)
                self.assertIs(sip["legacy"], True)
        [pin] = records(recs, "eepool.fabrikam.com", "A")
        self.assertEqual(pin["address"], self.VIP)
        self.assertIs(pin["legacy"], True)
        [pool] = records(recs, "eepool.contoso.com", "A")
        self.assertEqual(pool["address"], self.VIP)

    def test_23b_dns_load_balancing(self):
        """S3: with DNS load balancing the pool FQDN has one A record per front end ("DNS LB to
        .122 .123 .124") and each server its own; "If you are using DNS load balancing on this
        pool, your Front End pool and internal web farm cannot have the same FQDN"."""
        servers = [("ee01.contoso.com", "192.168.21.122"), ("ee02.contoso.com", "192.168.21.123")]
        recs = self.dns(spec("sfb2015", "lync-sfb-enterprise-frontend", FE["pool_fqdn"], servers,
                             pool="dns_load_balancing = true"))
        self.assertEqual(sorted(r["address"] for r in records(recs, "eepool.contoso.com", "A")),
                         ["192.168.21.122", "192.168.21.123"])
        for fqdn, address in servers:
            with self.subTest(server=fqdn):
                self.assertEqual([r["address"] for r in records(recs, fqdn, "A")], [address])
        line = self.refused(spec("sfb2015", "lync2013-sfb-web-internal", FE["pool_fqdn"],
                                 servers, pool="""
                                     dns_load_balancing = true
                                     web_fqdn = "eepool.contoso.com"
                                     """, more=SIMPLE_URLS), command="dns")
        self.assertIn("S3", line)

    def test_23c_edge(self):
        """S2, S3 perimeter DNS: A records for the Access Edge (sip.<D>), web conferencing and
        A/V Edge names; _sip._tls.<D> 443 and _sipfederationtls._tcp.<D> 5061 -> sip.<D> for
        each SIP domain; XMPP (S2, SfB 2015): _xmpp-server._tcp.<D> 5269 -> xmpp.<D>."""
        external_vip = "131.107.155.40"
        recs = self.dns(edge(pool=f"""
            vip = "172.25.33.40"
            external_vip = "{external_vip}"
            av_fqdn = "av.contoso.com"
            """))
        for name in ("sip.contoso.com", "sip.fabrikam.com", "webcon.contoso.com",
                     "av.contoso.com"):
            with self.subTest(a=name):
                self.assertEqual([r["address"] for r in records(recs, name, "A", "external")],
                                 [external_vip])
        for domain in ("contoso.com", "fabrikam.com"):
            for service, port in (("_sip._tls", 443), ("_sipfederationtls._tcp", 5061)):
                with self.subTest(srv=f"{service}.{domain}"):
                    [srv] = records(recs, f"{service}.{domain}", "SRV", "external")
                    self.assertEqual((srv["port"], srv["target"]), (port, f"sip.{domain}"))
        recs = self.dns(edge("sfb2015", "sfb-edge-external-xmpp",
                             pool=f'vip = "172.25.33.40"\nexternal_vip = "{external_vip}"'))
        [srv] = records(recs, "_xmpp-server._tcp.contoso.com", "SRV", "external")
        self.assertEqual((srv["port"], srv["target"]), (5269, "xmpp.contoso.com"))


class VerifyAsMicrosoftDescribes(MicrosoftTable):
    """Row 24: a certificate made exactly as Microsoft describes (S1, S5: Server Authentication
    only, an HTTP CDP, SHA-256, RSA 2048, the CSR's names) passes verify for every role.

    TestCA.issue copies the CSR's DNS SANs and writes no subjectAltName at all when the CSR has
    none (Edge internal, OAuthTokenIssuer): checked on each leaf below."""

    @classmethod
    def setUpClass(cls):
        cls.ca = testca.TestCA(h.module_temp_dir("poolcert-e2e-mstables-ca-") / "ca")

    def test_24_every_shipped_profile_is_covered(self):
        used = set()
        for text in VERIFY_SPECS.values():
            doc = tomllib.loads(text)
            used.add(doc["profile"])
            used |= {c["profile"] for c in doc.get("certificate", [])}
        shipped = {p.stem for p in h.PROFILES.glob("*.toml")}
        self.assertEqual(shipped - used, set(), "profiles without a spec in VERIFY_SPECS")

    def test_24_issued_as_microsoft_describes_passes_verify(self):
        for label, text in VERIFY_SPECS.items():
            with self.subTest(label):
                run = self.csr(text)
                self.assertTrue(run.requests, f"no CSR written for:\n{text}")
                issued = run.dir / "issued"
                issued.mkdir()
                shutil.copyfile(self.ca.inter_pem, issued / "inter.pem")  # the chain
                for name, request in run.requests.items():
                    leaf = self.ca.issue(run.out / name, issued / f"{Path(name).stem}.pem",
                                         eku=["serverAuth"])
                    self.assertEqual(leaf_sans(leaf), request.sans, f"{label}: {leaf.name}")
                argv = ["verify", run.spec, "--cert-dir", issued, "--key-dir", run.out,
                        "--ca-bundle", self.ca.root_pem, "--json"]
                rc, out, err = self.poolcert(argv)
                where = f"{label}\nspec:\n{text}\nstdout:\n{out}\nstderr:\n{err}"
                self.assertEqual(rc, 0, where)
                doc = json.loads(out)
                self.assertEqual(doc["summary"]["fail"], 0, where)
                self.assertEqual(doc.get("unmatched", []), [], where)
                self.assertEqual(len(doc["servers"]), len(run.requests), where)


if __name__ == "__main__":
    unittest.main()
