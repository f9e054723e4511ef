#!/usr/bin/env python3
"""Login timing: an unknown email against a wrong password (issue 20).

Serves examples/notes/notes.fitz (its login verifies an unknown email against no hash, which
costs what a real check costs), creates one account, then times logins in alternating pairs:
an email no account has, and the real email with a wrong password. Prints the median of each
and their ratio; the aim is a difference under 10 %. The seed program, which answers an unknown
email before hashing, is measured the same way as the contrast.

    cargo build --release -p fitz-host
    python3 tests/bench/login_timing.py [TRIES] [FITZ_BINARY]
"""
import json, os, statistics, subprocess, sys, tempfile, time, urllib.request, urllib.error

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TRIES = int(sys.argv[1]) if len(sys.argv) > 1 else 30
FITZ = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "target/release/fitz")


def post(port, path, body):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(), headers={"content-type": "application/json"})
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status = r.status
            r.read()
    except urllib.error.HTTPError as e:
        status = e.code
        e.read()
    return status, time.perf_counter() - start


def measure(program, port, create):
    data = tempfile.mkdtemp(prefix="fitz-timing-")
    os.environ["FITZ_TIMING_DB"] = f"{data}/app.db"
    env = dict(os.environ, JWT_SECRET="timing-secret-0123456789abcdef0123456789ab", FITZ_LOG="warn", DATABASE_URL=f"sqlite://{data}/app.db")
    proc = subprocess.Popen([FITZ, "run", program, "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read()
                break
            except Exception:
                time.sleep(0.1)
        status, _ = create(port)
        assert status == 200, f"creating the account: {status}"
        unknown, wrong = [], []
        post(port, "/login", {"email": "warm@example.com", "password": "x"})
        for i in range(TRIES):
            s1, t1 = post(port, "/login", {"email": f"nobody{i}@example.com", "password": "pw-not-this"})
            s2, t2 = post(port, "/login", {"email": "ada@example.com", "password": "pw-not-this"})
            assert s1 == 401 and s2 == 401, (s1, s2)
            unknown.append(t1)
            wrong.append(t2)
        return statistics.median(unknown), statistics.median(wrong)
    finally:
        proc.terminate()
        proc.wait()


def notes_account(port):
    return post(port, "/setup", {"email": "ada@example.com", "name": "Ada", "password": "correct horse"})


def seed_account(port):
    # The seed has no sign-up route: the account goes into its table, hashed by argon2-cffi.
    import sqlite3
    from argon2 import PasswordHasher
    db = sqlite3.connect(os.environ["FITZ_TIMING_DB"])
    db.execute("INSERT INTO users (email, name, role, password_hash) VALUES (?, ?, ?, ?)",
               ("ada@example.com", "Ada", "admin", PasswordHasher().hash("correct horse")))
    db.commit()
    db.close()
    return 200, 0.0


for name, program, create, port in [
    ("examples/notes (verifies unknown emails against no hash)", "examples/notes/notes.fitz", notes_account, 3961),
    ("seed program (answers unknown emails before hashing)", "examples/seed/auth.fitz", seed_account, 3962),
]:
    try:
        u, w = measure(os.path.join(ROOT, program), port, create)
    except AssertionError as e:
        print(f"{name}: not measured ({e})")
        continue
    diff = abs(u - w) / w * 100
    print(f"{name}: unknown email median {u * 1000:.1f} ms, wrong password median {w * 1000:.1f} ms, "
          f"ratio {u / w:.3f} ({diff:.1f} % apart, {TRIES} tries each)")
