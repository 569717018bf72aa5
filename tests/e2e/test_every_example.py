"""Every example spec under templates/ goes the whole loop with poolcert alone: csr, ca sign
(the lab CA, with the spec's profiles), verify with every check passing, and openssl verify
agreeing that each issued certificate chains to the lab root."""

import json
import tempfile
import unittest
from pathlib import Path

import harness as h


def example_specs():
    return h.example_specs()


class EveryExampleWholeLoop(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls._tmp = tempfile.TemporaryDirectory(prefix="poolcert-loop-")
        cls.tmp = Path(cls._tmp.name)
        rc, _, err = h.poolcert(["ca", "init", "ca", "--intermediate", "--cdp",
                                 "http://pki.company.local/inter.crl", "--aia",
                                 "http://pki.company.local/inter.cer"], cwd=cls.tmp)
        assert rc == 0, err

    @classmethod
    def tearDownClass(cls):
        cls._tmp.cleanup()

    def test_there_are_examples_of_several_roles(self):
        self.assertGreaterEqual(len(example_specs()), 5)

    def test_csr_ca_sign_verify_for_every_example(self):
        for spec in example_specs():
            with self.subTest(spec=spec.name):
                work = self.tmp / spec.stem
                work.mkdir()
                copy = work / "spec.toml"
                copy.write_text(spec.read_text())
                env = h.profile_env()
                rc, _, err = h.poolcert(["csr", "spec.toml", "-o", "out"], cwd=work, env=env)
                self.assertEqual(rc, 0, err)
                csrs = sorted(str(p) for p in (work / "out").glob("*.csr"))
                self.assertTrue(csrs)
                rc, _, err = h.poolcert(["ca", "sign", "--ca", str(self.tmp / "ca"), "--spec",
                                         "spec.toml", "-o", "issued", *csrs], cwd=work, env=env)
                self.assertEqual(rc, 0, err)
                rc, out, err = h.poolcert(
                    ["verify", "spec.toml", "--cert-dir", "issued", "--key-dir", "out",
                     "--ca-bundle", str(self.tmp / "ca" / "root.cer"), "--json"],
                    cwd=work, env=env)
                report = json.loads(out)
                self.assertEqual(rc, 0, err + out)
                not_passed = [(s["server"], s["certificate"], c["id"], c["message"])
                              for s in report["servers"] for c in s["checks"]
                              if c["status"] != "pass"]
                self.assertEqual(not_passed, [])
                self.assertEqual(report["unmatched"], [])
                self.assertEqual(len(report["servers"]), len(csrs))
                for leaf in sorted((work / "issued").glob("*.cer")):
                    rc, out, err = h.run(["openssl", "verify", "-CAfile",
                                          str(self.tmp / "ca" / "root.cer"), "-untrusted",
                                          str(self.tmp / "ca" / "intermediate.cer"), str(leaf)],
                                         cwd=work)
                    self.assertEqual(rc, 0, err + out)


if __name__ == "__main__":
    unittest.main()
