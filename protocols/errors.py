"""Every error the codecs raise.

``LocalProtocolError`` means *we* tried to build something invalid (a bug or a bad
argument: fail loudly). ``RemoteProtocolError`` means the peer sent something invalid
(count it, drop it, maybe deny). Each error carries a short ``reason`` usable as a
bounded metric label and, where the protocol has one, the code to put on the wire
(Q/GDW 1376.1 appendix D ERR, DL/T 645 error word).
"""

from __future__ import annotations


class ProtocolError(Exception):
    """Base class of every codec error."""

    reason: str = "protocol_error"
    #: Code the host may send back (1376.1 AFN00 F3 ERR, or the DL/T 645 error word).
    reply_code: int | None = None


class LocalProtocolError(ProtocolError):
    """We were asked to build something the protocol cannot express."""

    reason = "local_error"


class RemoteProtocolError(ProtocolError):
    """The peer sent something the protocol does not allow."""

    reason = "remote_error"


class FrameError(RemoteProtocolError):
    """The link-layer envelope of a frame is broken."""

    reason = "bad_frame"


class BadChecksum(FrameError):
    """The frame checksum does not match its content."""

    reason = "bad_checksum"


class BadLength(FrameError):
    """Length fields disagree with each other, with the bytes, or with a bound."""

    reason = "bad_length"


class BadDelimiter(FrameError):
    """A start (0x68) or end (0x16) character is missing or wrong."""

    reason = "bad_delimiter"


class Truncated(FrameError):
    """The frame or one of its fields ends before its declared length."""

    reason = "truncated"


class UnknownFunction(RemoteProtocolError):
    """A data unit (AFN, Fn, direction) or control code this codec does not know.

    The following units of the same frame cannot be delimited, so the host gets the
    rest of the frame as raw bytes.
    """

    reason = "unknown_function"
    reply_code = 1  # appendix D: "other error"

    def __init__(
        self, message: str, *, afn: int | None = None, fn: int | None = None
    ) -> None:
        super().__init__(message)
        self.afn = afn
        self.fn = fn


class BadValue(RemoteProtocolError):
    """A field holds a value its data format cannot carry (e.g. BCD nibble > 9)."""

    reason = "bad_value"
    reply_code = 1
