//! Step 4 of the engine: a general, exact solver for small integer programs of the form
//! `min Σ_r max(0, a_r − σ_r·x)` subject to `Σ_{j in group g} x_j ≤ cap_g`, `x ≥ 0` integer
//! (`σ` in {-1, 0, 1}): LP-based branch and bound, each relaxation solved by a fraction-free
//! (Edmonds/Bareiss) primal simplex with Bland's rule, every value an exact integer. It knows
//! nothing of hours or rules (see [`super`] for why it is exact and bounded).

/// Branch-and-bound nodes explored at most (a safety valve; see the module documentation).
const MAX_NODES: usize = 1000;

/// Rounds of local search per candidate at most (each round lowers the objective).
const MAX_POLISH_ROUNDS: usize = 64;

/// Simplex pivots per LP at most (Bland's rule cannot cycle; this only bounds the loop).
const MAX_PIVOTS: usize = 10_000;

/// `min Σ_r max(0, a_r − σ_r·x)` subject to `Σ_{j in group g} x_j ≤ cap_g`, `x ≥ 0` integer.
#[derive(Debug)]
pub(super) struct Ilp {
    /// The capacity group of each unknown.
    pub(super) group: Vec<usize>,
    pub(super) cap: Vec<i64>,
    pub(super) rows: Vec<Row>,
}

/// One term `max(0, a − σ·x)` of the objective.
#[derive(Debug)]
pub(super) struct Row {
    pub(super) a: i64,
    pub(super) sigma: Vec<i8>,
}

/// A branch-and-bound node: bounds on the unknowns and the parent's LP bound.
struct Node {
    lo: Vec<i64>,
    hi: Vec<Option<i64>>,
    bound: i128,
}

/// An exact LP optimum: `x_j = lo_j + num_j / den`, objective `z_num / den`.
struct Relaxed {
    num: Vec<i64>,
    den: i64,
    z_num: i64,
}

/// The LP could not be solved within the safety valves: a number left `i64`, a division was not
/// exact (which the theory rules out) or the pivot limit was reached.
#[derive(Debug)]
struct OutOfRange;

impl Ilp {
    /// The exact objective at an integer point.
    fn objective(&self, x: &[i64]) -> i128 {
        self.rows
            .iter()
            .map(|row| {
                let gain: i128 = row
                    .sigma
                    .iter()
                    .zip(x)
                    .map(|(&s, &v)| i128::from(s) * i128::from(v))
                    .sum();
                (i128::from(row.a) - gain).max(0)
            })
            .sum()
    }

    /// An optimal integer point (depth-first branch and bound on exact LP relaxations).
    pub(super) fn solve(&self) -> Vec<i64> {
        let n = self.group.len();
        let mut best_x = vec![0i64; n];
        let mut best = self.objective(&best_x);
        let mut stack = vec![Node {
            lo: vec![0; n],
            hi: vec![None; n],
            bound: 0,
        }];
        let mut nodes = 0usize;
        while best > 0 {
            let Some(Node { lo, hi, bound }) = stack.pop() else {
                break;
            };
            // The parent's bound holds here too; the incumbent may have improved since.
            if bound >= best {
                continue;
            }
            nodes += 1;
            if nodes > MAX_NODES {
                break;
            }
            let relaxed = match self.relax(&lo, &hi) {
                Ok(Some(r)) => r,
                Ok(None) => continue,
                Err(OutOfRange) => break,
            };
            let bound = i128::from(relaxed.z_num).div_euclid(i128::from(relaxed.den))
                + i128::from(relaxed.z_num.rem_euclid(relaxed.den) != 0);
            if bound >= best {
                continue;
            }
            // Rounding every unknown down stays feasible (caps and bounds are integers); a local
            // search from there often reaches the bound at once.
            let floor: Vec<i64> = (0..n)
                .map(|j| lo[j].saturating_add(relaxed.num[j].div_euclid(relaxed.den)))
                .collect();
            let mut candidate = floor.clone();
            let mut value = self.objective(&candidate);
            if value > bound {
                value = self.polish(&mut candidate);
            }
            if value < best {
                best = value;
                best_x = candidate;
            }
            if best <= bound {
                continue;
            }
            let Some(j) = (0..n).find(|&j| relaxed.num[j].rem_euclid(relaxed.den) != 0) else {
                continue;
            };
            let mut up = lo.clone();
            up[j] = floor[j].saturating_add(1);
            let mut down = hi.clone();
            down[j] = Some(floor[j]);
            let up = Node { lo: up, hi, bound };
            let down = Node {
                lo,
                hi: down,
                bound,
            };
            // Explore first the side the LP value is nearer to.
            if 2 * relaxed.num[j].rem_euclid(relaxed.den) >= relaxed.den {
                stack.extend([down, up]);
            } else {
                stack.extend([up, down]);
            }
        }
        best_x
    }

