"""Weight initialisation schemes."""
from torch import nn


def he_init(module: nn.Module) -> None:
    """Kaiming normal (fan in, ReLU gain) weights and zero biases on convs and linears."""
    if isinstance(module, (nn.Conv2d, nn.Linear)):
        nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
        if module.bias is not None:
            nn.init.zeros_(module.bias)
