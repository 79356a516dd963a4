#!/usr/bin/env python3
"""Fails when a Swift file imports a module its target does not declare in a manifest.

SwiftPM compiles such an import whenever some other dependency happens to bring the module along, so
the graph in Package.swift would stop saying what depends on what. SwiftPM's own
--explicit-target-dependency-import-check only works with explicit module builds, which Linux does
not use, hence this check. Usage: scripts/check-imports.py [package directory ...]
"""

import json
import pathlib
import re
import subprocess
import sys

# Modules of the toolchain and the system, which no manifest declares.
SYSTEM = {"Foundation", "FoundationEssentials", "Glibc", "Musl", "Dispatch", "Synchronization", "Testing",
          "XCTest", "_Concurrency", "Darwin"}
IMPORT = re.compile(r"^\s*(?:@testable\s+|@_exported\s+|(?:public|package|internal)\s+)*import\s+"
                    r"(?:(?:struct|class|enum|protocol|func|var|let|typealias)\s+)?([A-Za-z_][A-Za-z0-9_]*)",
                    re.MULTILINE)


def check(package: pathlib.Path) -> list[str]:
    manifest = json.loads(subprocess.run(["swift", "package", "dump-package"], cwd=package, check=True,
                                         capture_output=True, text=True).stdout)
    problems = []
    for target in manifest["targets"]:
        if target["type"] == "system":
            continue
        declared = {target["name"]}
        for dependency in target["dependencies"]:
            kind, value = next(iter(dependency.items()))
            declared.add(value[0])
        default = "Tests" if target["type"] == "test" else "Sources"
        root = package / (target.get("path") or f"{default}/{target['name']}")
        for source in sorted(root.rglob("*.swift")):
            for module in IMPORT.findall(source.read_text()):
                if module not in declared and module not in SYSTEM:
                    problems.append(f"{source}: imports {module}, which target {target['name']} does not declare")
    return problems


def main() -> int:
    packages = [pathlib.Path(argument) for argument in sys.argv[1:]] or [pathlib.Path(".")]
    problems = [problem for package in packages for problem in check(package)]
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
