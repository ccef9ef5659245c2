"""Vendor Leaflet's browser files into geotarget so that maps and reports work offline.

Source: the npm registry's ``leaflet`` 1.9.4 package (``npm pack leaflet@1.9.4``; BSD-2-Clause,
(c) 2010-2023 Volodymyr Agafonkin, (c) 2010-2011 CloudMade).  Its ``dist/leaflet.js`` and
``dist/leaflet.css`` are copied unchanged, except that the CSS's ``url(images/*.png)`` references
become ``data:`` URIs of the same PNG files, so the inlined CSS needs no other file.

Outputs in ``geotarget/data/``: ``leaflet.json`` (``version``, ``source``, ``sha1`` of the npm
tarball, ``license`` text, ``js``, ``css``), shipped as package data and inlined into every HTML
file geotarget writes, and ``LICENSE-leaflet.txt``, Leaflet's licence file as published.

Run:  npm pack leaflet@1.9.4 && python data/build_leaflet.py leaflet-1.9.4.tgz
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import tarfile
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "geotarget" / "data"
VERSION = "1.9.4"
#: ``npm view leaflet@1.9.4 dist.shasum``
SHA1 = "23fae724e282fa25745aff82ca4d394748db7d8d"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("tarball", help="leaflet-1.9.4.tgz from 'npm pack leaflet@1.9.4'")
    args = ap.parse_args()
    raw = Path(args.tarball).read_bytes()
    sha1 = hashlib.sha1(raw).hexdigest()
    if sha1 != SHA1:
        raise SystemExit(f"{args.tarball}: sha1 {sha1} is not that of leaflet {VERSION} ({SHA1})")
    with tarfile.open(args.tarball) as tar:

        def read(name: str) -> bytes:
            f = tar.extractfile(f"package/{name}")
            assert f is not None, name
            return f.read()

        pkg = json.loads(read("package.json"))
        if pkg["version"] != VERSION:
            raise SystemExit(f"tarball holds leaflet {pkg['version']}, expected {VERSION}")
        js = read("dist/leaflet.js").decode("utf-8")
        css = read("dist/leaflet.css").decode("utf-8")
        licence = read("LICENSE").decode("utf-8")

        def inline(m: re.Match) -> str:
            png = read(f"dist/images/{m.group(1)}")
            return f"url(data:image/png;base64,{base64.b64encode(png).decode('ascii')})"

        css = re.sub(r"url\(images/([\w.-]+\.png)\)", inline, css)
    if "url(images/" in css:
        raise SystemExit("leaflet.css still refers to an image file")
    out = {
        "name": "leaflet",
        "version": VERSION,
        "source": f"npm registry, leaflet@{VERSION} (dist/leaflet.js, dist/leaflet.css; "
        "CSS images inlined as data URIs)",
        "sha1": sha1,
        "license_id": pkg.get("license", "BSD-2-Clause"),
        "license": licence,
        "js": js,
        "css": css,
    }
    (OUT / "leaflet.json").write_text(json.dumps(out, ensure_ascii=False), encoding="utf-8")
    (OUT / "LICENSE-leaflet.txt").write_text(licence, encoding="utf-8")
    print(f"wrote {OUT / 'leaflet.json'} ({len(js):,} + {len(css):,} characters)")


if __name__ == "__main__":
    main()
