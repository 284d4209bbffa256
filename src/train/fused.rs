//! The fused forward and backward pass of the anchor RNN: loss and exact gradients by
//! backpropagation through time, written for this one cell so that a training step is a few
//! loops over contiguous memory with no per-operation bookkeeping (and no allocation inside a
//! loop).
//!
//! Activations are feature-major (`[features, n]`): every inner loop runs over the batch, so
//! the compiler vectorises it whatever the (small) layer sizes are. Large layer calls hold a
//! block of output rows in vector registers while the terms stream past ([`axpy_block`], over a
//! packed copy of the source; [`accumulate_block`] for weight gradients); small ones go row by
//! row. Every path performs, on every value, the same IEEE operations in the same order, so
//! which one runs never changes a bit (tested against plain loops).
//!
//! Contract: [`Workspace::loss_and_gradients`] returns the mean over all sequences, steps and
//! output values of `0.5 * ln(1 + (y_hat - y)^2)` and writes its gradient with respect to every
//! parameter into `grads` (same shape as the model). Its gradients are tested against central
//! finite differences here.

use crate::export::{Affine, AnchorRnn};
use crate::train::batch::Batch;

/// Buffers for one batch size, sequence length and architecture, reused across steps.
#[derive(Debug, Default)]
pub struct Workspace {
    /// `f_inputs[t][l]`: the input of `f`'s layer `l` at step `t` (layer 0: `[h_{t-1}; x_t]`),
    /// `[inp, n]`.
    f_inputs: Vec<Vec<Vec<f32>>>,
    /// `g_inputs[t][l]`: the input of `g`'s layer `l` at step `t` (layer 0: `h_t`).
    g_inputs: Vec<Vec<Vec<f32>>>,
    /// `outputs[t]`: `y_hat_t`, `[output_dim, n]`.
    outputs: Vec<Vec<f32>>,
    /// The backward pass's gradient buffers, kept across steps.
    gradients: GradientBuffers,
    /// Gradient with respect to `h_t` flowing back from step `t + 1`, `[hidden, n]`.
    grad_state: Vec<f32>,
    n: usize,
    key: Option<(usize, usize, Vec<usize>, Vec<usize>)>,
    /// How the layer kernels tile and split their work (never changes a result).
    plan: Plan,
    /// Scratch for the forward pass's [`add_product`].
    packed: Vec<f32>,
}

/// Batch columns per cache tile: layers on larger batches can run tile by tile so that a tile
/// of every input row stays in cache. A multiple of 8, so a dot product's lanes
/// ([`accumulate`]) continue across tiles unchanged. With the row blocks of [`axpy_block`] and
/// [`accumulate_block`] (and the packed source), tiles of 256 to 2,048 columns measured no
/// faster than none on the anchor's hidden-64 configuration (batch 4,096, 18-23 steps/s either
/// way on a 2-core AMD EPYC, `benchmarks/train_steps.rs`), so the default is untiled; the
/// mechanism and its bit-for-bit tests stay.
const TILE: usize = 8192;

/// Multiply-adds in one layer call from which it is split over threads.
const PARALLEL_WORK: usize = 1 << 21;

/// How the layer kernels lay out their work. Every choice computes each value with the same
/// operations in the same order, so results are bitwise identical whatever the plan: tiles cut
/// the batch only between elements that no sum combines across (or, in a dot product, at lane
/// boundaries), and threads each own whole output rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// Batch columns per tile (used rounded down to a multiple of 8, at least 8).
    pub tile: usize,
    /// Most threads a large layer call is split over (1: never split).
    pub threads: usize,
}

impl Default for Plan {
    /// Tiles of [`TILE`], and as many threads as the machine offers (at most 8).
    fn default() -> Self {
        Plan {
            tile: TILE,
            threads: std::thread::available_parallelism().map_or(1, |p| p.get().min(8)),
        }
    }
}

impl Plan {
    /// One tile and one thread: the plain loops.
    pub const SERIAL: Plan = Plan {
        tile: usize::MAX - usize::MAX % 8,
        threads: 1,
    };

    /// Runs `work(first_row, rows)` over `data`, rows of `row_len` values, split into contiguous
    /// groups of whole rows on up to `self.threads` threads when `cost` multiply-adds make it
    /// worth a thread. Each row is handed to exactly one call.
    fn over_rows(
        &self,
        data: &mut [f32],
        row_len: usize,
        cost: usize,
        work: impl Fn(usize, &mut [f32]) + Sync,
    ) {
        let rows = data.len().checked_div(row_len).unwrap_or(0);
        let threads = if cost >= PARALLEL_WORK {
            self.threads.min(rows)
        } else {
            1
        };
        if threads <= 1 {
            work(0, data);
            return;
        }
        let per = rows.div_ceil(threads);
        std::thread::scope(|scope| {
            let mut groups = data.chunks_mut(per * row_len).enumerate();
            // The calling thread takes the first group itself: one thread fewer to start.
            let (_, own) = groups.next().expect("at least one group of rows");
            for (group, rows) in groups {
                let work = &work;
                scope.spawn(move || work(group * per, rows));
            }
            work(0, own);
        });
    }

    /// The tile width in use: `tile` rounded down to a multiple of 8, at least 8 (the lanes
    /// of a dot product must never straddle two tiles).
    fn tile(&self) -> usize {
        self.tile.max(8) / 8 * 8
    }

    /// The `[start, end)` column ranges of a batch of `n`.
    fn tiles(&self, n: usize) -> impl Iterator<Item = (usize, usize)> {
        let tile = self.tile();
        (0..n)
            .step_by(tile)
            .map(move |start| (start, (start + tile).min(n)))
    }
}

