"""§9.4: a pixel permutation is invisible to an MLP."""

from convscope.experiments import prior


def test_permutation_does_not_matter_to_the_mlp():
    r = prior.strong_prior("smoke")
    assert r.models == ["CNN", "MLP", "locally connected", "all-convolutional CNN"]
    assert all(
        len(v) == len(r.sizes) for v in (*r.accuracy.values(), *r.permuted_accuracy.values())
    )
    assert abs(r.permutation_cost["MLP"]) < 0.05
    assert min(r.accuracy["MLP"]) > 0.3
    assert r.parameters["CNN"] < r.parameters["MLP"] < r.parameters["locally connected"]
    assert r.parameters["all-convolutional CNN"] == 80 + 1168 + 4640 + 330  # by hand
