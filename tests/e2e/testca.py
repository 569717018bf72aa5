"""A test certificate authority for poolcert's end-to-end tests, made at test time.

Everything here is done by the `openssl` command line, not by poolcert and not by Python
crypto, so the certificates poolcert checks come from a third party:

- a root (CA:TRUE, keyCertSign) and an intermediate signed by it, as an enterprise CA has;
- a second, unrelated root that is in no bundle;
- `TestCA.issue(csr, out, **defects)` signs a leaf from a poolcert CSR with `openssl ca`, the way
  the intermediate would: serverAuth+clientAuth, digitalSignature+keyEncipherment, CA:FALSE,
  SHA-256, 365 days, an HTTP CRL distribution point and an authorityInfoAccess caIssuers URI. Each
  keyword argument breaks one of those things on purpose (see `issue`);
- helpers that write what CAs really hand back: PEM, DER (.cer) and PKCS#7 (.p7b, PEM or DER).

`openssl ca` (not `openssl x509 -req`) is used for leaves because OpenSSL 3.0's `x509` cannot
set notBefore/notAfter, and expired / not-yet-valid certificates need real dates.
"""

import datetime
import itertools
import subprocess
from pathlib import Path

from cryptography import x509

CDP_HTTP = "http://pki.company.local/crl/inter.crl"
CDP_LDAP = "ldap:///CN=inter,CN=CDP,DC=company,DC=local?certificateRevocationList"
AIA_CA_ISSUERS = "http://pki.company.local/inter.cer"

_EKU_OIDS = {"serverAuth": "serverAuth", "clientAuth": "clientAuth",
             "codeSigning": "codeSigning", "emailProtection": "emailProtection"}

_CA_CONFIG = """\
# Minimal `openssl ca` configuration for the poolcert e2e test CA.
[ca]
default_ca = test_ca

[test_ca]
dir = {dir}
database = $dir/index.txt
new_certs_dir = $dir/newcerts
serial = $dir/serial
default_md = sha256
default_days = 365
policy = policy_anything
unique_subject = no
email_in_dn = no
copy_extensions = none
# Needed for -gencrl only.
crlnumber = $dir/crlnumber
default_crl_days = 30

[policy_anything]
countryName = optional
stateOrProvinceName = optional
localityName = optional
organizationName = optional
organizationalUnitName = optional
commonName = optional
emailAddress = optional

[req]
distinguished_name = req_dn
prompt = no

[req_dn]
CN = unused
"""

_CA_EXTENSIONS = """\
[root_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[inter_ext]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
"""


def run_openssl(args, cwd=None, input=None):
    """Runs `openssl args...`; raises AssertionError with its stderr when it fails."""
    proc = subprocess.run(["openssl", *[str(a) for a in args]], cwd=cwd, input=input,
                          stdin=subprocess.DEVNULL if input is None else None,
                          capture_output=True)
    if proc.returncode != 0:
        raise AssertionError(f"openssl {' '.join(map(str, args))} failed "
                             f"(rc {proc.returncode}):\n{proc.stderr.decode(errors='replace')}")
    return proc.stdout


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def _asn1_time(when):
    """`openssl ca -startdate/-enddate` format (UTCTime, YYMMDDHHMMSSZ)."""
    return when.astimezone(datetime.timezone.utc).strftime("%y%m%d%H%M%SZ")


def csr_sans(csr_path):
    """The DNS SANs of a PEM CSR, in order ([] when it has none)."""
    csr = x509.load_pem_x509_csr(Path(csr_path).read_bytes())
    try:
        ext = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return ext.value.get_values_for_type(x509.DNSName)


def csr_subject(csr_path):
    """The subject of a PEM CSR as an openssl `-subj` string (/O=Company/CN=...)."""
    csr = x509.load_pem_x509_csr(Path(csr_path).read_bytes())
    return _subj_string(csr.subject)