/// Defines the kernel `$name` as `$body` compiled twice: for the processor's AVX2 (8-lane
/// vectors), used when the running processor has it, and for the x86-64 baseline (SSE2, 4 lanes)
/// otherwise. Both builds perform the same IEEE operations in the same order on every value
/// (Rust never contracts a multiply and an add into a fused multiply-add, and `fma` is not
/// enabled), so the choice changes speed only, never a bit of a result; the kernel test holds the
/// dispatched kernels to the baseline build bit for bit.
macro_rules! widened {
    ($(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),*) = $body:ident;) => {
        $(#[$doc])*
        #[allow(unsafe_code)]
        fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2")]
                fn wide($($arg: $ty),*) {
                    $body($($arg),*)
                }
                if std::is_x86_feature_detected!("avx2") {
                    // SAFETY: `wide` only needs AVX2, which the processor was just found to have.
                    return unsafe { wide($($arg),*) };
                }
            }
            $body($($arg),*)
        }
    };
}

widened! {
    /// Adds `a[i] * b[i]` into lane `i % 8` for the whole chunks of 8 (the caller passes equal
    /// lengths that are multiples of 8).
    fn accumulate(lanes: &mut [f32; 8], a: &[f32], b: &[f32]) = accumulate_body;
}

#[inline(always)]
fn accumulate_body(lanes: &mut [f32; 8], a: &[f32], b: &[f32]) {
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        for l in 0..8 {
            lanes[l] += x[l] * y[l];
        }
    }
}

/// The dot product from its lanes and the tail past the last whole chunk of 8.
fn finish(lanes: &[f32; 8], tail_a: &[f32], tail_b: &[f32]) -> f32 {
    let tail: f32 = tail_a.iter().zip(tail_b).map(|(x, y)| x * y).sum();
    lanes.iter().sum::<f32>() + tail
}

/// Sum of `a` with eight partial sums.
fn sum(a: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let mut chunks = a.chunks_exact(8);
    for x in &mut chunks {
        for l in 0..8 {
            lanes[l] += x[l];
        }
    }
    lanes.iter().sum::<f32>() + chunks.remainder().iter().sum::<f32>()
}

widened! {
    /// `y += alpha * x`.
    fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) = axpy_body;
}

#[inline(always)]
fn axpy_body(alpha: f32, x: &[f32], y: &mut [f32]) {
    for (v, &u) in y.iter_mut().zip(x) {
        *v += alpha * u;
    }
}

/// Terms a kernel keeps in registers at once: each value is loaded and stored once per group
/// of this many terms instead of once per term (the additions stay one at a time, in order).
const GROUP: usize = 4;

widened! {
    /// `row[i] = (((row[i] + w0 s0[i]) + w1 s1[i]) + ...)` over one group of terms: exactly the
    /// operations of [`axpy`] applied term by term, with the running value kept in a register.
    fn axpy_group(weights: &[f32; GROUP], sources: [&[f32]; GROUP], row: &mut [f32]) =
        axpy_group_body;
}

#[inline(always)]
fn axpy_group_body(weights: &[f32; GROUP], sources: [&[f32]; GROUP], row: &mut [f32]) {
    let len = row.len();
    let sources = sources.map(|s| &s[..len]);
    for (i, v) in row.iter_mut().enumerate() {
        let mut value = *v;
        for j in 0..GROUP {
            value += weights[j] * sources[j][i];
        }
        *v = value;
    }
}

/// Rows that [`axpy_block`] accumulates at once.
const BLOCK: usize = 4;

/// Batch columns of each row that [`axpy_block`] holds in registers (two 8-lane vectors).
const SPAN: usize = 16;

// `axpy_block_body` and `accumulate_block_body` are written out for these sizes.
const _: () = assert!(BLOCK == 4 && SPAN == 16 && GROUP == 4 && GRADIENT_ROWS == 2);

widened! {
    /// For each of the `BLOCK` rows `r` and each column `i` of the whole spans of `SPAN`:
    /// `rows[r][i] = ((initial[r] + weights[0][r] s0[i]) + weights[1][r] s1[i]) + ...` over every
    /// term in order (the sources packed by [`pack_spans`] in `data`): exactly the operations
    /// of [`axpy`] applied term by term to a row filled with `initial[r]`, with a span of every
    /// row of the block held in registers across all the terms (so each source value is loaded
    /// once per block, not once per row, and the rows are only written). The rows have one
    /// length; columns past its last whole span are left to the caller.
    fn axpy_block(
        weights: &[[f32; BLOCK]],
        initial: &[f32; BLOCK],
        data: &[f32],
        rows: &mut [&mut [f32]; BLOCK]
    ) = axpy_block_body;
}

/// Copies the whole spans of `SPAN` columns of each of `plan`'s tiles of `source` (`[terms, n]`),
/// tile after tile, so that each span's terms lie one after another: [`axpy_block`] then reads
/// memory in order instead of `terms` rows `n` apart (which, on power-of-two batches, all fall
/// into the same few cache sets). `out` is reused: it only grows.
fn pack_spans(plan: &Plan, source: &[f32], terms: usize, n: usize, out: &mut Vec<f32>) {
    let total: usize = plan.tiles(n).map(|(start, end)| (end - start) / SPAN).sum();
    if out.len() < total * terms * SPAN {
        out.resize(total * terms * SPAN, 0.0);
    }
    let mut offset = 0;
    for (start, end) in plan.tiles(n) {
        let spans = (end - start) / SPAN;
        let packed = &mut out[offset..offset + spans * terms * SPAN];
        for k in 0..terms {
            let row = &source[k * n + start..k * n + start + spans * SPAN];
            let slots = packed.chunks_exact_mut(SPAN).skip(k).step_by(terms);
            for (slot, values) in slots.zip(row.chunks_exact(SPAN)) {
                let values: &[f32; SPAN] = values.try_into().expect("a span");
                let slot: &mut [f32; SPAN] = slot.try_into().expect("a span");
                *slot = *values;
            }
        }
        offset += spans * terms * SPAN;
    }
}

