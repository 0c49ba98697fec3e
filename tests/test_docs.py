"""The design and the architecture are in the repository, and the code points into them."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = re.compile(r"DESIGN §(\d+)(?:[–-](\d+))?")


def sections() -> set[int]:
    text = (ROOT / "docs" / "design.md").read_text(encoding="utf-8")
    return {int(number) for number in re.findall(r"^## (\d+)\. ", text, flags=re.MULTILINE)}


def test_every_design_reference_names_a_section_that_exists():
    found = sections()
    assert found == set(range(1, 8))
    references = 0
    for path in [*ROOT.glob("ohpunaises/**/*.py"), *ROOT.glob("tests/*.py"), *ROOT.glob("*.md")]:
        for match in REFERENCE.finditer(path.read_text(encoding="utf-8")):
            first, last = int(match.group(1)), int(match.group(2) or match.group(1))
            assert set(range(first, last + 1)) <= found, f"{path.name}: {match.group(0)}"
            references += 1
    assert references >= 10


def test_the_architecture_names_modules_that_exist():
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`((?:usecases/|api/|web/|map/|indicators/)?[a-z_]+\.py)`", text))
    assert len(named) > 10
    for name in named:
        assert list(ROOT.glob(f"ohpunaises/**/{name}")) or (ROOT / "ohpunaises" / name).exists(), (
            name
        )