def _subj_string(name):
    parts = []
    for attr in name:
        short = {"commonName": "CN", "organizationName": "O",
                 "organizationalUnitName": "OU", "localityName": "L",
                 "stateOrProvinceName": "ST", "countryName": "C"}.get(attr.oid._name,
                                                                    attr.oid.dotted_string)
        parts.append(f"/{short}={attr.value}")
    return "".join(parts)


def _replace_cn(subj, cn):
    """Sets the CN of a `-subj` string (appending one when there is none)."""
    parts = [p for p in subj.split("/") if p]
    kept = [p for p in parts if not p.startswith("CN=")]
    return "/" + "/".join(kept + [f"CN={cn}"])


class TestCA:
    """A root, an intermediate and an unrelated root, all in `folder` (made by openssl).

    Attributes (Paths): root_pem, root_key, inter_pem, inter_key, other_root_pem,
    other_root_key, root_der, inter_der. All keys are unencrypted RSA 2048.
    """

    def __init__(self, folder):
        self.dir = Path(folder)
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "newcerts").mkdir(exist_ok=True)
        (self.dir / "index.txt").write_text("")
        (self.dir / "crlnumber").write_text("01\n")
        (self.dir / "serial").write_text("1000\n")
        self.config = self.dir / "ca.cnf"
        self.config.write_text(_CA_CONFIG.format(dir=self.dir))
        self.ca_ext = self.dir / "ca_ext.cnf"
        self.ca_ext.write_text(_CA_EXTENSIONS)
        self._counter = itertools.count(1)

        start = utc_now() - datetime.timedelta(days=30)
        end = start + datetime.timedelta(days=3650)
        self.root_key, self.root_pem = self._self_signed("root", "/O=Company/CN=Company Test Root",
                                                         start, end)
        self.other_root_key, self.other_root_pem = self._self_signed(
            "other-root", "/O=Elsewhere/CN=Unrelated Test Root", start, end)

        self.inter_key = self._new_key(self.dir / "inter.key")
        inter_csr = self.dir / "inter.csr"
        run_openssl(["req", "-new", "-config", self.config, "-key", self.inter_key,
                     "-subj", "/O=Company/CN=Company Test Issuing CA", "-out", inter_csr])
        self.inter_pem = self.dir / "inter.pem"
        run_openssl(["ca", "-batch", "-config", self.config, "-notext", "-rand_serial",
                     "-cert", self.root_pem, "-keyfile", self.root_key, "-preserveDN",
                     "-startdate", _asn1_time(start + datetime.timedelta(hours=1)),
                     "-enddate", _asn1_time(end - datetime.timedelta(hours=1)),
                     "-extfile", self.ca_ext, "-extensions", "inter_ext",
                     "-in", inter_csr, "-out", self.inter_pem])
        self.root_der = to_der(self.root_pem, self.dir / "root.der")
        self.inter_der = to_der(self.inter_pem, self.dir / "inter.der")

    # --- keys and CA certificates -------------------------------------------------------------

    @staticmethod
    def _new_key(path, bits=2048):
        run_openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", f"rsa_keygen_bits:{bits}",
                     "-out", path])
        return Path(path)

    def _self_signed(self, name, subj, start, end):
        key = self._new_key(self.dir / f"{name}.key")
        csr = self.dir / f"{name}.csr"
        pem = self.dir / f"{name}.pem"
        run_openssl(["req", "-new", "-config", self.config, "-key", key, "-subj", subj,
                     "-out", csr])
        # openssl ca -selfsign: real dates, and the same code path as every other certificate.
        run_openssl(["ca", "-batch", "-config", self.config, "-notext", "-rand_serial",
                     "-selfsign", "-keyfile", key, "-preserveDN",
                     "-startdate", _asn1_time(start), "-enddate", _asn1_time(end),
                     "-extfile", self.ca_ext, "-extensions", "root_ext",
                     "-in", csr, "-out", pem])
        return key, pem

    # --- leaves -------------------------------------------------------------------------------

    def issue(self, csr_path, out_path, *, sans=None, extra_sans=(), drop_sans=(), cn=None,
              subject=None, eku=("serverAuth", "clientAuth"),
              key_usage=("digitalSignature", "keyEncipherment"), ca=False, days=365,
              start=None, end=None, digest="sha256", pss=False, cdp="http", aia=True,
              issuer="inter"):
        """Signs a leaf from the PEM CSR at csr_path and writes it (PEM) to out_path.

        Defaults give a certificate that passes every poolcert check for the CSR's server. The
        defect knobs:
          sans        the DNS SAN list (default: the CSR's SANs, in order);
          extra_sans  names appended to it (e.g. "*.company.local");
          drop_sans   names removed from it (e.g. "sip.company.com");
          cn          replaces the subject CN; subject replaces the whole `-subj` string;
          eku         EKU names (None: no EKU extension);
          key_usage   keyUsage names (None: no keyUsage extension);
          ca          True puts basicConstraints CA:TRUE on the leaf;
          days        validity from `start` (default: one hour ago);
          start, end  explicit notBefore / notAfter (aware datetimes);
          digest      signature digest ("sha256", "sha1", ...);
          pss         True signs with RSASSA-PSS;
          cdp         "http" (default), "ldap" (LDAP URI only) or None (no CDP);
          aia         False leaves out authorityInfoAccess;
          issuer      "inter" (default) or "other-root" (the root in no bundle).
        Returns out_path as a Path.
        """
        csr_path = Path(csr_path)
        out_path = Path(out_path)
        n = next(self._counter)

        names = list(sans) if sans is not None else csr_sans(csr_path)
        names = [s for s in names if s not in set(drop_sans)] + list(extra_sans)
        subj = subject if subject is not None else csr_subject(csr_path)
        if cn is not None:
            subj = _replace_cn(subj, cn)

        lines = [f"[leaf_{n}]",
                 f"basicConstraints = critical, CA:{'TRUE' if ca else 'FALSE'}",
                 "subjectKeyIdentifier = hash",
                 "authorityKeyIdentifier = keyid:always"]
        if key_usage is not None:
            lines.append("keyUsage = critical, " + ", ".join(key_usage))
        if eku is not None:
            lines.append("extendedKeyUsage = " + ", ".join(_EKU_OIDS.get(e, e) for e in eku))
        if names:
            lines.append("subjectAltName = " + ", ".join(f"DNS:{s}" for s in names))
        if cdp == "http":
            lines.append(f"crlDistributionPoints = URI:{CDP_HTTP}")
        elif cdp == "ldap":
            # The LDAP URI holds commas, which the one-line syntax would split: use sections.
            lines.append(f"crlDistributionPoints = cdp_{n}")
        elif cdp is not None:
            raise ValueError(f"cdp must be 'http', 'ldap' or None, not {cdp!r}")
        if aia:
            lines.append(f"authorityInfoAccess = caIssuers;URI:{AIA_CA_ISSUERS}")
        if cdp == "ldap":
            lines += ["", f"[cdp_{n}]", f"fullname = @cdp_names_{n}",
                      "", f"[cdp_names_{n}]", f"URI.1 = {CDP_LDAP}"]
        extfile = self.dir / f"leaf_{n}.cnf"
        extfile.write_text("\n".join(lines) + "\n")

        if start is None:
            start = utc_now() - datetime.timedelta(hours=1)
        if end is None:
            end = start + datetime.timedelta(days=days)

        if issuer == "inter":
            ca_cert, ca_key = self.inter_pem, self.inter_key
        elif issuer == "other-root":
            ca_cert, ca_key = self.other_root_pem, self.other_root_key
        else:
            raise ValueError(f"issuer must be 'inter' or 'other-root', not {issuer!r}")

        args = ["ca", "-batch", "-config", self.config, "-notext", "-rand_serial",
                "-cert", ca_cert, "-keyfile", ca_key, "-preserveDN", "-subj", subj,
                "-startdate", _asn1_time(start), "-enddate", _asn1_time(end),
                "-md", digest, "-extfile", extfile, "-extensions", f"leaf_{n}",
                "-in", csr_path, "-out", out_path]
        if pss:
            args += ["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:digest"]
        run_openssl(args)
        return out_path

    def crl(self, out_path):
        """An (empty) CRL signed by the intermediate, PEM."""
        run_openssl(["ca", "-batch", "-config", self.config, "-gencrl",
                     "-cert", self.inter_pem, "-keyfile", self.inter_key, "-out", out_path])
        return Path(out_path)


