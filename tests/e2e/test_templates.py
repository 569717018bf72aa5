"""Every file under templates/ is loaded, so shipped examples and profiles cannot rot.

Specs go through `poolcert plan --json` where they lie, and every plan entry (one per server and
certificate, one per pool for a certificate the pool shares) is checked against an expansion in
Python of its profile's rules with the spec's own values: conditions (`when`/`unless`), the
many-valued families, the simple-URL wildcard standing for the names it covers, the CN as first
SAN whenever there is a SAN, wildcards last, the EKUs a switch adds, the product's defaults.
templates/products.toml is the product table, read here for keys and Mobility, not a spec.

Profiles are used by specs written here (profile_spec): "full" (every field and switch the
profile names, plus extra names on the certificate and its servers), "bare" (hardly any field,
switches off: rules without a value give no name), "wildcard" (full plus a simple-URL wildcard,
for the profiles that take one), and "defaults" once per product the profile applies to, with the
switches at that product's defaults and with every key the profile allows.
"""

import datetime
import json
import re
import tomllib
import unittest

import harness as h

ALL_TOML = sorted(h.TEMPLATES.rglob("*.toml"))
PRODUCTS_FILE = h.TEMPLATES / "products.toml"
PROFILE_FILES = [p for p in ALL_TOML if p.parent.name == "profiles"]
SPEC_FILES = [p for p in ALL_TOML if p.parent.name != "profiles" and p != PRODUCTS_FILE]

# Friendly names carry the request date: fixed through SOURCE_DATE_EPOCH.
EPOCH = 1767225600
REQUEST_DATE = datetime.datetime.fromtimestamp(EPOCH, datetime.timezone.utc).strftime("%Y-%m-%d")
DATE_ENV = {"SOURCE_DATE_EPOCH": str(EPOCH)}

PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
# Placeholders that take a list of values, by family: the members of one family expand together
# ({pool_in_sip_domain} is aligned with {sip_domain}); a pattern may name one family.
FAMILY = {"sip_domain": "sip_domain", "pool_in_sip_domain": "sip_domain", "meet": "meet",
          "xmpp_domain": "xmpp_domain", "published_web_fqdn": "published_web_fqdn"}
SERVER_PLACEHOLDERS = {"server_fqdn", "server_host", "server_address", "server_external_address",
                       "server_webconf_address", "server_av_address"}
RSA_ONLY_USAGES = {"keyEncipherment", "dataEncipherment"}  # RFC 5480 3: never on an EC key

# The pool of the specs written here. The SIP domains are not sorted, nor are the servers.
POOL_FQDN = "pool7.example.local"
SIP_DOMAINS = ["example.local", "example.com", "example.net"]
SERVER_FQDNS = ["fe02.example.local", "fe01.example.local"]
SERVER_ADDRESSES = {"fe02.example.local": ("10.1.2.12", "192.0.2.12"),
                    "fe01.example.local": ("10.1.2.11", "192.0.2.11")}
# [pool] fields, each given when the profile names its placeholder ("full"). The XMPP domains
# are not the SIP domains, so that a mix-up shows.
POOL_FIELDS = {"vip": "10.1.2.3", "web_fqdn": "web-int.example.local", "web_vip": "10.1.2.4",
               "web_external_fqdn": "web.example.com", "webconf_fqdn": "webconf.example.com",
               "access_fqdn": "access.example.com", "av_fqdn": "av.example.com",
               "external_vip": "192.0.2.10", "webconf_vip": "192.0.2.20", "av_vip": "192.0.2.30",
               "xmpp_domains": ["example.com", "example.org"],
               "published_web_fqdns": ["dirweb.example.com", "web2.example.net"]}
FIELD_PLACEHOLDER = {"xmpp_domains": "xmpp_domain", "published_web_fqdns": "published_web_fqdn"}
POOL_SWITCHES = ["auto_logon", "mobility", "public_im", "dns_load_balancing"]
DNS_SWITCHES = ["sip_internal_tcp", "sipinternal", "sipexternal", "lyncdiscover_cname"]
# meet.eu.example.com is two labels under WILDCARD: not covered by it (RFC 6125 6.4.3).
SIMPLE_URLS = {"meet": ["meet.example.local", "meet.example.com", "meet.eu.example.com"],
               "dialin": "dialin.example.com", "admin": "admin.example.local"}
WILDCARD = "*.example.com"
CERTIFICATE = "main"  # the [[certificate]] of the "full" and "wildcard" specs


def load_toml(path):
    with open(path, "rb") as f:
        return tomllib.load(f)


