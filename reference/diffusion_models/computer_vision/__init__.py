"""Part 2.3: class-conditional image generation with classifier-free guidance.

ImageGenerator     the DDPM over a labelled image dataset (task 2.3.1 builds its model)
load_digits        scikit-learn's bundled 8x8 digits (offline)
load_cifar10       CIFAR-10's python-pickle files, from a folder or torchvision's download
augment            data augmentation by transformed copies ("hflip", "translate")
plot_image         a labelled grid of images
"""

from .augment import AUGMENTATIONS, augment
from .datasets import LabelledImages, load_cifar10, load_digits, read_cifar10_folder, select_classes
from .image_gen import ImageGenerator, images_to_tensor, tensor_to_images
from .plotting import plot_image

__all__ = [
    "AUGMENTATIONS",
    "ImageGenerator",
    "LabelledImages",
    "augment",
    "images_to_tensor",
    "load_cifar10",
    "load_digits",
    "plot_image",
    "read_cifar10_folder",
    "select_classes",
    "tensor_to_images",
]
