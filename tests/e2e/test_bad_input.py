"""Bad input: exit 2, one error line naming file:line:col and the field, and nothing written."""

import json
import os
import shutil
import subprocess
import unittest

import harness as h

EXAMPLE = h.example_text()
SPEC = "spec.toml"

POOL_FQDN = 'fqdn = "ocspool.company.local"'
SRV1_FQDN = 'fqdn = "ocssrv01.company.local"'
SRV2_FQDN = 'fqdn = "ocssrv02.company.local"'
SIP = 'sip_domains = ["company.local", "company.com"]'
EXTRA = "extra_sans = []"
KEY_BITS = "\nbits = 2048"  # the line, not the comment above it


def replaced(old, new, text=EXAMPLE):
    assert text.count(old) == 1, f"{old!r} is not once in the spec"
    return text.replace(old, new)


def place(text, needle, after=None):
    """1-based (line, column) of the first `needle` in text that follows the text `after`."""
    start = text.index(after) + len(after) if after else 0
    offset = text.index(needle, start)
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, col


class SpecErrorCase(h.TempDirTestCase):
    """Helpers: write a spec, run `csr` on it, check exit 2, the error line, and no writes."""

    def run_bad(self, text, args=(), folder=None):
        folder = folder or self.tmp / "case"
        self.write_spec(text, name=SPEC, folder=folder)
        before = h.snapshot(folder)
        rc, out, err = self.poolcert(["csr", SPEC, *args], cwd=folder)
        self.assertEqual(rc, 2, f"exit {rc}, stderr:\n{err}")
        self.assertEqual(h.snapshot(folder), before, "the spec folder changed")
        self.assertFalse((folder / "out").exists(), "the output folder was created")
        return err

    def check(self, text, field, needle, message, after=None, folder=None):
        """The error names SPEC, the place of `needle` in `text` (its first character), `field`."""
        line, col = place(text, needle, after)
        err = self.run_bad(text, folder=folder)
        return self.assertSpecError(err, SPEC, line, col, field, message)


class MissingOrUnreadableSpec(SpecErrorCase):
    def test_spec_missing(self):
        before = h.snapshot(self.tmp)
        rc, out, err = self.poolcert(["csr", "nosuch.toml"])
        self.assertEqual(rc, 2, err)
        self.assertIn("nosuch.toml", self.assertOneErrorLine(err))
        self.assertEqual(h.snapshot(self.tmp), before)

    def test_spec_is_a_directory(self):
        (self.tmp / "adir.toml").mkdir()
        before = h.snapshot(self.tmp)
        rc, out, err = self.poolcert(["csr", "adir.toml"])
        self.assertEqual(rc, 2, err)
        self.assertIn("adir.toml", self.assertOneErrorLine(err))
        self.assertEqual(h.snapshot(self.tmp), before)

    def test_plan_on_missing_spec(self):
        rc, out, err = self.poolcert(["plan", "nosuch.toml"])
        self.assertEqual(rc, 2, err)
        self.assertIn("nosuch.toml", self.assertOneErrorLine(err))


class TomlSyntax(SpecErrorCase):
    def test_unquoted_value_is_a_syntax_error_with_place(self):
        text = replaced(SRV2_FQDN, "fqdn = a.b")
        line, _ = place(text, "fqdn = a.b")
        err = self.run_bad(text)
        msg = self.assertOneErrorLine(err)
        prefix = f"{h.ERROR_PREFIX}{SPEC}:{line}:"
        self.assertTrue(msg.startswith(prefix), f"expected {prefix!r}...: {msg}")
        col = int(msg[len(prefix):].split(":", 1)[0])
        self.assertTrue(1 <= col <= len("fqdn = a.b") + 1, msg)

    def test_key_of_100000_dotted_parts_is_refused_at_once(self):
        # toml11 nests a table per part, recursively: such a key crashed poolcert after 40 s.
        for line in ("x." + ".".join(["a"] * 100000) + " = 1",
                     "[" + ".".join(["a"] * 100000) + "]"):
            with self.subTest(line[:5]):
                text = h.example_text() + "\n" + line + "\n"
                err = self.run_bad(text)
                where = text.count("\n", 0, text.index(line)) + 1
                self.assertTrue(
                    self.assertOneErrorLine(err).startswith(f"{h.ERROR_PREFIX}{SPEC}:{where}:"),
                    err)
                self.assertIn("dotted parts", err)
        # Dots in values are no key's parts: 100 decimals in an array are not refused for that.
        text = h.example_text() + "\nnumbers = [" + ", ".join(["1.5"] * 100) + "]\n"
        err = self.run_bad(text, folder=self.tmp / "decimals")  # an unknown key, nothing more
        self.assertIn("numbers", self.assertOneErrorLine(err))
        self.assertNotIn("dotted parts", err)

    def test_unterminated_array(self):
        text = replaced(SIP, 'sip_domains = ["company.local", "company.com"')
        err = self.run_bad(text)
        self.assertTrue(self.assertOneErrorLine(err).startswith(f"{h.ERROR_PREFIX}{SPEC}:"), err)


