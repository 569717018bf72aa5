"""Shared helpers for poolcert's end-to-end tests.

The tests run the built binary ($POOLCERT) in temporary folders and check what it wrote with
parsers we did not write: OpenSSL's `openssl req`, GnuTLS's `certtool`, and Python's
`cryptography` (Debian's python3-cryptography). Run them with Debian's /usr/bin/python3.

Environment: POOLCERT = path of the poolcert binary, POOLCERT_SOURCE = the repository root.
"""

import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import tempfile
import unittest
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

POOLCERT = os.environ["POOLCERT"]
SOURCE = os.environ["POOLCERT_SOURCE"]

TEMPLATES = Path(SOURCE) / "templates"
PROFILES = TEMPLATES / "profiles"
EXAMPLE = TEMPLATES / "ocs2007-enterprise.toml"
PRODUCTS = TEMPLATES / "products.toml"  # the product table built into poolcert: not a spec
GOLDEN = Path(SOURCE) / "tests" / "golden"

POOL = "ocspool.company.local"
SERVERS = ["ocssrv01.company.local", "ocssrv02.company.local"]


def expected_sans(server_fqdn):
    """The SAN list issue 3 gives for a server of the reference deployment, in order."""
    return ["ocspool.company.local", "sip.company.local", "sip.company.com",
            "ocspool.company.com", server_fqdn]


# --- running things ---------------------------------------------------------------------------

def run(args, cwd, env=None, input=None, timeout=120):
    """Runs argv `args` in `cwd`; returns (rc, stdout, stderr) as text.

    `env` entries are added to (not substituted for) the inherited environment; a value of None
    removes the variable. stdin is /dev/null unless `input` is given, so it is never a terminal.
    """
    full_env = dict(os.environ)
    for key, value in (env or {}).items():
        if value is None:
            full_env.pop(key, None)
        else:
            full_env[key] = value
    proc = subprocess.run(
        [str(a) for a in args], cwd=str(cwd), env=full_env, timeout=timeout,
        input=input, stdin=None if input is not None else subprocess.DEVNULL,
        capture_output=True, text=True)
    return proc.returncode, proc.stdout, proc.stderr


def poolcert(args, cwd, env=None, input=None, timeout=120, umask=None):
    """Runs poolcert with `args`. With `umask` set, runs it under that umask via sh."""
    if umask is None:
        return run([POOLCERT, *args], cwd, env=env, input=input, timeout=timeout)
    wrapper = ["sh", "-c", f'umask {umask:03o}; exec "$@"', "sh", POOLCERT, *args]
    return run(wrapper, cwd, env=env, input=input, timeout=timeout)


# An SfB 2019 Edge pool of two on Microsoft's example names (S2): its internal and external
# certificates, both the pool's ([key] shared). `extra` goes into [pool].
EDGE_POOL_SPEC = """product = "sfb2019"
output_dir = "out"
[pool]
fqdn = "sfbedge.contoso.com"
sip_domains = ["contoso.com", "fabrikam.com"]
webconf_fqdn = "webcon.contoso.com"
{extra}
[[certificate]]
name = "edge-internal"
profile = "lync-sfb-edge-internal"
[[certificate]]
name = "edge-external"
profile = "lync-sfb-edge-external"
[[server]]
fqdn = "edge01.contoso.net"
[[server]]
fqdn = "edge02.contoso.net"
"""


def example_specs():
    """The example specs shipped under templates/ (every .toml there but the product table)."""
    return sorted(p for p in TEMPLATES.glob("*.toml") if p != PRODUCTS)


def profile_env():
    """Makes the shipped profiles resolvable explicitly, wherever the spec was copied."""
    return {"POOLCERT_PROFILE_PATH": str(PROFILES)}


# The request date golden files are made with (friendly names carry it): 2026-12-03, as
# scripts/regen-golden sets it.
GOLDEN_DATE_EPOCH = "1796256000"


def golden_env():
    """profile_env, and the request date of the golden files (SOURCE_DATE_EPOCH)."""
    return {**profile_env(), "SOURCE_DATE_EPOCH": GOLDEN_DATE_EPOCH}


