"""Build a Lambda deployment package (zip) for a function written with dbt_lambda_sync.handler.

    python examples/package_function.py examples/handlers/crm_upsert.py -o build/crm_upsert.zip

The zip holds the function's module at its root plus the handler kit, and nothing else:

    crm_upsert.py
    dbt_lambda_sync/__init__.py     (empty: the rest of the package, and dbt, stay out)
    dbt_lambda_sync/handler.py      (standard library only)

The kit is taken from the installed dbt_lambda_sync package (``--kit`` to use another copy).
Standard library only; the same layout as examples/DEPLOYING.md builds with ``zip``.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import sys
import zipfile
from pathlib import Path

KIT_PATH_IN_ZIP = "dbt_lambda_sync/handler.py"
INIT_PATH_IN_ZIP = "dbt_lambda_sync/__init__.py"


def installed_kit() -> Path:
    """The handler.py of the installed dbt_lambda_sync (found without importing the package)."""
    spec = importlib.util.find_spec("dbt_lambda_sync")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("dbt_lambda_sync is not installed here: pip install dbt-lambda-sync")
    return Path(next(iter(spec.submodule_search_locations))) / "handler.py"


def build_package(function_file: Path, *, kit: Path | None = None) -> bytes:
    """The zip's bytes: ``function_file`` at the root, the kit under dbt_lambda_sync/."""
    kit = kit or installed_kit()
    files = {
        function_file.name: function_file.read_bytes(),
        INIT_PATH_IN_ZIP: b"",
        KIT_PATH_IN_ZIP: kit.read_bytes(),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))  # reproducible
            info.external_attr = 0o644 << 16  # readable by Lambda's user
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("function_file", type=Path, help="the function's module, e.g. app.py")
    parser.add_argument("-o", "--output", type=Path, required=True, help="the zip to write")
    parser.add_argument("--kit", type=Path, help="handler.py to bundle (default: installed)")
    args = parser.parse_args(argv)
    package = build_package(args.function_file, kit=args.kit)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(package)
    print(f"wrote {args.output} ({len(package):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