class UnknownKeys(SpecErrorCase):
    def test_unknown_top_level_key(self):
        text = replaced('output_dir = "out"', 'output_dir = "out"\nfoo = "bar"')
        self.check(text, "foo", '"bar"', "unknown key")

    def test_unknown_key_in_pool(self):
        text = replaced(SIP, SIP + '\nfoo = "bar"')
        self.check(text, "pool.foo", '"bar"', "unknown key")

    def test_misspelt_fqdn_in_server(self):
        text = replaced(SRV1_FQDN, 'fqnd = "ocssrv01.company.local"')
        self.check(text, "server[0].fqnd", '"ocssrv01.company.local"', "unknown key")

    def test_unknown_key_in_key(self):
        text = replaced(KEY_BITS, "\nsize = 2048")
        self.check(text, "key.size", "2048", "unknown key", after="\nsize")

    def test_unknown_key_in_subject(self):
        text = replaced('O = "Company"', 'O = "Company"\nCN = "ocspool.company.local"')
        self.check(text, "subject.CN", '"ocspool.company.local"', "unknown key",
                   after="[subject]")

    def test_unknown_key_in_server_key(self):
        text = EXAMPLE + "\n[server.key]\nbitz = 4096\n"
        self.check(text, "server[1].key.bitz", "4096", "unknown key", after="[server.key]")


class RequiredFields(SpecErrorCase):
    def test_missing_pool_fqdn(self):
        text = replaced(POOL_FQDN + "\n", "")
        err = self.run_bad(text)
        line = self.assertOneErrorLine(err)
        parsed = h.parse_spec_error(line)
        self.assertIsNotNone(parsed, line)
        self.assertEqual(parsed["file"], SPEC)
        self.assertEqual(parsed["field"], "pool.fqdn")
        self.assertIn("missing", parsed["message"].lower())
        if parsed["line"] is not None:  # if a place is given, it is the [pool] table's
            self.assertEqual(parsed["line"], place(text, "[pool]")[0], line)

    def test_empty_sip_domains(self):
        text = replaced(SIP, "sip_domains = []")
        self.check(text, "pool.sip_domains", "[]", "empty")

    def test_no_servers(self):
        text = EXAMPLE[:EXAMPLE.index("[[server]]")]
        err = self.run_bad(text)
        parsed = h.parse_spec_error(self.assertOneErrorLine(err))
        self.assertIsNotNone(parsed, err)
        self.assertEqual((parsed["file"], parsed["line"], parsed["col"], parsed["field"]),
                         (SPEC, None, None, "server"), err)

    def test_wrong_type_for_subject_o(self):
        text = replaced('O = "Company"', "O = 5")
        self.check(text, "subject.O", "5", "string", after="[subject]")


# Invalid DNS names of each kind: (what, name, message substring).
LONG_LABEL = "a" * 64
LONG_NAME = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 62])  # 254 characters
BAD_NAMES = {
    "empty_label": ("a..company.local", "empty label"),
    "label_64": (f"{LONG_LABEL}.company.local", "63"),
    "name_254": (LONG_NAME, "253"),
    "leading_hyphen": ("-srv.company.local", "hyphen"),
    "trailing_hyphen": ("srv-.company.local", "hyphen"),
    "underscore": ("ocs_srv.company.local", "letters, digits"),
    "space": ("ocs srv.company.local", "letters, digits"),
    "empty": ("", "empty"),
    "ip_address": ("10.0.0.50", "all digits"),
}


def bad_name_specs(name):
    """(field, spec text, needle) placing `name` in each kind of DNS-name field."""
    quoted = f'"{name}"'
    yield "pool.fqdn", replaced(POOL_FQDN, f"fqdn = {quoted}"), quoted, None
    yield "server[0].fqdn", replaced(SRV1_FQDN, f"fqdn = {quoted}"), quoted, "[[server]]"
    yield ("pool.sip_domains[0]", replaced(SIP, f'sip_domains = [{quoted}, "company.com"]'),
           quoted, "sip_domains")
    yield ("server[0].extra_sans[0]", replaced(EXTRA, f"extra_sans = [{quoted}]"), quoted,
           "extra_sans")


