"""i2i: GAN image-to-image translation and generation."""

__version__ = "0.1.0"
