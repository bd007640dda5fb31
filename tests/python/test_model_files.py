import torch

import rkhs


def test_a_cli_model_loads_into_the_python_head(tmp_path):
    out = tmp_path / "run"
    result = rkhs.run(["classify", "--data", "sphere", "--head", "kernelized", "--activation", "sigmoid", "--order", "6",
                       "--epochs", "1", "--lr", "0.1", "--train-size", "500", "--test-size", "200", "--threads", "1",
                       "--out", str(out)])
    assert result["model"] == "identity"
    state = rkhs.load_model_state(out / "model.pt", "head.")
    head = rkhs.nn.KernelizedHead(3, 2, order=6, activation="sigmoid")
    head.load_state_dict(state)  # strict: the same names and shapes as the C++ head
    z = torch.randn(7, 3)
    # The C++ head reading the same tensors gives the same logits.
    rkhs.save_model_state(head, tmp_path / "head.pt")
    torch.testing.assert_close(head(z), rkhs._C._cpp_kernelized_head_logits(str(tmp_path / "head.pt"), 3, 2, 6,
                                                                              "sigmoid", z))


def test_a_python_head_loads_into_cpp(tmp_path):
    torch.manual_seed(0)
    head = rkhs.nn.KernelizedHead(5, 4, order=3)
    with torch.no_grad():
        head.alpha_raw.uniform_(0, 2)
    path = tmp_path / "model.pt"
    rkhs.save_model_state(head, path)
    z = torch.randn(6, 5)
    cpp = rkhs._C._cpp_kernelized_head_logits(str(path), 5, 4, 3, "relu", z)
    torch.testing.assert_close(cpp, head(z).detach())
    assert set(torch.load(path)) == {"weight", "alpha_raw"}  # and torch.load reads it as a dict
    try:
        rkhs._C._cpp_kernelized_head_logits(str(path), 5, 4, 4, "relu", z)  # order 4: alpha_raw has 7 entries
        raise AssertionError("a mismatching file was accepted")
    except rkhs.Error as e:
        assert "alpha_raw" in str(e)
