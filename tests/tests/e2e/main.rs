//! End-to-end tests on real bitcoind regtest: every test has its own bitcoind, nodes, temp
//! directories and free ports, so they run in parallel.

mod api;
mod chain_restart;
mod channels;
mod cli;
mod crash;
mod dashboard;
mod events;
mod fees;
mod files;
mod gossip;
mod lnbits;
mod lnbits_lnd_rest;
mod lnd_rest;
mod payment_records;
mod payments;
mod peer_churn;
mod postgres;
mod regtest;
mod restart;
mod retention;
mod routing;
mod tower;
mod tower_penalties;
mod webhooks_tls;
