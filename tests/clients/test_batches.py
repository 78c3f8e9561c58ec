"""The official OpenAI Python SDK's files and batches calls (`files.create`,
`batches.create`, `batches.retrieve`, `batches.cancel`, `files.content`, the lists' paging) through the proxy,
whose Gemini is the stand-in's Files API and Batch Mode (tests/clients/run.sh starts both)."""

import json
import os

import pytest
from openai import BadRequestError, NotFoundError, OpenAI


def client() -> OpenAI:
    return OpenAI(base_url=os.environ["PROXY_URL"] + "/v1", api_key="sk-test-1234", max_retries=0)


def upload(tmp_path, count: int):
    path = tmp_path / "requests.jsonl"
    lines = [
        {
            "custom_id": f"q{i}",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {"model": "gemini-flash", "messages": [{"role": "user", "content": f"question {i}"}]},
        }
        for i in range(count)
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    with path.open("rb") as file:
        return client().files.create(
            file=file, purpose="batch", extra_body={"target_model_names": "gemini-flash"}
        )


def test_a_batch_runs_from_upload_to_its_results(tmp_path):
    uploaded = upload(tmp_path, 3)
    assert uploaded.id.startswith("file-")
    assert uploaded.purpose == "batch"
    assert uploaded.filename == "requests.jsonl"

    sdk = client()
    batch = sdk.batches.create(
        input_file_id=uploaded.id,
        endpoint="/v1/chat/completions",
        completion_window="24h",
        metadata={"run": "sdk"},
    )
    assert batch.status == "in_progress"
    assert batch.input_file_id == uploaded.id

    done = sdk.batches.retrieve(batch.id)
    assert done.status == "completed"
    assert (done.request_counts.total, done.request_counts.completed, done.request_counts.failed) == (3, 3, 0)
    assert done.metadata == {"run": "sdk"}
    assert done.error_file_id is None

    lines = [json.loads(line) for line in sdk.files.content(done.output_file_id).text.splitlines()]
    assert sorted(line["custom_id"] for line in lines) == ["q0", "q1", "q2"]
    for line in lines:
        assert line["error"] is None
        assert line["response"]["status_code"] == 200
        body = line["response"]["body"]
        assert body["object"] == "chat.completion"
        assert body["choices"][0]["message"]["content"]
        assert body["usage"]["cost"] > 0


def test_a_cancelled_batch_says_so(tmp_path):
    sdk = client()
    batch = sdk.batches.create(
        input_file_id=upload(tmp_path, 1).id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    cancelled = sdk.batches.cancel(batch.id)
    assert cancelled.status == "cancelled"
    assert cancelled.output_file_id is None


def test_unknown_ids_and_unserved_endpoints_are_refused(tmp_path):
    sdk = client()
    with pytest.raises(NotFoundError):
        sdk.batches.retrieve("batch_not-one-of-ours")
    with pytest.raises(BadRequestError):
        sdk.batches.create(
            input_file_id=upload(tmp_path, 1).id, endpoint="/v1/responses", completion_window="24h"
        )


def test_lists_page_through_the_sdk(tmp_path):
    sdk = client()
    uploaded = [upload(tmp_path, 1).id for _ in range(3)]
    # The SDK's auto-paging follows `has_more` with `after` = the last id of each page.
    first = sdk.files.list(limit=2, purpose="batch")
    assert [file.id for file in first.data] == [uploaded[2], uploaded[1]]
    assert first.has_more
    listed = [file.id for file in sdk.files.list(limit=2, purpose="batch")]
    assert listed[:3] == [uploaded[2], uploaded[1], uploaded[0]]
    batches = [
        sdk.batches.create(input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h").id
        for file_id in uploaded[:2]
    ]
    paged = [batch.id for batch in sdk.batches.list(limit=1)]
    assert paged[:2] == [batches[1], batches[0]]