PRODUCTS = {p["name"]: p for p in load_toml(PRODUCTS_FILE)["product"]}


def dns(name):
    return name.lower().rstrip(".")


def one(value):
    """A single-valued placeholder: no value at all when the field is absent or empty."""
    return [value] if value else []


def switch(on):
    """A switch is a placeholder with the one value "true" when on, none when off."""
    return ["true"] if on else []


def as_list(value):
    """A `when` / `unless`: absent, one name, or a list of names."""
    return [] if value is None else [value] if isinstance(value, str) else list(value)


def unique(names):
    out = []
    for name in names:
        if name.lower() not in [n.lower() for n in out]:
            out.append(name)
    return out


# --- profiles and products, as tomllib reads them ---------------------------------------------

def san_rules(profile):
    """[{pattern, when, unless}]: a [san] dns entry is a pattern or a table {name, when, ...}."""
    rules = []
    for entry in profile["san"]["dns"]:
        if isinstance(entry, str):
            entry = {"name": entry}
        rules.append({"pattern": entry["name"], "when": as_list(entry.get("when")),
                      "unless": as_list(entry.get("unless"))})
    return rules


def profile_products(profile):
    """The products a profile applies to: those it lists, every product when it lists none."""
    return profile.get("products", list(PRODUCTS))


def is_shared(profile):
    return profile["key"].get("shared", False)


def takes_wildcards(profile):
    return profile["san"].get("wildcards", False)


def key_list(rules):
    """Every key a list of key rules ([key] allowed, a product's keys) permits, as [key] tables."""
    keys = []
    for rule in rules:
        keys += [{"type": rule["type"], "bits": bits} for bits in rule.get("bits", [])]
        keys += [{"type": rule["type"], "curve": curve} for curve in rule.get("curves", [])]
    return keys


def key_label(key):
    return f"{key['type']}-{key.get('bits', key.get('curve'))}"


def allowed_keys(profile, products=()):
    """The keys the profile allows that every one of `products` supports too."""
    return [k for k in key_list(profile["key"]["allowed"])
            if all(k in key_list(PRODUCTS[p]["keys"]) for p in products)]


def rule_products(spec_product, profiles):
    """The products a spec is read with: its own; else every product all its profiles apply to
    (in the product table's order); none when no profile lists any (the profiles' rules alone)."""
    if spec_product:
        return [spec_product]
    if not any("products" in p for p in profiles):
        return []
    return [n for n in PRODUCTS if all(n in profile_products(p) for p in profiles)]


def default_mobility(products):
    """Mobility is on unless the spec says, when every product has it by default; off when no
    product is known (a spec and profiles that name none)."""
    return bool(products) and all(PRODUCTS[p]["mobility"] == "default" for p in products)


def names_used(profile):
    """Every placeholder and switch the profile names: patterns, conditions, EKU switches, DNS."""
    used = set(PLACEHOLDER.findall(profile["subject"]["cn"]))
    for rule in san_rules(profile):
        used |= set(PLACEHOLDER.findall(rule["pattern"])) | set(rule["when"]) | set(rule["unless"])
    used |= set(profile["eku"].get("request_when", {}))
    for record in profile.get("dns", {}).get("record", []):
        for member in ("name", "address", "target", "port"):
            if isinstance(record.get(member), str):
                used |= set(PLACEHOLDER.findall(record[member]))
        used |= set(as_list(record.get("when"))) | set(as_list(record.get("unless")))
    return used


# --- placeholder values and the expansion -----------------------------------------------------

def pool_values(pool, simple_urls, dns_settings, mobility):
    """Every pool placeholder's and switch's values (a list each), from a spec's tables."""
    pool_fqdn = dns(pool["fqdn"])
    pool_host, _, pool_domain = pool_fqdn.partition(".")
    sip_domains = [dns(d) for d in pool["sip_domains"]]
    values = {
        "pool_fqdn": [pool_fqdn],
        "pool_host": [pool_host],
        "pool_domain": one(pool_domain),
        "sip_domain": sip_domains,
        # S4: the pool's name in D, <pool host>.<D> (the pool FQDN itself in its own domain).
        "pool_in_sip_domain": [f"{pool_host}.{d}" for d in sip_domains],
        "primary_sip_domain": sip_domains[:1],
        "xmpp_domain": [dns(d) for d in pool.get("xmpp_domains", sip_domains)],
        "published_web_fqdn": [dns(n) for n in pool.get("published_web_fqdns", [])],
        "meet": [dns(m) for m in simple_urls.get("meet", [])],
        "sign_in_port": [str(dns_settings.get("sign_in_port", 5061))],
        "auto_logon": switch(pool.get("auto_logon", True)),
        "mobility": switch(mobility),
        "public_im": switch(pool.get("public_im", False)),
        "dns_load_balancing": switch(pool.get("dns_load_balancing", False)),
    }
    for field in ("vip", "web_vip", "external_vip"):
        values[field] = one(pool.get(field))
    # The web conferencing and A/V Edge's own VIPs, else the Access Edge's.
    for field in ("webconf_vip", "av_vip"):
        values[field] = one(pool.get(field, pool.get("external_vip")))
    for field in ("web_fqdn", "web_external_fqdn", "webconf_fqdn", "access_fqdn", "av_fqdn"):
        values[field] = one(dns(pool.get(field, "")))
    for field in ("dialin", "admin"):
        values[field] = one(dns(simple_urls.get(field, "")))
    for name in DNS_SWITCHES:
        values[name] = switch(dns_settings.get(name, False))
    return values


