"""An xdist scheduler that hands every worker its whole share at once, so it can probe it all."""

from __future__ import annotations

from xdist.scheduler import LoadScheduling


class UpfrontScheduling(LoadScheduling):  # type: ignore[misc]  # xdist ships no type hints
    """`--dist load`, but the initial distribution is the whole collection.

    xdist's load scheduler sends a quarter of each worker's share first and the rest
    in shrinking chunks; a worker can only probe what it has been sent, so each chunk
    holding a blackholed endpoint would cost another full timeout. Connectivity checks
    take about the same time once probed concurrently, so even contiguous shares
    balance well.
    """

    collection: list[str] | None

    def schedule(self) -> None:
        if self.collection is not None or not self._check_nodes_have_same_collection():
            super().schedule()
            return
        collection: list[str] = next(iter(self.node2collection.values()))
        self.collection = collection
        self.pending[:] = range(len(collection))
        if not collection:
            return
        nodes = self.nodes
        share, extra = divmod(len(self.pending), len(nodes))
        for index, node in enumerate(nodes):
            self._send_tests(node, share + (1 if index < extra else 0))
        for node in nodes:
            node.shutdown()
