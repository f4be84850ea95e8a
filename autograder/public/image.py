"""Task 2.3.1 (ImageGenerator.__init__: input_shape, condition_dim, the model): probes and public checks.

The student's ImageGenerator runs on stand-ins, installed in its module while a probe runs and removed after:

- the dataset loaders (``image_gen.load_digits`` / ``load_cifar10``) return small random datasets in the
  real ones' formats: digits (N, 8, 8, 1) uint8 with classes "0" ... "9", CIFAR-10 (N, 32, 32, 3) uint8 with
  its ten class names. No file is read and no network is needed; class selection, resizing and the
  data loader are the kit's given code, running as usual.
- ``NoiseScheduler`` is an AffineScheduler, so a bug of task 2.1.1a cannot leak in.
- ``image_gen.DiffusionModel`` is a subclass of the student's DiffusionModel that records the arguments
  of each construction, so a wrong shape is reported as such even when building the model fails.

The model's network is a one-parameter stand-in (standins.ScalarNetwork) where the check is about the
arguments; the built-in U-Net is built (small, never trained) only to see that it takes labels 0 ... K.
"""

from __future__ import annotations

import contextlib
import inspect
import shutil
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from .core import Session, check
from .judge import Failure, case_text, fmt, shape_text, stand_in_schedule
from .probe import ProbeContext, probe

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
FORMATS = {  # dataset -> one image's (H, W, C), the class names, the classes kept by default (None: all)
    "digits": ((8, 8, 1), tuple(str(d) for d in range(10)), None),
    "cifar10": ((32, 32, 3), CIFAR10_CLASSES, ("airplane", "automobile", "bird")),
}


# ================================================================================= probes
def _plain(value: Any) -> Any:
    """A value the wire carries: ints, floats, bools, strings, lists of them; else a description."""
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if type(value).__name__ == "device":  # a torch.device
        return str(value)
    return {"type": type(value).__name__, "text": repr(value)[:80]}


def _stand_in_dataset(ctx: ProbeContext, name: str, per_class: int, seed: int) -> Any:
    shape, names, _ = FORMATS[name]
    labels = np.repeat(np.arange(len(names), dtype=np.int64), per_class)
    images = np.random.default_rng(seed).integers(0, 256, (len(labels), *shape), dtype=np.uint8)
    return ctx.module("computer_vision.datasets").LabelledImages(images, labels, names)


@contextlib.contextmanager
def stand_ins(ctx: ProbeContext, per_class: int, seed: int) -> Iterator[list[dict[str, Any]]]:
    """Install the stand-in datasets, scheduler and recording DiffusionModel; yield the recorded constructions."""
    from .standins import AffineScheduler

    image_gen = ctx.module("computer_vision.image_gen")
    model_module = ctx.module("diffusion_model")
    real_model = model_module.DiffusionModel
    signature = inspect.signature(real_model.__init__)
    records: list[dict[str, Any]] = []

    class RecordedModel(real_model):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            try:
                bound = signature.bind(self, *args, **kwargs)
                bound.apply_defaults()
                arguments = dict(bound.arguments)
                arguments.pop("self", None)
                network = arguments.pop("network", None)
                record = {name: _plain(value) for name, value in arguments.items()}
                record["network"] = "none" if network is None else f"id{id(network)}"
            except TypeError as err:
                record = {"bind_error": str(err)}
            records.append(record)
            super().__init__(*args, **kwargs)

    def scheduler_from(origin: str) -> Callable[..., Any]:
        """A NoiseScheduler stand-in factory whose schedules remember who built them."""

        def scheduler(
            num_steps: int, beta_start: float = 1e-4, beta_end: float = 0.02, device: Any = None
        ) -> Any:
            where = ctx.device if device is None else ctx.torch.device(device)
            built = AffineScheduler(
                stand_in_schedule(int(num_steps), float(beta_start), float(beta_end)), where
            )
            built.origin = origin
            return built

        return scheduler

    saved = {
        (image_gen, "load_digits"): image_gen.load_digits,
        (image_gen, "load_cifar10"): image_gen.load_cifar10,
        (image_gen, "NoiseScheduler"): image_gen.NoiseScheduler,
        (image_gen, "DiffusionModel"): image_gen.DiffusionModel,
        (model_module, "NoiseScheduler"): model_module.NoiseScheduler,
    }
    image_gen.load_digits = lambda *args, **kwargs: _stand_in_dataset(ctx, "digits", per_class, seed)
    image_gen.load_cifar10 = lambda *args, **kwargs: _stand_in_dataset(ctx, "cifar10", per_class, seed)
    image_gen.NoiseScheduler = scheduler_from("ImageGenerator")
    model_module.NoiseScheduler = scheduler_from("DiffusionModel's default")
    image_gen.DiffusionModel = RecordedModel
    try:
        yield records
    finally:
        for (module, name), value in saved.items():
            setattr(module, name, value)


