"""The load stage's parent side: what a submission hands in, which file and class are the model, and
the loading rule's choice of statements. Nothing here runs a worker (test_check.py does)."""

from __future__ import annotations

import ast
import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

from grader.errors import SubmissionNotFound, UsageError
from grader.load import LoadError, choose_model, resolve_submission, signals
from grader.load.choose import DEFINED, IMPORTED, INSTANTIATED, OPTION
from grader.load.signals import FILE, NAME, NUMBER, ORDER, README, Version
from grader.load.source import EXPORT, NOTEBOOK, read_source, runnable
from grader.results import Argument

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "submissions"
LAYOUTS = Path(__file__).resolve().parent / "fixtures" / "layouts"


def chosen(path, wanted: str = ""):
    return choose_model(resolve_submission(path), wanted)


def source_of(tmp_path: Path, text: str, name: str = "model.py") -> Path:
    (tmp_path / name).write_text(text)
    return tmp_path / name


# --- what a submission hands in ---------------------------------------------------------------------

def test_py_file_is_handed_in_alone():
    path = FIXTURES / "several_classes.py"
    s = resolve_submission(path)
    assert (s.path, s.root, s.files) == (str(path), str(path.parent), ("several_classes.py",))
    assert s.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_folder_hands_in_every_source_file_and_hashes_them(tmp_path):
    folder = tmp_path / "sub"
    shutil.copytree(LAYOUTS / "models_package", folder)
    first = resolve_submission(folder)
    assert first.files == ("main.py", "models/__init__.py", "models/blocks.py", "models/model.py", "training/train.py")
    (folder / "models" / "blocks.py").write_text("X = 2\n")
    assert resolve_submission(folder).sha256 != first.sha256  # a helper change is a different submission


def test_data_checkpoints_caches_and_links_are_left_out_with_a_note(tmp_path):
    folder = tmp_path / "sub"
    shutil.copytree(LAYOUTS / "with_data", folder)
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "model.cpython-311.pyc").write_bytes(b"\0")
    (folder / ".git").mkdir()
    (folder / ".git" / "config").write_text("[core]\n")
    os.symlink("/etc/passwd", folder / "secrets.py")
    s = resolve_submission(folder)
    assert s.files == ("model.py",)
    note = " ".join(s.notes)
    for left_out in ("model.pt", "data/train-images-idx3-ubyte.gz", "secrets.py"):
        assert left_out in note
    assert "__pycache__" not in note and ".git" not in note  # caches and version control are not the student's work


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


# --- which file and class: the layouts students hand in -----------------------------------------------

def test_folder_with_model_utils_and_a_notebook_grades_what_the_notebook_imports():
    c = chosen(LAYOUTS / "model_utils_notebook")
    assert (c.file, c.model_class, c.rule, c.guessed) == ("model.py", "Net", IMPORTED, False)
    assert c.reason == "imported and instantiated by S6.ipynb"


def test_models_package_is_found_through_the_script_that_imports_it():
    c = chosen(LAYOUTS / "models_package")
    assert (c.file, c.model_class, c.rule) == ("models/model.py", "MNISTModel", IMPORTED)  # ConvBlock is a helper


def test_a_stale_export_beside_its_notebook_gives_way_to_the_notebook():
    c = chosen(LAYOUTS / "stale_export")
    assert (c.file, c.model_class, c.guessed) == ("S6.ipynb", "Net", False)


def test_several_versions_take_the_one_the_last_notebook_imports_and_are_flagged():
    c = chosen(LAYOUTS / "model_versions")
    assert (c.file, c.model_class, c.rule) == ("model.py", "Net3", IMPORTED)
    assert c.guessed and c.others == ("Net1",) and "2_final.ipynb" in c.reason


def test_a_wrapper_that_needs_an_argument_and_a_class_without_forward_are_not_the_model():
    c = chosen(LAYOUTS / "wrapper_with_argument.ipynb")
    assert (c.model_class, c.rule, c.guessed) == ("Net", INSTANTIATED, False)


def test_a_script_that_trains_at_import_is_read_for_its_model():
    assert chosen(LAYOUTS / "script_trains_at_import.py").model_class == "Net"


