import torch

from i2i.nn.image_pool import ImagePool


def test_pool_returns_the_images_while_it_fills_then_mixes_old_and_new():
    pool = ImagePool(4, (1, 2, 2))
    first = torch.arange(4.0)[:, None, None, None].expand(4, 1, 2, 2)
    assert torch.equal(pool.query(first), first) and int(pool.count) == 4
    torch.manual_seed(0)
    new = (torch.arange(200.0) + 100)[:, None, None, None].expand(200, 1, 2, 2)
    out = pool.query(new)
    swapped = (out != new).flatten(1).any(1).float().mean()
    assert 0.4 < float(swapped) < 0.6  # each image swapped for a stored one with probability ½
    assert int(pool.count) == 4 and (pool.images >= 100).all()  # the stored ones are newer now


def test_size_zero_passes_through():
    x = torch.randn(3, 1, 2, 2)
    assert ImagePool(0, (1, 2, 2)).query(x) is x