    /// Improve a feasible integer point by exact line searches along single unknowns and along
    /// moves between two unknowns of one group, until none helps. Returns its objective.
    fn polish(&self, x: &mut [i64]) -> i128 {
        let n = x.len();
        let mut residual: Vec<i128> = self
            .rows
            .iter()
            .map(|row| {
                let gain: i128 = row
                    .sigma
                    .iter()
                    .zip(x.iter())
                    .map(|(&s, &v)| i128::from(s) * i128::from(v))
                    .sum();
                i128::from(row.a) - gain
            })
            .collect();
        let mut used: Vec<i128> = vec![0; self.cap.len()];
        for (j, &v) in x.iter().enumerate() {
            used[self.group[j]] += i128::from(v);
        }
        for _ in 0..MAX_POLISH_ROUNDS {
            let mut improved = false;
            for j in 0..n {
                for k in 0..=n {
                    // Direction: +1 on j and -1 on k (k == n: none), or -1 on j alone (k == j).
                    let (plus, minus) = match k {
                        _ if k == n => (Some(j), None),
                        _ if k == j => (None, Some(j)),
                        _ if self.group[k] == self.group[j] => (Some(j), Some(k)),
                        _ => continue,
                    };
                    let room = match (plus, minus) {
                        (_, Some(m)) => i128::from(x[m]),
                        (Some(p), None) => {
                            i128::from(self.cap[self.group[p]]) - used[self.group[p]]
                        }
                        (None, None) => 0,
                    };
                    if room <= 0 {
                        continue;
                    }
                    let effect = |row: &Row| {
                        plus.map_or(0, |p| i128::from(row.sigma[p]))
                            - minus.map_or(0, |m| i128::from(row.sigma[m]))
                    };
                    let Some(step) = self.line_search(&residual, room, effect) else {
                        continue;
                    };
                    let Ok(step64) = i64::try_from(step) else {
                        continue;
                    };
                    for (res, row) in residual.iter_mut().zip(&self.rows) {
                        *res -= effect(row) * step;
                    }
                    let step = step64;
                    if let Some(p) = plus {
                        x[p] += step;
                        used[self.group[p]] += i128::from(step);
                    }
                    if let Some(m) = minus {
                        x[m] -= step;
                        used[self.group[m]] -= i128::from(step);
                    }
                    improved = true;
                }
            }
            if !improved {
                break;
            }
        }
        self.objective(x)
    }

    /// The best step `t` in `1..=room` along a direction changing each residual `r` by
    /// `-effect(row)·t`, when some step lowers the objective. The objective is convex and
    /// piecewise linear in `t`, so its best integer step is next to a breakpoint or at an end.
    fn line_search(
        &self,
        residual: &[i128],
        room: i128,
        effect: impl Fn(&Row) -> i128,
    ) -> Option<i128> {
        let at = |t: i128| -> i128 {
            residual
                .iter()
                .zip(&self.rows)
                .map(|(&r, row)| (r - effect(row) * t).max(0))
                .sum()
        };
        let now = at(0);
        let mut best: Option<(i128, i128)> = None;
        let mut consider = |t: i128| {
            if (1..=room).contains(&t) {
                let gain = now - at(t);
                if gain > 0 && best.is_none_or(|(bt, bg)| gain > bg || (gain == bg && t < bt)) {
                    best = Some((t, gain));
                }
            }
        };
        consider(1);
        consider(room);
        for (&r, row) in residual.iter().zip(&self.rows) {
            let e = effect(row);
            if e != 0 {
                let t = r.div_euclid(e);
                consider(t - 1);
                consider(t);
                consider(t + 1);
            }
        }
        best.map(|(t, _)| t)
    }

