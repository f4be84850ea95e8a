"""Hidden checks of task 2.3.1 (ImageGenerator.__init__), and its group."""

from __future__ import annotations

from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from ..public import image as public
from ..public.core import Session, check
from ..public.judge import Failure, case_text, fmt, shape_text
from . import Group, ordered


@st.composite
def class_choices(draw: st.DrawFn, dataset: str) -> list[Any] | None:
    """None (the dataset's default classes) or 1 to 5 distinct classes, by number or (CIFAR-10) by name."""
    _, names, _ = public.FORMATS[dataset]
    if draw(st.booleans()):
        return None
    chosen = draw(st.lists(st.integers(0, len(names) - 1), min_size=1, max_size=5, unique=True))
    if dataset == "cifar10" and draw(st.booleans()):
        return [names[k] for k in chosen]
    return chosen


@st.composite
def datasets(draw: st.DrawFn) -> tuple[str, list[Any] | None, int | None]:
    dataset = draw(st.sampled_from(sorted(public.FORMATS)))
    return (
        dataset,
        draw(class_choices(dataset)),
        draw(st.sampled_from([None, 4, 8, 12, 16])),
    )  # the U-Net halves H, W twice


@check(
    "2.3.1",
    "condition_dim = K + 1 for any class subset, and input_shape = (C, H, W) for CIFAR-10 (3, 32, 32) and resized images",
    points=3,
    hint=public.IMAGE_HINT,
    public=False,
    examples=4,
)
@given(choice=datasets(), seed=st.integers(0, 100))
@example(choice=("digits", [3, 7], None), seed=0)
@example(choice=("cifar10", None, None), seed=1)
@example(choice=("cifar10", ["cat", "ship", "truck", "frog"], 16), seed=2)
@example(choice=("digits", None, 12), seed=3)
def image_datasets(session: Session, choice: tuple[str, list[Any] | None, int | None], seed: int) -> None:
    dataset, classes, image_size = choice
    public.run_generator(session, dataset, classes, image_size, denoising_steps=5, p_uncond=0.2, seed=seed)


@check(
    "2.3.1",
    "the model's own network takes the training images with every label 0 ... K, the null token included",
    points=2,
    hint=public.IMAGE_HINT,
    public=False,
    examples=2,
)
@given(dataset=st.sampled_from(sorted(public.FORMATS)))
@example(dataset="digits")
@example(dataset="cifar10")
def image_network(session: Session, dataset: str) -> None:
    classes = [2, 5, 9] if dataset == "digits" else None  # labels 0 ... 3 either way: K + 1 = 4 rows
    out = session.call("image.network", dataset=dataset, classes=classes, seed=0)
    case: dict[str, Any] = {"dataset": dataset}
    if classes is not None:
        case["classes"] = "[" + ", ".join(map(str, classes)) + "]"
    num_classes = public.expected_classes(dataset, classes)
    shape = public.expected_shape(dataset, None)
    if out["raised"] is not None or out["error"] is not None:
        public.judge_shapes(out, shape, num_classes, case)  # a wrong shape explains it best
        raise Failure(
            f"the network of ImageGenerator.policy, called on a batch of {num_classes + 1} training images "
            f"{shape_text(out.get('input') or (num_classes + 1, *shape))} with labels 0 ... {num_classes}, raised "
            f"{out['raised'] or out['error']} ({case_text(case)})."
        )
    if out["output_shape"] != list(out["input"]):
        raise Failure(
            f"the network of ImageGenerator.policy returned shape {shape_text(out['output_shape'])} for images of "
            f"shape {shape_text(out['input'])} ({case_text(case)}): build it with input_shape = (C, H, W)."
        )
    public.judge_shapes(out, shape, num_classes, case)


@check(
    "2.3.1",
    "the constructor's denoising_steps, p_uncond, device, network and weights_path reach the DiffusionModel",
    points=1,
    hint=public.IMAGE_HINT,
    public=False,
    examples=2,
)
@given(denoising_steps=st.integers(2, 40), p_uncond=st.sampled_from([0.0, 0.15, 0.35, 1.0]))
@example(denoising_steps=7, p_uncond=0.35)
def image_arguments(session: Session, denoising_steps: int, p_uncond: float) -> None:
    out = session.call("image.arguments", denoising_steps=denoising_steps, p_uncond=p_uncond, seed=0)
    case = {"dataset": "digits", "denoising_steps": denoising_steps, "p_uncond": p_uncond}
    if out["raised"] is not None or not out["models"]:
        public.judge_shapes(out, public.expected_shape("digits", None), 10, case)
    record = out["models"][0]
    wanted = {
        "denoising_steps": denoising_steps,
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
                f"the constructor's {name} on, DiffusionModel(..., {name}={name})."
            )
    if out.get("second_raised") is not None or out.get("loaded_w") != 2.5:
        second = out.get("second_model") or {}
        raise Failure(
            f"a generator built with weights_path= a checkpoint saved by policy.save_weights did not load it "
            f"(its DiffusionModel got weights_path={_shown(second.get('weights_path'))}"
            f"{'; it raised ' + out['second_raised'] if out.get('second_raised') else ''}; {case_text(case)}): pass "
            "weights_path=weights_path on to DiffusionModel."
        )


def _shown(value: Any) -> str:
    if isinstance(value, str) and value.startswith("id"):
        return "another network"
    if value == "none":
        return "None"
    return repr(value)


GROUP = Group(
    name="image",
    tasks=("2.3.1",),
    checks=ordered(("2.3.1",), public.CHECKS + (image_datasets, image_network, image_arguments)),
)
