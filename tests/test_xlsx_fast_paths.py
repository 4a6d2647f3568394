"""The write path's fast checks and remembered results against the simple way they replace."""

from __future__ import annotations

from xml.etree import ElementTree
from xml.parsers import expat

import pytest

from pipeline.workbook.xlsx import parses
from pipeline.workbook.xlsx_styles import Dxf, blank_styles, ensure_styles
from pipeline.workbook.xlsx_sheet import MAIN_NS

ODD_XML = {
    "plain": b'<?xml version="1.0"?><a xmlns:x="u"><x:b/></a>',
    "unbound element prefix": b"<a><x:b/></a>",
    "unbound attribute prefix": b'<a x:y="1"/>',
    "undeclared entity": b"<a>&foo;</a>",
    "undeclared entity under an external DTD": b'<!DOCTYPE a SYSTEM "x.dtd"><a>&foo;</a>',
    "entity declared in the DTD": b'<!DOCTYPE a [<!ENTITY foo "bar">]><a>&foo;</a>',
    "external entity": b'<!DOCTYPE a [<!ENTITY foo SYSTEM "file:///etc/passwd">]><a>&foo;</a>',
    "TIS-620": '<?xml version="1.0" encoding="TIS-620"?><a>ไทย</a>'.encode("tis-620"),
    "UTF-16 with BOM": '<?xml version="1.0" encoding="UTF-16"?><a>ไทย</a>'.encode("utf-16"),
    "UTF-16 with an undeclared entity under a DTD":
        '<!DOCTYPE a SYSTEM "x.dtd"><a>&foo;</a>'.encode("utf-16-le"),
    "UTF-8 BOM": b"\xef\xbb\xbf<a/>",
    "two roots": b"<a/><b/>",
    "empty": b"",
    "control character": b"<a>\x01</a>",
    "undeclared prefix": b'<a xmlns:x=""/>',
    "xml prefix": b'<a xml:space="preserve"/>',
    "same attribute twice through two prefixes": b'<a xmlns:x="u" xmlns:y="u" x:b="1" y:b="2"/>',
    "cut short": b"<a><b></a>",
}


@pytest.mark.parametrize("name", list(ODD_XML))
def test_parses_gives_elementtrees_verdict(name: str) -> None:
    data = ODD_XML[name]
    try:
        ElementTree.fromstring(data)
        expected = True
    except ElementTree.ParseError:
        expected = False
    try:
        parses(data)
        found = True
    except (ElementTree.ParseError, expat.ExpatError):
        found = False
    assert found == expected


def test_ensure_styles_remembered_gives_the_same_and_fresh_maps() -> None:
    styles = blank_styles(MAIN_NS)
    wanted = {(14, False), (0, True), (22, True)}
    dxfs = [Dxf("C6EFCE", "006100"), Dxf("FFC7CE", "9C0006")]
    first_text, first_xf, first_dxf = ensure_styles(styles, wanted, dxfs)
    # blank table: 1 xf, then appended in sorted order (0, True), (14, False), (22, True); dxfs in order
    assert first_xf == {(0, True): 1, (14, False): 2, (22, True): 3}
    assert first_dxf == {dxfs[0]: 0, dxfs[1]: 1}
    first_xf[(0, True)] = 99  # a caller's map is its own
    first_dxf.clear()
    again_text, again_xf, again_dxf = ensure_styles(styles, set(wanted), list(dxfs))
    assert again_text == first_text
    assert again_xf == {(0, True): 1, (14, False): 2, (22, True): 3}
    assert again_dxf == {dxfs[0]: 0, dxfs[1]: 1}
    # the rules' order decides their indexes, remembered or not
    _, _, swapped = ensure_styles(styles, wanted, dxfs[::-1])
    assert swapped == {dxfs[1]: 0, dxfs[0]: 1}
