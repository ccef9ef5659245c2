import json

import geotarget


def test_result_object_forms():
    r = geotarget.analyse("EH1 1YZ", radius="0.5mi")
    d = r.to_dict()
    assert json.loads(r.to_json()) == d
    html = r._repr_html_()
    assert "<table>" in html and "Residents" in html and "Contains NRS data" in html
    assert "Residents" in str(r)
