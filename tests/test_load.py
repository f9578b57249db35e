"""The load stage's parent-side pieces: finding the model file, choosing the model class, and
taking only the safe part of a notebook. None of these runs a worker."""

from __future__ import annotations

import ast
import hashlib
import json
from pathlib import Path

import pytest

from grader.errors import SubmissionNotFound
from grader.load import LoadError, choose_model_class, notebook_chunks, resolve_submission

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "submissions"


# --- resolve_submission -------------------------------------------------------------------------------

def test_py_file_resolves_to_itself():
    path = FIXTURES / "several_classes.py"
    s = resolve_submission(path)
    assert (s.path, s.file, s.kind) == (str(path), str(path), "py")
    assert s.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_notebook_resolves_as_notebook():
    assert resolve_submission(FIXTURES / "notebook_training.ipynb").kind == "notebook"


def test_folder_prefers_model_py_and_hashes_every_file(tmp_path):
    folder = tmp_path / "sub"
    folder.mkdir()
    (folder / "blocks.py").write_text("X = 1\n")
    (folder / "model.py").write_text("import blocks\n")
    first = resolve_submission(folder)
    assert first.file == str(folder / "model.py") and first.kind == "py"
    (folder / "blocks.py").write_text("X = 2\n")
    assert resolve_submission(folder).sha256 != first.sha256  # a helper change is a different submission


def test_folder_with_a_single_py_file_uses_it(tmp_path):
    (tmp_path / "my_net.py").write_text("")
    (tmp_path / "__init__.py").write_text("")
    assert resolve_submission(tmp_path).file == str(tmp_path / "my_net.py")


def test_folder_with_several_py_files_asks_which(tmp_path):
    for name in ("a.py", "b.py"):
        (tmp_path / name).write_text("")
    with pytest.raises(SubmissionNotFound, match="a.py, b.py"):
        resolve_submission(tmp_path)


@pytest.mark.parametrize("name, message", [
    ("missing.py", "does not exist"),
    ("", "holds no .py file or notebook"),  # an empty folder
    ("model.txt", "not a .py file"),
])
def test_nothing_to_load_is_submission_not_found(tmp_path, name, message):
    if name == "model.txt":
        (tmp_path / name).write_text("print('hi')\n")
    with pytest.raises(SubmissionNotFound, match=message):
        resolve_submission(tmp_path / name)


# --- choose_model_class ---------------------------------------------------------------------------------

HIERARCHY = '''
class ConvBlock(nn.Module):
    pass
class Base(nn.Module):
    pass
class Net(Base):
    def __init__(self):
        super().__init__()
        self.block = ConvBlock(1, 8)
'''


def test_helper_blocks_and_base_classes_are_not_the_model():
    assert choose_model_class(HIERARCHY, ["ConvBlock", "Base", "Net"]) == "Net"


def test_the_hierarchy_fixture_chooses_net():
    source = (FIXTURES / "hierarchy_lazy.py").read_text()
    assert choose_model_class(source, ["ConvBlock", "Base", "Net"]) == "Net"


def test_an_instantiated_class_wins_among_unrelated_ones():
    source = (FIXTURES / "several_classes.py").read_text()
    assert choose_model_class(source, ["TinyNet", "WideNet", "FinalNet"]) == "FinalNet"


def test_ambiguous_classes_list_every_candidate():
    source = (FIXTURES / "ambiguous_classes.py").read_text()
    with pytest.raises(LoadError) as e:
        choose_model_class(source, ["AlphaNet", "BetaNet"])
    assert "AlphaNet" in str(e.value) and "BetaNet" in str(e.value) and "--model-class" in str(e.value)


def test_several_instantiated_classes_are_still_ambiguous():
    source = "class A(nn.Module): pass\nclass B(nn.Module): pass\na, b = A(), B()\n"
    with pytest.raises(LoadError, match="A, B"):
        choose_model_class(source, ["A", "B"])


def test_wanted_class_overrides_the_rule():
    source = (FIXTURES / "several_classes.py").read_text()
    assert choose_model_class(source, ["TinyNet", "WideNet", "FinalNet"], "TinyNet") == "TinyNet"
    assert choose_model_class(HIERARCHY, ["ConvBlock", "Base", "Net"], "ConvBlock") == "ConvBlock"


def test_wanted_class_that_does_not_exist_lists_what_does():
    with pytest.raises(LoadError) as e:
        choose_model_class(HIERARCHY, ["ConvBlock", "Base", "Net"], "Model")
    assert "'Model'" in str(e.value) and "ConvBlock, Base, Net" in str(e.value)


def test_no_module_class_is_a_load_error():
    with pytest.raises(LoadError, match="no nn.Module subclass"):
        choose_model_class("def model(x):\n    return x\n", [])


def test_a_single_class_is_chosen_even_if_never_instantiated():
    assert choose_model_class("class Net(nn.Module): pass\n", ["Net"]) == "Net"


def test_helper_built_by_a_factory_function_is_not_the_model():
    source = '''
class ConvBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
def block(cin, cout):
    return ConvBlock(cin, cout)
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.b1 = block(1, 8)
'''
    assert choose_model_class(source, ["ConvBlock", "Net"]) == "Net"


# --- notebooks -------------------------------------------------------------------------------------------

def _kept_code(path: Path) -> str:
    chunks, _ = notebook_chunks(path)
    return "\n".join(ast.unparse(code) for code, _ in chunks)


def test_notebook_keeps_only_imports_definitions_and_constants():
    kept = _kept_code(FIXTURES / "notebook_training.ipynb")
    assert "class Net" in kept and "def train" in kept and "DROPOUT = 0.1" in kept
    for never in ("NOTEBOOK CELL RAN", "for epoch", "DataLoader(", "optimizer =", "pip install", "matplotlib inline",
                  "plt.plot", "raise"):
        assert never not in kept
    assert "from course_utils import show_batch" in kept and "except ImportError" in kept  # guarded, not dropped


def _notebook(tmp_path: Path, *cells: str) -> Path:
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps({"cells": [{"cell_type": "code", "source": c} for c in cells], "nbformat": 4}))
    return path


def test_notebook_magics_keep_line_numbers(tmp_path):
    path = _notebook(tmp_path, "%load_ext autoreload\n!ls\nx = (\n")
    with pytest.raises(LoadError, match=r"nb.ipynb \[cell 1\], line 3"):
        notebook_chunks(path)


def test_notebook_future_import_is_dropped(tmp_path):
    kept = _kept_code(_notebook(tmp_path, "from __future__ import print_function\nimport torch\n"))
    assert "__future__" not in kept and "import torch" in kept


def test_unreadable_notebook_is_a_load_error(tmp_path):
    path = tmp_path / "nb.ipynb"
    path.write_text("{not json")
    with pytest.raises(LoadError, match="not a readable Jupyter notebook"):
        notebook_chunks(path)


def test_notebook_instantiation_in_a_skipped_cell_still_chooses_the_class(tmp_path):
    path = _notebook(tmp_path, "class A(nn.Module): pass\nclass B(nn.Module): pass\n", "model = B()\nmodel.fit()\n")
    _, source = notebook_chunks(path)
    assert choose_model_class(source, ["A", "B"]) == "B"


def test_notebook_instantiation_in_a_cell_magic_cell_chooses_the_class(tmp_path):
    path = _notebook(tmp_path, "class A(nn.Module): pass\nclass B(nn.Module): pass\n", "%%time\nmodel = B()\n")
    _, source = notebook_chunks(path)
    assert choose_model_class(source, ["A", "B"]) == "B"