/// `acc[l] += w * s[l]` over 8 lanes.
#[inline(always)]
fn multiply_add(acc: &mut [f32; 8], w: f32, s: &[f32; 8]) {
    for l in 0..8 {
        acc[l] += w * s[l];
    }
}

/// `acc[l] += x[l] * y[l]` over 8 lanes.
#[inline(always)]
fn multiply_add_lanes(acc: &mut [f32; 8], x: &[f32; 8], y: &[f32; 8]) {
    for l in 0..8 {
        acc[l] += x[l] * y[l];
    }
}

/// The 8 values of `values` from `start`.
#[inline(always)]
fn eight(values: &[f32], start: usize) -> &[f32; 8] {
    values[start..start + 8].try_into().expect("eight values")
}

#[inline(always)]
fn axpy_block_body(
    weights: &[[f32; BLOCK]],
    initial: &[f32; BLOCK],
    data: &[f32],
    rows: &mut [&mut [f32]; BLOCK],
) {
    // Each accumulator is a variable of its own (two 8-lane halves per row, written out),
    // which is what lets the compiler keep all of them in vector registers.
    let spans = rows[0].len() / SPAN;
    let terms = weights.len();
    for (span, packed) in data.chunks_exact(terms * SPAN).take(spans).enumerate() {
        let (lo, hi) = (span * SPAN, span * SPAN + 8);
        let mut r0 = ([initial[0]; 8], [initial[0]; 8]);
        let mut r1 = ([initial[1]; 8], [initial[1]; 8]);
        let mut r2 = ([initial[2]; 8], [initial[2]; 8]);
        let mut r3 = ([initial[3]; 8], [initial[3]; 8]);
        for (w, values) in weights.iter().zip(packed.chunks_exact(SPAN)) {
            let (s_lo, s_hi) = (eight(values, 0), eight(values, 8));
            multiply_add(&mut r0.0, w[0], s_lo);
            multiply_add(&mut r0.1, w[0], s_hi);
            multiply_add(&mut r1.0, w[1], s_lo);
            multiply_add(&mut r1.1, w[1], s_hi);
            multiply_add(&mut r2.0, w[2], s_lo);
            multiply_add(&mut r2.1, w[2], s_hi);
            multiply_add(&mut r3.0, w[3], s_lo);
            multiply_add(&mut r3.1, w[3], s_hi);
        }
        for (row, held) in rows.iter_mut().zip([r0, r1, r2, r3]) {
            row[lo..hi].copy_from_slice(&held.0);
            row[hi..hi + 8].copy_from_slice(&held.1);
        }
    }
}

/// `row += Σ_k weight(k) column(k)` term by term in `k` order, skipping zero weights, with
/// [`GROUP`] terms at a time in registers.
fn accumulate_row<'s>(
    row: &mut [f32],
    ks: usize,
    weight: impl Fn(usize) -> f32,
    column: impl Fn(usize) -> &'s [f32],
) {
    let mut weights = [0.0f32; GROUP];
    let mut terms = [0usize; GROUP];
    let mut pending = 0;
    for k in 0..ks {
        let w = weight(k);
        if w == 0.0 {
            continue;
        }
        weights[pending] = w;
        terms[pending] = k;
        pending += 1;
        if pending == GROUP {
            axpy_group(&weights, terms.map(&column), row);
            pending = 0;
        }
    }
    for j in 0..pending {
        axpy(weights[j], column(terms[j]), row);
    }
}

/// Multiply-adds in one layer call from which [`add_product`] packs the source and runs blocks
/// of rows through [`axpy_block`]; smaller calls (a small network's) go row by row, where the
/// copy and the block set-up would cost more than they save.
const BLOCKED_WORK: usize = 1 << 16;

/// `rows = initial + M source` over all of `rows` (`[_, n]`, overwritten), where row `r` starts
/// at `initial(r)` and row `r` of `M` is `weight(r, k)` over `k`, `source` `[ks, n]`: packs
/// `source` into `packed` ([`pack_spans`]) and runs [`accumulate_rows`], split over threads by
/// whole rows when the work is large.
#[allow(clippy::too_many_arguments)]
fn add_product(
    plan: &Plan,
    rows: &mut [f32],
    source: &[f32],
    ks: usize,
    n: usize,
    packed: &mut Vec<f32>,
    initial: impl Fn(usize) -> f32 + Sync,
    weight: impl Fn(usize, usize) -> f32 + Sync,
) {
    let cost = rows.len() * ks;
    let packed: &[f32] = if cost >= BLOCKED_WORK {
        pack_spans(plan, source, ks, n, packed);
        packed
    } else {
        &[]
    };
    plan.over_rows(rows, n, cost, |first, part| {
        accumulate_rows(plan, part, first, source, packed, ks, n, &initial, &weight)
    });
}

