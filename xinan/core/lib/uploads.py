"""Reading uploaded tables: the size limit, the text encoding, CSV or Excel "Unicode text".

Chinese offices send CSV saved by Excel in GBK (GB18030 is its superset), UTF-8 with or without
a byte-order mark, or UTF-16 ("Unicode text", tab-separated). The encoding is found by an
explicit cascade, in this order, on the first `SAMPLE_BYTES` of the file:

1. a byte-order mark: UTF-8, UTF-32 or UTF-16 (checked in that order: the UTF-32 LE mark
   begins with the UTF-16 LE one);
2. NUL bytes: text mostly ASCII (digits, commas, dates) in UTF-16 without a mark has a NUL in
   every other byte; NULs anywhere else mean the file is not text;
3. strict UTF-8: GBK text is almost never valid UTF-8, the other way round often is;
4. strict GB18030 (covers GBK and GB2312).

Anything else is refused with a Chinese message (`UnreadableFile`), never a codec's message.
"""

import codecs
import csv
import datetime as dt
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

SAMPLE_BYTES = 64 * 1024
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the old .xls format


class UnreadableFile(Exception):
    """An upload that cannot be read as a table; the message says what to do (Chinese)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def max_bytes() -> int:
    return settings.MAX_UPLOAD_MB * 1024 * 1024


def size_problem(size: int | None) -> str | None:
    if size is not None and size > max_bytes():
        return _("文件过大（%(size).1f MB），上限为 %(limit)d MB，请拆分后分批上传") % {
            "size": size / 1024 / 1024,
            "limit": settings.MAX_UPLOAD_MB,
        }
    return None


def _not_text() -> UnreadableFile:
    return UnreadableFile(
        _("无法识别文件编码，请在 Excel 中另存为“CSV UTF-8（逗号分隔）”或 .xlsx 后重新上传")
    )


def detect_encoding(sample: bytes, *, complete: bool = True) -> str:
    """The encoding of a text file from its first bytes (see the module's docstring).

    `complete` says whether `sample` is the whole file; when not, a character cut at its end
    is not held against it.
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in sample:
        even, odd = sample[0::2].count(0), sample[1::2].count(0)
        half = len(sample) // 2
        if odd > half // 3 and even == 0:
            candidate = "utf-16-le"
        elif even > half // 3 and odd == 0:
            candidate = "utf-16-be"
        else:
            raise _not_text()
        if _decodes(sample, candidate, complete):
            return candidate
        raise _not_text()
    for candidate in ("utf-8", "gb18030"):
        if _decodes(sample, candidate, complete):
            return candidate
    raise _not_text()


def _decodes(sample: bytes, encoding: str, complete: bool) -> bool:
    try:
        codecs.getincrementaldecoder(encoding)().decode(sample, final=complete)
    except UnicodeDecodeError:
        return False
    return True


def decode(raw: bytes) -> str:
    """A whole small file as text, in the encoding found; BOMs removed."""
    encoding = detect_encoding(raw[:SAMPLE_BYTES], complete=len(raw) <= SAMPLE_BYTES)
    try:
        return raw.decode(encoding).lstrip("\ufeff")
    except UnicodeDecodeError:
        raise _not_text() from None


def delimiter(first_line: str) -> str:
    """Excel's "Unicode text" is tab-separated; everything else here is comma-separated."""
    return "\t" if first_line.count("\t") > first_line.count(",") else ","


def csv_rows(path: str | Path) -> Iterator[list[str]]:
    """The rows of a CSV or tab-separated text file, as stripped strings, in its encoding."""
    path = Path(path)
    with path.open("rb") as f:
        sample = f.read(SAMPLE_BYTES)
        complete = not f.read(1)
    encoding = detect_encoding(sample, complete=complete)
    with path.open(encoding=encoding, newline="") as f:
        try:
            first = f.readline()
            lines = _chain(first.lstrip("\ufeff"), f)
            for row in csv.reader(lines, delimiter=delimiter(first)):
                yield [c.strip() for c in row]
        except UnicodeDecodeError:
            raise _not_text() from None
        except csv.Error as exc:
            raise UnreadableFile(
                _("CSV 格式有误（%(detail)s），请在 Excel 中重新另存为 CSV") % {"detail": exc}
            ) from None


def _chain(first: str, rest) -> Iterator[str]:
    if first:
        yield first
    yield from rest


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def _unreadable_xlsx() -> UnreadableFile:
    return UnreadableFile(_("Excel 文件已损坏或无法读取，请在 Excel 中重新另存为 .xlsx 后上传"))


def xlsx_rows(path: str | Path) -> Iterator[list[str]]:
    """The rows of the first sheet of an .xlsx file, as strings."""
    from python_calamine import CalamineWorkbook

    check_xlsx(path)
    try:
        sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
        rows = sheet.iter_rows()
    except Exception:  # noqa: BLE001 — calamine's errors are library messages: say it in Chinese
        raise _unreadable_xlsx() from None
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except Exception:  # noqa: BLE001
            raise _unreadable_xlsx() from None
        yield [_cell(v) for v in row]


def table_rows(path: str | Path) -> Iterator[list[str]]:
    """Rows of the first sheet of an .xlsx, or of a CSV / tab-separated text, header included."""
    if Path(path).suffix.lower() == ".xlsx":
        return xlsx_rows(path)
    return csv_rows(path)


def count_table_rows(path: str | Path) -> int:
    """Data rows (without the header), for a progress bar; 0 when the file is unreadable (the
    reading says why)."""
    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        from python_calamine import CalamineWorkbook

        try:
            check_xlsx(path)
            return max(0, CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).height - 1)
        except Exception:  # noqa: BLE001 — the reading reports it
            return 0
    with path.open("rb") as f:
        newline = _newline(f.read(SAMPLE_BYTES))
        f.seek(0)
        return max(0, sum(1 for line in _split(f, newline) if line.strip(b"\x00\r\n\t ")) - 1)


