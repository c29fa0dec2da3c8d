"""clovaai/stargan-v2 checkpoints: `100000_nets_ema.ckpt` ({generator, mapping_network,
style_encoder} state dicts, as core/checkpoint.py saves them) and optionally `100000_nets.ckpt`
(the raw networks and the discriminator). Keys may carry DataParallel's 'module.' prefix.

i2i's networks keep the official module names (from_rgb, encode.N, decode.N, to_rgb, hpf.filter;
shared / unshared; main), so the mapping is official key → "<network>[_ema]." + key, each shape
checked. Inferred from the weights: the domains (mapping heads), latent_dim, style_dim and the
mapping width, the image size (the style encoder halves to 4 px: log2(size) − 2 ResBlks), the
first width, max_conv_dim, w_hpf (hpf.filter = kernel / w_hpf) and G's levels.

w_hpf > 0 (CelebA-HQ) generators add the encoder's edges back under FAN face masks (nn/fan.py).
The official build_model puts that FAN into nets and nets_ema, so their files carry it as `fan`;
the run keeps a copy (fan.ckpt). Files without it need `fan=wing.ckpt`. `100000_optims.ckpt`
(Adam states of the raw networks) is used with `…_nets.ckpt`, so training resumes where it stopped.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import I2IError
from ..methods.base import DataInfo
from . import Part, Plan, count, model_config, need, tensors

NETS = ("generator", "mapping_network", "style_encoder")
DEFAULT_DOMAINS = {2: ["female", "male"], 3: ["cat", "dog", "wild"]}  # CelebA-HQ's and AFHQ's folders


def _files(states):
    """(ema nets, raw nets or None, optimiser states or None), the nets each (file name, {network:
    flat state dict}). The FAN of a w_hpf > 0 model rides in both nets files as `fan`."""
    ema = raw = optims = None
    for name, top in states:
        if not all(k in top for k in NETS):
            raise I2IError(f"{name} is not a StarGAN v2 networks file: it has {sorted(top)[:4]}, expected "
                           f"{', '.join(NETS)} (use 100000_nets_ema.ckpt)")
        if isinstance(top["generator"], dict) and "param_groups" in top["generator"]:
            if optims is not None:
                raise I2IError("two …_optims.ckpt files given; give one")
            optims = (name, top)
            continue
        nets = {k: tensors(v, f"{name}[{k}]") for k, v in top.items() if k in (*NETS, "discriminator", "fan")}
        unknown = sorted(set(top) - set(nets))
        if unknown:
            raise I2IError(f"{name}: unexpected networks {unknown}; expected {', '.join(NETS)} [, discriminator, fan]")
        if "discriminator" in nets:
            if raw is not None:
                raise I2IError("two training files (…_nets.ckpt) given; give one, with …_nets_ema.ckpt")
            raw = (name, nets)
        else:
            if ema is not None:
                raise I2IError("two …_nets_ema.ckpt files given; give one")
            ema = (name, nets)
    if ema is None and raw is None:
        raise I2IError(f"{optims[0]} holds only optimiser states; give …_nets_ema.ckpt (and …_nets.ckpt with "
                       "…_optims.ckpt to continue the official training)")
    return ema, raw, optims


def _fan(ema, raw, fan, notes):
    """The FAN state for w_hpf > 0 and where it came from: --fan's file, else the nets files' entry."""
    from ..nn.fan import FAN
    if fan:
        FAN.from_file(fan)  # a wrong file fails now, not at the first translation
        if any(f and "fan" in f[1] for f in (ema, raw)):
            notes.append(f"the FAN weights are --fan's {Path(fan).name}, not the checkpoint's own `fan` entry")
        return None, str(Path(fan).resolve())
    name, nets = next(((n, s) for n, s in (ema, raw or (None, {})) if "fan" in s), (None, None))
    if nets is None:
        return None, None
    FAN.from_state(nets["fan"], f"{name}[fan]")
    return nets["fan"], f"{name}[fan]"


def _optimizer_states(optims, raw, notes):
    """The official Adam states, used only with the raw networks they were stepping."""
    if optims is None:
        return {}
    name, top = optims
    if raw is None:
        notes.append(f"{name} skipped: its optimiser states belong to the raw networks of …_nets.ckpt, "
                     "which was not given")
        return {}
    # Adam numbers parameters in the official module's order, which its state dict keeps
    return {net: (f"{name}[{net}]", state, list(raw[1][net])) for net, state in top.items() if net in raw[1]}


def _max_conv_dim(widths: list[int]) -> int:
    """The cap that reproduces these down-sampling widths: 512 (official) while they keep doubling."""
    top = max(widths)
    capped = any(b == a == top for a, b in zip(widths, widths[1:]))
    return top if capped or top > 512 else 512


def plan(states, domains=None, fan=None) -> Plan:
    ema, raw, optims = _files(states)
    notes = []
    if ema is None:
        ema = raw
        notes.append(f"no …_nets_ema.ckpt: the averaged networks used for translation are {raw[0]}'s raw ones")
    name, nets = ema
    G, F, E = (nets[k] for k in NETS)
    src = {k: f"{name}[{k}]" for k in NETS}
    first = need(F, "shared.0.weight", src["mapping_network"], "a StarGAN v2 mapping network")
    hidden, latent_dim = first.shape
    k = count(F, r"unshared\.(\d+)\.0\.weight")
    style_dim = need(F, "unshared.0.6.weight", src["mapping_network"], "a StarGAN v2 mapping network").shape[0]
    e_levels = count(E, r"shared\.(\d+)\.conv1\.weight")
    size = 2 ** (e_levels + 2)
    dim_in = need(G, "from_rgb.weight", src["generator"], "a StarGAN v2 generator").shape[0]
    e_dim = need(E, "shared.0.weight", src["style_encoder"], "a StarGAN v2 style encoder").shape[0]
    if e_dim != dim_in:
        raise I2IError(f"{name}: the generator starts {dim_in} wide but the style encoder {e_dim}; "
                       "i2i's StarGAN v2 uses one first width for both")
    e_k = count(E, r"unshared\.(\d+)\.weight")
    if e_k != k:
        raise I2IError(f"{name}: the mapping network has {k} domains but the style encoder {e_k}")
    w_hpf = 0.0
    if "hpf.filter" in G:
        f = G["hpf.filter"]
        w_hpf = 1.0 if f.is_meta else round(8.0 / float(f[1, 1]), 6)  # meta: shapes-only checks
    g_levels = count(G, r"encode\.(\d+)\.conv1\.weight") - 2
    widths = [dim_in] + [E[f"shared.{i}.conv2.weight"].shape[0] for i in range(1, e_levels + 1)
                         if f"shared.{i}.conv2.weight" in E]
    settings = {"image_size": size, "num_domains": k, "latent_dim": latent_dim, "style_dim": style_dim,
                "hidden_dim": hidden, "dim_in": dim_in, "max_conv_dim": _max_conv_dim(widths),
                "w_hpf": w_hpf, "g_levels": g_levels}
    model = dict(settings)
    for key in ("image_size", "num_domains"):
        model.pop(key)
    if dim_in == 2 ** 14 // size:
        model["dim_in"] = 0  # the official width rule
    if g_levels == size.bit_length() - 1 - 4 + (w_hpf > 0):
        model["g_levels"] = 0
    fan_state, fan_source = _fan(ema, raw, fan, notes)
    files = {}
    if w_hpf > 0:
        if not fan_source:
            raise I2IError(f"{name} has the high-pass skip (w_hpf={w_hpf:g}, the CelebA-HQ model) but no `fan` entry: "
                           "its generator needs FAN face masks; pass --fan wing.ckpt (StarGAN v2's "
                           "`bash download.sh wing`)")
        if fan_state is None:
            model["fan_path"] = fan_source
        else:  # the run keeps its own copy, in wing.ckpt's format
            files["model.fan_path"] = ("fan.ckpt", {"state_dict": fan_state})
        settings["fan"] = fan_source
    elif fan:
        raise I2IError(f"{name} has no high-pass skip (w_hpf 0): it takes no FAN masks; leave out --fan")
    names = list(domains) if domains else DEFAULT_DOMAINS.get(k)
    if names is None or len(names) != k:
        raise I2IError(f"{name} has {k} domains; name them in order with --domains a,b,..."
                       + (f" (got {len(names)})" if names else ""))
    if not domains:
        notes.append(f"domain names are the official dataset's ({', '.join(names)}); pass --domains if yours differ")
    settings["domains"] = names
    parts = [Part(src[n], nets[n], f"{n}_ema.") for n in NETS]
    if raw is None:
        parts += [Part(src[n], nets[n], f"{n}.") for n in NETS]  # the raw copies start from the averages
        notes.append("no discriminator in the files: D is randomly initialised, so the domain of a reference "
                     "image must be named (--target) unless its folder is a domain name; give …_nets.ckpt too "
                     "to import D")
    else:
        parts += [Part(f"{raw[0]}[{n}]", raw[1][n], f"{n}.") for n in (*NETS, "discriminator")]
    cfg = model_config("stargan_v2", size, model, {"domains": names})
    return Plan(cfg, DataInfo(size, domains=names), parts, settings, notes, files=files,
                optimizers=_optimizer_states(optims, raw, notes))