# --- requests made by openssl, not by poolcert ------------------------------------------------

def openssl_csr(folder, name, subj, sans, bits=2048):
    """A fresh RSA key and a CSR for it made by `openssl req`: (key path, csr path).

    Used for "a certificate for another key": the names are right, the key is not the server's.
    """
    folder = Path(folder)
    key = TestCA._new_key(folder / f"{name}.key", bits=bits)
    csr = folder / f"{name}.csr"
    cnf = folder / f"{name}.req.cnf"
    cnf.write_text("[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = unused\n")
    args = ["req", "-new", "-config", cnf, "-key", key, "-subj", subj, "-out", csr]
    if sans:
        args += ["-addext", "subjectAltName = " + ", ".join(f"DNS:{s}" for s in sans)]
    run_openssl(args)
    return key, csr


# --- encodings --------------------------------------------------------------------------------

def to_der(pem_path, der_path):
    """`openssl x509 -outform DER`: the first certificate of pem_path, DER."""
    run_openssl(["x509", "-in", pem_path, "-outform", "DER", "-out", der_path])
    return Path(der_path)


def to_p7b(out_path, *cert_paths, der=False):
    """`openssl crl2pkcs7 -nocrl -certfile ...`: a certs-only PKCS#7, PEM or DER."""
    args = ["crl2pkcs7", "-nocrl"]
    for c in cert_paths:
        args += ["-certfile", c]
    args += ["-outform", "DER" if der else "PEM", "-out", out_path]
    run_openssl(args)
    return Path(out_path)


