import pytest

import rkhs


def test_run_returns_the_json_result():
    result = rkhs.run(["classify", "--data", "sphere", "--epochs", "2", "--lr", "0.1", "--train-size", "1000",
                       "--test-size", "1000", "--threads", "1", "--seed", "3"])
    assert result["command"] == "classify"
    assert 0.8 < result["test_accuracy"] <= 1.0
    assert result["epochs_run"] == 2 and result["config"]["seed"] == 3
    again = rkhs.run(["classify", "--data", "sphere", "--epochs", "2", "--lr", "0.1", "--train-size", "1000",
                      "--test-size", "1000", "--threads", "1", "--seed", "3", "--json"])
    assert again["test_accuracy"] == result["test_accuracy"]  # reproducible with --seed; --json may be given


def test_run_errors_are_rkhs_errors():
    with pytest.raises(rkhs.Error, match="--no-such-flag"):
        rkhs.run(["classify", "--no-such-flag"])
    with pytest.raises(rkhs.Error, match="epochs"):
        rkhs.run(["classify", "--epochs", "0"])
    with pytest.raises(rkhs.Error):
        rkhs.run(["classify", "--data", "csv:/nonexistent/file.csv"])
    with pytest.raises(rkhs.Error):
        rkhs.run([])


def test_run_help_and_kernels_return_text():
    assert "--head" in rkhs.run(["classify", "--help"])["help"]
    assert "rbf" in rkhs.run(["kernels"])["help"]
