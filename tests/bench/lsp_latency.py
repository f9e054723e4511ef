#!/usr/bin/env python3
"""How long `fitz lsp` takes to publish diagnostics after a one-character edit of a 10,000-line
file, measured from the client's side over stdio (the time between sending `didChange` and
receiving `publishDiagnostics`).

    python3 tests/bench/lsp_latency.py [FITZ_BINARY] [LINES] [EDITS]

Prints each figure and the median; the editor's budget is 100 ms.
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


def main():
    text = program(LINES)
    path = os.path.join(tempfile.mkdtemp(), "big.fitz")
    with open(path, "w") as f:
        f.write(text)
    uri = "file://" + path
    c = Client([FITZ, "lsp"])
    c.request("initialize", {"capabilities": {}, "processId": None, "rootUri": None})
    c.notify("initialized", {})
    c.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "fitz", "version": 1, "text": text}})
    first = c.wait("textDocument/publishDiagnostics")
    assert first["params"]["diagnostics"] == [], first
    figures = []
    for n in range(EDITS):
        # One character: `bonus` becomes `bonuz` and back, an error and its fix in turn.
        edited = text.replace("+ bonus\n", "+ bonuz\n", 1) if n % 2 == 0 else text
        start = time.perf_counter()
        c.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": n + 2}, "contentChanges": [{"text": edited}]})
        got = c.wait("textDocument/publishDiagnostics")
        figures.append((time.perf_counter() - start) * 1000)
        assert (len(got["params"]["diagnostics"]) > 0) == (n % 2 == 0), got
    c.request("shutdown", None)
    c.notify("exit", None)
    print(f"{text.count(chr(10))} lines, {EDITS} one-character edits")
    print("ms:", " ".join(f"{f:.1f}" for f in figures))
    print(f"median {statistics.median(figures):.1f} ms, max {max(figures):.1f} ms")


if __name__ == "__main__":
    main()