def crl_only_p7b(out_path, crl_path, der=False):
    """`openssl crl2pkcs7 -in CRL`: a PKCS#7 holding a CRL and no certificate at all."""
    run_openssl(["crl2pkcs7", "-in", crl_path, "-outform", "DER" if der else "PEM",
                 "-out", out_path])
    return Path(out_path)


def bundle(out_path, *pem_paths):
    """Concatenates PEM files (a CA bundle, or a leaf followed by its chain)."""
    Path(out_path).write_bytes(b"".join(Path(p).read_bytes() for p in pem_paths))
    return Path(out_path)


# --- reading back with openssl (an oracle we did not write) -----------------------------------

def x509_text(cert_path):
    """`openssl x509 -noout -text` of a PEM certificate."""
    return run_openssl(["x509", "-in", cert_path, "-noout", "-text"]).decode()


def openssl_verify(cert_path, ca_file, untrusted=None, attime=None):
    """`openssl verify -CAfile ca_file [-untrusted u] cert`: (rc, output)."""
    args = ["openssl", "verify", "-CAfile", str(ca_file)]
    if untrusted:
        args += ["-untrusted", str(untrusted)]
    if attime is not None:
        args += ["-attime", str(int(attime))]
    args.append(str(cert_path))
    proc = subprocess.run(args, capture_output=True, text=True)
    return proc.returncode, proc.stdout + proc.stderr


def spki_der(cert_or_csr_path):
    """The DER SubjectPublicKeyInfo of a PEM certificate or CSR (via cryptography)."""
    from cryptography.hazmat.primitives import serialization
    data = Path(cert_or_csr_path).read_bytes()
    if b"CERTIFICATE REQUEST" in data:
        key = x509.load_pem_x509_csr(data).public_key()
    else:
        key = x509.load_pem_x509_certificate(data).public_key()
    return key.public_bytes(serialization.Encoding.DER,
                            serialization.PublicFormat.SubjectPublicKeyInfo)


if __name__ == "__main__":
    # A quick look at what the CA makes: python3 testca.py FOLDER CSR
    import sys
    ca = TestCA(sys.argv[1])
    print(x509_text(ca.issue(sys.argv[2], Path(sys.argv[1]) / "leaf.pem", cdp="ldap")))
