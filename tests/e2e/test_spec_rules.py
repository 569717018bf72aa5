"""The spec's rules across its tables (issue 13): names added to one certificate of one server,
or to one certificate of every server; the product and its refusals; switches and fields that
would change nothing; single-label names; DNS load balancing's addresses. Each refusal is exit 2
with one stderr line `spec.toml:LINE:COL: FIELD: ...` and nothing written; each accepted name is
read back from `poolcert plan --json` and from the CSR (Python cryptography)."""

import json
import unittest

import harness as h

HEAD = """product = "sfb2015"
output_dir = "out"
[pool]
fqdn = "eepool.contoso.com"
sip_domains = ["contoso.com", "fabrikam.com"]
web_fqdn = "eewebint.contoso.com"
"""
CERTS = """[[certificate]]
name = "default"
profile = "lync-sfb-enterprise-frontend"
[[certificate]]
name = "web-internal"
profile = "lync2013-sfb-web-internal"
"""
SERVERS = """[[server]]
fqdn = "ee01.contoso.com"
[[server]]
fqdn = "ee02.contoso.com"
"""


def place(text, needle):
    """(line, column) of `needle` in `text`, 1-based, as toml11 reports a value's place."""
    for number, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return number, line.index(needle) + 1
    raise AssertionError(f"{needle!r} not in the spec")


class SpecCase(h.TempDirTestCase):
    def plan(self, text):
        spec = self.write_spec(text)
        doc = self.poolcert_json(["plan", spec.name])
        return {(e["server"], e["certificate"]): e for e in doc["servers"]}

    def refused(self, text, line, col, field, substring):
        spec = self.write_spec(text)
        before = h.snapshot(self.tmp)
        for command in (["plan", spec.name], ["csr", spec.name]):
            rc, out, err = self.poolcert(command)
            self.assertEqual(rc, 2, out + err)
            self.assertSpecError(err, spec.name, line, col, field, substring)
        self.assertEqual(h.snapshot(self.tmp), before, "bad input writes nothing")


class PerCertificateNames(SpecCase):
    def test_certificate_sans_land_on_one_certificate_of_one_server(self):
        # S1: sipinternal.<D>, when it is in DNS, is a SAN of the default certificate: only there.
        text = HEAD + CERTS + SERVERS.replace(
            'fqdn = "ee01.contoso.com"\n',
            'fqdn = "ee01.contoso.com"\ncertificate_sans = { default = ["sipinternal.contoso.com"] }\n')
        plan = self.plan(text)
        self.assertIn("sipinternal.contoso.com", plan[("ee01.contoso.com", "default")]["sans"])
        self.assertNotIn("sipinternal.contoso.com",
                         plan[("ee01.contoso.com", "web-internal")]["sans"])
        self.assertNotIn("sipinternal.contoso.com", plan[("ee02.contoso.com", "default")]["sans"])
        spec = self.write_spec(text)
        self.poolcert_json(["csr", spec.name])
        self.assertIn("sipinternal.contoso.com",
                      h.crypto_csr(self.tmp / "out" / "ee01.contoso.com.default.csr")["sans"])
        self.assertNotIn("sipinternal.contoso.com",
                         h.crypto_csr(self.tmp / "out" / "ee01.contoso.com.web-internal.csr")["sans"])

    def test_certificate_extra_sans_land_on_that_certificate_of_every_server(self):
        text = HEAD + CERTS.replace('name = "web-internal"\n',
                                    'name = "web-internal"\nextra_sans = ["lyncweb.contoso.com"]\n') + SERVERS
        plan = self.plan(text)
        for server in ("ee01.contoso.com", "ee02.contoso.com"):
            with self.subTest(server=server):
                self.assertIn("lyncweb.contoso.com", plan[(server, "web-internal")]["sans"])
                self.assertNotIn("lyncweb.contoso.com", plan[(server, "default")]["sans"])

    def test_server_extra_sans_keep_their_meaning_without_certificate_tables(self):
        text = HEAD.replace("[pool]", 'profile = "lync-sfb-enterprise-frontend"\n[pool]', 1) + SERVERS
        text = text.replace('fqdn = "ee01.contoso.com"\n',
                            'fqdn = "ee01.contoso.com"\nextra_sans = ["legacy.contoso.com"]\n')
        plan = self.plan(text)
        self.assertIn("legacy.contoso.com", plan[("ee01.contoso.com", None)]["sans"])
        self.assertNotIn("legacy.contoso.com", plan[("ee02.contoso.com", None)]["sans"])

    def test_server_extra_sans_with_several_certificates_are_refused(self):
        # They went onto every certificate of the server: say which one instead.
        text = HEAD + CERTS + SERVERS.replace(
            'fqdn = "ee01.contoso.com"\n', 'fqdn = "ee01.contoso.com"\nextra_sans = ["x.contoso.com"]\n')
        line = text.splitlines().index('extra_sans = ["x.contoso.com"]') + 1
        self.refused(text, line, 14, "server[0].extra_sans", "certificate_sans = { default")

    def test_certificate_sans_name_a_certificate_of_the_spec(self):
        text = HEAD + CERTS + SERVERS.replace(
            'fqdn = "ee01.contoso.com"\n',
            'fqdn = "ee01.contoso.com"\ncertificate_sans = { dflt = ["a.contoso.com"] }\n')
        self.refused(text, *place(text, '["a.contoso.com"]'), "server[0].certificate_sans.dflt",
                     "is not a certificate of the spec (default, web-internal)")

    def test_a_shared_certificate_has_no_names_of_one_server(self):
        text = HEAD + CERTS + '[[certificate]]\nname = "oauth"\nprofile = "lync-sfb-oauth"\n' + \
            SERVERS.replace('fqdn = "ee01.contoso.com"\n',
                            'fqdn = "ee01.contoso.com"\ncertificate_sans = { oauth = ["a.contoso.com"] }\n')
        self.refused(text, *place(text, '["a.contoso.com"]'), "server[0].certificate_sans.oauth",
                     "shared by the pool")

    def test_a_wildcard_where_the_profile_takes_none_is_refused(self):
        text = HEAD + CERTS + SERVERS.replace(
            'fqdn = "ee01.contoso.com"\n',
            'fqdn = "ee01.contoso.com"\ncertificate_sans = { default = ["*.contoso.com"] }\n')
        self.refused(text, *place(text, '"*.contoso.com"'), "server[0].certificate_sans.default[0]",
                     "takes no wildcard")


