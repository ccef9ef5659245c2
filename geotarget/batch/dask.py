"""Scale-out on Dask: the same batch path, venues partitioned into chunks, the layer sent once
per worker.

Point it at an existing cluster with ``--scheduler dask --dask-address tcp://host:8786`` (every
worker needs geotarget installed, and the data folder at the same path -- or use built-in data),
or let geotarget start a ``LocalCluster`` with ``--workers N``.  Both stages of a batch -- the
counts (:func:`geotarget.analyse_many`) and the platform table
(:func:`geotarget.platforms_many`) -- run their chunks there.  Walks and drives send the street
network to each worker once too, as the layer is sent (its derived lines and indexes are made
again there).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ..errors import InputError


@contextmanager
def dask_client(address: str | None = None, workers: int | None = None) -> Iterator:
    """A Dask client: to the scheduler at ``address``, or to a new LocalCluster of ``workers``
    processes (closed on exit)."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as e:
        raise InputError("--scheduler dask needs Dask: pip install 'geotarget[dask]'") from e
    cluster = None
    if address:
        try:
            client = Client(address, timeout="10s")
        except (OSError, TimeoutError) as e:
            raise InputError(
                f"cannot reach the Dask scheduler at {address!r} ({e}): check the "
                "address (tcp://host:8786) or use --workers N for a local "
                "cluster"
            ) from e
    else:
        cluster = LocalCluster(
            n_workers=workers or 2, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def run_dask(
    jobs: list,
    fn: Callable,
    *,
    client=None,
    address: str | None = None,
    workers: int | None = None,
    broadcast: tuple = (),
) -> Iterator:
    """For each job ``(layer, args)``, ``fn(layer, *args)`` on a Dask cluster (``client``, or one
    made from ``address`` / ``workers``); yields ``(job, result)`` as they finish.  The layer,
    and any of ``args`` that is one of the objects in ``broadcast`` (a street network), go to
    each worker once, not with every task."""
    if client is None:
        with dask_client(address, workers) as c:
            yield from run_dask(jobs, fn, client=c, broadcast=broadcast)
        return
    from dask.distributed import as_completed

    sent: dict[int, object] = {}
    shared = {id(b) for b in broadcast}

    def once(obj: object) -> object:
        if id(obj) not in sent:
            sent[id(obj)] = client.scatter(obj, broadcast=True)
        return sent[id(obj)]

    futures = {
        client.submit(
            fn, once(job[0]), *[once(a) if id(a) in shared else a for a in job[1]], pure=False
        ): job
        for job in jobs
    }
    for f in as_completed(list(futures)):
        yield futures[f], f.result()
