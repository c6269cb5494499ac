"""Open an Office Open XML file (.docx, .pptx, .xlsx) only after checking its zip is safe.

An OOXML file is a zip: a few kilobytes can declare gigabytes of XML (a zip bomb), a truncated
download has no central directory, and a password-protected file is not a zip at all but an
OLE compound file holding an encrypted package. Each case gets its own plain reason here,
before any parser allocates anything. Python's zipfile stops reading a member at its declared
size (a lying header ends in a CRC error, not in more data), so the declared sizes are a bound.
"""

from __future__ import annotations

import io
import zipfile

from ingest.loaders import LoadError

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
MAX_MEMBER_MB = 256  # one XML part, uncompressed
MAX_TOTAL_MB = 512  # all parts together, uncompressed
MAX_RATIO = 200  # uncompressed / compressed for a part larger than RATIO_FLOOR
RATIO_FLOOR = 1 << 20
MAX_MEMBERS = 10_000


def is_encrypted_office(raw: bytes) -> bool:
    """An OLE compound file holding ``EncryptedPackage``: how Office stores a password-protected
    .docx, .pptx or .xlsx."""
    return raw.startswith(OLE_MAGIC) and "EncryptedPackage".encode("utf-16-le") in raw


def open_ooxml(raw: bytes, kind: str) -> zipfile.ZipFile:
    """The file's zip, checked; raises :class:`LoadError` with the reason it cannot be read."""
    if raw.startswith(OLE_MAGIC):
        if is_encrypted_office(raw):
            raise LoadError(
                f"password-protected (encrypted) {kind} file; remove the password and re-ingest"
            )
        raise LoadError(
            f"a legacy binary Office file (.doc, .xls, .ppt) named as a {kind} file;"
            " save it in the new format"
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as exc:
        raise LoadError(f"corrupt or truncated {kind} file (not a valid zip: {exc})") from exc
    check_members(archive, kind)
    return archive


def check_members(archive: zipfile.ZipFile, kind: str) -> None:
    """Refuse a zip whose parts would decompress to more than the limits allow."""
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise LoadError(f"{kind} file has {len(infos)} parts, more than {MAX_MEMBERS}")
    total = 0
    for info in infos:
        size = info.file_size
        total += size
        if size > MAX_MEMBER_MB << 20:
            raise LoadError(
                f"{kind} part {info.filename} would decompress to {size >> 20} MB, over the"
                f" limit of {MAX_MEMBER_MB} MB (a zip bomb?)"
            )
        if size > RATIO_FLOOR and size > MAX_RATIO * max(info.compress_size, 1):
            ratio = size / max(info.compress_size, 1)
            raise LoadError(
                f"{kind} part {info.filename} is compressed {ratio:.0f}:1, over the limit of"
                f" {MAX_RATIO}:1 (a zip bomb?)"
            )
    if total > MAX_TOTAL_MB << 20:
        raise LoadError(
            f"{kind} file would decompress to {total >> 20} MB, over the limit of"
            f" {MAX_TOTAL_MB} MB (a zip bomb?)"
        )
