"""What ARM handlers reach: the store, settings, the operation engine, the authorizer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from crossconnect.arm.settings import ArmSettings
from crossconnect.authz.enforcer import Authorizer
from crossconnect.identity.directory import Directory
from crossconnect.identity.tokens import TokenService
from crossconnect.store import Store

if TYPE_CHECKING:
    from crossconnect.arm.operations import OperationEngine


@dataclass
class ArmServices:
    store: Store
    settings: ArmSettings
    tokens: TokenService
    directory: Directory
    authorizer: Authorizer
    operations: OperationEngine