def server_values(pool_vals, server):
    fqdn = dns(server["fqdn"])
    return {**pool_vals, "server_fqdn": [fqdn], "server_host": [fqdn.split(".")[0]],
            "server_address": one(server.get("address")),
            "server_external_address": one(server.get("external_address")),
            "server_webconf_address": one(server.get("webconf_address",
                                                     server.get("external_address"))),
            "server_av_address": one(server.get("av_address", server.get("external_address")))}


def expand(pattern, values):
    """A profile pattern expanded: one name per value of the family it names, in spec order, the
    family's members aligned; one name without a family; no name when a placeholder it names has
    no value. A pattern naming two families is a mistake; an unknown placeholder a KeyError."""
    names = PLACEHOLDER.findall(pattern)
    rest = PLACEHOLDER.sub("", pattern)
    assert "{" not in rest and "}" not in rest, f"bad pattern {pattern!r}"
    families = {FAMILY[n] for n in names if n in FAMILY}
    assert len(families) <= 1, f"{pattern!r}: two many-valued families {sorted(families)}"
    if not all(values[n] for n in names):
        return []
    varying = [n for n in names if n in FAMILY]
    assert all(len(values[n]) == 1 for n in names if n not in FAMILY), pattern
    rounds = len(values[varying[0]]) if varying else 1
    return [PLACEHOLDER.sub(lambda m: values[m[1]][i if m[1] in FAMILY else 0], pattern)
            for i in range(rounds)]


def condition_holds(rule, values):
    """Every `when` name has a value, no `unless` name has one."""
    return all(values[n] for n in rule["when"]) and not any(values[n] for n in rule["unless"])


def is_wildcard(name):
    return name.startswith("*.")


def wildcard_covers(wildcard, name):
    """RFC 6125 6.4.3: *.contoso.com stands for meet.contoso.com, not a.meet.contoso.com."""
    suffix = wildcard[1:]
    label = name[:-len(suffix)]
    return (is_wildcard(wildcard) and name.endswith(suffix) and label != ""
            and "." not in label and "*" not in label)


def expected_names(profile, values, extra_names=(), wildcard=None):
    """(common name, SANs): the names of the rules whose condition holds, then the extra names,
    then the simple-URL wildcard on a profile that takes wildcards, in place of the names of its
    wildcard_replaces patterns that it covers; the CN first whenever there is any SAN (none at all
    otherwise), every wildcard after every FQDN, duplicates collapsed."""
    [cn] = expand(profile["subject"]["cn"], values)
    if not takes_wildcards(profile):
        wildcard = None
    replaceable = profile["san"].get("wildcard_replaces", [])
    names = []
    for rule in san_rules(profile):
        if not condition_holds(rule, values):
            continue
        for name in map(dns, expand(rule["pattern"], values)):
            covered = wildcard and wildcard_covers(wildcard, name)
            if not (covered and rule["pattern"] in replaceable):
                names.append(name)
    names += [dns(n) for n in extra_names] + ([dns(wildcard)] if wildcard else [])
    if not names:
        return dns(cn), []
    fqdns = [n for n in names if not is_wildcard(n)]
    return dns(cn), unique([dns(cn)] + fqdns + [n for n in names if is_wildcard(n)])


def expected_ekus(profile, values):
    """(requested, required): the profile's, plus those request_when adds for a switch on."""
    extra = [e for name, ekus in profile["eku"].get("request_when", {}).items() if values[name]
             for e in ekus]
    return (unique(profile["eku"]["request"] + extra),
            unique(profile["eku"].get("require", []) + extra))


# --- specs ------------------------------------------------------------------------------------