    /// The LP relaxation with `lo ≤ x ≤ hi`, solved exactly; `None` when the bounds are
    /// inconsistent.
    ///
    /// Columns: `x'` (= x − lo), group slacks, shortfalls `y`, surpluses `v`, bound slacks, rhs.
    /// Rows: groups (`Σ x' + slack = cap − Σ lo`), requirements (`σ·x' + y − v = a − σ·lo`, negated
    /// when the right side is negative so that `v` starts basic), bounds (`x' + slack = hi − lo`),
    /// then the reduced costs of `min Σ y`. Every starting basis is a feasible identity.
    fn relax(&self, lo: &[i64], hi: &[Option<i64>]) -> Result<Option<Relaxed>, OutOfRange> {
        let n = self.group.len();
        let g = self.cap.len();
        let r = self.rows.len();
        let bounded: Vec<usize> = (0..n).filter(|&j| hi[j].is_some()).collect();
        let m = g + r + bounded.len();
        let w = n + g + 2 * r + bounded.len() + 1;
        let rhs = w - 1;
        let mut t = vec![0i64; (m + 1) * w];
        let mut basis = vec![0usize; m];
        let mut basic_cost = vec![false; m];
        let fit = |v: i128| i64::try_from(v).map_err(|_| OutOfRange);

        for (k, &cap) in self.cap.iter().enumerate() {
            let used: i128 = (0..n)
                .filter(|&j| self.group[j] == k)
                .map(|j| i128::from(lo[j]))
                .sum();
            let room = i128::from(cap) - used;
            if room < 0 {
                return Ok(None);
            }
            for j in (0..n).filter(|&j| self.group[j] == k) {
                t[k * w + j] = 1;
            }
            t[k * w + n + k] = 1;
            t[k * w + rhs] = fit(room)?;
            basis[k] = n + k;
        }
        for (i, row) in self.rows.iter().enumerate() {
            let at = (g + i) * w;
            let shift: i128 = row
                .sigma
                .iter()
                .zip(lo)
                .map(|(&s, &l)| i128::from(s) * i128::from(l))
                .sum();
            let rest = i128::from(row.a) - shift;
            let sign: i64 = if rest < 0 { -1 } else { 1 };
            for (j, &s) in row.sigma.iter().enumerate() {
                t[at + j] = sign * i64::from(s);
            }
            t[at + n + g + i] = sign;
            t[at + n + g + r + i] = -sign;
            t[at + rhs] = fit(rest.abs())?;
            basis[g + i] = if sign > 0 { n + g + i } else { n + g + r + i };
            basic_cost[g + i] = sign > 0;
        }
        for (q, &j) in bounded.iter().enumerate() {
            let at = (g + r + q) * w;
            let room = i128::from(hi[j].unwrap_or(0)) - i128::from(lo[j]);
            if room < 0 {
                return Ok(None);
            }
            t[at + j] = 1;
            t[at + n + g + 2 * r + q] = 1;
            t[at + rhs] = fit(room)?;
            basis[g + r + q] = n + g + 2 * r + q;
        }
        // Reduced costs: c − Σ c_B · row; the rhs cell holds −z.
        let obj = m * w;
        for i in 0..r {
            t[obj + n + g + i] = 1;
        }
        for i in (0..m).filter(|&i| basic_cost[i]) {
            for col in 0..w {
                t[obj + col] = t[obj + col].checked_sub(t[i * w + col]).ok_or(OutOfRange)?;
            }
        }

        let den = simplex(&mut t, w, m, &mut basis)?;
        let mut num = vec![0i64; n];
        for (i, &b) in basis.iter().enumerate() {
            if b < n {
                num[b] = t[i * w + rhs];
            }
        }
        let z_num = t[obj + rhs].checked_neg().ok_or(OutOfRange)?;
        Ok(Some(Relaxed { num, den, z_num }))
    }
}

/// Fraction-free primal simplex with Bland's rule on a feasible tableau (`m` rows, objective row
/// `m`, rhs in the last column, identity basis, denominator 1). Tableau values are the true ones
/// times the returned denominator (the basis determinant, always positive).
fn simplex(t: &mut [i64], w: usize, m: usize, basis: &mut [usize]) -> Result<i64, OutOfRange> {
    let rhs = w - 1;
    let obj = m * w;
    let mut den: i64 = 1;
    let mut pivot_row = vec![0i64; w];
    for _ in 0..MAX_PIVOTS {
        let Some(c) = (0..rhs).find(|&j| t[obj + j] < 0) else {
            return Ok(den);
        };
        // Minimum ratio rhs/a over a > 0; ties to the smallest basic column (Bland).
        let mut leave: Option<usize> = None;
        for i in 0..m {
            let a = t[i * w + c];
            if a <= 0 {
                continue;
            }
            leave = match leave {
                None => Some(i),
                Some(l) => {
                    let lhs = i128::from(t[i * w + rhs]) * i128::from(t[l * w + c]);
                    let rhs_l = i128::from(t[l * w + rhs]) * i128::from(a);
                    if lhs < rhs_l || (lhs == rhs_l && basis[i] < basis[l]) {
                        Some(i)
                    } else {
                        Some(l)
                    }
                }
            };
        }
        // The objective is bounded below by zero, so some row always limits the step.
        let Some(r) = leave else {
            return Err(OutOfRange);
        };
        let p = t[r * w + c];
        pivot_row.copy_from_slice(&t[r * w..(r + 1) * w]);
        for i in (0..=m).filter(|&i| i != r) {
            let row = &mut t[i * w..(i + 1) * w];
            let f = row[c];
            if f == 0 && p == den {
                continue;
            }
            for (cell, &pr) in row.iter_mut().zip(&pivot_row) {
                let v = i128::from(*cell) * i128::from(p) - i128::from(f) * i128::from(pr);
                let v = if den == 1 {
                    v
                } else {
                    let d = i128::from(den);
                    if v % d != 0 {
                        return Err(OutOfRange);
                    }
                    v / d
                };
                *cell = i64::try_from(v).map_err(|_| OutOfRange)?;
            }
        }
        basis[r] = c;
        den = p;
    }
    Err(OutOfRange)
}
