"""World models for test fixtures: trained once per run, a fresh copy per test."""

from __future__ import annotations

from typing import Callable

from ..world import WorldModel, load_world_model


def world_model_factory(preset: str = "test", arch: str = "gpt2", seed: int = 0) -> Callable[[], WorldModel]:
    """A function returning a fresh copy of a world model, trained or loaded on its first call.

    Made for test fixtures: wrap the factory in a session-scoped fixture and call it in a
    function-scoped one, so the model is trained at most once per run and every test edits
    its own copy. Training uses ONE thread: test machines are shared (other jobs, pytest-xdist
    workers), a second thread gains little on the ``test`` preset's small matrices, and on an
    oversubscribed CPU two threads were measured 4 to 40 times slower per step than one::

        @pytest.fixture(scope="session")
        def world_factory():
            return world_model_factory("test", "gpt2")

        @pytest.fixture
        def world(world_factory):
            return world_factory()
    """
    def fresh() -> WorldModel:
        return load_world_model(preset, arch, seed, train_if_missing=True, progress=False, threads=1)

    return fresh