def _error(err: BaseException) -> str:
    return f"{type(err).__name__}: {str(err)[:400]}"


def _build(ctx: ProbeContext, records: list[dict[str, Any]], **kwargs: Any) -> tuple[Any, str | None]:
    """ImageGenerator(**kwargs); an error after the model was recorded is returned (the shapes tell more),
    an earlier one (the stub's NotImplementedError) is raised."""
    before = len(records)
    try:
        return ctx.module("computer_vision.image_gen").ImageGenerator(**kwargs), None
    except Exception as err:
        if len(records) == before:
            raise
        return None, _error(err)


def _describe(ctx: ProbeContext, generator: Any, network: Any) -> dict[str, Any]:
    """What the judge reads of an ImageGenerator and its policy."""
    policy = getattr(generator, "policy", None)
    real_model = ctx.module("diffusion_model").DiffusionModel
    described = {
        "input_shape": _plain(getattr(generator, "input_shape", None)),
        "condition_dim": _plain(getattr(generator, "condition_dim", None)),
        "policy_type": type(policy).__name__,
        "is_model": isinstance(policy, real_model),
    }
    if isinstance(policy, real_model):
        described.update(
            policy_input_shape=_plain(getattr(policy, "input_shape", None)),
            policy_condition_dim=_plain(getattr(policy, "condition_dim", None)),
            sequential=_plain(getattr(policy, "sequential", None)),
            p_uncond=_plain(getattr(policy, "p_uncond", None)),
            device=str(getattr(policy, "device", "")),
            network_given=network is not None and getattr(policy, "noise_pred_net", None) is network,
            scheduler_origin=getattr(getattr(policy, "noise_scheduler", None), "origin", None),
        )
    return described


@probe("image.generator")
def generator_probe(
    ctx: ProbeContext,
    dataset: str,
    classes: list[Any] | None,
    image_size: int | None,
    denoising_steps: int,
    p_uncond: float,
    seed: int,
) -> dict[str, Any]:
    """ImageGenerator(dataset, ...) with a stand-in network: its input_shape, condition_dim and model."""
    from .standins import ScalarNetwork

    network = ScalarNetwork()
    with stand_ins(ctx, 3, seed) as records:
        generator, raised = _build(
            ctx,
            records,
            dataset=dataset,
            denoising_steps=int(denoising_steps),
            p_uncond=float(p_uncond),
            device=ctx.device,
            classes=classes,
            image_size=image_size,
            batch_size=4,
            network=network,
            seed=int(seed),
        )
    out: dict[str, Any] = {"models": records, "raised": raised}
    if generator is not None:
        out.update(_describe(ctx, generator, network))
    return out


@probe("image.network")
def network_probe(ctx: ProbeContext, dataset: str, classes: list[Any] | None, seed: int) -> dict[str, Any]:
    """ImageGenerator(dataset, classes) with the built-in network, called on K + 1 training images with
    labels 0 ... K: the output's shape, or the error it raised."""
    torch = ctx.torch
    image_gen = ctx.module("computer_vision.image_gen")
    with stand_ins(ctx, 2, seed) as records:
        generator, raised = _build(
            ctx,
            records,
            dataset=dataset,
            denoising_steps=4,
            device=ctx.device,
            classes=classes,
            batch_size=4,
            seed=seed,
        )
    out: dict[str, Any] = {"models": records, "raised": raised, "output_shape": None, "error": None}
    if generator is None:
        return out
    out.update(_describe(ctx, generator, None))
    num_labels = len(generator.class_ids) + 1
    x = image_gen.images_to_tensor(generator.data.images[:num_labels]).to(ctx.device)  # (K + 1, C, H, W)
    labels = torch.arange(num_labels, dtype=torch.int64, device=ctx.device)  # 0 (null) ... K
    t = torch.zeros(num_labels, dtype=torch.int64, device=ctx.device)
    out["input"] = list(x.shape)
    try:
        with torch.no_grad():
            y = generator.policy.noise_pred_net(x, t, labels)
        out["output_shape"] = list(y.shape)
    except Exception as err:  # the network is given code: what it rejects is what the judge explains
        out["error"] = _error(err)
    return out


