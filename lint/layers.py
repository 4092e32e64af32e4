"""An import-linter contract for the layers of the running application, without its tests.

Test modules stand above every layer by nature: a test of `orders` builds a paid order with
the factories of `testing`, which create payments and actions. Listing them as exceptions
(`ignore_imports`) would hide real violations among a hundred lines of wildcards, so this
contract takes the test modules out of the graph and then checks the ordinary `layers`
contract over what remains: the code that runs in production.
"""

from __future__ import annotations

import copy

import grimp
from importlinter.contracts.layers import LayersContract
from importlinter.domain.contract import ContractCheck


def is_test_module(module: str) -> bool:
    parts = module.split(".")
    return "tests" in parts or parts[-1].startswith("test_") or parts[-1] == "conftest"


class ProductionLayersContract(LayersContract):
    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        graph = copy.deepcopy(graph)
        for module in [m for m in graph.modules if is_test_module(m)]:
            graph.remove_module(module)
        return super().check(graph, verbose)
