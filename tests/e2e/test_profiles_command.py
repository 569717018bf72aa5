"""`poolcert profiles`: lists every shipped profile with the rules read from its file, and reads a
user's own profile file the same way: the current format (conditional SAN rules, products, role,
a shared key, [verify], EKUs a switch adds, DNS record views) and an older one's [signature]
rules. What --json says is compared with the file as tomllib reads it."""

import json
import tempfile
import tomllib
import unittest
from pathlib import Path

import harness as h

# What verify requires when a profile's [verify] table does not say (templates/profiles/README.md,
# VerifyPolicy in include/poolcert/spec.hpp: S1, S5 a CDP on every server certificate; S1
# RSASSA-PSS unsupported, SHA-1 supported but weak).
VERIFY_DEFAULTS = {"cdp": "fail", "cdp_http": "warn", "aia": "warn", "sha1": "warn",
                   "rsassa_pss": "fail", "min_rsa_bits": 2048}


def as_list(value):
    """A `when` / `unless`: absent, one name, or a list of names."""
    return [] if value is None else [value] if isinstance(value, str) else list(value)


def san_rule(entry):
    """A [san] dns entry, a pattern or a table {name, when, unless, why, required}, as --json
    lists it."""
    if isinstance(entry, str):
        entry = {"name": entry}
    return {"pattern": entry["name"], "when": as_list(entry.get("when")),
            "unless": as_list(entry.get("unless")), "why": entry.get("why", ""),
            "required": entry.get("required", False)}


def expected_verify(data):
    """[verify], over the older [signature] allow_sha1 / allow_rsassa_pss, over the defaults."""
    verify = dict(VERIFY_DEFAULTS)
    signature = data.get("signature", {})
    if "allow_sha1" in signature:
        verify["sha1"] = "warn" if signature["allow_sha1"] else "fail"
    if "allow_rsassa_pss" in signature:
        verify["rsassa_pss"] = "ignore" if signature["allow_rsassa_pss"] else "fail"
    verify.update(data.get("verify", {}))
    return verify


def expected_record(record):
    port = record.get("port")
    return {"type": record["type"], "name": record["name"], "address": record.get("address"),
            "target": record.get("target"), "port": None if port is None else str(port),
            "when": as_list(record.get("when")), "unless": as_list(record.get("unless")),
            "per": record.get("per", "pool"), "legacy": record.get("legacy", False),
            "view": record.get("view", "internal"), "why": record.get("why", "")}


def describe_key(key):
    return f"RSA {key['bits']}" if key["type"] == "rsa" else f"ECDSA {key['curve']}"


def describe_keys(rules):
    """"RSA 2048/4096, ECDSA P-256", as poolcert writes a profile's allowed keys."""
    return ", ".join(f"RSA {'/'.join(map(str, r['bits']))}" if r["type"] == "rsa"
                     else f"ECDSA {'/'.join(r['curves'])}" for r in rules)


def expected_listing(name, data):
    """The --json entry of a profile file read with tomllib, every member poolcert lists."""
    verify = expected_verify(data)
    rules = [san_rule(e) for e in data["san"]["dns"]]
    return {
        "name": name,
        "description": data.get("description", ""),
        "source": data.get("source", ""),
        "role": data.get("role", ""),
        "products": data.get("products", []),  # none listed: every product
        "cn": data["subject"]["cn"],
        "sans": [r["pattern"] for r in rules],
        "san_rules": rules,
        "wildcards": data["san"].get("wildcards", False),
        "wildcard_replaces": data["san"].get("wildcard_replaces", []),
        "eku_request": data["eku"]["request"],
        "eku_require": data["eku"].get("require", []),
        "eku_recommend": data["eku"].get("recommend", []),
        "eku_request_when": data["eku"].get("request_when", {}),
        "key_usage": data["key_usage"],
        "allowed_keys": describe_keys(data["key"]["allowed"]),
        "default_key": describe_key(data["key"]["default"]),
        "exportable": data["key"].get("exportable", False),
        "shared": data["key"].get("shared", False),
        "template": data.get("template"),
        "signature": {"digest": data.get("signature", {}).get("digest", "sha256"),
                      "allow_sha1": verify["sha1"] != "fail",
                      "allow_rsassa_pss": verify["rsassa_pss"] != "fail"},
        "verify": verify,
        "dns_records": [expected_record(r) for r in data.get("dns", {}).get("record", [])],
    }


