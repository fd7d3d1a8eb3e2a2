"""Every endpoint of the explorer over real HTTP, good and bad requests, two at a time."""

import base64
import http.client
import io
import json
import threading
from urllib.parse import urlsplit

import numpy as np
import pytest
from PIL import Image

from convscope import explain, nn
from convscope.data import to_float
from convscope.explain._trace import trace
from convscope.explorer.preprocess import MAX_UPLOAD_BYTES, drawing_to_input
from convscope.explorer.session import jsonable
from convscope.train import predict


def request(url, method, path, body=None, content_type="application/json"):
    """(status, headers, body bytes) of one raw request (the path is sent as is)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    headers = {"Content-Type": content_type} if body is not None else {}
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, dict(response.getheaders()), data


def get(url, path):
    status, _, data = request(url, "GET", path)
    return status, json.loads(data)


def post(url, path, body):
    status, _, data = request(url, "POST", path, body)
    return status, json.loads(data)


def decode_input(spec):
    return np.frombuffer(base64.b64decode(spec["data"]), "<f4").reshape(spec["shape"])


def test_page_and_its_static_files(server_url):
    status, headers, page = request(server_url, "GET", "/")
    assert status == 200 and headers["Content-Type"] == "text/html"
    assert b'<script type="module" src="/static/app.js">' in page
    for name in ["app.js", "style.css", "views/draw.js", "views/input.js", "views/overview.js",
                 "views/unit.js", "views/explanations.js", "views/filters.js"]:  # fmt: skip
        status, headers, _ = request(server_url, "GET", f"/static/{name}")
        assert status == 200, name
        assert headers["Content-Type"] in ("text/javascript", "text/css")


@pytest.mark.parametrize(
    "path",
    ["/static/../session.py", "/static/%2e%2e/server.py", "/static/views/../../server.py",
     "/../pyproject.toml", "/static//etc/passwd", "/static/%2Fetc%2Fpasswd", "/etc/passwd",
     "/static/..%5cserver.py", "/static/", "/static/nope.js"],
)  # fmt: skip
def test_no_path_leaves_the_static_folder(server_url, path):
    status, _, body = request(server_url, "GET", path)
    assert status == 404
    assert json.loads(body)["error"].startswith("No such file")


def test_info_lists_the_models_layers(server_url, explorer):
    status, info = get(server_url, "/api/info")
    assert status == 200
    calls = trace(explorer.model, np.zeros((1, 1, 28, 28), np.float32))
    assert [(layer["name"], layer["type"], tuple(layer["shape"])) for layer in info["layers"]] == [
        (c.name, type(c.module).__name__, c.output.shape[1:]) for c in calls
    ]
    assert info["classes"] == [str(d) for d in range(10)] and info["input_shape"] == [1, 28, 28]
    assert len(base64.b64decode(info["palettes"]["maps"])) == 768


def test_test_images_of_one_class_misclassified_first(server_url, explorer):
    status, result = get(server_url, "/api/test-images?class=3&limit=200")
    assert status == 200
    labels = explorer.test[1]
    predicted = predict(explorer.model, explorer.test[0]).argmax(axis=1)
    assert result["count"] == int((labels == 3).sum())
    assert result["misclassified"] == int(((labels == 3) & (predicted != 3)).sum())
    flags = [item["correct"] for item in result["images"]]
    assert flags == sorted(flags)  # False (wrong) before True
    for item in result["images"]:
        assert item["label"] == 3 and item["predicted"] == predicted[item["index"]]


def test_forward_gives_every_layer_and_the_probabilities(server_url, explorer):
    status, result = post(server_url, "/api/forward", {"input": {"test": 5}})
    assert status == 200
    image = to_float(explorer.test[0][5])
    np.testing.assert_allclose(
        result["probabilities"], predict(explorer.model, image[None])[0], atol=1e-6
    )
    np.testing.assert_array_equal(decode_input(result["input"]), image)
    outputs = nn.capture_outputs(explorer.model, image[None])
    for layer in result["layers"]:
        out = outputs[layer["name"]][0]
        assert layer["shape"] == list(out.shape)
        assert np.isclose(layer["min"], out.min()) and np.isclose(layer["max"], out.max())
        assert len(base64.b64decode(layer["data"])) == out.size
    # The returned input, sent back, gives the same answer.
    again = post(server_url, "/api/forward", {"input": result["input"]})[1]
    assert again["probabilities"] == result["probabilities"]


def test_draw_centres_the_pixels_and_predicts(server_url, explorer):
    canvas = np.zeros((140, 140), np.uint8)
    canvas[20:120, 60:75] = 255
    body = {"width": 140, "height": 140, "pixels": base64.b64encode(canvas.tobytes()).decode()}
    status, result = post(server_url, "/api/draw", body)
    assert status == 200
    expected = drawing_to_input(canvas, (1, 28, 28))
    np.testing.assert_array_equal(decode_input(result["input"]), expected)
    np.testing.assert_allclose(
        result["probabilities"], predict(explorer.model, expected[None])[0], atol=1e-6
    )


def test_unit_is_unit_arithmetic(server_url, explorer):
    image = to_float(explorer.test[0][7])
    for layer, channel, row, col in [("0", 4, 10, 11), ("2", 1, 3, 3), ("3", 60, 5, 0),
                                     ("8", 7, 0, 0)]:  # fmt: skip
        body = {"input": {"test": 7}, "layer": layer, "channel": channel, "row": row, "col": col}
        status, unit = post(server_url, "/api/unit", body)
        assert status == 200
        unit_ = explain.unit_arithmetic(explorer.model, image, layer, channel, row, col)
        expected = jsonable(unit_)
        assert unit == json.loads(json.dumps(expected))


@pytest.mark.parametrize("method", ["saliency", "smoothgrad", "grad_cam", "occlusion"])
def test_explain_methods(server_url, explorer, method):
    image = to_float(explorer.test[0][3])
    status, result = post(server_url, "/api/explain", {"input": {"test": 3}, "method": method,
                                                      "target": 4})  # fmt: skip
    assert status == 200 and result["map"]["shape"] == [28, 28]
    if method == "saliency":
        assert np.isclose(result["map"]["max"], explain.saliency(explorer.model, image, 4).max())
    if method == "grad_cam":
        assert result["layer"] == explain.default_layer(explorer.model, image)
        assert np.isclose(result["map"]["max"], explain.grad_cam(explorer.model, image, 4).max())
    if method == "occlusion":
        grid = explain.occlusion(explorer.model, image, 4, window=4, stride=2)
        heat = explain.spread(grid, (28, 28), window=4, stride=2)
        assert np.isclose(result["map"]["max"], np.abs(heat).max(), rtol=1e-5)


def test_filters_and_max_activating(server_url, explorer):
    status, filters = get(server_url, "/api/filters")
    assert status == 200
    shapes = [(f["layer"], f["shape"]) for f in filters]
    assert shapes == [("0", [32, 1, 3, 3]), ("3", [64, 32, 3, 3])]
    assert filters[0]["min"] == -filters[0]["max"]
    assert np.isclose(filters[0]["max"], np.abs(explorer.model[0].weight.data).max())
    status, top = get(server_url, "/api/max-activating?layer=3&channel=5&k=4")
    assert status == 200
    expected = explain.max_activating(explorer.model, explorer.test[0], "3", 5, k=4)
    assert [p["index"] for p in top["patches"]] == expected["indices"].tolist()
    assert [p["box"] for p in top["patches"]] == expected["boxes"].tolist()


def png_bytes(size=(40, 40)) -> bytes:
    out = io.BytesIO()
    Image.fromarray(np.full(size, 128, np.uint8)).save(out, format="PNG")
    return out.getvalue()


def test_uploads_good_bad_and_too_large(server_url):
    status, _, data = request(server_url, "POST", "/api/upload", png_bytes(), "image/png")
    assert status == 200 and len(json.loads(data)["probabilities"]) == 10
    status, _, data = request(server_url, "POST", "/api/upload", b"%PDF-1.4 not an image")
    assert status == 400 and "not an image" in json.loads(data)["error"]
    status, _, data = request(server_url, "POST", "/api/upload", b"\0" * (MAX_UPLOAD_BYTES + 10))
    assert status == 413 and "at most 4 MB" in json.loads(data)["error"]


@pytest.mark.parametrize(
    "method,path,body,status,message",
    [
        ("GET", "/api/nothing", None, 404, "No such endpoint: GET /api/nothing"),
        ("POST", "/api/nothing", {}, 404, "No such endpoint"),
        ("POST", "/api/info", {}, 405, "No such endpoint: POST /api/info"),
        ("POST", "/api/forward", b"{not json", 400, "Expected a JSON body"),
        ("POST", "/api/forward", [1, 2], 400, "Expected a JSON object"),
        ("POST", "/api/forward", {"input": {"test": 10**6}}, 400, "test image index in [0, 200)"),
        ("POST", "/api/forward", {"input": {"shape": [1, 8, 8], "data": ""}}, 400,
         "shape [1, 28, 28]"),
        ("POST", "/api/forward", {"input": {"shape": [1, 28, 28], "data": "@@@"}}, 400, "base64"),
        ("POST", "/api/forward", {"input": {"shape": [1, 28, 28], "data": "AAAA"}}, 400,
         "784 float32 values"),
        ("POST", "/api/draw", {"width": 10, "height": 10, "pixels": "AAAA"}, 400,
         "10×10 = 100 gray pixels"),
        ("POST", "/api/draw", {"width": -1, "height": 10, "pixels": ""}, 400, "1..2048"),
        ("POST", "/api/unit", {"input": {"test": 0}, "layer": "0", "channel": 99}, 400,
         "inside layer '0'"),
        ("POST", "/api/unit", {"input": {"test": 0}, "layer": "zz", "channel": 0}, 400,
         "Unknown layer 'zz'"),
        ("POST", "/api/explain", {"input": {"test": 0}, "method": "magic", "target": 0}, 400,
         "method to be one of"),
        ("POST", "/api/explain", {"input": {"test": 0}, "method": "saliency", "target": 10}, 400,
         "class index in [0, 10)"),
        ("GET", "/api/test-images?class=x", None, 400, "class to be an integer"),
        ("GET", "/api/test-images?class=12", None, 400, "class in [0, 10)"),
        ("GET", "/api/max-activating?layer=8&channel=0", None, 400, "feature maps"),
        ("GET", "/api/max-activating?layer=0", None, 400, "query parameter 'channel'"),
    ],
)  # fmt: skip
def test_bad_requests_get_a_status_and_a_message(server_url, method, path, body, status, message):
    got, headers, data = request(server_url, method, path, body)
    assert got == status
    assert headers["Content-Type"] == "application/json"
    assert message in json.loads(data)["error"]


def test_requests_run_concurrently(server_url, explorer):
    # While one request holds the model, others are still served by their own threads.
    results = {}

    def forward():
        results["forward"] = post(server_url, "/api/forward", {"input": {"test": 1}})

    with explorer.lock:
        worker = threading.Thread(target=forward)
        worker.start()
        status, _, _ = request(server_url, "GET", "/static/app.js")
        assert status == 200  # answered while the forward pass waits for the model
        assert "forward" not in results
    worker.join(60)
    assert results["forward"][0] == 200

    # Two model requests at once both get their own, correct answers.
    answers = {}

    def ask(key, body, path):
        answers[key] = post(server_url, path, body)

    threads = [
        threading.Thread(target=ask, args=("a", {"input": {"test": 2}, "method": "occlusion",
                                                 "target": 1}, "/api/explain")),
        threading.Thread(target=ask, args=("b", {"input": {"test": 9}}, "/api/forward")),
    ]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert answers["a"][0] == answers["b"][0] == 200
    np.testing.assert_allclose(
        answers["b"][1]["probabilities"],
        predict(explorer.model, to_float(explorer.test[0][9])[None])[0],
        atol=1e-6,
    )


def test_every_static_file_ships_as_package_data():
    import fnmatch
    from pathlib import Path

    from convscope.explorer.server import STATIC

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    globs = tomllib.loads(pyproject.read_text())["tool"]["setuptools"]["package-data"][
        "convscope.explorer"
    ]
    files = [p.relative_to(STATIC.parent).as_posix() for p in STATIC.rglob("*") if p.is_file()]
    assert files and all(any(fnmatch.fnmatch(f, g) for g in globs) for f in files), files
