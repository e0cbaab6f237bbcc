"""castellan secrets --git: the default history scan (added lines first, the whole blob only
when they hold a finding or the file has context to read, packs read directly) against the
reference --full-blobs (every changed blob inspected whole). Both must give the same findings
(rule, path, line, commit and the rest) on the benchmark's generated repository (small size)
as fast-import wrote it, after git gc (delta chains) and unpacked into loose objects, and on
a repository built here with renames, deletions, binary files, merges, the same secret
added twice; and a private key whose BEGIN line alone changes, under a gitleaks rule that
needs its END line. The credentials are fake."""
import base64
import hashlib
import json
import os
import struct
import subprocess
import sys
import zlib

from conftest import run
from test_secrets import AWS, AWS2, GHP, GHP2, commit_all, git

SRC = os.environ.get("CST_SOURCE_DIR", ".")
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def scan(repo, *extra):
    p = run("secrets", "--format", "json", "--git", str(repo), *extra, check=False)
    assert p.returncode in (0, 1), p.stderr
    return json.loads(p.stdout)


def key(f):
    return (f["commit"], f["path"], f["line"], f["column"], f["rule"], f["preview"],
            f["severity"], f["checksum"], f["context"], f["fingerprint"], f["author"], f["date"])


def same_as_reference(repo, *extra):
    fast, ref = scan(repo, *extra), scan(repo, *extra, "--full-blobs")
    assert sorted(map(key, fast["findings"])) == sorted(map(key, ref["findings"]))
    assert fast["errors"] == ref["errors"] == []
    assert fast["stats"]["commits"] == ref["stats"]["commits"]
    return fast


def unpack_all(repo, tmp_path):
    """Turns every pack of repo into loose objects (the packs are moved to tmp_path)."""
    packs = [p for p in (repo / ".git" / "objects" / "pack").iterdir()
             if p.suffix == ".pack"]
    for p in packs:
        moved = tmp_path / p.name
        p.rename(moved)
        p.with_suffix(".idx").unlink()
        with open(moved, "rb") as fh:
            subprocess.run(["git", "-C", str(repo), "unpack-objects", "-q"], stdin=fh,
                           check=True)


def test_generated_history_matches_reference(tmp_path):
    repo = tmp_path / "gen"
    gen = subprocess.run([sys.executable, os.path.join(SRC, "bench", "secrets_gen.py"),
                          str(repo), "--commits", "600", "--seed", "5"],
                         capture_output=True, text=True, check=True)
    planted = json.loads(gen.stdout)["secrets"]
    assert planted >= 5
    r = same_as_reference(repo)
    # every fake credential is distinct: one finding each, at the commit that added it
    assert len(r["findings"]) == planted, (len(r["findings"]), planted)
    for f in r["findings"]:
        shown = git(repo, "show", "--format=", "-U0", f["commit"], "--", f["path"])
        assert f["preview"][:4] in shown
    assert r["stats"]["commits"] == 600
    before = sorted(map(key, r["findings"]))
    # delta chains (offset deltas, trees and blobs) ...
    git(repo, "gc", "-q", "--aggressive")
    assert sorted(map(key, same_as_reference(repo)["findings"])) == before
    # ... and loose objects only (every object read through libgit2)
    unpack_all(repo, tmp_path)
    assert sorted(map(key, same_as_reference(repo)["findings"])) == before


