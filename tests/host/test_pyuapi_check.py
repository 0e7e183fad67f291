# SPDX-License-Identifier: MIT
"""pyuapi.check against real compiled C (gcc), system and synthetic headers."""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
from pathlib import Path


from pyuapi import check

REPO = Path(__file__).resolve().parents[2]
SYS = Path("/usr/include")


def _design_block() -> str:
    """The proposed if_tun.h additions, verbatim from docs/design.md."""
    text = (REPO / "docs" / "design.md").read_text()
    m = re.search(r"```c\n(#define TUNGETVNETHASHCAP.*?)```", text, re.S)
    assert m, "docs/design.md lost its UAPI block"
    return m.group(1)


def _design_vhost_block() -> str:
    """The proposed vhost_types.h addition, verbatim from docs/design.md."""
    text = (REPO / "docs" / "design.md").read_text()
    m = re.search(r"```c\n(#define VHOST_BACKEND_F_NET_HASH_REPORT.*?)```", text, re.S)
    assert m, "docs/design.md lost its vhost UAPI block"
    return m.group(1)


def _headers(tmp: Path, tun_extra: str = "", replace: tuple[str, str] | None = None) -> Path:
    """A header dir: system if_tun.h/virtio_net.h plus ``tun_extra`` (and, with
    it, the proposed vhost_types.h addition); the rest from /usr/include."""
    (tmp / "linux").mkdir(parents=True, exist_ok=True)
    tun_h = (SYS / "linux/if_tun.h").read_text()
    # 6.12 additions that an older system header may lack.
    base_extra = ""
    if "TUN_F_USO4" not in tun_h:
        base_extra += "#define TUN_F_USO4 0x20\n#define TUN_F_USO6 0x40\n"
    extra = base_extra + tun_extra
    if replace:
        extra = extra.replace(*replace)
    tun_h = tun_h.replace("#endif /* __IF_TUN_H */", extra + "\n#endif /* __IF_TUN_H */")
    (tmp / "linux/if_tun.h").write_text(tun_h)
    vn = (SYS / "linux/virtio_net.h").read_text()
    if "VIRTIO_NET_HDR_GSO_UDP_L4" not in vn:
        vn = vn.replace("#define VIRTIO_NET_HDR_GSO_ECN",
                        "#define VIRTIO_NET_HDR_GSO_UDP_L4 5\n#define VIRTIO_NET_HDR_GSO_ECN")
    (tmp / "linux/virtio_net.h").write_text(vn)
    if tun_extra:
        vt = (SYS / "linux/vhost_types.h").read_text()
        end = vt.rindex("#endif")
        (tmp / "linux/vhost_types.h").write_text(vt[:end] + _design_vhost_block() + vt[end:])
    return tmp


def test_system_headers_have_no_differences() -> None:
    res = check.run_check(SYS)
    assert res.compared > 100
    assert res.differences == [], "\n".join(map(str, res.differences))
    absent = {f.key for f in res.absent}
    assert {"TUNSETVNETHASH", "TUNGETVNETHASHCAP", "TUNGETVNETHASH", "TUN_VNET_HASH_SIZE_VER0",
            "sizeof(struct tun_vnet_hash)"} <= absent
    assert all(f.new for f in res.absent if "VNET_HASH" in f.key or "vnet_hash" in f.key)
    assert res.ok


def test_require_new_makes_absence_an_error() -> None:
    assert not check.run_check(SYS, require_new=True).ok


def test_design_md_uapi_matches_ctypes(tmp_path: Path) -> None:
    hdrs = _headers(tmp_path, _design_block())
    res = check.run_check(hdrs, require_new=True)
    assert res.findings == [], "\n".join(map(str, res.findings))
    assert res.ok
    keys = {e.key for e in check.expected_items()}
    assert "offsetof(struct tun_vnet_hash, indirection_table[])" in keys