# A user's profile in the current format: products, role, a shared key, conditional SAN rules
# (`when` a name or a list, `unless`), an EKU a switch adds, [verify], DNS records with `per`,
# `legacy`, `view` and a list `when`.
MINE = """\
description = "my Edge"
role = "my role"
products = ["sfb2015", "sfb2019"]
products_source = "mine"
key_usage = ["digitalSignature", "keyEncipherment"]
[subject]
cn = "sip.{primary_sip_domain}"
[san]
dns = ["{webconf_fqdn}",
       { name = "sip.{sip_domain}", when = "auto_logon", why = "mine" },
       { name = "{pool_in_sip_domain}", when = ["auto_logon", "public_im"], unless = "mobility" }]
[eku]
request = ["serverAuth"]
require = ["serverAuth"]
request_when = { public_im = ["clientAuth"] }
[key]
allowed = [{ type = "rsa", bits = [2048] }, { type = "ecdsa", curves = ["P-256"] }]
default = { type = "ecdsa", curve = "P-256" }
exportable = true
shared = true
[verify]
cdp = "warn"
aia = "ignore"
rsassa_pss = "ignore"
min_rsa_bits = 3072
[[dns.record]]
type = "A"
name = "sip.{sip_domain}"
address = "{server_external_address}"
per = "server"
when = ["auto_logon", "dns_load_balancing"]
legacy = true
view = "external"
why = "each member"
[[dns.record]]
type = "SRV"
name = "_sip._tls.{sip_domain}"
port = 443
target = "sip.{sip_domain}"
unless = "dns_load_balancing"
"""

# The minimal profile of the older format, with the [signature] rules [verify] now holds.
OLD = """\
key_usage = ["digitalSignature"]
[subject]
cn = "{server_fqdn}"
[san]
dns = []
[eku]
request = ["serverAuth"]
[key]
allowed = [{ type = "ecdsa", curves = ["P-256"] }]
default = { type = "ecdsa", curve = "P-256" }
[signature]
allow_sha1 = false
allow_rsassa_pss = true
"""