class InvalidDnsNames(SpecErrorCase):
    def check_kind(self, kind):
        name, message = BAD_NAMES[kind]
        for field, text, needle, after in bad_name_specs(name):
            with self.subTest(field=field, name=name):
                self.check(text, field, needle, message, after=after,
                           folder=self.tmp / field.replace("[", "_").replace("]", "_"))

    def test_empty_label(self):
        self.check_kind("empty_label")

    def test_label_of_64_characters(self):
        self.check_kind("label_64")

    def test_name_of_254_characters(self):
        self.check_kind("name_254")

    def test_label_starting_with_hyphen(self):
        self.check_kind("leading_hyphen")

    def test_ip_address_is_not_a_dns_name(self):
        self.check_kind("ip_address")

    def test_label_ending_with_hyphen(self):
        self.check_kind("trailing_hyphen")

    def test_underscore_in_label(self):
        self.check_kind("underscore")

    def test_space_in_label(self):
        self.check_kind("space")

    def test_empty_name(self):
        self.check_kind("empty")


class AcceptedNames(h.TempDirTestCase):
    """The other side of the boundaries: these are valid and normalised."""

    def plan(self, text):
        spec = self.write_spec(text)
        doc = self.poolcert_json(["plan", spec.name])
        return {s["server"]: s for s in doc["servers"]}

    def test_trailing_dot_is_dropped(self):
        text = replaced(POOL_FQDN, 'fqdn = "ocspool.company.local."')
        text = replaced(SRV1_FQDN, 'fqdn = "ocssrv01.company.local."', text)
        spec = self.write_spec(text)
        doc = self.poolcert_json(["csr", spec.name, "--server", "ocssrv01.company.local"])
        self.assertEqual([s["server"] for s in doc["servers"]], ["ocssrv01.company.local"])
        csr = self.tmp / "out" / "ocssrv01.company.local.csr"
        info = h.crypto_csr(csr)
        self.assertEqual(info["subject"], ["CN=ocspool.company.local", "O=Company"])
        self.assertEqual(info["sans"], h.expected_sans("ocssrv01.company.local"))

    def test_upper_case_is_lowered(self):
        text = replaced(POOL_FQDN, 'fqdn = "OCSPOOL.Company.Local"')
        text = replaced(SRV2_FQDN, 'fqdn = "OCSSRV02.Company.LOCAL"', text)
        text = replaced(SIP, 'sip_domains = ["Company.Local", "COMPANY.com"]', text)
        spec = self.write_spec(text)
        doc = self.poolcert_json(["csr", spec.name, "--server", "ocssrv02.company.local"])
        self.assertEqual([s["server"] for s in doc["servers"]], ["ocssrv02.company.local"])
        info = h.crypto_csr(self.tmp / "out" / "ocssrv02.company.local.csr")
        self.assertEqual(info["subject"], ["CN=ocspool.company.local", "O=Company"])
        self.assertEqual(info["sans"], h.expected_sans("ocssrv02.company.local"))

    def test_label_of_63_and_name_of_253_characters_are_accepted(self):
        name253 = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61])
        self.assertEqual(len(name253), 253)
        text = replaced(EXTRA, f'extra_sans = ["{name253}"]')
        servers = self.plan(text)
        self.assertEqual(servers["ocssrv01.company.local"]["sans"][-1], name253)

    def test_hyphen_inside_a_label_is_accepted(self):
        text = replaced(EXTRA, 'extra_sans = ["ocs-web01.company.local"]')
        servers = self.plan(text)
        self.assertIn("ocs-web01.company.local", servers["ocssrv01.company.local"]["sans"])


