"""Batch analysis: identical to the single-venue path, bad rows reported, resumable, Dask."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import geotarget
from geotarget.batch import analyse_many

LONDON_VENUES = pd.DataFrame(
    {
        "id": ["barbican", "brixton", "canary", "sea", "bad", "pc"],
        "lat": [51.5202, 51.4613, 51.5054, 54.5, 95.0, None],
        "lon": [-0.0937, -0.1156, -0.0235, 3.0, 0.0, None],
        "postcode": [None, None, None, None, None, "ec2y8bn"],
        "shop": ["a", "b", "c", "d", "e", "f"],
    }
)


@pytest.mark.shared_data
@pytest.mark.parametrize("method", [None, "areal"])
def test_batch_equals_single_path(london_dir, method):
    g = analyse_many(LONDON_VENUES, "0.5mi", data_dir=london_dir, method=method)
    assert list(g["id"]) == list(LONDON_VENUES["id"])  # input order and columns kept
    assert list(g["shop"]) == list(LONDON_VENUES["shop"])
    for i, vid in enumerate(["barbican", "brixton", "canary"]):
        row = g.iloc[i]
        one = geotarget.analyse(
            (LONDON_VENUES.lat[i], LONDON_VENUES.lon[i]),
            "0.5mi",
            data_dir=london_dir,
            method=method,
        )
        for col, val in [
            ("residents", one.residents.estimate),
            ("residents_low", one.residents.low),
            ("residents_high", one.residents.high),
            ("workers", one.workers.estimate),
            ("home_workers", one.workers.extra["home_workers"]),
            ("coverage", one.coverage_fraction),
        ]:
            assert row[col] == pytest.approx(val, rel=1e-9, abs=1e-6), (vid, col)
    sea = g[g.id == "sea"].iloc[0]
    assert sea["coverage"] == 0 and np.isnan(sea["residents"])  # unknown, not zero
    assert "outside -90..90" in g[g.id == "bad"].iloc[0]["error"]
    pc = g[g.id == "pc"].iloc[0]
    assert pc["error"] is None and pc["residents"] > 0


def test_builtin_batch_and_bad_tables():
    from geotarget.errors import InputError

    df = pd.DataFrame(
        {"id": [1, 2], "postcode": ["EH1 1YZ", "XX1 1XX"], "radius": ["0.5mi", "1km"]}
    )
    g = analyse_many(df)
    assert g.iloc[0]["residents"] == pytest.approx(
        geotarget.analyse("EH1 1YZ", "0.5mi").residents.estimate, rel=1e-9
    )
    assert "unknown" in g.iloc[1]["error"]
    with pytest.raises(InputError, match="'id' column"):
        analyse_many(pd.DataFrame({"lat": [1], "lon": [2]}), "1km")
    with pytest.raises(InputError, match="duplicate ids"):
        analyse_many(pd.DataFrame({"id": [1, 1], "lat": [1, 1], "lon": [2, 2]}), "1km")
    with pytest.raises(InputError, match="radius"):
        analyse_many(pd.DataFrame({"id": [1], "lat": [55.95], "lon": [-3.19]}))


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "geotarget", "batch", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_cli_outputs_exit_codes_and_overwrite(tmp_path):
    csv = tmp_path / "v.csv"
    csv.write_text("id,postcode\na,EH1 1YZ\nb,EH3 9DR\n")
    out = tmp_path / "out.parquet"
    p = _cli(str(csv), "-r", "0.5mi", "-o", str(out))
    assert p.returncode == 0, p.stderr
    assert "2 venues analysed, 0 failed" in p.stderr
    import geopandas as gpd

    g = gpd.read_parquet(out)
    assert len(g) == 2 and g.crs.to_epsg() == 4326
    p = _cli(str(csv), "-r", "0.5mi", "-o", str(out))
    assert p.returncode == 9 and "--overwrite" in p.stderr  # never overwrites silently
    csv.write_text("id,postcode\na,EH1 1YZ\nb,ZZ9 9ZZ\n")
    for ext in (".csv", ".gpkg", ".geojson"):
        p = _cli(str(csv), "-r", "0.5mi", "-o", str(tmp_path / f"o{ext}"))
        assert p.returncode == 11, p.stderr  # some rows failed, output written
        assert (tmp_path / f"o{ext}").exists()
    p = _cli(str(tmp_path / "missing.csv"), "-r", "0.5mi", "-o", str(tmp_path / "x.csv"))
    assert p.returncode == 2 and "does not exist" in p.stderr and "Traceback" not in p.stderr


def test_resume_keeps_finished_rows(tmp_path, monkeypatch):
    """An interrupted run keeps finished chunks in the checkpoint; --resume does not recompute
    them."""
    import geotarget.batch.count as batch
    from geotarget.cli import main

    csv = tmp_path / "v.csv"
    csv.write_text("id,lat,lon\n" + "\n".join(f"v{i},{55.90 + i * 0.004},-3.19" for i in range(6)))
    out = tmp_path / "out.parquet"
    real = batch.count_chunk
    calls = []

    def flaky(layer, lat, lon, radius, method=None):
        calls.append(len(lat))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(layer, lat, lon, radius, method=method)

    monkeypatch.setattr(batch, "count_chunk", flaky)
    assert main(["batch", str(csv), "-r", "0.5mi", "-o", str(out), "--chunk-size", "2"]) == 130
    ckpt = tmp_path / "out.parquet.checkpoint.parquet"
    assert ckpt.exists() and not out.exists()
    assert main(["batch", str(csv), "-r", "0.5mi", "-o", str(out), "--chunk-size", "2"]) == 9
    calls.clear()
    monkeypatch.setattr(batch, "count_chunk", real)
    assert (
        main(["batch", str(csv), "-r", "0.5mi", "-o", str(out), "--chunk-size", "2", "--resume"])
        == 0
    )
    import geopandas as gpd

    g = gpd.read_parquet(out)
    assert list(g["id"]) == [f"v{i}" for i in range(6)] and not ckpt.exists()
    fresh = analyse_many(pd.read_csv(csv), "0.5mi")
    assert np.allclose(g["residents"], fresh["residents"])


@pytest.mark.shared_data
def test_chain_overlap(london_dir):
    from geotarget.batch import chain_overlap

    df = pd.DataFrame(
        {
            "id": ["a", "b", "c"],
            "lat": [51.5202, 51.5210, 51.4613],
            "lon": [-0.0937, -0.0900, -0.1156],
        }
    )
    g = analyse_many(df, "0.5mi", data_dir=london_dir)
    total, pairs = chain_overlap(g, data_dir=london_dir)
    assert list(zip(pairs.id_a, pairs.id_b)) == [("a", "b")]  # c is far away
    s = g.set_index("id")["residents"]
    shared = pairs.shared[0]
    assert 0 < shared < min(s["a"], s["b"])
    # union = a + b - shared + c (inclusion-exclusion), up to the method's edge effects
    assert total == pytest.approx(s["a"] + s["b"] - shared + s["c"], rel=0.01)


@pytest.mark.slow
def test_dask_local_cluster_matches_single_process():
    pytest.importorskip("dask.distributed")
    rng = np.random.default_rng(3)
    n = 300
    df = pd.DataFrame(
        {
            "id": np.arange(n),
            "lat": rng.uniform(55.90, 55.98, n),
            "lon": rng.uniform(-3.30, -3.10, n),
        }
    )
    local = analyse_many(df, "0.5mi", chunk_size=50)
    import warnings

    from geotarget.batch.dask import dask_client

    plats = ["meta", "google_dv360", "linkedin", "snapchat"]
    local_table = geotarget.platforms_many(local, plats, chunk_size=40)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # distributed's own start-up and shutdown notices
        with dask_client(workers=2) as client:  # both stages on one cluster, as the CLI does
            dist = analyse_many(df, "0.5mi", chunk_size=50, scheduler="dask", client=client)
            dist_table = geotarget.platforms_many(
                dist, plats, chunk_size=40, scheduler="dask", client=client
            )
    assert list(dist["id"]) == list(local["id"])
    assert np.allclose(dist["residents"], local["residents"], rtol=1e-12, equal_nan=True)
    assert np.allclose(dist["coverage"], local["coverage"], rtol=1e-12, equal_nan=True)
    in_data = int((local["coverage"] > 0).sum())  # venues in the Forth have no platform rows
    assert 250 < in_data < n and len(local_table) == in_data * len(plats)
    pd.testing.assert_frame_equal(dist_table, local_table, check_exact=True)
