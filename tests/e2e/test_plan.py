"""`poolcert plan`: reports what `csr` would do and writes nothing; and the golden plan output."""

import json
import re
import os
import shutil
import tomllib
import unittest
from pathlib import Path

import harness as h
from harness import SERVERS, expected_sans


def by_server(doc):
    return {entry["server"]: entry for entry in doc["servers"]}


class Plan(h.TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.spec = self.write_spec()

    def test_plan_writes_nothing(self):
        before = h.snapshot(self.tmp)
        for args in (["plan", self.spec.name], ["plan", self.spec.name, "--json"]):
            with self.subTest(args=args):
                rc, out, err = self.poolcert(args)
                self.assertEqual(rc, 0, err)
                self.assertEqual(h.snapshot(self.tmp), before)

    def test_json_of_a_spec_whose_name_is_not_utf8(self):
        # Latin-1 "spec-\xe9.toml": the JSON stays valid, the byte shown as U+FFFD (nlohmann
        # refused to dump it: exit 1 and no report).
        name = os.fsdecode(b"spec-\xe9.toml")
        self.write_spec(name=name)
        rc, out, err = self.poolcert(["plan", name, "--json"])
        self.assertEqual(rc, 0, err)
        doc = json.loads(out)
        self.assertEqual(len(doc["servers"]), 2)
        self.assertIn("spec-\ufffd.toml", json.dumps(doc, ensure_ascii=False))

    def test_plan_reports_subject_sans_key_and_paths(self):
        servers = by_server(self.poolcert_json(["plan", self.spec.name]))
        self.assertEqual(list(servers), SERVERS)
        for fqdn in SERVERS:
            with self.subTest(server=fqdn):
                s = servers[fqdn]
                self.assertEqual(s["spec"], self.spec.name)
                self.assertEqual(s["profile"], "ocs2007-enterprise-frontend")
                self.assertEqual(s["subject"], "O=Company, CN=ocspool.company.local")
                self.assertEqual(s["common_name"], "ocspool.company.local")
                self.assertEqual(s["sans"], expected_sans(fqdn))
                self.assertEqual(len(s["san_reasons"]), len(s["sans"]))
                self.assertTrue(all(isinstance(r, str) and r for r in s["san_reasons"]))
                self.assertEqual(s["eku"], ["serverAuth"])  # S1, S5: Server Authentication
                self.assertEqual(s["key_usage"], ["digitalSignature", "keyEncipherment"])
                self.assertEqual(s["key"], {"type": "rsa", "bits": 2048, "curve": None,
                                            "encrypt": False})
                self.assertEqual(s["signature_digest"], "sha256")
                self.assertEqual(os.path.normpath(s["output_dir"]), "out")
                self.assertEqual(os.path.normpath(s["key_path"]), f"out/{fqdn}.key")
                self.assertEqual(os.path.normpath(s["csr_path"]), f"out/{fqdn}.csr")

    def test_plan_says_which_products_rules_it_used(self):
        # The example names its product; a copy without `product` is read with the rules of every
        # product its profile applies to (OCS 2007 and 2007 R2), in JSON and in the text.
        doc = self.poolcert_json(["plan", self.spec.name])
        self.assertEqual(doc["specs"], [{"file": self.spec.name, "product": "ocs2007",
                                         "rule_products": ["ocs2007"], "auto_logon": True,
                                         "mobility": False, "public_im": False,
                                         "dns_load_balancing": False}])
        bare = self.write_spec(self.spec.read_text().replace('product = "ocs2007"', ""),
                               name="bare.toml")
        self.assertFalse(re.search(r"^product\s*=", bare.read_text(), flags=re.M))
        doc = self.poolcert_json(["plan", bare.name])
        self.assertIsNone(doc["specs"][0]["product"])
        self.assertEqual(doc["specs"][0]["rule_products"], ["ocs2007", "ocs2007r2"])
        rc, out, err = self.poolcert(["plan", bare.name])
        self.assertEqual(rc, 0, err)
        self.assertIn("no product named: read with the rules of ocs2007, ocs2007r2", out)

    def test_key_exists_false_then_true_after_csr(self):
        first = by_server(self.poolcert_json(["plan", self.spec.name]))
        self.poolcert_json(["csr", self.spec.name, "--server", SERVERS[0]])
        second = by_server(self.poolcert_json(["plan", self.spec.name]))
        self.assertEqual([(first[s]["key_exists"], first[s]["key_action"]) for s in SERVERS],
                         [(False, "create"), (False, "create")])
        self.assertEqual([(second[s]["key_exists"], second[s]["key_action"]) for s in SERVERS],
                         [(True, "reuse"), (False, "create")])

    def test_plan_of_csr_outputs_agrees_with_csr(self):
        planned = by_server(self.poolcert_json(["plan", self.spec.name]))
        made = by_server(self.poolcert_json(["csr", self.spec.name]))
        for fqdn in SERVERS:
            with self.subTest(server=fqdn):
                for field in ("sans", "subject", "key_path", "csr_path", "key_action"):
                    self.assertEqual(planned[fqdn][field], made[fqdn][field], field)

    def test_paths_follow_a_relative_spec_path(self):
        folder = self.tmp / "specs" / "pool"
        self.write_spec(folder=folder)
        servers = by_server(self.poolcert_json(["plan", "specs/pool/spec.toml"]))
        self.assertEqual(os.path.normpath(servers[SERVERS[0]]["key_path"]),
                         f"specs/pool/out/{SERVERS[0]}.key")

    def test_paths_follow_an_absolute_spec_path(self):
        elsewhere = self.tmp / "cwd"
        elsewhere.mkdir()
        servers = by_server(self.poolcert_json(["plan", str(self.spec)], cwd=elsewhere))
        self.assertEqual(Path(servers[SERVERS[1]]["csr_path"]),
                         self.tmp / "out" / f"{SERVERS[1]}.csr")

    def test_several_specs_are_reported_in_order(self):
        standard = self.tmp / "se" / "spec.toml"
        standard.parent.mkdir()
        shutil.copyfile(h.TEMPLATES / "ocs2007-standard.toml", standard)
        doc = self.poolcert_json(["plan", self.spec.name, "se/spec.toml"])
        self.assertEqual([(s["server"], s["spec"]) for s in doc["servers"]],
                         [(SERVERS[0], "spec.toml"), (SERVERS[1], "spec.toml"),
                          ("ocsse01.company.local", "se/spec.toml")])
        se = doc["servers"][2]
        self.assertEqual(se["common_name"], "ocsse01.company.local")
        self.assertEqual(se["sans"], ["ocsse01.company.local", "sip.company.local",
                                      "sip.company.com"])

    def test_human_plan_names_servers_and_sans(self):
        rc, out, err = self.poolcert(["plan", self.spec.name])
        self.assertEqual(rc, 0, err)
        for fqdn in SERVERS:
            self.assertIn(fqdn, out)
        self.assertIn("ocspool.company.com", out)


def golden_cases():
    return sorted(p for p in h.GOLDEN.iterdir() if (p / "spec.toml").is_file())


class Golden(h.TempDirTestCase):
    """tests/golden/<case>/expected.json is scripts/regen-golden's output; re-run and compare."""

    def test_there_is_a_golden_case_for_the_reference_deployment(self):
        self.assertIn("ocs2007-enterprise", [p.name for p in golden_cases()])

    def test_plan_matches_expected_json(self):
        for case in golden_cases():
            with self.subTest(case=case.name):
                work = self.tmp / case.name
                shutil.copytree(case, work, ignore=shutil.ignore_patterns("expected.json"))
                got = self.poolcert_json(["plan", "spec.toml"], cwd=work, env=h.golden_env())
                expected = json.loads((case / "expected.json").read_text())
                self.assertEqual(got, expected, "run scripts/regen-golden if the change is meant")

    def test_expected_json_is_in_the_scripts_format(self):
        for case in golden_cases():
            with self.subTest(case=case.name):
                text = (case / "expected.json").read_text()
                canonical = json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"
                self.assertEqual(text, canonical, "expected.json edited by hand?")

    def test_golden_reference_shows_the_five_sans_in_order(self):
        doc = json.loads((h.GOLDEN / "ocs2007-enterprise" / "expected.json").read_text())
        servers = by_server(doc)
        self.assertEqual(list(servers), SERVERS)
        self.assertEqual(servers["ocssrv01.company.local"]["sans"],
                         expected_sans("ocssrv01.company.local"))
        self.assertEqual(servers["ocssrv01.company.local"]["key_exists"], False)

    def test_golden_spec_is_the_shipped_example(self):
        with open(h.GOLDEN / "ocs2007-enterprise" / "spec.toml", "rb") as f:
            golden = tomllib.load(f)
        with open(h.EXAMPLE, "rb") as f:
            example = tomllib.load(f)
        self.assertEqual(golden["profile"], "ocs2007-enterprise-frontend")
        self.assertEqual(golden, example, "the golden spec drifted from the shipped example")


if __name__ == "__main__":
    unittest.main()
