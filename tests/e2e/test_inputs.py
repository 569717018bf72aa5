"""Inputs that cannot hang (issue 14, first part): a FIFO (or a device) given as the spec,
`--passphrase-file`, `--cert`, `--ca-bundle` or an `inspect` argument is refused at once, exit 2
with one error line, instead of waiting forever for a writer; a passphrase file with a NUL byte
is refused (openssl's `-passin file:` stops at the NUL, so the key could not be opened); `pfx -o`
into a folder that does not exist is bad usage (exit 2), not an operation failure."""

import os
import unittest

import harness as h

# poolcert must answer well within this; before, opening a FIFO without a writer never returned.
TIMEOUT = 20


class Fifos(h.TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.fifo = self.tmp / "pipe"
        os.mkfifo(self.fifo)

    def refused_at_once(self, args, one_line=True):
        rc, out, err = self.poolcert(args, timeout=TIMEOUT)
        self.assertEqual(rc, 2, out + err)
        # inspect reports each file it cannot read, then says some could not be.
        line = self.assertOneErrorLine(err) if one_line else h.error_lines(err)[0]
        self.assertIn(str(self.fifo), line)
        self.assertIn("not a regular file", line)

    def certificate(self):
        """A self-signed certificate made by openssl, for a --cert that is one."""
        cert, key = self.tmp / "leaf.pem", self.tmp / "leaf.key"
        rc, _, err = h.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                            "-subj", "/CN=ocspool.company.local", "-days", "1"], self.tmp)
        self.assertEqual(rc, 0, err)
        return cert

    def test_every_input_that_is_a_fifo_is_refused_without_blocking(self):
        spec = self.write_spec()
        for name, args in {
            "spec": ["plan", self.fifo],
            "inspect": ["inspect", self.fifo],
            "passphrase-file": ["csr", spec.name, "--encrypt-key", "--passphrase-file", self.fifo],
            "cert": ["verify", spec.name, "--cert", self.fifo],
            "ca-bundle": ["verify", spec.name, "--cert", self.certificate(), "--ca-bundle",
                          self.fifo],
        }.items():
            with self.subTest(input=name):
                self.refused_at_once(args, one_line=name != "inspect")
        self.assertFalse((self.tmp / "out").exists(), "nothing written")

    def test_a_device_is_refused(self):
        rc, _, err = self.poolcert(["inspect", "/dev/zero"], timeout=TIMEOUT)
        self.assertEqual(rc, 2, err)
        self.assertIn("/dev/zero: is not a regular file", h.error_lines(err)[0])


class Passphrases(h.TempDirTestCase):
    def test_a_nul_byte_in_the_passphrase_file_is_refused(self):
        spec = self.write_spec()
        secret = self.tmp / "secret"
        secret.write_bytes(b"abc\x00def\n")
        rc, out, err = self.poolcert(["csr", spec.name, "--encrypt-key", "--passphrase-file",
                                      secret], timeout=TIMEOUT)
        self.assertEqual(rc, 2, out + err)
        self.assertIn("NUL", self.assertOneErrorLine(err))
        self.assertFalse((self.tmp / "out").exists(), "nothing written")


class PfxOutput(h.TempDirTestCase):
    def test_pfx_into_a_missing_folder_is_bad_usage(self):
        spec = self.write_spec()
        self.poolcert_json(["csr", spec.name])
        rc, out, err = self.poolcert(
            ["pfx", spec.name, "--server", h.SERVERS[0], "--cert", h.EXAMPLE,
             "-o", self.tmp / "missing" / "dir" / "x.pfx", "--passphrase-env", "P"],
            env={"P": "secret"}, timeout=TIMEOUT)
        self.assertEqual(rc, 2, out + err)
        self.assertIn("does not exist", self.assertOneErrorLine(err))
        self.assertFalse((self.tmp / "missing").exists())


if __name__ == "__main__":
    unittest.main()
