use std::sync::Arc;

use bdk_wallet::{KeychainKind, PersistedWallet, Wallet, WalletPersister};
use bitcoin::bip32::Xpriv;
use bitcoin::hashes::Hash;
use bitcoin::{Amount, Network, OutPoint, Transaction, TxIn, TxOut, Txid};
use lightning::util::logger::Level;
use lightning::util::persist::KVStoreSync;

use super::*;
use crate::logger::FulgurLogger;
use crate::store::{DynStore, MemoryStore, SledStore};
use crate::wallet::OnchainWallet;

const PAID_SAT: u64 = 10_000;

fn xprv() -> Xpriv {
	Xpriv::new_master(Network::Regtest, &[7u8; 32]).expect("master key")
}

/// The wallet with the node's descriptors, new, over `persister`.
fn create<P: WalletPersister>(persister: &mut P, spk_cache: bool) -> PersistedWallet<P>
where
	P::Error: std::fmt::Debug,
{
	let (external, internal) = crate::wallet::descriptors(xprv(), Network::Regtest);
	Wallet::create(external, internal)
		.network(Network::Regtest)
		.use_spk_cache(spk_cache)
		.create_wallet(persister)
		.expect("create wallet")
}

/// An unconfirmed transaction, unique for `n`, paying [`PAID_SAT`] to a new address of
/// `wallet`.
fn receive<P: WalletPersister>(wallet: &mut PersistedWallet<P>, n: u32) {
	let address = wallet.reveal_next_address(KeychainKind::External).address;
	let tx = Transaction {
		version: bitcoin::transaction::Version::TWO,
		lock_time: bitcoin::absolute::LockTime::ZERO,
		input: vec![TxIn {
			previous_output: OutPoint { txid: Txid::hash(&n.to_le_bytes()), vout: 0 },
			..Default::default()
		}],
		output: vec![TxOut {
			value: Amount::from_sat(PAID_SAT),
			script_pubkey: address.script_pubkey(),
		}],
	};
	wallet.apply_unconfirmed_txs([(tx, u64::from(n) + 1)]);
}

/// The store as the node before the log kept it: the whole change set, one JSON value,
/// rewritten on every persist.
struct OldForm(Arc<DynStore>);

impl WalletPersister for OldForm {
	type Error = std::io::Error;

	fn initialize(_: &mut Self) -> Result<ChangeSet, Self::Error> {
		Ok(ChangeSet::default())
	}

	fn persist(persister: &mut Self, changeset: &ChangeSet) -> Result<(), Self::Error> {
		let mut all: ChangeSet = match KVStoreSync::read(&*persister.0, NAMESPACE, "", LEGACY_KEY) {
			Ok(bytes) => serde_json::from_slice(&bytes).expect("old form readable"),
			Err(_) => ChangeSet::default(),
		};
		all.merge(changeset.clone());
		let bytes = serde_json::to_vec(&all).expect("encode");
		KVStoreSync::write(&*persister.0, NAMESPACE, "", LEGACY_KEY, bytes).map_err(store_error)
	}
}

fn log_keys(store: &DynStore) -> Vec<String> {
	KVStoreSync::list(store, NAMESPACE, LOG_NAMESPACE).expect("list")
}

fn open_node_wallet(store: Arc<DynStore>, dir: &tempfile::TempDir) -> OnchainWallet {
	let logger = Arc::new(
		FulgurLogger::new(&dir.path().join("test.log"), "test", Level::Debug).expect("logger"),
	);
	// A wallet that exists asks bitcoind nothing until it syncs; this test never syncs.
	OnchainWallet::load_or_create(
		xprv(),
		Network::Regtest,
		store,
		"127.0.0.1:1",
		"user",
		"password",
		logger,
	)
	.expect("the stored wallet opens")
}

#[test]
fn each_persist_writes_its_changes_not_the_whole_wallet() {
	const PERSISTS: u32 = 2_000;
	let store = Arc::new(MemoryStore::new());
	let mut persister = WalletStore::new(Arc::clone(&store) as Arc<DynStore>);
	let mut wallet = create(&mut persister, true);
	let start = store.stats().bytes_written;
	let mut first_hundred = 0;
	for n in 0..PERSISTS {
		receive(&mut wallet, n);
		wallet.persist(&mut persister).expect("persist");
		if n == 99 {
			first_hundred = store.stats().bytes_written - start;
		}
	}
	let all = store.stats().bytes_written - start;
	// Linear: the increments (20 × the first hundred's) and the folds, which together write
	// the wallet about twice over. A store rewriting the wallet on every persist writes about
	// (PERSISTS / 100)² = 400 × the first hundred's.
	let ratio = all as f64 / first_hundred as f64;
	assert!(ratio < 100.0, "{PERSISTS} persists wrote {ratio:.0} × the first hundred's bytes");

	let mut reopened = WalletStore::new(Arc::clone(&store) as Arc<DynStore>);
	let (external, internal) = crate::wallet::descriptors(xprv(), Network::Regtest);
	let loaded = Wallet::load()
		.descriptor(KeychainKind::External, Some(external))
		.descriptor(KeychainKind::Internal, Some(internal))
		.use_spk_cache(true)
		.load_wallet(&mut reopened)
		.expect("load")
		.expect("a stored wallet");
	assert_eq!(loaded.balance().untrusted_pending.to_sat(), u64::from(PERSISTS) * PAID_SAT);
	assert_eq!(
		loaded.derivation_index(KeychainKind::External),
		wallet.derivation_index(KeychainKind::External)
	);
	let records = log_keys(&*store).len() as u64;
	assert!(records <= MAX_INCREMENTS + 1, "{records} records after the folds");
}

