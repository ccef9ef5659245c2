"""UK postcode districts (outward codes such as ``EC2Y``) as approximate polygons.

No district boundary file is at hand, so districts are built from the postcode unit points of
OS Code-Point Open: each live unit takes its Voronoi cell, and cells are dissolved by district.
Districts with no small-user unit (PO-box and other non-geographic districts) are left out.
The polygons are approximate (a unit's cell is not its real extent); near the edge of the area
built, a district may be cut short, which is reported.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd
import shapely

from ..projections import BNG, transformer


@lru_cache(maxsize=1)
def _units() -> pd.DataFrame:
    import pyarrow.parquet as pq

    f = resources.files("geotarget.data").joinpath("postcodes_gb.parquet")
    with resources.as_file(f) as p:
        t = pq.read_table(p, columns=["outward", "easting", "northing", "terminated",
                                      "large_user"]).to_pandas()
    t = t[t["terminated"].isna() & t["easting"].notna()]
    small = t.groupby("outward", observed=True)["large_user"].transform("min")
    t = t[~small.astype(bool)]  # districts whose every unit is a large user: non-geographic
    return pd.DataFrame({"district": t["outward"].astype(str).to_numpy(),
                         "x": t["easting"].to_numpy(float), "y": t["northing"].to_numpy(float)})


def districts_in(bounds_bng: tuple[float, float, float, float], crs: str
                 ) -> tuple[list[str], np.ndarray, np.ndarray]:
    """District codes, polygons (in ``crs``) and a flag per district: cut by the edge of
    ``bounds_bng`` (the area the Voronoi cells were built in)."""
    u = _units()
    xmin, ymin, xmax, ymax = bounds_bng
    sel = u[(u.x >= xmin) & (u.x <= xmax) & (u.y >= ymin) & (u.y <= ymax)]
    sel = sel.drop_duplicates(["x", "y"])  # units sharing a position: the first one's district
    if len(sel) < 3:
        return [], np.array([], dtype=object), np.array([], dtype=bool)
    box = shapely.box(xmin, ymin, xmax, ymax)
    pts = shapely.points(sel["x"].to_numpy(), sel["y"].to_numpy())
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=box,
                                                       ordered=True))
    cells = shapely.intersection(cells, box)
    codes, inv = np.unique(sel["district"].to_numpy(), return_inverse=True)
    polys = []
    for i in range(len(codes)):
        polys.append(shapely.coverage_union_all(cells[inv == i]))
    polys = np.array(polys, dtype=object)
    cut = shapely.intersects(polys, shapely.boundary(box))
    t = transformer(BNG, crs)
    polys = shapely.transform(polys, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))
    return codes.tolist(), polys, cut
