"""The conformance kit: the checks every waferopt optimizer and scheduler passes.

One battery for every family and every third-party plugin (the shape of torch's
``OptimizerInfo`` tables and optax's shared ``_common_test.py``): describe a class
with a few constructor configurations in an :class:`OptimizerInfo` or a
:class:`SchedulerInfo`, and the kit checks the contracts of ``waferopt.core``.

Optimizer checks (each configuration):

* **static step** -- every state tensor exists after construction; ``step()`` adds
  no state key and keeps every state tensor's storage, shape and dtype; parameters
  without a gradient are skipped (value and state untouched); ``step(closure)``
  calls the closure once and returns its loss;
* **bitwise resume** -- ``state_dict()`` through ``torch.save``/``torch.load`` into a
  fresh instance continues on exactly the same trajectory, loading into the
  existing storages;
* **tensor hyperparameters** -- ``lr`` and ``weight_decay`` held as 0-d tensors (as
  schedulers write them), changed in place mid-run, give the trajectory of the
  same values held as floats;
* **global step** -- with ``enable_global_step`` (when the class takes it, or keeps
  a ``step`` state of its own) a 0-d float32 counter per parameter counts steps;
* **parameter groups** -- several groups with their own hyperparameters match
  one optimizer per group, bitwise, and ``add_param_group`` creates the new
  parameters' state without touching the existing one;
* **error inputs** -- each :class:`ErrorInput` raises its exception, with a
  message matching its regex;
* **empty params** -- an empty parameter list raises ``ValueError`` saying so;
* **sparse gradient** -- a sparse gradient makes ``step()`` raise ``ValueError``
  naming it, and changes nothing (an optimizer that supports sparse gradients lists
  the check in ``known_failures``);
* **memory layouts** -- parameters held as non-contiguous tensors (transposed, and
  slices that skip elements), with gradients laid out as autograd lays them out,
  step as contiguous parameters with the same values do;
* **mismatched state dict** -- a state dict of another layout raises
  ``ValueError`` and leaves the optimizer exactly as it was;
* **no host sync** -- ``step()`` calls none of ``.item()``, ``bool(tensor)``,
  ``float(tensor)``, ``.tolist()``... (checked with a ``TorchFunctionMode``);
* **compiled step** (opt-out, marked ``compile``) -- ``torch.compile(opt.step,
  fullgraph=True)`` has no graph break, compiles once over several steps while a
  tensor ``lr`` changes, and matches the eager trajectory.

Scheduler checks (each configuration): the value after ``k`` steps equals that of
a fresh scheduler built with ``last_epoch=k-1`` and of one loaded from the state
dict (closed form); values are 0-d tensors written in place into tensor-valued
groups (same storage); ``param_group_tags`` restrict the groups written;
``state_dict`` round trip continues identically; no host sync; the eager step of a
schedule with a host form writes each group once, in place, and agrees with the traced
form; and an optimizer step plus a scheduler step compile once with ``fullgraph=True``.

Plain functions::

    from waferopt.core.testing import OptimizerInfo, ErrorInput, check_optimizer

    check_optimizer(OptimizerInfo(MyOpt, configs=[{"lr": 1e-2}, {"lr": 1e-2, "weight_decay": 0.1}],
                                  error_inputs=[ErrorInput({"lr": -1.0}, match="lr")]))

As pytest tests (one test per check and configuration)::

    # test_conformance.py
    from waferopt.core.testing import OptimizerInfo, SchedulerInfo, conformance_tests

    TestConformance = conformance_tests(
        optimizers=[OptimizerInfo(MyOpt, configs=[{"lr": 1e-2}])],
        schedulers=[SchedulerInfo(MyLR, configs=[{"total_iters": 10}])],
    )

Load the pytest plugin (it registers the ``compile`` marker and the
``--waferopt-skip-compile`` option) with ``-p waferopt.core.testing`` in your
``addopts``, or ``pytest_plugins = ["waferopt.core.testing"]`` in your root
``conftest.py``. Environment: ``WAFEROPT_SKIP_COMPILE=1`` skips the compiled
checks, ``WAFEROPT_TEST_DEVICE=cuda`` runs every check on another device.

The kit is a package: :mod:`.info` (the tables), :mod:`.optimizers` and
:mod:`.schedulers` (the checks), :mod:`.host_sync`, :mod:`.reference` (a minimal
optimizer written with the core contracts) and :mod:`.pytest_plugin`; every public
name is importable from ``waferopt.core.testing`` itself.

References:
    PyTorch, ``torch/testing/_internal/common_optimizers.py`` (``OptimizerInfo``).
"""

from __future__ import annotations

from .host_sync import no_host_sync
from .info import ErrorInput, NotApplicable, OptimizerInfo, SchedulerConfig, SchedulerInfo
from .optimizers import (
    OPTIMIZER_CHECKS,
    OPTIMIZER_CLASS_CHECKS,
    check_compiled_step,
    check_empty_params,
    check_error_inputs,
    check_global_step,
    check_memory_layouts,
    check_mismatched_state_dict,
    check_no_host_sync_step,
    check_optimizer,
    check_param_groups,
    check_sparse_gradient,
    check_state_dict_resume,
    check_static_step,
    check_tensor_hyperparams,
)
from .pytest_plugin import conformance_tests, pytest_addoption, pytest_configure
from .reference import ReferenceSGD
from .schedulers import (
    SCHEDULER_CHECKS,
    check_scheduler,
    check_scheduler_closed_form,
    check_scheduler_compiled_step,
    check_scheduler_eager_step,
    check_scheduler_error_inputs,
    check_scheduler_in_place,
    check_scheduler_no_host_sync,
    check_scheduler_state_dict,
    check_scheduler_tags,
)

__all__ = [
    "OPTIMIZER_CHECKS",
    "OPTIMIZER_CLASS_CHECKS",
    "SCHEDULER_CHECKS",
    "ErrorInput",
    "NotApplicable",
    "OptimizerInfo",
    "ReferenceSGD",
    "SchedulerConfig",
    "SchedulerInfo",
    "check_compiled_step",
    "check_empty_params",
    "check_error_inputs",
    "check_global_step",
    "check_memory_layouts",
    "check_mismatched_state_dict",
    "check_no_host_sync_step",
    "check_optimizer",
    "check_param_groups",
    "check_scheduler",
    "check_scheduler_closed_form",
    "check_scheduler_compiled_step",
    "check_scheduler_eager_step",
    "check_scheduler_error_inputs",
    "check_scheduler_in_place",
    "check_scheduler_no_host_sync",
    "check_scheduler_state_dict",
    "check_scheduler_tags",
    "check_sparse_gradient",
    "check_state_dict_resume",
    "check_static_step",
    "check_tensor_hyperparams",
    "conformance_tests",
    "no_host_sync",
    "pytest_addoption",
    "pytest_configure",
]
