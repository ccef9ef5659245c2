"""notebooks/walkthrough.ipynb runs from top to bottom (so it never goes stale)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "walkthrough.ipynb"


@pytest.mark.shared_data
def test_walkthrough_notebook_runs(london_dir, monkeypatch):
    # jupyter_core warns (DeprecationWarning) unless told to use the platformdirs locations
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    monkeypatch.setenv("GEOTARGET_SHARED_DATA", str(london_dir.parent))
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), (
        "commit the notebook without outputs"
    )
    start = time.monotonic()
    NotebookClient(
        nb,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    ).execute()
    elapsed = time.monotonic() - start
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "London data:" in text and "found" in text and "NOT found" not in text
    assert "can only target all of Greater London" in text
    html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    maps_inline = [h for h in html if "leaflet" in h.lower() and "<iframe" in h]
    assert len(maps_inline) == 2, "the Edinburgh and London maps are shown inline"
    for h in maps_inline:
        assert "cdn.jsdelivr.net" not in h and "geotarget-legend" in h
    pngs = [o for o in outputs if "image/png" in o.get("data", {})]
    assert pngs, "the radius sweep is plotted"
    tables = [h for h in html if "<table" in h]
    assert any("Shoreditch" in h for h in tables), "the venues compared"
    # the walkthrough should stay quick (about 25 s on the development machine)
    assert elapsed < 120, f"the notebook took {elapsed:.0f} s"