/// `rows = initial + M source` for the rows `first..` of `rows` (`[_, n]`, overwritten), where
/// row `r` starts at `initial(r)`, row `r` of `M` is `weight(r, k)` over `k`, and `source` is
/// `[k, n]` (`packed` its [`pack_spans`] copy, or empty): each value adds its terms in `k`
/// order to its initial value, skipping zero weights, tile by tile. With a packed copy, blocks
/// of [`BLOCK`] rows with no zero weight go through [`axpy_block`]; the columns past its whole
/// spans, and every other row, are filled and go through [`accumulate_row`]: the same
/// operations on every value.
#[allow(clippy::too_many_arguments)]
fn accumulate_rows(
    plan: &Plan,
    rows: &mut [f32],
    first: usize,
    source: &[f32],
    packed: &[f32],
    ks: usize,
    n: usize,
    initial: impl Fn(usize) -> f32,
    weight: impl Fn(usize, usize) -> f32,
) {
    // Each whole block's weights, term by term, and whether none is zero.
    let whole_blocks = if packed.is_empty() {
        0
    } else {
        rows.len() / (BLOCK * n).max(1)
    };
    let blocks: Vec<(Vec<[f32; BLOCK]>, bool)> = (0..whole_blocks)
        .map(|b| {
            let top = first + b * BLOCK;
            let weights: Vec<[f32; BLOCK]> = (0..ks)
                .map(|k| std::array::from_fn(|r| weight(top + r, k)))
                .collect();
            let dense = ks > 0 && weights.iter().flatten().all(|&w| w != 0.0);
            (weights, dense)
        })
        .collect();
    let mut offset = 0;
    for (start, end) in plan.tiles(n) {
        let spans = (end - start) / SPAN;
        let spanned = start + spans * SPAN;
        let tile_packed = if packed.is_empty() {
            &[]
        } else {
            &packed[offset..offset + spans * ks * SPAN]
        };
        offset += spans * ks * SPAN;
        let column = |k: usize, from: usize| &source[k * n + from..k * n + end];
        for (b, block) in rows.chunks_mut(BLOCK * n).enumerate() {
            let top = first + b * BLOCK;
            let from = match blocks.get(b) {
                Some((weights, true)) => {
                    let mut parts = block
                        .chunks_exact_mut(n)
                        .map(|row| &mut row[start..spanned]);
                    let mut block_rows: [&mut [f32]; BLOCK] =
                        std::array::from_fn(|_| parts.next().expect("a whole block of rows"));
                    let initial = std::array::from_fn(|r| initial(top + r));
                    axpy_block(weights, &initial, tile_packed, &mut block_rows);
                    spanned
                }
                _ => start,
            };
            if from == end {
                continue;
            }
            for (r, row) in block.chunks_exact_mut(n).enumerate() {
                let row = &mut row[from..end];
                row.fill(initial(top + r));
                let weight = |k| weight(top + r, k);
                accumulate_row(row, ks, weight, |k| column(k, from));
            }
        }
    }
}

/// `out = W input + b` on feature-major `[inp, n]` input, `[out, n]` output (`packed`: scratch
/// for [`add_product`]).
fn affine(
    plan: &Plan,
    layer: &Affine,
    input: &[f32],
    out: &mut [f32],
    n: usize,
    packed: &mut Vec<f32>,
) {
    let out = &mut out[..layer.out * n];
    let bias = |j: usize| layer.bias[j];
    add_product(plan, out, input, layer.inp, n, packed, bias, |j, k| {
        layer.weight[j * layer.inp + k]
    });
}

/// Runs `layers` on `inputs[0]` (already filled), writing each later layer's input (after
/// ReLU) into `inputs[l]` and the last layer's output into `out`.
fn forward_mlp(
    plan: &Plan,
    layers: &[Affine],
    inputs: &mut [Vec<f32>],
    out: &mut [f32],
    n: usize,
    packed: &mut Vec<f32>,
) {
    for l in 0..layers.len() {
        if l + 1 == layers.len() {
            affine(plan, &layers[l], &inputs[l], out, n, packed);
        } else {
            let (done, rest) = inputs.split_at_mut(l + 1);
            affine(plan, &layers[l], &done[l], &mut rest[0], n, packed);
            rest[0].iter_mut().for_each(|v| *v = v.max(0.0));
        }
    }
}

widened! {
    /// [`accumulate`] for one `a` against a group of `b`s at once: `lanes[j]` gets exactly what
    /// `accumulate(&mut lanes[j], a, bs[j])` would give, with `a` loaded once per chunk.
    fn accumulate_group(lanes: &mut [[f32; 8]], a: &[f32], bs: [&[f32]; GROUP]) =
        accumulate_group_body;
}

#[inline(always)]
fn accumulate_group_body(lanes: &mut [[f32; 8]], a: &[f32], bs: [&[f32]; GROUP]) {
    let lanes: &mut [[f32; 8]; GROUP] = lanes.try_into().expect("a group of lanes");
    let mut held = *lanes;
    let bs = bs.map(|b| &b[..a.len()]);
    for (c, x) in a.chunks_exact(8).enumerate() {
        for j in 0..GROUP {
            let y = &bs[j][c * 8..c * 8 + 8];
            for l in 0..8 {
                held[j][l] += x[l] * y[l];
            }
        }
    }
    *lanes = held;
}

/// Output-gradient rows that [`accumulate_block`] takes at once.
const GRADIENT_ROWS: usize = 2;

