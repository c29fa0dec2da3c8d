import math

import pytest
import torch

from i2i.metrics import pixel


def test_psnr_and_l1_on_known_errors():
    x = torch.zeros(2, 3, 8, 8)
    y = x + 0.2  # 0.1 in [0, 1] units
    assert pixel.l1(x, y).tolist() == pytest.approx([0.1, 0.1])
    assert pixel.psnr(x, y).tolist() == pytest.approx([20.0, 20.0])
    assert float(pixel.psnr(x, x)[0]) == pytest.approx(100.0)


def test_ssim_is_one_for_identical_images_and_the_closed_form_for_flat_ones():
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    assert pixel.ssim(x, x).tolist() == pytest.approx([1.0, 1.0])
    a, b = 0.2, 0.6  # flat images: no variance, SSIM reduces to the luminance term
    flat = lambda v: torch.full((1, 1, 16, 16), v * 2 - 1)
    c1 = 0.01 ** 2
    assert float(pixel.ssim(flat(a), flat(b))) == pytest.approx((2 * a * b + c1) / (a * a + b * b + c1))
    noisy = (x + 0.3 * torch.randn_like(x)).clamp(-1, 1)
    s = pixel.ssim(x, noisy)
    assert (s < 0.95).all() and torch.allclose(s, pixel.ssim(noisy, x))
    assert not math.isnan(float(s[0]))