def spec_profile(spec_path, ref):
    """A profile reference of a spec, read: a name of templates/profiles/ or a path."""
    if "/" in ref or ref.endswith(".toml"):
        return load_toml(spec_path.parent / ref)
    return load_toml(h.PROFILES / f"{ref}.toml")


def profile_name(ref):
    return ref.rsplit("/", 1)[-1].removesuffix(".toml")


def spec_certificates(spec_path, spec):
    """[{name (None for a spec without [[certificate]]), profile_name, profile, extra_sans}]."""
    if "certificate" not in spec:
        return [{"name": None, "profile_name": profile_name(spec["profile"]),
                 "profile": spec_profile(spec_path, spec["profile"]), "extra_sans": []}]
    out = []
    for c in spec["certificate"]:
        ref = c.get("profile", spec.get("profile"))
        out.append({"name": c["name"], "profile_name": profile_name(ref),
                    "profile": spec_profile(spec_path, ref), "extra_sans": c.get("extra_sans", [])})
    return out


def subject_text(spec, cn):
    attrs = [f"{a}={spec['subject'][a]}" for a in ("C", "ST", "L", "O", "OU")
             if a in spec.get("subject", {})]
    return ", ".join(attrs + [f"CN={cn}"])


def spec_values(spec, certificates):
    """(rule products, Mobility, the pool's placeholder values) of a spec as tomllib reads it."""
    products = rule_products(spec.get("product"), [c["profile"] for c in certificates])
    mobility = spec["pool"].get("mobility", default_mobility(products))
    return products, mobility, pool_values(spec["pool"], spec.get("simple_urls", {}),
                                           spec.get("dns", {}), mobility)


def expected_plan(spec_path, spec):
    """(the plan's "specs" entry, its "servers" entries) for a spec as tomllib reads it: first one
    entry per certificate the pool shares (named after the pool FQDN, no server placeholder),
    then server by server one entry per certificate of its own, in spec order."""
    certificates = spec_certificates(spec_path, spec)
    products, mobility, pool_vals = spec_values(spec, certificates)
    pool = spec["pool"]
    spec_key = spec.get("key", certificates[0]["profile"]["key"]["default"])
    wildcard = spec.get("simple_urls", {}).get("wildcard")
    members = [dns(s["fqdn"]) for s in spec["server"]]

    def entry(cert, owner, values, extra_names, key):
        profile = cert["profile"]
        cn, sans = expected_names(profile, values, extra_names, wildcard)
        eku, eku_required = expected_ekus(profile, values)
        shared = is_shared(profile)
        return {
            "server": owner, "shared": shared, "members": members if shared else None,
            "certificate": cert["name"], "profile": cert["profile_name"],
            "common_name": cn, "subject": subject_text(spec, cn), "sans": sans,
            "eku": eku, "eku_required": eku_required,
            "key_usage": [u for u in profile["key_usage"]
                          if key["type"] == "rsa" or u not in RSA_ONLY_USAGES],
            "key": key, "signature_digest": profile.get("signature", {}).get("digest", "sha256"),
            "template": spec.get("template", profile.get("template")),
            "exportable": profile["key"].get("exportable", False),
            "friendly_name": " ".join(p for p in (cn, cert["name"], REQUEST_DATE) if p),
            "stem": owner + (f".{cert['name']}" if cert["name"] else ""),
        }

    entries = [entry(c, dns(pool["fqdn"]), pool_vals, c["extra_sans"], spec_key)
               for c in certificates if is_shared(c["profile"])]
    for server in spec["server"]:
        values = server_values(pool_vals, server)
        for c in certificates:
            if is_shared(c["profile"]):
                continue
            # A server's extra_sans go on its one certificate: a spec with several certificates
            # says which one in certificate_sans (they no longer go on every certificate).
            extra = c["extra_sans"] + (server.get("extra_sans", []) if len(certificates) == 1
                                       else [])
            extra += server.get("certificate_sans", {}).get(c["name"], [])
            key = server.get("key", spec_key)
            entries.append(entry(c, dns(server["fqdn"]), values, extra, key))
    spec_entry = {"product": spec.get("product"), "rule_products": products,
                  "auto_logon": pool.get("auto_logon", True), "mobility": mobility,
                  "public_im": pool.get("public_im", False),
                  "dns_load_balancing": pool.get("dns_load_balancing", False)}
    return spec_entry, entries


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v)  # ASCII: a JSON string is a TOML basic string
    if isinstance(v, list):
        return "[" + ", ".join(map(toml_value, v)) + "]"
    return "{ " + ", ".join(f"{k} = {toml_value(x)}" for k, x in v.items()) + " }"


