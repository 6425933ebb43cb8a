"""KServe's own Python client against the Open Inference Protocol (KServe V2 REST) server.

Pinned: ``kserve==0.21.0`` (the newest release that installs on Python 3.11) in
``requirements.txt`` beside this file, and every package it resolves to (``httpx==0.29.0``,
``numpy==2.4.6``, ``pydantic==2.14.4``, ...) in ``constraints.txt``.

Usage (``.ci/run`` does this)::

    python3 -m venv VENV
    VENV/bin/pip install -r tests/kserve_v2/requirements.txt -c tests/kserve_v2/constraints.txt
    cargo run --example kserve_v2 --features server -- DIR &     # serves, writes DIR/expected.json
    VENV/bin/python tests/kserve_v2/check_client.py DIR/expected.json

``examples/kserve_v2.rs`` registers three models (``binary``: integer labels -1 and 1,
``species``: three text labels, ``price``: a linear regressor), serves them on 127.0.0.1 and writes
``expected.json``: the server's URL, the rows to send and what the in-process Rust scorer answers
for them. This script waits for that file, then, as a KServe user would, with
``kserve.InferenceRESTClient(RESTConfig(protocol="v2"))``: checks the server is live and ready and
each model ready, reads server and model metadata (validated with KServe's own V2 data models),
and infers on every model with ``InferRequest``/``InferInput`` (one input per feature, and one
matrix), asserting labels as given, probability rows summing to 1 and equal to the Rust side's,
and regression values equal to the Rust side's. Exits non-zero on the first failed check.
"""

import asyncio
import importlib.metadata
import json
import math
import sys
import time
from pathlib import Path

import httpx
import numpy as np
from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig
from kserve.protocol.infer_type import RequestedOutput
from kserve.protocol.rest.v2_datamodels import ModelMetadataResponse, ServerMetadataResponse


def wait_for(path: Path, seconds: float = 600.0) -> dict:
    deadline = time.monotonic() + seconds
    while not path.exists():
        if time.monotonic() > deadline:
            sys.exit(f"{path} did not appear within {seconds:.0f} s; did the server start?")
        time.sleep(0.2)
    return json.loads(path.read_text())


def close(got, want, what: str, tolerance: float = 1e-12) -> None:
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, expected {want.shape}"
    assert np.all(np.abs(got - want) <= tolerance * np.maximum(1.0, np.abs(want))), f"{what}: {got} != {want}"


def per_feature_request(name: str, features: list, rows: np.ndarray, outputs=None) -> InferRequest:
    inputs = []
    for j, feature in enumerate(features):
        tensor = InferInput(name=feature, shape=[rows.shape[0]], datatype="FP64")
        tensor.set_data_from_numpy(np.ascontiguousarray(rows[:, j]), binary_data=False)
        inputs.append(tensor)
    requested = [RequestedOutput(o) for o in outputs] if outputs else None
    return InferRequest(model_name=name, infer_inputs=inputs, request_id=f"{name}-per-feature", request_outputs=requested)


def matrix_request(name: str, rows: np.ndarray) -> InferRequest:
    tensor = InferInput(name="input-0", shape=list(rows.shape), datatype="FP64")
    tensor.set_data_from_numpy(rows, binary_data=False)
    return InferRequest(model_name=name, infer_inputs=[tensor], request_id=f"{name}-matrix")


async def check(expected: dict) -> None:
    url = expected["url"]
    rows = np.asarray(expected["rows"], dtype=np.float64)
    client = InferenceRESTClient(RESTConfig(protocol="v2", timeout=30))
    try:
        assert await client.is_server_live(url), "server not live"
        assert await client.is_server_ready(url), "server not ready"
        async with httpx.AsyncClient(timeout=30) as http:
            server = ServerMetadataResponse.model_validate((await http.get(f"{url}/v2")).json())
            assert server.name == "mlflow-pipelines", server
            for name, model in expected["models"].items():
                assert await client.is_model_ready(url, name), f"{name} not ready"
                answer = await http.get(f"{url}/v2/models/{name}")
                assert answer.status_code == 200, answer.text
                metadata = ModelMetadataResponse.model_validate(answer.json())
                assert metadata.name == name, metadata
                assert [i.name for i in metadata.inputs] == model["features"], metadata
                assert all(i.datatype == "FP64" and i.shape == [-1] for i in metadata.inputs), metadata
                outputs = {o.name: o for o in metadata.outputs}
                if "values" in model:
                    assert list(outputs) == ["value"] and outputs["value"].datatype == "FP64", metadata
                else:
                    k = len(model["probabilities"][0])
                    text = isinstance(model["labels"][0], str)
                    assert outputs["label"].datatype == ("BYTES" if text else "INT64"), metadata
                    assert outputs["probabilities"].shape == [-1, k], metadata
            missing = await http.get(f"{url}/v2/models/no-such-model")
            assert missing.status_code == 404 and "no-such-model" in missing.json()["error"], missing.text
        assert not await client.is_model_ready(url, "no-such-model")

        for name, model in expected["models"].items():
            for request in (per_feature_request(name, model["features"], rows), matrix_request(name, rows)):
                response = await client.infer(url, request, model_name=name)
                assert response.model_name == name, response.model_name
                assert response.id == request.id, (response.id, request.id)
                got = {o.name: o for o in response.outputs}
                if "values" in model:
                    assert list(got) == ["value"], list(got)
                    close(got["value"].as_numpy(), model["values"], f"{name} values")
                    continue
                assert list(got) == ["label", "probabilities"], list(got)
                labels = got["label"].as_numpy().tolist()
                labels = [x.decode() if isinstance(x, bytes) else x for x in labels]
                assert labels == model["labels"], f"{name} labels {labels} != {model['labels']}"
                probabilities = got["probabilities"].as_numpy()
                for row in probabilities:
                    assert math.isclose(row.sum(), 1.0, abs_tol=1e-9), f"{name}: {row} does not sum to 1"
                close(probabilities, model["probabilities"], f"{name} probabilities")
            if "labels" in model:
                # An `outputs` list picks outputs.
                request = per_feature_request(name, model["features"], rows, outputs=["probabilities"])
                response = await client.infer(url, request, model_name=name)
                assert [o.name for o in response.outputs] == ["probabilities"], response.outputs

        # A refusal comes back as an HTTP error carrying the server's message.
        bad = per_feature_request("price", ["rooms"], rows)
        try:
            await client.infer(url, bad, model_name="price")
        except httpx.HTTPStatusError as e:
            assert e.response.status_code == 400 and "age" in e.response.text, e.response.text
        else:
            raise AssertionError("a request without every feature was answered")
    finally:
        await client.close()


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: check_client.py EXPECTED_JSON")
    expected = wait_for(Path(sys.argv[1]))
    asyncio.run(check(expected))
    version = importlib.metadata.version("kserve")
    print(f"kserve {version}: the V2 client checks passed on {', '.join(expected['models'])}")


if __name__ == "__main__":
    main()