@probe("image.arguments")
def arguments_probe(ctx: ProbeContext, denoising_steps: int, p_uncond: float, seed: int) -> dict[str, Any]:
    """Two digit generators: the first saves its weights (its network's w set to 2.5), the second is built
    with weights_path; what each DiffusionModel was given, and whether the weights arrived."""
    from .standins import ScalarNetwork

    folder = tempfile.mkdtemp(prefix="weights-")
    first, second = ScalarNetwork(), ScalarNetwork()
    try:
        with stand_ins(ctx, 2, seed) as records:
            common = {
                "dataset": "digits",
                "denoising_steps": int(denoising_steps),
                "p_uncond": float(p_uncond),
            }
            generator, raised = _build(ctx, records, **common, device=ctx.device, network=first, seed=seed)
            out: dict[str, Any] = {
                "models": list(records),
                "raised": raised,
                "network": f"id{id(first)}",
                "device_given": str(ctx.device),
            }
            if generator is None:
                return out
            out.update(_describe(ctx, generator, first))
            out["loaded_w"] = None
            if out.get("network_given"):
                with ctx.torch.no_grad():
                    first.w.fill_(2.5)
                path = f"{folder}/policy.pt"
                generator.policy.save_weights(path)
                again, raised_again = _build(
                    ctx, records, **common, device=ctx.device, network=second, weights_path=path, seed=seed
                )
                out["second_raised"] = raised_again
                out["second_model"] = records[-1] if len(records) > 1 else None
                out["path"] = path
                out["loaded_w"] = float(second.w.detach().cpu()) if again is not None else None
            return out
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# ================================================================================= helpers for the judge
def expected_shape(dataset: str, image_size: int | None) -> tuple[int, int, int]:
    """(C, H, W) of the dataset's images after resizing."""
    (height, width, channels), _, _ = FORMATS[dataset]
    if image_size is not None:
        height = width = image_size
    return channels, height, width


def expected_classes(dataset: str, classes: list[Any] | None) -> int:
    _, names, default = FORMATS[dataset]
    chosen = classes if classes is not None else default
    return len(names) if chosen is None else len(chosen)


def _as_shape(value: Any) -> tuple[int, ...] | None:
    if isinstance(value, list) and all(isinstance(v, int) for v in value):
        return tuple(value)
    return None


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return f"a {value.get('type')} ({value.get('text')})"
    shape = _as_shape(value)
    return shape_text(shape) if shape is not None else repr(value)


