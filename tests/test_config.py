"""Numba options are set in one place."""

import pathlib
import re

import fastgmm
from fastgmm._config import FASTMATH_FLAGS

KERNEL_DIR = pathlib.Path(fastgmm.__file__).parent / "kernels"


def test_no_kernel_file_sets_fastmath_itself():
    offenders = [
        path.name for path in KERNEL_DIR.glob("*.py") if re.search(r"fastmath\s*=", path.read_text())
    ]
    assert offenders == []


def test_fastmath_keeps_infinities_and_nans():
    # log-sum-exp relies on -inf; approximate functions would cost accuracy.
    assert FASTMATH_FLAGS <= {"nsz", "arcp", "contract", "afn", "reassoc"}
    assert not FASTMATH_FLAGS & {"nnan", "ninf", "fast", "afn"}


def test_every_kernel_is_jitted_at_module_level():
    # A jit call inside a function would recompile on every call.
    for path in KERNEL_DIR.glob("*.py"):
        for line in path.read_text().splitlines():
            if re.search(r"\bnjit\(|\bjit\(", line):
                assert line.startswith("@"), f"{path.name}: {line.strip()}"


def test_cached_kernels_are_tied_to_all_kernel_sources():
    # numba's cache only checks each function's own file; fastgmm stamps the
    # cache with a digest of every kernel source and drops it on a mismatch.
    import hashlib

    from fastgmm import kernels

    sources = sorted(KERNEL_DIR.glob("*.py")) + [KERNEL_DIR.parent / "_config.py"]
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sources)).hexdigest()
    assert kernels._SOURCE_DIGEST == digest
    assert (kernels._kernel_cache_dir() / "fastgmm-kernels.sha256").read_text() == digest


def test_stale_kernels_are_dropped_from_numba_cache_dir(tmp_path):
    # With NUMBA_CACHE_DIR set, numba caches the kernels in a folder of its
    # own under it: the digest check must look there, where the walkers' own
    # caches are.
    import subprocess
    import sys

    script = (
        "from fastgmm import kernels\n"
        "from fastgmm.kernels._engine import _walk_lanes\n"
        "print(kernels._kernel_cache_dir())\n"
        "print(_walk_lanes._cache.cache_path)\n"
    )
    env = dict(__import__("os").environ, NUMBA_CACHE_DIR=str(tmp_path))

    def run():
        out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                             text=True, check=True)
        return [pathlib.Path(line) for line in out.stdout.split()]

    ours, numbas = run()
    assert ours == numbas and ours.parent == tmp_path
    stamp = ours / "fastgmm-kernels.sha256"
    digest = stamp.read_text()
    stale = ours / "_engine._walk_lanes-145.py311.nbi"
    stale.write_bytes(b"from an older kernel source")
    stamp.write_text("an older digest")
    run()
    assert not stale.exists()
    assert stamp.read_text() == digest


def test_kernels_without_python_wrapper_are_called_only_from_kernels():
    # Kernels compiled without a Python wrapper (JIT_OPTIONS) crash if Python
    # calls them: every kernel that Python code calls must keep its wrapper.
    # (Python may name them otherwise: tests read their compiled overloads.)
    import ast
    import importlib

    from numba.core.registry import CPUDispatcher

    package = KERNEL_DIR.parent
    python_sources = [
        path for path in list(package.rglob("*.py")) + list(package.parent.glob("*/*.py"))
        if KERNEL_DIR not in path.parents
    ]
    def jitted(node):
        # Test helpers compiled with @njit may call wrapperless kernels.
        return isinstance(node, ast.FunctionDef) and any(
            (decorator.func if isinstance(decorator, ast.Call) else decorator).id in ("njit", "jit")
            for decorator in node.decorator_list
            if isinstance(decorator, ast.Name)
            or (isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Name))
        )

    def python_calls(tree):
        # ast.walk, not descending into jitted functions.
        stack = [tree]
        while stack:
            node = stack.pop()
            if jitted(node):
                continue
            yield node
            stack.extend(ast.iter_child_nodes(node))

    named = set()
    for path in python_sources:
        for node in python_calls(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                function = node.func
                if isinstance(function, ast.Name):
                    named.add(function.id)
                elif isinstance(function, ast.Attribute):
                    named.add(function.attr)
    wrapperless = set()
    for path in KERNEL_DIR.glob("*.py"):
        if path.stem != "__init__":
            module = importlib.import_module(f"fastgmm.kernels.{path.stem}")
            wrapperless.update(
                name for name, value in vars(module).items()
                if isinstance(value, CPUDispatcher) and value.targetoptions.get("no_cpython_wrapper")
            )
    # The walkers too: the parallel driver calls them through their
    # addresses (_common._compiled_walker).
    assert {"_load_block", "_normalise_block", "_walk_lanes", "_walk_kmeans_lanes",
            "_exp", "_log"} <= wrapperless
    assert {"kmeans_pass", "_threads_for", "lane_count"} <= named
    assert named & wrapperless == set(), named & wrapperless


def test_kernels_use_no_builtin_min_or_max():
    # Each type of Python's min and max compiles numba's generic builtin
    # (0.1-0.3 s of a cold first fit each); the kernels use _larger and
    # _smaller, one select, with the same result.
    import ast

    offenders = []
    for path in KERNEL_DIR.glob("*.py"):
        for function in ast.walk(ast.parse(path.read_text())):
            if not isinstance(function, ast.FunctionDef):
                continue
            decorators = [d.func if isinstance(d, ast.Call) else d for d in function.decorator_list]
            if not any(isinstance(d, ast.Name) and d.id == "njit" for d in decorators):
                continue
            offenders += [
                f"{path.name}:{node.lineno}" for node in ast.walk(function)
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in ("min", "max")
            ]
    assert offenders == []
