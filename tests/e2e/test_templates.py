"""Every file under templates/ is loaded, so shipped examples and profiles cannot rot.

Specs go through `poolcert plan --json` where they lie; profiles are used by a spec written here,
and what plan reports is checked against the profile's own patterns expanded in Python.
"""

import tomllib
import unittest

import harness as h

ALL_TOML = sorted(h.TEMPLATES.rglob("*.toml"))
PROFILE_FILES = [p for p in ALL_TOML if p.parent.name == "profiles"]
SPEC_FILES = [p for p in ALL_TOML if p.parent.name != "profiles"]

POOL_FQDN = "pool7.example.local"
SIP_DOMAINS = ["example.local", "example.com", "example.net"]
SERVER_FQDNS = ["fe02.example.local", "fe01.example.local"]


def load_toml(path):
    with open(path, "rb") as f:
        return tomllib.load(f)


def expand(pattern, server_fqdn):
    """A profile pattern expanded as issue 3 defines it (once per SIP domain, in spec order)."""
    values = {"pool_fqdn": POOL_FQDN, "pool_host": POOL_FQDN.split(".")[0],
              "server_fqdn": server_fqdn}
    if "{sip_domain}" in pattern:
        return [pattern.replace("{sip_domain}", d).format(**values) for d in SIP_DOMAINS]
    return [pattern.format(**values)]


def expected_names(profile, server_fqdn):
    """(common name, SANs): the CN first, then the profile's order, duplicates collapsed."""
    [cn] = expand(profile["subject"]["cn"], server_fqdn)
    sans = []
    for name in [cn] + [n for p in profile["san"]["dns"] for n in expand(p, server_fqdn)]:
        if name.lower() not in [s.lower() for s in sans]:
            sans.append(name)
    return cn, sans


def key_toml(key):
    lines = [f'type = "{key["type"]}"']
    if "bits" in key:
        lines.append(f'bits = {key["bits"]}')
    if "curve" in key:
        lines.append(f'curve = "{key["curve"]}"')
    return "\n".join(lines)


def spec_for_profile(profile_path, key):
    servers = "".join(f'\n[[server]]\nfqdn = "{s}"\n' for s in SERVER_FQDNS)
    sip = ", ".join(f'"{d}"' for d in SIP_DOMAINS)
    return (f'profile = "{profile_path}"\noutput_dir = "certs"\n\n'
            f'[pool]\nfqdn = "{POOL_FQDN}"\nsip_domains = [{sip}]\n\n'
            f"[key]\n{key_toml(key)}\n\n[subject]\nO = \"Example\"\n{servers}")


def allowed_keys(profile):
    """Every key the profile's [key] allowed list permits, as spec [key] tables."""
    keys = []
    for entry in profile["key"]["allowed"]:
        for bits in entry.get("bits", []):
            keys.append({"type": entry["type"], "bits": bits})
        for curve in entry.get("curves", []):
            keys.append({"type": entry["type"], "curve": curve})
    return keys


class Inventory(unittest.TestCase):
    def test_templates_hold_specs_and_profiles(self):
        self.assertIn(h.EXAMPLE, SPEC_FILES)
        self.assertGreaterEqual(len(PROFILE_FILES), 2)

    def test_every_toml_file_parses(self):
        for path in ALL_TOML:
            with self.subTest(file=str(path.relative_to(h.TEMPLATES))):
                self.assertIsInstance(load_toml(path), dict)


class ShippedSpecs(h.TempDirTestCase):
    def test_every_spec_plans_where_it_lies(self):
        before = h.snapshot(h.TEMPLATES)
        for path in SPEC_FILES:
            with self.subTest(spec=str(path.relative_to(h.TEMPLATES))):
                doc = self.poolcert_json(["plan", str(path)], env={"POOLCERT_PROFILE_PATH": None})
                spec = load_toml(path)
                self.assertEqual([s["server"] for s in doc["servers"]],
                                 [s["fqdn"].lower().rstrip(".") for s in spec["server"]])
                for server in doc["servers"]:
                    self.assertEqual(server["sans"][0], server["common_name"])
                    self.assertEqual(len({n.lower() for n in server["sans"]}),
                                     len(server["sans"]))
        self.assertEqual(h.snapshot(h.TEMPLATES), before, "plan wrote into templates/")

    def test_every_spec_plans_from_a_copy_through_poolcert_profile_path(self):
        for path in SPEC_FILES:
            with self.subTest(spec=path.name):
                copy = self.write_spec(path.read_text(), name=path.name)
                doc = self.poolcert_json(["plan", copy.name])
                self.assertTrue(doc["servers"])


class ShippedProfiles(h.TempDirTestCase):
    def plan(self, profile_path, key):
        folder = self.tmp / f"{profile_path.stem}-{key['type']}-{key.get('bits', key.get('curve'))}"
        spec = self.write_spec(spec_for_profile(profile_path, key), folder=folder)
        return self.poolcert_json(["plan", spec.name], cwd=folder)

    def test_every_profile_declares_what_poolcert_needs(self):
        for path in PROFILE_FILES:
            with self.subTest(profile=path.stem):
                profile = load_toml(path)
                self.assertIn("cn", profile["subject"])
                self.assertTrue(profile["san"]["dns"])
                self.assertTrue(profile["eku"]["request"])
                self.assertIn(profile["key"]["default"], allowed_keys(profile))

    def test_every_profile_drives_names_eku_and_key_usage(self):
        for path in PROFILE_FILES:
            profile = load_toml(path)
            doc = self.plan(path, profile["key"]["default"])
            for server, fqdn in zip(doc["servers"], SERVER_FQDNS):
                with self.subTest(profile=path.stem, server=fqdn):
                    cn, sans = expected_names(profile, fqdn)
                    self.assertEqual(server["server"], fqdn)
                    self.assertEqual(server["common_name"], cn)
                    self.assertEqual(server["subject"], f"O=Example, CN={cn}")
                    self.assertEqual(server["sans"], sans)
                    self.assertEqual(server["eku"], profile["eku"]["request"])
                    self.assertEqual(server["key_usage"], profile["key_usage"])
                    self.assertEqual(server["signature_digest"], profile["signature"]["digest"])

    def test_every_key_a_profile_allows_is_accepted(self):
        for path in PROFILE_FILES:
            for key in allowed_keys(load_toml(path)):
                with self.subTest(profile=path.stem, key=key):
                    server = self.plan(path, key)["servers"][0]
                    self.assertEqual(server["key"]["type"], key["type"])
                    if "bits" in key:
                        self.assertEqual(server["key"]["bits"], key["bits"])
                    if "curve" in key:
                        self.assertEqual(server["key"]["curve"], key["curve"])

    def test_every_profile_makes_a_csr_openssl_verifies(self):
        for path in PROFILE_FILES:
            with self.subTest(profile=path.stem):
                profile = load_toml(path)
                folder = self.tmp / f"csr-{path.stem}"
                spec = self.write_spec(spec_for_profile(path, profile["key"]["default"]),
                                       folder=folder)
                self.poolcert_json(["csr", spec.name, "--server", SERVER_FQDNS[0]], cwd=folder)
                info = h.openssl_req(folder / "certs" / f"{SERVER_FQDNS[0]}.csr")
                self.assertTrue(info["verified"], info["stderr"])
                self.assertEqual(info["sans"], expected_names(profile, SERVER_FQDNS[0])[1])


if __name__ == "__main__":
    unittest.main()