def judge_shapes(
    out: dict[str, Any], shape: tuple[int, int, int], classes: int, case: dict[str, Any]
) -> None:
    """input_shape = (C, H, W) and condition_dim = K + 1, in the ImageGenerator and the model it built."""
    channels, height, width = shape
    models = out["models"]
    recorded = models[0] if models and "bind_error" not in models[0] else {}
    got_shape = out.get("input_shape", recorded.get("input_shape"))
    got_dim = out.get("condition_dim", recorded.get("condition_dim"))
    mistakes_shape = {
        (height, width, channels): (
            "channels last",
            "self.data.images is (N, H, W, C) but the model takes (C, H, W), the layout of images_to_tensor",
        ),
        (height, width): ("no channel axis", "input_shape is (C, H, W), the channels included"),
        (channels, width, height): ("height and width swapped", "input_shape is (C, H, W)"),
    }
    if _as_shape(got_shape) != shape:
        named = ""
        if _as_shape(got_shape) in mistakes_shape:
            name, explanation = mistakes_shape[_as_shape(got_shape)]
            named = f" This matches a known mistake, {name}: {explanation}."
        raise Failure(
            f"ImageGenerator.input_shape is {_show(got_shape)}; expected (C, H, W) = {shape_text(shape)} for images of "
            f"{height}x{width} pixels with {channels} channel(s) ({case_text(case)}).{named}"
        )
    if got_dim != classes + 1:
        named = ""
        if got_dim == classes:
            named = (
                " This matches a known mistake, forgetting the null token: labels run 1 ... K and label 0 is "
                "the null token of classifier-free guidance, so condition_dim = K + 1."
            )
        elif isinstance(got_dim, int) and classes < 10 and got_dim in (10, 11):
            named = (
                " This matches a known mistake, a hard-coded number of classes: count the classes kept, "
                "len(self.class_ids), plus one for the null token."
            )
        raise Failure(
            f"ImageGenerator.condition_dim is {_show(got_dim)}; with K = {classes} classes it should be K + 1 = "
            f"{classes + 1} ({case_text(case)}).{named}"
        )
    if not models:
        raise Failure(
            f"ImageGenerator.__init__ never built a DiffusionModel ({case_text(case)}): self.policy must be a "
            "DiffusionModel of the generator's input shape and condition size, for class labels."
        )
    if out["raised"] is not None:
        raise Failure(
            f"ImageGenerator(...) raised {out['raised']} after building its DiffusionModel with "
            f"{_describe_record(recorded)} ({case_text(case)})."
        )
    if not out.get("is_model"):
        raise Failure(
            f"ImageGenerator.policy is a {out.get('policy_type')}; it must be the DiffusionModel built in __init__ "
            f"({case_text(case)})."
        )
    if out.get("sequential") is not False:
        raise Failure(
            f"ImageGenerator.policy has sequential={out.get('sequential')!r} ({case_text(case)}): images take the 2D "
            "U-Net and class labels, DiffusionModel(..., sequential=False)."
        )
    if _as_shape(out.get("policy_input_shape")) != shape or out.get("policy_condition_dim") != classes + 1:
        raise Failure(
            f"ImageGenerator.policy has input_shape {_show(out.get('policy_input_shape'))} and condition_dim "
            f"{_show(out.get('policy_condition_dim'))}; build it with self.input_shape = {shape_text(shape)} and "
            f"self.condition_dim = {classes + 1} ({case_text(case)})."
        )


def _describe_record(record: dict[str, Any]) -> str:
    keys = ("input_shape", "condition_dim", "sequential")
    return ", ".join(f"{key}={_show(record.get(key))}" for key in keys)


def run_generator(
    session: Session,
    dataset: str,
    classes: list[Any] | None,
    image_size: int | None,
    denoising_steps: int,
    p_uncond: float,
    seed: int,
) -> None:
    out = session.call(
        "image.generator",
        dataset=dataset,
        classes=classes,
        image_size=image_size,
        denoising_steps=denoising_steps,
        p_uncond=p_uncond,
        seed=seed,
    )
    case: dict[str, Any] = {"dataset": dataset}
    if classes is not None:
        case["classes"] = "[" + ", ".join(map(str, classes)) + "]"
    if image_size is not None:
        case["image_size"] = image_size
    judge_shapes(out, expected_shape(dataset, image_size), expected_classes(dataset, classes), case)


@st.composite
def class_choices(draw: st.DrawFn, dataset: str) -> list[Any] | None:
    """None (the dataset's default classes) or 1 to 5 distinct classes, by number or (CIFAR-10) by name."""
    _, names, _ = FORMATS[dataset]
    if draw(st.booleans()):
        return None
    chosen = draw(st.lists(st.integers(0, len(names) - 1), min_size=1, max_size=5, unique=True))
    if dataset == "cifar10" and draw(st.booleans()):
        return [names[k] for k in chosen]
    return chosen


@st.composite
def datasets(draw: st.DrawFn) -> tuple[str, list[Any] | None, int | None]:
    dataset = draw(st.sampled_from(sorted(FORMATS)))
    return (
        dataset,
        draw(class_choices(dataset)),
        draw(st.sampled_from([None, 4, 8, 12, 16])),
    )  # the U-Net halves H, W twice


def _shown(value: Any) -> str:
    if isinstance(value, str) and value.startswith("id"):
        return "another network"
    if value == "none":
        return "None"
    return repr(value)