def dump_spec(doc):
    """A spec as TOML: top-level values, then [tables], then [[arrays of tables]]."""
    def body(table):
        return [f"{k} = {toml_value(v)}" for k, v in table.items()]
    arrays = {k: v for k, v in doc.items() if isinstance(v, list) and v and isinstance(v[0], dict)}
    tables = {k: v for k, v in doc.items() if isinstance(v, dict)}
    lines = body({k: v for k, v in doc.items() if k not in arrays and k not in tables})
    for name, table in tables.items():
        lines += ["", f"[{name}]"] + body(table)
    for name, items in arrays.items():
        for item in items:
            lines += ["", f"[[{name}]]"] + body(item)
    return "\n".join(lines) + "\n"


def profile_spec(profile_path, variant, product=None, key=None):
    """A spec (a dict, as tomllib reads it) for one profile, in one of these variants:
    full      every field the profile names given, every switch it names on, a named
              [[certificate]] with names of its own, and each server's own names where the
              certificate is not shared;
    wildcard  full, with the simple-URL wildcard and wildcard extra names;
    bare      only what the CN and the names the profile requires (`required = true`: S2's web
              conferencing FQDN) need (a DNS record naming a field not given is not made),
              auto_logon and mobility off, no [key] (the profile's default), no [[certificate]];
    defaults  every field the profile names given, no switch (each at the product's default)."""
    profile = load_toml(profile_path)
    used = names_used(profile)
    with_extras = variant in ("full", "wildcard")
    wanted = used
    if variant == "bare":
        wanted = set(PLACEHOLDER.findall(profile["subject"]["cn"]))
        for rule in profile["san"]["dns"]:
            if isinstance(rule, dict) and rule.get("required", False):
                wanted |= set(PLACEHOLDER.findall(rule["name"]))
    pool = {"fqdn": POOL_FQDN, "sip_domains": SIP_DOMAINS}
    pool.update({k: v for k, v in POOL_FIELDS.items() if FIELD_PLACEHOLDER.get(k, k) in wanted})
    settings = {"sign_in_port": 5062} if "sign_in_port" in wanted else {}
    if with_extras:
        # Only the switches the profile names: poolcert refuses one no profile of the spec uses.
        pool.update({s: True for s in POOL_SWITCHES if s in used})
        settings.update({s: True for s in DNS_SWITCHES if s in used})
    if variant == "bare":
        pool.update({"auto_logon": False, "mobility": False})
    doc = {"profile": str(profile_path)} if not with_extras else {}
    doc.update({"product": product} if product else {})
    doc.update({"output_dir": "certs", "pool": pool})
    urls = {k: v for k, v in SIMPLE_URLS.items() if k in wanted}
    urls.update({"wildcard": WILDCARD} if variant == "wildcard" else {})
    doc.update({"simple_urls": urls} if urls else {})
    doc.update({"dns": settings} if settings else {})
    doc.update({"key": key} if key else {})
    doc["subject"] = {"O": "Example"}
    servers = [{"fqdn": fqdn} for fqdn in SERVER_FQDNS]
    if variant != "bare":
        for server in servers:
            server["address"], server["external_address"] = SERVER_ADDRESSES[server["fqdn"]]
    if with_extras:
        # Names of the certificate's own (SIP.EXAMPLE.COM collapses with sip.<D>) and, where it
        # is not shared, of each server's own: extra_sans and certificate_sans.
        extra = ["extra.example.net", "SIP.EXAMPLE.COM"]
        extra += ["*.example.net"] if variant == "wildcard" else []
        doc["certificate"] = [{"name": CERTIFICATE, "profile": str(profile_path),
                               "extra_sans": extra}]
        for server in servers if not is_shared(profile) else []:
            host = server["fqdn"].split(".")[0]
            server["extra_sans"] = [f"alias-{host}.example.local"]
            server["certificate_sans"] = {CERTIFICATE: [f"{host}.example.net"] +
                                          ([WILDCARD] if variant == "wildcard" else [])}
    doc["server"] = servers
    return doc


def variants(profile):
    return ["full", "bare"] + (["wildcard"] if takes_wildcards(profile) else [])


