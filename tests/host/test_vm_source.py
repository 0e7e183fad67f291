# SPDX-License-Identifier: MIT
"""vm/source.py on a small real git repository: the series applies in order,
and the first patch that fails is named with the hunk that failed."""
import subprocess
from pathlib import Path

import pytest

from vm import source
from vm.errors import PatchError

ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
       "GIT_COMMITTER_EMAIL": "t@t"}


def git(cwd: Path, *args: str) -> str:
    return source.git(*args, cwd=cwd, env=ENV).stdout


@pytest.fixture
def base(tmp_path: Path) -> source.Base:
    repo = tmp_path / "base"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "base")
    (repo / "Makefile").write_text("all:\n")
    (repo / "tun.c").write_text("".join(f"line {i}\n" for i in range(1, 41)))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    return source.Base(repo, git(repo, "rev-parse", "HEAD").strip(), "test base")


def make_series(base: source.Base, tmp_path: Path, edits: list[tuple[str, str]]) -> list[Path]:
    """Commit each (old line, new line) edit on a scratch clone, format-patch them."""
    work = tmp_path / "scratch"
    subprocess.run(["git", "clone", "-q", str(base.repo), str(work)], check=True)
    for n, (old, new) in enumerate(edits, 1):
        f = work / "tun.c"
        f.write_text(f.read_text().replace(old, new))
        git(work, "commit", "-q", "-am", f"tun: edit {n}")
    out = tmp_path / "patches"
    git(work, "format-patch", "-q", "--cover-letter", "-o", str(out), f"{base.commit}..HEAD")
    return source.series(out)


def test_series_skips_cover_letter_and_keeps_order(base, tmp_path) -> None:
    patches = make_series(base, tmp_path, [("line 5\n", "five\n"), ("line 30\n", "thirty\n")])
    assert [p.name[:4] for p in patches] == ["0001", "0002"]
    src = tmp_path / "src"
    source.checkout(base, src)
    source.apply_series(src, patches)
    text = (src / "tun.c").read_text()
    assert "five\n" in text and "thirty\n" in text


def test_failing_patch_is_named_with_its_hunk(base, tmp_path) -> None:
    patches = make_series(base, tmp_path, [("line 5\n", "five\n"), ("line 30\n", "thirty\n")])
    # Break the second patch: its context no longer matches the base.
    broken = patches[1].read_text().replace(" line 29\n", " line 29 changed\n")
    patches[1].write_text(broken)
    src = tmp_path / "src"
    source.checkout(base, src)
    with pytest.raises(PatchError) as err:
        source.apply_series(src, patches)
    assert err.value.patch == f"patches/{patches[1].name}"
    assert err.value.hunk.startswith("tun.c: @@ -27,7 +27,7 @@")
    assert "does not apply at tun.c" in str(err.value)
    assert "error: patch failed: tun.c:27" in err.value.detail and "hint:" not in err.value.detail
    # The failed `git am` was aborted: the tree can be reused.
    assert not (src / ".git" / "rebase-apply").exists()


def test_checkout_resets_a_previous_series(base, tmp_path) -> None:
    patches = make_series(base, tmp_path, [("line 5\n", "five\n")])
    src = tmp_path / "src"
    source.checkout(base, src)
    source.apply_series(src, patches)
    (src / "stray.o").write_text("x")
    source.checkout(base, src)
    assert "five" not in (src / "tun.c").read_text()
    assert not (src / "stray.o").exists()


def test_user_base_is_read_only(base) -> None:
    before = git(base.repo, "status", "--porcelain", "--ignored")
    user = source.user_base(base.repo, "HEAD")
    assert user.commit == base.commit
    assert git(base.repo, "status", "--porcelain", "--ignored") == before


def test_user_base_rejects_unknown_rev(base) -> None:
    with pytest.raises(source.SetupError, match="KERNEL_BASE=nope"):
        source.user_base(base.repo, "nope")


def test_debian_base_of_unknown_name_lists_the_names(tmp_path) -> None:
    with pytest.raises(source.SetupError, match="BASE='6.1': use one of mainline, 6.12"):
        source.debian_base(tmp_path, "6.1")