# --- files ------------------------------------------------------------------------------------

def snapshot(folder):
    """{relative path: (sha256 of bytes or None for a folder, mode)} for everything under folder.

    Returns None when the folder does not exist, so "not even created" compares too.
    """
    folder = Path(folder)
    if not folder.exists():
        return None
    result = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = Path(root) / name
            st = path.lstat()
            rel = str(path.relative_to(folder))
            if stat.S_ISREG(st.st_mode):
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                digest = None
            result[rel] = (digest, stat.S_IMODE(st.st_mode))
    return result


def file_mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def poolcert_temp_files(folder):
    """Leftover poolcert temporary files (hidden names containing `.poolcert-`) under folder."""
    found = []
    for root, dirs, files in os.walk(folder):
        found += [os.path.join(root, n) for n in dirs + files if ".poolcert-" in n]
    return found


def copy_example(dest_dir, name="spec.toml", text=None):
    """Writes the reference spec (or `text`) into dest_dir/name and returns its path."""
    dest = Path(dest_dir) / name
    dest.parent.mkdir(parents=True, exist_ok=True)
    if text is None:
        shutil.copyfile(EXAMPLE, dest)
    else:
        dest.write_text(text)
    return dest


ECDSA_POOL_PROFILE = Path(SOURCE) / "tests" / "data" / "ecdsa-pool-profile.toml"


def pool_fqdns(n):
    """The server names of write_pool_spec's spec: srv0001.company.local, ..."""
    return [f"srv{i:04d}.company.local" for i in range(1, n + 1)]


def write_pool_spec(folder, n, key="ecdsa", name="spec.toml"):
    """scripts/bench's spec: `n` servers (pool_fqdns), ECDSA P-256 (or RSA 2048) keys, output
    to `out`, under tests/data/ecdsa-pool-profile.toml copied beside it. Returns the spec path."""
    folder = Path(folder)
    shutil.copyfile(ECDSA_POOL_PROFILE, folder / "ecdsa-pool-profile.toml")
    key_lines = 'type = "rsa"\nbits = 2048' if key == "rsa" else 'type = "ecdsa"\ncurve = "P-256"'
    text = f"""\
profile = "ecdsa-pool-profile.toml"
output_dir = "out"
[pool]
fqdn = "ocspool.company.local"
sip_domains = ["company.local", "company.com"]
[key]
{key_lines}
[subject]
O = "Company"
"""
    text += "".join(f'[[server]]\nfqdn = "{fqdn}"\n' for fqdn in pool_fqdns(n))
    spec = folder / name
    spec.write_text(text)
    return spec


def poolcert_ok(args, cwd, what, **kw):
    """poolcert(...) for a set-up step that must work: raises AssertionError naming `what`, with
    poolcert's output, when it exits non-zero. Returns (stdout, stderr)."""
    rc, out, err = poolcert(args, cwd, **kw)
    if rc != 0:
        raise AssertionError(f"poolcert {what} failed ({rc}):\n{out}\n{err}")
    return out, err


def module_temp_dir(prefix):
    """A temporary folder for a module's shared fixture, removed when the module's tests end."""
    tmp = tempfile.TemporaryDirectory(prefix=prefix)
    unittest.addModuleCleanup(tmp.cleanup)
    return Path(tmp.name)


def make_example_keys(folder):
    """Copies the reference spec into `folder` and runs `poolcert csr` on it; returns the spec
    and the key folder (the spec's output_dir, `out`). Raises when csr fails."""
    spec = copy_example(folder)
    poolcert_ok(["csr", spec], folder, "csr", env=profile_env())
    return spec, Path(folder) / "out"


def example_text():
    return EXAMPLE.read_text()