def test_renames_deletions_binary_merges_repeats(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    body = "".join(f"line {i} of the service\n" for i in range(40))
    (repo / "svc.py").write_text(body)
    (repo / "blob.bin").write_bytes(b"\0\1\2" + f"KEY={AWS2}\n".encode())
    commit_all(repo, "first")
    (repo / "svc.py").write_text(body + f"TOKEN = '{GHP}'\n")
    first = commit_all(repo, "add a token")
    # renamed: the new path adds every line, so the token is new at that path
    git(repo, "mv", "svc.py", "service.py")
    renamed = commit_all(repo, "rename")
    # the token removed, then the same token added again: reported once per path
    (repo / "service.py").write_text(body)
    commit_all(repo, "remove")
    (repo / "service.py").write_text(body + f"TOKEN = '{GHP}'\n")
    commit_all(repo, "add it again")
    # a deleted file and a binary file with a key in it: nothing to report
    (repo / "old.txt").write_text("nothing\n")
    commit_all(repo, "old")
    (repo / "old.txt").unlink()
    commit_all(repo, "delete")
    # a branch adds a key, main changes another file, a merge joins them; the merge adds
    # a line of its own (an evil merge) with a second key
    git(repo, "checkout", "-q", "-b", "topic")
    (repo / "conf.env").write_text(f"AWS_ACCESS_KEY_ID={AWS}\n")
    on_topic = commit_all(repo, "topic key")
    git(repo, "checkout", "-q", "main")
    (repo / "service.py").write_text(body + f"TOKEN = '{GHP}'\n# main work\n")
    commit_all(repo, "main work")
    git(repo, "merge", "-q", "--no-commit", "--no-ff", "topic")
    (repo / "conf.env").write_text(f"AWS_ACCESS_KEY_ID={AWS}\nGH={GHP2}\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "merge topic")
    merge = git(repo, "rev-parse", "HEAD")
    # a copy of the same key into a second file in one later commit
    (repo / "copy.env").write_text(f"AWS_ACCESS_KEY_ID={AWS}\n")
    copied = commit_all(repo, "copy")
    for packed in (False, True):
        if packed:
            git(repo, "gc", "-q", "--aggressive")
        r = same_as_reference(repo)
        got = sorted((f["commit"], f["path"], f["line"], f["rule"]) for f in r["findings"])
        assert got == sorted([
            (first, "svc.py", 41, "secret.github_token"),
            (renamed, "service.py", 41, "secret.github_token"),
            (on_topic, "conf.env", 1, "secret.aws_access_key_id"),
            (merge, "conf.env", 2, "secret.github_token"),
            (copied, "copy.env", 1, "secret.aws_access_key_id"),
        ]), got
        assert r["stats"]["binary_skipped"] == 1

def octopus(tmp_path, n, evil):
    """A repository (git fast-import) whose main is a merge of n branches off one root, branch
    i adding f<i>.txt, branch 7 with a token in it; the merge holds every branch's file and,
    with evil, a key line of its own in f3.txt."""
    repo = tmp_path / f"octopus{n}"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")

    def blob(text):
        data = text.encode()
        return f"data {len(data)}\n".encode() + data + b"\n"

    def commit(ref, mark, msg):
        return (f"commit {ref}\nmark :{mark}\n"
                f"committer Alice <alice@example.com> 1704164645 +0000\n").encode() + blob(msg)

    files = {i: f"branch {i}\n" + (f"TOKEN = '{GHP}'\n" if i == 7 else "") for i in range(n)}
    s = commit("refs/heads/main", 1, "root") + b"M 100644 inline base.txt\n" + blob("base\n")
    for i in range(n):
        s += commit(f"refs/heads/b{i}", 2 + i, f"branch {i}") + b"from :1\n"
        s += f"M 100644 inline f{i}.txt\n".encode() + blob(files[i])
    s += commit("refs/heads/main", 2 + n, "octopus") + b"from :1\n"
    s += b"".join(f"merge :{2 + i}\n".encode() for i in range(n))
    for i in range(n):
        text = files[i] + (f"AWS_ACCESS_KEY_ID={AWS}\n" if evil and i == 3 else "")
        s += f"M 100644 inline f{i}.txt\n".encode() + blob(text)
    subprocess.run(["git", "-C", str(repo), "fast-import", "--quiet"], input=s, check=True)
    return repo


def test_octopus_merges(tmp_path):
    """A merge of 70 parents (Linux has one of 66) is scanned like any merge: a line is added
    when no parent has it, so the branch's token is reported at the branch and the merge's own
    line at the merge. Past 1,024 parents the commit is an error, never a silent skip."""
    repo = octopus(tmp_path, 70, True)
    r = same_as_reference(repo)
    got = sorted((f["commit"], f["path"], f["line"], f["rule"]) for f in r["findings"])
    assert got == sorted([
        (git(repo, "rev-parse", "b7"), "f7.txt", 2, "secret.github_token"),
        (git(repo, "rev-parse", "main"), "f3.txt", 2, "secret.aws_access_key_id"),
    ]), got
    assert r["stats"]["commits"] == 72
    for jobs in ("1", "3"):
        assert scan(repo, "--jobs", jobs) == r
    wide = octopus(tmp_path, 1025, False)
    out = errors_of(wide)
    assert [e["message"] for e in out["errors"]] == ["more than 1024 parents: not scanned"]
    assert out["errors"][0]["commit"] == git(wide, "rev-parse", "main")
    assert len(out["findings"]) == 1    # branch 7's token


def test_folded_base64_value(tmp_path):
    """A token added inside a Kubernetes Secret's base64 value folded over several lines is
    placed at the value's key line, which the commit did not change: it is reported at that
    commit all the same (the finding spans the value's lines), and not again when only
    another line of the file changes."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")

    def secret(payload, extra=""):
        b = base64.b64encode(payload.encode()).decode()
        return ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: app\n" + extra +
                "data:\n  app.env: >-\n" +
                "".join(f"    {b[i:i + 40]}\n" for i in range(0, len(b), 40)) +
                "type: Opaque\n")

    env = "".join(f"SETTING_{i}=value {i}\n" for i in range(6))
    (repo / "secret.yaml").write_text(secret(env))
    commit_all(repo, "settings")
    (repo / "secret.yaml").write_text(secret(env + f"TOKEN={GHP}\n"))
    added = commit_all(repo, "a token in the value")
    (repo / "secret.yaml").write_text(secret(env + f"TOKEN={GHP}\n", "  # a note\n"))
    commit_all(repo, "another line")
    for packed in (False, True):
        if packed:
            git(repo, "gc", "-q", "--aggressive")
        r = same_as_reference(repo)
        got = [(f["commit"], f["path"], f["line"], f["rule"], f["context"])
               for f in r["findings"]]
        assert got == [(added, "secret.yaml", 6, "secret.github_token",
                        "Secret app data.app.env (base64-decoded) line 7")], got


PEM_RULE = r"""[[rules]]
id = "pem-key"
regex = '''-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY-----[\s\S-]{64,}?-----END[ A-Z0-9_-]{0,100}PRIVATE KEY-----'''
keywords = ["-----begin"]
"""


def test_private_key_armour_changed(tmp_path):
    """A gitleaks rule that needs a key's END line: when only the BEGIN line changes, the added
    lines hold no match, and the PEM armour line alone must send the blob to the whole-blob
    inspection."""
    rules = tmp_path / "pem.toml"
    rules.write_text(PEM_RULE)
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    pem = "\n".join("".join(B64[(i * 7 + k * 13) % 64] for k in range(64)) for i in range(8))
    (repo / "key.txt").write_text(f"x = 1\n-----BEGIN RSA PRIVATE KEY-----\n{pem}\n"
                                  "-----END RSA PRIVATE KEY-----\n")
    key1 = commit_all(repo, "key")
    (repo / "key.txt").write_text(f"x = 1\n-----BEGIN EC PRIVATE KEY-----\n{pem}\n"
                                  "-----END RSA PRIVATE KEY-----\n")
    key2 = commit_all(repo, "key armour")
    r = same_as_reference(repo, "--rules", str(rules), "--no-builtin")
    got = sorted((f["commit"], f["line"], f["rule"]) for f in r["findings"])
    assert got == sorted([(key1, 2, "pem-key"), (key2, 2, "pem-key")]), got


def test_private_key_rotated(tmp_path):
    """A key whose body changes under the same BEGIN and END lines is a new secret: the
    finding's line (BEGIN) is in the parent, but the secret spans lines that are not."""
    rules = tmp_path / "pem.toml"
    rules.write_text(PEM_RULE)
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")

    def key(seed):
        body = "\n".join("".join(B64[(i * 7 + k * 13 + seed) % 64] for k in range(64))
                         for i in range(8))
        return f"x = 1\n-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----\n"

    (repo / "key.txt").write_text(key(0))
    key1 = commit_all(repo, "key")
    (repo / "key.txt").write_text(key(5))
    key2 = commit_all(repo, "key rotated")
    (repo / "key.txt").write_text(key(5) + "y = 2\n")
    commit_all(repo, "unrelated line")
    r = same_as_reference(repo, "--rules", str(rules), "--no-builtin")
    got = sorted((f["commit"], f["line"], f["rule"]) for f in r["findings"])
    assert got == sorted([(key1, 2, "pem-key"), (key2, 2, "pem-key")]), got


def scan_raw(repo, *extra, env=None):
    p = run("secrets", "--format", "json", "--git", str(repo), *extra, check=False, env=env)
    assert p.returncode in (1, 2), p.stderr
    return p.returncode, p.stdout


def test_report_independent_of_jobs(tmp_path):
    """The whole report (findings, errors, statistics) is byte for byte the same whatever the
    number of threads, packed whole, with delta chains, and with unreadable objects."""
    repo = tmp_path / "gen"
    subprocess.run([sys.executable, os.path.join(SRC, "bench", "secrets_gen.py"), str(repo),
                    "--commits", "600", "--seed", "5"], capture_output=True, text=True,
                   check=True)

    def all_same(*extra):
        outs = {j: scan_raw(repo, "--jobs", str(j), *extra) for j in (1, 2, 3, 8)}
        assert len(set(outs.values())) == 1, {j: o[1][:300] for j, o in outs.items()}
        return json.loads(outs[1][1]), outs[1][0]

    one, code = all_same()
    assert code == 1 and len(one["findings"]) >= 5 and one["errors"] == []
    assert one["stats"]["commits"] == 600
    assert all_same("--full-blobs")[0]["findings"] == one["findings"]
    git(repo, "gc", "-q", "--aggressive")
    assert all_same()[0]["findings"] == one["findings"]
    # loose objects, two blobs missing: the same errors at the same commits, every time
    unpack_all(repo, tmp_path)
    victims = git(repo, "rev-list", "--objects", "--all").split("\n")
    gone = [l.split()[0] for l in victims if len(l.split()) == 2 and
            l.split()[1].startswith("src/core/")][:2]
    assert len(gone) == 2
    for oid in gone:
        (repo / ".git" / "objects" / oid[:2] / oid[2:]).unlink()
    broken, code = all_same()
    assert code == 2
    assert len(broken["errors"]) >= 2
    assert all("cannot read" in e["message"] for e in broken["errors"]), broken["errors"]


def errors_of(repo, *extra):
    p = run("secrets", "--format", "json", "--git", str(repo), *extra, check=False)
    assert p.returncode == 2, (p.returncode, p.stdout[-500:], p.stderr[-500:])
    return json.loads(p.stdout)


def small_history(tmp_path, n):
    """A repository with n commits, each changing the file f."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    for i in range(n):
        (repo / "f").write_text(f"v{i}\n")
        commit_all(repo, f"c{i}")
    return repo


def test_missing_root_tree(tmp_path):
    """A commit whose tree object is gone (a damaged or partial clone) is an error naming the
    commit; the scan neither crashes nor reports the run as complete."""
    repo = small_history(tmp_path, 2)
    (repo / "f").write_text(f"k = {AWS}\n")
    head = commit_all(repo, "key")
    tree = git(repo, "rev-parse", "HEAD^{tree}")
    os.remove(repo / ".git" / "objects" / tree[:2] / tree[2:])
    r = errors_of(repo)
    assert any(e.get("commit") == head and "tree" in e["message"] for e in r["errors"]), r


def test_uppercase_hex_commit(tmp_path):
    """A commit object written with upper-case hex ids (git and libgit2 read it) is scanned."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "f").write_text("x\n")
    first = commit_all(repo, "c0")
    (repo / "f").write_text(f"x\nk = {AWS}\n")
    git(repo, "add", "-A")
    tree = git(repo, "write-tree")
    body = (f"tree {tree.upper()}\nparent {first.upper()}\n"
            "author A <a@example.com> 1700000000 +0000\n"
            "committer A <a@example.com> 1700000000 +0000\n\nupper\n")
    obj = tmp_path / "commit.txt"
    obj.write_text(body)
    c = git(repo, "hash-object", "-t", "commit", "--literally", "-w", str(obj))
    git(repo, "update-ref", "refs/heads/main", c)
    r = scan(repo)
    assert [(f["commit"], f["line"]) for f in r["findings"]] == [(c, 2)], r
    assert r["errors"] == [], r["errors"]


def test_shallow_clone_is_an_error(tmp_path):
    """A shallow clone lacks the history before its shallow commits: said so, exit 2."""
    repo = small_history(tmp_path, 3)
    shallow = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{repo}", str(shallow)],
                   check=True, capture_output=True)
    r = errors_of(shallow)
    assert any("shallow" in e["message"] for e in r["errors"]), r


def test_trees_nested_too_deep(tmp_path):
    """Trees nested deeper than 256 levels stop that commit's comparison with an error (the
    walk recurses once per level); the other commits are scanned."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "f").write_text(f"k = {AWS}\n")
    first = commit_all(repo, "key")
    blob = git(repo, "rev-parse", "HEAD:f")
    t = subprocess.run(["git", "-C", str(repo), "mktree"], input=f"100644 blob {blob}\tg\n",
                       capture_output=True, text=True, check=True).stdout.strip()
    for _ in range(300):
        t = subprocess.run(["git", "-C", str(repo), "mktree"], input=f"040000 tree {t}\td\n",
                           capture_output=True, text=True, check=True).stdout.strip()
    top = subprocess.run(["git", "-C", str(repo), "mktree"],
                         input=f"100644 blob {blob}\tf\n040000 tree {t}\td\n",
                         capture_output=True, text=True, check=True).stdout.strip()
    deep = git(repo, "commit-tree", "-p", first, "-m", "deep", top)
    git(repo, "update-ref", "refs/heads/main", deep)
    r = errors_of(repo)
    assert any(e.get("commit") == deep and "256 deep" in e["message"] for e in r["errors"]), r
    assert [(f["commit"], f["path"]) for f in r["findings"]] == [(first, "f")], r["findings"]


def test_refs_to_blobs_and_missing_objects(tmp_path):
    """A tag of a blob is a warning (nothing to walk); a ref to a missing object is an error;
    the history the other refs reach is scanned either way."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "f").write_text(f"k = {AWS}\n")
    c = commit_all(repo, "key")
    git(repo, "tag", "blobtag", git(repo, "rev-parse", "HEAD:f"))
    p = run("secrets", "--format", "json", "--git", str(repo), check=False)
    assert p.returncode == 1, p.stderr
    r = json.loads(p.stdout)
    assert [(f["commit"], f["path"]) for f in r["findings"]] == [(c, "f")], r
    assert [(e["path"], e.get("level")) for e in r["errors"]] == [("refs/tags/blobtag", "warning")], r
    (repo / ".git" / "refs" / "heads" / "gone").write_text("1" * 40 + "\n")
    r = errors_of(repo)
    assert [(f["commit"], f["path"]) for f in r["findings"]] == [(c, "f")], r
    assert any(e["path"] == "refs/heads/gone" and e.get("level") != "warning" for e in r["errors"]), r


def raw_tree(repo, tmp_path, entries):
    """Writes a tree object with entries [(mode, name, hex id)] in the order given (git
    mktree would sort them) and returns its id."""
    body = b"".join(f"{m} {n}".encode() + b"\0" + bytes.fromhex(h) for m, n, h in entries)
    obj = tmp_path / "tree.bin"
    obj.write_bytes(body)
    return git(repo, "hash-object", "-t", "tree", "--literally", "-w", str(obj))


def test_wide_and_unsorted_trees(tmp_path):
    """A directory of 3,000 files whose tree lists them in reverse order (git reads such a
    tree; a scan that assumed sorted entries would pair the wrong files), one holding a key;
    then a commit that adds the same key under a name the first tree lacks (sorted next to
    the file that holds it), changes another file and adds one more: each secret is reported
    at the path and commit that added it, the new name is not taken for its neighbour."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    blobs = {}
    for text in ("plain\n", f"k = {AWS}\n", f"t = {GHP}\n"):
        (tmp_path / "b").write_text(text)
        blobs[text] = git(repo, "hash-object", "-w", str(tmp_path / "b"))
    plain, aws, ghp = blobs.values()
    names = [f"f{i:05d}" for i in range(3000)]
    old = {n: aws if n == "f01501" else plain for n in names}
    c1 = git(repo, "commit-tree", "-m", "wide",
             raw_tree(repo, tmp_path, [("100644", n, old[n]) for n in reversed(names)]))
    new = dict(old, f02000=ghp, f01500a=aws, zz=ghp)
    second = raw_tree(repo, tmp_path, [("100644", n, new[n]) for n in sorted(new, reverse=True)])
    c2 = git(repo, "commit-tree", "-p", c1, "-m", "change", second)
    git(repo, "update-ref", "refs/heads/main", c2)
    r = scan(repo)
    assert r["errors"] == [], r["errors"]
    got = sorted((f["commit"], f["path"]) for f in r["findings"])
    assert got == sorted([(c1, "f01501"), (c2, "f01500a"), (c2, "f02000"), (c2, "zz")]), got


def test_blob_over_the_size_limit_is_a_warning(tmp_path):
    """A blob over --max-file-size is never read whole and is listed as a warning naming the
    path and the commit that added it (as a directory scan lists such a file), once; the scan
    is not failed by it and the rest is scanned."""
    repo = small_history(tmp_path, 1)
    (repo / "big.txt").write_text(f"k = {AWS}\n" + "x" * 3000 + "\n")
    big = commit_all(repo, "big")
    (repo / "big.txt").write_text(f"k = {AWS}\n" + "y" * 3000 + "\n")
    (repo / "small.env").write_text(f"t = {GHP}\n")
    last = commit_all(repo, "bigger")
    p = run("secrets", "--format", "json", "--git", str(repo), "--max-file-size", "1000",
            check=False)
    assert p.returncode == 1, p.stderr
    r = json.loads(p.stdout)
    assert [(f["commit"], f["path"]) for f in r["findings"]] == [(last, "small.env")], r
    warned = sorted((e["commit"], e["path"]) for e in r["errors"])
    assert warned == sorted([(big, "big.txt"), (last, "big.txt")]), r["errors"]
    assert all(e.get("level") == "warning" and "1000-byte limit" in e["message"]
               for e in r["errors"]), r["errors"]
    assert r["stats"]["too_large_skipped"] == 2


def git_in(repo, data, *args):
    """git with data on its standard input; its output."""
    return subprocess.run(["git", "-C", str(repo), *args], input=data, check=True,
                          capture_output=True).stdout.decode().strip()


def test_small_file_over_a_large_base(tmp_path):
    """A file cut down to below the size limit is stored by git as a delta of its large old
    version: it is read and scanned (the base is larger than the limit, the file is not);
    only the large version is skipped as too large."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    rows = [f"row {i:07d} value {'abcdefghij' * 4}\n" for i in range(20000)]
    (repo / "data.txt").write_text("".join(rows))
    commit_all(repo, "big")
    (repo / "data.txt").write_text("".join(rows[:2000]) + f"aws_access_key_id = {AWS}\n")
    small = commit_all(repo, "small")
    git(repo, "repack", "-q", "-a", "-d", "-f")
    big_size = int(git(repo, "cat-file", "-s", "HEAD~1:data.txt"))
    assert big_size > 1000000 > int(git(repo, "cat-file", "-s", "HEAD:data.txt"))
    # the small version really is a delta of the large one in the pack
    verify = git(repo, "verify-pack", "-v", *[str(p) for p in
                 (repo / ".git" / "objects" / "pack").glob("*.idx")])
    small_id = git(repo, "rev-parse", "HEAD:data.txt")
    assert any(l.startswith(small_id) and len(l.split()) >= 7 for l in verify.split("\n"))
    for extra in ((), ("--full-blobs",)):
        p = run("secrets", "--format", "json", "--git", str(repo), "--max-file-size",
                "1000000", *extra, check=False)
        r = json.loads(p.stdout)
        assert p.returncode == 1, p.stderr
        assert [(f["commit"], f["line"], f["rule"]) for f in r["findings"]] == \
            [(small, 2001, "secret.aws_access_key_id")], r["findings"]
        assert r["stats"]["too_large_skipped"] == 1, r["stats"]
        assert [(e["level"], e["path"], e["message"]) for e in r["errors"]] == [
            ("warning", "data.txt", "skipped: over the 1000000-byte limit")], r["errors"]


def delta_chain_repo(root, n):
    """A repository whose one pack holds blobs b[0..n]: b[0] whole, b[k] an offset delta of
    b[k-1]. Commit 1 adds a.txt = b[n-1] (n-1 deltas deep), commit 2 b.txt = b[n] (n deep);
    every blob starts with a key line."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)

    def oid(kind, data):
        return hashlib.sha1(b"%s %d\0" % (kind.encode(), len(data)) + data).digest()

    def varint(v):
        out = bytearray()
        while True:
            out.append((v & 0x7f) | (0x80 if v >> 7 else 0))
            v >>= 7
            if not v:
                return bytes(out)

    def hdr(kind, size):
        c, size, out = (kind << 4) | (size & 15), size >> 4, bytearray()
        while size:
            out.append(c | 0x80)
            c, size = size & 0x7f, size >> 7
        return bytes(out + bytes([c]))

    def ofs(dist):
        out = [dist & 0x7f]
        dist >>= 7
        while dist:
            dist -= 1
            out.append(0x80 | (dist & 0x7f))
            dist >>= 7
        return bytes(reversed(out))

    key = f"aws_access_key_id = {AWS}\n".encode()
    blobs = [key + b"k=%d\n" % k for k in range(n + 1)]

    def tree(names):
        return b"".join(b"100644 %s\0" % name + oid("blob", blobs[k]) for name, k in names)

    ta, tb = tree([(b"a.txt", n - 1)]), tree([(b"a.txt", n - 1), (b"b.txt", n)])
    sig = b"Alice <alice@example.com> 1704164645 +0000"
    c1 = b"tree %s\nauthor %s\ncommitter %s\n\none\n" % (oid("tree", ta).hex().encode(), sig, sig)
    c2 = b"tree %s\nparent %s\nauthor %s\ncommitter %s\n\ntwo\n" % (
        oid("tree", tb).hex().encode(), oid("commit", c1).hex().encode(), sig, sig)
    pack, entries, prev = bytearray(b"PACK" + struct.pack(">II", 2, 0)), [], 0
    for kind, t, data in (("commit", 1, c1), ("commit", 1, c2), ("tree", 2, ta), ("tree", 2, tb)):
        entries.append((oid(kind, data), len(pack)))
        pack += hdr(t, len(data)) + zlib.compress(data)
    for k, b in enumerate(blobs):
        here = len(pack)
        entries.append((oid("blob", b), here))
        if k == 0:
            pack += hdr(3, len(b)) + zlib.compress(b)
        else:   # copy the key line from the base, insert the rest
            rest = b[len(key):]
            d = (varint(len(blobs[k - 1])) + varint(len(b)) + bytes([0x90, len(key)]) +
                 bytes([len(rest)]) + rest)
            pack += hdr(6, len(d)) + ofs(here - prev) + zlib.compress(d)
        prev = here
    pack[8:12] = struct.pack(">I", len(entries))
    pack += hashlib.sha1(pack).digest()
    entries.sort()
    idx = bytearray(b"\377tOc" + struct.pack(">I", 2))
    for i in range(256):
        idx += struct.pack(">I", sum(1 for e in entries if e[0][0] <= i))
    idx += b"".join(e[0] for e in entries) + b"\0\0\0\0" * len(entries)
    idx += b"".join(struct.pack(">I", e[1]) for e in entries) + pack[-20:]
    idx += hashlib.sha1(idx).digest()
    name = root / ".git" / "objects" / "pack" / ("pack-" + hashlib.sha1(pack[:-20]).hexdigest())
    name.with_suffix(".pack").write_bytes(pack)
    name.with_suffix(".idx").write_bytes(idx)
    git(root, "update-ref", "refs/heads/main", oid("commit", c2).hex())


def test_delta_chain_depth_same_for_every_thread_count(tmp_path):
    """A delta chain one longer than the reader's depth limit (4,096) is refused as malformed
    whether or not its base is in the reading thread's cache: the report is the same for
    every number of threads."""
    repo = tmp_path / "chain"
    delta_chain_repo(repo, 4097)
    outs = {j: scan_raw(repo, "--jobs", str(j)) for j in (1, 2, 8)}
    assert len(set(outs.values())) == 1, {j: o[1][:300] for j, o in outs.items()}
    code, out = outs[1]
    r = json.loads(out)
    assert code == 2
    assert [(f["path"], f["rule"]) for f in r["findings"]] == \
        [("a.txt", "secret.aws_access_key_id")], r["findings"]
    assert [(e["path"], e["message"]) for e in r["errors"]] == [
        ("b.txt", "cannot read the blob: the pack is malformed at this object")], r["errors"]


def test_unreadable_commits_and_ref_tips_are_errors(tmp_path):
    """A commit neither parser can read (a tree line that is not hex) is an error, and so is
    each child's parent; a branch whose tip commit cannot be read (no author line) is an
    error naming the branch, never a warning that leaves its history out in silence."""
    repo = small_history(tmp_path, 1)
    good = git(repo, "rev-parse", "HEAD")
    sig = "Alice <alice@example.com> 1704164645 +0000"
    bad = git_in(repo, f"tree {'z' * 40}\nparent {good}\nauthor {sig}\ncommitter {sig}\n\n"
                 "bad\n".encode(), "hash-object", "-t", "commit", "--literally", "-w", "--stdin")
    child = git_in(repo, f"tree {git(repo, 'rev-parse', 'HEAD^{tree}')}\nparent {bad}\n"
                   f"author {sig}\ncommitter {sig}\n\nchild\n".encode(), "hash-object", "-t",
                   "commit", "-w", "--stdin")
    git(repo, "update-ref", "refs/heads/bad", child)
    r = errors_of(repo)
    assert sorted((e["commit"], e["message"].split(":")[0]) for e in r["errors"]) == sorted([
        (bad, "cannot read the commit"), (child, "cannot read a parent commit")]), r["errors"]
    # a side branch adds a key under a tip without an author line
    git(repo, "update-ref", "-d", "refs/heads/bad")
    git(repo, "checkout", "-q", "-b", "side")
    (repo / "k.txt").write_text(f"aws_access_key_id = {AWS}\n")
    commit_all(repo, "key")
    tip = git_in(repo, f"tree {git(repo, 'rev-parse', 'HEAD^{tree}')}\nparent "
                 f"{git(repo, 'rev-parse', 'HEAD')}\ncommitter {sig}\n\nno author\n".encode(),
                 "hash-object", "-t", "commit", "--literally", "-w", "--stdin")
    git(repo, "update-ref", "refs/heads/side", tip)
    git(repo, "checkout", "-q", "main")
    r = errors_of(repo)
    assert [(e["path"], e["message"].split(":")[0]) for e in r["errors"]] == [
        ("refs/heads/side", "cannot read the ref's commit")], r["errors"]
    assert r["errors"][0]["level"] == "error", r["errors"]


def test_tree_dag_bomb(tmp_path):
    """Trees that name one subtree twice, 30 levels deep (2^30 entries from 31 objects, no
    file in them): the comparison stops at 4,194,304 entries with an error, at once."""
    repo = tmp_path / "bomb"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    sub = "1" * 40   # a submodule entry: no file content, its commit not in the repository
    t = git_in(repo, f"160000 commit {sub}\tl\n".encode(), "mktree")
    for _ in range(30):
        t = git_in(repo, f"040000 tree {t}\ta\n040000 tree {t}\tb\n".encode(), "mktree")
    git(repo, "update-ref", "refs/heads/main", git(repo, "commit-tree", "-m", "bomb", t))
    git(repo, "repack", "-q", "-a", "-d")
    r = errors_of(repo)
    assert [e["message"] for e in r["errors"]] == [
        "more than 4,194,304 tree entries compared: the rest of the commit is not scanned"]


def unkeyed_collision(line):
    """A printable line other than line (its length, a multiple of 8, at least 16) with the
    same hash under the fixed, invertible 64-bit hash the history scan once judged "added"
    lines by (secrets_scan.c before it was keyed)."""
    m = (1 << 64) - 1
    k1, k2 = 0x9e3779b97f4a7c15, 0x9fb21c651e98df25
    c1, c2 = 0xff51afd7ed558ccd, 0xc4ceb9fe1a85ec53

    def inv(a):
        return pow(a, -1, 1 << 64)

    def fmix(x):
        x ^= x >> 33
        x = x * c1 & m
        x ^= x >> 33
        x = x * c2 & m
        return x ^ (x >> 33)

    def funmix(x):
        x ^= x >> 33
        x = x * inv(c2) & m
        x ^= x >> 33
        x = x * inv(c1) & m
        return x ^ (x >> 33)

    def state(b, n):
        h = k1 ^ (n * k2 & m)
        for i in range(0, len(b), 8):
            h = ((h ^ fmix(struct.unpack("<Q", b[i:i + 8])[0])) * k2) & m
            h ^= h >> 29
        return h

    n = len(line)
    assert n % 8 == 0 and n >= 16
    t = state(line, n)
    v = (t ^ (t >> 29) ^ (t >> 58)) * inv(k2) & m    # the last block's input
    for i in range(1 << 20):
        prefix = b"#" + hashlib.sha256(b"%d" % i).hexdigest().encode()[:n - 9]
        w = struct.pack("<Q", funmix(v ^ state(prefix, n)))
        if all(0x20 < c < 0x7f for c in w):
            return prefix + w
    raise AssertionError("no printable collision")


def test_crafted_line_hash_collision(tmp_path):
    """A line crafted to collide with a secret's line under a fixed hash does not make the
    secret look present in the parent: the hash is keyed per run, and the key is found when
    it is added, by the default scan and --full-blobs alike."""
    line = f"aws_access_key_id = {AWS}".encode()
    decoy = unkeyed_collision(line)
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "a.txt").write_bytes(b"x\n" + decoy + b"\n")
    commit_all(repo, "decoy")
    (repo / "a.txt").write_bytes(b"x\n" + decoy + b"\n" + line + b"\n")
    added = commit_all(repo, "key")
    r = same_as_reference(repo)
    assert [(f["commit"], f["line"]) for f in r["findings"]] == [(added, 3)], r["findings"]


def test_keyword_elsewhere_in_the_file(tmp_path):
    """A rule with keywords whose keyword is in the file but not near the added line is found
    by the default scan as by --full-blobs: the engine looks for keywords in the whole text it
    inspects, so the added lines' inspection is given the whole blob's keywords."""
    rules = tmp_path / "kw.toml"
    rules.write_text('title = "kw"\n[[rules]]\nid = "acme-token"\ndescription = "Acme token"\n'
                     "regex = '''\\b([0-9a-f]{32})\\b'''\nkeywords = [\"acme\"]\n")
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    head = "# ACME client settings\nurl = https://example.com\nretries = 3\ntimeout = 10\n"
    (repo / "app.cfg").write_text(head)
    commit_all(repo, "settings")
    (repo / "app.cfg").write_text(head + "x = 1\ny = 2\ntoken = 4f1c2d3e5a6b7c8d9e0f1a2b3c4d5e6f\n")
    added = commit_all(repo, "token")
    r = same_as_reference(repo, "--rules", str(rules), "--no-builtin")
    assert [(f["commit"], f["line"], f["rule"]) for f in r["findings"]] == [
        (added, 7, "acme-token")], r["findings"]


def test_older_stashes(tmp_path):
    """Every stash is scanned, not only the newest: stash@{1} and on are entries of the
    refs/stash reflog, walked as refs are."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "app.txt").write_text("a\n")
    commit_all(repo, "base")
    (repo / "app.txt").write_text(f"a\naws_access_key_id = {AWS}\n")
    git(repo, "stash", "-q")
    (repo / "app.txt").write_text(f"a\ntoken = {GHP}\n")
    git(repo, "stash", "-q")
    r = same_as_reference(repo)
    assert sorted(f["rule"] for f in r["findings"]) == [
        "secret.aws_access_key_id", "secret.github_token"], r["findings"]
    assert r["stats"]["refs"] == 3, r["stats"]


def test_symbolic_link_target_scanned(tmp_path):
    """A symbolic link committed with a secret as its target is scanned (git log -p shows the
    target as the file's text) and counted, by the default scan as by --full-blobs."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "a.txt").write_text("a\n")
    commit_all(repo, "base")
    os.symlink(f"/run/aws_access_key_id={AWS}", repo / "creds")
    added = commit_all(repo, "link")
    r = same_as_reference(repo)
    assert [(f["commit"], f["path"], f["rule"]) for f in r["findings"]] == [
        (added, "creds", "secret.aws_access_key_id")], r["findings"]
    assert r["stats"]["files"] == 2, r["stats"]
