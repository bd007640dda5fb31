import gzip
import os

import numpy as np
import pytest
import torch
from torch.autograd import gradcheck

import rkhs
from conftest import FASHION

# torch.func.functional_call from PyTorch 2.0 on (torch.nn.utils.stateless's is deprecated there); 1.13 has the latter.
functional_call = getattr(getattr(torch, "func", None), "functional_call", None)
functional_call = functional_call or torch.nn.utils.stateless.functional_call


def test_kernelized_head_parameters_live_in_python():
    head = rkhs.nn.KernelizedHead(8, 3, order=4)
    assert set(head.state_dict()) == {"weight", "alpha_raw"}
    assert head.weight.shape == (3, 8) and head.alpha_raw.shape == (7,)
    assert torch.equal(head.alpha(), torch.ones(7))  # relu: "alpha initialized with all ones"
    head64 = head.to(torch.float64)
    assert head64.weight.dtype == torch.float64
    copy = rkhs.nn.KernelizedHead(8, 3, order=4)
    copy.load_state_dict(head.state_dict())
    z = torch.randn(5, 8, dtype=torch.float64)
    torch.testing.assert_close(copy.double()(z), head64(z))
    groups = head.parameter_groups(weight_decay=5e-4)
    assert groups[1]["weight_decay"] == 1e-4 and groups[0]["weight_decay"] == 5e-4


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "softmax", "none"])
def test_kernelized_head_gradcheck_float64(activation):
    torch.manual_seed(1)
    head = rkhs.nn.KernelizedHead(4, 3, order=3, activation=activation).double()
    with torch.no_grad():
        head.alpha_raw.uniform_(0.2, 1.0)
    z = torch.randn(6, 4, dtype=torch.float64, requires_grad=True)
    assert gradcheck(lambda a, w, r: functional_call(head, {"weight": w, "alpha_raw": r},
                                                                               (a,)),
                     (z, head.weight.detach().requires_grad_(), head.alpha_raw.detach().requires_grad_()))


def test_bad_head_arguments_raise():
    with pytest.raises(rkhs.Error, match="activation"):
        rkhs.nn.KernelizedHead(4, 2, activation="tanh")
    with pytest.raises(rkhs.Error, match="order"):
        rkhs.nn.KernelizedHead(4, 2, order=-1)
    head = rkhs.nn.KernelizedHead(4, 2)
    with pytest.raises(RuntimeError):
        head(torch.zeros(3, 5))  # wrong embedding size: a clear error, not a crash


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


@pytest.mark.skipif(not os.path.exists(FASHION), reason="dataset-fashion-mnist is not installed")
def test_a_plain_pytorch_loop_learns_fashion_mnist_as_the_cli_does(tmp_path):
    # 2,000 training and 1,000 test images on the pixels (identity backbone): the KCL head in a plain PyTorch
    # loop against `rkhs classify` with the same head, data sizes, rate, epochs and batch size.
    images, labels = read_idx(f"{FASHION}/train-images-idx3-ubyte.gz"), read_idx(f"{FASHION}/train-labels-idx1-ubyte.gz")
    x = torch.tensor(images[:3000].reshape(3000, -1), dtype=torch.float32) / 255
    y = torch.tensor(labels[:3000], dtype=torch.int64)
    x_train, y_train, x_test, y_test = x[:2000], y[:2000], x[2000:], y[2000:]
    mean, std = x_train.mean(0), x_train.std(0).clamp_min(1e-6)
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    torch.manual_seed(0)
    head = rkhs.nn.KernelizedHead(784, 10)
    opt = torch.optim.SGD(head.parameter_groups(weight_decay=1e-4), lr=0.1, momentum=0.9)
    epochs, batch = 10, 128
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    for _ in range(epochs):
        order = torch.randperm(2000)
        for i in range(0, 2000, batch):
            idx = order[i:i + batch]
            loss = torch.nn.functional.cross_entropy(head(x_train[idx]), y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
    python_acc = (head(x_test).argmax(1) == y_test).float().mean().item()
    cli = rkhs.run(["classify", "--data", f"idx:{FASHION}/train-images-idx3-ubyte.gz,{FASHION}/train-labels-idx1-ubyte.gz",
                    "--test", f"idx:{FASHION}/t10k-images-idx3-ubyte.gz,{FASHION}/t10k-labels-idx1-ubyte.gz",
                    "--train-size", "2000", "--test-size", "1000", "--model", "identity", "--head", "kernelized",
                    "--lr", "0.1", "--epochs", "10", "--threads", "2"])
    cli_acc = cli["test_accuracy"]
    print(f"python {python_acc:.4f} cli {cli_acc:.4f}")
    assert python_acc > 0.70, python_acc
    assert abs(python_acc - cli_acc) < 0.04, (python_acc, cli_acc)


def test_cosine_head_is_the_scaled_cosine():
    torch.manual_seed(2)
    head = rkhs.nn.CosineHead(6, 4).double()
    assert set(head.state_dict()) == {"weight", "log_scale"}  # the C++ head's names (model files)
    assert abs(head.log_scale.exp().item() - 10) < 1e-5  # 1 / temperature (stored in float32, then .double())
    z = torch.randn(5, 6, dtype=torch.float64)
    zn, wn = z.numpy(), head.weight.detach().numpy()
    cos = (zn / np.linalg.norm(zn, axis=1, keepdims=True)) @ (wn / np.linalg.norm(wn, axis=1, keepdims=True)).T
    scale = head.log_scale.exp().item()
    np.testing.assert_allclose(head(z).detach().numpy(), scale * cos, rtol=1e-12)
    assert head.parameter_groups(1e-4)[1]["weight_decay"] == 0.0