# ================================================================================= public checks
IMAGE_HINT = (
    "The model's input shape is channels first, (C, H, W), read from the dataset's images (stored "
    "channels last); the condition has one slot per chosen class plus the null token 0, so condition_dim "
    "= K + 1 whatever K is; the image generator's model is a DiffusionModel built with those shapes and "
    "with every option the constructor was given passed on."
)


@check(
    "2.3.1",
    "digits: input_shape (1, 8, 8) = (C, H, W), condition_dim 11 (10 classes + the null token), and self.policy a "
    "DiffusionModel(sequential=False) of those shapes",
    points=4,
    hint=IMAGE_HINT,
    public=True,
    examples=2,
)
@given(denoising_steps=st.integers(1, 50), p_uncond=st.sampled_from([0.0, 0.1, 0.2, 0.5]))
@example(denoising_steps=10, p_uncond=0.2)
def image_digits(session: Session, denoising_steps: int, p_uncond: float) -> None:
    run_generator(session, "digits", None, None, denoising_steps, p_uncond, seed=0)


@check(
    "2.3.1",
    "condition_dim = K + 1 for any class subset, and input_shape = (C, H, W) for CIFAR-10 (3, 32, 32) and resized images",
    points=3,
    hint=IMAGE_HINT,
    public=True,
    examples=4,
)
@given(choice=datasets(), seed=st.integers(0, 100))
@example(choice=("digits", [3, 7], None), seed=0)
@example(choice=("cifar10", None, None), seed=1)
@example(choice=("cifar10", ["cat", "ship", "truck", "frog"], 16), seed=2)
@example(choice=("digits", None, 12), seed=3)
def image_datasets(session: Session, choice: tuple[str, list[Any] | None, int | None], seed: int) -> None:
    dataset, classes, image_size = choice
    run_generator(session, dataset, classes, image_size, denoising_steps=5, p_uncond=0.2, seed=seed)


@check(
    "2.3.1",
    "the noise_scheduler built for denoising_steps and the constructor's p_uncond, device, network and "
    "weights_path reach the DiffusionModel",
    points=1,
    hint=IMAGE_HINT,
    public=True,
    examples=2,
)
@given(denoising_steps=st.integers(2, 40), p_uncond=st.sampled_from([0.0, 0.15, 0.35, 1.0]))
@example(denoising_steps=7, p_uncond=0.35)
def image_arguments(session: Session, denoising_steps: int, p_uncond: float) -> None:
    out = session.call("image.arguments", denoising_steps=denoising_steps, p_uncond=p_uncond, seed=0)
    case = {"dataset": "digits", "denoising_steps": denoising_steps, "p_uncond": p_uncond}
    if out["raised"] is not None or not out["models"]:
        judge_shapes(out, expected_shape("digits", None), 10, case)
    record = out["models"][0]
    if out.get("scheduler_origin") != "ImageGenerator":
        raise Failure(
            f"ImageGenerator(denoising_steps={denoising_steps}) built its DiffusionModel without the "
            f"noise_scheduler the constructor builds (the model's schedule came from "
            f"{out.get('scheduler_origin') or 'elsewhere'}; {case_text(case)}): the schedule stretched to T "
            "steps exists only in that scheduler, so pass it on to the DiffusionModel."
        )
    wanted = {
        "p_uncond": p_uncond,
        "device": out["device_given"],
        "network": out["network"],
    }
    for name, value in wanted.items():
        got = record.get(name)
        same = got == value or (isinstance(got, int | float) and isinstance(value, float) and got == value)
        if not same:
            shown = {"network": "the network given", "device": f"device={value!r}"}.get(
                name, f"{name}={fmt(value)}"
            )
            raise Failure(
                f"ImageGenerator({shown}) built its DiffusionModel with {name}={_shown(got)} ({case_text(case)}): pass "
                f"the constructor's {name} on to the DiffusionModel."
            )
    if out.get("second_raised") is not None or out.get("loaded_w") != 2.5:
        second = out.get("second_model") or {}
        raise Failure(
            f"a generator built with weights_path= a checkpoint saved by policy.save_weights did not load it "
            f"(its DiffusionModel got weights_path={_shown(second.get('weights_path'))}"
            f"{'; it raised ' + out['second_raised'] if out.get('second_raised') else ''}; {case_text(case)}): pass "
            "weights_path=weights_path on to DiffusionModel."
        )


CHECKS = (image_digits, image_datasets, image_arguments)