def sha256_file(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# --- oracles we did not write -----------------------------------------------------------------

_EKU_NAMES = {
    # openssl req -text
    "TLS Web Server Authentication": "serverAuth",
    "TLS Web Client Authentication": "clientAuth",
    # certtool --crq-info
    "TLS WWW Server.": "serverAuth",
    "TLS WWW Client.": "clientAuth",
}
_KU_NAMES = {
    "Digital Signature": "digitalSignature", "Key Encipherment": "keyEncipherment",
    "Digital signature.": "digitalSignature", "Key encipherment.": "keyEncipherment",
}


def openssl_req(path):
    """`openssl req -verify -noout -text -in path`, parsed into a plain dict.

    Keys: rc, verified (stdout+stderr says "verify OK"), subject (sorted "K=V" list), sans (DNS
    names in order), eku, key_usage, key_usage_critical, key_algorithm, key_bits,
    signature_algorithm, text (raw).
    """
    path = os.path.abspath(path)
    rc, out, err = run(["openssl", "req", "-verify", "-noout", "-text", "-in", path], cwd="/")
    info = {"rc": rc, "text": out, "stderr": err,
            "verified": "verify OK" in (out + err) and "verify failure" not in (out + err)}
    lines = out.splitlines()

    def after(header):
        for i, line in enumerate(lines):
            if line.strip().startswith(header):
                return line.strip(), (lines[i + 1].strip() if i + 1 < len(lines) else "")
        return None, None

    m = re.search(r"^\s*Subject:\s*(.*)$", out, re.M)
    info["subject"] = sorted(p.replace(" = ", "=").strip()
                             for p in m.group(1).split(", ")) if m else None
    _, san_line = after("X509v3 Subject Alternative Name")
    info["sans"] = ([p.strip()[len("DNS:"):] for p in san_line.split(",")]
                    if san_line is not None else None)
    _, eku_line = after("X509v3 Extended Key Usage")
    info["eku"] = ([_EKU_NAMES.get(p.strip(), p.strip()) for p in eku_line.split(",")]
                   if eku_line is not None else None)
    ku_header, ku_line = after("X509v3 Key Usage")
    info["key_usage"] = ([_KU_NAMES.get(p.strip(), p.strip()) for p in ku_line.split(",")]
                         if ku_line is not None else None)
    info["key_usage_critical"] = bool(ku_header and ku_header.endswith("critical"))
    m = re.search(r"Public Key Algorithm:\s*(\S+)", out)
    info["key_algorithm"] = m.group(1) if m else None
    m = re.search(r"Public-Key:\s*\((\d+) bit\)", out)
    info["key_bits"] = int(m.group(1)) if m else None
    m = re.search(r"^\s*Signature Algorithm:\s*(\S+)", out, re.M)
    info["signature_algorithm"] = m.group(1) if m else None
    return info


def certtool_crq(path):
    """GnuTLS `certtool --crq-info --infile path`, parsed into a plain dict.

    Keys: rc, verified ("Self signature: verified"), subject (sorted "K=V" list), sans, eku,
    key_usage, key_usage_critical, key_algorithm, key_bits, signature_algorithm, text.
    """
    path = os.path.abspath(path)
    rc, out, err = run(["certtool", "--crq-info", "--infile", path], cwd="/")
    info = {"rc": rc, "text": out, "stderr": err,
            "verified": re.search(r"Self signature: verified", out) is not None}
    m = re.search(r"^\s*Subject:\s*(.*)$", out, re.M)
    info["subject"] = sorted(p.strip() for p in m.group(1).split(",")) if m else None

    def block(header_re):
        """The indented lines under the first header matching header_re, and the header."""
        lines = out.splitlines()
        for i, line in enumerate(lines):
            if re.match(header_re, line.strip()):
                indent = len(line) - len(line.lstrip("\t "))
                items = []
                for nxt in lines[i + 1:]:
                    if len(nxt) - len(nxt.lstrip("\t ")) <= indent or not nxt.strip():
                        break
                    items.append(nxt.strip())
                return line.strip(), items
        return None, None

    _, san = block(r"Subject Alternative Name")
    info["sans"] = ([s[len("DNSname: "):] for s in san if s.startswith("DNSname: ")]
                    if san is not None else None)
    _, eku = block(r"Key Purpose")
    info["eku"] = [_EKU_NAMES.get(s, s) for s in eku] if eku is not None else None
    ku_header, ku = block(r"Key Usage")
    info["key_usage"] = [_KU_NAMES.get(s, s) for s in ku] if ku is not None else None
    info["key_usage_critical"] = bool(ku_header and "(critical)" in ku_header)
    m = re.search(r"Subject Public Key Algorithm:\s*(\S+)", out)
    info["key_algorithm"] = m.group(1) if m else None
    m = re.search(r"Modulus \(bits (\d+)\)", out) or re.search(r"\((\d+) bits\)", out)
    info["key_bits"] = int(m.group(1)) if m else None
    m = re.search(r"^\s*Signature Algorithm:\s*(\S+)", out, re.M)
    info["signature_algorithm"] = m.group(1) if m else None
    return info


def load_csr(path):
    """python-cryptography's reading of a PEM CSR."""
    return x509.load_pem_x509_csr(Path(path).read_bytes())


def crypto_csr(path):
    """python-cryptography's reading of a PEM CSR as the same plain dict as openssl_req."""
    csr = load_csr(path)
    exts = csr.extensions

    def ext(cls):
        try:
            return exts.get_extension_for_class(cls)
        except x509.ExtensionNotFound:
            return None

    san = ext(x509.SubjectAlternativeName)
    eku = ext(x509.ExtendedKeyUsage)
    ku = ext(x509.KeyUsage)
    key = csr.public_key()
    key_usage = None
    if ku is not None:
        key_usage = [name for name, attr in (
            ("digitalSignature", "digital_signature"), ("contentCommitment", "content_commitment"),
            ("keyEncipherment", "key_encipherment"), ("dataEncipherment", "data_encipherment"),
            ("keyAgreement", "key_agreement"), ("keyCertSign", "key_cert_sign"),
            ("cRLSign", "crl_sign")) if getattr(ku.value, attr)]
    return {
        "verified": csr.is_signature_valid,
        "subject": sorted(name_components(csr.subject)),
        "sans": san.value.get_values_for_type(x509.DNSName) if san else None,
        "other_sans": ([g for g in san.value if not isinstance(g, x509.DNSName)]
                       if san else None),
        "eku": [o._name for o in eku.value] if eku else None,
        "key_usage": key_usage,
        "key_usage_critical": bool(ku and ku.critical),
        "key_algorithm": ("rsaEncryption" if isinstance(key, rsa.RSAPublicKey)
                          else "id-ecPublicKey" if isinstance(key, ec.EllipticCurvePublicKey)
                          else type(key).__name__),
        "key_bits": key.key_size,
        "signature_algorithm": csr.signature_algorithm_oid._name,
        "spki_sha256": spki_sha256(key),
    }


_SHORT_NAMES = {
    NameOID.COMMON_NAME: "CN", NameOID.ORGANIZATION_NAME: "O",
    NameOID.ORGANIZATIONAL_UNIT_NAME: "OU", NameOID.LOCALITY_NAME: "L",
    NameOID.STATE_OR_PROVINCE_NAME: "ST", NameOID.COUNTRY_NAME: "C",
}


def name_components(name):
    """An x509.Name as "K=V" strings in DER order (O before CN when the DER has it so)."""
    return [f"{_SHORT_NAMES.get(a.oid, a.oid.dotted_string)}={a.value}" for a in name]


def spki_sha256(public_key):
    der = public_key.public_bytes(serialization.Encoding.DER,
                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def key_public_pem(key_path, passin=None):
    """`openssl pkey -in K -pubout`: the public half of a private key file, as PEM text."""
    args = ["openssl", "pkey", "-in", os.path.abspath(key_path), "-pubout"]
    if passin:
        args += ["-passin", passin]
    rc, out, err = run(args, cwd="/")
    if rc != 0:
        raise AssertionError(f"openssl pkey failed on {key_path}: {err}")
    return out


def csr_public_pem(csr_path):
    """`openssl req -pubkey -noout -in CSR`: the CSR's public key, as PEM text."""
    rc, out, err = run(["openssl", "req", "-pubkey", "-noout", "-in", os.path.abspath(csr_path)],
                       cwd="/")
    if rc != 0:
        raise AssertionError(f"openssl req -pubkey failed on {csr_path}: {err}")
    return out


def openssl_key_check(key_path, passin=None):
    """`openssl pkey -check -noout`: (rc, stdout+stderr)."""
    args = ["openssl", "pkey", "-in", os.path.abspath(key_path), "-check", "-noout"]
    if passin:
        args += ["-passin", passin]
    rc, out, err = run(args, cwd="/")
    return rc, out + err


# --- errors -----------------------------------------------------------------------------------

ERROR_PREFIX = "poolcert: error: "


def error_lines(stderr):
    return [line for line in stderr.splitlines() if line.strip()]


def parse_spec_error(line):
    """Splits `poolcert: error: <file>:<line>:<col>: <field>: <message>`.

    Returns dict(file, line, col, field, message); line/col None when the message has none.
    """
    if not line.startswith(ERROR_PREFIX):
        return None
    rest = line[len(ERROR_PREFIX):]
    m = re.match(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): (?P<field>[^\s:]+): (?P<msg>.*)$",
                 rest)
    if m:
        return {"file": m["file"], "line": int(m["line"]), "col": int(m["col"]),
                "field": m["field"], "message": m["msg"]}
    m = re.match(r"^(?P<file>.+?): (?P<field>[^\s:]+): (?P<msg>.*)$", rest)
    if m:
        return {"file": m["file"], "line": None, "col": None, "field": m["field"],
                "message": m["msg"]}
    return None


# --- test base --------------------------------------------------------------------------------

class TempDirTestCase(unittest.TestCase):
    """A TestCase whose every test gets a fresh temporary folder, self.tmp (a Path)."""

    maxDiff = None

    def setUp(self):
        super().setUp()
        self._tmp = tempfile.TemporaryDirectory(prefix="poolcert-e2e-")
        self.addCleanup(self._tmp.cleanup)
        self.tmp = Path(self._tmp.name)

    # Conveniences -----------------------------------------------------------------------------

    def write_spec(self, text=None, name="spec.toml", folder=None):
        """Writes the reference spec (or `text`) into the temp folder; returns its path."""
        return copy_example(folder or self.tmp, name=name, text=text)

    def poolcert(self, args, cwd=None, env=None, **kw):
        """Runs poolcert in self.tmp (or cwd) with the shipped profiles resolvable."""
        full_env = profile_env()
        full_env.update(env or {})
        return poolcert(args, cwd or self.tmp, env=full_env, **kw)

    def poolcert_json(self, args, cwd=None, env=None, **kw):
        """Runs poolcert with --json, asserts exit 0, returns the parsed stdout."""
        rc, out, err = self.poolcert([*args, "--json"], cwd=cwd, env=env, **kw)
        self.assertEqual(rc, 0, f"poolcert {' '.join(map(str, args))} failed:\n{err}")
        try:
            return json.loads(out)
        except ValueError as e:
            self.fail(f"stdout is not JSON ({e}):\n{out}")

    def assertOneErrorLine(self, stderr):
        """stderr holds exactly one non-empty line, starting `poolcert: error: `; returns it."""
        lines = error_lines(stderr)
        self.assertEqual(len(lines), 1, f"expected one error line on stderr, got:\n{stderr}")
        self.assertTrue(lines[0].startswith(ERROR_PREFIX), lines[0])
        return lines[0]

    def assertSpecError(self, stderr, file, line, col, field, message_substring):
        """The one stderr line is `poolcert: error: file:line:col: field: ...substring...`.

        `line`/`col` None means the message must carry no place; `col` may be a set of allowed
        columns.
        """
        text = self.assertOneErrorLine(stderr)
        parsed = parse_spec_error(text)
        self.assertIsNotNone(parsed, f"not of the form file:line:col: field: message: {text}")
        self.assertEqual(parsed["file"], str(file), text)
        self.assertEqual(parsed["line"], line, text)
        if isinstance(col, (set, frozenset)):
            self.assertIn(parsed["col"], col, text)
        else:
            self.assertEqual(parsed["col"], col, text)
        self.assertEqual(parsed["field"], field, text)
        self.assertIn(message_substring.lower(), parsed["message"].lower(), text)
        return parsed
