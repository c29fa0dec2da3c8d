"""StarGAN v2 (Choi et al., CVPR 2020): diverse image synthesis for multiple domains.

A generator G(x, s) renders image x in the style s; a style s of domain y comes either from a
random latent code through the mapping network F_y(z) or from a reference image through the
style encoder E_y(x). The multi-task discriminator D_y(x) judges x as a real image of domain y.
Objectives (paper eq. 1-5), with s̃ = F_ỹ(z) or E_ỹ(x_ref):
    L_adv = E[log D_y(x)] + E[log(1 − D_ỹ(G(x, s̃)))]      (non-saturating, R1 on reals)
    L_sty = E‖s̃ − E_ỹ(G(x, s̃))‖₁                          style reconstruction
    L_ds  = E‖G(x, s̃₁) − G(x, s̃₂)‖₁                        diversity sensitive (λ_ds → 0)
    L_cyc = E‖x − G(G(x, s̃), ŝ)‖₁,  ŝ = E_y(x)              cycle consistency
    min_{G,F,E} max_D  L_adv + λ_sty·L_sty − λ_ds·L_ds + λ_cyc·L_cyc
Networks, schedule and defaults follow the official code (clovaai/stargan-v2).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import torch

from .. import losses
from ..data.batches import Balanced, References
from ..errors import I2IError
from ..nn.inference import inference_copy
from ..nn.init import he_init
from ..nn.stargan_v2 import Discriminator, Generator, MappingNetwork, StyledGraph, StyleEncoder
from .base import ByLabels, DataInfo, ExportGraph, Method, Styled, frozen


@dataclass
class StarGANv2Config:
    latent_dim: int = 16
    style_dim: int = 64
    hidden_dim: int = 512          # mapping network width
    dim_in: int = 0                # first conv width (0: the official 2^14 / image size)
    max_conv_dim: int = 512
    g_levels: int = 0              # G's down/up-sampling levels (0: official, log2(size) − 4, +1 with w_hpf)
    w_hpf: float = 1.0             # high-pass skip weight (0: off; CelebA-HQ 1, AFHQ 0)
    fan_path: str = ""             # FAN (wing.ckpt) weights giving the face masks for w_hpf > 0
    lambda_reg: float = 1.0        # R1
    lambda_sty: float = 1.0
    lambda_ds: float = 1.0
    lambda_cyc: float = 1.0
    ds_iter: int = 100_000         # λ_ds decays linearly to 0 over this many iterations
    lr: float = 1e-4
    f_lr: float = 1e-6             # mapping network
    d_lr: float = 0.0              # discriminator; 0: lr (the official code has one rate for G, E and D)
    beta1: float = 0.0
    beta2: float = 0.99
    weight_decay: float = 1e-4
    ema_beta: float = 0.999
    ema_init: str = "raw"          # raw: the averages start as copies of the initialised networks;
                                   # official: as clovaai's build_model, copies taken before he_init
                                   # (PyTorch's default init), so they start elsewhere
    warmup_steps: int = 0          # not in the paper (0 = official): first train G and E alone as an
                                   # autoencoder, G(x, E_y(x)) ≈ x, so the game starts from an identity G


class StarGANv2(ByLabels, Styled, Method):
    name = "stargan_v2"
    Config = StarGANv2Config
    fit = "squash"  # the official test path: Resize([size, size]) of an aligned face (i2i align)
    double_backward = ("discriminator",)  # R1
    # D reads the domain of a reference given without one
    inference_networks = ("generator_ema.", "mapping_network_ema.", "style_encoder_ema.", "discriminator.")
    assets = {"fan_path": "fan"}  # the FAN whose landmarks make the high-pass masks (w_hpf > 0)
    domains_only = True

    def __init__(self, cfg: StarGANv2Config, info: DataInfo):
        super().__init__(cfg, info)
        if info.multi_label:
            raise ValueError("StarGAN v2 needs single-label domains (a domain-folder layout), not attributes")
        k, size = len(info.domains), info.image_size
        self.generator = Generator(size, cfg.style_dim, cfg.max_conv_dim, cfg.w_hpf, cfg.dim_in, cfg.g_levels)
        self.mapping_network = MappingNetwork(cfg.latent_dim, cfg.style_dim, k, cfg.hidden_dim)
        self.style_encoder = StyleEncoder(size, cfg.style_dim, k, cfg.max_conv_dim, cfg.dim_in)
        self.discriminator = Discriminator(size, k, cfg.max_conv_dim, cfg.dim_in)
        if cfg.ema_init not in ("raw", "official"):
            raise ValueError(f"ema_init must be raw or official, not {cfg.ema_init!r}")
        averaged = ("generator", "mapping_network", "style_encoder")
        # Averaged copies: every sample and translation uses them.
        copies = {k: copy.deepcopy(getattr(self, k)) for k in averaged} if cfg.ema_init == "official" else {}
        for net in self.networks().values():
            net.apply(he_init)
        for k in averaged:
            setattr(self, f"{k}_ema", copies.get(k, copy.deepcopy(getattr(self, k))).requires_grad_(False))
        self.mask_provider = None  # built on first use: FAN masks, or all-ones with a warning

    def mask(self, x):
        """Masks for the high-pass skip (None when it is off)."""
        if self.cfg.w_hpf <= 0:
            return None
        if self.mask_provider is None:
            from ..nn.fan import mask_provider
            object.__setattr__(self, "mask_provider", mask_provider(self.cfg.w_hpf, self.cfg.fan_path or None))
        return self.mask_provider(x)

    def networks(self):
        return {"generator": self.generator, "mapping_network": self.mapping_network,
                "style_encoder": self.style_encoder, "discriminator": self.discriminator}

    def build_optimizers(self):
        c = self.cfg
        rate = {"mapping_network": c.f_lr, "discriminator": c.d_lr or c.lr}
        return {name: torch.optim.Adam(net.parameters(), rate.get(name, c.lr), (c.beta1, c.beta2),
                                       weight_decay=c.weight_decay)
                for name, net in self.networks().items()}

    def batch_policy(self, dataset, batch):
        """The official loaders: sources drawn class-balanced (every domain equally often), and with
        them two references of one class-balanced domain: [sources | refs | refs2]."""
        domains = self.domains_of(dataset, batch)
        return References(Balanced(domains, batch.size, batch.seed), domains, batch.seed)

    def lambda_ds(self, step: int) -> float:
        """λ_ds at iteration `step`: linear decay to 0, a function of the step so resume keeps it."""
        return self.cfg.lambda_ds * max(0.0, 1.0 - step / self.cfg.ds_iter)

    # -- training -------------------------------------------------------------
    def train_step(self, batch, step):
        """One iteration of the official Solver.train: D with a latent code, D with a reference,
        G (with F and E) with latent codes, G with references, then the moving averages."""
        x_real, x_ref, x_ref2 = batch["image"].to(self.device).chunk(3)
        y_org, y_trg, _ = batch["label"].to(self.device).long().chunk(3)
        if step < self.cfg.warmup_steps:
            return self.identity_step(x_real, y_org)
        z_trg, z_trg2 = torch.randn(2, x_real.size(0), self.cfg.latent_dim, device=self.device)
        masks = self.mask(x_real)
        latent, ref = ("generator", "mapping_network", "style_encoder"), ("generator",)
        lambda_ds = self.lambda_ds(step)
        self.reuse.clear()
        d_latent = self.d_step(x_real, y_org, y_trg, z_trg=z_trg, masks=masks)
        d_ref = self.d_step(x_real, y_org, y_trg, x_ref=x_ref, masks=masks)
        g_latent = self.g_step(latent, x_real, y_org, y_trg, lambda_ds, z_trgs=(z_trg, z_trg2), masks=masks)
        g_ref = self.g_step(ref, x_real, y_org, y_trg, lambda_ds, x_refs=(x_ref, x_ref2), masks=masks)
        self.reuse.clear()
        self.update_ema()
        logs = {**{f"D/latent_{k}": v for k, v in d_latent.items()}, **{f"D/ref_{k}": v for k, v in d_ref.items()},
                **{f"G/latent_{k}": v for k, v in g_latent.items()}, **{f"G/ref_{k}": v for k, v in g_ref.items()},
                "G/lambda_ds": lambda_ds}
        return {k: float(v) for k, v in logs.items()}

    def d_step(self, *args, **kw) -> dict:
        loss, logs = self.d_loss(*args, **kw)
        self.update(loss, "discriminator")
        return logs

    def g_step(self, trained, *args, **kw) -> dict:
        with frozen(*(net for name, net in self.networks().items() if name not in trained)):
            loss, logs = self.g_loss(*args, **kw)
            self.update(loss, *trained)
        return logs

    def identity_step(self, x_real, y_org):
        with frozen(self.mapping_network, self.discriminator), self.autocast():
            loss_id = losses.l1(self.generator(x_real, self.style_encoder(x_real, y_org), self.mask(x_real)), x_real)
        self.update(self.cfg.lambda_cyc * loss_id, "generator", "style_encoder")
        self.update_ema()
        return {"G/loss_id": loss_id.item()}

    # The networks as the losses call them; a repeated call before its network changes returns the
    # first result (nn/reuse.py): G's encoding of x_real, and F's style and G's fake of a latent code.
    def G(self, x, s, masks=None):
        return self.reuse(("fake", id(x), id(s)), ("generator",),
                          lambda: self.generator.render(self.encoding(x, masks), s, masks))

    def encoding(self, x, masks=None):
        return self.reuse(("encoding", id(x)), ("generator",), lambda: self.generator.encoding(x, masks))

    def F(self, z, y):
        return self.reuse(("style", id(z), id(y)), ("mapping_network",), lambda: self.mapping_network(z, y))

    def E(self, x, y):
        return self.style_encoder(x, y)

    def d_loss(self, x_real, y_org, y_trg, z_trg=None, x_ref=None, masks=None):
        """compute_d_loss: real images (adversarial loss and R1), then fakes in the guide's style."""
        x_in = x_real.detach().requires_grad_(True)
        with self.autocast():
            out = self.discriminator(x_in, y_org)
            loss_real = losses.nonsaturating_loss(out, real=True)
            loss_reg = losses.r1_penalty(out, x_in)
            with torch.no_grad():
                s_trg = self.F(z_trg, y_trg) if z_trg is not None else self.E(x_ref, y_trg)
                x_fake = self.G(x_real, s_trg, masks)
            loss_fake = losses.nonsaturating_loss(self.discriminator(x_fake.detach(), y_trg), real=False)
        loss = loss_real + loss_fake + self.cfg.lambda_reg * loss_reg
        return loss, {"real": loss_real.detach(), "fake": loss_fake.detach(), "reg": loss_reg.detach()}

    def g_loss(self, x_real, y_org, y_trg, lambda_ds, z_trgs=None, x_refs=None, masks=None):
        """compute_g_loss: adversarial, style reconstruction, diversity sensitive and cycle losses."""
        c = self.cfg
        (z_trg, z_trg2), (x_ref, x_ref2) = z_trgs or (None, None), x_refs or (None, None)
        with self.autocast():
            s_trg = self.F(z_trg, y_trg) if z_trgs else self.E(x_ref, y_trg)
            x_fake = self.G(x_real, s_trg, masks)
            loss_adv = losses.nonsaturating_loss(self.discriminator(x_fake, y_trg), real=True)
            loss_sty = losses.l1(self.style_encoder(x_fake, y_trg), s_trg)
            with torch.no_grad():  # the official code detaches the second output
                s_trg2 = self.mapping_network(z_trg2, y_trg) if z_trgs else self.E(x_ref2, y_trg)
                x_fake2 = self.generator.render(self.encoding(x_real, masks), s_trg2, masks)
            loss_ds = losses.l1(x_fake, x_fake2)
            s_org = self.style_encoder(x_real, y_org)
            x_rec = self.generator(x_fake, s_org, self.mask(x_fake))
            loss_cyc = losses.l1(x_rec, x_real)
        loss = loss_adv + c.lambda_sty * loss_sty - lambda_ds * loss_ds + c.lambda_cyc * loss_cyc
        return loss, {"adv": loss_adv.detach(), "sty": loss_sty.detach(), "ds": loss_ds.detach(),
                      "cyc": loss_cyc.detach()}

    @torch.no_grad()
    def update_ema(self):
        beta = self.cfg.ema_beta
        for name, net in self.networks().items():
            if name == "discriminator":
                continue
            ema = getattr(self, f"{name}_ema")
            torch._foreach_lerp_(list(ema.parameters()), list(net.parameters()), 1.0 - beta)

    # -- inference (averaged networks) ----------------------------------------
    @torch.no_grad()
    def latent_style(self, y, z=None, generator: torch.Generator | None = None):
        """Style codes of domains y from latent codes z (drawn from N(0, I) when None)."""
        if z is None:
            z = torch.randn(y.size(0), self.cfg.latent_dim, generator=generator).to(self.device)
        with self.autocast():
            return self.mapping_network_ema(z.to(self.device), y.to(self.device)).float()

    @torch.no_grad()
    def reference_style(self, x_ref, y):
        with self.autocast():
            return self.style_encoder_ema(x_ref.to(self.device), y.to(self.device)).float()

    @torch.no_grad()
    def judge_domain(self, x):
        """The domain whose discriminator head scores x as most real."""
        with self.autocast():
            return self.discriminator.main(x.to(self.device)).flatten(1).float().argmax(1)

    @torch.no_grad()
    def translate(self, x, target, style=None):
        """x into domains `target` with style codes `style` (random latent ones when None)."""
        x, target = x.to(self.device), target.to(self.device).long()
        s = self.latent_style(target) if style is None else style.to(self.device)
        with self.autocast():
            return self.generator_ema(x, s, self.mask(x)).float()

    STYLES = ("latent", "reference", "code")

    def export_graph(self, style, direction):
        """G(image, s) with s from the mapping network (z, domain), the style encoder (reference,
        domain) or given (style="code": the generator alone)."""
        if style not in self.STYLES:
            raise I2IError(f"style={style!r}; use one of {', '.join(self.STYLES)}")
        c, hpf = self.cfg, self.cfg.w_hpf > 0
        if hpf and c.fan_path:
            raise I2IError(f"{self.name} with w_hpf={c.w_hpf} takes its high-pass masks from FAN face landmarks, "
                           "which are not exported; export a model trained with w_hpf=0")
        s = self.info.image_size
        image, domain = torch.zeros(1, 3, s, s), torch.zeros(1, dtype=torch.long)
        encoder, guide = {"latent": (self.mapping_network_ema, {"z": torch.zeros(1, c.latent_dim), "domain": domain}),
                          "reference": (self.style_encoder_ema, {"reference": image, "domain": domain}),
                          "code": (None, {"style": torch.zeros(1, c.style_dim)})}[style]
        module = StyledGraph(inference_copy(self.generator_ema), encoder and inference_copy(encoder), hpf)
        why = f"{self.name} with w_hpf={c.w_hpf}: the TorchScript exporter cannot trace the high-pass skip"
        return ExportGraph(module, {"image": image, **guide}, {"style": style}, scriptable=not hpf, why=why)

    @torch.no_grad()
    def sample_grid(self, batch):
        """Per source row: x, two latent-guided outputs per domain (the same two codes every
        time), and the reference-guided output with the next row's image as reference."""
        x = batch["image"].to(self.device)
        y = batch["label"].to(self.device).long()
        n, columns = x.size(0), [x]
        codes = torch.Generator().manual_seed(0)
        z = torch.randn(2, 1, self.cfg.latent_dim, generator=codes).expand(-1, n, -1)
        for d in range(len(self.info.domains)):
            target = torch.full_like(y, d)
            columns += [self.translate(x, target, self.latent_style(target, z[k])) for k in range(2)]
        ref, y_ref = x.roll(1, 0), y.roll(1, 0)
        columns.append(self.translate(x, y_ref, self.reference_style(ref, y_ref)))
        return torch.stack(columns, dim=1)