class ControlCharactersAndEncodings(SpecErrorCase):
    """A value with a newline or a NUL is refused in one line; UTF-8 is counted in characters."""

    def test_newline_in_a_name_stays_one_error_line(self):
        # TOML's "\n" escape puts a real newline into the value.
        text = replaced(SRV2_FQDN, 'fqdn = "ocssrv02\\n.company.local"')
        err = self.run_bad(text)
        line = self.assertOneErrorLine(err)
        self.assertIn("\\x0a", line)
        self.assertIn("server[1].fqdn", line)

    def test_nul_after_an_ipv4_address_is_refused(self):
        text = replaced(POOL_FQDN, 'fqdn = "ocspool.company.local"\nvip = "10.0.0.50\\u0000x"')
        err = self.run_bad(text, args=())
        line = self.assertOneErrorLine(err)
        self.assertIn("pool.vip", line)
        self.assertNotIn("\0", err)

    def test_organisation_of_40_accented_letters_is_accepted(self):
        # 40 characters, 80 bytes in UTF-8: within RFC 5280's 64 characters.
        text = h.example_text().replace('O = "Company"', 'O = "' + "\u00e9" * 40 + '"')
        self.assertIn("é" * 40, text)
        spec = self.write_spec(text)
        rc, out, err = self.poolcert(["plan", spec.name, "--json"])
        self.assertEqual(rc, 0, err)
        subjects = [s["subject"] for s in json.loads(out)["servers"]]
        self.assertTrue(subjects, out)
        for subject in subjects:
            self.assertIn("O=" + "é" * 40, subject)


class ProfileRules(SpecErrorCase):
    def test_default_key_of_the_first_profile_refused_by_another(self):
        # Without [key], the first certificate's default key (ECDSA P-256 in the test profile)
        # would be made for the second certificate too, whose profile allows RSA only (the
        # OAuthTokenIssuer's, S6; its products, Lync 2013 on, support ECDSA elsewhere).
        folder = self.tmp / "case"
        folder.mkdir()
        shutil.copyfile(h.ECDSA_POOL_PROFILE, folder / "ecdsa-pool-profile.toml")
        text = """output_dir = "out"
[[certificate]]
name = "a"
profile = "ecdsa-pool-profile.toml"
[[certificate]]
name = "b"
profile = "lync-sfb-oauth"
[pool]
fqdn = "ocspool.company.local"
sip_domains = ["company.local"]
[[server]]
fqdn = "ocssrv01.company.local"
"""
        err = self.run_bad(text, folder=folder)
        self.assertSpecError(err, SPEC, 2, 1, "key", "not allowed by profile lync-sfb-oauth")

    def test_wildcard_extra_san_refused_by_profile(self):
        text = replaced(EXTRA, 'extra_sans = ["*.company.local"]')
        parsed = self.check(text, "server[0].extra_sans[0]", '"*.company.local"', "wildcard")
        self.assertIn("profile", parsed["message"].lower())

    def test_wildcard_pool_fqdn_refused(self):
        text = replaced(POOL_FQDN, 'fqdn = "*.company.local"')
        self.check(text, "pool.fqdn", '"*.company.local"', "wildcard")

    def test_unknown_profile(self):
        text = replaced('profile = "ocs2007-enterprise-frontend"', 'profile = "nosuch-profile"')
        self.check(text, "profile", '"nosuch-profile"', "nosuch-profile")

    def test_unknown_profile_with_a_long_name_and_a_newline_stays_one_short_line(self):
        # A value is echoed cut to 64 characters, control characters escaped: one line, whatever
        # the spec holds (a TOML basic string may carry \n and \x1b).
        name = "x" * 5000 + "\\n\\u001b[31m"
        text = replaced('profile = "ocs2007-enterprise-frontend"', f'profile = "{name}"')
        message = self.check(text, "profile", f'"{name[:10]}', "unknown profile")["message"]
        self.assertIn("'" + "x" * 64 + "'... (5006 characters)", message)
        self.assertLess(len(message), 1000)

    def test_rsa_1024_refused(self):
        text = replaced(KEY_BITS, "\nbits = 1024")
        self.check(text, "key.bits", "1024", "at least 2048")

    def test_rsa_1024_in_server_key_refused(self):
        text = EXAMPLE + "\n[server.key]\ntype = \"rsa\"\nbits = 1024\n"
        self.check(text, "server[1].key.bits", "1024", "at least 2048", after="[server.key]")

    def test_rsa_3072_not_allowed_by_ocs_profile(self):
        text = replaced(KEY_BITS, "\nbits = 3072")
        self.check(text, "key.bits", "3072", "not allowed by profile", after="\nbits")

    def test_ecdsa_not_allowed_by_ocs_profile(self):
        text = replaced('type = "rsa"', 'type = "ecdsa"')
        text = replaced(KEY_BITS, '\ncurve = "P-256"', text)
        self.check(text, "key.type", '"ecdsa"', "not allowed by profile")


