# SPDX-License-Identifier: MIT
"""vm/bases.py: pins, Debian version order, and how a base is resolved when
the archive still has the pinned version, no longer has it, or is ahead of
the cached index.  The archive is a fake here; `make kernel BASE=...` is the
real thing (issue 11's note has those runs)."""
from pathlib import Path

import pytest

from vm import bases
from vm.errors import SetupError

PINS = """# comment
mainline    linux-source-7.3    7.3~rc7-1~exp1
6.12        linux-source-6.12   6.12.117-1~deb12u1   # trailing comment
"""


@pytest.fixture
def pins(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "bases.pin"
    path.write_text(PINS)
    monkeypatch.setattr(bases, "PIN_FILE", path)
    return path


class FakeArchive:
    """Stands in for PrivateApt: an index (what apt-cache sees) and an
    archive (what apt-get download can fetch), and a log of the calls."""

    def __init__(self, index: list[tuple[str, str]], archive: list[tuple[str, str]] | None = None,
                 age: float | None = 60.0) -> None:
        self.index, self.archive, self.age = index, archive if archive is not None else index, age
        self.calls: list[str] = []

    def install(self, monkeypatch) -> None:
        fake = self

        class Apt:
            def __init__(self, root: Path, spec: bases.BaseSpec) -> None:
                self.root = root

            def index_age(self):
                return fake.age

            def update(self) -> None:
                fake.calls.append("update")
                fake.index, fake.age = list(fake.archive), 0.0

            def available(self):
                return sorted(fake.index, key=lambda pv: pv[1], reverse=True)

            def download(self, package: str, version: str, dest: Path) -> Path:
                fake.calls.append(f"download {package}={version}")
                if (package, version) not in fake.archive:
                    raise SetupError("404 Not Found")
                dest.mkdir(parents=True, exist_ok=True)
                deb = dest / f"{package}_{version}_all.deb"
                deb.write_text("deb")
                return deb

        monkeypatch.setattr(bases, "PrivateApt", Apt)


def test_pin_file_parses_and_rejects_unknown_names(pins) -> None:
    got = bases.read_pins()
    assert got["6.12"] == bases.Pin("6.12", "linux-source-6.12", "6.12.117-1~deb12u1")
    assert list(got) == ["mainline", "6.12"]
    pins.write_text(PINS + "stable linux-source-6.1 6.1.1-1\n")
    with pytest.raises(SetupError, match=r"bases.pin:4: .*mainline, 6.12"):
        bases.read_pins()


def test_write_pins_keeps_comments(pins) -> None:
    new = dict(bases.read_pins(), mainline=bases.Pin("mainline", "linux-source-7.4", "7.4-1"))
    bases.write_pins(new)
    text = pins.read_text()
    assert text.startswith("# comment\n") and "linux-source-7.4" in text
    assert bases.read_pins()["mainline"].version == "7.4-1"


def test_the_repository_pins_each_base_once() -> None:
    got = bases.read_pins(bases.Path(bases.__file__).with_name("bases.pin"))
    assert set(got) == set(bases.BASES)
    for name, pin in got.items():
        assert bases.BASES[name].qualifies(pin.package), pin


@pytest.mark.parametrize("older,newer", [
    ("7.3~rc7-1~exp1", "7.3-1"), ("7.2.13-1", "7.3~rc7-1~exp1"),
    ("6.12.99-1", "6.12.117-1~deb12u1"), ("6.12.117-1~deb12u1", "6.12.117-1")])
def test_debian_version_order(older, newer) -> None:
    assert bases.compare_versions(older, newer) == -1
    assert bases.compare_versions(newer, older) == 1
    assert bases.compare_versions(newer, newer) == 0


def test_mainline_takes_any_x_y_and_612_only_612() -> None:
    assert bases.BASES["mainline"].qualifies("linux-source-7.10")
    assert not bases.BASES["mainline"].qualifies("linux-source-7.3-rt")
    assert not bases.BASES["6.12"].qualifies("linux-source-6.1")


def test_extracted_pin_asks_nothing(pins, tmp_path, monkeypatch) -> None:
    archive = FakeArchive([])
    archive.install(monkeypatch)
    chosen, deb = bases.resolve("6.12", tmp_path, lambda p, v: True)
    assert (chosen.version, deb, chosen.fallback, archive.calls) == \
        ("6.12.117-1~deb12u1", None, False, [])


def test_downloaded_deb_is_reused_offline(pins, tmp_path, monkeypatch) -> None:
    (tmp_path / "debs").mkdir()
    cached = tmp_path / "debs" / "linux-source-6.12_6.12.117-1~deb12u1_all.deb"
    cached.write_text("deb")
    archive = FakeArchive([])
    archive.install(monkeypatch)
    assert bases.resolve("6.12", tmp_path, lambda p, v: False)[1] == cached
    assert archive.calls == []


def test_pinned_version_is_downloaded(pins, tmp_path, monkeypatch) -> None:
    archive = FakeArchive([("linux-source-7.3", "7.3~rc7-1~exp1"), ("linux-source-7.2", "7.2.13-1")])
    archive.install(monkeypatch)
    notes: list[str] = []
    chosen, deb = bases.resolve("mainline", tmp_path, lambda p, v: False, notes.append)
    assert (chosen.package, chosen.version, chosen.fallback) == \
        ("linux-source-7.3", "7.3~rc7-1~exp1", False)
    assert deb.exists() and notes == [] and archive.calls == ["download linux-source-7.3=7.3~rc7-1~exp1"]


def test_pin_gone_from_the_index_takes_the_newest_with_one_notice(pins, tmp_path,
                                                                  monkeypatch) -> None:
    archive = FakeArchive([("linux-source-6.12", "6.12.119-1~deb12u1")])
    archive.install(monkeypatch)
    notes: list[str] = []
    chosen, deb = bases.resolve("6.12", tmp_path, lambda p, v: False, notes.append)
    assert chosen.fallback and chosen.version == "6.12.119-1~deb12u1"
    assert chosen.pin.version == "6.12.117-1~deb12u1"
    assert len(notes) == 1 and "no longer in the archive" in notes[0] \
        and "6.12.117-1~deb12u1" in notes[0] and "6.12.119-1~deb12u1" in notes[0]
    assert deb.name == "linux-source-6.12_6.12.119-1~deb12u1_all.deb"


def test_index_behind_the_archive_is_updated_once(pins, tmp_path, monkeypatch) -> None:
    # the cached index still lists the pin, the archive already dropped it
    archive = FakeArchive(index=[("linux-source-6.12", "6.12.117-1~deb12u1")],
                          archive=[("linux-source-6.12", "6.12.119-1~deb12u1")])
    archive.install(monkeypatch)
    chosen, _ = bases.resolve("6.12", tmp_path, lambda p, v: False, lambda m: None)
    assert chosen.version == "6.12.119-1~deb12u1"
    assert archive.calls == ["download linux-source-6.12=6.12.117-1~deb12u1", "update",
                             "download linux-source-6.12=6.12.119-1~deb12u1"]


def test_stale_or_missing_index_is_updated_first(pins, tmp_path, monkeypatch) -> None:
    for age in (None, 25 * 3600.0):
        archive = FakeArchive([("linux-source-6.12", "6.12.117-1~deb12u1")], age=age)
        archive.install(monkeypatch)
        bases.resolve("6.12", tmp_path / str(age), lambda p, v: False)
        assert archive.calls[0] == "update"


def test_unknown_base_lists_the_names(pins, tmp_path) -> None:
    with pytest.raises(SetupError, match="BASE='7.3': use one of mainline, 6.12"):
        bases.resolve("7.3", tmp_path, lambda p, v: False)


def test_empty_index_names_the_suites(pins, tmp_path, monkeypatch) -> None:
    FakeArchive([]).install(monkeypatch)
    with pytest.raises(SetupError, match="unstable, experimental"):
        bases.resolve("mainline", tmp_path, lambda p, v: False)


def test_private_apt_options_never_name_etc_apt(tmp_path) -> None:
    apt = bases.PrivateApt(tmp_path, bases.BASES["mainline"])
    opts = apt.options()
    values = dict(o.split("=", 1) for o in opts[1::2])
    assert values["Dir::Etc::sourcelist"].startswith(str(tmp_path))
    assert values["Dir::Etc::sourceparts"] == "/dev/null"
    assert values["Dir::State::status"] == "/dev/null"
    assert all(not v.startswith("/etc/apt") for v in values.values())


def test_update_pins_takes_the_newest_offered(pins) -> None:
    current = bases.read_pins()
    notes: list[str] = []
    offers = {"mainline": (current["mainline"], [("linux-source-7.4", "7.4-1"),
                                                 ("linux-source-7.3", "7.3~rc7-1~exp1")]),
              "6.12": (current["6.12"], [("linux-source-6.12", "6.12.117-1~deb12u1")])}
    bases.update_pins(offers, notes.append)
    assert bases.read_pins()["mainline"] == bases.Pin("mainline", "linux-source-7.4", "7.4-1")
    assert bases.read_pins()["6.12"] == current["6.12"]
    assert notes == ["bases: mainline: linux-source-7.3 7.3~rc7-1~exp1 -> linux-source-7.4 7.4-1"]


def test_update_pins_refuses_an_empty_offer(pins) -> None:
    before = pins.read_text()
    with pytest.raises(SetupError, match="BASE=6.12"):
        bases.update_pins({"6.12": (bases.read_pins()["6.12"], [])})
    assert pins.read_text() == before
