"""The compiled-matcher cache (src/core/hscache.h) seen from the command line: the first run
writes private entries under CASTELLAN_CACHE_DIR, the next reads them without rewriting
them, corrupt entries are replaced, a rule file that changes gets entries of its own,
--no-cache and an unusable cache directory change nothing in the report. The credentials
are fake."""
import json
import os

from conftest import run
from test_secrets import GHP

RULES = """
[[rules]]
id = "corp-key"
description = "corp key"
regex = '''corp_[a-z0-9]{%d}'''
"""


def scan(target, cache, *extra):
    env = dict(os.environ, CASTELLAN_CACHE_DIR=str(cache))
    p = run("secrets", "--format", "json", *extra, str(target), check=False, env=env)
    assert p.returncode == 1, p.stderr
    return json.loads(p.stdout)["findings"]


def entries(cache):
    if not cache.exists():
        return {}
    return {p.name: (p.stat().st_ino, p.read_bytes()) for p in cache.iterdir()}


def test_cache_written_read_and_repaired(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "app.py").write_text(f"TOKEN = '{GHP}'\ncorp = 'corp_abcdef0123'\n")
    cache = tmp_path / "cache"
    first = scan(src, cache)
    assert [f["rule"] for f in first] == ["secret.github_token"]
    e1 = entries(cache)
    assert len(e1) >= 2 and all(n.endswith(".hsdb") for n in e1)
    assert oct(cache.stat().st_mode & 0o777) == "0o700"
    assert all((cache / n).stat().st_mode & 0o077 == 0 for n in e1)
    # warm: the same report, nothing rewritten
    assert scan(src, cache) == first
    assert entries(cache) == e1
    # corrupt entries are not used: replaced, the report unchanged
    for n in e1:
        data = bytearray((cache / n).read_bytes())
        data[len(data) // 2] ^= 0xff
        (cache / n).write_bytes(bytes(data))
    assert scan(src, cache) == first
    e2 = entries(cache)
    assert set(e2) == set(e1) and all(e2[n][1] == e1[n][1] for n in e1)
    # a rule file: its own entry; changed, another one
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES % 10)
    with_rules = scan(src, cache, "--rules", str(rules))
    assert sorted(f["rule"] for f in with_rules) == ["corp-key", "secret.github_token"]
    e3 = entries(cache)
    assert len(e3) == len(e1) + 1
    rules.write_text(RULES % 12)  # longer than the key: no match, not the old database
    assert [f["rule"] for f in scan(src, cache, "--rules", str(rules))] == \
        ["secret.github_token"]
    assert len(entries(cache)) == len(e1) + 2


def test_no_cache_and_unusable_dir(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "app.py").write_text(f"TOKEN = '{GHP}'\n")
    ref = scan(src, tmp_path / "ref")
    off = tmp_path / "off"
    assert scan(src, off, "--no-cache") == ref
    assert not off.exists()
    blocker = tmp_path / "file"
    blocker.write_text("not a directory\n")
    assert scan(src, blocker / "cache") == ref
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    assert scan(src, shared) == ref
    assert list(shared.iterdir()) == []
