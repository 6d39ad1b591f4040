import pytest

from puma.errors import InputFileError
from puma.submission.cells import (
    cell_from_slug,
    cell_id,
    cell_slug,
    check_device_tag,
    check_handle,
    split_cell_id,
)


@pytest.mark.parametrize("name", ["ada", "rtx-4090-pc", "mac-m1-8gb", "a1"])
def test_valid_names_pass(name: str) -> None:
    assert check_handle(name) == name
    assert check_device_tag(name) == name


@pytest.mark.parametrize(
    "name", ["", "Ada", "-ada", "ada-", "a--b", "a_b", "a/b", "a b", "é", "../x", "a" * 65]
)
def test_invalid_names_are_refused_with_the_rule(name: str) -> None:
    with pytest.raises(InputFileError, match="lower-case ASCII"):
        check_handle(name)


def test_cell_id_keeps_slashes_of_the_model_and_splits_back() -> None:
    cell = cell_id("rtx-4090-pc", "meta-llama/Llama-3-8B:q4")
    assert cell == "rtx-4090-pc/meta-llama/Llama-3-8B:q4"
    assert split_cell_id(cell) == ("rtx-4090-pc", "meta-llama/Llama-3-8B:q4")
    assert "/" not in cell_slug(cell)
    assert cell_from_slug(cell_slug(cell)) == cell


@pytest.mark.parametrize("model", ["", " x", "x\n", "a\x00b"])
def test_cell_id_refuses_unusable_model_names(model: str) -> None:
    with pytest.raises(InputFileError):
        cell_id("cpu-box", model)
