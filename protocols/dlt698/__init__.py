"""DL/T 698.45 object-oriented electricity data exchange protocol.

Link frame and LINK-Request only so far (PROTOCOLS.md §4); the APDU catalogue comes
later.
"""

from protocols.dlt698.frame import (
    AddressType,
    DateTime,
    Frame,
    Func,
    LinkRequest,
    LinkType,
    Tag,
    crc16,
    decode_frame,
    decode_link_request,
    encode_frame,
    encode_link_request,
)
from protocols.dlt698.scanner import Dlt698Framer

__all__ = [
    "AddressType",
    "DateTime",
    "Dlt698Framer",
    "Frame",
    "Func",
    "LinkRequest",
    "LinkType",
    "Tag",
    "crc16",
    "decode_frame",
    "decode_link_request",
    "encode_frame",
    "encode_link_request",
]