class Inventory(unittest.TestCase):
    def test_templates_hold_specs_profiles_and_the_product_table(self):
        self.assertIn(h.EXAMPLE, SPEC_FILES)
        self.assertNotIn(PRODUCTS_FILE, SPEC_FILES)
        self.assertGreaterEqual(len(PROFILE_FILES), 2)
        self.assertEqual(list(PRODUCTS), ["ocs2007", "ocs2007r2", "lync2010", "lync2013",
                                          "sfb2015", "sfb2019", "sfbse"])

    def test_every_toml_file_parses(self):
        for path in ALL_TOML:
            with self.subTest(file=str(path.relative_to(h.TEMPLATES))):
                self.assertIsInstance(load_toml(path), dict)

    def test_some_spec_lists_several_certificates(self):
        self.assertTrue(any(len(load_toml(p).get("certificate", [])) > 1 for p in SPEC_FILES))

    def test_every_example_spec_names_its_product(self):
        for path in SPEC_FILES:
            with self.subTest(spec=path.name):
                self.assertIn(load_toml(path).get("product"), PRODUCTS)


class Expansion(unittest.TestCase):
    """The Python expansion itself, so a mistake in it cannot hide one in poolcert."""

    def test_rules(self):
        values = {"a": ["x"], "sip_domain": ["d1", "d2"], "pool_in_sip_domain": ["p.d1", "h.d2"],
                  "meet": ["m1"], "xmpp_domain": ["x1", "x2"], "none": []}
        self.assertEqual(expand("p.{a}", values), ["p.x"])
        self.assertEqual(expand("{a}.{sip_domain}", values), ["x.d1", "x.d2"])
        self.assertEqual(expand("{sip_domain}={pool_in_sip_domain}", values),
                         ["d1=p.d1", "d2=h.d2"])
        self.assertEqual(expand("{meet}", values), ["m1"])
        self.assertEqual(expand("*.{xmpp_domain}", values), ["*.x1", "*.x2"])
        self.assertEqual(expand("{none}", values), [])
        self.assertEqual(expand("{a}.{none}", values), [])
        self.assertEqual(expand("{meet}", {"meet": []}), [])
        self.assertEqual(expand("lit", values), ["lit"])
        for two_families in ("{meet}.{sip_domain}", "{xmpp_domain}.{pool_in_sip_domain}"):
            with self.assertRaises(AssertionError):
                expand(two_families, values)
        with self.assertRaises(KeyError):
            expand("{unknown}", values)

    def test_pool_in_sip_domain(self):
        values = pool_values({"fqdn": "Pool.A.Example", "sip_domains": ["b.example", "a.example"]},
                             {}, {}, mobility=False)
        self.assertEqual(values["pool_in_sip_domain"], ["pool.b.example", "pool.a.example"])
        self.assertEqual(values["xmpp_domain"], ["b.example", "a.example"])
        self.assertEqual(values["auto_logon"], ["true"])
        self.assertEqual(values["public_im"], [])

    def test_conditions(self):
        values = {"on": ["true"], "off": [], "field": ["x"]}
        self.assertTrue(condition_holds({"when": [], "unless": []}, values))
        self.assertTrue(condition_holds({"when": ["on", "field"], "unless": ["off"]}, values))
        self.assertFalse(condition_holds({"when": ["on", "off"], "unless": []}, values))
        self.assertFalse(condition_holds({"when": [], "unless": ["off", "on"]}, values))

    def test_wildcard_covers_one_label(self):
        self.assertTrue(wildcard_covers("*.contoso.com", "meet.contoso.com"))
        self.assertFalse(wildcard_covers("*.contoso.com", "a.meet.contoso.com"))
        self.assertFalse(wildcard_covers("*.contoso.com", "contoso.com"))
        self.assertFalse(wildcard_covers("*.contoso.com", "meet.notcontoso.com"))

    def test_names(self):
        profile = {"subject": {"cn": "{a}"},
                   "san": {"dns": ["{b}", {"name": "{c}", "when": "on"}, "*.{a}", "{a}"],
                           "wildcards": True, "wildcard_replaces": ["{b}"]}}
        values = {"a": ["a.example"], "b": ["b.example"], "c": ["c.example"], "on": []}
        # The CN first, wildcards after every FQDN, duplicates collapsed, case ignored.
        self.assertEqual(expected_names(profile, values, ["X.example", "A.EXAMPLE"]),
                         ("a.example", ["a.example", "b.example", "x.example", "*.a.example"]))
        # The wildcard stands for the names of wildcard_replaces patterns it covers, no others.
        self.assertEqual(expected_names(profile, values, ["x.example"], wildcard="*.example"),
                         ("a.example", ["a.example", "x.example", "*.a.example", "*.example"]))
        # No SAN derived: no SAN at all, not even the CN.
        bare = {"subject": {"cn": "{a}"}, "san": {"dns": [{"name": "{c}", "when": "on"}]}}
        self.assertEqual(expected_names(bare, values), ("a.example", []))
        # A profile without wildcards takes no simple-URL wildcard.
        self.assertEqual(expected_names(bare, values, wildcard="*.example"), ("a.example", []))

    def test_every_profile_placeholder_is_known(self):
        pool = pool_values({"fqdn": POOL_FQDN, "sip_domains": SIP_DOMAINS}, {}, {}, False)
        known = server_values(pool, {"fqdn": SERVER_FQDNS[0]}).keys()
        for path in PROFILE_FILES:
            with self.subTest(profile=path.stem):
                self.assertLessEqual(names_used(load_toml(path)), set(known))


