"""The explorer in a real browser: headless Chromium driven by selenium.

Draws strokes with pointer events, clicks a unit, switches to Grad-CAM and uploads a
non-image, checking the page against convscope's own computations. Without Chromium
these tests skip — except in CI (``CI=true``), where they fail.

Set ``CONVSCOPE_SHOTS=/some/dir`` to also save screenshots there and the median time
from a drawn stroke to its feature maps drawn (``stroke_timings.txt``).
"""

import base64
import json
import os
import shutil
import statistics
from pathlib import Path

import numpy as np
import pytest

from convscope import explain
from convscope.data import to_float
from convscope.explorer.session import jsonable
from convscope.train import predict

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
SHOTS = os.environ.get("CONVSCOPE_SHOTS")


def require_browser(chromium, chromedriver) -> None:
    """Skip when Chromium, chromedriver or selenium is missing — fail instead in CI."""
    missing = [name for name, path in [("chromium", chromium), ("chromedriver", chromedriver)]
               if path is None]  # fmt: skip
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium (pip)")
    if missing:
        message = (
            f"The explorer's browser tests need {', '.join(missing)}: "
            "`sudo apt-get install chromium chromium-driver` (make test does it as root)."
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


def test_a_missing_browser_fails_in_ci_and_skips_elsewhere(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="need chromium: `sudo apt-get install"):
        require_browser(None, "/usr/bin/chromedriver")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="need chromium, chromedriver"):
        require_browser(None, None)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    require_browser(CHROMIUM, CHROMEDRIVER)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage", "--window-size=1500,1300",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"]:  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


def wait(driver, script, timeout=60):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(
        lambda d: d.execute_script(script)
    )


def current_input(driver) -> np.ndarray:
    spec = driver.execute_script("return window.explorer.input")
    return np.frombuffer(base64.b64decode(spec["data"]), "<f4").reshape(spec["shape"])


def shot(driver, name):
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(SHOTS) / name))


def draw_stroke(driver, points):
    """Press, move through ``points`` (offsets from the canvas centre), release."""
    from selenium.webdriver.common.action_chains import ActionChains

    canvas = driver.find_element("id", "draw-canvas")
    actions = ActionChains(driver, duration=10)
    actions.move_to_element_with_offset(canvas, *points[0]).click_and_hold()
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        actions.move_by_offset(x1 - x0, y1 - y0)
    actions.release().perform()


@pytest.fixture(scope="module")
def page(browser, server_url):
    browser.get(server_url + "/")
    wait(browser, "return document.body.dataset.ready === '1' && window.explorer.input !== null")
    wait(browser, "return document.querySelectorAll('#probabilities .bar').length === 10")
    return browser


def test_page_loads_with_every_layer(page, explorer):
    names = page.execute_script(
        "return [...document.querySelectorAll('#layers .layer')].map(e => e.id)"
    )
    assert names == [f"layer-{layer['name']}" for layer in explorer.info()["layers"]]
    shot(page, "overview.png")


def test_picking_a_test_image_of_a_class(page, explorer):
    from selenium.webdriver.support.ui import Select

    Select(page.find_element("id", "test-class")).select_by_value("4")
    wait(page, "return [...document.querySelectorAll('#test-images figure')].length > 0 && "
               "[...document.querySelectorAll('#test-images figure')].every(f => "
               "f.title.includes(': 4 →'))")  # fmt: skip
    first = page.find_element("css selector", "#test-images figure")
    index = int(first.get_attribute("data-index"))
    first.click()
    wait(page, f"return document.body.dataset.source.startsWith('test image #{index} ')")
    np.testing.assert_array_equal(current_input(page), to_float(explorer.test[0][index]))


def test_drawing_updates_the_prediction(page, explorer):
    before = page.execute_script("return window.explorer.timings.length")
    page.execute_script("document.getElementById('clear-button').click()")
    wait(page, f"return window.explorer.timings.length > {before}")
    before = page.execute_script("return window.explorer.timings.length")
    draw_stroke(page, [(-10, -90), (0, -40), (5, 0), (10, 40), (15, 90)])  # a "1"
    wait(page, f"return window.explorer.timings.length > {before}")
    image = current_input(page)
    assert image.max() > 0.5  # the stroke arrived
    probabilities = predict(explorer.model, image[None])[0]
    shown = page.find_element("id", "prediction").text
    assert shown.startswith(f"prediction: {explorer.classes[int(probabilities.argmax())]} ")
    bars = page.execute_script(
        "return [...document.querySelectorAll('#probabilities .p')].map(e => e.textContent)"
    )
    assert bars == [f"{p:.3f}" for p in probabilities]