def _newline(sample: bytes) -> bytes:
    """How a line ends in this file's encoding (an estimate is enough for a progress bar)."""
    for bom, encoding in (
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if sample.startswith(bom):
            return "\n".encode(encoding)
    try:
        encoding = detect_encoding(sample, complete=False)
    except UnreadableFile:
        return b"\n"
    return "\n".encode(encoding if encoding.startswith("utf-16") else "ascii")


def _split(f, newline: bytes) -> Iterator[bytes]:
    rest = b""
    while chunk := f.read(1 << 20):
        parts = (rest + chunk).split(newline)
        rest = parts.pop()
        yield from parts
    if rest:
        yield rest


def xlsx_problem(head: bytes) -> str | None:
    """Why a file named .xlsx is not one (from its first bytes), or None."""
    if head.startswith(ZIP_MAGIC):
        return None
    if head.startswith(OLE_MAGIC):
        return _("这是旧版 Excel（.xls）文件，请在 Excel 中另存为 .xlsx 后重新上传")
    return _("文件不是有效的 Excel（.xlsx）文件；如果是 CSV，请把扩展名改为 .csv 后重新上传")


def check_xlsx(path: str | Path) -> None:
    path = Path(path)
    with path.open("rb") as f:
        problem = xlsx_problem(f.read(8))
    if problem is None and not zipfile.is_zipfile(path):
        problem = _("Excel 文件已损坏或不完整，请重新保存后上传")
    if problem:
        raise UnreadableFile(problem)


def upload_problem(f, *, kinds: tuple[str, ...]) -> str | None:
    """Why this uploaded file (a Django UploadedFile) cannot be taken, or None: its name, its
    size (XINAN_MAX_UPLOAD_MB), and for .xlsx whether it is a zip, for text its encoding."""
    name = (f.name or "").lower()
    kind = next((k for k in kinds if name.endswith("." + k)), None)
    if kind is None:
        return _("只支持 %(kinds)s 文件") % {"kinds": " 或 ".join("." + k for k in kinds)}
    problem = size_problem(f.size)
    if problem:
        return problem
    f.seek(0)
    head = f.read(SAMPLE_BYTES)
    f.seek(0)
    if not head:
        return _("文件是空的")
    if kind == "xlsx":
        return xlsx_problem(head)
    try:
        detect_encoding(head, complete=f.size is not None and f.size <= SAMPLE_BYTES)
    except UnreadableFile as exc:
        return exc.message
    return None