class PlanChecks(h.TempDirTestCase):
    """plan --json of a spec against expected_plan."""

    def check_plan(self, spec_path, doc, spec):
        spec_entry, entries = expected_plan(spec_path, spec)
        (got_spec,) = doc["specs"]
        self.assertEqual({k: got_spec[k] for k in spec_entry}, spec_entry)
        self.assertEqual([(s["server"], s["certificate"]) for s in doc["servers"]],
                         [(e["server"], e["certificate"]) for e in entries])
        for got, want in zip(doc["servers"], entries):
            with self.subTest(server=want["server"], certificate=want["certificate"]):
                stem, key = want["stem"], want["key"]
                self.assertEqual({k: got[k] for k in want if k not in ("stem", "key")},
                                 {k: v for k, v in want.items() if k not in ("stem", "key")})
                self.assertEqual(got["key"]["type"], key["type"])
                self.assertEqual(got["key"].get("bits" if key["type"] == "rsa" else "curve"),
                                 key.get("bits" if key["type"] == "rsa" else "curve"))
                self.assertTrue(got["key_path"].endswith(f"/{stem}.key"), got["key_path"])
                self.assertTrue(got["csr_path"].endswith(f"/{stem}.csr"), got["csr_path"])
        return entries


class ShippedSpecs(PlanChecks):
    def test_every_spec_plans_where_it_lies(self):
        before = h.snapshot(h.TEMPLATES)
        for path in SPEC_FILES:
            with self.subTest(spec=str(path.relative_to(h.TEMPLATES))):
                doc = self.poolcert_json(["plan", str(path)],
                                         env={"POOLCERT_PROFILE_PATH": None, **DATE_ENV})
                self.check_plan(path, doc, load_toml(path))
        self.assertEqual(h.snapshot(h.TEMPLATES), before, "plan wrote into templates/")

    def test_every_spec_plans_from_a_copy_through_poolcert_profile_path(self):
        for path in SPEC_FILES:
            with self.subTest(spec=path.name):
                copy = self.write_spec(path.read_text(), name=path.name)
                doc = self.poolcert_json(["plan", copy.name], env=DATE_ENV)
                self.check_plan(path, doc, load_toml(path))