widened! {
    /// [`accumulate_group`] for a block of `as_` at once: `lanes[i][j]` gets exactly what
    /// `accumulate(&mut lanes[i][j], as_[i], bs[j])` would give, every `a` and `b` loaded once
    /// per chunk of 8.
    fn accumulate_block(
        lanes: &mut [[[f32; 8]; GROUP]; GRADIENT_ROWS],
        as_: [&[f32]; GRADIENT_ROWS],
        bs: [&[f32]; GROUP]
    ) = accumulate_block_body;
}

#[inline(always)]
fn accumulate_block_body(
    lanes: &mut [[[f32; 8]; GROUP]; GRADIENT_ROWS],
    as_: [&[f32]; GRADIENT_ROWS],
    bs: [&[f32]; GROUP],
) {
    // One variable per accumulator, written out, as in `axpy_block_body`.
    let len = as_[0].len();
    let [[mut c00, mut c01, mut c02, mut c03], [mut c10, mut c11, mut c12, mut c13]] = *lanes;
    for start in (0..len / 8 * 8).step_by(8) {
        let (x0, x1) = (eight(as_[0], start), eight(as_[1], start));
        let (y0, y1) = (eight(bs[0], start), eight(bs[1], start));
        let (y2, y3) = (eight(bs[2], start), eight(bs[3], start));
        multiply_add_lanes(&mut c00, x0, y0);
        multiply_add_lanes(&mut c01, x0, y1);
        multiply_add_lanes(&mut c02, x0, y2);
        multiply_add_lanes(&mut c03, x0, y3);
        multiply_add_lanes(&mut c10, x1, y0);
        multiply_add_lanes(&mut c11, x1, y1);
        multiply_add_lanes(&mut c12, x1, y2);
        multiply_add_lanes(&mut c13, x1, y3);
    }
    *lanes = [[c00, c01, c02, c03], [c10, c11, c12, c13]];
}

/// `weight_grad[j, k] += d_out[j] · input[k]` for every `j`, `k` (`d_out` `[out, n]`, `input`
/// `[inp, n]`, `weight_grad` `[out, inp]`), each dot product computed as
/// [`accumulate`] over the whole chunks of 8 (tile by tile) and then [`finish`]. Blocks of
/// [`GRADIENT_ROWS`] rows by [`GROUP`] inputs go through [`accumulate_block`], the rest through
/// [`accumulate_group`] and [`accumulate`]: the same lanes, bit for bit.
fn add_weight_gradients(
    plan: &Plan,
    d_out: &[f32],
    input: &[f32],
    weight_grad: &mut [f32],
    inp: usize,
    n: usize,
) {
    let cost = weight_grad.len() * n;
    let whole = n / 8 * 8;
    let grouped = inp / GROUP * GROUP;
    let column = |k: usize, start: usize, end: usize| &input[k * n + start..k * n + end];
    plan.over_rows(weight_grad, inp, cost, |first, grads| {
        let rows = grads.len() / inp.max(1);
        let blocked = rows / GRADIENT_ROWS * GRADIENT_ROWS;
        // Lanes of the blocked dot products, block by block (so that a block's lanes are one
        // value the kernel reads and writes in place), and of all the others.
        let groups = grouped / GROUP;
        let mut block_lanes =
            vec![[[[0.0f32; 8]; GROUP]; GRADIENT_ROWS]; blocked / GRADIENT_ROWS * groups];
        let mut lanes = vec![[0.0f32; 8]; grads.len()];
        let d_row = |r: usize, start: usize, end: usize| {
            &d_out[(first + r) * n + start..(first + r) * n + end]
        };
        for (start, end) in plan.tiles(whole) {
            for (b, held_row) in block_lanes.chunks_exact_mut(groups.max(1)).enumerate() {
                let top = b * GRADIENT_ROWS;
                let ds = std::array::from_fn(|i| d_row(top + i, start, end));
                for (g, held) in held_row.iter_mut().enumerate() {
                    let bs = std::array::from_fn(|j| column(g * GROUP + j, start, end));
                    accumulate_block(held, ds, bs);
                }
            }
            for (r, lanes_row) in lanes.chunks_exact_mut(inp).enumerate() {
                let d = d_row(r, start, end);
                if r >= blocked {
                    for k in (0..grouped).step_by(GROUP) {
                        let bs = std::array::from_fn(|j| column(k + j, start, end));
                        accumulate_group(&mut lanes_row[k..k + GROUP], d, bs);
                    }
                }
                for (k, lane) in lanes_row.iter_mut().enumerate().skip(grouped) {
                    accumulate(lane, d, column(k, start, end));
                }
            }
        }
        for (r, row) in grads.chunks_exact_mut(inp).enumerate() {
            let d_tail = d_row(r, whole, n);
            for (k, g) in row.iter_mut().enumerate() {
                let lane = if r < blocked && k < grouped {
                    &block_lanes[r / GRADIENT_ROWS * groups + k / GROUP][r % GRADIENT_ROWS]
                        [k % GROUP]
                } else {
                    &lanes[r * inp + k]
                };
                *g += finish(lane, d_tail, column(k, whole, n));
            }
        }
    });
}

/// The backward pass's two gradient buffers, swapped at every layer.
#[derive(Debug, Default)]
struct GradientBuffers {
    /// The gradient flowing back: with respect to a layer's output, then to its input.
    current: Vec<f32>,
    /// Where the next layer's gradient is written before the swap.
    spare: Vec<f32>,
    /// Scratch for [`add_product`].
    packed: Vec<f32>,
}

