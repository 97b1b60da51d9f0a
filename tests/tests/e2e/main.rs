//! End-to-end tests on real bitcoind regtest: every test has its own bitcoind, nodes, temp
//! directories and free ports, so they run in parallel.

mod api;
mod burst;
mod chain_restart;
mod channels;
mod cli;
mod closed_channels;
mod crash;
mod dashboard;
mod dashboard_closed;
mod dashboard_forwards;
mod dashboard_policy;
mod events;
mod fees;
mod files;
mod forwards;
mod gossip;
mod lnbits;
mod lnbits_lnd_rest;
mod lnd_rest;
mod payment_records;
mod payments;
mod peer_churn;
mod policy;
mod postgres;
mod rebalance;
mod receive_delay;
mod regtest;
mod restart;
mod retention;
mod routing;
mod tower;
mod tower_penalties;
mod utilities;
mod webhooks_tls;