def test_layout_difference_is_reported(tmp_path: Path) -> None:
    # key shrunk by 2 bytes: C pads the tail back to 56, so sizeof agrees but
    # the key's size and where the table starts do not.
    hdrs = _headers(tmp_path, _design_block(),
                    replace=("__u8 key[TUN_VNET_HASH_KEY_SIZE];", "__u8 key[38];"))
    res = check.run_check(hdrs, require_new=True)
    diffs = {f.key: (f.c_value, f.py_value) for f in res.differences}
    assert "sizeof(struct tun_vnet_hash)" not in diffs
    assert diffs["sizeof(struct tun_vnet_hash.key)"] == (38, 40)
    assert diffs["offsetof(struct tun_vnet_hash, indirection_table[])"] == (54, 56)
    assert not res.ok


def test_ioctl_number_difference_is_reported(tmp_path: Path) -> None:
    hdrs = _headers(tmp_path, _design_block(),
                    replace=("TUNSETVNETHASH    _IO('T', 229)",         # v1's number
                             "TUNSETVNETHASH    _IOW('T', 229, struct tun_vnet_hash)"))
    res = check.run_check(hdrs)
    assert [f.key for f in res.differences] == ["TUNSETVNETHASH"]


def test_missing_field_is_reported(tmp_path: Path) -> None:
    hdrs = _headers(tmp_path, _design_block(), replace=("unclassified_queue;", "unclassified;"))
    res = check.run_check(hdrs)
    bad = {f.key for f in res.differences}
    assert "offsetof(struct tun_vnet_hash, unclassified_queue)" in bad
    assert all(f.kind == "missing-field" for f in res.differences)


def test_cli_exit_codes(tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "pyuapi.check", *args], cwd=REPO,
                              capture_output=True, text=True)
    ok = run("--headers", str(SYS))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "0 difference(s)" in ok.stdout
    strict = run("--headers", str(SYS), "--require-new")
    assert strict.returncode == 1
    assert "ABSENT  TUNSETVNETHASH (new UAPI)" in strict.stdout
    bad = _headers(tmp_path / "bad", _design_block(),
                   replace=("__u16 flags;\t\t\t/* TUN_VNET_HASH_*; 0",
                            "__u32 flags;\t\t\t/* TUN_VNET_HASH_*; 0"))
    r = run("--headers", str(bad))
    assert r.returncode == 1 and "DIFF    sizeof(struct tun_vnet_hash)" in r.stdout
    nodir = run("--headers", str(tmp_path / "nothing"))
    assert nodir.returncode == 2


def _series_tun_additions() -> str:
    """Lines that patches/ adds to include/uapi/linux/if_tun.h, in order.

    The base's header is not at hand (the system's is older), so the
    additions are kept on their own: a hunk whose leading context is a
    line added by an earlier patch is inserted after that line (a later
    patch extending the DOC comment of an earlier one), any other hunk
    is appended.
    """
    added: list[str] = []
    pdir = REPO / "patches"
    for p in sorted(pdir.glob("*.patch")) if pdir.is_dir() else []:
        m = re.search(r"^diff --git a/include/uapi/linux/if_tun.h b/include/uapi/linux/if_tun.h\n"
                      r"(.*?)(?=^diff --git|^-- $|\Z)", p.read_text(), re.S | re.M)
        if not m:
            continue
        for hunk in re.split(r"^@@[^\n]*\n", m.group(1), flags=re.M)[1:]:
            lines = hunk.splitlines()
            context = [ln[1:] for ln in itertools.takewhile(lambda ln: ln.startswith(" "), lines)]
            new = [ln[1:] for ln in lines if ln.startswith("+") and not ln.startswith("+++")]
            at = len(added)
            if context and context[-1] in added:
                at = len(added) - added[::-1].index(context[-1])
            added[at:at] = new
    return "\n".join(added) + "\n" if added else ""


def test_series_header_matches_ctypes(tmp_path: Path) -> None:
    """The if_tun.h additions of patches/ (appended to the system header) against ctypes."""
    extra = _series_tun_additions()
    if not extra:
        import pytest
        pytest.skip("patches/ does not touch include/uapi/linux/if_tun.h yet")
    res = check.run_check(_headers(tmp_path, extra), require_new=True)
    assert res.findings == [], "\n".join(map(str, res.findings))
    assert res.ok