def test_clicking_a_unit_shows_unit_arithmetic(page, explorer):
    canvas = page.find_element("css selector", "canvas[data-layer='0'][data-channel='3']")
    size = canvas.size
    # Click the centre of cell (row 12, col 13) of the 26×26 map.
    x = (13 + 0.5) * size["width"] / 26 - size["width"] / 2
    y = (12 + 0.5) * size["height"] / 26 - size["height"] / 2
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(page).move_to_element_with_offset(canvas, x, y).click().perform()
    wait(page, "return document.getElementById('unit-view').dataset.unit !== undefined")
    layer, channel, row, col = json.loads(
        page.find_element("id", "unit-view").get_attribute("data-unit")
    )
    assert (layer, channel, row, col) == ("0", 3, 12, 13)
    expected = jsonable(
        explain.unit_arithmetic(explorer.model, current_input(page), "0", 3, 12, 13)
    )
    assert page.find_element("id", "unit-formula").text == expected["formula"]
    terms = page.execute_script(
        "return Object.fromEntries([...document.querySelectorAll('#unit-terms dd')]"
        ".map(d => [d.dataset.term, d.textContent]))"
    )
    for key in ("value", "sum", "bias", "pre_activation"):
        assert terms[key] == f"{expected[key]:.4f}", key
    products = page.execute_script(
        "return [...document.querySelectorAll(\"table[data-name='products-0'] td\")]"
        ".map(td => td.textContent)"
    )
    assert products == [f"{v:.4f}" for v in np.ravel(expected["products"][0])]
    shot(page, "unit.png")


def test_every_layer_shows_its_arithmetic(page, explorer):
    """A click on the last map (or feature) of each layer: the formula is the server's."""
    image = current_input(page)
    for layer in explorer.info()["layers"]:
        shape = layer["shape"]
        channel = shape[0] - 1
        index = channel if len(shape) == 3 else 0  # a vector layer is one strip
        selector = f"canvas[data-layer='{layer['name']}'][data-channel='{index}']"
        canvas = page.find_element("css selector", selector)
        page.execute_script("arguments[0].scrollIntoView({block: 'center'})", canvas)
        version = page.execute_script("return document.getElementById('unit-view').dataset.version")
        # A click at the canvas's centre: unit (C−1, H//2, W//2), or feature F//2.
        page.execute_script(
            "const c = arguments[0], r = c.getBoundingClientRect();"
            "c.dispatchEvent(new MouseEvent('click', {clientX: r.left + r.width / 2,"
            " clientY: r.top + r.height / 2, bubbles: true}))",
            canvas,
        )
        wait(page, f"return document.getElementById('unit-view').dataset.version !== '{version}'")
        unit = (channel, shape[1] // 2, shape[2] // 2) if len(shape) == 3 else (shape[0] // 2, 0, 0)
        expected = explain.unit_arithmetic(explorer.model, image, layer["name"], *unit)
        assert page.find_element("id", "unit-formula").text == expected["formula"], layer
        value = page.find_element("css selector", "#unit-terms dd[data-term='value']").text
        assert value == f"{expected['value']:.4f}"


def test_grad_cam_overlay(page, explorer):
    from selenium.webdriver.support.ui import Select

    version = page.execute_script("return document.getElementById('explain-view').dataset.version")
    Select(page.find_element("id", "explain-method")).select_by_value("grad_cam")
    view = "document.getElementById('explain-view').dataset"
    wait(page, f"return {view}.method === 'grad_cam' && {view}.version !== '{version}'")
    layer = explain.default_layer(explorer.model, current_input(page))
    assert f"Grad-CAM on layer {layer}" in page.find_element("id", "explain-caption").text
    page.execute_script("document.getElementById('explain-view').scrollIntoView()")
    shot(page, "gradcam.png")
    # Another layer: the first convolution's maps.
    version = page.execute_script(f"return {view}.version")
    Select(page.find_element("id", "explain-layer")).select_by_value("0")
    wait(page, f"return {view}.version !== '{version}'")
    assert "Grad-CAM on layer 0:" in page.find_element("id", "explain-caption").text


def test_uploading_a_non_image_shows_the_error(page, tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("this is not an image")
    page.find_element("id", "upload-input").send_keys(str(path))
    wait(page, "return !document.getElementById('error').hidden")
    assert "not an image" in page.find_element("id", "error").text


def test_stroke_to_feature_maps_latency(page):
    """Draws 20 strokes; records (does not assert) the median time to updated maps."""
    strokes = []
    for i in range(20):
        count = page.execute_script("return window.explorer.timings.length")
        page.execute_script("document.getElementById('clear-button').click()")
        wait(page, f"return window.explorer.timings.length > {count}")
        count = page.execute_script("return window.explorer.timings.length")
        draw_stroke(page, [(-60 + 3 * i, -60), (0, 0), (60, 60 - 2 * i)])
        wait(page, f"return window.explorer.timings.length > {count}")
        # The update sent on pointerup is the last one.
        strokes.append(page.execute_script("return window.explorer.timings.at(-1)"))
    assert len(strokes) == 20 and all(t > 0 for t in strokes)
    if SHOTS:
        Path(SHOTS, "stroke_timings.txt").write_text(
            f"median {statistics.median(strokes):.1f} ms over {len(strokes)} strokes: "
            + ", ".join(f"{t:.0f}" for t in strokes)
            + "\n"
        )
