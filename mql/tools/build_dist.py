"""Build the two installable MetaTrader trees from the one MQL source (`make mql`).

    python3 mql/tools/build_dist.py [--out dist/mql]

mql/Include/MtBridge/*.mqh       -> MQL4/Include/MtBridge/ and MQL5/Include/MtBridge/
mql/Experts/*.mql, Scripts/*.mql -> MQL4/.../*.mq4 and MQL5/.../*.mq5

Each tree is also zipped (mtbridge-mql4.zip, mtbridge-mql5.zip) with fixed timestamps and
sorted entries, so the same sources give byte-identical archives. Unzip one into the
terminal's data folder (File > Open Data Folder): its MQL4/ or MQL5/ lands in place.
Standard library only: runs before any virtualenv exists.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import zipfile
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1]
PLATFORMS = {"MQL4": ".mq4", "MQL5": ".mq5"}
PROGRAM_DIRS = ("Experts", "Scripts")
ZIP_TIME = (2020, 1, 1, 0, 0, 0)


def tree_files(platform: str) -> dict[str, bytes]:
    """Relative path inside the platform tree -> file bytes."""
    ext = PLATFORMS[platform]
    files: dict[str, bytes] = {}
    for path in sorted((SOURCE / "Include").rglob("*.mqh")):
        files[f"{platform}/Include/{path.relative_to(SOURCE / 'Include').as_posix()}"] = path.read_bytes()
    for folder in PROGRAM_DIRS:
        for path in sorted((SOURCE / folder).glob("*.mql")):
            files[f"{platform}/{folder}/{path.stem}{ext}"] = path.read_bytes()
    return files


def write_zip(target: Path, files: dict[str, bytes]) -> None:
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[name])


def build(out: Path) -> list[Path]:
    if out.exists():
        shutil.rmtree(out)
    made = []
    for platform in PLATFORMS:
        files = tree_files(platform)
        for name, data in files.items():
            target = out / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        archive = out / f"mtbridge-{platform.lower()}.zip"
        write_zip(archive, files)
        made += [out / platform, archive]
    return made


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=SOURCE.parent / "dist" / "mql")
    args = parser.parse_args(argv)
    for path in build(args.out):
        count = sum(1 for p in path.rglob("*") if p.is_file()) if path.is_dir() else None
        print(f"mql: {path}" + (f" ({count} files)" if count is not None else f" ({path.stat().st_size} bytes)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
