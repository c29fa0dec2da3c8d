"""MUNIT (Huang et al., ECCV 2018): multimodal unsupervised image-to-image translation.

An image splits into a content code c, shared by both domains, and a style code s of its own
domain. Each domain i has an encoder (E_i^c, E_i^s) and a decoder G_i; x_i→j = G_j(E_i^c(x_i), s_j)
with s_j ~ N(0, I) (or a reference's E_j^s). Objectives (paper eq. 1-5, LSGAN as the official code):
    L_recon^x  = E‖G_i(E_i^c(x_i), E_i^s(x_i)) − x_i‖₁                 image reconstruction
    L_recon^c  = E‖E_j^c(G_j(c_i, s_j)) − c_i‖₁                        content reconstruction
    L_recon^s  = E‖E_j^s(G_j(c_i, s_j)) − s_j‖₁                        style reconstruction
    L_GAN^j    = E[(D_j(x_j) − 1)²] + E[D_j(G_j(c_i, s_j))²]           per scale, summed
    min_{E,G} max_D  L_GAN + λ_x·L_recon^x + λ_c·L_recon^c + λ_s·L_recon^s  (+ λ_cyc·‖x_i→j→i − x_i‖₁)
Networks, update order and defaults follow NVlabs/MUNIT's edges2shoes config: one D step, then one
step of both auto-encoders; Adam 1e-4, β (0.5, 0.999), weight decay 1e-4, the rate halved every
100,000 iterations. The two domains are the data's two domains, A = the first.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch

from .. import losses
from ..data.batches import Pools
from ..errors import I2IError
from ..nn.inference import inference_copy
from ..nn.munit import Discriminator, Generator, Translation, min_image_size, munit_init
from .base import ByLabels, DataInfo, ExportGraph, Method, Styled, frozen


@dataclass
class MUNITConfig:
    dim: int = 64                  # first conv width of the encoders
    style_dim: int = 8
    mlp_dim: int = 256             # width of the MLP that makes the AdaIN parameters
    n_downsample: int = 2          # content encoder (the style encoder always takes 4)
    n_res: int = 4                 # residual blocks in the content encoder and the decoder
    d_dim: int = 64
    d_layers: int = 4              # stride-2 convs per discriminator scale
    d_scales: int = 3
    gan_w: float = 1.0
    recon_x_w: float = 10.0
    recon_s_w: float = 1.0
    recon_c_w: float = 1.0
    recon_x_cyc_w: float = 0.0     # explicit cycle term (off in the official edges2shoes config)
    lr: float = 1e-4
    beta1: float = 0.5
    beta2: float = 0.999
    weight_decay: float = 1e-4
    step_size: int = 100_000       # the learning rate halves every step_size iterations
    gamma: float = 0.5


class MUNIT(ByLabels, Styled, Method):
    name = "munit"
    Config = MUNITConfig
    fit = "crop"  # the official test path: shorter side resized to the size, then a square crop
    train_defaults = {"batch_size": 2}  # one image of each domain: the official batch_size 1
    data_defaults = {"image_size": 256}
    domains_only = True

    def __init__(self, cfg: MUNITConfig, info: DataInfo):
        super().__init__(cfg, info)
        if info.multi_label or len(info.domains) != 2:
            raise ValueError(f"MUNIT translates between exactly two domains; the data has "
                             f"{info.attributes or info.domains or 'none'}")
        need = min_image_size(cfg.d_layers, cfg.d_scales)
        if info.image_size < need:
            raise ValueError(f"image size {info.image_size} is too small for {cfg.d_scales} discriminator scales of "
                             f"{cfg.d_layers} layers (needs ≥ {need}); lower model.d_layers or model.d_scales")
        gen = lambda: Generator(cfg.dim, cfg.style_dim, cfg.mlp_dim, cfg.n_downsample, cfg.n_res)
        dis = lambda: Discriminator(cfg.d_dim, cfg.d_layers, cfg.d_scales)
        self.gen_a, self.gen_b, self.dis_a, self.dis_b = gen(), gen(), dis(), dis()
        for g, d in ((self.gen_a, self.dis_a), (self.gen_b, self.dis_b)):
            munit_init(g, d)

    def networks(self):
        return {"gen_a": self.gen_a, "gen_b": self.gen_b, "dis_a": self.dis_a, "dis_b": self.dis_b}

    def build_optimizers(self):
        c = self.cfg
        adam = lambda *nets: torch.optim.Adam(itertools.chain(*(n.parameters() for n in nets)), c.lr,
                                              (c.beta1, c.beta2), weight_decay=c.weight_decay)
        return {"gen": adam(self.gen_a, self.gen_b), "dis": adam(self.dis_a, self.dis_b)}

    def lr_factor(self, step, total):
        # the official StepLR steps before each iteration's updates, so iteration i runs at i + 1
        return self.cfg.gamma ** ((step + 1) // self.cfg.step_size)

    def batch_policy(self, dataset, batch):
        """Each batch: half of domain A's images, then half of domain B's, each domain in its own
        shuffled epochs (the official code zips two independent loaders)."""
        members = self.domains_of(dataset, batch).members
        return Pools([members.get(k, []) for k in range(2)], batch.size, batch.seed, mix=True)

    # -- the objective --------------------------------------------------------
    def style_like(self, x):
        return torch.randn(x.size(0), self.cfg.style_dim, device=x.device)

    def dis_loss(self, D, real, fake):
        """LSGAN, summed over scales: real maps toward 1, fake maps toward 0."""
        return sum(losses.lsgan_loss(f, False) + losses.lsgan_loss(r, True) for f, r in zip(D(fake), D(real)))

    def gen_adv(self, D, fake):
        return sum(losses.lsgan_loss(f, True) for f in D(fake))

    def d_terms(self, x_a, x_b):
        with torch.no_grad():  # the fakes are detached: no gradient into the auto-encoders
            s_a, s_b = self.style_like(x_a), self.style_like(x_b)
            x_ba = self.gen_a.decode(self.gen_b.enc_content(x_b), s_a)
            x_ab = self.gen_b.decode(self.gen_a.enc_content(x_a), s_b)
        w = self.cfg.gan_w
        return {"dis_a": w * self.dis_loss(self.dis_a, x_a, x_ba), "dis_b": w * self.dis_loss(self.dis_b, x_b, x_ab)}

    def g_terms(self, x_a, x_b):
        c = self.cfg
        s_a, s_b = self.style_like(x_a), self.style_like(x_b)
        c_a, s_a_prime = self.gen_a.encode(x_a)
        c_b, s_b_prime = self.gen_b.encode(x_b)
        x_ba, x_ab = self.gen_a.decode(c_b, s_a), self.gen_b.decode(c_a, s_b)
        c_b_recon, s_a_recon = self.gen_a.encode(x_ba)
        c_a_recon, s_b_recon = self.gen_b.encode(x_ab)
        terms = {"gan_a": c.gan_w * self.gen_adv(self.dis_a, x_ba), "gan_b": c.gan_w * self.gen_adv(self.dis_b, x_ab),
                 "recon_x_a": c.recon_x_w * losses.l1(self.gen_a.decode(c_a, s_a_prime), x_a),
                 "recon_x_b": c.recon_x_w * losses.l1(self.gen_b.decode(c_b, s_b_prime), x_b),
                 "recon_s_a": c.recon_s_w * losses.l1(s_a_recon, s_a),
                 "recon_s_b": c.recon_s_w * losses.l1(s_b_recon, s_b),
                 "recon_c_a": c.recon_c_w * losses.l1(c_a_recon, c_a),
                 "recon_c_b": c.recon_c_w * losses.l1(c_b_recon, c_b)}
        if c.recon_x_cyc_w > 0:
            terms["cyc_x_a"] = c.recon_x_cyc_w * losses.l1(self.gen_a.decode(c_a_recon, s_a_prime), x_a)
            terms["cyc_x_b"] = c.recon_x_cyc_w * losses.l1(self.gen_b.decode(c_b_recon, s_b_prime), x_b)
        return terms

    def split(self, batch):
        y, half = batch["label"], len(batch["label"]) // 2  # checked where the loader left it: no device sync
        if len(y) % 2 or (y[:half] != 0).any() or (y[half:] != 1).any():
            raise I2IError("a MUNIT batch is [domain A images | domain B images]; batch_policy makes it so")
        x = batch["image"].to(self.device)
        return x[:half], x[half:]

    def train_step(self, batch, step):
        x_a, x_b = self.split(batch)
        with self.autocast():
            d = self.d_terms(x_a, x_b)
        self.update(sum(d.values()), "dis")
        with frozen(self.dis_a, self.dis_b), self.autocast():
            g = self.g_terms(x_a, x_b)
        self.update(sum(g.values()), "gen")
        return {**{f"D/{k}": v.item() for k, v in d.items()}, **{f"G/{k}": v.item() for k, v in g.items()}}

    # -- inference ------------------------------------------------------------
    @property
    def latent_dim(self) -> int:
        return self.cfg.style_dim  # the prior's sample is the style code itself

    def gens(self):
        return (self.gen_a, self.gen_b)

    def by_domain(self, y, make):
        """make(d, sel) for each domain d present in y, gathered in y's order (float32)."""
        out = None
        for d in range(2):
            sel = y == d
            if sel.any():
                with self.autocast():
                    part = make(d, sel).float()
                out = part.new_empty(len(y), *part.shape[1:]) if out is None else out
                out[sel] = part
        return out

    @torch.no_grad()
    def latent_style(self, y, z=None, generator: torch.Generator | None = None):
        """Style codes s ~ N(0, I) (z when given); the same prior for both domains."""
        if z is None:
            z = torch.randn(y.size(0), self.cfg.style_dim, generator=generator)
        return z.to(self.device).float()

    @torch.no_grad()
    def reference_style(self, x_ref, y):
        """E_y^s(x_ref): the style of references of domain y."""
        x_ref, y = x_ref.to(self.device), y.to(self.device).long()
        return self.by_domain(y, lambda d, sel: self.gens()[d].enc_style(x_ref[sel]).flatten(1))

    @torch.no_grad()
    def judge_domain(self, x):
        """The domain whose discriminator finds x most real (least LSGAN distance to 1)."""
        with self.autocast():
            x = x.to(self.device)
            fit = [-sum(((o.float() - 1) ** 2).flatten(1).mean(1) for o in D(x)) for D in (self.dis_a, self.dis_b)]
        return torch.stack(fit, 1).argmax(1)

    @torch.no_grad()
    def translate(self, x, target, style=None):
        """x, taken to be of the other domain, into domains `target` with style codes `style`
        (random latent ones when None): G_t(E_{1−t}^c(x), s)."""
        x, target = x.to(self.device), torch.as_tensor(target, device=self.device).long().expand(x.size(0))
        s = self.latent_style(target) if style is None else style.to(self.device).float()
        gens = self.gens()
        return self.by_domain(target, lambda d, sel: gens[d].decode(gens[1 - d].enc_content(x[sel]), s[sel]))

    STYLES = ("latent", "reference", "code")

    def export_graph(self, style, direction):
        """G_t(E^c(image), s) for direction AtoB or BtoA, s given (latent = code: the prior's sample
        is the style) or encoded from a reference of the target domain."""
        if style not in self.STYLES:
            raise I2IError(f"style={style!r}; use one of {', '.join(self.STYLES)}")
        if direction not in ("AtoB", "BtoA"):
            raise I2IError(f"direction={direction!r}; use AtoB or BtoA")
        t = 1 if direction == "AtoB" else 0
        s = self.info.image_size
        image = torch.zeros(1, 3, s, s)
        guide = {"reference": image} if style == "reference" else {"z" if style == "latent" else "style":
                                                                    torch.zeros(1, self.cfg.style_dim)}
        module = Translation(inference_copy(self.gens()[1 - t]), inference_copy(self.gens()[t]), style == "reference")
        return ExportGraph(module, {"image": image, **guide}, {"style": style, "direction": direction})

    @torch.no_grad()
    def sample_grid(self, batch):
        """Per source row: x, its reconstruction, two latent-guided outputs in the other domain
        (the same two codes every time), and one guided by a reference of that domain."""
        x, y = batch["image"].to(self.device), batch["label"].to(self.device).long()
        t = 1 - y
        own = self.by_domain(y, lambda d, sel: self.gens()[d].decode(*self.gens()[d].encode(x[sel])))
        z = torch.randn(2, 1, self.cfg.style_dim, generator=torch.Generator().manual_seed(0)).expand(-1, x.size(0), -1)
        first = {d: x[y == d][0] for d in range(2) if (y == d).any()}  # a reference of each domain in the batch
        ref = torch.stack([first.get(int(d), x[i - 1]) for i, d in enumerate(t)])
        return torch.stack([x, own, *(self.translate(x, t, z[k]) for k in range(2)),
                            self.translate(x, t, self.reference_style(ref, t))], dim=1)

