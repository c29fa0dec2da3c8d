"""StarGAN (Choi et al., CVPR 2018): one generator for many domains.

G(x, c) translates image x to target domain c (the label tiled over the image). D is a
PatchGAN critic with an auxiliary classifier D_cls. Objectives (paper eq. 5-6):
    L_D = −L_adv + λ_cls·L_cls^r                (L_adv as WGAN-GP)
    L_G =  L_adv + λ_cls·L_cls^f + λ_rec·L_rec  (L_rec = ‖x − G(G(x, c), c')‖₁)
Networks and defaults follow the official code (yunjey/stargan).

Joint training on several datasets (section 3.2): labels are [dataset 1's | dataset 2's | ...]
with the unknown part zero, and G's condition adds a one-hot mask vector naming the dataset whose
labels are known; D_cls is trained, and G judged, on that dataset's slice of the labels only.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .. import losses
from ..errors import I2IError
from ..nn.residual import ResidualBlock, norm_layer
from ..nn.inference import inference_copy
from .base import ByLabels, Classifies, DataInfo, ExportGraph, Method, frozen, linear_decay


@dataclass
class StarGANConfig:
    g_conv_dim: int = 64
    d_conv_dim: int = 64
    g_repeat_num: int = 6          # residual blocks in G
    d_repeat_num: int = 6          # strided convs in D (image_size / 2**repeat must be ≥ 1)
    lambda_cls: float = 1.0
    lambda_rec: float = 10.0
    lambda_gp: float = 10.0
    g_lr: float = 1e-4
    d_lr: float = 1e-4
    beta1: float = 0.5
    beta2: float = 0.999
    n_critic: int = 5              # D updates per G update
    decay_steps: int = 100_000     # linear decay to 0 over the last `decay_steps` iterations
    lr_update_step: int = 0        # 0: that decay every step (the paper); N: yunjey's code as written,
                                   # lr -= lr0 / decay_steps every N iterations (its N = 1000 ends the
                                   # run at 99.9% of lr0: a decay of 1/N of the intended one)
    warmup_steps: int = 0          # not in the paper (0 = official): first train G alone to
                                   # reconstruct x from its own label, so it starts near identity
    g_norm: str = "instance"       # official: instance; "batch" keeps absolute colour (see Generator)


class Generator(nn.Module):
    """Instance norm (official) normalises each channel of each image on its own. On images of flat
    colour that maps every channel to ±(object mask), so absolute colour and background level are
    lost; norm="batch" keeps them (batch statistics in training, running statistics at inference)."""

    def __init__(self, conv_dim=64, c_dim=5, repeat_num=6, norm="instance"):
        super().__init__()
        norm = norm_layer(norm)

        def down(cin, cout, k, s, p):
            return [nn.Conv2d(cin, cout, k, s, p, bias=False), norm(cout), nn.ReLU(inplace=True)]

        layers = down(3 + c_dim, conv_dim, 7, 1, 3)
        dim = conv_dim
        for _ in range(2):
            layers += down(dim, dim * 2, 4, 2, 1)
            dim *= 2
        layers += [ResidualBlock(dim, norm) for _ in range(repeat_num)]
        for _ in range(2):
            layers += [nn.ConvTranspose2d(dim, dim // 2, 4, 2, 1, bias=False), norm(dim // 2),
                       nn.ReLU(inplace=True)]
            dim //= 2
        layers += [nn.Conv2d(dim, 3, 7, 1, 3, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def forward(self, x, c):
        c = c.to(x.dtype)[:, :, None, None].expand(-1, -1, x.size(2), x.size(3))
        return self.main(torch.cat([x, c], dim=1))


class Discriminator(nn.Module):
    """PatchGAN critic D_src plus the domain classifier D_cls on a shared trunk."""

    def __init__(self, image_size=128, conv_dim=64, c_dim=5, repeat_num=6):
        super().__init__()
        k = image_size // 2 ** repeat_num
        if k < 1:
            raise ValueError(f"d_repeat_num={repeat_num} halves a {image_size}px image below 1px; use ≤ "
                             f"{image_size.bit_length() - 1}")
        layers = [nn.Conv2d(3, conv_dim, 4, 2, 1), nn.LeakyReLU(0.01)]
        dim = conv_dim
        for _ in range(1, repeat_num):
            layers += [nn.Conv2d(dim, dim * 2, 4, 2, 1), nn.LeakyReLU(0.01)]
            dim *= 2
        self.main = nn.Sequential(*layers)
        self.conv1 = nn.Conv2d(dim, 1, 3, 1, 1, bias=False)
        self.conv2 = nn.Conv2d(dim, c_dim, k, bias=False)

    def forward(self, x):
        h = self.main(x)
        return self.conv1(h), self.conv2(h).flatten(1)


class StarGAN(ByLabels, Classifies, Method):
    name = "stargan"
    Config = StarGANConfig
    fit = "crop"  # the official CelebA test path: CenterCrop(178) of the 178 x 218 photo, then Resize
    double_backward = ("D",)  # the gradient penalty
    inference_networks = ("G.", "D.")  # D's classifier reads the attributes a target leaves unnamed

    def __init__(self, cfg: StarGANConfig, info: DataInfo):
        super().__init__(cfg, info)
        self.c_dim = len(info.labels)
        self.mask_dim = len(info.datasets) if len(info.datasets) > 1 else 0  # joint training's mask vector
        try:
            self.G = Generator(cfg.g_conv_dim, self.c_dim + self.mask_dim, cfg.g_repeat_num, cfg.g_norm)
        except ValueError as e:
            raise ValueError(f"g_norm: {e}") from None
        self.D = Discriminator(info.image_size, cfg.d_conv_dim, self.c_dim, cfg.d_repeat_num)

    def networks(self):
        return {"G": self.G, "D": self.D}

    def build_optimizers(self):
        c = self.cfg
        return {"G": torch.optim.Adam(self.G.parameters(), c.g_lr, (c.beta1, c.beta2)),
                "D": torch.optim.Adam(self.D.parameters(), c.d_lr, (c.beta1, c.beta2))}

    def lr_factor(self, step, total):
        c = self.cfg
        if c.lr_update_step <= 0:
            return linear_decay(step, total, c.decay_steps)
        # solver.py: after iteration m (1-based), if m % N == 0 and m > total - decay_steps, lr -= lr0 / decay
        start = max(total - c.decay_steps, 0)
        updates = max(0, step // c.lr_update_step - start // c.lr_update_step) if step > start else 0
        return 1.0 - updates / max(1, c.decay_steps)

    # -- labels ---------------------------------------------------------------
    def as_condition(self, label: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """G's condition: attribute vectors pass through, domain indices become one-hot vectors;
        in joint runs [labels | mask] (a label of full width already carries its mask)."""
        c = label.float() if self.info.multi_label or label.dim() == 2 else F.one_hot(label.long(), self.c_dim).float()
        if self.mask_dim and c.size(1) == self.c_dim:
            if mask is None:
                raise ValueError(f"a joint model needs the mask vector with its labels ({self.c_dim} labels + "
                                 f"{self.mask_dim}-way mask)")
            c = torch.cat([c, mask.to(c)], 1)
        return c

    def label_slices(self) -> list[slice]:
        """Each joint dataset's slice of the labels."""
        ends = [0]
        for part in self.info.datasets:
            ends.append(ends[-1] + len(part["labels"]))
        return [slice(a, b) for a, b in zip(ends, ends[1:])]

    def joint_condition(self, label: torch.Tensor, k: int) -> torch.Tensor:
        """Labels of dataset k alone (the other slices zeroed) with mask k: a translation with
        dataset k's labels, whichever dataset the image came from."""
        c = torch.zeros(label.size(0), self.c_dim + self.mask_dim, device=label.device)
        sl = self.label_slices()[k]
        c[:, sl] = label[:, sl].float()
        c[:, self.c_dim + k] = 1.0
        return c

    def classification_loss(self, logits: torch.Tensor, label: torch.Tensor, mask) -> torch.Tensor:
        """L_cls on the known labels only: each joint dataset's rows on its own slice, with its own
        loss (BCE for attributes, softmax cross-entropy for domains)."""
        if not self.mask_dim:
            return losses.classification_loss(logits, label, self.info.multi_label)
        total = logits.new_zeros((), dtype=torch.float32)
        for k, (part, sl) in enumerate(zip(self.info.datasets, self.label_slices())):
            rows = mask[:, k] > 0
            if rows.any():
                target = label[rows, sl] if part["multi_label"] else label[rows, sl].argmax(1)
                total = total + losses.classification_loss(logits[rows, sl], target, part["multi_label"])
        return total

    def sample_targets(self, label: torch.Tensor, mask=None):
        """The official choice: the batch's own labels (and masks), shuffled."""
        perm = torch.randperm(label.size(0), device=label.device)
        return label[perm], None if mask is None else mask[perm]

    def grid_targets(self, label: torch.Tensor) -> list[torch.Tensor]:
        """One target per label for sample grids: an exclusive attribute is set alone in its
        group, a binary one is flipped, a domain is chosen outright."""
        targets = []
        for k, name in enumerate(self.info.labels):
            if not self.info.multi_label:
                targets.append(torch.full_like(label, k))
                continue
            t = label.clone()
            group = next((g for g in self.info.exclusive if name in g), None)
            if group:
                for other in group:
                    t[:, self.info.attributes.index(other)] = 0
                t[:, k] = 1
            else:
                t[:, k] = 1 - t[:, k]
            targets.append(t)
        return targets

    # -- training -------------------------------------------------------------
    def loss_weights(self) -> dict[str, float]:
        c = self.cfg
        return {"loss_real": 1.0, "loss_fake": 1.0, "loss_cls": c.lambda_cls, "loss_gp": c.lambda_gp,
                "loss_rec": c.lambda_rec}

    def weighted(self, terms: dict) -> torch.Tensor:
        """Σ λ_k·L_k over the logged terms, in their order."""
        w = self.loss_weights()
        return sum(w[k.partition("/")[2]] * v for k, v in terms.items())

    def check_batch(self, mask) -> None:
        """StarGAN trains on labelled images only."""
        if mask is not None and not self.mask_dim and not bool((mask > 0).all()):
            raise I2IError(f"{self.name} trains on labelled images only; this batch holds unlabelled ones "
                           "(the trainer draws labelled ones when data.labelled_fraction < 1)")

    def source_condition(self, label_org, mask_org):
        """c_org, the condition that leads back to the source (L_rec)."""
        return self.as_condition(label_org, mask_org)

    def d_terms(self, x_real, x_fake, out_src, fake_src, out_cls, label_org, mask_org) -> dict:
        """L_D = −L_adv + λ_cls·L_cls^r + λ_gp·L_gp, term by term (weighted by loss_weights)."""
        terms = self.adversarial_terms(out_src, fake_src)
        with self.autocast():
            terms["D/loss_cls"] = self.classification_loss(out_cls, label_org, mask_org)
        return {**terms, **self.penalty_term(x_real, x_fake)}

    def adversarial_terms(self, out_src, fake_src) -> dict:
        with self.autocast():
            d_loss_real, d_loss_fake = losses.wgan_critic_loss(out_src, fake_src)
        return {"D/loss_real": d_loss_real, "D/loss_fake": d_loss_fake}

    def penalty_term(self, x_real, x_fake) -> dict:
        if self.penalty_fp32:
            x_real, x_fake = x_real.float(), x_fake.float()
        with self.penalty_precision():
            return {"D/loss_gp": losses.gradient_penalty(lambda x: self.D(x)[0], x_real, x_fake)}

    def g_terms(self, x_real, x_fake, fake_src, fake_cls, c_org, label_trg, mask_trg) -> dict:
        """L_G = L_adv + λ_rec·L_rec + λ_cls·L_cls^f, term by term."""
        return {"G/loss_fake": losses.wgan_generator_loss(fake_src),
                "G/loss_rec": losses.l1(x_real, self.G(x_fake, c_org)),
                "G/loss_cls": self.classification_loss(fake_cls, label_trg, mask_trg)}

    def train_step(self, batch, step):
        cfg = self.cfg
        x_real = batch["image"].to(self.device)
        label_org = batch["label"].to(self.device)
        mask_org = batch["mask"].to(self.device) if "mask" in batch else None
        self.check_batch(mask_org)
        label_trg, mask_trg = self.sample_targets(label_org, mask_org)
        c_org = self.source_condition(label_org, mask_org)
        c_trg = self.as_condition(label_trg, mask_trg)
        if step < cfg.warmup_steps:
            return self.identity_step(x_real, c_org)
        logs, g_step = {}, (step + 1) % cfg.n_critic == 0

        # Discriminator.
        with self.autocast():
            # On a G step this fake, with its graph, is also G's: G is unchanged until its own
            # update, so computing G(x, c) again there (as the official code does) repeats it.
            with torch.set_grad_enabled(g_step):
                fake = self.G(x_real, c_trg)
            x_fake = fake.detach()
            # One D pass over real and fake: D has no normalisation, so it is the paper's two passes.
            src, cls = self.D(torch.cat([x_real, x_fake]))
            (out_src, fake_src), out_cls = src.chunk(2), cls[:len(x_real)]
        terms = self.d_terms(x_real, x_fake, out_src, fake_src, out_cls, label_org, mask_org)
        self.update(self.weighted(terms), "D")
        logs.update(terms)

        # Generator, every n_critic-th iteration.
        if g_step:
            with frozen(self.D), self.autocast():  # D's weight gradients would be discarded
                fake_src, fake_cls = self.D(fake)
                terms = self.g_terms(x_real, fake, fake_src, fake_cls, c_org, label_trg, mask_trg)
            self.update(self.weighted(terms), "G")
            logs.update(terms)
        return {k: v.item() for k, v in logs.items()}

    def identity_step(self, x_real, c_org):
        """Warm-up: G(x, c_org) ≈ x, an autoencoder step with the reconstruction weight."""
        with self.autocast():
            g_loss_id = losses.l1(x_real, self.G(x_real, c_org))
        self.update(self.cfg.lambda_rec * g_loss_id, "G")
        return {"G/loss_id": g_loss_id.item()}

    # -- inference ------------------------------------------------------------
    @torch.no_grad()
    def translate(self, x, target, style=None):
        # Batch norm must use its running statistics here, or an image's output would depend on
        # its batch; instance norm keeps per-image statistics as the official code does.
        was_training = self.G.training
        self.G.train(self.cfg.g_norm == "instance")
        try:
            with self.autocast():
                return self.G(x, self.as_condition(target.to(x.device))).float()
        finally:
            self.G.train(was_training)

    @torch.no_grad()
    def classify(self, x) -> torch.Tensor:
        """D_cls's belief about x's labels: probabilities (attributes) or a domain index; in joint
        runs per dataset slice, softmax over a dataset's domains."""
        with self.autocast():
            logits = self.D(x)[1].float()
        if not self.info.multi_label:
            return logits.argmax(1)
        probs = torch.sigmoid(logits)
        for part, sl in zip(self.info.datasets if self.mask_dim else [], self.label_slices()):
            if not part["multi_label"]:
                probs[:, sl] = logits[:, sl].softmax(1)
        return probs

    def export_graph(self, style, direction):
        """G(image, labels): the full target vector (joint runs: [labels | mask]); a domain-label
        model takes the domain index instead."""
        g = inference_copy(self.G, per_image=self.cfg.g_norm == "instance")
        s = self.info.image_size
        image = torch.zeros(1, self.info.channels, s, s)
        if self.info.multi_label:
            return ExportGraph(Conditioned(g, None), {"image": image, "labels": torch.zeros(1, self.c_dim + self.mask_dim)})
        return ExportGraph(Conditioned(g, self.c_dim), {"image": image, "domain": torch.zeros(1, dtype=torch.long)})

    @torch.no_grad()
    def sample_grid(self, batch):
        x = batch["image"].to(self.device)
        label = batch["label"].to(self.device)
        if not self.mask_dim:
            targets = self.grid_targets(label)
        else:  # an image's unknown labels are what D_cls reads; each target uses its dataset's slice
            known = batch["mask"].to(self.device)[:, None, :].expand(-1, self.c_dim, -1)
            owner = torch.cat([torch.full((sl.stop - sl.start,), k) for k, sl in enumerate(self.label_slices())])
            label = torch.where(known[:, torch.arange(self.c_dim), owner] > 0, label, (self.classify(x) > 0.5).float())
            targets = [self.joint_condition(t, int(owner[j])) for j, t in enumerate(self.grid_targets(label))]
        columns = [x] + [self.translate(x, t) for t in targets]
        return torch.stack(columns, dim=1)  # N × (1 + c) × 3 × H × W


class Conditioned(nn.Module):
    """The export graph's G(x, c); a domain-label model turns the domain index into c's one-hot vector."""

    def __init__(self, g: nn.Module, domains: int | None):
        super().__init__()
        self.g = g
        self.one_hot = nn.Buffer(torch.eye(domains)) if domains else None

    def forward(self, image, labels):
        return self.g(image, labels if self.one_hot is None else self.one_hot[labels])
