"""Weight initialisation schemes."""
from torch import nn


def he_init(module: nn.Module) -> None:
    """Kaiming normal (fan in, ReLU gain) weights and zero biases on convs and linears."""
    if isinstance(module, (nn.Conv2d, nn.Linear)):
        nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
        if module.bias is not None:
            nn.init.zeros_(module.bias)


def normal_init(module: nn.Module, gain: float = 0.02) -> None:
    """Pix2Pix/CycleGAN's 'normal' init (junyanz ``init_weights``), for ``net.apply``: conv,
    transposed-conv and linear weights N(0, gain); BatchNorm2d weights N(1, gain); biases zero."""
    if isinstance(module, (nn.modules.conv._ConvNd, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, gain)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d) and module.weight is not None:
        nn.init.normal_(module.weight, 1.0, gain)
        nn.init.zeros_(module.bias)