class ProductsAndSwitches(SpecCase):
    def test_an_unknown_product_lists_the_known_ones(self):
        text = HEAD.replace('"sfb2015"', '"sfb2016"') + CERTS + SERVERS
        self.refused(text, 1, 11, "product", "ocs2007, ocs2007r2, lync2010, lync2013, sfb2015")

    def test_a_profile_refused_for_the_product_names_its_source(self):
        # S9: "Persistent chat can't be deployed with Skype for Business Server 2019".
        text = HEAD.replace('"sfb2015"', '"sfb2019"') + \
            '[[certificate]]\nname = "pchat"\nprofile = "lync-sfb-persistent-chat"\n' + SERVERS
        line = next(i for i, l in enumerate(text.splitlines(), 1) if "persistent-chat" in l)
        self.refused(text, line, 11, "certificate[0].profile", "S9")

    def test_profiles_with_no_product_in_common_are_refused(self):
        text = HEAD.replace('product = "sfb2015"\n', "") + CERTS.replace(
            "lync2013-sfb-web-internal", "ocs2007-enterprise-frontend") + SERVERS
        line = next(i for i, l in enumerate(text.splitlines(), 1) if "ocs2007-enterprise" in l)
        self.refused(text, line, 11, "certificate[1].profile", "shares no product")

    def test_a_switch_no_profile_uses_is_refused(self):
        # public_im on a Front End spec would silently change nothing.
        text = HEAD.replace("[pool]\n", "[pool]\npublic_im = true\n") + CERTS + SERVERS
        self.refused(text, 4, 13, "pool.public_im", "no profile of this spec uses it")

    def test_mobility_on_a_product_without_it_is_refused(self):
        text = ('product = "ocs2007"\nprofile = "ocs2007-enterprise-frontend"\n[pool]\n'
                'fqdn = "ocspool.contoso.com"\nsip_domains = ["contoso.com"]\nmobility = true\n'
                '[[server]]\nfqdn = "ocs01.contoso.com"\n')
        self.refused(text, 6, 12, "pool.mobility", "has no Mobility")

    def test_single_label_names_are_refused(self):
        # S1: single-label domains are not supported; Topology Builder needs FQDNs.
        for old, new, field in (('fqdn = "eepool.contoso.com"', 'fqdn = "eepool"', "pool.fqdn"),
                                ('["contoso.com", "fabrikam.com"]', '["contoso", "fabrikam.com"]',
                                 "pool.sip_domains[0]")):
            with self.subTest(field=field):
                text = (HEAD + CERTS + SERVERS).replace(old, new)
                line = next(i for i, l in enumerate(text.splitlines(), 1) if new in l)
                spec = self.write_spec(text)
                rc, out, err = self.poolcert(["plan", spec.name])
                self.assertEqual(rc, 2, err)
                parsed = h.parse_spec_error(self.assertOneErrorLine(err))
                self.assertEqual((parsed["line"], parsed["field"]), (line, field), err)
                self.assertIn("single-label", parsed["message"])

    def test_dns_load_balancing_needs_every_address(self):
        text = HEAD.replace("[pool]\n", "[pool]\ndns_load_balancing = true\n") + CERTS + \
            SERVERS.replace('fqdn = "ee01.contoso.com"\n', 'fqdn = "ee01.contoso.com"\naddress = "10.0.0.1"\n')
        line = next(i for i, l in enumerate(text.splitlines(), 1) if 'ee02' in l) - 1
        self.refused(text, line, 1, "server[1].address", "dns_load_balancing")

    def test_director_external_web_fqdn_must_differ_from_the_front_ends(self):
        # S1: "The Director external web FQDN must be different from the Front End pool or Front
        # End Server".
        text = HEAD.replace('web_fqdn = "eewebint.contoso.com"',
                            'web_external_fqdn = "webext.contoso.com"') + \
            '[[certificate]]\nname = "dir-web"\nprofile = "lync-sfb-director-web-external"\n' \
            '[[certificate]]\nname = "fe-web"\nprofile = "lync2013-sfb-web-external"\n' + SERVERS
        line = next(i for i, l in enumerate(text.splitlines(), 1) if "lync2013-sfb-web-external" in l)
        self.refused(text, line, 11, "certificate[1].profile",
                     "must be different from the Front End pool")