def test_versions_in_several_files_without_any_import_take_the_last_defined():
    c = chosen(LAYOUTS / "explicit_file")
    assert (c.file, c.rule, c.guessed, c.others) == ("model_v3.py", DEFINED, True, ("model_v2.py:Net",))


def test_file_and_class_named_explicitly():
    c = chosen(LAYOUTS / "explicit_file", "model_v2.py:Net")
    assert (c.file, c.model_class, c.rule, c.guessed) == ("model_v2.py", "Net", OPTION, False)


def test_unrelated_models_in_two_files_are_an_error_listing_file_and_class():
    with pytest.raises(LoadError) as e:
        chosen(LAYOUTS / "two_unrelated")
    assert "alpha.py:AlphaNet, beta.py:BetaNet" in str(e.value) and "--model-class beta.py:BetaNet" in str(e.value)


def test_a_notebooks_copy_of_a_module_class_gives_way_to_the_module(tmp_path):
    (tmp_path / "model.py").write_text("import torch.nn as nn\nclass Net(nn.Module):\n    def forward(self, x):\n        return x\n")
    _notebook(tmp_path / "work.ipynb", "import torch.nn as nn\nclass Net(nn.Module):\n    def forward(self, x):\n        return x\n",
              "model = Net()")
    c = chosen(tmp_path)
    assert (c.file, c.model_class, c.rule) == ("model.py", "Net", INSTANTIATED)


def test_a_factory_function_imported_by_the_notebook_names_its_model(tmp_path):
    for name, body in (("S6_Model.py", "return Net()"), ("S6_Model2.py", "return Net()")):
        (tmp_path / name).write_text(f"import torch.nn as nn\nclass Net(nn.Module):\n    def forward(self, x):\n        return x\n"
                                     f"def get_model():\n    {body}\n")
    _notebook(tmp_path / "V1.ipynb", "from S6_Model2 import get_model\nmodel = get_model()")
    _notebook(tmp_path / "V2.ipynb", "from S6_Model import get_model\nmodel = get_model()")
    c = chosen(tmp_path)
    assert (c.file, c.rule, c.guessed) == ("S6_Model.py", IMPORTED, True) and "V2.ipynb" in c.reason


def test_an_alias_import_names_the_class_it_binds(tmp_path):
    (tmp_path / "model.py").write_text("import torch.nn as nn\n" + "".join(
        f"class Model0{i}(nn.Module):\n    def forward(self, x):\n        return x\n" for i in range(3)))
    _notebook(tmp_path / "run.ipynb", "from model import Model01 as Net\nmodel = Net()")
    assert chosen(tmp_path).model_class == "Model01"


# --- which version: the signals, strongest first (grader.load.signals) --------------------------------------

def test_the_starter_named_baseline_gives_way_to_the_iterations_and_second_follows_first():
    c = chosen(FIXTURES / "versions_byte_order")  # byte order would take EVAS4_baseline: "b" sorts after "S"
    assert (c.file, c.rule, c.signal, c.guessed) == ("EVAS4_Second_Iteration.ipynb", INSTANTIATED, NUMBER, True)
    assert set(c.others) == {"EVAS4_First_Iteration.ipynb:Net", "EVAS4_baseline.ipynb:Net"} and not c.tied


def test_a_readme_that_names_the_final_version_decides():
    c = chosen(FIXTURES / "versions_readme")  # byte order would take MNIST_Classifier_v2 (no BatchNorm)
    assert (c.file, c.signal) == ("MNIST_Classifier_Final.ipynb", README) and "README.md names it" in c.reason


def test_without_a_readme_a_name_that_says_final_decides(tmp_path):
    shutil.copytree(FIXTURES / "versions_readme", tmp_path / "sub")
    (tmp_path / "sub" / "README.md").unlink()
    c = chosen(tmp_path / "sub")
    assert (c.file, c.signal) == ("MNIST_Classifier_Final.ipynb", NAME)


def test_the_readme_outranks_the_names(tmp_path):
    shutil.copytree(FIXTURES / "versions_readme", tmp_path / "sub")
    (tmp_path / "sub" / "README.md").write_text("# MNIST\n\nOur submission is MNIST_Classifier_v2.ipynb; the others are drafts.\n")
    c = chosen(tmp_path / "sub")
    assert (c.file, c.signal) == ("MNIST_Classifier_v2.ipynb", README)