class ProfilesCommand(unittest.TestCase):
    maxDiff = None

    def listing(self, *files, cwd=h.SOURCE, env=None):
        rc, out, err = h.poolcert(["profiles", *map(str, files), "--json"], cwd=cwd, env=env)
        self.assertEqual(rc, 0, err)
        return json.loads(out)["profiles"]

    def test_lists_every_shipped_profile_with_its_rules(self):
        listed = {p["name"]: p for p in self.listing(env=h.profile_env())}
        shipped = sorted(p.stem for p in h.PROFILES.glob("*.toml"))
        self.assertEqual(sorted(listed), shipped)
        for name in shipped:
            with self.subTest(profile=name):
                path = h.PROFILES / f"{name}.toml"
                want = expected_listing(name, tomllib.loads(path.read_text()))
                self.assertEqual({k: listed[name][k] for k in want}, want)
                self.assertEqual(Path(listed[name]["file"]), path)

    def test_a_users_own_profile_file(self):
        with tempfile.TemporaryDirectory() as tmp:
            for name, text in (("mine", MINE), ("old", OLD)):
                with self.subTest(profile=name):
                    path = Path(tmp) / f"{name}.toml"
                    path.write_text(text)
                    (p,) = self.listing(path, cwd=tmp)
                    want = expected_listing(name, tomllib.loads(text))
                    self.assertEqual({k: p[k] for k in want}, want)
            # Spelled out once, so that a mistake shared by poolcert and expected_listing shows.
            (mine, old) = self.listing(Path(tmp) / "mine.toml", Path(tmp) / "old.toml", cwd=tmp)
            self.assertEqual(mine["san_rules"][2], {"pattern": "{pool_in_sip_domain}",
                                                    "when": ["auto_logon", "public_im"],
                                                    "unless": ["mobility"], "why": "",
                                                    "required": False})
            self.assertEqual((mine["shared"], mine["eku_request_when"]),
                             (True, {"public_im": ["clientAuth"]}))
            self.assertEqual(mine["verify"], {"cdp": "warn", "cdp_http": "warn", "aia": "ignore",
                                              "sha1": "warn", "rsassa_pss": "ignore",
                                              "min_rsa_bits": 3072})
            self.assertEqual((old["verify"]["sha1"], old["verify"]["rsassa_pss"]),
                             ("fail", "ignore"))
            self.assertEqual((old["products"], old["sans"], old["allowed_keys"]),
                             ([], [], "ECDSA P-256"))

    def test_a_mistake_in_a_users_profile_is_refused(self):
        """Exit 2, naming what is wrong."""
        cases = {
            "typo": ("typo = 1\n" + MINE, "typo"),
            "unknown product": (MINE.replace('"sfb2019"]', '"sfb2099"]'), "sfb2099"),
            "unknown switch": (MINE.replace('when = "auto_logon"', 'when = "sunny"'), "sunny"),
            "server name on a shared key": (MINE.replace('"{webconf_fqdn}"', '"{server_fqdn}"'),
                                            "{server_fqdn}"),
            "two families": (MINE.replace('"{webconf_fqdn}"', '"{meet}.{sip_domain}"'),
                             "many-valued"),
            "wildcard_replaces without wildcards":
                (MINE.replace("[eku]", 'wildcard_replaces = ["{webconf_fqdn}"]\n[eku]', 1),
                 "san.wildcards"),
            "rsassa_pss cannot warn": (MINE.replace('rsassa_pss = "ignore"', 'rsassa_pss = "warn"'),
                                       "rsassa_pss"),
            "sha1 given twice": (OLD + '[verify]\nsha1 = "ignore"\n', "given twice"),
        }
        with tempfile.TemporaryDirectory() as tmp:
            for what, (text, needle) in cases.items():
                with self.subTest(what):
                    path = Path(tmp) / "bad.toml"
                    path.write_text(text)
                    rc, _, err = h.poolcert(["profiles", str(path)], cwd=tmp)
                    self.assertEqual(rc, 2, err)
                    self.assertIn(needle, err)

    def test_human_output_names_each_profile_and_its_rules(self):
        rc, out, err = h.poolcert(["profiles"], cwd=h.SOURCE, env=h.profile_env())
        self.assertEqual(rc, 0, err)
        blocks = {b.split("  ", 1)[0]: b for b in out.strip().split("\n\n")}
        self.assertEqual(sorted(blocks), sorted(p.stem for p in h.PROFILES.glob("*.toml")))
        for path in h.PROFILES.glob("*.toml"):
            with self.subTest(profile=path.stem):
                data = tomllib.loads(path.read_text())
                block = blocks[path.stem]
                if "products" in data:
                    self.assertIn(", ".join(data["products"]), block)
                rules = [san_rule(e) for e in data["san"]["dns"]]
                if not rules:
                    self.assertRegex(block, r"SANs +none")
                for rule in rules:
                    self.assertIn(rule["pattern"] + (f" (when {' and '.join(rule['when'])})"
                                                     if rule["when"] else ""), block)
                self.assertEqual("shared by the pool" in block,
                                 data["key"].get("shared", False))


if __name__ == "__main__":
    unittest.main()
