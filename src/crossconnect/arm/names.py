"""Naming rules of resource types, with the errors Azure answers a bad name with.

Each resource type declares one rule (``ResourceType.name_rule``); the generic PUT checks the
name of a resource it is about to create against it, before anything else happens. A name that
passes can always be addressed again: no rule lets ``/``, ``.``/``..``, control characters or a
trailing period through.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from crossconnect.arm.errors import BadRequest


@dataclass(frozen=True)
class NameRule:
    """``error(name)``: the 400 a bad name gets, or None for a good one."""

    error: Callable[[str], BadRequest | None]

    def check(self, name: str, target: str | None = None) -> str:
        error = self.error(name)
        if error is not None:
            if target is not None:
                error.target = target
            raise error
        return name


# -- Azure Resource Manager's own rule, for every resource ----------------------------------------
_ARM_FORBIDDEN = set("<>*%&:\\?/+#")


def _arm_error(name: str) -> BadRequest | None:
    bad = "".join(c for c in name if c in _ARM_FORBIDDEN or not c.isprintable())
    if bad:
        return BadRequest(
            f"The provided resource name '{name}' has these invalid characters: '{bad}'. The name can not include "
            "control characters or the following characters: '<, >, *, %, &, :, \\, ?, /, +, #'.",
            "InvalidResourceNameCharacters",
        )
    if name.endswith((".", " ")):
        return BadRequest(
            f"The provided resource name '{name}' has these invalid trailing characters: '{name[-1]}'. The name can "
            "not end with characters: '. '.",
            "InvalidResourceNameTrailingCharacters",
        )
    return None


ARM_RESOURCE = NameRule(_arm_error)


# -- Microsoft.Resources/resourceGroups: 1-90 of letters, digits, - _ . ( ), no trailing period ----
RESOURCE_GROUP_MAX = 90
_GROUP_CHAR = re.compile(r"[-\w.()]")


def _group_error(name: str) -> BadRequest | None:
    bad = "".join(c for c in name if not _GROUP_CHAR.fullmatch(c))
    if bad:
        return BadRequest(
            f"The provided resource group name '{name}' has these invalid characters: '{bad}'. The name can only be "
            "a letter, digit, '-', '.', '(', ')' or '_'.",
            "InvalidResourceGroup",
        )
    if not name or len(name) > RESOURCE_GROUP_MAX:
        return BadRequest(
            f"The provided resource group name '{name}' is {len(name)} characters long. A resource group name has "
            f"1 to {RESOURCE_GROUP_MAX} characters.",
            "InvalidResourceGroup",
        )
    if name.endswith("."):
        return BadRequest(
            f"The provided resource group name '{name}' has these invalid trailing characters: '.'. The name can not "
            "end with characters: '.'.",
            "InvalidResourceGroup",
        )
    return None


RESOURCE_GROUP = NameRule(_group_error)


def word_name_rule(max_length: int) -> NameRule:
    """The rule of the Microsoft.Network resource provider (and others): up to ``max_length`` word
    characters, '.', '-' and '_', beginning with a word character and ending with a word
    character or '_'. Error ``InvalidResourceName``, in Azure's words."""
    pattern = re.compile(rf"\w(?:[\w.-]{{0,{max_length - 2}}}\w)?")

    def error(name: str) -> BadRequest | None:
        if pattern.fullmatch(name):
            return None
        return BadRequest(
            f"Resource name {name} is invalid. The name can be up to {max_length} characters long. It must begin "
            "with a word character, and it must end with a word character or with '_'. The name may contain word "
            "characters or '.', '-', '_'.",
            "InvalidResourceName",
        )

    return NameRule(error)