def test_a_readme_that_names_every_version_in_one_line_says_nothing(tmp_path):
    shutil.copytree(FIXTURES / "versions_readme", tmp_path / "sub")
    (tmp_path / "sub" / "README.md").write_text("Best results: MNIST_Classifier_v1.ipynb, MNIST_Classifier_v2.ipynb and "
                                               "MNIST_Classifier_Final.ipynb.\n")
    assert chosen(tmp_path / "sub").signal == NAME


def test_plain_words_in_a_readme_are_no_names_of_versions(tmp_path):
    for name in ("cnn.py", "cnn_v2.py"):
        (tmp_path / name).write_text(MODEL)
    (tmp_path / "README.md").write_text("A small cnn is our best submission.\n")  # "cnn" is a word here, not cnn.py
    assert chosen(tmp_path).signal != README


def test_a_notebooks_own_markdown_can_name_the_final_class(tmp_path):
    path = _notebook(tmp_path / "nb.ipynb", MODEL.replace("Net", "Net1") + MODEL.replace("Net", "Net2"), "a, b = Net1(), Net2()",
                     markdown="## Results\nNet2 overfits. The final model is Net1: 99.4% with 7,800 parameters.")
    c = chosen(path)
    assert (c.model_class, c.signal) == ("Net1", README) and "nb.ipynb's markdown" in c.reason


def test_numbered_steps_compare_as_numbers():
    c = chosen(FIXTURES / "versions_numbered_steps")  # byte order would take S7_Step2: "2" sorts after "1"
    assert (c.file, c.signal) == ("S7_Step10.ipynb", NUMBER)


@pytest.mark.parametrize("older, newer", [("model_v2.py", "model_v10.py"), ("Step2", "Step3"), ("S7_2.ipynb", "S7_3_1.ipynb"),
                                          ("EVAS4_First_Iteration", "EVAS4_Second_Iteration"), ("Net", "Net2")])
def test_version_numbers_are_compared_as_numbers(older, newer):
    versions = [Version((name, "Net"), ("Net", name, name), (True,), name, (0, 0, 0)) for name in (newer, older)]
    kept, signal, _ = signals.narrow(versions, [])
    assert [v.key[0] for v in kept] == [newer] and signal == NUMBER


def test_names_that_differ_by_more_than_their_numbers_are_not_versions_of_one_another():
    names = ("99_4_under_8k.ipynb", "99_4_under_13.5k.ipynb")  # one folder's notebooks: 13.5k is no newer than 8k
    versions = [Version((name, "Net"), ("Net", name, name), (True,), name, (0, 0, 0)) for name in names]
    assert signals.narrow(versions, []) == (versions, "", "")


def test_a_notebook_that_builds_a_version_outranks_a_script_that_builds_another(tmp_path):
    for name in ("model_a.py", "model_b.py"):
        (tmp_path / name).write_text(MODEL)
    (tmp_path / "train.py").write_text("from model_b import Net\nmodel = Net()\n")
    _notebook(tmp_path / "S6.ipynb", "from model_a import Net\nmodel = Net()")
    c = chosen(tmp_path)
    assert (c.file, c.signal) == ("model_a.py", FILE)


def test_versions_nothing_tells_apart_are_tied_for_the_structural_check():
    c = chosen(FIXTURES / "versions_tied")
    assert (c.file, c.signal) == ("sgd.ipynb", ORDER)  # the last resort; grader.tiebreak decides
    assert [t.file for t in c.tied] == ["sgd.ipynb", "plateau.ipynb", "onecycle.ipynb", "cosine.ipynb", "adam.ipynb"]
    assert all(t.guessed and t.signal == "" and not t.tied and "no signal" not in t.reason for t in c.tied)


# --- how the model is built: the student's own call (grader.load.arguments) ----------------------------

def test_the_call_in_the_training_notebook_is_copied_as_plain_data():
    c = chosen(FIXTURES / "constructor_keyword")  # its last call, summary(Net2()), assigns nothing
    assert (c.model_class, c.constructor.text, c.constructor.where) == ("Net2", "Net2(drop=0.01)", "s6_net_final.ipynb [cell 7], line 1")
    assert c.constructor.args == () and c.constructor.kwargs == (("drop", Argument(literal="0.01")),)


