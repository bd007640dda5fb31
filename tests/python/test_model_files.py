import re

import pytest
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
    # torch.load reads it as a dict too (weights_only=False: PyTorch >= 2.6 refuses LibTorch's type tags otherwise).
    assert set(torch.load(path, weights_only=False)) == {"weight", "alpha_raw"}
    assert set(rkhs.load_model_state(path)) == {"weight", "alpha_raw"}
    try:
        rkhs._C._cpp_kernelized_head_logits(str(path), 5, 4, 4, "relu", z)  # order 4: alpha_raw has 7 entries
        raise AssertionError("a mismatching file was accepted")
    except rkhs.Error as e:
        assert "alpha_raw" in str(e)


def _stripes_csv(path, n=160, seed=0):
    """Noisy 8 x 8 images of vertical (class 1) or horizontal (class 0) stripes, as `--data csv:` rows."""
    g = torch.Generator().manual_seed(seed)
    rows = []
    for i in range(n):
        img = torch.rand(8, 8, generator=g) * 4.0
        if i % 2:
            img[:, ::2] += 1
        else:
            img[::2, :] += 1
        rows.append(",".join([str(i % 2)] + [f"{v:.5f}" for v in img.flatten().tolist()]))
    path.write_text("\n".join(rows) + "\n")
    images = torch.tensor([[float(v) for v in r.split(",")[1:]] for r in rows]).reshape(n, 1, 8, 8)
    return images, torch.tensor([i % 2 for i in range(n)])


def _python_ckn_accuracy(net, state, images, labels):
    """What `rkhs ckn --load` computes: per-image standardisation, the network's features, the linear classifier."""
    flat = images.flatten(1)
    centred = flat - flat.mean(1, keepdim=True)
    x = (centred / centred.square().mean(1, keepdim=True).sqrt()).reshape(images.shape)
    logits = net.features(x) @ state["classifier_weight"].t() + state["classifier_bias"]
    return (logits.argmax(1) == labels).double().mean().item()


def test_a_cli_ckn_loads_into_python_and_back(tmp_path):
    images, labels = _stripes_csv(tmp_path / "s.csv")
    net_args = ["--image-shape", "1x8x8", "--filters", "4,6", "--patch", "3,3", "--subsample", "2,2", "--sigma", "0.6"]
    rkhs.run(["ckn", "--data", f"csv:{tmp_path / 's.csv'}", *net_args, "--train-size", "40", "--patches", "500",
              "--threads", "1", "--out", str(tmp_path / "run")])
    state = rkhs.load_model_state(tmp_path / "run" / "model.pt")
    net = rkhs.nn.CKN(1, filters=(4, 6), patch=3, subsample=2, sigma=0.6)
    net.load_state_dict(rkhs.load_model_state(tmp_path / "run" / "model.pt", "network."))  # strict
    every = ["ckn", "--data", f"csv:{tmp_path / 's.csv'}", "--test", f"csv:{tmp_path / 's.csv'}", *net_args,
             "--load", str(tmp_path / "run"), "--threads", "1"]
    with torch.no_grad():
        assert rkhs.run(every)["test_accuracy"] == _python_ckn_accuracy(net, state, images, labels)
        # Python -> CLI: other filters (k-means with another seed, then perturbed) written into the run folder are
        # what `--load` scores with.
        net.fit_unsupervised(images[:20], patches=200, kmeans_iterations=3, seed=9)
        for layer in net.layers:
            layer.filters.add_(0.1 * torch.randn(layer.filters.shape, generator=torch.Generator().manual_seed(1)))
            layer.normalize_filters()
        accuracy = _python_ckn_accuracy(net, state, images, labels)
        rkhs.save_model_state({**{"network." + k: v for k, v in net.state_dict().items()},
                               "classifier_weight": state["classifier_weight"],
                               "classifier_bias": state["classifier_bias"]}, tmp_path / "run" / "model.pt")
        assert rkhs.run(every)["test_accuracy"] == accuracy


def test_a_bad_model_file_is_an_rkhs_error(tmp_path):
    garbage, tensor_file = tmp_path / "garbage.pt", tmp_path / "tensor.pt"
    garbage.write_bytes(b"not a model file")
    torch.save(torch.zeros(3), tensor_file)  # a readable file that is not a {name: tensor} dict
    for path, words in ((tmp_path / "missing.pt", "cannot open"), (garbage, "garbage.pt"), (tensor_file, "dict")):
        with pytest.raises(rkhs.Error, match=re.escape(words)):
            rkhs.load_model_state(path)