/// Backpropagates `buffers.current` (`[out, n]`, the gradient with respect to the MLP's output)
/// through `layers`, accumulating into `grads`; leaves the gradient with respect to the first
/// `input_rows` of the MLP's input features in `buffers.current` (resized to
/// `[input_rows, n]`). (`f`'s caller needs only the hidden state's rows, not the inputs `x_t`'s.)
fn backward_mlp(
    plan: &Plan,
    layers: &[Affine],
    inputs: &[Vec<f32>],
    grads: &mut [Affine],
    buffers: &mut GradientBuffers,
    n: usize,
    input_rows: usize,
) {
    let GradientBuffers {
        current: d_out,
        spare: scratch,
        packed,
    } = buffers;
    for l in (0..layers.len()).rev() {
        let (layer, input, grad) = (&layers[l], &inputs[l], &mut grads[l]);
        for j in 0..layer.out {
            grad.bias[j] += sum(&d_out[j * n..(j + 1) * n]);
        }
        add_weight_gradients(plan, d_out, input, &mut grad.weight, layer.inp, n);
        // At the first layer only the `input_rows` rows the caller uses are computed (each row
        // is a sum of its own, so leaving the others out changes none of these).
        let rows = if l == 0 { input_rows } else { layer.inp };
        // Every value is written (from zero), so the buffer is only resized.
        scratch.resize(rows * n, 0.0);
        add_product(
            plan,
            scratch,
            d_out,
            layer.out,
            n,
            packed,
            |_| 0.0,
            |k, j| layer.weight[j * layer.inp + k],
        );
        if l > 0 {
            // `input` is the ReLU output of layer l - 1: the derivative is 1 where it is positive.
            // Written as a select (every value stored) so that it vectorises.
            for (d, &a) in scratch.iter_mut().zip(input) {
                *d = if a <= 0.0 { 0.0 } else { *d };
            }
        }
        std::mem::swap(d_out, scratch);
    }
}

impl Workspace {
    pub fn new() -> Self {
        Workspace::default()
    }

    /// A workspace whose kernels follow `plan` (results are bitwise those of any other plan).
    pub fn with_plan(plan: Plan) -> Self {
        Workspace {
            plan,
            ..Workspace::default()
        }
    }

    fn prepare(&mut self, model: &AnchorRnn, n: usize, length: usize) {
        let key = (
            n,
            length,
            model.f.iter().map(|l| l.inp).collect::<Vec<_>>(),
            model.g.iter().map(|l| l.inp).collect::<Vec<_>>(),
        );
        if self.key.as_ref() == Some(&key) {
            return;
        }
        let buffers = |layers: &[Affine]| {
            layers
                .iter()
                .map(|l| vec![0.0f32; l.inp * n])
                .collect::<Vec<_>>()
        };
        self.f_inputs = (0..length).map(|_| buffers(&model.f)).collect();
        self.g_inputs = (0..length).map(|_| buffers(&model.g)).collect();
        self.outputs = (0..length)
            .map(|_| vec![0.0; model.output_dim * n])
            .collect();
        self.n = n;
        self.key = Some(key);
    }

    /// Runs the network on every sequence of `batch`; afterwards [`Workspace::output`] holds the
    /// predictions. The model must have been validated and match the batch's sizes.
    pub fn forward(&mut self, model: &AnchorRnn, batch: &Batch) {
        let (n, h) = (batch.n, model.hidden);
        self.prepare(model, n, batch.length);
        for t in 0..batch.length {
            let (before, from_t) = self.g_inputs.split_at_mut(t);
            let z = &mut self.f_inputs[t][0];
            match before.last() {
                Some(previous) => z[..h * n].copy_from_slice(&previous[0]),
                None => z[..h * n].fill(0.0),
            }
            z[h * n..].copy_from_slice(batch.step_inputs(t));
            let state_inputs = &mut from_t[0];
            forward_mlp(
                &self.plan,
                &model.f,
                &mut self.f_inputs[t],
                &mut state_inputs[0],
                n,
                &mut self.packed,
            );
            forward_mlp(
                &self.plan,
                &model.g,
                state_inputs,
                &mut self.outputs[t],
                n,
                &mut self.packed,
            );
        }
    }

    /// Output `j` of sequence `i` at step `t` of the last [`Workspace::forward`].
    pub fn output(&self, t: usize, i: usize, j: usize) -> f32 {
        self.outputs[t][j * self.n + i]
    }

    /// Forward and backward pass: returns the mean loss and overwrites `grads` (a network of the
    /// model's shape) with its gradient.
    pub fn loss_and_gradients(
        &mut self,
        model: &AnchorRnn,
        batch: &Batch,
        grads: &mut AnchorRnn,
    ) -> f64 {
        self.backpropagate(model, batch, grads, true)
    }

    /// [`Workspace::loss_and_gradients`] without the loss's value (its logarithms are most of
    /// a small network's per-output cost): writes the same gradients, bit for bit, and returns
    /// whether the loss would have been finite.
    pub fn gradients(&mut self, model: &AnchorRnn, batch: &Batch, grads: &mut AnchorRnn) -> bool {
        self.backpropagate(model, batch, grads, false).is_finite()
    }