def test_positional_arguments_and_a_constant_of_the_training_script_are_copied():
    c = chosen(FIXTURES / "constructor_positional")
    assert (c.constructor.text, c.constructor.where) == ("Net(8, DROPOUT)", "train.py, line 17")
    assert c.constructor.args == (Argument(literal="8"), Argument(literal="0.05"))  # DROPOUT = 0.05 in train.py


def test_a_constant_the_model_file_computes_is_passed_by_name(tmp_path):
    source = MODEL_WITH_WIDTH + "WIDTH = int('8')\nif __name__ == '__main__':\n    model = Net(WIDTH, drop=0.1)\n"
    c = chosen(source_of(tmp_path, source))
    assert c.constructor.args == (Argument(constant="WIDTH"),) and c.constructor.kwargs == (("drop", Argument(literal="0.1")),)


def test_a_factory_function_s_own_call_is_copied(tmp_path):
    (tmp_path / "model.py").write_text(MODEL_WITH_WIDTH + "def get_model(device):\n    return Net(16).to(device)\n")
    _notebook(tmp_path / "S6.ipynb", "from model import get_model\nmodel = get_model('cpu')")
    c = chosen(tmp_path)
    assert (c.constructor.text, c.constructor.where) == ("Net(16)", "model.py, line 6")


@pytest.mark.parametrize("call, passed", [("Net(config.width)", "config.width"), ("Net(*sizes)", "*sizes"),
                                          ("Net(**options)", "**options"), ("Net(width)", "width"), ("Net(lambda: 8)", "lambda: 8")])
def test_arguments_that_are_not_plain_data_are_not_copied_and_the_note_says_which(tmp_path, call, passed):
    source = MODEL_WITH_WIDTH + f"def run(width):\n    model = {call}\n"
    c = chosen(source_of(tmp_path, source))
    assert c.constructor is None and len(c.notes) == 1
    assert c.notes[0].startswith(f"{call} at model.py, line 6 passes {passed}, which the grader cannot copy")


def test_the_option_may_give_the_arguments(tmp_path):
    c = chosen(FIXTURES / "constructor_keyword", "model.py:Net2(drop=0.5)")
    assert (c.file, c.rule, c.signal, c.guessed) == ("model.py", OPTION, OPTION, False)
    assert (c.constructor.text, c.constructor.where) == ("Net2(drop=0.5)", "--model-class or the rubric's model_class")
    assert chosen(FIXTURES / "constructor_keyword", "Net2").constructor.text == "Net2(drop=0.01)"  # the student's own call


@pytest.mark.parametrize("wanted", ["Net2(drop=random())", "Net2(", "Net2[0]()"])
def test_an_option_whose_arguments_are_not_literals_is_a_usage_error(wanted):
    with pytest.raises(UsageError, match="--model-class"):
        chosen(FIXTURES / "constructor_keyword", wanted)


def test_a_syntax_error_in_the_only_model_file_is_reported():
    with pytest.raises(LoadError, match=r"syntax error in syntax_error.py, line 14"):
        chosen(FIXTURES / "errors" / "syntax_error.py")


# --- which class: the rule inside one file (unchanged from the one-file loader) -------------------------

HIERARCHY = '''
import torch.nn as nn
class ConvBlock(nn.Module):
    pass
class Base(nn.Module):
    pass
class Net(Base):
    def __init__(self):
        super().__init__()
        self.block = ConvBlock(1, 8)
'''


def test_helper_blocks_and_base_classes_are_not_the_model(tmp_path):
    assert chosen(source_of(tmp_path, HIERARCHY)).model_class == "Net"


def test_the_hierarchy_fixture_chooses_net():
    assert chosen(FIXTURES / "hierarchy_lazy.py").model_class == "Net"


def test_an_instantiated_class_wins_among_unrelated_ones():
    c = chosen(FIXTURES / "several_classes.py")
    assert (c.model_class, c.rule, c.guessed) == ("FinalNet", INSTANTIATED, False)


def test_ambiguous_classes_list_every_candidate():
    with pytest.raises(LoadError) as e:
        chosen(FIXTURES / "ambiguous_classes.py")
    assert "AlphaNet" in str(e.value) and "BetaNet" in str(e.value) and "--model-class" in str(e.value)


