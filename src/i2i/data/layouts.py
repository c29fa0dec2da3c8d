"""Public dataset layouts: find image files and labels on disk; images.py decodes them.

Single-domain datasets (CelebA, DomainFolders) yield {"image": float 3 x H x W in [-1, 1], "label": ...};
two-domain ones (Paired, Unpaired) yield {"A": ..., "B": ...}, both float 3 x H x W in [-1, 1].
"""
from __future__ import annotations

import difflib
import random
from pathlib import Path

import torch

from ..errors import I2IError
from . import images as im

EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}
CELEBA_ATTR_FILE = "list_attr_celeba.txt"
CELEBA_IMAGE_DIRS = ("images", "img_align_celeba")


class _ImageList(torch.utils.data.Dataset):
    """Image path(i) with labels[i]; subclasses set labels, files (or path) and `transform`."""

    labels: torch.Tensor

    def __init__(self, skip_bad: bool = False):
        self.skip_bad = skip_bad
        self._bad: set[int] = set()  # per process: DataLoader workers each keep their own

    @property
    def skipped(self) -> int:
        return len(self._bad)

    def __len__(self) -> int:
        return len(self.labels)

    def path(self, i: int) -> Path:
        return self.files[i]

    def __getitem__(self, i) -> dict:
        n = len(self)
        i = int(i)
        if not -n <= i < n:
            raise IndexError(f"index {i} out of range for {n} images")
        i %= n
        for k in range(n):
            j = (i + k) % n
            if j in self._bad:
                continue
            try:
                img = im.to_tensor(im.load_image(self.path(j)))
            except I2IError:
                if not self.skip_bad:
                    raise
                self._bad.add(j)
                continue
            return {"image": self.transform(img), "label": self.labels[j].clone()}
        raise I2IError(f"none of the {n} images of {self.root} could be read; check the dataset files")

    def transform(self, t: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


def _need_dir(root, what: str) -> Path:
    if not str(root):
        raise I2IError(f"{what} needs a path, e.g. {what}:/data/my_dataset")
    root = Path(root).expanduser()
    if not root.exists():
        raise I2IError(f"dataset folder {root} does not exist; check the path")
    return root


class CelebA(_ImageList):
    """CelebA layout: list_attr_celeba.txt plus an images/ (or img_align_celeba/) folder.

    The split is StarGAN's: data lines shuffled with random.Random(seed), the first `test_size` are test.
    Transforms as StarGAN: (train) random horizontal flip, centre crop `crop`, resize to `image_size`.
    """

    def __init__(self, root, attr_file=None, attributes=("Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young"),
                 split: str = "train", crop: int | None = 178, image_size: int = 128, flip: bool = True,
                 test_size: int = 1999, seed: int = 1234, skip_bad: bool = False):
        super().__init__(skip_bad)
        if split not in ("train", "test", "all"):
            raise I2IError(f"CelebA split must be 'train', 'test' or 'all', got {split!r}")
        root = _need_dir(root, "celeba")
        if root.is_file() and attr_file is None:  # celeba:/data/list_attr_celeba.txt
            root, attr_file = root.parent, root
        attr_file = Path(attr_file).expanduser() if attr_file else root / CELEBA_ATTR_FILE
        if not attr_file.is_file():
            raise I2IError(f"attribute file {attr_file} not found; put {CELEBA_ATTR_FILE} (text format, not the "
                           "Kaggle .csv) in the dataset folder or pass attr_file")
        self.root = self.image_dir = _celeba_image_dir(root, attr_file)
        self.attributes = list(attributes)
        if not self.attributes:
            raise I2IError("CelebA needs at least one attribute, e.g. attributes=['Male']")
        names, labels = _read_attr_file(attr_file, self.attributes)
        order = list(range(len(names)))
        random.Random(seed).shuffle(order)  # same permutation as StarGAN's random.seed(1234); random.shuffle(lines)
        order = order[:test_size] if split == "test" else order[test_size:] if split == "train" else order
        if not order:
            raise I2IError(f"CelebA split {split!r} of {attr_file} is empty (test_size={test_size}); "
                           "use a smaller test_size or a larger attribute file")
        self.names = [names[i] for i in order]  # file names; Paths are built on access (200k Paths cost seconds)
        self.labels = torch.tensor([labels[i] for i in order], dtype=torch.float32).reshape(len(order), -1)
        self.split, self.crop, self.image_size = split, crop, int(image_size)
        self.flip = flip and split == "train"

    def path(self, i: int) -> Path:
        return self.image_dir / self.names[i]

    @property
    def files(self) -> list[Path]:
        return [self.image_dir / n for n in self.names]

    def transform(self, t: torch.Tensor) -> torch.Tensor:
        if self.flip:
            t = im.random_flip(t)
        if self.crop:
            t = im.center_crop(t, self.crop)
        return im.center_crop(im.resize(t, self.image_size), self.image_size)


def _celeba_image_dir(root: Path, attr_file: Path) -> Path:
    for base in dict.fromkeys((root, attr_file.parent)):
        for name in CELEBA_IMAGE_DIRS:
            d = base / name
            if (d / name).is_dir():  # the Kaggle zip nests img_align_celeba/img_align_celeba
                d = d / name
            if d.is_dir():
                return d
    if root.is_dir() and root != attr_file.parent:  # explicit attr_file: root may be the image folder itself
        return root
    raise I2IError(f"no image folder in {root}; expected {root / 'images'} or {root / 'img_align_celeba'}")


def _read_attr_file(path: Path, attributes: list[str]) -> tuple[list[str], list[list[float]]]:
    """File names and 0/1 values of `attributes`, per data line in file order."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise I2IError(f"cannot read attribute file {path}: {e}") from None
    if len(lines) < 2 or not lines[0].strip().isdigit():
        raise I2IError(f"{path} is not in {CELEBA_ATTR_FILE} format (line 1: image count, line 2: attribute names)")
    header = lines[1].split()
    cols = [_attr_index(a, header, path) + 1 for a in attributes]
    value = {"1": 1.0, "-1": 0.0, "0": 0.0}
    names, labels = [], []
    for no, line in enumerate(lines[2:], start=3):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != len(header) + 1:
            raise I2IError(f"{path} line {no}: {len(parts)} columns, expected {len(header) + 1} "
                           f"(file name + {len(header)} attributes); fix or remove the line")
        try:
            labels.append([value[parts[c]] for c in cols])
        except KeyError:
            c = next(c for c in cols if parts[c] not in value)
            raise I2IError(f"{path} line {no}: value {parts[c]!r} for {header[c - 1]} is not 1, -1 or 0; "
                           "fix the file") from None
        names.append(parts[0])
    if int(lines[0]) != len(names):
        raise I2IError(f"{path}: line 1 says {int(lines[0])} images but {len(names)} are listed; the file may be "
                       "truncated (re-download it) or line 1 needs updating")
    return names, labels


def _attr_index(name: str, names: list[str], path: Path) -> int:
    if name in names:
        return names.index(name)
    close = difflib.get_close_matches(name, names, n=3) or names[:5]
    raise I2IError(f"unknown attribute {name!r} in {path}; did you mean {', '.join(close)}? "
                   f"({len(names)} available)")


class DomainFolders(_ImageList):
    """root/<domain>/<images>, or root/<split>/<domain>/<images> with split='train'/'val'.

    Labels are domain indices (long) in sorted domain-name order. Images are searched recursively.
    Transforms: optional centre crop `crop`; with probability `rand_crop` StarGAN v2's random resized
    crop (scale 0.8-1.0, aspect 0.9-1.1); shorter side to `image_size`, centre crop to a square;
    then, if `flip`, a random horizontal flip. Randomness comes from torch's global RNG, as the flip's
    (DataLoader workers seed it per worker; the trainer checkpoints it).
    """

    def __init__(self, root, image_size: int = 256, split: str | None = None, crop: int | None = None,
                 flip: bool = True, domains=None, rand_crop: float = 0.0, skip_bad: bool = False):
        super().__init__(skip_bad)
        base = _need_dir(root, "folders")
        if not base.is_dir():
            raise I2IError(f"{base} is not a folder; folders:PATH needs root/<domain>/<images>")
        if split is not None:
            base = base / split
            if not base.is_dir():
                raise I2IError(f"no {split!r} folder in {root}; expected {base}/<domain>/<images>")
        found = _subdirs(base)
        if split is None and found and set(found) <= {"train", "val", "test"}:
            raise I2IError(f"{base} holds {'/'.join(found)} folders; pass split='train' or split='val'")
        if not found:
            raise I2IError(f"no domain folders in {base}; expected {base}/<domain>/<images>")
        if split in ("train", "val"):
            _check_sibling(Path(root).expanduser(), split, found)
        if domains is not None:
            missing = [d for d in domains if d not in found]
            if missing:
                raise I2IError(f"domain folder(s) {missing} not in {base}; found {found}")
            found = sorted(domains)
        self.root, self.domains, self.split = base, found, split
        self.files, labels = [], []
        for k, d in enumerate(self.domains):
            files = list_images(base / d)
            if not files:
                raise I2IError(f"domain folder {base / d} has no images ({', '.join(sorted(EXTENSIONS))}); "
                               "add images or remove the folder")
            self.files += files
            labels += [k] * len(files)
        self.labels = torch.tensor(labels, dtype=torch.long)
        self.image_size, self.crop, self.flip, self.rand_crop = int(image_size), crop, flip, rand_crop

    @property
    def targets(self) -> list[int]:
        """Domain index of every item, without reading images (for class-balanced sampling)."""
        return self.labels.tolist()

    def transform(self, t: torch.Tensor) -> torch.Tensor:
        if self.crop:
            t = im.center_crop(t, self.crop)
        # the coin is tossed here, not via random_resized_crop(p=), whose miss branch would squash
        # non-square images instead of centre-cropping them
        if self.rand_crop > 0 and torch.rand(()).item() < self.rand_crop:
            t = im.random_resized_crop(t, self.image_size, scale=(0.8, 1.0), ratio=(0.9, 1.1))
        t = im.center_crop(im.resize(t, self.image_size), self.image_size)
        return im.random_flip(t) if self.flip else t


def _subdirs(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))


def _check_sibling(root: Path, split: str, found: list[str]) -> None:
    other = root / ("val" if split == "train" else "train")
    if other.is_dir():
        theirs = _subdirs(other)
        if theirs != found:
            raise I2IError(f"domain folders differ between {root / split} {found} and {other} {theirs}; "
                           "use the same domain names in both")


def list_images(folder: Path) -> list[Path]:
    """Image files under `folder` (recursive, sorted), hidden files and folders skipped."""
    out = []
    for p in folder.rglob("*"):
        rel = p.relative_to(folder).parts
        if p.suffix.lower() in EXTENSIONS and not any(s.startswith(".") for s in rel) and p.is_file():
            out.append(p)
    return sorted(out)


# ---- two-domain layouts (pix2pix / CycleGAN) -------------------------------------------------------

def default_load_size(image_size: int) -> int:
    """pix2pix/CycleGAN's load size for a crop size: 286 for 256."""
    return int(round(image_size * 286 / 256))


class _TwoDomain(torch.utils.data.Dataset):
    """Shared transforms of Paired and Unpaired, as junyanz's 'resize_and_crop' preprocessing.

    Training (`train=True`): resize to load_size x load_size (aspect not kept, as junyanz), a random
    image_size crop, then (if `flip`) a random horizontal flip. Test: resize straight to
    image_size x image_size (deterministic; the same squash as training, without the crop).
    Randomness comes from torch's global RNG (DataLoader workers seed it per worker).
    """

    domains = ["A", "B"]
    paired: bool
    channels = 3

    def __init__(self, image_size: int, load_size: int | None, train: bool, flip: bool, skip_bad: bool):
        self.image_size = int(image_size)
        self.load_size = int(load_size) if load_size else default_load_size(self.image_size)
        if self.image_size < 1 or self.load_size < self.image_size:
            raise I2IError(f"load_size {self.load_size} must be >= image_size {self.image_size} >= 1")
        self.domains = list(self.domains)
        self.train, self.flip, self.skip_bad = bool(train), bool(flip) and bool(train), skip_bad
        self._bad: set = set()  # per process: DataLoader workers each keep their own

    @property
    def skipped(self) -> int:
        return len(self._bad)

    def get_params(self) -> tuple[int, int, bool]:
        """Crop corner and flip for one item, shared by A and B of a pair (junyanz get_params)."""
        if not self.train:
            return 0, 0, False
        room = self.load_size - self.image_size
        top = int(torch.randint(room + 1, ()))
        left = int(torch.randint(room + 1, ()))
        return top, left, self.flip and torch.rand(()).item() < 0.5

    def transform(self, t: torch.Tensor, params: tuple[int, int, bool]) -> torch.Tensor:
        if not self.train:
            return im.resize_exact(t, self.image_size)
        top, left, flip = params
        t = im.resize_exact(t, self.load_size)[..., top:top + self.image_size, left:left + self.image_size]
        return im.hflip(t) if flip else t

    def _load(self, key, path: Path) -> torch.Tensor | None:
        """The decoded image, or None (remembering `key`) when it is bad and skip_bad is on."""
        try:
            return im.to_tensor(im.load_image(path))
        except I2IError:
            if not self.skip_bad:
                raise
            self._bad.add(key)
            return None


def _split_dir(root, split: str, what: str, expect: str) -> tuple[Path, Path]:
    base = _need_dir(root, what)
    if not base.is_dir():
        raise I2IError(f"{base} is not a folder; {what}:PATH needs {expect}")
    return base, base / split


def _folder_names(path: Path) -> str:
    names = _subdirs(path)
    return ", ".join(names[:8]) + (", ..." if len(names) > 8 else "") if names else "no folders"


class Unpaired(_TwoDomain):
    """CycleGAN's unaligned layout: root/trainA, root/trainB (root/testA, root/testB for split='test').

    Length max(len A, len B). Item i: A = A_files[i % nA]; B = a random B file (torch's global RNG,
    as junyanz's serial_batches=False) when training, B_files[i % nB] otherwise. Bad images raise
    I2IError naming the file, or with `skip_bad` are skipped (the next file of that domain is used).
    """

    paired = False

    def __init__(self, root, image_size: int = 256, split: str = "train", *, load_size: int | None = None,
                 train: bool = True, flip: bool = True, skip_bad: bool = False):
        super().__init__(image_size, load_size, train, flip, skip_bad)
        if split not in ("train", "test"):
            raise I2IError(f"unpaired split must be 'train' or 'test', got {split!r}")
        base, _ = _split_dir(root, split, "unpaired", "root/trainA and root/trainB")
        dirs = [base / f"{split}A", base / f"{split}B"]
        missing = [d.name for d in dirs if not d.is_dir()]
        if missing:
            raise I2IError(f"no {' or '.join(missing)} folder in {base} (found: {_folder_names(base)}); "
                           f"unpaired:PATH expects {dirs[0].name}/ and {dirs[1].name}/ image folders"
                           f"{_other_layout(base)}")
        self.root, self.split = base, split
        self.files_A, self.files_B = (list_images(d) for d in dirs)
        for d, files in zip(dirs, (self.files_A, self.files_B)):
            if not files:
                raise I2IError(f"{d} has no images ({', '.join(sorted(EXTENSIONS))}); add images to it")

    def __len__(self) -> int:
        return max(len(self.files_A), len(self.files_B))

    def _first_good(self, domain: str, files: list[Path], start: int) -> torch.Tensor:
        n = len(files)
        for k in range(n):
            j = (start + k) % n
            if (domain, j) in self._bad:
                continue
            t = self._load((domain, j), files[j])
            if t is not None:
                return t
        raise I2IError(f"none of the {n} images of {self.root / (self.split + domain)} could be read; "
                       "check the dataset files")

    def __getitem__(self, i) -> dict:
        n = len(self)
        i = int(i)
        if not -n <= i < n:
            raise IndexError(f"index {i} out of range for {n} images")
        i %= n
        nb = len(self.files_B)
        j = int(torch.randint(nb, ())) if self.train else i % nb
        a = self._first_good("A", self.files_A, i % len(self.files_A))
        b = self._first_good("B", self.files_B, j)
        return {"A": self.transform(a, self.get_params()), "B": self.transform(b, self.get_params())}


class Paired(_TwoDomain):
    """pix2pix's aligned layout: root/<split>/*.jpg with A and B side by side (A the left half, split
    at width // 2), or two aligned folders root/<split>/A and root/<split>/B holding the same file
    names (extensions may differ). split: 'train', 'test' or 'val'.

    The same crop and flip are applied to A and B. A bad image raises I2IError naming the file, or
    with `skip_bad` its pair is skipped (the next pair is used).
    """

    paired = True

    def __init__(self, root, image_size: int = 256, split: str = "train", *, load_size: int | None = None,
                 train: bool = True, flip: bool = True, skip_bad: bool = False):
        super().__init__(image_size, load_size, train, flip, skip_bad)
        if split not in ("train", "test", "val"):
            raise I2IError(f"paired split must be 'train', 'test' or 'val', got {split!r}")
        expect = f"root/{split}/*.jpg (A|B side by side) or root/{split}/A and root/{split}/B"
        base, d = _split_dir(root, split, "paired", expect)
        if not d.is_dir():
            hint = f"; for trainA/trainB folders use unpaired:{base}" if (base / f"{split}A").is_dir() else ""
            raise I2IError(f"no {split!r} folder in {base} (found: {_folder_names(base)}); paired:PATH expects "
                           f"{expect}{hint}")
        self.root, self.split = d, split
        ab = [(d / x).is_dir() for x in "AB"]
        if any(ab):
            if not all(ab):
                raise I2IError(f"{d / 'AB'[ab.index(False)]} does not exist but {d / 'AB'[ab.index(True)]} does; "
                               "aligned folders need both A/ and B/ with the same file names")
            self.side_by_side = False
            self.files_A, self.files_B = _aligned(d / "A", d / "B")
            self.files = self.files_A
        else:
            self.side_by_side = True
            if _subdirs(d) and not any(p.suffix.lower() in EXTENSIONS for p in d.iterdir() if p.is_file()):
                raise I2IError(f"{d} holds folders ({_folder_names(d)}) but no images; paired:PATH expects "
                               f"{expect}; for {base}/{split}/<domain>/<images> trees use folders:{base}")
            self.files = list_images(d)
            if not self.files:
                raise I2IError(f"{d} has no images ({', '.join(sorted(EXTENSIONS))}) and no A/ and B/ folders; "
                               f"paired:PATH expects {expect}")
            self.files_A = self.files_B = self.files

    def __len__(self) -> int:
        return len(self.files)

    def _pair(self, j: int) -> tuple[torch.Tensor, torch.Tensor] | None:
        if not self.side_by_side:
            a = self._load(j, self.files_A[j])
            b = self._load(j, self.files_B[j]) if a is not None else None
            return None if b is None else (a, b)
        ab = self._load(j, self.files[j])
        if ab is None:
            return None
        w = ab.shape[-1]
        if w < 2:
            err = I2IError(f"image {self.files[j]} is {w} px wide; side-by-side A|B images need width >= 2")
            if not self.skip_bad:
                raise err
            self._bad.add(j)
            return None
        return ab[..., :w // 2], ab[..., w // 2:]

    def __getitem__(self, i) -> dict:
        n = len(self)
        i = int(i)
        if not -n <= i < n:
            raise IndexError(f"index {i} out of range for {n} images")
        i %= n
        for k in range(n):
            j = (i + k) % n
            if j in self._bad:
                continue
            pair = self._pair(j)
            if pair is not None:
                params = self.get_params()  # one draw for both halves
                return {"A": self.transform(pair[0], params), "B": self.transform(pair[1], params)}
        raise I2IError(f"none of the {n} image pairs of {self.root} could be read; check the dataset files")


def _other_layout(base: Path) -> str:
    """A hint naming the spec for a tree that is not CycleGAN's trainA/trainB layout."""
    for split in ("train", "test", "val"):
        d = base / split
        if d.is_dir():
            if ((d / "A").is_dir() and (d / "B").is_dir()) or any(
                    p.suffix.lower() in EXTENSIONS for p in d.iterdir() if p.is_file()):
                return f"; {d} looks like an aligned pix2pix tree: use paired:{base}"
            return f"; {d} looks like a domain-folder tree: use folders:{base}"
    if _subdirs(base):
        return f"; for {base}/<domain>/<images> trees use folders:{base}"
    return ""


def _aligned(dir_a: Path, dir_b: Path) -> tuple[list[Path], list[Path]]:
    """Files of A and B matched by path relative to their folder, extension ignored."""
    def by_name(folder: Path) -> dict[str, Path]:
        out: dict[str, Path] = {}
        for p in list_images(folder):
            key = p.relative_to(folder).with_suffix("").as_posix()
            if key in out:
                raise I2IError(f"{out[key]} and {p} have the same name; aligned folders need one file per name")
            out[key] = p
        return out
    a, b = by_name(dir_a), by_name(dir_b)
    if not a and not b:
        raise I2IError(f"{dir_a} and {dir_b} have no images ({', '.join(sorted(EXTENSIONS))}); add the pairs")
    for src, dst, other in ((a, b, dir_b), (b, a, dir_a)):
        lone = sorted(set(src) - set(dst))
        if lone:
            more = f" (and {len(lone) - 1} more)" if len(lone) > 1 else ""
            raise I2IError(f"{src[lone[0]]} has no partner: no {other / lone[0]}.<ext> image{more}; "
                           "aligned A/B folders need the same file names")
    keys = sorted(a)
    return [a[k] for k in keys], [b[k] for k in keys]


# spec prefix -> factory(path, **kw); path is "" when the spec has none. Others may register more.
LAYOUTS = {"celeba": CelebA, "folders": DomainFolders, "paired": Paired, "unpaired": Unpaired}


def open_dataset(spec: str, **kw):
    """'celeba:PATH' -> CelebA, 'folders:PATH' -> DomainFolders, 'paired:PATH' -> Paired,
    'unpaired:PATH' -> Unpaired, or any prefix registered in LAYOUTS."""
    kind, _, path = spec.partition(":")
    if kind not in LAYOUTS:
        raise I2IError(f"unknown data spec {spec!r}; the prefix must be one of: {', '.join(sorted(LAYOUTS))} "
                       "(e.g. celeba:/data/celeba, folders:/data/afhq, paired:/data/facades, "
                       "unpaired:/data/horse2zebra)")
    return LAYOUTS[kind](path, **kw)
