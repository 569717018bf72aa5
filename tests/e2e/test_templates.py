"""Every file under templates/ is loaded, so shipped examples and profiles cannot rot.

Specs go through `poolcert plan --json` where they lie, and every plan entry (one per server and
certificate) is checked against its profile's patterns expanded in Python with the spec's own
values; profiles are used by a spec written here, once with every optional pool field and simple
URL given (so every pattern gives names) and once with none of them (patterns whose placeholder
has no value give no name).
"""

import re
import tomllib
import unittest

import harness as h

ALL_TOML = sorted(h.TEMPLATES.rglob("*.toml"))
PROFILE_FILES = [p for p in ALL_TOML if p.parent.name == "profiles"]
SPEC_FILES = [p for p in ALL_TOML if p.parent.name != "profiles"]

POOL_FQDN = "pool7.example.local"
SIP_DOMAINS = ["example.local", "example.com", "example.net"]
SERVER_FQDNS = ["fe02.example.local", "fe01.example.local"]
# The optional [pool] fields and [simple_urls] of the generated spec ("full" variant).
POOL_OPTIONAL = {"vip": "10.1.2.3", "web_fqdn": "web-int.example.local", "web_vip": "10.1.2.4",
                 "web_external_fqdn": "web.example.com", "webconf_fqdn": "webconf.example.com"}
SIMPLE_URLS = {"meet": ["meet.example.local", "meet.example.com", "meet.example.net"],
               "dialin": "dialin.example.com", "admin": "admin.example.local"}
DNS_SETTINGS = {"sign_in_port": 5062, "sip_internal_tcp": True}

# Placeholders that always take one value per SIP domain / per meet URL.
MANY_VALUED = {"sip_domain", "meet"}
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def load_toml(path):
    with open(path, "rb") as f:
        return tomllib.load(f)


def dns(name):
    return name.lower().rstrip(".")


def one(value):
    """A single-valued placeholder: no value at all when the field is absent or empty."""
    return [value] if value else []


def pattern_values(pool, simple_urls, dns_settings, server_fqdn):
    """Every placeholder's values (a list each), from spec tables as tomllib reads them."""
    pool_fqdn = dns(pool["fqdn"])
    sip_domains = [dns(d) for d in pool["sip_domains"]]
    server_fqdn = dns(server_fqdn)
    return {
        "pool_fqdn": [pool_fqdn],
        "pool_host": [pool_fqdn.split(".")[0]],
        "pool_domain": [pool_fqdn.partition(".")[2]],
        "sip_domain": sip_domains,
        "primary_sip_domain": sip_domains[:1],
        "server_fqdn": [server_fqdn],
        "server_host": [server_fqdn.split(".")[0]],
        "vip": one(pool.get("vip")),
        "web_fqdn": one(dns(pool.get("web_fqdn", ""))),
        "web_vip": one(pool.get("web_vip")),
        "web_external_fqdn": one(dns(pool.get("web_external_fqdn", ""))),
        "webconf_fqdn": one(dns(pool.get("webconf_fqdn", ""))),
        "meet": [dns(m) for m in simple_urls.get("meet", [])],
        "dialin": one(dns(simple_urls.get("dialin", ""))),
        "admin": one(dns(simple_urls.get("admin", ""))),
        "sign_in_port": [str(dns_settings.get("sign_in_port", 5061))],
        "sip_internal_tcp": one("true" if dns_settings.get("sip_internal_tcp") else ""),
    }


def expand(pattern, values):
    """A profile pattern expanded: one name per value of its many-valued placeholder ({sip_domain},
    {meet}, or any placeholder without exactly one value), in spec order; a placeholder with no
    value gives no name at all; at most one such placeholder per pattern."""
    names = PLACEHOLDER.findall(pattern)
    self_check = PLACEHOLDER.sub("", pattern)
    assert "{" not in self_check and "}" not in self_check, f"bad pattern {pattern!r}"
    varying = {n for n in names if n in MANY_VALUED or len(values[n]) != 1}
    assert len(varying) <= 1, f"{pattern!r}: two many-valued placeholders {sorted(varying)}"
    rounds = len(values[next(iter(varying))]) if varying else 1
    return [PLACEHOLDER.sub(lambda m: values[m.group(1)][i if m.group(1) in varying else 0],
                            pattern)
            for i in range(rounds)]


def expected_names(profile, values, extra_sans=()):
    """(common name, SANs): the CN first, then the profile's order, then extra_sans, duplicates
    collapsed."""
    [cn] = expand(profile["subject"]["cn"], values)
    sans = []
    for name in [cn] + [n for p in profile["san"]["dns"] for n in expand(p, values)] + \
            [dns(e) for e in extra_sans]:
        if name.lower() not in [s.lower() for s in sans]:
            sans.append(name.lower())
    return cn.lower(), sans


