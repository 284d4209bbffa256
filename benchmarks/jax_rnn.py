#!/usr/bin/env python3
"""Training steps per second of nn2py's anchor RNN in JAX on CPU: the peer of `train_steps.rs`.

The model is exactly nn2py's (`src/train/mod.rs`): h_t = f([h_{t-1}; x_t]), y_t = g(h_t), h_0 = 0,
f and g MLPs with ReLU between affine layers, loss mean 0.5 * ln(1 + (y_hat - y)^2) over every
output value, AdamW with PyTorch's conventions (decoupled decay before the Adam update,
bias-corrected moments, eps outside the root) written by hand, constant learning rate. One
training step (forward, backward by `jax.value_and_grad` through a `jax.lax.scan` over time, and
the AdamW update) is one `jax.jit`-compiled function; compilation and warm-up are excluded from the
timing, and the clock stops only after `block_until_ready`.

Data: with `--init FILE` (written by `train_steps.rs`), the initial parameters and the batch are
nn2py's own, so the losses of the first steps can be compared with the Rust engines; otherwise
PyTorch-style uniform initialisation and a batch of random integers 0..99 with running-sum targets.
The same batch is used at every step, as on the Rust side.

Prints one JSON object: steps_per_second, steps, seconds, compile_seconds, first_losses (the loss
at each of the first warm-up steps, before its update), final_loss, the configuration and versions.
"""

import argparse
import itertools
import json
import os
import sys
import time


