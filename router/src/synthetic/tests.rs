use std::time::{SystemTime, UNIX_EPOCH};

use lightning::io::Cursor;
use lightning::util::logger::Record;
use lightning::util::ser::ReadableArgs;

use super::*;

struct Quiet;
impl Logger for Quiet {
	fn log(&self, _record: Record) {}
}

fn now() -> u32 {
	SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as u32).unwrap_or(0)
}

fn small(seed: u64) -> Shape {
	Shape { nodes: 1500, channels: 5000, ..Shape::mainnet(seed, now()) }
}

#[test]
fn same_seed_same_graph() {
	let shape = small(1);
	let (a, b) = (generate(&shape).unwrap(), generate(&shape).unwrap());
	assert_eq!(a, b);
	let (ga, gb) = (a.build(&Quiet).unwrap(), b.build(&Quiet).unwrap());
	let bytes = canonical_bytes(&ga);
	assert!(bytes.len() > 5000 * 100, "{} bytes", bytes.len());
	assert_eq!(bytes, canonical_bytes(&gb));
	let other = generate(&small(2)).unwrap();
	assert_ne!(canonical_bytes(&other.build(&Quiet).unwrap()), bytes);
}

#[test]
fn serialized_graph_reads_back_the_same() {
	let graph = generate(&small(3)).unwrap().build(&Quiet).unwrap();
	let read = NetworkGraph::read(&mut Cursor::new(graph.encode()), &Quiet).unwrap();
	assert_eq!(canonical_bytes(&read), canonical_bytes(&graph));
}

#[test]
fn mainnet_shape() {
	let synthetic = generate(&Shape::mainnet(1, now())).unwrap();
	let graph = synthetic.build(&Quiet).unwrap();
	let view = graph.read_only();
	assert_eq!(view.channels().len(), MAINNET_CHANNELS);
	assert_eq!(view.nodes().len(), MAINNET_NODES);
	// About 2% of directions are missing.
	let updates = synthetic.update_count() as f64 / (2 * MAINNET_CHANNELS) as f64;
	assert!((0.97..0.99).contains(&updates), "{updates}");
	assert!(synthetic.announcement_count() > MAINNET_NODES * 9 / 10);

	let mut degrees = synthetic.degrees();
	assert_eq!(degrees.iter().sum::<usize>(), 2 * MAINNET_CHANNELS);
	assert!(degrees.iter().all(|&d| d >= 1));
	degrees.sort_unstable_by(|a, b| b.cmp(a));
	let ones = degrees.iter().filter(|&&d| d == 1).count() as f64 / MAINNET_NODES as f64;
	let top_share =
		degrees[..MAINNET_NODES / 100].iter().sum::<usize>() as f64 / (2 * MAINNET_CHANNELS) as f64;
	let median = degrees[MAINNET_NODES / 2];
	eprintln!(
		"max degree {}, top 10 {:?}, median {median}, degree-1 share {ones:.2}, top 1% hold \
		 {top_share:.2} of channel ends",
		degrees[0],
		&degrees[..10]
	);
	// Heavy tail: hubs with thousands of channels, most nodes with a handful.
	assert!((800..3000).contains(&degrees[0]), "max degree {}", degrees[0]);
	assert!((2..=3).contains(&median), "median degree {median}");
	assert!((0.2..0.5).contains(&ones), "degree-1 share {ones}");
	assert!((0.3..0.6).contains(&top_share), "top 1% share {top_share}");
}

#[test]
fn impossible_shapes_are_refused() {
	let shape = Shape::mainnet(1, now());
	assert!(generate(&Shape { nodes: 1, ..shape.clone() }).is_err());
	assert!(generate(&Shape { nodes: 10, channels: 8, ..shape.clone() }).is_err());
	assert!(generate(&Shape { nodes: 10, channels: 9, ..shape }).is_ok());
}

#[test]
fn payments_are_deterministic_and_in_range() {
	let synthetic = generate(&small(4)).unwrap();
	let payments = synthetic.payments(9, 2000, 1_000_000, 1_000_000_000);
	assert_eq!(payments, synthetic.payments(9, 2000, 1_000_000, 1_000_000_000));
	assert_ne!(payments, synthetic.payments(10, 2000, 1_000_000, 1_000_000_000));
	assert_eq!(payments.len(), 2000);
	assert!(payments.iter().all(|p| p.source != p.destination));
	assert!(payments.iter().all(|p| (1_000_000..=1_000_000_000).contains(&p.amount_msat)));
	// Log-uniform: a third of the amounts in each decade.
	let small = payments.iter().filter(|p| p.amount_msat < 10_000_000).count();
	assert!((550..780).contains(&small), "{small} below 10k sat");
	assert!(synthetic.payments(9, 10, 5, 4).is_empty());
}
