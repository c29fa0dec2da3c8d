"""The text tables `i2i eval` prints for each kind of run."""
from __future__ import annotations


def pct(v, missing: str = "") -> str:
    return missing if v is None else f"{v:.1%}"


def table(title: str, rows: list[tuple]) -> str:
    """Left-aligned columns under a title line."""
    w = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join([title] + ["  ".join(c.ljust(w[i]) for i, c in enumerate(row)).rstrip() for row in rows])


def format_domain_eval(r: dict) -> str:
    dash = lambda v: pct(v, "–")  # a missing figure shows as a dash
    rows = [("", "latent-guided", "reference-guided"),
            ("target shape reached", dash(r["translation_accuracy"]["latent"]), dash(r["translation_accuracy"]["reference"])),
            ("content kept", dash(r["content_kept"]["latent"]), dash(r["content_kept"]["reference"])),
            *((f"  {k} kept", dash(v), dash(r["content_kept_by_part"]["reference"][k]))
              for k, v in r["content_kept_by_part"]["latent"].items()),
            ("  centre and size kept", dash(r["content_kept_spatial"]["latent"]), dash(r["content_kept_spatial"]["reference"])),
            (f"colours over {r['n_latent']} latent outputs", f"{r['latent_colours']:.2f}", ""),
            ("stripes vary over latent outputs", dash(r["latent_stripes_mixed"]), ""),
            ("colour of the reference", "", dash(r["reference_colour_match"])),
            ("stripes of the reference", "", dash(r["reference_stripes_match"]))]
    return table(f"{r['n']} held-out images, each to a random other shape", rows)


def format_joint_eval(r: dict) -> str:
    sets = r["label_sets"]
    rows = [("translated with the labels of", *sets)]
    rows += [(label, *(pct(v[key]) for v in sets.values())) for label, key in
             (("target reached", "reached"), ("target reached, when changed", "reached_when_changed"),
              ("other datasets' labels kept", "others_kept"), ("shape kept", "shape_kept"),
              ("centre kept", "centre_kept"))]
    rows += [(f"  reached on images of {src}", *(pct(v["reached_by_source"][src]) for v in sets.values()))
             for src in next(iter(sets.values()))["reached_by_source"]]
    return table(f"joint training: {r['n']} held-out images of each dataset, random valid targets", rows)


def format_generation_eval(r: dict) -> str:
    rows = [("samples read as each digit", "  ".join(f"{d}:{s:.0%}" for d, s in enumerate(r["class_share"]))),
            ("digits with ≥ 4% of samples", f"{r['classes_at_least_4pct']} of 10"),
            ("oracle confidence ≥ 0.9", pct(r["confident_share"])),
            *([("requested digit read", pct(r["requested_digit_read"]))] if r.get("requested_digit_read") is not None else []),
            *([("categorical code reads held-out digits", f"{pct(r['code_accuracy'])} (code k is digit "
               + " ".join(map(str, r["code_to_digit"])) + ")")] if "code_accuracy" in r else []),
            ("digits-FD (real-vs-real floor)", f"{r['digits_fd']:.1f} ({r['digits_fd_floor']:.1f})")]
    return table(f"{r['n']} samples read by the digit oracle", rows)


def format_ring_eval(r: dict) -> str:
    rows = [("high-quality samples of each mode", "  ".join(f"{k}:{s:.0%}" for k, s in enumerate(r["mode_share"]))),
            ("modes covered (≥ 1% of samples)", f"{r['modes_covered']} of 8"),
            ("samples within 3σ of a mode", pct(r["high_quality_share"])),
            ("median distance to the nearest mode", f"{r['median_distance_sigma']:.2f}σ")]
    return table(f"{r['n']} samples on the ring of 8 Gaussians", rows)


def format_two_domain_eval(r: dict) -> str:
    if r["task"] == "paired":
        rows = [(k.upper() if k != "ssim" else "SSIM", f"{r[k]['mean']:.3f} ± {r[k]['std']:.3f}")
                for k in ("l1", "psnr", "ssim")]
        rows += [(f"oracle reads {k}", pct(v)) for k, v in r["attribute_accuracy"].items()]
        rows.append(("oracle on ground truth", pct(r["oracle_on_ground_truth"])))
        return table(f"paired translation, {r['n']} held-out pairs", rows)
    names = [k for k, v in r.items() if isinstance(v, dict)]
    fmt = lambda k, v: f"{v:.3f}" if k in ("mask_iou", "centre_shift") else pct(v)
    rows = [("", *names)] + [(k, *(fmt(k, r[n][k]) for n in names)) for k in r["mean"]]
    return table(f"unpaired translation, {r['n']} held-out images per direction", rows)


def format_eval(r: dict) -> str:
    judged = r.get("classifier_accuracy_changed") or {}
    rows = [("target attribute", "reached", "when changed", "when set", "when cleared",
             "D_cls says reached, when changed" if judged else "")]
    rows += [(k, pct(v), pct(r["target_accuracy_changed"][k]), pct(r["target_accuracy_set"].get(k)),
              pct(r["target_accuracy_cleared"].get(k)), pct(judged.get(k))) for k, v in r["target_accuracy"].items()]
    rows += [("all targets at once", pct(r["all_targets"]), "", "", "", ""),
             ("", "", "size kept", "size changed", "", ""),
             *((f"{k} kept", pct(r[f"{k}_kept"]), pct(r[f"{k}_kept_by_size_change"]["size_kept"]),
                pct(r[f"{k}_kept_by_size_change"]["size_changed"]), "", "") for k in ("shape", "centre")),
             ("oracle right on sources", pct(r["oracle_on_sources"]), "", "", "", "")]
    return table(f"{r['n']} held-out images, random valid targets", rows)
