"""Every ```python block of docs/PYTHON.md runs as written, each on its own in a fresh namespace, so the examples
cannot rot. A block preceded by the line ``<!-- not run -->`` (blank lines allowed between) is illustrative only and
skipped; prefer runnable blocks on small synthetic data."""
import pathlib
import re
import traceback

import pytest
import torch

DOC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "PYTHON.md"
NOT_RUN = "<!-- not run -->"


def python_blocks(text):
    """(line number of the opening fence, code, skipped) for every ```python fenced block, in order."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        if re.fullmatch(r"```python\s*", lines[i]):
            start, body = i + 1, []
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            if i == len(lines):
                raise AssertionError(f"{DOC.name}:{start}: unclosed ```python block")
            before = [line for line in lines[:start - 1] if line.strip()]
            blocks.append((start, "\n".join(body) + "\n", bool(before) and before[-1].strip() == NOT_RUN))
        i += 1
    return blocks


BLOCKS = python_blocks(DOC.read_text(encoding="utf-8"))


def test_the_blocks_are_found():
    # Guards the extraction itself: the page has (at least) the kernels, head, CKN, Kernel SGD, AdaHessian,
    # NeuralEF, AutoRec and rkhs.run examples, and a not-run marker must not hide most of them.
    assert len(BLOCKS) >= 8, [line for line, _, _ in BLOCKS]
    assert sum(not skipped for _, _, skipped in BLOCKS) >= 8
    assert python_blocks("x\n<!-- not run -->\n\n```python\n1/0\n```\n```python\nx = 1\n```\n") == \
        [(4, "1/0\n", True), (7, "x = 1\n", False)]


@pytest.mark.parametrize("line,code,skipped", BLOCKS, ids=[f"line{line}" for line, _, _ in BLOCKS])
def test_docs_example_runs(line, code, skipped):
    if skipped:
        pytest.skip(f"{DOC.name}:{line} is marked {NOT_RUN}")
    first = code.strip().splitlines()[0] if code.strip() else "(empty block)"
    threads = torch.get_num_threads()
    torch.manual_seed(0)
    try:  # padded with newlines so that tracebacks give the page's line numbers
        exec(compile("\n" * line + code, str(DOC), "exec"), {"__name__": "__docs__"})
    except Exception as e:  # noqa: BLE001  (any failure of the example is the test's failure)
        where = [f.lineno for f in traceback.extract_tb(e.__traceback__) if f.filename == str(DOC)]
        at = f", failing at line {where[-1]}" if where else ""
        pytest.fail(f"{DOC.name}: the block at line {line} ({first!r}){at}: {type(e).__name__}: {e}", pytrace=False)
    finally:
        torch.set_num_threads(threads)
