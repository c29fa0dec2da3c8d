"""`python -m i2i ...`, the same as the `i2i` command; torchrun starts training this way:
torchrun --nproc_per_node=N -m i2i train ..."""
import sys

from .cli import main

sys.exit(main())