def test_several_instantiated_classes_are_still_ambiguous(tmp_path):
    path = source_of(tmp_path, "import torch.nn as nn\nclass A(nn.Module): pass\nclass B(nn.Module): pass\na, b = A(), B()\n")
    with pytest.raises(LoadError, match="A, B"):
        chosen(path)


def test_wanted_class_overrides_the_rule(tmp_path):
    assert chosen(FIXTURES / "several_classes.py", "TinyNet").model_class == "TinyNet"
    assert chosen(source_of(tmp_path, HIERARCHY), "ConvBlock").model_class == "ConvBlock"


def test_wanted_class_that_does_not_exist_lists_what_does(tmp_path):
    with pytest.raises(LoadError) as e:
        chosen(source_of(tmp_path, HIERARCHY), "Model")
    assert "'Model'" in str(e.value) and "ConvBlock, Base, Net" in str(e.value)


def test_no_module_class_is_a_load_error(tmp_path):
    with pytest.raises(LoadError, match="no nn.Module subclass"):
        chosen(source_of(tmp_path, "def model(x):\n    return x\n"))


def test_a_single_class_is_chosen_even_if_never_instantiated(tmp_path):
    c = chosen(source_of(tmp_path, "import torch.nn as nn\nclass Net(nn.Module): pass\n"))
    assert (c.model_class, c.rule, c.guessed) == ("Net", DEFINED, False)


