#!/usr/bin/env python3
"""How long `fitz lsp` takes to publish diagnostics after a one-character edit, measured from
the client's side over stdio (the time between sending `didChange` — one ranged change, as an
editor sends under incremental sync — and receiving `publishDiagnostics`), for a 10,000-line
file and for a project of ten 1,000-line modules whose edited module is one of them.

    python3 tests/bench/lsp_latency.py [FITZ_BINARY] [LINES] [EDITS]

Prints each figure and the median; the editor's budget is 100 ms. The baseline in the same run
is the first analysis (`didOpen` to its diagnostics), which parses every file.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

FITZ = sys.argv[1] if len(sys.argv) > 1 else "target/release/fitz"
LINES = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
EDITS = int(sys.argv[3]) if len(sys.argv) > 3 else 21

BLOCK = """type Item{i} {{
    id: Int
    name: Str
    tags: List<Str>
}}

fn score{i}(item: Item{i}, bonus: Int) -> Int {{
    let base = item.id * 3 + bonus
    let extra = if item.tags.len() > 2 {{ 10 }} else {{ 0 }}
    return base + extra + item.name.len()
}}

"""


def program(lines: int) -> str:
    out, i = [], 0
    while sum(b.count("\n") for b in out) < lines:
        out.append(BLOCK.format(i=i))
        i += 1
    return "".join(out)


class Client:
    def __init__(self, cmd):
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.next_id = 0

    def send(self, msg):
        body = json.dumps(msg).encode()
        self.p.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.p.stdin.flush()

    def read(self):
        length = 0
        while True:
            line = self.p.stdout.readline()
            if line in (b"\r\n", b"\n"):
                break
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        return json.loads(self.p.stdout.read(length))

    def request(self, method, params):
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        while True:
            m = self.read()
            if m.get("id") == self.next_id:
                return m

    def notify(self, method, params):
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def wait(self, method):
        while True:
            m = self.read()
            if m.get("method") == method:
                return m


def measure(title, uri, text):
    """Opens `uri` with `text` and edits one character of it `EDITS` times."""
    c = Client([FITZ, "lsp"])
    c.request("initialize", {"capabilities": {}, "processId": None, "rootUri": None})
    c.notify("initialized", {})
    start = time.perf_counter()
    c.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "fitz", "version": 1, "text": text}})
    first = c.wait("textDocument/publishDiagnostics")
    opened = (time.perf_counter() - start) * 1000
    assert first["params"]["diagnostics"] == [], first
    # One character: the `s` of the first `+ bonus` becomes `z` and back, an error and its fix.
    at = text.index("+ bonus\n") + len("+ bonu")
    line = text.count("\n", 0, at)
    col = at - (text.rfind("\n", 0, at) + 1)
    where = {"start": {"line": line, "character": col}, "end": {"line": line, "character": col + 1}}
    figures = []
    for n in range(EDITS):
        start = time.perf_counter()
        change = {"range": where, "text": "z" if n % 2 == 0 else "s"}
        c.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": n + 2}, "contentChanges": [change]})
        got = c.wait("textDocument/publishDiagnostics")
        figures.append((time.perf_counter() - start) * 1000)
        assert got["params"]["uri"] == uri and (len(got["params"]["diagnostics"]) > 0) == (n % 2 == 0), got
    c.request("shutdown", None)
    c.notify("exit", None)
    print(f"{title}: {EDITS} one-character edits")
    print("  ms:", " ".join(f"{f:.1f}" for f in figures))
    median = statistics.median(figures)
    print(f"  median {median:.1f} ms, max {max(figures):.1f} ms; first analysis {opened:.1f} ms (edit/open {median / opened:.2f})")


def main():
    text = program(LINES)
    dir = tempfile.mkdtemp()
    path = os.path.join(dir, "big.fitz")
    with open(path, "w") as f:
        f.write(text)
    measure(f"one file of {text.count(chr(10))} lines", "file://" + path, text)

    # Ten modules of LINES/10 lines each (names kept apart), imported by a main file of as many
    # lines, which is the one edited: each edit parses main again and reuses the ten parses.
    dir = tempfile.mkdtemp()
    modules = []
    for m in range(10):
        body = program(LINES // 10).replace("Item", f"M{m}Item").replace("score", f"m{m}score")
        with open(os.path.join(dir, f"mod{m}.fitz"), "w") as f:
            f.write(body)
        modules.append(body)
    main_text = "".join(f"import mod{m}\n" for m in range(10)) + program(LINES // 10)
    with open(os.path.join(dir, "main.fitz"), "w") as f:
        f.write(main_text)
    lines = sum(b.count("\n") for b in modules) + main_text.count("\n")
    with open(os.path.join(dir, "fitz.toml"), "w") as f:
        f.write('[package]\nname = "bench"\n\n[bin]\nmain = "main.fitz"\n')
    measure(f"a project of 11 files, {lines} lines", "file://" + os.path.join(dir, "main.fitz"), main_text)


if __name__ == "__main__":
    main()