EDGE = h.EDGE_POOL_SPEC.format(extra="")


class SharedKeys(SpecCase):
    """A key the pool's members share is as precious as any: made once, never replaced, kept
    as .bak on --rekey, 0600."""

    def test_made_once_reused_then_rekeyed_with_a_backup(self):
        spec = self.write_spec(EDGE)
        key = self.tmp / "out" / "sfbedge.contoso.com.edge-external.key"
        first = self.poolcert_json(["csr", spec.name], umask=0)
        self.assertEqual([e["server"] for e in first["servers"]], ["sfbedge.contoso.com"] * 2)
        self.assertEqual(first["summary"]["created"], 2)
        self.assertEqual(h.file_mode(key), 0o600)
        made = key.read_bytes()
        again = self.poolcert_json(["csr", spec.name, "--server", "edge02.contoso.net"])
        self.assertEqual(again["summary"]["reused"], 2)
        self.assertEqual(key.read_bytes(), made, "the pool's key is kept")
        # --rekey for one member never replaces the key every member uses.
        member = self.poolcert_json(["csr", spec.name, "--server", "edge01.contoso.net", "--rekey"])
        self.assertEqual((member["summary"]["reused"], member["summary"]["rekeyed"]), (2, 0))
        self.assertEqual(key.read_bytes(), made, "a member's --rekey kept the pool's key")
        rekey = self.poolcert_json(["csr", spec.name, "--server", "sfbedge.contoso.com", "--rekey"])
        self.assertEqual(rekey["summary"]["rekeyed"], 2)
        backup = self.tmp / rekey["servers"][1]["key_backup"]  # relative to the spec's folder
        self.assertEqual(backup.read_bytes(), made)
        self.assertNotEqual(key.read_bytes(), made)
        # The CSR beside the key is for the new key.
        self.assertEqual(h.spki_sha256(h.load_csr(key.with_suffix(".csr")).public_key()),
                         rekey["servers"][1]["spki_sha256"])
        self.assertEqual(sorted(p.name for p in (self.tmp / "out").iterdir()
                                if p.suffix in (".key", ".csr")),
                         ["sfbedge.contoso.com.edge-external.csr",
                          "sfbedge.contoso.com.edge-external.key",
                          "sfbedge.contoso.com.edge-internal.csr",
                          "sfbedge.contoso.com.edge-internal.key"])


class SharedKeysRefusals(SpecCase):
    def test_a_servers_own_key_where_every_certificate_is_shared_is_refused(self):
        # It would apply to no certificate (a shared certificate takes the pool's [key]).
        text = EDGE.replace('fqdn = "edge01.contoso.net"\n',
                            'fqdn = "edge01.contoso.net"\nkey = { type = "rsa", bits = 4096 }\n')
        self.refused(text, *place(text, "{ type"), "server[0].key", "shared by the pool")