class Duplicates(SpecErrorCase):
    def test_server_listed_twice(self):
        text = replaced(SRV2_FQDN, SRV1_FQDN)
        self.check(text, "server[1].fqdn", '"ocssrv01.company.local"', "ocssrv01.company.local",
                   after=EXTRA)  # the second server's fqdn

    def test_server_listed_twice_in_other_case(self):
        text = replaced(SRV2_FQDN, 'fqdn = "OCSSRV01.company.local"')
        self.check(text, "server[1].fqdn", '"OCSSRV01.company.local"', "ocssrv01.company.local")

    def test_sip_domain_listed_twice(self):
        text = replaced(SIP, 'sip_domains = ["company.local", "company.local"]')
        self.check(text, "pool.sip_domains[1]", '"company.local"', "company.local",
                   after='["company.local", ')

    def test_sip_domain_listed_twice_in_other_case(self):
        text = replaced(SIP, 'sip_domains = ["company.local", "Company.LOCAL"]')
        self.check(text, "pool.sip_domains[1]", '"Company.LOCAL"', "company.local")


class CommandLine(SpecErrorCase):
    def setUp(self):
        super().setUp()
        self.spec = self.write_spec(name=SPEC)

    def assert_usage_error(self, args):
        before = h.snapshot(self.tmp)
        rc, out, err = self.poolcert(args)
        self.assertEqual(rc, 2, f"exit {rc}\nstdout:\n{out}\nstderr:\n{err}")
        self.assertNotEqual(err.strip(), "", "no message on stderr")
        self.assertEqual(h.snapshot(self.tmp), before)
        return err

    def test_server_not_in_spec(self):
        err = self.assert_usage_error(["csr", SPEC, "--server", "nosuch.company.local"])
        self.assertIn("nosuch.company.local", self.assertOneErrorLine(err))

    def test_output_folder_cannot_be_written(self):
        (self.tmp / "afile").write_text("not a folder\n")
        err = self.assert_usage_error(["csr", SPEC, "-o", str(self.tmp / "afile" / "sub")])
        self.assertIn("afile", self.assertOneErrorLine(err))

    def test_unknown_subcommand(self):
        self.assert_usage_error(["frobnicate", SPEC])

    def test_unknown_flag(self):
        self.assert_usage_error(["csr", SPEC, "--frobnicate"])

    def test_no_subcommand(self):
        self.assert_usage_error([])

    def test_csr_without_spec(self):
        self.assert_usage_error(["csr"])

    def test_both_passphrase_sources(self):
        (self.tmp / "pass.txt").write_text("secret\n")
        self.assert_usage_error(["csr", SPEC, "--encrypt-key", "--passphrase-file", "pass.txt",
                                 "--passphrase-env", "HOME"])

    def test_help_exits_0_and_names_the_commands(self):
        rc, out, err = self.poolcert(["--help"])
        self.assertEqual(rc, 0, err)
        for command in ("plan", "csr", "inspect"):
            self.assertIn(command, out)


class StandardOutputErrors(h.TempDirTestCase):
    """A report that cannot be written is a failed run (exit 1), never a silent exit 0."""

    def setUp(self):
        super().setUp()
        self.spec = self.write_spec(EXAMPLE, name=SPEC)

    def run_to(self, stdout, args):
        proc = subprocess.run([h.POOLCERT, *args], cwd=self.spec.parent, stdin=subprocess.DEVNULL,
                              stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=60,
                              env=dict(os.environ, **h.profile_env()))
        return proc.returncode, proc.stderr

    def test_a_full_disk_fails_every_report(self):
        for args in (["plan", SPEC, "--json"], ["plan", SPEC], ["dns", SPEC],
                     ["profiles", "--json"], ["--help"]):
            with self.subTest(args=args), open("/dev/full", "w") as full:
                rc, err = self.run_to(full, args)
                self.assertEqual(rc, 1, err)
                # The last line (dns warns first of its placeholders). Its cause is named when
                # the final flush is what failed, else the output is only said to be incomplete.
                self.assertRegex(err.splitlines()[-1],
                                 r"^poolcert: error: writing standard output: "
                                 r"(No space left on device|the output is incomplete)$", err)

    def test_a_reader_that_went_away_fails_the_run(self):
        read_end, write_end = os.pipe()
        os.close(read_end)
        try:
            rc, err = self.run_to(write_end, ["plan", SPEC, "--json"])
        finally:
            os.close(write_end)
        self.assertEqual(rc, 1, err)
        self.assertIn("writing standard output", err)

    def test_bad_input_stays_exit_2(self):
        with open("/dev/full", "w") as full:
            rc, err = self.run_to(full, ["plan", "absent.toml", "--json"])
        self.assertEqual(rc, 2, err)
        self.assertIn("absent.toml", err)


if __name__ == "__main__":
    unittest.main()
