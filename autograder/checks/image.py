"""Hidden checks of task 2.3.1 (ImageGenerator.__init__), and its group."""

from __future__ import annotations

from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from ..public import image as public
from ..public.core import Session, check
from ..public.judge import Failure, case_text, shape_text
from . import Group


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


GROUP = Group("image", public.CHECKS + (image_network,))
