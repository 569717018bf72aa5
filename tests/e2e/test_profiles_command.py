"""`poolcert profiles`: lists every shipped profile with the rules read from its file, and reads a
user's own profile file the same way."""

import json
import tempfile
import tomllib
import unittest
from pathlib import Path

import harness as h


class ProfilesCommand(unittest.TestCase):
    def test_lists_every_shipped_profile_with_its_rules(self):
        rc, out, err = h.poolcert(["profiles", "--json"], cwd=h.SOURCE, env=h.profile_env())
        self.assertEqual(rc, 0, err)
        listed = {p["name"]: p for p in json.loads(out)["profiles"]}
        shipped = sorted(p.stem for p in h.PROFILES.glob("*.toml"))
        self.assertEqual(sorted(listed), shipped)
        for name in shipped:
            with self.subTest(profile=name):
                data = tomllib.loads((h.PROFILES / f"{name}.toml").read_text())
                self.assertEqual(listed[name]["cn"], data["subject"]["cn"])
                self.assertEqual(listed[name]["sans"], data["san"]["dns"])
                self.assertEqual(listed[name]["eku_request"], data["eku"]["request"])
                self.assertEqual(listed[name]["exportable"], data["key"].get("exportable", False))
                self.assertEqual(listed[name]["template"], data.get("template"))
                self.assertEqual(len(listed[name]["dns_records"]),
                                 len(data.get("dns", {}).get("record", [])))

    def test_a_users_own_profile_file(self):
        with tempfile.TemporaryDirectory() as tmp:
            mine = Path(tmp) / "mine.toml"
            mine.write_text('key_usage = ["digitalSignature"]\n[subject]\ncn = "{server_fqdn}"\n'
                            '[san]\ndns = []\n[eku]\nrequest = ["serverAuth"]\n[key]\n'
                            'allowed = [{ type = "ecdsa", curves = ["P-256"] }]\n'
                            'default = { type = "ecdsa", curve = "P-256" }\n')
            rc, out, err = h.poolcert(["profiles", str(mine), "--json"], cwd=tmp)
            self.assertEqual(rc, 0, err)
            (p,) = json.loads(out)["profiles"]
            self.assertEqual((p["name"], p["cn"], p["allowed_keys"]), ("mine", "{server_fqdn}",
                                                                       "ECDSA P-256"))
            mine.write_text(mine.read_text() + "typo = 1\n")
            rc, _, err = h.poolcert(["profiles", str(mine)], cwd=tmp)
            self.assertEqual(rc, 2)
            self.assertIn("typo", err)

    def test_human_output_names_each_profile(self):
        rc, out, err = h.poolcert(["profiles"], cwd=h.SOURCE, env=h.profile_env())
        self.assertEqual(rc, 0, err)
        for p in h.PROFILES.glob("*.toml"):
            self.assertIn(p.stem, out)


if __name__ == "__main__":
    unittest.main()