    /// The backward pass; the mean loss when `with_loss`, else 0 when every squared error is
    /// finite (exactly when the loss is) and NaN otherwise.
    fn backpropagate(
        &mut self,
        model: &AnchorRnn,
        batch: &Batch,
        grads: &mut AnchorRnn,
        with_loss: bool,
    ) -> f64 {
        self.forward(model, batch);
        for t in crate::train::model::tensors_mut(grads) {
            t.fill(0.0);
        }
        let (n, h, o) = (batch.n, model.hidden, model.output_dim);
        let count = (n * batch.length * o).max(1) as f32;
        let mut loss = 0.0f64;
        let mut finite = true;
        let mut buffers = std::mem::take(&mut self.gradients);
        let mut d_state = std::mem::take(&mut self.grad_state);
        d_state.clear();
        d_state.resize(h * n, 0.0);
        for t in (0..batch.length).rev() {
            let d = &mut buffers.current;
            d.clear();
            for (&y_hat, &y) in self.outputs[t].iter().zip(batch.step_targets(t)) {
                let err = y_hat - y;
                let square = err * err;
                if with_loss {
                    loss += 0.5 * (square as f64).ln_1p();
                } else {
                    finite &= square.is_finite();
                }
                d.push(err / (1.0 + square) / count);
            }
            backward_mlp(
                &self.plan,
                &model.g,
                &self.g_inputs[t],
                &mut grads.g,
                &mut buffers,
                n,
                h,
            );
            axpy(1.0, &d_state, &mut buffers.current);
            backward_mlp(
                &self.plan,
                &model.f,
                &self.f_inputs[t],
                &mut grads.f,
                &mut buffers,
                n,
                h,
            );
            d_state.copy_from_slice(&buffers.current);
        }
        self.gradients = buffers;
        self.grad_state = d_state;
        match (with_loss, finite) {
            (true, _) => loss / count as f64,
            (false, true) => 0.0,
            (false, false) => f64::NAN,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::model::{initialise, tensors, tensors_mut, zeros_like, Architecture};

    fn toy_batch() -> Batch {
        // 3 sequences of 4 steps, 2 features, 1 output.
        let inputs: Vec<f32> = (0..24).map(|i| ((i * 7 % 11) as f32 - 5.0) / 3.0).collect();
        let targets: Vec<f32> = (0..12).map(|i| (i % 3) as f32).collect();
        Batch {
            n: 3,
            length: 4,
            input_dim: 2,
            output_dim: 1,
            inputs,
            targets,
        }
    }

    fn loss_only(model: &AnchorRnn, batch: &Batch) -> f64 {
        let mut grads = zeros_like(model);
        Workspace::new().loss_and_gradients(model, batch, &mut grads)
    }

    #[test]
    fn forward_matches_the_reference_run() {
        let arch = Architecture {
            hidden: 3,
            f_widths: vec![5],
            g_widths: vec![4],
        };
        let model = initialise(&arch, 2, 1, 3);
        let batch = toy_batch();
        let mut ws = Workspace::new();
        ws.forward(&model, &batch);
        for i in 0..batch.n {
            let seq: Vec<Vec<f32>> = (0..batch.length)
                .map(|t| {
                    (0..2)
                        .map(|j| batch.step_inputs(t)[j * batch.n + i])
                        .collect()
                })
                .collect();
            let reference = model.run(&seq).unwrap();
            for (t, y) in reference.iter().enumerate() {
                assert!((ws.output(t, i, 0) - y[0]).abs() < 1e-5);
            }
        }
    }

    /// The reference dot product, in the baseline build: [`accumulate`]'s lanes over the whole
    /// chunks of 8, then [`finish`].
    fn dot(a: &[f32], b: &[f32]) -> f32 {
        let whole = a.len() / 8 * 8;
        let mut lanes = [0.0f32; 8];
        accumulate_body(&mut lanes, &a[..whole], &b[..whole]);
        finish(&lanes, &a[whole..], &b[whole..])
    }

    fn bits(values: &[f32]) -> Vec<u32> {
        values.iter().map(|v| v.to_bits()).collect()
    }

    #[test]
    fn kernels_match_the_plain_loops_bit_for_bit() {
        // Sizes that are not multiples of the lanes (8) or the tile, large
        // enough to be split over threads, with some zero weights (skipped, never added).
        let (out, inp, n) = (13, 37, 4_500);
        assert!(out * inp * n >= PARALLEL_WORK);
        let mut rng = crate::rng::SplitMix64::new(3);
        let mut real = |count: usize| -> Vec<f32> {
            (0..count)
                .map(|_| (rng.int_in(-1000, 1000) as f32) / 37.0)
                .collect()
        };
        let mut weight = real(out * inp);
        for k in [0, 5, 40, 41, 42, 43, 300] {
            weight[k] = 0.0;
        }
        let layer = Affine {
            weight,
            bias: real(out),
            out,
            inp,
        };
        let input = real(inp * n);
        let d_out = real(out * n);
        let initial_grad = real(out * inp);

        let mut expected_out = vec![0.0f32; out * n];
        for j in 0..out {
            let row = &mut expected_out[j * n..(j + 1) * n];
            row.fill(layer.bias[j]);
            for k in 0..inp {
                let w = layer.weight[j * inp + k];
                if w != 0.0 {
                    axpy_body(w, &input[k * n..(k + 1) * n], row);
                }
            }
        }
        let mut expected_grad = initial_grad.clone();
        for j in 0..out {
            for k in 0..inp {
                expected_grad[j * inp + k] +=
                    dot(&d_out[j * n..(j + 1) * n], &input[k * n..(k + 1) * n]);
            }
        }
        let mut expected_back = vec![0.0f32; inp * n];
        for j in 0..out {
            for k in 0..inp {
                let w = layer.weight[j * inp + k];
                if w != 0.0 {
                    axpy_body(
                        w,
                        &d_out[j * n..(j + 1) * n],
                        &mut expected_back[k * n..(k + 1) * n],
                    );
                }
            }
        }

        for plan in [
            Plan::SERIAL,
            Plan {
                tile: 64,
                threads: 3,
            },
            Plan {
                tile: 8,
                threads: 2,
            },
        ] {
            let mut got_out = vec![f32::NAN; out * n];
            let mut packed = Vec::new();
            affine(&plan, &layer, &input, &mut got_out, n, &mut packed);
            assert_eq!(bits(&got_out), bits(&expected_out), "affine, {plan:?}");
            let mut got_grad = initial_grad.clone();
            add_weight_gradients(&plan, &d_out, &input, &mut got_grad, inp, n);
            assert_eq!(bits(&got_grad), bits(&expected_grad), "gradients, {plan:?}");
            let mut got_back = vec![0.0f32; inp * n];
            // Overwritten: the product starts from zero whatever the buffer held.
            got_back.fill(f32::NAN);
            add_product(
                &plan,
                &mut got_back,
                &d_out,
                out,
                n,
                &mut packed,
                |_| 0.0,
                |k, j| layer.weight[j * inp + k],
            );
            assert_eq!(
                bits(&got_back),
                bits(&expected_back),
                "input gradient, {plan:?}"
            );
        }
    }

    #[test]
    fn tiles_and_threads_change_no_bit_of_the_result() {
        // Large enough that every layer call is split over threads, with a batch that is not
        // a multiple of the tile or of 8, so tiles and dot-product tails both occur.
        let arch = Architecture {
            hidden: 16,
            f_widths: vec![64],
            g_widths: vec![8],
        };
        let model = initialise(&arch, 2, 1, 5);
        let (n, length) = (2_500, 3);
        let mut rng = crate::rng::SplitMix64::new(9);
        let batch = Batch::random(&mut rng, (n, length), (2, 1), (9, 20));
        assert!(64 * 18 * n >= PARALLEL_WORK);
        let run = |plan: Plan| {
            let mut grads = zeros_like(&model);
            let loss = Workspace::with_plan(plan).loss_and_gradients(&model, &batch, &mut grads);
            (loss.to_bits(), tensors(&grads).concat())
        };
        let (serial_loss, serial) = run(Plan::SERIAL);
        for plan in [
            Plan {
                tile: 16,
                threads: 3,
            },
            Plan {
                tile: 512,
                threads: 2,
            },
            Plan {
                tile: 8,
                threads: 1,
            },
            // Not a multiple of 8: used as 16.
            Plan {
                tile: 21,
                threads: 2,
            },
        ] {
            let (loss, grads) = run(plan);
            assert_eq!(loss, serial_loss, "{plan:?}");
            let same = serial
                .iter()
                .zip(&grads)
                .all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(same, "{plan:?} changed a gradient");
        }
        assert!(serial.iter().any(|&g| g != 0.0));
    }

    #[test]
    fn gradients_without_the_loss_are_the_same_bits() {
        let model = initialise(
            &Architecture {
                hidden: 3,
                f_widths: vec![5],
                g_widths: vec![4],
            },
            2,
            1,
            3,
        );
        let batch = toy_batch();
        let mut with_loss = zeros_like(&model);
        let loss = Workspace::new().loss_and_gradients(&model, &batch, &mut with_loss);
        assert!(loss.is_finite() && loss > 0.0);
        let mut without = zeros_like(&model);
        without.f[0].weight[0] = 7.0; // overwritten, as by loss_and_gradients
        assert!(Workspace::new().gradients(&model, &batch, &mut without));
        assert_eq!(
            bits(&tensors(&with_loss).concat()),
            bits(&tensors(&without).concat())
        );
        // Outputs so large that their squares overflow: the loss is infinite, and so reported.
        let mut huge = model.clone();
        huge.g.last_mut().unwrap().bias[0] = 1e30;
        let mut grads = zeros_like(&model);
        assert!(!Workspace::new()
            .loss_and_gradients(&huge, &batch, &mut grads)
            .is_finite());
        assert!(!Workspace::new().gradients(&huge, &batch, &mut grads));
    }

    #[test]
    fn gradients_match_finite_differences() {
        let arch = Architecture {
            hidden: 3,
            f_widths: vec![6],
            g_widths: vec![4],
        };
        // Central differences with a step of 3e-3 on an f32 forward pass are accurate to a few
        // parts in 1e3 away from ReLU kinks; a wrong gradient is off by far more.
        let model = initialise(&arch, 2, 1, 11);
        let batch = toy_batch();
        let mut grads = zeros_like(&model);
        Workspace::new().loss_and_gradients(&model, &batch, &mut grads);
        let analytic: Vec<f32> = tensors(&grads).concat();
        let mut index = 0;
        for tensor in 0..tensors(&model).len() {
            for k in 0..tensors(&model)[tensor].len() {
                let eps = 3e-3f32;
                let mut plus = model.clone();
                tensors_mut(&mut plus)[tensor][k] += eps;
                let mut minus = model.clone();
                tensors_mut(&mut minus)[tensor][k] -= eps;
                let numeric =
                    (loss_only(&plus, &batch) - loss_only(&minus, &batch)) / (2.0 * eps as f64);
                let a = analytic[index] as f64;
                assert!(
                    (numeric - a).abs() <= 5e-3 * numeric.abs().max(a.abs()).max(1e-2),
                    "parameter {index}: numeric {numeric}, analytic {a}"
                );
                index += 1;
            }
        }
        assert_eq!(index, arch.parameter_count(2, 1));
    }
}
