"""Scale-out on Dask: the same batch path, venues partitioned into chunks, the layer sent once
per worker.

Point it at an existing cluster with ``--scheduler dask --dask-address tcp://host:8786`` (every
worker needs geotarget installed, and the data folder at the same path -- or use built-in data),
or let geotarget start a ``LocalCluster`` with ``--workers N``.
"""

from __future__ import annotations

import numpy as np

from .errors import InputError


def _count(layer, lat, lon, radius, method):
    from .batch import count_chunk

    return count_chunk(layer, lat, lon, radius, method=method)


def run_dask(jobs, todo, method, *, address: str | None = None, workers: int | None = None):
    """Yield ((layer, idx), counted frame) for each job, computed on a Dask cluster."""
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError as e:
        raise InputError("--scheduler dask needs Dask: pip install 'geotarget[dask]'") from e
    cluster = None
    if address:
        try:
            client = Client(address, timeout="10s")
        except (OSError, TimeoutError) as e:
            raise InputError(f"cannot reach the Dask scheduler at {address!r} ({e}): check the "
                             "address (tcp://host:8786) or use --workers N for a local "
                             "cluster") from e
    else:
        cluster = LocalCluster(n_workers=workers or 2, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
    try:
        # the layer goes to each worker once (broadcast), not with every task
        layers = {}
        for lay, _ in jobs:
            if lay.name not in layers:
                layers[lay.name] = client.scatter(lay, broadcast=True)
        lat = todo["_lat"].to_numpy()
        lon = todo["_lon"].to_numpy()
        rad = todo["_radius_m"].to_numpy()
        futures = {}
        for job in jobs:
            lay, idx = job
            f = client.submit(_count, layers[lay.name], lat[idx], lon[idx], rad[idx], method,
                              pure=False)
            futures[f] = job
        for f in as_completed(list(futures)):
            yield futures[f], f.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


__all__ = ["run_dask", "np"]