def parse_widths(text):
    """`"32,16"` -> [32, 16]; `""` -> []."""
    return [int(w) for w in text.split(",") if w.strip()]


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hidden", type=int, required=True)
    p.add_argument(
        "--f-widths",
        default="",
        help="hidden widths of f, comma-separated ('' = affine)",
    )
    p.add_argument(
        "--g-widths",
        default="",
        help="hidden widths of g, comma-separated ('' = affine)",
    )
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--length", type=int, required=True)
    p.add_argument(
        "--steps",
        type=int,
        default=None,
        help="timed steps (default: calibrate to --seconds)",
    )
    p.add_argument(
        "--seconds",
        type=float,
        default=2.5,
        help="target timed duration when --steps is not given",
    )
    p.add_argument(
        "--warmup", type=int, default=5, help="untimed steps after compilation"
    )
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--init", default=None, help="JSON with nn2py's initial parameters and batch"
    )
    p.add_argument(
        "--single-thread",
        action="store_true",
        help="restrict XLA's CPU backend to one thread (nn2py's engines are single-threaded)",
    )
    return p.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    if args.single_thread:
        # Must be set before jax is imported.
        os.environ["XLA_FLAGS"] = (
            os.environ.get("XLA_FLAGS", "")
            + " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
        ).strip()
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import numpy as np

    try:
        import jax
        import jax.numpy as jnp
    except ImportError as e:
        print(json.dumps({"error": f"jax is not importable: {e}"}))
        return 2

    f_widths = parse_widths(args.f_widths)
    g_widths = parse_widths(args.g_widths)
    input_dim, output_dim = 1, 1
    n, length, hidden = args.batch, args.length, args.hidden

    if args.init is not None:
        with open(args.init) as fh:
            init = json.load(fh)
        if (init["hidden"], init["n"], init["length"]) != (hidden, n, length):
            raise SystemExit("--init does not match --hidden/--batch/--length")
        input_dim, output_dim = init["input_dim"], init["output_dim"]

        def layers(spec):
            return [
                (
                    np.asarray(l["weight"], np.float32).reshape(l["out"], l["inp"]),
                    np.asarray(l["bias"], np.float32),
                )
                for l in spec
            ]

        params = {"f": layers(init["f"]), "g": layers(init["g"])}
        if [w.shape[0] for w, _ in params["f"][:-1]] != f_widths or [
            w.shape[0] for w, _ in params["g"][:-1]
        ] != g_widths:
            raise SystemExit("--init does not match --f-widths/--g-widths")
        # nn2py's batch layout is [T, d, N]; the scan wants [T, N, d].
        xs = (
            np.asarray(init["inputs"], np.float32)
            .reshape(length, input_dim, n)
            .transpose(0, 2, 1)
        )
        ys = (
            np.asarray(init["targets"], np.float32)
            .reshape(length, output_dim, n)
            .transpose(0, 2, 1)
        )
    else:
        rng = np.random.default_rng(args.seed)

        def chain(sizes):
            out = []
            for inp, width in itertools.pairwise(sizes):
                bound = 1.0 / np.sqrt(max(inp, 1))
                w = rng.uniform(-bound, bound, (width, inp)).astype(np.float32)
                b = rng.uniform(-bound, bound, (width,)).astype(np.float32)
                out.append((w, b))
            return out

        params = {
            "f": chain([hidden + input_dim, *f_widths, hidden]),
            "g": chain([hidden, *g_widths, output_dim]),
        }
        xs = rng.integers(0, 100, (length, n, input_dim)).astype(np.float32)
        ys = np.cumsum(xs, axis=0).astype(np.float32)

    def mlp(layers, v):
        for i, (w, b) in enumerate(layers):
            v = v @ w.T + b
            if i + 1 < len(layers):
                v = jax.nn.relu(v)
        return v

    def loss_fn(p, xs, ys):
        def cell(h, x_t):
            h = mlp(p["f"], jnp.concatenate([h, x_t], axis=-1))
            return h, mlp(p["g"], h)

        h0 = jnp.zeros((xs.shape[1], hidden), jnp.float32)
        _, y_hat = jax.lax.scan(cell, h0, xs)
        err = y_hat - ys
        return jnp.mean(0.5 * jnp.log1p(err * err))

    beta1, beta2, eps, weight_decay, lr = 0.9, 0.999, 1e-8, 0.01, args.lr

    def train_step(p, m, v, t, xs, ys):
        loss, g = jax.value_and_grad(loss_fn)(p, xs, ys)
        t = t + 1
        c1 = 1.0 - beta1**t
        c2 = 1.0 - beta2**t
        m = jax.tree_util.tree_map(lambda m, g: beta1 * m + (1.0 - beta1) * g, m, g)
        v = jax.tree_util.tree_map(lambda v, g: beta2 * v + (1.0 - beta2) * g * g, v, g)

        def update(p, m, v):
            p = p - lr * weight_decay * p
            return p - lr * (m / c1) / (jnp.sqrt(v / c2) + eps)

        p = jax.tree_util.tree_map(update, p, m, v)
        return p, m, v, t, loss

    step = jax.jit(train_step, donate_argnums=(0, 1, 2, 3))

    p = jax.tree_util.tree_map(jnp.asarray, params)
    m = jax.tree_util.tree_map(jnp.zeros_like, p)
    v = jax.tree_util.tree_map(jnp.zeros_like, p)
    t = jnp.asarray(0.0, jnp.float32)
    xs, ys = jnp.asarray(xs), jnp.asarray(ys)

    start = time.perf_counter()
    p, m, v, t, loss = step(p, m, v, t, xs, ys)
    first_losses = [float(loss)]
    compile_seconds = time.perf_counter() - start
    for _ in range(max(args.warmup, 1)):
        p, m, v, t, loss = step(p, m, v, t, xs, ys)
        first_losses.append(float(loss))

    steps = args.steps
    if steps is None:
        # Calibrate on a short run so the timed run lasts about --seconds.
        # Dispatch is asynchronous, so wait only once per chunk, as the timed loop does.
        probe, start = 0, time.perf_counter()
        while time.perf_counter() - start < 0.3:
            for _ in range(8):
                p, m, v, t, loss = step(p, m, v, t, xs, ys)
            loss.block_until_ready()
            probe += 8
        rate = probe / (time.perf_counter() - start)
        steps = max(10, int(rate * args.seconds))

    loss.block_until_ready()
    start = time.perf_counter()
    for _ in range(steps):
        p, m, v, t, loss = step(p, m, v, t, xs, ys)
    loss.block_until_ready()
    seconds = time.perf_counter() - start

    print(
        json.dumps(
            {
                "steps_per_second": steps / seconds,
                "steps": steps,
                "seconds": seconds,
                "compile_seconds": compile_seconds,
                "first_losses": first_losses,
                "final_loss": float(loss),
                "hidden": hidden,
                "f_widths": f_widths,
                "g_widths": g_widths,
                "batch": n,
                "length": length,
                "single_thread": args.single_thread,
                "jax": jax.__version__,
                "device": str(jax.devices()[0]),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
