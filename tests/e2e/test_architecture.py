"""docs/architecture.md stays true (issue 15): every #include of the library crosses only the
module lines the page writes down ("Uses: ..." under each `## `module/``), the library never
includes the CLI, and every module folder is on the page."""
import os
import re
import unittest
from pathlib import Path

import harness as h

SOURCE = Path(h.SOURCE)
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def allowed_uses():
    """{module: set of modules it may use}, from docs/architecture.md."""
    text = (SOURCE / "docs" / "architecture.md").read_text()
    uses = {}
    for m in re.finditer(r"^## `(\w+)/`\n(.*?)(?=^## |\Z)", text, re.M | re.S):
        line = re.search(r"^Uses: (.*)\.$", m.group(2), re.M)
        if line is None:
            raise AssertionError(f"docs/architecture.md: module {m.group(1)} has no Uses: line")
        names = line.group(1).strip()
        uses[m.group(1)] = set() if names == "nothing" else {n.strip() for n in names.split(",")}
    return uses


def module_of_include(target, own):
    """The module an #include names: poolcert/<m>/x.hpp, <m>/x.hpp (internal), or own."""
    parts = target.split("/")
    if parts[0] == "poolcert" and len(parts) == 3:
        return parts[1]
    if len(parts) == 2:
        return parts[0]
    return own


class Layering(unittest.TestCase):
    def test_every_include_crosses_only_a_line_the_page_allows(self):
        uses = allowed_uses()
        problems = []
        for root in (SOURCE / "src" / "core", SOURCE / "include" / "poolcert"):
            loose = [p.name for p in root.iterdir() if p.is_file()]
            self.assertEqual(loose, [], f"{root}: files outside a module folder")
            for folder in sorted(p for p in root.iterdir() if p.is_dir()):
                module = folder.name
                self.assertIn(module, uses, f"module {module} is not in docs/architecture.md")
                for path in sorted(folder.iterdir()):
                    for target in INCLUDE.findall(path.read_text()):
                        used = module_of_include(target, module)
                        if used == "cli":
                            problems.append(f"{path}: includes the CLI ({target})")
                        elif used != module and used not in uses[module]:
                            problems.append(f"{path.relative_to(SOURCE)}: {module} uses {used} "
                                            f"({target}), not allowed by docs/architecture.md")
        self.assertEqual(problems, [])

    def test_the_page_names_only_modules_that_exist(self):
        folders = {p.name for p in (SOURCE / "src" / "core").iterdir() if p.is_dir()}
        self.assertEqual(set(allowed_uses()), folders)
        for module, used in allowed_uses().items():
            self.assertLessEqual(used, folders, module)


if __name__ == "__main__":
    unittest.main(verbosity=2)