#[test]
fn a_wallet_stored_in_the_old_form_opens_with_its_addresses_and_coins() {
	let dir = tempfile::tempdir().expect("tempdir");
	let store: Arc<DynStore> =
		Arc::new(SledStore::open(&dir.path().join("db")).expect("open store"));
	{
		let mut old = OldForm(Arc::clone(&store));
		let mut wallet = create(&mut old, false);
		for n in 0..5 {
			receive(&mut wallet, n);
			wallet.persist(&mut old).expect("persist in the old form");
		}
		for _ in 0..25 {
			wallet.reveal_next_address(KeychainKind::External);
		}
		wallet.persist(&mut old).expect("persist in the old form");
	}
	assert!(KVStoreSync::read(&*store, NAMESPACE, "", LEGACY_KEY).is_ok());

	let wallet = open_node_wallet(Arc::clone(&store), &dir);
	assert_eq!(wallet.balance().unconfirmed_sat, 5 * PAID_SAT);
	// Indexes 0..=29 were revealed in the old form.
	let next = wallet.new_address().expect("address");
	let (external, internal) = crate::wallet::descriptors(xprv(), Network::Regtest);
	let expected = Wallet::create(external, internal)
		.network(Network::Regtest)
		.create_wallet_no_persist()
		.expect("wallet")
		.peek_address(KeychainKind::External, 30)
		.address;
	assert_eq!(next, expected);
	let legacy = KVStoreSync::read(&*store, NAMESPACE, "", LEGACY_KEY);
	assert_eq!(legacy.map_err(|e| e.kind()), Err(lightning::io::ErrorKind::NotFound));
	assert!(!log_keys(&*store).is_empty());
	drop(wallet);

	// Opened again, from the log alone.
	let wallet = open_node_wallet(Arc::clone(&store), &dir);
	assert_eq!(wallet.balance().unconfirmed_sat, 5 * PAID_SAT);
	let after = wallet.new_address().expect("address");
	assert_ne!(after, next, "an address handed out before the restart is not handed out again");
}

#[test]
fn a_migration_stopped_before_removing_the_old_form_reads_the_same() {
	let store: Arc<DynStore> = Arc::new(MemoryStore::new());
	let mut old = OldForm(Arc::clone(&store));
	let mut wallet = create(&mut old, false);
	receive(&mut wallet, 1);
	wallet.persist(&mut old).expect("persist in the old form");
	let old_bytes = KVStoreSync::read(&*store, NAMESPACE, "", LEGACY_KEY).expect("old form");

	let migrated = WalletStore::new(Arc::clone(&store)).open().expect("open");
	assert_eq!(migrated, serde_json::from_slice::<ChangeSet>(&old_bytes).expect("old form"));
	// The node stopped after writing the log's first record, before removing the old value.
	KVStoreSync::write(&*store, NAMESPACE, "", LEGACY_KEY, old_bytes).expect("write");

	let reread = WalletStore::new(Arc::clone(&store)).open().expect("open");
	assert_eq!(reread, migrated);
	assert_eq!(log_keys(&*store), vec![sequence_key(0)], "migrated once, not twice");
	let legacy = KVStoreSync::read(&*store, NAMESPACE, "", LEGACY_KEY);
	assert_eq!(legacy.map_err(|e| e.kind()), Err(lightning::io::ErrorKind::NotFound));
}

#[test]
fn records_before_the_latest_snapshot_are_never_read_and_go() {
	let store: Arc<DynStore> = Arc::new(MemoryStore::new());
	let mut persister = WalletStore::new(Arc::clone(&store));
	let mut wallet = create(&mut persister, true);
	receive(&mut wallet, 1);
	wallet.persist(&mut persister).expect("persist");
	let state = persister.log.expect("open");
	let stored = persister.read_all().expect("read");
	persister.fold(state, &stored).expect("fold");
	// A fold that stopped before its removes: an old record is still there, with changes the
	// snapshot has replaced (here: an unknown network).
	let stale = ChangeSet { network: Some(Network::Testnet), ..Default::default() };
	persister.write_record(0, INCREMENT, &stale).expect("write");

	let reread = WalletStore::new(Arc::clone(&store)).open().expect("open");
	assert_eq!(reread, stored);
	let keys = log_keys(&*store);
	assert_eq!(keys, vec![sequence_key(state.next)], "only the snapshot is left");
}

#[test]
fn an_unreadable_record_is_an_error_naming_it() {
	let store: Arc<DynStore> = Arc::new(MemoryStore::new());
	let key = sequence_key(3);
	KVStoreSync::write(
		&*store,
		NAMESPACE,
		LOG_NAMESPACE,
		&key,
		vec![FORMAT_VERSION, INCREMENT, b'{'],
	)
	.expect("write");
	let error = WalletStore::new(Arc::clone(&store)).open().expect_err("unreadable");
	assert!(error.to_string().contains(&key), "{error}");
	KVStoreSync::write(&*store, NAMESPACE, LOG_NAMESPACE, &key, vec![9, 0]).expect("write");
	let error = WalletStore::new(Arc::clone(&store)).open().expect_err("unknown format");
	assert!(error.to_string().contains("format 9"), "{error}");
	KVStoreSync::write(&*store, NAMESPACE, LOG_NAMESPACE, "not-a-number", vec![]).expect("write");
	let error = WalletStore::new(store).open().expect_err("bad key");
	assert!(error.to_string().contains("not-a-number"), "{error}");
}
