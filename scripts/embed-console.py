#!/usr/bin/env python3
"""Writes Sources/Relay/Admin/Console/ConsoleScript.swift from console.js beside it.

The console's script is edited as JavaScript (so `node --check` in `make lint` reads it) and shipped
inside the binary as a Swift string; RelayTests fails when the two differ. Run after editing
console.js: scripts/embed-console.py
"""

import pathlib

directory = pathlib.Path(__file__).resolve().parent.parent / "Sources/Relay/Admin/Console"
script = (directory / "console.js").read_text()
if '"""#' in script:
    raise SystemExit("console.js must not contain the raw string's closing delimiter")
indented = "\n".join(("        " + line) if line else "" for line in script.split("\n"))
(directory / "ConsoleScript.swift").write_text(
    "// Generated from console.js by scripts/embed-console.py: edit the JavaScript, then run the script.\n"
    "\n"
    "extension AdminConsole {\n"
    "    /// The console's script. Every value from the relay reaches the page through `textContent` or an\n"
    "    /// attribute, never as markup; the token lives in this tab's session storage and travels only\n"
    "    /// in the `Authorization` header.\n"
    '    static let script = #"""\n'
    f"{indented}\n"
    '        """#\n'
    "}\n"
)
