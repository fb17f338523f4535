"""How a data set's classes become the model's class indices.

- Every class name of the data set is a class name of the model: by name.
- Some are and some are not: refused (a mismatched label map).
- None is: by the data set's own order (sorted folder names, or the order
  stored in the files), and only when it has as many classes as the model.
"""

from dataclasses import dataclass

from certify_datasets.errors import DatasetError


@dataclass(frozen=True)
class ClassMap:
    """`to_model[i]` is the model's index of the data set's class i; `note` says how."""

    to_model: tuple[int, ...]
    note: str


def match_classes(where: str, names: tuple[str, ...], model_classes: tuple[str, ...],
                  order: str) -> ClassMap:
    """`order` describes the data set's own order ("sorted folder names", ...)."""
    known = [name for name in names if name in model_classes]
    if len(known) == len(names):
        return ClassMap(tuple(model_classes.index(n) for n in names),
                        f"class order: the model's class names ({len(names)} classes matched by name)")
    if known:
        unknown = [name for name in names if name not in model_classes]
        raise DatasetError(where, f"mismatched label map: classes {_few(unknown)} are not classes "
                           f"of the model, while {_few(known)} are; the model's classes are "
                           f"{_few(list(model_classes))}.")
    if len(names) != len(model_classes):
        raise DatasetError(where, f"mismatched label map: {len(names)} classes "
                           f"({_few(list(names))}) but the model has {len(model_classes)} "
                           f"({_few(list(model_classes))}), and no name matches.")
    pairs = ", ".join(f"{name}={i}" for i, name in enumerate(names[:6]))
    more = ", ..." if len(names) > 6 else ""
    return ClassMap(tuple(range(len(names))),
                    f"class order: {order}, as the model's class indices ({pairs}{more})")


def _few(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    return f"[{shown}{', ...' if len(names) > limit else ''}]"
