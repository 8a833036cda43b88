"""The coverage table of docs/translators.md, made from the catalogs: `make translation-coverage`.

python scripts/translation_coverage.py           # print the table
python scripts/translation_coverage.py --write   # put it into docs/translators.md, between the markers
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dialogs.languages import offered  # noqa: E402
from scripts.catalogs import LOCALES, ROOT, coverage  # noqa: E402

DOCS = ROOT / "docs" / "translators.md"
START, END = "<!-- coverage: start (make translation-coverage) -->", "<!-- coverage: end -->"


def table(localedir: Path = LOCALES) -> str:
    shown = {lang.code for lang in offered(localedir)}
    lines = [
        "| code | language | its own name | direction | Babel locale | translated | in the picker |",
        "|---|---|---|---|---|---|---|",
    ]
    for lang, done, total in coverage(localedir):
        percent = f"{100 * done // total} %" if total else "-"
        has_catalog = (localedir / lang.code).exists()
        state = f"{done}/{total} ({percent})" if has_catalog else "no catalog yet"
        direction = "right-to-left" if lang.rtl else "left-to-right"
        picker = "yes" if lang.code in shown else "no"
        cells = (lang.code, lang.english_name, lang.native_name, direction, lang.babel_locale, state, picker)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write(docs: Path = DOCS) -> None:
    text = docs.read_text(encoding="utf-8")
    before, rest = text.split(START, 1)
    _, after = rest.split(END, 1)
    docs.write_text(f"{before}{START}\n{table()}\n{END}{after}", encoding="utf-8")


if __name__ == "__main__":
    if "--write" in sys.argv[1:]:
        write()
        print(f"updated {DOCS.relative_to(ROOT)}")
    else:
        print(table())
