"""Quiz exports for learning platforms, made from the same validated model as the site.

Every text goes through `common.plain_text`: contributor Markdown is rendered and sanitised as
for the site, then reduced to text, and markup characters are escaped, so an export cannot carry
script into a platform that renders its text as HTML.
"""

from __future__ import annotations

from csbp.exports.common import explanation
from csbp.exports.gift import gift_text
from csbp.exports.qti import qti_items, qti_package
from csbp.model import Handbook

FORMATS = ("gift", "qti")


def export_files(handbook: Handbook, epoch: int) -> dict[str, bytes]:
    """Every export file by name: `<module>.gift` and `<module>-qti.zip` for each module, and
    `all.gift` and `all-qti.zip` for every module together."""
    modules = sorted(handbook.modules.values(), key=lambda m: m.id)
    files: dict[str, bytes] = {}
    every_item = []
    for module in modules:
        items = qti_items(module)
        every_item += items
        files[f"{module.id}.gift"] = gift_text([module]).encode("utf-8")
        files[f"{module.id}-qti.zip"] = qti_package([module], epoch, items)
    files["all.gift"] = gift_text(modules).encode("utf-8")
    files["all-qti.zip"] = qti_package(modules, epoch, every_item)
    return files


__all__ = ["FORMATS", "explanation", "export_files"]