def profile_values(server_fqdn, full=True):
    pool = {"fqdn": POOL_FQDN, "sip_domains": SIP_DOMAINS, **(POOL_OPTIONAL if full else {})}
    return pattern_values(pool, SIMPLE_URLS if full else {}, DNS_SETTINGS if full else {},
                          server_fqdn)


def key_toml(key):
    lines = [f'type = "{key["type"]}"']
    if "bits" in key:
        lines.append(f'bits = {key["bits"]}')
    if "curve" in key:
        lines.append(f'curve = "{key["curve"]}"')
    return "\n".join(lines)


def spec_for_profile(profile_path, key, full=True):
    servers = "".join(f'\n[[server]]\nfqdn = "{s}"\n' for s in SERVER_FQDNS)
    sip = ", ".join(f'"{d}"' for d in SIP_DOMAINS)
    pool = extra = ""
    if full:
        pool = "".join(f'{k} = "{v}"\n' for k, v in POOL_OPTIONAL.items())
        meet = ", ".join(f'"{m}"' for m in SIMPLE_URLS["meet"])
        extra = (f'[simple_urls]\nmeet = [{meet}]\ndialin = "{SIMPLE_URLS["dialin"]}"\n'
                 f'admin = "{SIMPLE_URLS["admin"]}"\n\n'
                 f'[dns]\nsign_in_port = {DNS_SETTINGS["sign_in_port"]}\n'
                 f'sip_internal_tcp = {str(DNS_SETTINGS["sip_internal_tcp"]).lower()}\n\n')
    return (f'profile = "{profile_path}"\noutput_dir = "certs"\n\n'
            f'[pool]\nfqdn = "{POOL_FQDN}"\nsip_domains = [{sip}]\n{pool}\n{extra}'
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


def spec_profile(spec_path, ref):
    """A profile reference of a shipped spec, read: a name of templates/profiles/ or a path."""
    if "/" in ref or ref.endswith(".toml"):
        return load_toml(spec_path.parent / ref)
    return load_toml(h.PROFILES / f"{ref}.toml")


def spec_certificates(spec_path, spec):
    """[(certificate name or None, profile)]: the [[certificate]] list, else the top profile."""
    if "certificate" not in spec:
        return [(None, spec_profile(spec_path, spec["profile"]))]
    return [(c["name"], spec_profile(spec_path, c.get("profile", spec.get("profile"))))
            for c in spec["certificate"]]


class Inventory(unittest.TestCase):
    def test_templates_hold_specs_and_profiles(self):
        self.assertIn(h.EXAMPLE, SPEC_FILES)
        self.assertGreaterEqual(len(PROFILE_FILES), 2)

    def test_every_toml_file_parses(self):
        for path in ALL_TOML:
            with self.subTest(file=str(path.relative_to(h.TEMPLATES))):
                self.assertIsInstance(load_toml(path), dict)

    def test_some_spec_lists_several_certificates(self):
        self.assertTrue(any(len(load_toml(p).get("certificate", [])) > 1 for p in SPEC_FILES))


class Expansion(unittest.TestCase):
    """The Python expansion itself, so a mistake in it cannot hide one in poolcert."""

    def test_rules(self):
        values = {"a": ["x"], "sip_domain": ["d1", "d2"], "meet": ["m1"], "none": []}
        self.assertEqual(expand("p.{a}", values), ["p.x"])
        self.assertEqual(expand("{a}.{sip_domain}", values), ["x.d1", "x.d2"])
        self.assertEqual(expand("{meet}", values), ["m1"])
        self.assertEqual(expand("{none}", values), [])
        self.assertEqual(expand("{meet}", {"meet": []}), [])
        self.assertEqual(expand("lit", values), ["lit"])
        with self.assertRaises(AssertionError):
            expand("{meet}.{sip_domain}", values)
        with self.assertRaises(KeyError):
            expand("{unknown}", values)

    def test_every_profile_placeholder_is_known(self):
        known = profile_values(SERVER_FQDNS[0]).keys()
        for path in PROFILE_FILES:
            profile = load_toml(path)
            for pattern in [profile["subject"]["cn"]] + profile["san"]["dns"]:
                with self.subTest(profile=path.stem, pattern=pattern):
                    self.assertLessEqual(set(PLACEHOLDER.findall(pattern)), set(known))


class ShippedSpecs(h.TempDirTestCase):
    def test_every_spec_plans_where_it_lies(self):
        before = h.snapshot(h.TEMPLATES)
        for path in SPEC_FILES:
            with self.subTest(spec=str(path.relative_to(h.TEMPLATES))):
                doc = self.poolcert_json(["plan", str(path)], env={"POOLCERT_PROFILE_PATH": None})
                spec = load_toml(path)
                certificates = spec_certificates(path, spec)
                # One entry per server and certificate, server by server, in spec order.
                self.assertEqual([(s["server"], s["certificate"]) for s in doc["servers"]],
                                 [(dns(s["fqdn"]), name) for s in spec["server"]
                                  for name, _ in certificates])
                entries = iter(doc["servers"])
                for server_spec in spec["server"]:
                    values = pattern_values(spec["pool"], spec.get("simple_urls", {}),
                                            spec.get("dns", {}), server_spec["fqdn"])
                    for name, profile in certificates:
                        entry = next(entries)
                        with self.subTest(server=entry["server"], certificate=name):
                            cn, sans = expected_names(profile, values,
                                                      server_spec.get("extra_sans", []))
                            self.assertEqual(entry["common_name"], cn)
                            self.assertEqual(entry["sans"], sans)
                            self.assertEqual(entry["eku"], profile["eku"]["request"])
                            self.assertEqual(entry["template"],
                                             spec.get("template", profile.get("template")))
                            self.assertEqual(entry["exportable"],
                                             profile["key"].get("exportable", False))
                            stem = entry["server"] + (f".{name}" if name else "")
                            self.assertTrue(entry["key_path"].endswith(f"/{stem}.key"))
                            self.assertTrue(entry["csr_path"].endswith(f"/{stem}.csr"))
        self.assertEqual(h.snapshot(h.TEMPLATES), before, "plan wrote into templates/")

    def test_every_spec_plans_from_a_copy_through_poolcert_profile_path(self):
        for path in SPEC_FILES:
            with self.subTest(spec=path.name):
                copy = self.write_spec(path.read_text(), name=path.name)
                doc = self.poolcert_json(["plan", copy.name])
                spec = load_toml(path)
                self.assertEqual(len(doc["servers"]),
                                 len(spec["server"]) * len(spec_certificates(path, spec)))


class ShippedProfiles(h.TempDirTestCase):
    def plan(self, profile_path, key, full=True):
        folder = (self.tmp / f"{profile_path.stem}-{key['type']}-"
                  f"{key.get('bits', key.get('curve'))}-{'full' if full else 'bare'}")
        spec = self.write_spec(spec_for_profile(profile_path, key, full), folder=folder)
        return self.poolcert_json(["plan", spec.name], cwd=folder)

    def test_every_profile_declares_what_poolcert_needs(self):
        for path in PROFILE_FILES:
            with self.subTest(profile=path.stem):
                profile = load_toml(path)
                self.assertIn("cn", profile["subject"])
                self.assertTrue(profile["san"]["dns"])
                self.assertTrue(profile["eku"]["request"])
                self.assertIn(profile["key"]["default"], allowed_keys(profile))

    def check_profile(self, full):
        for path in PROFILE_FILES:
            profile = load_toml(path)
            doc = self.plan(path, profile["key"]["default"], full)
            self.assertEqual([s["server"] for s in doc["servers"]], SERVER_FQDNS)
            for server, fqdn in zip(doc["servers"], SERVER_FQDNS):
                with self.subTest(profile=path.stem, server=fqdn, full=full):
                    cn, sans = expected_names(profile, profile_values(fqdn, full))
                    self.assertEqual(server["server"], fqdn)
                    self.assertIsNone(server["certificate"])
                    self.assertEqual(server["common_name"], cn)
                    self.assertEqual(server["subject"], f"O=Example, CN={cn}")
                    self.assertEqual(server["sans"], sans)
                    self.assertEqual(server["eku"], profile["eku"]["request"])
                    self.assertEqual(server["key_usage"], profile["key_usage"])
                    self.assertEqual(server["signature_digest"], profile["signature"]["digest"])
                    self.assertEqual(server["template"], profile.get("template"))
                    self.assertEqual(server["exportable"], profile["key"].get("exportable", False))
                    self.assertTrue(server["key_path"].endswith(f"/{fqdn}.key"))

    def test_every_profile_drives_names_eku_and_key_usage(self):
        self.check_profile(full=True)

    def test_a_placeholder_without_a_value_gives_no_name(self):
        self.check_profile(full=False)

    def test_the_full_spec_gives_every_pattern_a_name(self):
        """So the comparison above covers every pattern of every profile."""
        for path in PROFILE_FILES:
            profile = load_toml(path)
            for pattern in [profile["subject"]["cn"]] + profile["san"]["dns"]:
                with self.subTest(profile=path.stem, pattern=pattern):
                    self.assertTrue(expand(pattern, profile_values(SERVER_FQDNS[0])))

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
                self.assertEqual(info["sans"],
                                 expected_names(profile, profile_values(SERVER_FQDNS[0]))[1])


if __name__ == "__main__":
    unittest.main()
