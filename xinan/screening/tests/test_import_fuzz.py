"""Issue 11.7: the importer under random bytes, encodings and sizes. Whatever arrives, the
upload is either refused with a Chinese message before any row is read, or the job ends done
or failed with a Chinese reason — never an uncaught exception, never a codec's or a library's
message, and its counts add up."""

import io
import re
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xinan.core.lib import uploads
from xinan.screening import importer
from xinan.screening.models import ImportJob, ImportStatus

CJK = re.compile(r"[\u4e00-\u9fff]")
HEADER = ["身份证号", "姓名", "测评日期", "地点"] + [str(n) for n in range(1, 10)]
ENCODINGS = [
    "utf-8",
    "utf-8-sig",
    "gbk",
    "gb18030",
    "utf-16",
    "utf-16-le",
    "utf-16-be",
    "utf-32",
    "latin-1",
    "big5",
    "shift_jis",
]
cells = st.one_of(
    st.sampled_from(["310105198001010011", "2026-11-01", "1", "3", "", "张三", "=1+1", "\x00"]),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=12),
)
rows = st.lists(st.lists(cells, max_size=16), max_size=30)


def _table(head: bool, body: list[list[str]], delimiter: str) -> str:
    lines = ([HEADER] if head else []) + body
    return "\r\n".join(delimiter.join(c.replace(delimiter, " ") for c in r) for r in lines)


@st.composite
def uploads_(draw):
    kind = draw(st.sampled_from(["text", "bytes", "zip"]))
    if kind == "bytes":
        data = draw(st.binary(max_size=3000))
        repeat = draw(st.sampled_from([1, 1, 30]))  # some beyond the 64 KiB sample
        return draw(st.sampled_from(["x.csv", "x.xlsx", "x.txt"])), data * repeat
    if kind == "zip":
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as z:
            z.writestr(draw(st.sampled_from(["xl/workbook.xml", "a.txt"])), draw(st.binary()))
        return "x.xlsx", out.getvalue()
    text = _table(draw(st.booleans()), draw(rows), draw(st.sampled_from([",", "\t", ";"])))
    text = text * draw(st.sampled_from([1, 1, 1, 200]))
    encoding = draw(st.sampled_from(ENCODINGS))
    return draw(st.sampled_from(["x.csv", "x.txt"])), text.encode(encoding, errors="replace")


@pytest.mark.django_db
@given(upload=uploads_())
@settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_any_upload_ends_in_a_clear_recorded_outcome(upload, grid_worker_for_fuzz):
    name, data = upload
    f = SimpleUploadedFile(name, data)
    problem = uploads.upload_problem(f, kinds=("xlsx", "csv", "txt"))
    if problem is not None:
        assert CJK.search(problem), problem
        return
    path = importer.import_dir() / ("fuzz" + name[name.rindex(".") :])
    path.write_bytes(data)
    job = ImportJob.objects.create(
        instrument="PHQ-9", file_name=name, path=str(path), created_by=grid_worker_for_fuzz
    )
    job = importer.run(job.pk)
    assert job.status in (ImportStatus.DONE, ImportStatus.FAILED)
    if job.status == ImportStatus.FAILED:
        assert CJK.search(job.error), job.error
        assert "codec" not in job.error and "Error" not in job.error, job.error
    else:
        assert job.rows_imported + job.rows_skipped + job.rows_rejected <= job.rows_done + 1
        assert all(CJK.search(r["message"]) for r in job.report)


@pytest.fixture
def grid_worker_for_fuzz(grid_worker, person_a, settings):
    return grid_worker
