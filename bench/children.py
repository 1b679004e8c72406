"""A benchmark's run per database: a child process of the same module (`--child`) against
SQLite (no DATABASE_URL: the embedded default) or a fresh PostgreSQL database, whose last line
of output is its JSON result."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_child(module: str, database_url: str | None, *, timeout: float = 1800) -> dict:
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-m", module, "--child"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,  # the child's progress on stderr stays visible
        text=True,
        timeout=timeout,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def fresh_postgres(name: str) -> str:
    """Drop and create database `name` on the local PostgreSQL; its URL."""
    base = os.environ.get("XINAN_BENCH_PG", "postgres://postgres@127.0.0.1:5432")
    for cmd in (["dropdb", "--if-exists"], ["createdb"]):
        subprocess.run([*cmd, "-h", "127.0.0.1", "-U", "postgres", name], check=True)  # noqa: S603
    return f"{base}/{name}"