class DnsRecordsOfFieldsNotGiven(SpecCase):
    def test_a_record_naming_a_field_not_given_is_not_made(self):
        # As a SAN pattern gives no name then: a reverse proxy without a dial-in URL gets no
        # dial-in A record (it was refused, "label '<dialin>' contains '<'").
        text = """product = "sfb2019"
profile = "lync-sfb-reverse-proxy"
[pool]
fqdn = "rp.contoso.com"
sip_domains = ["contoso.com"]
web_external_fqdn = "webext.contoso.com"
vip = "131.107.155.60"
[simple_urls]
meet = ["meet.contoso.com"]
[[server]]
fqdn = "rp.contoso.com"
"""
        spec = self.write_spec(text)
        rc, out, err = self.poolcert(["dns", spec.name, "--format", "json"])
        self.assertEqual(rc, 0, err)
        names = {(r["type"], r["name"]) for r in json.loads(out)["records"]}
        self.assertIn(("A", "meet.contoso.com"), names)
        self.assertIn(("A", "webext.contoso.com"), names)
        self.assertFalse([n for _, n in names if "<" in n or "dialin" in n], names)

    def test_a_required_name_without_its_field_is_refused(self):
        # S2: the web conferencing Edge FQDN is on the Edge external certificate: without
        # [pool] webconf_fqdn the certificate would lack it (it was silently left out).
        text = """product = "sfb2019"
profile = "lync-sfb-edge-external"
[pool]
fqdn = "sfbedge.contoso.com"
sip_domains = ["contoso.com"]
[[server]]
fqdn = "edge01.contoso.net"
"""
        self.refused(text, *place(text, "[pool]"), "pool.webconf_fqdn",
                     "needs {webconf_fqdn}")

    def test_edge_placeholders_name_each_member(self):
        # With DNS load balancing and no external_address, one placeholder per member (they
        # collapsed into one record), each warning naming its server.
        text = """product = "sfb2019"
profile = "lync-sfb-edge-external"
[pool]
fqdn = "sfbedge.contoso.com"
sip_domains = ["contoso.com"]
webconf_fqdn = "webcon.contoso.com"
dns_load_balancing = true
[[server]]
fqdn = "edge01.contoso.net"
address = "10.0.1.1"
[[server]]
fqdn = "edge02.contoso.net"
address = "10.0.1.2"
"""
        spec = self.write_spec(text)
        rc, out, err = self.poolcert(["dns", spec.name, "--format", "json"])
        self.assertEqual(rc, 0, err)
        doc = json.loads(out)
        sip = [r for r in doc["records"] if r["name"] == "sip.contoso.com"]
        self.assertEqual(sorted(r["address"] for r in sip),
                         ["<server_external_address of edge01.contoso.net>",
                          "<server_external_address of edge02.contoso.net>"])
        self.assertTrue(any("external_address of edge02.contoso.net" in w for w in doc["warnings"]),
                        doc["warnings"])

    def test_a_cname_to_another_domain_is_a_warning(self):
        # L13: "CNAME redirection to different domains is not supported over HTTPS".
        text = """product = "sfb2019"
profile = "lync-sfb-reverse-proxy"
[pool]
fqdn = "rp.contoso.com"
sip_domains = ["contoso.com", "fabrikam.com"]
web_external_fqdn = "webext.contoso.com"
vip = "131.107.155.60"
[dns]
lyncdiscover_cname = true
[[server]]
fqdn = "rp.contoso.com"
"""
        spec = self.write_spec(text)
        rc, out, err = self.poolcert(["dns", spec.name, "--format", "json"])
        self.assertEqual(rc, 0, err)
        doc = json.loads(out)
        cnames = {r["name"]: r["target"] for r in doc["records"] if r["type"] == "CNAME"}
        self.assertEqual(cnames, {"lyncdiscover.contoso.com": "webext.contoso.com",
                                  "lyncdiscover.fabrikam.com": "webext.contoso.com"})
        cross = [w for w in doc["warnings"] if "not supported over HTTPS" in w]
        self.assertEqual(len(cross), 1, doc["warnings"])
        self.assertIn("lyncdiscover.fabrikam.com", cross[0])

    def test_unused_facts_are_a_warning(self):
        # A field no profile uses is harmless but goes nowhere: plan says so (a switch no profile
        # uses is refused instead, test_a_switch_no_profile_uses_is_refused).
        text = HEAD.replace("[pool]\n", "[pool]\naccess_fqdn = \"access.contoso.com\"\n") + CERTS + SERVERS
        spec = self.write_spec(text)
        rc, out, err = self.poolcert(["plan", spec.name])
        self.assertEqual(rc, 0, err)
        self.assertIn("[pool] access_fqdn is given, but no profile of this spec uses it", err)


if __name__ == "__main__":
    unittest.main()
