import pytest

from geotarget.errors import PostcodeNotFoundError, VenueError
from geotarget.venue import postcodes


@pytest.mark.parametrize("raw", ["ec2y8bn", "EC2Y 8BN", " ec2y   8bn ", "Ec2Y8bN"])
def test_normalise_any_case_and_spacing(raw):
    assert postcodes.normalise(raw) == "EC2Y 8BN"


def test_lookup_known_units():
    loc = postcodes.lookup("ec2y8bn")
    assert (loc.easting, loc.northing) == (532540, 181716)  # Code-Point Open 2025.2
    assert loc.lat == pytest.approx(51.5188, abs=1e-3)
    assert loc.lon == pytest.approx(-0.0911, abs=1e-3)
    eh = postcodes.lookup("EH1 1YZ")
    assert eh.lat == pytest.approx(55.9503, abs=1e-3) and eh.lon == pytest.approx(-3.1930, abs=1e-3)


def test_no_location_is_not_placed_at_zero():
    # PO24 1AA is a Code-Point Open record with positional quality 90 (no coordinates)
    with pytest.raises(PostcodeNotFoundError, match="has no location"):
        postcodes.lookup("PO24 1AA")


def test_terminated_told_apart_from_unknown():
    with pytest.raises(PostcodeNotFoundError, match=r"terminated in 1996-06 .*May 2022"):
        postcodes.lookup("AB1 0AA")
    with pytest.raises(PostcodeNotFoundError, match="'EC2Y 9ZZ' is unknown"):
        postcodes.lookup("EC2Y 9ZZ")


def test_outside_great_britain():
    with pytest.raises(PostcodeNotFoundError, match="Northern Ireland"):
        postcodes.lookup("BT1 1AA")


@pytest.mark.parametrize("bad", ["hello", "EC2Y", "12345", "", "EC2Y 8BNX", "E C 2"])
def test_malformed(bad):
    with pytest.raises(VenueError, match="not a valid postcode") as e:
        postcodes.lookup(bad)
    assert repr(bad) in str(e.value)


def test_table_provenance():
    meta = postcodes.metadata()
    assert meta["units_live"] > 1_700_000
    assert any("Ordnance Survey" in a for a in meta["attribution"])
    assert any("Royal Mail" in a for a in meta["attribution"])
