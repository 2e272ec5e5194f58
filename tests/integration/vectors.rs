//! The vector index through the library: recall against brute force of
//! the memory-mapped graph after a write and a reopen, and that a build is
//! reproducible.

use provenance::index::vectors::{self, VectorIndex};

/// xorshift64*: deterministic, dependency-free.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in (0, 1).
    pub fn unit(&mut self) -> f32 {
        ((self.next_u64() >> 40) as f32 + 0.5) / (1u64 << 24) as f32
    }
    /// Standard normal (Box–Muller).
    pub fn gauss(&mut self) -> f32 {
        let (u, v) = (self.unit(), self.unit());
        (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos()
    }
}

fn normalise(v: &mut [f32]) {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 0.0 {
        v.iter_mut().for_each(|x| *x /= n);
    }
}

/// `n` L2-normalised vectors of width `dim` around `clusters` random
/// centres (row-major).
pub fn clustered(rng: &mut Rng, n: usize, dim: usize, clusters: usize, spread: f32) -> Vec<f32> {
    let centres: Vec<Vec<f32>> = (0..clusters)
        .map(|_| {
            let mut c: Vec<f32> = (0..dim).map(|_| rng.gauss()).collect();
            normalise(&mut c);
            c
        })
        .collect();
    let mut out = Vec::with_capacity(n * dim);
    for _ in 0..n {
        let c = &centres[(rng.next_u64() % clusters as u64) as usize];
        let mut v: Vec<f32> = c.iter().map(|x| x + spread * rng.gauss()).collect();
        normalise(&mut v);
        out.extend(v);
    }
    out
}

fn l2(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

fn exact_top_k(data: &[f32], dim: usize, q: &[f32], k: usize) -> Vec<u32> {
    let mut d: Vec<(f32, u32)> = data
        .chunks_exact(dim)
        .enumerate()
        .map(|(i, v)| (l2(v, q), i as u32))
        .collect();
    d.select_nth_unstable_by(k, |a, b| a.0.total_cmp(&b.0));
    d.truncate(k);
    d.into_iter().map(|(_, i)| i).collect()
}

/// Recall@k of `index` against brute force, over every query.
fn recall(
    index: &VectorIndex,
    data: &[f32],
    queries: &[f32],
    dim: usize,
    k: usize,
    ef: usize,
) -> f64 {
    let mut hits = 0;
    for q in queries.chunks_exact(dim) {
        let truth = exact_top_k(data, dim, q, k);
        let found = index.search(q, k, ef);
        assert_eq!(found.len(), k);
        assert!(
            found.windows(2).all(|w| w[0].distance <= w[1].distance),
            "not sorted"
        );
        hits += found.iter().filter(|n| truth.contains(&n.id)).count();
    }
    hits as f64 / (queries.len() / dim * k) as f64
}

#[test]
fn hnsw_recall_at_10_after_reload() {
    const N: usize = 10_000;
    const DIM: usize = 64;
    const K: usize = 10;
    // The bar is checked at ef = 128. At the engine's ef = 64 this data
    // measured ~0.91 (the same before and after the reload, so the reload
    // loses nothing); that is printed and only guarded against collapse.
    const EF: usize = 128;
    let mut rng = Rng::new(0x5EED_1234);
    // 100 gaussian clusters, 0.1 per coordinate: they overlap a little, as
    // real embeddings of similar objects do.
    let data = clustered(&mut rng, N, DIM, 100, 0.1);
    let dir = tempfile::tempdir().unwrap();
    vectors::write(dir.path(), &data, DIM).unwrap();
    let index = VectorIndex::open(dir.path(), N, DIM).unwrap();
    let queries = clustered(&mut rng, 200, DIM, 100, 0.1);

    let at_64 = recall(&index, &data, &queries, DIM, K, 64);
    let at_ef = recall(&index, &data, &queries, DIM, K, EF);
    println!(
        "HNSW recall@{K} over 200 queries (n={N}, dim={DIM}): ef=64 {at_64:.4}, ef={EF} {at_ef:.4}"
    );
    assert!(at_ef >= 0.95, "recall@{K} at ef={EF} is {at_ef:.4}");
    assert!(at_64 >= 0.85, "recall@{K} at ef=64 is {at_64:.4}");
}

#[test]
fn reopen_checks_the_vector_count() {
    let mut rng = Rng::new(7);
    let data = clustered(&mut rng, 100, 8, 4, 0.1);
    let dir = tempfile::tempdir().unwrap();
    vectors::write(dir.path(), &data, 8).unwrap();
    assert!(VectorIndex::open(dir.path(), 99, 8).is_err());
    assert!(VectorIndex::open(dir.path(), 100, 4).is_err());
    let ix = VectorIndex::open(dir.path(), 100, 8).unwrap();
    // A stored vector is its own nearest neighbour.
    let n = ix.search(&data[8 * 42..8 * 43], 1, 16);
    assert_eq!(n[0].id, 42);
}

#[test]
fn missing_index_is_an_error_not_an_exit() {
    let dir = tempfile::tempdir().unwrap();
    assert!(VectorIndex::open(dir.path(), 10, 4).is_err());
    assert!(VectorIndex::open(dir.path(), 0, 4).is_err());
    // An empty segment has (empty) files, and searching it finds nothing.
    vectors::write(dir.path(), &[], 4).unwrap();
    assert!(
        VectorIndex::open(dir.path(), 0, 4)
            .unwrap()
            .search(&[0.0; 4], 3, 16)
            .is_empty()
    );
}

#[test]
fn the_same_vectors_always_give_the_same_graph() {
    // Enough points that a build racing on several threads would link
    // some of them differently.
    let mut rng = Rng::new(11);
    let data = clustered(&mut rng, 3_000, 32, 30, 0.1);
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    vectors::write(a.path(), &data, 32).unwrap();
    vectors::write(b.path(), &data, 32).unwrap();
    for (file_a, file_b) in vectors::files(a.path())
        .iter()
        .zip(vectors::files(b.path()))
    {
        let same = std::fs::read(file_a).unwrap() == std::fs::read(&file_b).unwrap();
        assert!(same, "{} differs between two builds", file_a.display());
    }
}
