"""§9.11: LeNet-5's size by hand, and a measured error far below chance."""

from convscope.experiments import history


def test_lenet5_baseline():
    r = history.lenet5_baseline("smoke")
    # conv 6·25+6, conv 16·6·25+16, fc 400·120+120, 120·84+84, 84·10+10
    assert r.parameters == 156 + 2416 + 48120 + 10164 + 850
    assert r.paper_error == 0.0095 and r.test_images == 1000
    assert r.test_error < 0.8  # chance is 0.9
