"""The simulated device's predictions against the laptop's int8 model on the same 16x12 frames
(prints figures; not a test). Issue 17: a 16x12 model from `tinyheat run`, run on the simulated
MLX90641.

    TINYHEAT_FIRMWARE=FW .venv/bin/python tools/sim_device_agreement.py FW FRAMES.npy [--seconds 45]

``FW``: a firmware folder whose ``lib/tinyheat_model`` holds the exported model (`tinyheat run
DATASET --firmware FW`); ``FRAMES.npy``: float32 (n, 12, 16) degC, replayed in a loop by
`tinyheat sim-device --sensor mlx90641 --mode stream --rate 16`. Every FRAME read over the link is
matched to its recording frame (nearest within the link's 0.01 K); where the device's smoothing
window (its last 4 frames) is 4 consecutive frames of the file, the PREDICTION it sent (label
shown, "uncertain" = -1 below 0.6, confidence) is compared with the laptop's: each frame repeated
2 x 2 -> ``quantize_input`` -> the int8 .tflite in TFLM (``run_tflm``) -> mean of the 4 ->
top-1. Writes nothing.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from tinyheat.deploy.tflm_check import run_tflm
from tinyheat.link import protocol as p
from tinyheat.link.client import DeviceClient, open_port
from tinyheat.training.preprocess import probabilities, quantize_input


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("firmware", type=Path)
    ap.add_argument("frames", type=Path, help="float32 (n, 12, 16) degC .npy")
    ap.add_argument("--seconds", type=float, default=45.0, help="how long to read the link")
    a = ap.parse_args()
    den = np.load(a.frames)
    model = a.firmware / "lib" / "tinyheat_model"
    proc = subprocess.Popen([sys.executable, "-m", "tinyheat.cli", "sim-device", "--sensor", "mlx90641", "--frames",
                             str(a.frames), "--mode", "stream", "--rate", "16"], stdout=subprocess.PIPE, text=True,
                            env=dict(os.environ, TINYHEAT_FIRMWARE=str(a.firmware)))
    frames, preds = [], []
    try:
        line = ""
        for line in proc.stdout:
            if line.startswith("pty "):
                break
        c = DeviceClient(open_port(line.split()[1]))
        h = c.connect(stream=True)
        print(f"HELLO geometry {h.geometry}: {h.device_text}")
        pending, t0 = None, time.monotonic()
        for m in c.messages(timeout_s=3.0):
            if isinstance(m, p.Prediction):
                pending = m
            elif isinstance(m, p.Frame):
                frames.append(m.temps)
                preds.append(pending if pending is not None and pending.t_ms == m.t_ms else None)
            if time.monotonic() - t0 > a.seconds:
                break
        c.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    card = json.loads((model / "model_card.json").read_text())
    q = quantize_input(den.repeat(2, axis=1).repeat(2, axis=2), card["input"])
    probs = probabilities(np.asarray(run_tflm((model / "tinyheat_model.tflite").read_bytes(), q)).astype(np.int8),
                          card["output"]["scale"], card["output"]["zero_point"])
    idx = [int(np.argmin(np.nanmax(np.abs(den - f[None]), axis=(1, 2)))) for f in frames]
    n = same = same_conf = 0
    for k, (i, pred) in enumerate(zip(idx, preds)):
        window = [(i - 3 + j) % len(den) for j in range(4)]
        if pred is None or k < 3 or idx[k - 3:k + 1] != window:
            continue
        mean = probs[window].mean(0)
        top = int(np.argmax(mean))
        n += 1
        same += (top if mean[top] >= 0.6 else -1) == pred.label_index
        same_conf += abs(mean[top] - pred.confidence) < 1e-5
    print(f"frames read {len(frames)} ({len(set(idx))} distinct of {len(den)}); compared {n}: label shown agrees "
          f"{same}/{n}, confidence equal within 1e-5 {same_conf}/{n}")


if __name__ == "__main__":
    main()