class ShippedProfiles(PlanChecks):
    def write_profile_spec(self, path, variant, product=None, key=None):
        name = "-".join(str(p) for p in (path.stem, variant, product, key and key_label(key)) if p)
        text = dump_spec(profile_spec(path, variant, product, key))
        # The oracle reads the spec the way it reads a shipped one: what tomllib makes of it.
        return self.write_spec(text, folder=self.tmp / name), tomllib.loads(text)

    def plan(self, path, variant, product=None, key=None):
        spec_path, spec = self.write_profile_spec(path, variant, product, key)
        return spec_path, spec, self.poolcert_json(["plan", spec_path.name], cwd=spec_path.parent,
                                                   env=DATE_ENV)

    def test_every_profile_declares_what_poolcert_needs(self):
        for path in PROFILE_FILES:
            with self.subTest(profile=path.stem):
                profile = load_toml(path)
                patterns = [r["pattern"] for r in san_rules(profile)]
                self.assertTrue(profile.get("role"))
                self.assertLessEqual(set(profile_products(profile)), set(PRODUCTS))
                self.assertFalse({FAMILY.get(n) for n in PLACEHOLDER.findall(
                    profile["subject"]["cn"])} - {None}, "the CN is one name")
                # Shipped profiles request Server Authentication alone; Client Authentication
                # only with public IM connectivity (it was requested on every Edge before).
                self.assertEqual(profile["eku"]["request"], ["serverAuth"])
                for name, ekus in profile["eku"].get("request_when", {}).items():
                    self.assertEqual((name, ekus), ("public_im", ["clientAuth"]))
                # The default key serves a spec of any product the profile applies to.
                for product in profile_products(profile):
                    self.assertIn(profile["key"]["default"], allowed_keys(profile, [product]))
                replaces = profile["san"].get("wildcard_replaces", [])
                self.assertLessEqual(set(replaces), set(patterns))
                self.assertTrue(takes_wildcards(profile) or not replaces)
                self.assertLessEqual(set(profile["san"].get("exclusive", [])), set(patterns))
                if is_shared(profile):
                    self.assertFalse(names_used({**profile, "dns": {}}) & SERVER_PLACEHOLDERS,
                                     "a shared certificate's names are the pool's")

    def test_every_profile_drives_names_eku_and_key_usage(self):
        for path in PROFILE_FILES:
            for variant in variants(load_toml(path)):
                with self.subTest(profile=path.stem, variant=variant):
                    spec_path, spec, doc = self.plan(path, variant)
                    self.check_plan(spec_path, doc, spec)

    def test_the_full_spec_gives_every_rule_a_name(self):
        """So the comparison above covers every rule of every profile."""
        for path in PROFILE_FILES:
            profile = load_toml(path)
            spec = profile_spec(path, "full")
            _, _, pool_vals = spec_values(spec, [{"profile": profile}])
            values = server_values(pool_vals, spec["server"][0])
            cn_rule = {"pattern": profile["subject"]["cn"], "when": [], "unless": []}
            for rule in [cn_rule] + san_rules(profile):
                with self.subTest(profile=path.stem, pattern=rule["pattern"]):
                    self.assertTrue(condition_holds(rule, values))
                    self.assertTrue(expand(rule["pattern"], values))

    def test_every_product_reads_the_profile_with_its_defaults(self):
        for path in PROFILE_FILES:
            for product in profile_products(load_toml(path)):
                with self.subTest(profile=path.stem, product=product):
                    spec_path, spec, doc = self.plan(path, "defaults", product)
                    self.check_plan(spec_path, doc, spec)

    def test_a_product_the_profile_does_not_apply_to_is_refused(self):
        for path in PROFILE_FILES:
            for product in sorted(set(PRODUCTS) - set(profile_products(load_toml(path)))):
                with self.subTest(profile=path.stem, product=product):
                    spec_path, _ = self.write_profile_spec(path, "defaults", product)
                    rc, _, err = self.poolcert(["plan", spec_path.name], cwd=spec_path.parent)
                    self.assertEqual(rc, 2, err)
                    self.assertIn(f"does not apply to {product}", err)

    def test_every_key_the_profile_and_product_allow_is_accepted(self):
        for path in PROFILE_FILES:
            profile = load_toml(path)
            for product in profile_products(profile):
                supported = allowed_keys(profile, [product])
                for key in key_list(profile["key"]["allowed"]):
                    with self.subTest(profile=path.stem, product=product, key=key_label(key)):
                        spec_path, _ = self.write_profile_spec(path, "defaults", product, key)
                        rc, out, err = self.poolcert(["plan", spec_path.name, "--json"],
                                                     cwd=spec_path.parent)
                        if key not in supported:  # e.g. ECDSA before Lync Server 2013
                            self.assertEqual(rc, 2, out)
                            self.assertIn("is not allowed by profile", err)
                            continue
                        self.assertEqual(rc, 0, err)
                        for server in json.loads(out)["servers"]:
                            self.assertEqual(server["key"]["type"], key["type"])
                            self.assertEqual(server["key"]["bits" if "bits" in key else "curve"],
                                             key.get("bits", key.get("curve")))

    def test_every_profile_makes_a_csr_openssl_verifies(self):
        for path in PROFILE_FILES:
            for variant in ("full", "wildcard") if takes_wildcards(load_toml(path)) else ("full",):
                with self.subTest(profile=path.stem, variant=variant):
                    spec_path, spec = self.write_profile_spec(path, variant)
                    self.poolcert_json(["csr", spec_path.name, "--server", SERVER_FQDNS[0]],
                                       cwd=spec_path.parent, env=DATE_ENV)
                    _, entries = expected_plan(spec_path, spec)
                    made = [e for e in entries if e["server"] in (SERVER_FQDNS[0], POOL_FQDN)]
                    self.assertTrue(made)
                    for entry in made:
                        info = h.openssl_req(spec_path.parent / "certs" / f"{entry['stem']}.csr")
                        self.assertTrue(info["verified"], info["stderr"])
                        # No SAN derived: the request has no SAN extension at all.
                        self.assertEqual(info["sans"], entry["sans"] or None)
                        self.assertEqual(info["eku"], entry["eku"])


if __name__ == "__main__":
    unittest.main()