def test_helper_built_by_a_factory_function_is_not_the_model(tmp_path):
    source = '''
import torch.nn as nn
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
    assert chosen(source_of(tmp_path, source)).model_class == "Net"


def test_a_subclass_of_a_torch_layer_is_a_module(tmp_path):
    source = "import torch.nn as nn\nclass GhostBN(nn.BatchNorm2d):\n    pass\nclass Net(nn.Module):\n    def __init__(self):\n" \
             "        super().__init__()\n        self.bn = GhostBN(4)\n    def forward(self, x):\n        return x\n"
    assert chosen(source_of(tmp_path, source)).model_class == "Net"


# --- notebooks and the loading rule ------------------------------------------------------------------------

def _notebook(path: Path, *cells: str, markdown: str = "") -> Path:
    markdown_cells = [{"cell_type": "markdown", "source": markdown}] if markdown else []
    path.write_text(json.dumps({"cells": markdown_cells + [{"cell_type": "code", "source": c} for c in cells], "nbformat": 4}))
    return path


def _runs(source) -> str:
    return "\n".join(ast.unparse(kept) for node, _ in source.statements if (kept := runnable(node)) is not None)


def test_notebook_keeps_only_imports_definitions_and_constants():
    kept = _runs(read_source(FIXTURES, "notebook_training.ipynb"))
    assert "class Net" in kept and "def train" in kept and "DROPOUT = 0.1" in kept
    for never in ("NOTEBOOK CELL RAN", "for epoch", "DataLoader(", "optimizer =", "pip install", "matplotlib inline",
                  "plt.plot", "raise"):
        assert never not in kept
    assert "from course_utils import show_batch" in kept  # run guarded: a missing package is a note, not an error


def test_a_script_keeps_plain_assignments_and_drops_calls_loops_and_downloads():
    kept = _runs(read_source(LAYOUTS, "script_trains_at_import.py"))
    for runs in ("dropout_value = 0.1", "device = torch.device(", "use_cuda = torch.cuda.is_available()", "kwargs = ",
                 "from torchsummary import summary", "class Net"):
        assert runs in kept
    for never in ("manual_seed", "DataLoader", "download", "model = Net()", "summary(model", "optimizer", "for epoch",
                  "TRAINING AT IMPORT RAN"):
        assert never not in kept


def test_main_guard_loops_with_and_bare_calls_never_run(tmp_path):
    source = read_source(tmp_path, source_of(tmp_path, (
        "import sys\nif __name__ == '__main__':\n    train()\nwhile True:\n    pass\nwith open('x') as f:\n    pass\n"
        "sys.exit(0)\nbuffer = bytearray(1 << 40)\nif torch.cuda.is_available():\n    device = 'cuda'\n    train()\n"
        "try:\n    import tqdm\nexcept ImportError:\n    tqdm = None\n")).name)
    kept = _runs(source)
    assert "__main__" not in kept and "while" not in kept and "with" not in kept and "sys.exit" not in kept
    assert "bytearray" not in kept and "train()" not in kept
    assert "device = 'cuda'" in kept and "import tqdm" in kept and "tqdm = None" in kept


def test_notebook_magics_keep_line_numbers(tmp_path):
    source = read_source(tmp_path, _notebook(tmp_path / "nb.ipynb", "%load_ext autoreload\n!ls\nx = (\n").name)
    assert source.syntax_error == "syntax error in nb.ipynb [cell 1], line 3: '(' was never closed"


def test_a_broken_cell_is_left_out_and_the_rest_kept(tmp_path):
    source = read_source(tmp_path, _notebook(tmp_path / "nb.ipynb", "x = (\n", "import torch.nn as nn\nclass Net(nn.Module): pass").name)
    assert source.kind == NOTEBOOK and "cell 1" in source.syntax_error and "class Net" in _runs(source)


def test_notebook_future_import_is_dropped(tmp_path):
    kept = _runs(read_source(tmp_path, _notebook(tmp_path / "nb.ipynb", "from __future__ import print_function\nimport torch\n").name))
    assert "__future__" not in kept and "import torch" in kept


def test_unreadable_notebook_is_a_load_error(tmp_path):
    (tmp_path / "nb.ipynb").write_text("{not json")
    with pytest.raises(LoadError, match="not a readable Jupyter notebook"):
        read_source(tmp_path, "nb.ipynb")


MODEL = "import torch.nn as nn\nclass Net(nn.Module):\n    pass\n"
MODEL_WITH_WIDTH = "import torch.nn as nn\nclass Net(nn.Module):\n    def __init__(self, width, drop=0.0):\n        super().__init__()\n"


@pytest.mark.parametrize("expression", ["1" + " + 1" * 5_000, "- " * 100_000 + "1"])  # RecursionError; MemoryError
def test_a_file_too_deep_for_the_parser_is_the_submissions_load_error(tmp_path, expression):
    from grader import api

    path = source_of(tmp_path, f"{MODEL}CONSTANT = {expression}\n")
    message = "model.py is too deeply nested for the grader's parser"
    assert read_source(tmp_path, "model.py").syntax_error.startswith(message)
    grade = api.check(path)  # no worker: the model cannot even be chosen
    assert (grade.error.stage, grade.error.message.split(" (")[0]) == ("load", message)


def test_a_notebook_cell_too_deep_for_the_parser_is_left_out_and_named(tmp_path):
    source = read_source(tmp_path, _notebook(tmp_path / "nb.ipynb", "x = " + "- " * 100_000 + "1\n", MODEL).name)
    assert source.syntax_error.startswith("nb.ipynb [cell 1] is too deeply nested for the grader's parser")
    assert "class Net" in _runs(source)


def test_a_notebook_whose_json_nests_too_deep_is_refused_before_decoding(tmp_path):
    notebook = json.loads(_notebook(tmp_path / "nb.ipynb", MODEL).read_text())
    text = json.dumps({**notebook, "metadata": {"deep": "DEEP"}}).replace('"DEEP"', "[" * 100_000 + "]" * 100_000)
    (tmp_path / "nb.ipynb").write_text(text)
    with pytest.raises(LoadError, match=r"nb.ipynb is not a readable Jupyter notebook \(its JSON is nested 100002 deep, more than 64\)"):
        read_source(tmp_path, "nb.ipynb")


def test_an_export_with_shell_lines_is_read_like_a_notebook():
    source = read_source(LAYOUTS / "stale_export", "S6.py")
    assert source.kind == EXPORT and not source.syntax_error and "class Net" in _runs(source)


def test_notebook_instantiation_in_a_skipped_cell_still_chooses_the_class(tmp_path):
    path = _notebook(tmp_path / "nb.ipynb", "import torch.nn as nn\nclass A(nn.Module): pass\nclass B(nn.Module): pass\n",
                     "model = B()\nmodel.fit()\n")
    assert chosen(path).model_class == "B"


def test_notebook_instantiation_in_a_cell_magic_cell_chooses_the_class(tmp_path):
    path = _notebook(tmp_path / "nb.ipynb", "import torch.nn as nn\nclass A(nn.Module): pass\nclass B(nn.Module): pass\n",
                     "%%time\nmodel = B()\n")
    assert chosen(path).model_class == "B"
